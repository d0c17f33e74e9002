"""ADaM readers, typing, and the synthetic-data generators of the bundled studies."""

"""ADaM readers, typing, the data coding and the plan's requirements of each dataset."""

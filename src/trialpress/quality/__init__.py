"""The quality gate: great_expectations suites per dataset and across datasets, run before analysis."""

"""The analysis results: the ARD (one row per number) and the curves figures are drawn from."""

"""Model design matrices from ADSL covariates: numbers as they are, categories as dummies."""

from __future__ import annotations

import pandas as pd


def design_matrix(frame: pd.DataFrame, covariates: list[str]) -> tuple[pd.DataFrame, list[str], int]:
    """Numeric design for `covariates`; rows with a missing covariate are dropped.

    A text covariate becomes one 0/1 column per level except the first in sorted order (the
    reference), named 'VAR=level'. Returns the design, its column names, and the rows dropped.
    """
    complete = frame[covariates].notna().all(axis=1)
    data = frame.loc[complete, covariates]
    cols: dict[str, pd.Series] = {}
    for var in covariates:
        s = data[var]
        if pd.api.types.is_numeric_dtype(s):
            cols[var] = s.astype(float)
            continue
        codes, levels = pd.factorize(s.astype(str), sort=True)
        for k, lv in enumerate(levels[1:], start=1):
            cols[f"{var}={lv}"] = pd.Series((codes == k).astype(float), index=data.index)
    design = pd.DataFrame(cols, index=data.index)
    # a constant column (a level present in everyone, or a single-level factor) cannot be estimated
    design = design.loc[:, design.nunique() > 1]
    return design, list(design.columns), int((~complete).sum())


def reference_levels(frame: pd.DataFrame, covariates: list[str]) -> dict[str, str]:
    """The reference level of each text covariate (first in sorted order), for footnotes."""
    out = {}
    for var in covariates:
        s = frame[var].dropna()
        if not pd.api.types.is_numeric_dtype(s) and len(s):
            out[var] = sorted(s.astype(str).unique())[0]
    return out

"""Model design matrices from ADSL covariates: numbers as they are, categories as dummies."""

from __future__ import annotations

import numpy as np
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
        codes, levels = _sorted_codes(s)
        for k, lv in enumerate(levels[1:], start=1):
            cols[f"{var}={lv}"] = pd.Series((codes == k).astype(float), index=data.index)
    design = pd.DataFrame(cols, index=data.index)
    # a constant column (a level present in everyone, or a single-level factor) cannot be estimated
    design = design.loc[:, design.nunique() > 1]
    return design, list(design.columns), int((~complete).sum())


def _sorted_codes(s: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes of a text column's values as text, levels in sorted order (Categoricals by their codes)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        used = s.cat.remove_unused_categories()
        names = [str(c) for c in used.cat.categories]
        order = np.argsort(np.array(names, dtype=object), kind="stable")
        rank = np.empty(len(names) + 1, dtype=np.int64)
        rank[order] = np.arange(len(names))
        rank[-1] = -1                                  # code -1 (missing) stays -1
        return rank[used.cat.codes.to_numpy()], [names[i] for i in order]
    codes, levels = pd.factorize(s.astype(str), sort=True)
    return codes, list(levels)


def reference_levels(frame: pd.DataFrame, covariates: list[str]) -> dict[str, str]:
    """The reference level of each text covariate (first in sorted order), for footnotes."""
    out = {}
    for var in covariates:
        s = frame[var].dropna()
        if not pd.api.types.is_numeric_dtype(s) and len(s):
            out[var] = sorted(s.astype(str).unique())[0]
    return out

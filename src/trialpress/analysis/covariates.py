"""Model design matrices from ADSL covariates: numbers as they are, categories as dummies.

`design()` says what it left out: covariates dropped (constant, a single level, missing in everyone) with
the reason, and subjects excluded for a missing value of a covariate that stays in the model, counted per
covariate, so that a caller can name both in the ARD note and keep a dropped covariate out of the methods'
"adjusted for ..." list. `design_matrix()` is the older tuple interface to the same design.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Design:
    """A numeric design for a list of covariates and what was left out of it.

    - `frame`: the design (0/1 dummies and numbers), one row per complete case, indexed like the input.
    - `names`: its columns ('VAR' for a number, 'VAR=level' for a level of a text covariate).
    - `dropped_terms`: covariate → why it is not in the design (constant, one level, missing in everyone).
    - `excluded_rows`: subjects left out because a covariate that IS in the design is missing.
    - `reference_levels`: text covariate in the design → its reference level (first in sorted order).
    - `missing`: covariate in the design → subjects with it missing (one subject may miss several).
    - `columns`: covariate → its design columns ([] for a dropped covariate).
    """

    frame: pd.DataFrame
    names: list[str]
    dropped_terms: dict[str, str]
    excluded_rows: int
    reference_levels: dict[str, str]
    missing: dict[str, int] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)

    @property
    def adjusted_for(self) -> list[str]:
        """The covariates that are in the design, in the order asked for: the methods' "adjusted for" list."""
        return [v for v, cols in self.columns.items() if cols]

    @property
    def note(self) -> str:
        """One sentence per omission, for the ARD note ('' when nothing was left out)."""
        parts = [f"{v} not in the model: {why}" for v, why in self.dropped_terms.items()]
        if self.excluded_rows:
            by = ", ".join(f"{v} {k}" for v, k in self.missing.items() if k)
            parts.append(f"{self.excluded_rows} subject(s) with missing covariates excluded ({by})")
        return "; ".join(parts)


def design(frame: pd.DataFrame, covariates: list[str]) -> Design:
    """Numeric design for `covariates` (complete cases over the covariates kept), saying what it dropped.

    A text covariate becomes one 0/1 column per level except the first in sorted order (the reference),
    named 'VAR=level'. A covariate that cannot be estimated is dropped and named with its reason:
    missing in every subject, or constant (a number with one value, a text covariate with one level) in the
    subjects with all kept covariates present. Subjects are excluded only for covariates that stay in the
    model, so a dropped covariate costs no subjects.
    """
    dropped: dict[str, str] = {}
    kept = []
    for var in dict.fromkeys(covariates):
        if frame[var].notna().any():
            kept.append(var)
        else:
            dropped[var] = f"missing for all {len(frame)} subjects" if len(frame) else "no subjects"
    # constant among the complete cases of the kept covariates; dropping one can only add complete rows,
    # on which the covariates still kept still vary, so one pass suffices
    complete = frame[kept].notna().all(axis=1)
    for var in list(kept):
        s = frame.loc[complete, var]
        values = s.unique()
        if len(values) <= 1:
            dropped[var] = _constant_reason(s, values)
            kept.remove(var)
    complete = frame[kept].notna().all(axis=1)
    data = frame.loc[complete, kept]
    cols: dict[str, pd.Series] = {}
    columns: dict[str, list[str]] = {v: [] for v in dict.fromkeys(covariates)}
    refs: dict[str, str] = {}
    for var in kept:
        s = data[var]
        if pd.api.types.is_numeric_dtype(s):
            cols[var] = s.astype(float)
            columns[var] = [var]
            continue
        codes, levels = _sorted_codes(s)
        refs[var] = levels[0]
        for k, lv in enumerate(levels[1:], start=1):
            name = f"{var}={lv}"
            cols[name] = pd.Series((codes == k).astype(float), index=data.index)
            columns[var].append(name)
    out = pd.DataFrame(cols, index=data.index)
    missing = {v: int(frame[v].isna().sum()) for v in kept}
    return Design(out, list(out.columns), {v: dropped[v] for v in columns if v in dropped},
                  int((~complete).sum()), refs, missing, columns)


def _constant_reason(s: pd.Series, values: np.ndarray) -> str:
    if len(values) == 0:
        return "no subjects with all covariates present"
    value = values[0]
    if pd.api.types.is_numeric_dtype(s):
        shown = f"{float(value):g}" if isinstance(value, (int, float, np.number)) and math.isfinite(value) else value
        return f"constant (value {shown} in all {len(s)} subjects)"
    return f"one level only ({value} in all {len(s)} subjects)"


def design_matrix(frame: pd.DataFrame, covariates: list[str]) -> tuple[pd.DataFrame, list[str], int]:
    """The design of `design()` as (design, its column names, subjects excluded for missing covariates).

    Kept for existing callers; `design()` also names the covariates dropped and why.
    """
    d = design(frame, covariates)
    return d.frame, d.names, d.excluded_rows


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

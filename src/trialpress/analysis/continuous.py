"""Descriptive statistics of a continuous value, overall or by group (and visit).

Conventions (stated in every report's methods):
- n counts non-missing values; SD uses the n − 1 divisor (missing when n < 2).
- Median, Q1 and Q3 use SAS's default percentile definition (PROC MEANS / UNIVARIATE QNTLDEF=5),
  which is R `quantile(type = 2)` and numpy `method="averaged_inverted_cdf"`: with the sorted values
  x(1) ≤ … ≤ x(n) and j + g = n·p (j integer, 0 ≤ g < 1), the p-quantile is x(j+1) when g > 0 and the
  average (x(j) + x(j+1)) / 2 when g = 0. SAS tables in clinical reports use this definition, so the
  quartiles here agree with them; the pandas/numpy default (linear interpolation, R type 7) does not.
Numbers only: nothing here formats.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

STATS = ("n", "mean", "sd", "median", "q1", "q3", "min", "max")


@dataclass(frozen=True)
class Descriptives:
    """Summary of one cell; every statistic is NaN when the cell has no values (n = 0)."""

    n: int
    mean: float
    sd: float
    median: float
    q1: float
    q3: float
    min: float
    max: float
    n_missing: int = 0


@dataclass(frozen=True)
class DescriptiveTable:
    """Descriptives per cell of `by` (cells keyed by level tuples, in the order of the levels)."""

    by: tuple[str, ...]
    cells: dict[tuple[Hashable, ...], Descriptives] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per cell: the `by` columns, then n, n_missing and the statistics (numbers, unformatted)."""
        rows = [dict(zip(self.by, key), n=d.n, n_missing=d.n_missing,
                     **{s: getattr(d, s) for s in STATS[1:]}) for key, d in self.cells.items()]
        return pd.DataFrame(rows, columns=[*self.by, "n", "n_missing", *STATS[1:]])


def quantile_sas5(sorted_values: np.ndarray, prob: float) -> float:
    """The `prob` quantile of already sorted values by SAS QNTLDEF=5 (R type 2); NaN if empty."""
    n = sorted_values.size
    if n == 0:
        return math.nan
    if not 0 <= prob <= 1:
        raise ValueError(f"probability must be in [0, 1], got {prob}")
    np_ = n * prob
    j = math.floor(np_ + 1e-9)  # tolerance: n·p is exact for the usual p but not for e.g. p = 0.1
    g = np_ - j
    if abs(g) <= 1e-9:
        if j == 0:
            return float(sorted_values[0])
        if j >= n:
            return float(sorted_values[-1])
        return float((sorted_values[j - 1] + sorted_values[j]) / 2)
    return float(sorted_values[min(j, n - 1)])


def describe(values: np.ndarray | pd.Series | Sequence[float]) -> Descriptives:
    """n, mean, SD (n − 1), median, Q1, Q3 (SAS QNTLDEF=5), min and max of the non-missing values."""
    arr = np.asarray(values).ravel()
    if arr.dtype.kind in "fiub":
        x = arr.astype(float)
    else:  # text, None, pd.NA: anything that is not a number is missing
        x = pd.to_numeric(pd.Series(arr, dtype=object), errors="coerce").to_numpy(float)
    ok = np.isfinite(x)
    n_missing = int((~ok).sum())
    x = np.sort(x[ok])
    n = x.size
    if n == 0:
        nan = math.nan
        return Descriptives(0, nan, nan, nan, nan, nan, nan, nan, n_missing)
    mean = float(x.mean())
    sd = float(np.sqrt(((x - mean) ** 2).sum() / (n - 1))) if n > 1 else math.nan
    return Descriptives(n, mean, sd, quantile_sas5(x, 0.5), quantile_sas5(x, 0.25), quantile_sas5(x, 0.75),
                        float(x[0]), float(x[-1]), n_missing)


def describe_by(frame: pd.DataFrame, value: str, by: str | Sequence[str], *,
                levels: dict[str, Sequence[Hashable]] | None = None) -> DescriptiveTable:
    """Descriptives of `value` in every cell of the `by` columns (e.g. ["ARM", "AVISIT"]).

    Cells follow `levels` when given for a column (so a level without data is reported with n = 0
    instead of disappearing), else the column's categorical order or its sorted distinct values.
    Rows whose `by` value is missing (or outside the given `levels`) belong to no cell; missing
    `value`s count in their cell's `n_missing`.
    """
    by_cols = (by,) if isinstance(by, str) else tuple(by)
    missing = [c for c in (value, *by_cols) if c not in frame.columns]
    if missing:
        raise ValueError(f"columns not in the data: {missing}")
    levels = levels or {}
    level_lists = []
    for col in by_cols:
        if col in levels:
            level_lists.append(list(levels[col]))
        elif isinstance(frame[col].dtype, pd.CategoricalDtype):
            level_lists.append(list(frame[col].cat.categories))
        else:
            level_lists.append(sorted(frame[col].dropna().unique().tolist()))
    codes = []
    for col, lv in zip(by_cols, level_lists):
        index = pd.Index(lv)
        if not index.is_unique:
            raise ValueError(f"levels of {col!r} repeat a value")
        codes.append(index.get_indexer(frame[col]))
    y = pd.to_numeric(frame[value], errors="coerce").to_numpy(float)
    if not by_cols:
        return DescriptiveTable((), {(): describe(y)})
    shape = [len(lv) for lv in level_lists]
    valid = np.all(np.stack(codes) >= 0, axis=0)
    flat = np.ravel_multi_index([c[valid] for c in codes], shape) if shape and all(shape) else np.zeros(0, int)
    yv = y[valid]
    order = np.argsort(flat, kind="stable")
    flat_sorted, y_sorted = flat[order], yv[order]
    bounds = np.searchsorted(flat_sorted, np.arange(int(np.prod(shape)) + 1))
    cells: dict[tuple[Hashable, ...], Descriptives] = {}
    for k, key in enumerate(np.ndindex(*shape)):
        cells[tuple(lv[i] for lv, i in zip(level_lists, key))] = describe(y_sorted[bounds[k]:bounds[k + 1]])
    return DescriptiveTable(by_cols, cells)

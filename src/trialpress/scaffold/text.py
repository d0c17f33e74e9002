"""Text of a dataset as init reads it: trimmed, blanks missing, as the loader will see it (without its typing)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def blanks_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Text as the loader will see it: trimmed, blanks missing (XPT stores missing text as blanks). Parquet
    text arrives as Categoricals: their categories are cleaned the same way (categories that trim to the same
    text merge). Unlike the loader's typing, nothing here fails on a malformed value."""
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if isinstance(series.dtype, pd.CategoricalDtype):
            out[col] = clean_categorical(series)
        elif series.dtype == object:
            s = series.map(lambda v: v.strip() if isinstance(v, str) else v)
            out[col] = s.mask(s.eq(""))
    return out


def clean_categorical(series: pd.Series) -> pd.Series:
    """A Categorical with its categories trimmed and the blank category made missing."""
    cats = pd.Series([v.strip() if isinstance(v, str) else v for v in series.cat.categories], dtype=object)
    codes, uniques = pd.factorize(cats.mask(cats.eq("")), use_na_sentinel=True)   # '' → code -1 (missing)
    rows = np.append(codes, -1)[series.cat.codes.to_numpy()]                     # row code -1 stays -1
    return pd.Series(pd.Categorical.from_codes(rows, categories=uniques), index=series.index, name=series.name)

"""Dates and datetimes written as text, read the way ADaM files carry them.

* ISO 8601 (`2019-02-22`, `2019-02-22T11:09:25`, a space for the `T`): what R, Python and SAS's E8601DA./
  E8601DT. formats write. A UTC offset (`Z` as readr writes it, `+01:00`) is dropped and the time kept as
  written: ADaM times are the collection's local times, and offsets may differ within a column.
* The SAS formats a SAS export to CSV prints for ADaM's numeric dates: DATE9. (`22FEB2019`) and DATETIME.
  with a four-digit year (`22FEB2019:11:09:25`, with or without seconds or their fractions). English month
  abbreviations in any case, as SAS writes them whatever the session's locale.

A two-digit year (DATE7. `22FEB19`, DATETIME16. `22FEB19:11:09:25`) is not read: its century is the exporting
session's YEARCUTOFF, which the file does not record. Such a value stays unparsed, and the caller names it.

Every caller (the loader, the gate's date checks, the safety windows) parses through here, so a value is a
date everywhere or nowhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ACCEPTED = ("an ISO date or datetime (2019-02-22, 2019-02-22T11:09:25) or a SAS DATE9. or DATETIME20. value "
            "(22FEB2019, 22FEB2019:11:09:25)")

# SAS formats, most common first; each is tried only on the values the ones before did not read
_SAS_FORMATS = ("%d%b%Y", "%d%b%Y:%H:%M:%S", "%d%b%Y:%H:%M", "%d%b%Y:%H:%M:%S.%f")
_SAS_SHAPE = r"\d{1,2}[A-Za-z]{3}\d{4}(?::\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"
_TWO_DIGIT_YEAR = r"\d{1,2}[A-Za-z]{3}\d{2}(?::\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"
# an ISO datetime with a UTC offset, as readr writes every datetime ('2019-02-24T11:09:25Z') and local-time
# exports do across a daylight-saving change (+01:00, +02:00): the offset is dropped, the local time kept
_ISO_OFFSET = r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
NOT_READ = ("a two-digit year (22FEB19) is not read, as its century is not in the file: export the dates with "
            "DATE9., DATETIME20. or E8601DA.")


def parse_text(values: pd.Series) -> pd.Series:
    """`values` (text, stripped; None or NaN for missing) as datetime64[ns], NaT where missing or not a date in
    one of the accepted forms. Callers pass distinct values, so each is parsed once."""
    values = pd.Series(values, dtype=object).reset_index(drop=True)
    text = values.where(values.map(type) == str)
    local = text.str.replace(_ISO_OFFSET, r"\1", regex=True)   # an offset (Z, +01:00): the time as written
    parsed = pd.Series(pd.to_datetime(local.where(local.notna(), values), format="ISO8601", errors="coerce"))
    parsed = parsed.astype("datetime64[ns]")
    left = parsed.isna() & values.notna()
    if not bool(left.any()):
        return parsed
    text = values[left].astype(str)
    candidates = text[text.str.fullmatch(_SAS_SHAPE)]
    for fmt in _SAS_FORMATS:
        if candidates.empty:
            break
        found = pd.Series(pd.to_datetime(candidates, format=fmt, errors="coerce"), index=candidates.index)
        hit = found.notna()
        parsed.loc[found.index[hit]] = found[hit].astype("datetime64[ns]")
        candidates = candidates[~hit]
    return parsed


def distinct_text(series: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """A text column as codes (-1: missing) into its distinct values, stripped, a blank as None: what `parse_text`
    is given, so each distinct date is parsed once however many records repeat it (a Categorical's own codes)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes, uniques = series.cat.codes.to_numpy(), np.asarray(series.cat.categories, dtype=object)
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    text = pd.Series(uniques, dtype=object).map(lambda v: v.strip() if isinstance(v, str) else v)
    return np.asarray(codes), text.where(text.notna() & text.ne(""), None)


def on_rows(codes: np.ndarray, per_value: np.ndarray, missing: object) -> np.ndarray:
    """Results per distinct value (`distinct_text`) back on the rows; code -1 (missing) gets `missing`."""
    return np.append(per_value, np.array([missing], dtype=per_value.dtype))[codes]


def parse_column(series: pd.Series) -> pd.Series:
    """A text column as datetime64[ns] on its own index: each distinct value parsed once (`distinct_text`,
    `parse_text`), NaT where missing or not a date in an accepted form."""
    codes, text = distinct_text(series)
    parsed = parse_text(text).to_numpy(dtype="datetime64[ns]")
    return pd.Series(on_rows(codes, parsed, np.datetime64("NaT", "ns")), index=series.index)


def two_digit_years(values: pd.Series) -> bool:
    """Whether any value is a SAS date or datetime with a two-digit year (DATE7., DATETIME16.): a date that cannot
    be read without guessing its century."""
    text = pd.Series(values, dtype=object).dropna().astype(str).str.strip()
    return bool(text.str.fullmatch(_TWO_DIGIT_YEAR).any())

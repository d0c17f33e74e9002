"""How a dataset codes what a safety table counts: read from the data and the plan, never assumed.

Relatedness has no CDISC controlled terminology: sponsors code it Y/N, RELATED/NOT RELATED,
PROBABLE/POSSIBLE/REMOTE/NONE, or on longer scales. Only the two binary codings are read without the plan
saying which values count; anything else must be stated in the plan (`trialpress init` writes what it
finds). A variable with no value in any record was not collected: its count is "not collected", never 0.
"""

from __future__ import annotations

import re

import pandas as pd

# binary relatedness codings read without the plan: value -> related?
STANDARD_RELATED = {"Y": True, "N": False, "RELATED": True, "NOT RELATED": False}


def present_values(series: pd.Series) -> list[str]:
    """The distinct non-missing values of a column, as text, sorted."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        used = series.cat.remove_unused_categories()
        return sorted(str(v) for v in used.cat.categories)
    return sorted({str(v) for v in series.dropna().unique()})


def coded_order(frame: pd.DataFrame, variable: str, values: list[str] | None = None) -> list[str]:
    """The distinct values of a text variable in the order of its numeric code, ADaM's `<variable>N` companion
    (TRT01P/TRT01PN, AGEGR1/AGEGR1N, RACE/RACEN), when the data carry one that gives each value a single code;
    else by the numbers that define them (`by_cut_points`), else sorted. `values` limits (and may extend) the
    values ordered: one the data have no code for goes last.
    Why: the order a study's own programmers chose (age groups young to old, doses low to high), which sorting
    the text loses ('65-80' before '<65')."""
    present = present_values(frame[variable]) if values is None else sorted(set(values))
    code = f"{variable}N"
    numbers = as_numbers(frame[code]) if code in frame.columns else None
    if numbers is None:
        return by_cut_points(present)
    pairs = pd.DataFrame({"text": frame[variable].astype(object), "code": numbers}).dropna().drop_duplicates()
    text = pairs["text"].astype(str)
    if text.duplicated().any() or pairs["code"].duplicated().any():
        return by_cut_points(present)   # one value with two codes, or two values sharing one: no order to read
    rank = dict(zip(text, pairs["code"]))
    return sorted(present, key=lambda v: (v not in rank, rank.get(v, 0.0), v))


_BOUND = re.compile(r"\s*(<=|>=|<|>|\u2264|\u2265)?\s*(-?\d+(?:\.\d+)?)")
_SIDE = {"<": -1, "<=": -1, "\u2264": -1, None: 0, ">": 1, ">=": 1, "\u2265": 1}


def by_cut_points(values: list[str]) -> list[str]:
    """Categories made by cutting a number ('<25', '25-<30', '>=30'; '<65', '65-80', '>80') in the order of
    their lower bounds, a category below a cut point before the one starting at it; anything else, or a list
    with one value not of that form, sorted as text."""
    keys = {}
    for v in values:
        m = _BOUND.match(v)
        if m is None:
            return sorted(values)
        keys[v] = (float(m.group(2)), _SIDE[m.group(1)], v)
    return sorted(values, key=keys.__getitem__)


def as_numbers(series: pd.Series) -> pd.Series | None:
    """A column as numbers: as typed, or read from text (a CSV's '54.0', not yet typed); None when a value is
    not a number."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not isinstance(series.dtype, pd.CategoricalDtype):
        return series.astype(float)
    raw = series.astype(object)
    numbers = pd.to_numeric(raw, errors="coerce")
    return None if (numbers.isna() & raw.notna()).any() else numbers.astype(float)


def collected(series: pd.Series) -> bool:
    """Whether a variable holds a value in at least one record."""
    return bool(series.notna().any())


def standard_related(values: list[str]) -> list[str] | None:
    """The values meaning 'related' when the data use a binary coding the engine can read, else None."""
    upper = {v.upper() for v in values}
    if upper and upper <= set(STANDARD_RELATED):
        return sorted(v for v in values if STANDARD_RELATED[v.upper()])
    return None


def related_values(stated: list[str] | None, series: pd.Series) -> list[str] | None:
    """The values of the relatedness variable that count as related: the plan's, or read from a binary coding;
    None when the coding is not binary and the plan states nothing (a plan error, raised by plan_values)."""
    if stated is not None:
        return list(stated)
    return standard_related(present_values(series))

"""How a dataset codes what a safety table counts: read from the data and the plan, never assumed.

Relatedness has no CDISC controlled terminology: sponsors code it Y/N, RELATED/NOT RELATED,
PROBABLE/POSSIBLE/REMOTE/NONE, or on longer scales. Only the two binary codings are read without the plan
saying which values count; anything else must be stated in the plan (`trialpress init` writes what it
finds). A variable with no value in any record was not collected: its count is "not collected", never 0.
"""

from __future__ import annotations

import pandas as pd

# binary relatedness codings read without the plan: value -> related?
STANDARD_RELATED = {"Y": True, "N": False, "RELATED": True, "NOT RELATED": False}


def present_values(series: pd.Series) -> list[str]:
    """The distinct non-missing values of a column, as text, sorted."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        used = series.cat.remove_unused_categories()
        return sorted(str(v) for v in used.cat.categories)
    return sorted({str(v) for v in series.dropna().unique()})


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

"""Analysis populations and analysis-ready frames (ADSL joined to an endpoint's records)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd

from trialpress.errors import DataError
from trialpress.plan import Plan


def is_yes(flag: pd.Series) -> pd.Series:
    """ADaM 'Y' flags ('y' tolerated), vectorised; missing is not yes."""
    return flag.isin(["Y", "y"])


def population(adsl: pd.DataFrame, plan: Plan, pop_id: str) -> pd.DataFrame:
    """ADSL rows of subjects in population `pop_id` who belong to one of the plan's groups.

    Inside `populations_selected_once()` it is selected once per ADSL frame and population (an analysis
    asks for the same population many times); each caller gets its own shallow copy, so adding columns to
    it changes nothing shared."""
    if _SELECTED is None:
        return _select(adsl, plan, pop_id).copy(deep=False)
    key = (id(adsl), id(plan), pop_id)
    hit = _SELECTED.get(key)
    if hit is None or hit[0] is not adsl or hit[1] is not plan:
        hit = _SELECTED[key] = (adsl, plan, _select(adsl, plan, pop_id))
    return hit[2].copy(deep=False)


_SELECTED: dict[tuple[int, int, str], tuple[pd.DataFrame, Plan, pd.DataFrame]] | None = None


@contextmanager
def populations_selected_once() -> Iterator[None]:
    """Within this block (one analysis of unchanging data) each population is selected once."""
    global _SELECTED
    outer, _SELECTED = _SELECTED, {}
    try:
        yield
    finally:
        _SELECTED = outer


def _select(adsl: pd.DataFrame, plan: Plan, pop_id: str) -> pd.DataFrame:
    pop = plan.populations[pop_id]
    if pop.flag:
        mask = is_yes(adsl[pop.flag])
    else:
        try:
            mask = adsl.eval(pop.expression, engine="python").astype(bool)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - a plan expression is user input
            raise DataError(f"populations.{pop_id}.expression {pop.expression!r} cannot be evaluated on ADSL: {exc}.",
                            hint="Use ADSL variable names and pandas query syntax, e.g. \"AGE >= 18 and SAFFL == 'Y'\".") from None
    in_groups = adsl[plan.groups.variable].isin(plan.group_values)
    return adsl.loc[mask.to_numpy() & in_groups.to_numpy()]


def rows_in_population(pop: pd.DataFrame, adsl: pd.DataFrame, adsl_rows: np.ndarray) -> np.ndarray:
    """Each record's subject as a row of `pop` (a subset of `adsl`), -1 where outside it: the loader's
    record → ADSL join (`StudyData.rows_in_adsl`) carried into the population, without hashing ids again."""
    to_pop = np.full(len(adsl) + 1, -1, dtype=np.int64)   # the extra last slot: ADSL row -1
    to_pop[adsl.index.get_indexer(pop.index)] = np.arange(len(pop))
    return to_pop[adsl_rows]


def tte_frame(adsl_pop: pd.DataFrame, adtte: pd.DataFrame, paramcd: str, sid: str,
              unit_factor: float, record_rows: np.ndarray) -> pd.DataFrame:
    """Population subjects with a record of PARAMCD: time (display unit), event (0/1) and ADSL columns,
    in the population's order. `record_rows`: each ADTTE record's row in the population (-1: none), as from
    `rows_in_population`."""
    selected = (adtte["PARAMCD"] == paramcd).to_numpy()
    rows = record_rows[selected]
    inside = rows >= 0
    taken = np.bincount(rows[inside], minlength=len(adsl_pop))
    if (taken > 1).any():
        dup = adsl_pop[sid].to_numpy()[np.flatnonzero(taken > 1)[:5]]
        raise DataError(f"ADTTE has more than one {paramcd} record for subject(s) {', '.join(map(str, dup))}.",
                        hint="Keep one record per subject and parameter.")
    record = np.full(len(adsl_pop), -1, dtype=np.int64)
    record[rows[inside]] = np.flatnonzero(selected)[inside]
    found = record >= 0
    out = adsl_pop.loc[found].reset_index(drop=True)
    out["AVAL"] = adtte["AVAL"].to_numpy()[record[found]]
    out["CNSR"] = adtte["CNSR"].to_numpy()[record[found]]
    out["_time"] = out["AVAL"].astype(float) * unit_factor
    out["_event"] = (out["CNSR"].astype(float) == 0).astype(int)
    return out

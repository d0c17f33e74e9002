"""Analysis populations, analysed subsets, and analysis-ready frames (ADSL joined to an endpoint's records)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd

from trialpress.data.loading import StudyData
from trialpress.errors import DataError
from trialpress.plan import Binary, Continuous, Plan, TimeToEvent


def is_yes(flag: pd.Series) -> pd.Series:
    """ADaM 'Y' flags ('y' tolerated), vectorised; missing is not yes."""
    return flag.isin(["Y", "y"])


def condition(adsl: pd.DataFrame, text: str, where: str) -> np.ndarray:
    """A plan condition on ADSL (population or subset) as a boolean row mask: parsed by the whitelisted
    expression grammar, never evaluated as code."""
    from trialpress.expressions import ExpressionError, parse

    try:
        return parse(text).evaluate(adsl).to_numpy(dtype=bool)
    except ExpressionError as exc:
        raise DataError(f"{where} {text!r} cannot be evaluated on ADSL: {exc}.",
                        hint="Use ADSL variable names, comparisons, and/or/not and in [...], e.g. "
                             "\"AGE >= 18 and SEX == 'F'\".") from None


def population(adsl: pd.DataFrame, plan: Plan, pop_id: str) -> pd.DataFrame:
    """ADSL rows of subjects in population `pop_id` who belong to one of the plan's groups (by the population's
    own grouping variable: as randomised, or as treated for safety).

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
        mask = is_yes(adsl[pop.flag]).to_numpy()
    else:
        mask = condition(adsl, pop.expression or "", f"populations.{pop_id}.expression")
    in_groups = adsl[plan.group_variable(pop_id)].isin(plan.group_values)
    return adsl.loc[mask & in_groups.to_numpy()]


def rows_in_population(pop: pd.DataFrame, adsl: pd.DataFrame, adsl_rows: np.ndarray) -> np.ndarray:
    """Each record's subject as a row of `pop` (a subset of `adsl`), -1 where outside it: the loader's
    record → ADSL join (`StudyData.rows_in_adsl`) carried into the population, without hashing ids again."""
    to_pop = np.full(len(adsl) + 1, -1, dtype=np.int64)   # the extra last slot: ADSL row -1
    to_pop[adsl.index.get_indexer(pop.index)] = np.arange(len(pop))
    return to_pop[adsl_rows]


def responded(ep: Binary, data: StudyData, plan: Plan, pop: pd.DataFrame) -> np.ndarray:
    """For each subject of `pop`: did they respond on binary endpoint `ep` (no record: no)."""
    src = ep.source
    if src.dataset == "ADSL":
        return pop[src.variable].isin(src.values).to_numpy()
    adrs = data["ADRS"]
    hit = ((adrs["PARAMCD"] == src.paramcd) & adrs[src.variable].isin(src.values)).to_numpy()
    rows = rows_in_population(pop, data["ADSL"], data.rows_in_adsl("ADRS", plan.data.subject_id))[hit]
    marked = np.zeros(len(pop), dtype=bool)
    marked[rows[rows >= 0]] = True
    return marked


def analysed(ep: TimeToEvent | Binary | Continuous, data: StudyData, plan: Plan) -> pd.DataFrame:
    """The endpoint's population restricted to its analysed subset (responders of another endpoint, or a
    condition on ADSL); the whole population when the plan gives no subset."""
    pop = population(data["ADSL"], plan, ep.population)
    subset = ep.subset
    if subset is None or not (subset.responders or subset.where):
        return pop
    if subset.responders:
        source = next(b for b in plan.binary if b.id == subset.responders)
        keep = responded(source, data, plan, pop)
    else:
        keep = condition(pop, subset.where or "", f"{ep.id}.subset.where")
    return pop.loc[keep]


def tte_frame(adsl_pop: pd.DataFrame, adtte: pd.DataFrame, paramcd: str, sid: str,
              unit_factor: float, record_rows: np.ndarray) -> pd.DataFrame:
    """Population subjects with a record of PARAMCD: time (display unit), event (0/1) and ADSL columns,
    in the population's order. `record_rows`: each ADTTE record's row in the population (-1: none), as from
    `rows_in_population`. Censoring follows ADaM: CNSR 0 is an event, any positive integer a censoring."""
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

"""Safety of the plan → ARD rows, in the safety population.

Subjects with at least one event (never event counts) per group: any TEAE, severe (CTCAE grade ≥ 3
or 'SEVERE'), serious, fatal, leading to discontinuation, related; by SOC and PT (any grade and
severe); AEs of interest from the plan with the risk difference vs the reference (Newcombe CI);
exposure (cycles, days) and exposure-adjusted incidence per 100 patient-years (exact Poisson CI).
The ARD holds every term; the report applies the plan's frequency threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd

from trialpress.analysis import response as rs
from trialpress.analysis.populations import is_yes, population
from trialpress.data.loading import StudyData
from trialpress.plan import Plan, Safety
from trialpress.results.ard import ARDBuilder, Row, make_id

SECTION = "SAFETY"
INCIDENCE = "Subjects with >= 1 event, n/N"
RD_METHOD = "Risk difference; Newcombe hybrid score 95% CI"
EAIR_METHOD = "Subjects with event per 100 patient-years of exposure; exact Poisson 95% CI"

Add = Callable[..., None]


def severe_mask(ae: pd.DataFrame, safety: Safety) -> pd.Series:
    v = safety.variables
    if v.severity_kind == "ctcae":
        return ae[v.severity].astype(float) >= 3
    return ae[v.severity].isin(["SEVERE", "Severe", "severe"])


def collect_safety(plan: Plan, data: StudyData, ard: ARDBuilder) -> None:
    safety = plan.safety
    assert safety is not None
    v = safety.variables
    sid = plan.data.subject_id
    gvar = plan.groups.variable
    pop = population(data["ADSL"], plan, safety.population)
    ae = data["ADAE"]
    if v.teae_flag:
        ae = ae[is_yes(ae[v.teae_flag])]
    ae = ae.merge(pop[[sid, gvar]], on=sid, how="inner")
    denominators = {g: int((pop[gvar] == g).sum()) for g in plan.group_values}

    def add(analysis: str, group: str, statistic: str, value: float, *, level: str = "", param: str = "",
            lower: float = math.nan, upper: float = math.nan, method: str = INCIDENCE, n: float = math.nan,
            reference: str = "", note: str = "") -> None:
        ard.add(Row(id=make_id(SECTION, analysis, param, level, group, statistic), analysis=analysis,
                    endpoint=SECTION, population=safety.population, group=group, statistic=statistic,
                    value=float(value), lower=float(lower), upper=float(upper), level=level, param=param,
                    method=method, n=float(n), reference=reference, note=note))

    def incidence(analysis: str, subset: pd.DataFrame, *, level: str = "", param: str = "",
                  compare: bool = False) -> None:
        counts = subset.drop_duplicates(sid)[gvar].value_counts()
        for g in plan.group_values:
            add(analysis, g, "n", int(counts.get(g, 0)), level=level, param=param, n=denominators[g])
        add(analysis, "", "n", int(counts.sum()), level=level, param=param, n=sum(denominators.values()))
        if compare:
            ref = plan.groups.reference
            for c in plan.comparators:
                d = rs.risk_difference(int(counts.get(c, 0)), denominators[c], int(counts.get(ref, 0)),
                                       denominators[ref])
                add(analysis, c, "difference", d.value, lower=d.lower, upper=d.upper, level=level, param=param,
                    method=RD_METHOD, reference=ref, n=denominators[c] + denominators[ref], note=d.note)

    severe = severe_mask(ae, safety)
    overview: dict[str, pd.Series] = {"any": pd.Series(True, index=ae.index), "severe": severe}
    if v.serious:
        overview["serious"] = is_yes(ae[v.serious])
    fatal = pd.Series(False, index=ae.index)
    if v.outcome:
        fatal |= ae[v.outcome].isin(v.fatal_values)
    if v.severity_kind == "ctcae":
        fatal |= ae[v.severity].astype(float) >= 5
    overview["fatal"] = fatal
    if v.action:
        overview["discontinued"] = ae[v.action].isin(v.withdrawn_values)
    if v.related:
        overview["related"] = ae[v.related].isin([*v.related_values, *(x.lower() for x in v.related_values)])
    for key, mask in overview.items():
        incidence("overview", ae[mask.to_numpy()], level=key, compare=True)

    for grade, subset in (("any", ae), ("severe", ae[severe.to_numpy()])):
        _term_counts(add, subset, [v.soc], f"soc_{grade}", sid, gvar, plan.group_values, denominators)
        _term_counts(add, subset, [v.soc, v.pt], f"pt_{grade}", sid, gvar, plan.group_values, denominators)

    exposure_years = _exposure(add, pop, plan, safety)
    for term in safety.of_interest:
        hit = ae[v.pt].isin(term.pt) | ae[v.soc].isin(term.soc)
        incidence("interest", ae[hit.to_numpy()], level=term.id, compare=True)
        incidence("interest_severe", ae[(hit & severe).to_numpy()], level=term.id, compare=True)
        if exposure_years:
            counts = ae[hit.to_numpy()].drop_duplicates(sid)[gvar].value_counts()
            for g in plan.group_values:
                years = exposure_years[g]
                est = rs.exposure_adjusted_rate(int(counts.get(g, 0)), years)
                add("interest_eair", g, "rate", est.value, lower=est.lower, upper=est.upper, level=term.id,
                    method=EAIR_METHOD, n=years, note=est.note)


def _term_counts(add: Add, ae: pd.DataFrame, keys: list[str], analysis: str, sid: str, gvar: str,
                 groups: list[str], denominators: dict[str, int]) -> None:
    """Subjects with >= 1 event per term (SOC, or SOC and PT) and group, counted in one pass."""
    subjects = ae[[*keys, sid, gvar]].drop_duplicates()
    counts = subjects.groupby([*keys, gvar], sort=True, observed=True).size()
    totals = subjects.groupby(keys, sort=True, observed=True).size()
    total_n = sum(denominators.values())
    for term, total in totals.items():
        term = term if isinstance(term, tuple) else (term,)
        level, param = (str(term[-1]), str(term[0])) if len(term) == 2 else (str(term[0]), "")
        for g in groups:
            add(analysis, g, "n", int(counts.get((*term, g), 0)), level=level, param=param, n=denominators[g])
        add(analysis, "", "n", int(total), level=level, param=param, n=total_n)


def _exposure(add: Add, pop: pd.DataFrame, plan: Plan, safety: Safety) -> dict[str, float]:
    """Cycles and days on treatment per group; returns patient-years per group (empty if no days)."""
    gvar = plan.groups.variable
    years: dict[str, float] = {}
    for var, name in ((safety.exposure_cycles, "cycles"), (safety.exposure_days, "days")):
        if not var:
            continue
        for g in plan.group_values:
            x = pop.loc[pop[gvar] == g, var].astype(float).dropna()
            method = f"Exposure ({var})"
            add("exposure", g, "mean", x.mean() if len(x) else math.nan, level=name, method=method, n=len(x))
            add("exposure", g, "median", x.median() if len(x) else math.nan, level=name, method=method, n=len(x))
            add("exposure", g, "min", x.min() if len(x) else math.nan, level=name, method=method, n=len(x))
            add("exposure", g, "max", x.max() if len(x) else math.nan, level=name, method=method, n=len(x))
            if name == "days":
                years[g] = float(x.sum()) / 365.25
                add("exposure", g, "patient_years", years[g], level=name, method=method, n=len(x))
    return years

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
from functools import cached_property

import numpy as np
import pandas as pd

from trialpress.analysis import response as rs
from trialpress.analysis.populations import is_yes, population, rows_in_population
from trialpress.data.loading import StudyData
from trialpress.plan import Plan, Safety
from trialpress.results.ard import ARDBuilder, Row, make_id

SECTION = "SAFETY"
INCIDENCE = "Subjects with >= 1 event, n/N"
RD_METHOD = "Risk difference; Newcombe hybrid score 95% CI"
EAIR_METHOD = "Subjects with event per 100 patient-years of exposure; exact Poisson 95% CI"

Add = Callable[..., None]
BITMAP_CELLS = 50_000_000   # bytes of the term-by-subject bitmap of one slab
TERM_CODES = 10_000_000     # above this many possible (SOC, PT) codes, terms are found by hashing


def severe_mask(ae: pd.DataFrame, safety: Safety) -> pd.Series:
    v = safety.variables
    if v.severity_kind == "ctcae":
        return ae[v.severity].astype(float) >= 3
    return ae[v.severity].isin(["SEVERE", "Severe", "severe"])


class _Events:
    """The AE records of population subjects as integer codes: each record's subject (a row of the
    population) and each subject's group. Counting subjects with >= 1 event is then a few numpy passes
    over the records, with no copies of the AE table (10^7 records count in well under a second)."""

    def __init__(self, ae: pd.DataFrame, pop: pd.DataFrame, found: np.ndarray, gvar: str, groups: list[str],
                 rows: np.ndarray | None = None) -> None:
        self.keep = (found >= 0) if rows is None else (found >= 0) & rows
        self.subject = found[self.keep].astype(np.int32 if len(pop) < 2**31 else np.int64)
        self.n_subjects = len(pop)
        self.groups = groups
        self.group_of = pd.Categorical(pop[gvar], categories=groups).codes.astype(np.int64)
        self.frame = ae

    def column(self, name: str) -> pd.Series:
        """A column of the kept records (aligned with `subject`; no index: 10^7 labels would cost 80 MB)."""
        return pd.Series(self.frame[name].array[self.keep], copy=False)

    def subjects_with(self, mask: np.ndarray) -> dict[str, int]:
        """Subjects with >= 1 record where `mask` holds, per group."""
        hit = np.zeros(self.n_subjects, dtype=bool)
        hit[self.subject[mask]] = True
        counts = np.bincount(self.group_of[hit], minlength=len(self.groups))
        return {g: int(counts[i]) for i, g in enumerate(self.groups)}

    def term_counts(self, keys: list[str], mask: np.ndarray) -> list[tuple[tuple[str, ...], dict[str, int], int]]:
        """Per term (sorted; records with a missing key left out): subjects per group and in total.

        A subject counts once per term however many records it has: the (term, subject) pairs are marked in
        a term-by-subject bitmap (subjects laid out group by group, so a group is a slice), in slabs of terms
        that keep it under ~50 MB. No sort and no hash of the records."""
        codes = np.zeros(int(mask.sum()), dtype=np.int64)
        labels: list[np.ndarray] = []
        ok = np.ones(codes.size, dtype=bool)
        for k in keys:
            c, uniques = pd.factorize(self.column(k).array[mask], sort=True)
            ok &= c >= 0
            codes = codes * max(len(uniques), 1) + c
            labels.append(np.asarray(uniques, dtype=object))
        code, subject = codes[ok], self.subject[mask][ok]
        space = int(np.prod([max(len(lab), 1) for lab in labels]))
        if space <= TERM_CODES:   # the term codes in use, in order, by counting
            used = np.bincount(code, minlength=space) > 0
            terms = np.flatnonzero(used)
            term = (np.cumsum(used) - 1)[code]
        else:
            term, terms = pd.factorize(code, sort=True)
        column, bounds = self.group_layout
        by_group = np.zeros((terms.size, len(self.groups)), dtype=np.int64)
        slab = max(1, BITMAP_CELLS // max(self.n_subjects, 1))
        for first in range(0, terms.size, slab):
            last = min(terms.size, first + slab)
            rows = slice(None) if first == 0 and last == terms.size else (term >= first) & (term < last)
            seen = np.zeros((last - first, self.n_subjects), dtype=bool)
            seen[term[rows] - first, column[subject[rows]]] = True
            for j in range(len(self.groups)):
                by_group[first:last, j] = seen[:, bounds[j]:bounds[j + 1]].sum(axis=1)
        sizes = [len(lab) for lab in labels]
        out = []
        for i, code_i in enumerate(terms):
            parts, rest = [], int(code_i)
            for size, lab in zip(reversed(sizes), reversed(labels)):
                rest, j = divmod(rest, size)
                parts.append(str(lab[j]))
            counts = {g: int(by_group[i, j]) for j, g in enumerate(self.groups)}
            out.append((tuple(reversed(parts)), counts, sum(counts.values())))
        return out

    @cached_property
    def group_layout(self) -> tuple[np.ndarray, np.ndarray]:
        """Each subject's column in a group-by-group layout, and where each group's columns start."""
        order = np.argsort(self.group_of, kind="stable")
        column = np.empty_like(order)
        column[order] = np.arange(order.size)
        bounds = np.concatenate([[0], np.cumsum(np.bincount(self.group_of, minlength=len(self.groups)))])
        return column, bounds


def collect_safety(plan: Plan, data: StudyData, ard: ARDBuilder) -> None:
    safety = plan.safety
    assert safety is not None
    v = safety.variables
    sid = plan.data.subject_id
    gvar = plan.groups.variable
    pop = population(data["ADSL"], plan, safety.population)
    ae = data["ADAE"]
    teae = is_yes(ae[v.teae_flag]).to_numpy() if v.teae_flag else None
    found = rows_in_population(pop, data["ADSL"], data.rows_in_adsl("ADAE", sid))
    events = _Events(ae, pop, found, gvar, plan.group_values, teae)
    denominators = {g: int((pop[gvar] == g).sum()) for g in plan.group_values}

    def add(analysis: str, group: str, statistic: str, value: float, *, level: str = "", param: str = "",
            lower: float = math.nan, upper: float = math.nan, method: str = INCIDENCE, n: float = math.nan,
            reference: str = "", note: str = "") -> None:
        ard.add(Row(id=make_id(SECTION, analysis, param, level, group, statistic), analysis=analysis,
                    endpoint=SECTION, population=safety.population, group=group, statistic=statistic,
                    value=float(value), lower=float(lower), upper=float(upper), level=level, param=param,
                    method=method, n=float(n), reference=reference, note=note))

    def incidence(analysis: str, mask: np.ndarray, *, level: str = "", compare: bool = False) -> dict[str, int]:
        counts = events.subjects_with(mask)
        for g in plan.group_values:
            add(analysis, g, "n", counts[g], level=level, n=denominators[g])
        add(analysis, "", "n", sum(counts.values()), level=level, n=sum(denominators.values()))
        if compare:
            ref = plan.groups.reference
            for c in plan.comparators:
                d = rs.risk_difference(counts[c], denominators[c], counts[ref], denominators[ref])
                add(analysis, c, "difference", d.value, lower=d.lower, upper=d.upper, level=level,
                    method=RD_METHOD, reference=ref, n=denominators[c] + denominators[ref], note=d.note)
        return counts

    severe = severe_mask(events.frame, safety).to_numpy()[events.keep]
    overview: dict[str, np.ndarray] = {"any": np.ones(events.subject.size, dtype=bool), "severe": severe}
    if v.serious:
        overview["serious"] = is_yes(events.column(v.serious)).to_numpy()
    fatal = np.zeros(events.subject.size, dtype=bool)
    if v.outcome:
        fatal |= events.column(v.outcome).isin(v.fatal_values).to_numpy()
    if v.severity_kind == "ctcae":
        fatal |= (events.column(v.severity).astype(float) >= 5).to_numpy()
    overview["fatal"] = fatal
    if v.action:
        overview["discontinued"] = events.column(v.action).isin(v.withdrawn_values).to_numpy()
    if v.related:
        related = [*v.related_values, *(x.lower() for x in v.related_values)]
        overview["related"] = events.column(v.related).isin(related).to_numpy()
    for key, mask in overview.items():
        incidence("overview", mask, level=key, compare=True)

    for grade, mask in (("any", overview["any"]), ("severe", severe)):
        for keys, analysis in (([v.soc], f"soc_{grade}"), ([v.soc, v.pt], f"pt_{grade}")):
            for term, by_group, total in events.term_counts(keys, mask):
                level, param = (term[-1], term[0]) if len(term) == 2 else (term[0], "")
                for g in plan.group_values:
                    add(analysis, g, "n", by_group[g], level=level, param=param, n=denominators[g])
                add(analysis, "", "n", total, level=level, param=param, n=sum(denominators.values()))

    exposure_years = _exposure(add, pop, plan, safety)
    pt, soc = events.column(v.pt), events.column(v.soc)
    for term in safety.of_interest:
        hit = (pt.isin(term.pt) | soc.isin(term.soc)).to_numpy()
        counts = incidence("interest", hit, level=term.id, compare=True)
        incidence("interest_severe", hit & severe, level=term.id, compare=True)
        if exposure_years:
            for g in plan.group_values:
                years = exposure_years[g]
                est = rs.exposure_adjusted_rate(counts[g], years)
                add("interest_eair", g, "rate", est.value, lower=est.lower, upper=est.upper, level=term.id,
                    method=EAIR_METHOD, n=years, note=est.note)


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

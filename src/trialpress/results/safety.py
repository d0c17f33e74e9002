"""Safety of the plan → ARD rows, in the safety population (grouped by its own variable, e.g. as treated).

Subjects with at least one event (never event counts) per group: any TEAE, severe (CTCAE grade ≥ 3
or 'SEVERE'), serious, fatal, leading to discontinuation, related — each read as the data code it
(`data/coding.py`); a category whose variable was not collected is recorded as such (`collected` = 'no')
and has no count. By SOC and PT (any grade and severe); AEs of interest from the plan with the risk
difference vs the reference (Newcombe CI); exposure (cycles, days) and exposure-adjusted incidence per
100 patient-years (exact Poisson CI). The ARD holds every term; decisions apply the plan's threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cached_property

import numpy as np
import pandas as pd

from trialpress.analysis import response as rs
from trialpress.analysis.populations import is_yes, population, rows_in_population
from trialpress.data.coding import collected, related_values
from trialpress.data.loading import StudyData
from trialpress.plan import Plan, Safety
from trialpress.results import keys
from trialpress.results.ard import ARDBuilder, Key, row

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
        self.population = pop

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
    gvar = plan.group_variable(safety.population)
    pop = population(data["ADSL"], plan, safety.population)
    ae = data["ADAE"]
    teae = is_yes(ae[v.teae_flag]).to_numpy() if v.teae_flag else None
    found = rows_in_population(pop, data["ADSL"], data.rows_in_adsl("ADAE", sid))
    events = _Events(ae, pop, found, gvar, plan.group_values, teae)
    denominators = {g: int((pop[gvar] == g).sum()) for g in plan.group_values}
    total = sum(denominators.values())

    def add(key: Key, value: float = math.nan, **kw: object) -> None:
        kw.setdefault("method", INCIDENCE)
        ard.add(row(key, population=safety.population, value=value, **kw))  # type: ignore[arg-type]

    def incidence(counts: dict[str, int], analysis: str, *, term: str = "", compare: bool = False) -> None:
        for g in plan.group_values:
            add(keys.safety(analysis, "n", g, term=term), counts[g], n=denominators[g])
        add(keys.safety(analysis, "n", term=term), sum(counts.values()), n=total)
        if compare:
            ref = plan.groups.reference
            for c in plan.comparators:
                d = rs.risk_difference(counts[c], denominators[c], counts[ref], denominators[ref])
                add(keys.safety(analysis, "difference", c, term=term), d.value, lower=d.lower, upper=d.upper,
                    method=RD_METHOD, reference=ref, n=denominators[c] + denominators[ref], note=d.note)

    severe = severe_mask(events.frame, safety).to_numpy()[events.keep]
    for category, (mask, method) in _overview_masks(events, plan, severe).items():
        if mask is None:
            add(keys.safety("overview", "collected", term=category), text="no", method=method,
                note=f"not collected: {method}")
            continue
        add(keys.safety("overview", "collected", term=category), text="yes", method=method)
        counts = events.subjects_with(mask) if isinstance(mask, np.ndarray) else mask
        incidence(counts, "overview", term=category, compare=True)

    for grade, mask in (("any", np.ones(events.subject.size, dtype=bool)), ("severe", severe)):
        for analysis, by in ((f"soc_{grade}", [v.soc]), (f"pt_{grade}", [v.soc, v.pt])):
            for term, by_group, n_all in events.term_counts(by, mask):
                where = {"term": term[-1], "parent": term[0] if len(term) == 2 else ""}
                for g in plan.group_values:
                    add(keys.safety(analysis, "n", g, **where), by_group[g], n=denominators[g])
                add(keys.safety(analysis, "n", **where), n_all, n=total)

    exposure_years = _exposure(add, pop, plan, safety, gvar)
    pt, soc = events.column(v.pt), events.column(v.soc)
    for term in safety.of_interest:
        hit = (pt.isin(term.pt) | soc.isin(term.soc)).to_numpy()
        counts = events.subjects_with(hit)
        incidence(counts, "interest", term=term.id, compare=True)
        incidence(events.subjects_with(hit & severe), "interest_severe", term=term.id, compare=True)
        for g, years in exposure_years.items():
            est = rs.exposure_adjusted_rate(counts[g], years)
            add(keys.safety("interest_eair", "rate", g, term=term.id), est.value, lower=est.lower,
                upper=est.upper, method=EAIR_METHOD, n=denominators[g], note=est.note,
                unit="per 100 patient-years")
            add(keys.safety("interest_eair", "patient_years", g, term=term.id), years, method=EAIR_METHOD,
                n=denominators[g], unit="patient-years")


def _overview_masks(events: _Events, plan: Plan, severe: np.ndarray
                    ) -> dict[str, tuple[np.ndarray | dict[str, int] | None, str]]:
    """Each overview category: a mask over the kept TEAE records (or, for discontinuation read from ADSL,
    subject counts per group), or None when its variable was not collected; with how it is defined."""
    safety = plan.safety
    assert safety is not None
    v = safety.variables
    out: dict[str, tuple[np.ndarray | dict[str, int] | None, str]] = {
        "any": (np.ones(events.subject.size, dtype=bool), "any TEAE"),
        "severe": (severe, "CTCAE grade >= 3" if v.severity_kind == "ctcae" else f"{v.severity} = SEVERE"),
    }

    def coded(var: str | None, values: list[str] | None, what: str) -> tuple[np.ndarray | None, str]:
        if not var or var not in events.frame.columns or not collected(events.frame[var]):
            return None, f"{var or what} ({what})"
        if values is None:
            return None, f"{var}: its coding does not say which values are {what}"
        return events.column(var).isin(values).to_numpy(), f"{var} in {', '.join(values)}"

    if v.serious:
        out["serious"] = coded(v.serious, ["Y"], "serious")
    if v.related:
        stated = related_values(v.related_values, events.frame[v.related]) if v.related in events.frame else None
        out["related"] = coded(v.related, stated, "related to study treatment")
    if "serious" in out and "related" in out and out["serious"][0] is not None and out["related"][0] is not None:
        out["serious_related"] = (out["serious"][0] & out["related"][0], "serious and related")
    out["discontinued"] = _discontinued(events, plan)
    fatal, how = None, []
    if v.outcome and v.outcome in events.frame.columns and collected(events.frame[v.outcome]):
        fatal = events.column(v.outcome).isin(v.fatal_values).to_numpy()
        how.append(f"{v.outcome} in {', '.join(v.fatal_values)}")
    if v.severity_kind == "ctcae":
        grade5 = (events.column(v.severity).astype(float) >= 5).to_numpy()
        fatal = grade5 if fatal is None else fatal | grade5
        how.append(f"{v.severity} = 5")
    out["fatal"] = (fatal, " or ".join(how) or f"{v.outcome or 'outcome'} (fatal outcome)")
    return out


def _discontinued(events: _Events, plan: Plan) -> tuple[np.ndarray | dict[str, int] | None, str]:
    """TEAEs leading to withdrawal of study drug (ADAE action taken) or, when ADAE has no action taken and the
    plan says where, subjects who discontinued because of an AE according to ADSL."""
    safety = plan.safety
    assert safety is not None
    v, src = safety.variables, safety.discontinuation
    if v.action and v.action in events.frame.columns and collected(events.frame[v.action]):
        return events.column(v.action).isin(v.withdrawn_values).to_numpy(), \
            f"{v.action} in {', '.join(v.withdrawn_values)}"
    if src is not None:
        hit = events.population[src.variable].isin(src.values).to_numpy()
        counts = np.bincount(events.group_of[hit & (events.group_of >= 0)], minlength=len(events.groups))
        return {g: int(counts[i]) for i, g in enumerate(events.groups)}, \
            f"ADSL {src.variable} in {', '.join(src.values)}"
    return None, f"{v.action or 'action taken'} (action taken with study treatment)"


def _exposure(add: Add, pop: pd.DataFrame, plan: Plan, safety: Safety, gvar: str) -> dict[str, float]:
    """Cycles and days on treatment per group; returns patient-years per group (empty if no days)."""
    years: dict[str, float] = {}
    for var, unit in ((safety.exposure_cycles, "cycles"), (safety.exposure_days, "days")):
        if not var:
            continue
        for g in plan.group_values:
            x = pop.loc[pop[gvar] == g, var].astype(float).dropna()
            method = f"Exposure ({var})"
            for stat, value in (("mean", x.mean()), ("median", x.median()), ("min", x.min()), ("max", x.max())):
                add(keys.safety("exposure", stat, g, parameter=var), value if len(x) else math.nan, method=method,
                    n=len(x), unit=unit)
            if unit == "days":
                years[g] = float(x.sum()) / 365.25
                add(keys.safety("exposure", "patient_years", g, parameter=var), years[g], method=method, n=len(x),
                    unit="patient-years")
    return years

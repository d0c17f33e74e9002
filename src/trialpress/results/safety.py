"""Safety of the plan → ARD rows, in the safety population (grouped by its own variable, e.g. as treated).

Subjects with at least one event (never event counts) per group: any TEAE, severe (CTCAE grade ≥ 3
or 'SEVERE'), serious, fatal, leading to discontinuation, related — each read as the data code it
(`data/coding.py`); a category whose variable was not collected is recorded as such (`collected` = 'no')
and has no count. By SOC and PT (any grade and severe); AEs of interest from the plan with the risk
difference vs the reference (Newcombe CI). The ARD holds every term; decisions apply the plan's threshold.

`collect_safety` then runs the rest of the safety section, each from the data the study has: the AE suite
(`ae_tables`: categories by SOC/PT, maximum grade, exposure-adjusted rates), exposure (`exposure`),
disposition (`disposition`), deaths (`deaths`), laboratory and vital signs (`labs`).
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
import pandas as pd

from trialpress.analysis import response as rs
from trialpress.analysis.populations import is_yes, rows_in_population
from trialpress.data.coding import collected, related_values
from trialpress.data.loading import StudyData
from trialpress.plan import Plan, Safety
from trialpress.results import ae_tables, keys
from trialpress.results import safety_keys as sk
from trialpress.results.ard import ARDBuilder, Key, ci_level, row
from trialpress.results.deaths import collect_deaths
from trialpress.results.disposition import collect_disposition
from trialpress.results.exposure import collect_exposure
from trialpress.results.labs import collect_measurements
from trialpress.results.safety_subjects import Subjects, adsl_for_safety, text_codes

SECTION = "SAFETY"
INCIDENCE = "Subjects with >= 1 event, n/N"


def rd_method(conf_level: float) -> str:
    return f"Risk difference; Newcombe hybrid score {ci_level(conf_level)} CI"

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
        self._codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def column(self, name: str) -> pd.Series:
        """A column of the kept records (aligned with `subject`; no index: 10^7 labels would cost 80 MB)."""
        return pd.Series(self.frame[name].array[self.keep], copy=False)

    def key_codes(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A term column (SOC, PT) of the kept records as integer codes into its sorted values, made once per
        column: every term table then selects codes instead of factorizing text again. A record without the
        term (an AE not yet coded) has a level of its own, `sk.MISSING`, after the others: it is counted under
        it, as tern's explicit missing level does, so no event drops out of the tables."""
        found = self._codes.get(name)
        if found is None:
            codes, uniques = text_codes(self.column(name))
            if bool((codes < 0).any()):
                codes = np.where(codes < 0, len(uniques), codes)
                uniques = np.append(np.asarray(uniques, dtype=object), np.array([sk.MISSING], dtype=object))
            found = self._codes[name] = (codes, uniques)
        return found

    def subjects_with(self, mask: np.ndarray) -> dict[str, int]:
        """Subjects with >= 1 record where `mask` holds, per group."""
        hit = np.zeros(self.n_subjects, dtype=bool)
        hit[self.subject[mask]] = True
        counts = np.bincount(self.group_of[hit], minlength=len(self.groups))
        return {g: int(counts[i]) for i, g in enumerate(self.groups)}

    def term_counts(self, keys: list[str], mask: np.ndarray) -> list[tuple[tuple[str, ...], dict[str, int], int]]:
        """Per term (sorted; a missing term is `sk.MISSING`, see `key_codes`): subjects per group and in total.

        A subject counts once per term however many records it has: the (term, subject) pairs are marked in
        a term-by-subject bitmap (subjects laid out group by group, so a group is a slice), in slabs of terms
        that keep it under ~50 MB. No sort and no hash of the records."""
        codes = np.zeros(int(mask.sum()), dtype=np.int64)
        labels: list[np.ndarray] = []
        ok = np.ones(codes.size, dtype=bool)
        for k in keys:
            all_codes, uniques = self.key_codes(k)
            c = all_codes[mask]
            ok &= c >= 0
            codes = codes * max(len(uniques), 1) + c
            labels.append(uniques)
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
    def subject_order(self) -> np.ndarray | None:
        """The kept records in subject order (stable), or None when they are in it already (ADaM's sort)."""
        s = self.subject
        if s.size < 2 or bool((s[1:] >= s[:-1]).all()):
            return None
        return np.argsort(s, kind="stable")

    @cached_property
    def group_layout(self) -> tuple[np.ndarray, np.ndarray]:
        """Each subject's column in a group-by-group layout, and where each group's columns start."""
        order = np.argsort(self.group_of, kind="stable")
        column = np.empty_like(order)
        column[order] = np.arange(order.size)
        bounds = np.concatenate([[0], np.cumsum(np.bincount(self.group_of, minlength=len(self.groups)))])
        return column, bounds


class _Rows:
    """Adds the safety rows of one population: `add` (a row, incidence by default) and `incidence` (subjects with
    an event per group and in total, with the risk difference of each comparator when asked)."""

    def __init__(self, plan: Plan, ard: ARDBuilder, denominators: dict[str, int]) -> None:
        assert plan.safety is not None
        self.plan, self.ard, self.population = plan, ard, plan.safety.population
        self.denominators = denominators
        self.total = sum(denominators.values())

    def add(self, key: Key, value: float = math.nan, **kw: object) -> None:
        kw.setdefault("method", INCIDENCE)
        self.ard.add(row(key, population=self.population, value=value, **kw))  # type: ignore[arg-type]

    def incidence(self, counts: dict[str, int], analysis: str, *, term: str = "", compare: bool = False) -> None:
        den, plan = self.denominators, self.plan
        for g in plan.group_values:
            self.add(keys.safety(analysis, "n", g, term=term), counts[g], n=den[g])
        self.add(keys.safety(analysis, "n", term=term), sum(counts.values()), n=self.total)
        if compare:
            ref, conf = plan.groups.reference, 1 - plan.conventions.alpha
            for c in plan.comparators:
                d = rs.risk_difference(counts[c], den[c], counts[ref], den[ref], conf)
                self.add(keys.safety(analysis, "difference", c, term=term), d.value, lower=d.lower, upper=d.upper,
                         method=rd_method(conf), reference=ref, n=den[c] + den[ref], note=d.note)


def collect_safety(plan: Plan, data: StudyData, ard: ARDBuilder) -> None:
    safety = plan.safety
    assert safety is not None
    adsl = adsl_for_safety(plan, data)
    subjects = Subjects.of(plan, adsl)
    _adverse_events(plan, data, subjects, ard)
    collect_disposition(plan, adsl, ard)
    collect_deaths(plan, subjects, ard)
    for prefix, settings in (("lab", safety.labs), ("vs", safety.vitals)):
        if settings is not None:
            collect_measurements(plan, data, subjects, ard, settings, prefix)


def _adverse_events(plan: Plan, data: StudyData, subjects: Subjects, ard: ARDBuilder) -> None:
    """The overview, SOC/PT tables, the AE suite (`ae_tables`), exposure and the AEs of interest."""
    safety = plan.safety
    assert safety is not None
    v = safety.variables
    pop, gvar = subjects.frame, subjects.gvar
    ae = data["ADAE"]
    teae = is_yes(ae[v.teae_flag]).to_numpy() if v.teae_flag else None
    found = rows_in_population(pop, subjects.adsl, data.rows_in_adsl("ADAE", plan.data.subject_id))
    events = _Events(ae, pop, found, gvar, plan.group_values, teae)
    out = _Rows(plan, ard, {g: int((pop[gvar] == g).sum()) for g in plan.group_values})
    severe = severe_mask(events.frame, safety).to_numpy()[events.keep]
    masks = _overview(events, plan, severe, out)
    _terms(events, plan, severe, out)
    den = {**out.denominators, "": out.total}
    ae_tables.collect_term_tables(plan, events, masks, den, out.add)
    ae_tables.collect_max_grade(plan, events, den, out.add)
    exposure = collect_exposure(plan, data, subjects, ard)
    onset = ae_tables.onset_days(plan, events)
    for category, mask in masks.items():
        if isinstance(mask, np.ndarray):
            ae_tables.eair_rows(events, exposure, onset, mask, out.add, conf_level=1 - plan.conventions.alpha,
                                category=category)
    pt, soc = events.column(v.pt), events.column(v.soc)
    for term in safety.of_interest:
        hit = (pt.isin(term.pt) | soc.isin(term.soc)).to_numpy()
        out.incidence(events.subjects_with(hit), "interest", term=term.id, compare=True)
        out.incidence(events.subjects_with(hit & severe), "interest_severe", term=term.id, compare=True)
        ae_tables.eair_rows(events, exposure, onset, hit, out.add, conf_level=1 - plan.conventions.alpha,
                                interest=term.id)
    ae_tables.collect_coding(plan, ae, ard)


def _overview(events: _Events, plan: Plan, severe: np.ndarray, out: _Rows) -> dict[str, object]:
    """The overview rows; returns each collected category's mask (or ADSL subject counts)."""
    masks: dict[str, object] = {}
    for category, (mask, method) in _overview_masks(events, plan, severe).items():
        if mask is None:
            out.add(keys.safety("overview", "collected", term=category), text="no", method=method,
                    note=f"not collected: {method}")
            continue
        out.add(keys.safety("overview", "collected", term=category), text="yes", method=method)
        masks[category] = mask
        counts = events.subjects_with(mask) if isinstance(mask, np.ndarray) else mask
        out.incidence(counts, "overview", term=category, compare=True)
    return masks


def _terms(events: _Events, plan: Plan, severe: np.ndarray, out: _Rows) -> None:
    """SOC and PT counts, any grade and severe."""
    assert plan.safety is not None
    v = plan.safety.variables
    levels = (("soc", [v.soc]), ("pt", [v.soc, v.pt]))
    found = {level: events.term_counts(by, np.ones(events.subject.size, dtype=bool)) for level, by in levels}
    none = ({g: 0 for g in plan.group_values}, 0)
    for grade in ("any", "severe"):
        for level, by in levels:
            counts = found[level]
            if grade == "severe":   # every term with an event has its severe count, 0 included: tables print it
                hit = {term: (by_group, n_all) for term, by_group, n_all in events.term_counts(by, severe)}
                counts = [(term, *hit.get(term, none)) for term, _, _ in counts]
            for term, by_group, n_all in counts:
                where = {"term": term[-1], "parent": term[0] if len(term) == 2 else ""}
                for g in plan.group_values:
                    out.add(keys.safety(f"{level}_{grade}", "n", g, **where), by_group[g], n=out.denominators[g])
                out.add(keys.safety(f"{level}_{grade}", "n", **where), n_all, n=out.total)


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

"""The adverse-event suite beyond the overview (ICH E3 12.2) → ARD rows: each TEAE category by SOC and PT,
subjects by their maximum grade (or severity), exposure-adjusted incidence rates, and the dictionaries' versions.

- By SOC/PT (serious, related, leading to discontinuation, fatal): subjects with >= 1 treatment-emergent event
  of the category, with the overview's definition of the category (the data's own coding).
- Maximum grade: each subject counted once at the highest grade (CTCAE) or severity (MILD < MODERATE < SEVERE)
  of their TEAEs, overall and per PT; a subject whose events carry no grade is '(missing)'.
- Exposure-adjusted incidence rate (EAIR) per 100 patient-years, with the exact Poisson CI at the plan's level:
  subjects with the event / the sum of the times at risk, where a subject's time at risk runs from the first
  dose to the onset of their first such event (the onset study day, day 1 = the day of the first dose; an onset before it counts
  as day 1) and, for subjects without one, to the end of exposure (the duration of exposure). An event with no
  onset day counts with the duration of exposure; a subject with neither is left out (the note says how many).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import pandas as pd

from trialpress.plan import Plan
from trialpress.results import keys
from trialpress.results import safety_keys as sk
from trialpress.results.ard import ARDBuilder, Key, ci_level, row
from trialpress.results.exposure import Exposure
from trialpress.results.safety_subjects import DAYS_PER_YEAR


class Events(Protocol):
    """The TEAE records of the safety population as integer codes (`safety._Events`)."""

    subject: np.ndarray          # each kept record's subject (row of the population)
    group_of: np.ndarray         # each subject's group index
    groups: list[str]
    n_subjects: int
    frame: pd.DataFrame
    subject_order: np.ndarray | None   # the records in subject order (None: they are already)

    def column(self, name: str) -> pd.Series: ...

    def key_codes(self, name: str) -> tuple[np.ndarray, np.ndarray]: ...

    def term_counts(self, keys: list[str], mask: np.ndarray) -> list[tuple[tuple[str, ...], dict[str, int], int]]: ...


Add = Callable[..., None]

SEVERITY_ORDER = ("MILD", "MODERATE", "SEVERE")
CTCAE_GRADES = ("1", "2", "3", "4", "5")
TERM_CATEGORIES = ("serious", "related", "discontinued", "fatal")


def eair_method(conf_level: float) -> str:
    return ("Subjects with the event per 100 patient-years at risk (time at risk: first dose to the onset of the "
            f"first event, or to the end of exposure without one); exact Poisson {ci_level(conf_level)} CI")


def grade_levels(plan: Plan) -> tuple[str, ...]:
    assert plan.safety is not None
    return CTCAE_GRADES if plan.safety.variables.severity_kind == "ctcae" else SEVERITY_ORDER


def record_grades(events: Events, plan: Plan) -> np.ndarray:
    """Each kept TEAE record's grade as 1..k in the scale's order (0: no grade recorded)."""
    assert plan.safety is not None
    v = plan.safety.variables
    col = events.column(v.severity)
    if v.severity_kind == "ctcae":   # typed as a number by the loader (safety.variables.severity)
        x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        return np.clip(np.nan_to_num(x, nan=0.0), 0, len(CTCAE_GRADES)).astype(np.int8)
    text = col.astype(object).map(lambda s: "" if pd.isna(s) else str(s).strip().upper())
    rank = {level: i + 1 for i, level in enumerate(SEVERITY_ORDER)}
    return text.map(lambda s: rank.get(s, 0)).to_numpy(dtype=np.int8)


def collect_term_tables(plan: Plan, events: Events, masks: dict[str, object], den: dict[str, int], add: Add) -> None:
    """SOC and PT counts of the serious, related, discontinuation and fatal categories (those read from ADAE)."""
    assert plan.safety is not None
    v = plan.safety.variables
    for category in TERM_CATEGORIES:
        mask = masks.get(category)
        if not isinstance(mask, np.ndarray):
            continue
        for level, by in (("soc", [v.soc]), ("pt", [v.soc, v.pt])):
            for term, by_group, n_all in events.term_counts(by, mask):
                where = {"term": term[-1], "parent": term[0] if len(term) == 2 else ""}
                for g in plan.group_values:
                    add(sk.category_term(category, level, g, **where), by_group[g], n=den[g])
                add(sk.category_term(category, level, **where), n_all, n=den[""])


def collect_max_grade(plan: Plan, events: Events, den: dict[str, int], add: Add) -> None:
    """Subjects by maximum grade, overall and per (SOC, PT). Per term, the maximum of each (term, subject) pair is
    kept in a term-by-subject grid of small integers (in slabs of terms, as `_Events.term_counts`), then counted
    per group and grade with one bincount: no hashing or sorting of the records."""
    assert plan.safety is not None
    v = plan.safety.variables
    names = (sk.MISSING, *grade_levels(plan))     # index 0: no grade on any of the subject's events
    grade = record_grades(events, plan)
    n_groups, n_levels = len(events.groups), len(names)
    method = f"Subjects by the highest {v.severity} of their TEAEs" + (
        " (MILD < MODERATE < SEVERE)" if v.severity_kind != "ctcae" else "")
    worst = np.zeros(events.n_subjects, dtype=np.int16)          # 0: no event, 1 + grade otherwise
    np.maximum.at(worst, events.subject, grade.astype(np.int16) + 1)
    seen = (worst > 0) & (events.group_of >= 0)
    table = np.bincount(events.group_of[seen] * n_levels + worst[seen] - 1,
                        minlength=n_groups * n_levels).reshape(n_groups, n_levels)
    _grade_rows(events, table, names, den, add, method)
    terms, term = _term_index(events, [v.soc, v.pt])
    if not terms:
        return
    kept = term >= 0
    t_all, s_all, g_all = term[kept], events.subject[kept], grade[kept].astype(np.uint8) + 1
    n = events.n_subjects
    slab = max(1, BITMAP_CELLS // max(n, 1))
    for first in range(0, len(terms), slab):
        last = min(len(terms), first + slab)
        rows = (t_all >= first) & (t_all < last)
        grid = np.zeros((last - first) * n, dtype=np.uint8)
        np.maximum.at(grid, (t_all[rows] - first).astype(np.int64) * n + s_all[rows], g_all[rows])
        cells = np.flatnonzero(grid)
        t_of, subject = cells // n, cells % n
        group = events.group_of[subject]
        ok = group >= 0
        code = (t_of[ok] * n_groups + group[ok]) * n_levels + grid[cells[ok]].astype(np.int64) - 1
        counts = np.bincount(code, minlength=(last - first) * n_groups * n_levels)
        for i, table in enumerate(counts.reshape(last - first, n_groups, n_levels)):
            soc, pt = terms[first + i]
            _grade_rows(events, table, names, den, add, method, term=pt, parent=soc)


BITMAP_CELLS = 50_000_000   # cells of one term-by-subject grid slab


def _grade_rows(events: Events, table: np.ndarray, names: tuple[str, ...], den: dict[str, int], add: Add,
                method: str, *, term: str = "", parent: str = "") -> None:
    """One row per group and in total for each grade level, 0 included (the table prints every level of the
    scale); the level 'no grade recorded' only when a subject has it (`table`: groups x levels)."""
    for j, name in enumerate(names):
        if name == sk.MISSING and table[:, j].sum() == 0:
            continue
        for i, g in enumerate(events.groups):
            add(sk.max_grade(g, name, term=term, parent=parent), table[i, j], n=den[g], method=method)
        add(sk.max_grade("", name, term=term, parent=parent), table[:, j].sum(), n=den[""], method=method)


def _term_index(events: Events, by: list[str]) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """The (SOC, PT) pairs in use, sorted, and each kept record's pair as an index into them (-1: a key missing)."""
    codes = np.zeros(events.subject.size, dtype=np.int64)
    ok = np.ones(events.subject.size, dtype=bool)
    labels = []
    for k in by:
        c, uniques = events.key_codes(k)
        ok &= c >= 0
        codes = codes * max(len(uniques), 1) + c
        labels.append(np.asarray(uniques, dtype=object))
    if not ok.any():
        return [], np.full(codes.size, -1)
    sizes = [max(len(lab), 1) for lab in labels]
    space = int(np.prod(sizes))
    if space <= 10_000_000:   # the codes in use, in order, by counting (no sort of the records)
        present = np.bincount(codes[ok], minlength=space) > 0
        used, index = np.flatnonzero(present), (np.cumsum(present) - 1)[codes[ok]]
    else:
        used, index = np.unique(codes[ok], return_inverse=True)
    term = np.full(codes.size, -1, dtype=np.int64)
    term[ok] = index
    out = []
    for code in used:
        parts, rest = [], int(code)
        for size, lab in zip(reversed(sizes), reversed(labels)):
            rest, j = divmod(rest, size)
            parts.append(str(lab[j]))
        out.append(tuple(reversed(parts)))
    return out, term


def first_onset(events: Events, mask: np.ndarray, onset: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per subject: had an event where `mask` holds, and the earliest onset day of those events (NaN: none known).
    The records are taken in subject order (`events.subject_order`), so each subject's minimum is one reduceat."""
    hit = np.zeros(events.n_subjects, dtype=bool)
    first = np.full(events.n_subjects, np.nan)
    order = events.subject_order
    rows = np.flatnonzero(mask) if order is None else order[mask[order]]
    if rows.size == 0:
        return hit, first
    subject = events.subject[rows]
    starts = np.flatnonzero(np.r_[True, subject[1:] != subject[:-1]])
    hit[subject[starts]] = True
    if onset is not None:
        first[subject[starts]] = np.fmin.reduceat(onset[rows], starts)
    return hit, first


def eair_rows(events: Events, exposure: Exposure | None, onset: np.ndarray | None, mask: np.ndarray, add: Add, *,
              conf_level: float, category: str = "", interest: str = "") -> None:
    """The EAIR of an overview `category` (analysis eair, with its events) or of an AE of `interest` (analysis
    interest_eair, whose keys the AE-of-interest table reads), per group."""

    def key(statistic: str, group: str) -> Key:
        if interest:
            return keys.safety("interest_eair", statistic, group, term=interest)
        return sk.eair(statistic, group, term=category)

    if exposure is None or onset is None:
        return
    from trialpress.analysis import response as rs   # scipy, only when rates are asked for

    hit, first = first_onset(events, mask, onset)
    duration = exposure.days
    at_risk = np.where(hit, np.where(np.isnan(first), duration, np.maximum(first, 1.0)), duration)
    known = ~np.isnan(at_risk)
    unknown_onset = hit & np.isnan(first)
    for i, g in enumerate([*events.groups, ""]):
        inside = events.group_of == i if g else events.group_of >= 0
        used = inside & known
        years = float(at_risk[used].sum()) / DAYS_PER_YEAR
        n_events = int((hit & used).sum())
        left = int((inside & ~known).sum())
        notes = []
        if left:
            notes.append(f"{left} subject(s) with no time at risk left out")
        if int((unknown_onset & used).sum()):
            notes.append(f"{int((unknown_onset & used).sum())} event(s) with no onset day counted to the end of "
                         "exposure")
        est = rs.exposure_adjusted_rate(n_events, years, conf_level=conf_level)
        method = eair_method(conf_level)
        note = "; ".join([*notes, est.note] if est.note else notes)
        add(key("rate", g), est.value, lower=est.lower, upper=est.upper, method=method, n=int(used.sum()),
            note=note, unit="per 100 patient-years")
        add(key("patient_years", g), years, method=f"{method}; duration of exposure: {exposure.source}",
            n=int(used.sum()), unit="patient-years")
        if not interest:
            add(key("events", g), n_events, method=method, n=int(used.sum()))


def onset_days(plan: Plan, events: Events) -> np.ndarray | None:
    assert plan.safety is not None
    var = plan.safety.variables.onset_day
    if not var or var not in events.frame.columns:
        return None
    return pd.to_numeric(events.column(var), errors="coerce").to_numpy(dtype=float)


def collect_coding(plan: Plan, ae: pd.DataFrame, ard: ARDBuilder) -> None:
    assert plan.safety is not None
    s = plan.safety
    var = s.variables.dictionary_version
    values: list[str] = []
    if var and var in ae.columns:
        values = sorted({str(x).strip() for x in ae[var].dropna() if str(x).strip()})
    if values:
        ard.add(row(sk.coding("meddra_version"), text=", ".join(values), method=f"ADAE {var}"))
    elif s.meddra_version:
        ard.add(row(sk.coding("meddra_version"), text=s.meddra_version, method="plan safety.meddra_version"))
    if s.variables.severity_kind == "ctcae" and s.ctcae_version:
        ard.add(row(sk.coding("ctcae_version"), text=s.ctcae_version, method="plan safety.ctcae_version"))

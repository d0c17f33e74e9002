"""Extent of exposure (ICH E3 12.1) in the safety population → ARD rows, and each subject's duration of exposure
(the time at risk of exposure-adjusted rates for subjects without an event).

Duration, in days: the plan's ADSL exposure variable (`safety.exposure_days`, e.g. TRTDURD) when the data have
it; else the last dose date minus the first + 1 (TRTSDT/TRTEDT, or the dates of TRTSDTM/TRTEDTM), a subject
still on treatment (no last dose) counted to the data cut-off when the plan has one; with `safety.exposure` and
its start/end dates, from ADEX: the first record's start to the last record's end (its start when it has no
end) + 1. Summaries: n, mean, SD, median, minimum and maximum; categories of duration (the plan's cut points);
patient-years = the sum of durations / 365.25. Dose (ADEX): each named parameter summed per subject, within each
level of the plan's category (e.g. the drug); dose intensity = total dose / (duration / 7) per week, and relative
to the planned total when the plan names its parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from trialpress.analysis.populations import rows_in_population
from trialpress.data.loading import StudyData
from trialpress.plan import Plan
from trialpress.results import safety_keys as sk
from trialpress.results.ard import ARDBuilder, row
from trialpress.results.safety_subjects import (
    DAYS_PER_YEAR,
    Subjects,
    as_days,
    summary,
    text_values,
)


@dataclass(frozen=True)
class Exposure:
    days: np.ndarray    # per subject of the population (NaN: not known)
    source: str         # how it was derived, in words
    note: str = ""      # who has no duration, and why


def duration_labels(cuts: list[int]) -> list[str]:
    """'<30', '30-89', ..., '>=365' (days)."""
    return [f"<{cuts[0]}"] + [f"{a}-{b - 1}" for a, b in pairwise(cuts)] + [f">={cuts[-1]}"]


def subject_exposure(plan: Plan, data: StudyData, subjects: Subjects) -> Exposure | None:
    """Each subject's duration of exposure in days, from the plan's source; None when the data give none."""
    s = plan.safety
    assert s is not None
    f = subjects.frame
    e = s.exposure
    if e is not None and e.start:
        return _from_records(plan, data, subjects)
    var = s.exposure_days
    if var and var in f.columns and f[var].notna().any():
        days = pd.to_numeric(f[var], errors="coerce").to_numpy(dtype=float)
        return Exposure(days, f"ADSL {var} (days)", _missing_note(days))
    first, first_name = subjects.first_dose
    last, last_name = subjects.last_dose
    if first is None or last is None:
        return None
    start, end = first.to_numpy(), last.to_numpy()
    source = f"ADSL {last_name} - {first_name} + 1 day"
    cutoff = plan.data.cutoff_variable
    ongoing = ~np.isnat(start) & np.isnat(end)
    if ongoing.any() and cutoff and cutoff in f.columns and f[cutoff].notna().any():
        end = np.where(ongoing, as_days(f[cutoff], cutoff, "ADSL").to_numpy(), end)
        source += f"; subjects with no {last_name} (still on treatment) counted to the data cut-off ({cutoff})"
    days = _days_between(start, end)
    return Exposure(days, source, _missing_note(days))


def _days_between(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    known = ~np.isnat(start) & ~np.isnat(end)
    out = np.full(start.shape, np.nan)
    out[known] = (end[known] - start[known]).astype("timedelta64[D]").astype(float) + 1
    return out


def _missing_note(days: np.ndarray) -> str:
    missing = int(np.isnan(days).sum())
    return f"{missing} subject(s) with no duration of exposure" if missing else ""


def _records(plan: Plan, data: StudyData, subjects: Subjects) -> tuple[pd.DataFrame, np.ndarray]:
    """The exposure dataset's records of population subjects, and each record's subject (row of the population)."""
    e = plan.safety.exposure if plan.safety else None
    assert e is not None
    frame = data[e.dataset]
    found = rows_in_population(subjects.frame, subjects.adsl, data.rows_in_adsl(e.dataset, plan.data.subject_id))
    keep = found >= 0
    return frame.loc[keep], found[keep]


def _from_records(plan: Plan, data: StudyData, subjects: Subjects) -> Exposure:
    e = plan.safety.exposure if plan.safety else None
    assert e is not None and e.start
    records, who = _records(plan, data, subjects)
    if e.dates_parameters:
        pick = records["PARAMCD"].isin(e.dates_parameters).to_numpy()
        records, who = records.loc[pick], who[pick]
    start = as_days(records[e.start], e.start, e.dataset).to_numpy()
    end = as_days(records[e.end], e.end, e.dataset).to_numpy() if e.end else start
    end = np.where(np.isnat(end), start, end)
    dated = ~np.isnat(start)
    n = len(subjects)
    first = pd.Series(start[dated]).groupby(who[dated]).min()
    last = pd.Series(end[dated]).groupby(who[dated]).max()
    s_all = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    e_all = s_all.copy()
    s_all[first.index.to_numpy()] = first.to_numpy()
    e_all[last.index.to_numpy()] = last.to_numpy()
    days = _days_between(s_all, e_all)
    which = f" of {', '.join(e.dates_parameters)}" if e.dates_parameters else ""
    source = f"{e.dataset}: first {e.start} to last {e.end or e.start} of the records{which} + 1 day"
    return Exposure(days, source, _missing_note(days))


def collect_exposure(plan: Plan, data: StudyData, subjects: Subjects, ard: ARDBuilder) -> Exposure | None:
    s = plan.safety
    assert s is not None
    pop = s.population
    exposure = subject_exposure(plan, data, subjects)
    groups = [*subjects.groups, ""]
    den = dict(subjects.denominators, **{"": subjects.total})

    def add_summary(x: np.ndarray, parameter: str, method: str, unit: str, *, category: str = "",
                    years: bool = False, note: str = "") -> None:
        for g in groups:
            stats = summary(x[subjects.in_group(g)])
            for stat, value in stats.items():
                ard.add(row(sk.exposure(stat, g, parameter=parameter, category=category), population=pop,
                            value=value, n=den[g], unit="" if stat == "n" else unit, method=method, note=note))
            if years:
                total = float(np.nansum(x[subjects.in_group(g)])) / DAYS_PER_YEAR
                ard.add(row(sk.exposure("patient_years", g, parameter=parameter, category=category), population=pop,
                            value=total, n=stats["n"], unit="patient-years", method=f"{method}; sum / 365.25"))

    if exposure is not None:
        add_summary(exposure.days, "duration", f"Duration of exposure: {exposure.source}", "days", years=True,
                    note=exposure.note)
        cuts = s.duration_categories_days
        labels = duration_labels(cuts)
        bins = np.digitize(exposure.days, cuts)   # NaN lands past the last bin: counted as missing below
        known = ~np.isnan(exposure.days)
        for i, label in enumerate(labels):
            hit = known & (bins == i)
            for g, c in subjects.count(hit).items():
                ard.add(row(sk.exposure_category(g, label), population=pop, value=c, n=den[g],
                            method=f"Duration of exposure {label} days ({exposure.source})"))
        if not known.all():
            for g, c in subjects.count(~known).items():
                ard.add(row(sk.exposure_category(g, sk.MISSING), population=pop, value=c, n=den[g],
                            method="no duration of exposure"))
    cycles = s.exposure_cycles
    f = subjects.frame
    if cycles and cycles in f.columns and f[cycles].notna().any():
        add_summary(pd.to_numeric(f[cycles], errors="coerce").to_numpy(dtype=float), cycles,
                    f"ADSL {cycles} per subject", "cycles")
    if s.exposure is not None and (s.exposure.dose_parameters or s.exposure.intensity_of):
        _doses(plan, data, subjects, exposure, add_summary, ard.add)
    return exposure


def _doses(plan: Plan, data: StudyData, subjects: Subjects, exposure: Exposure | None, add_summary,  # type: ignore[no-untyped-def]
           ard_add) -> None:
    e = plan.safety.exposure if plan.safety else None
    assert e is not None
    records, who = _records(plan, data, subjects)
    category = text_values(records[e.category]).to_numpy(dtype=object) if e.category else \
        np.full(len(records), "", dtype=object)
    levels = sorted({str(c) for c in category if c is not None}) if e.category else [""]
    paramcd = records["PARAMCD"].astype(object).to_numpy()
    aval = records["AVAL"].to_numpy(dtype=float)
    unit_of = text_values(records["AVALU"]).to_numpy(dtype=object) if "AVALU" in records.columns else \
        np.full(len(records), None, dtype=object)
    n = len(subjects)
    labels: dict[str, str] = {}
    if "PARAM" in records.columns:
        names = text_values(records["PARAM"]).to_numpy(dtype=object)
        for code, name in zip(paramcd, names):
            if name is not None and code not in labels:
                labels[str(code)] = str(name)

    def per_subject(param: str, level: str) -> tuple[np.ndarray, str]:
        hit = (paramcd == param) & ((category == level) if e.category else True) & ~np.isnan(aval)
        total = np.full(n, np.nan)
        if hit.any():
            sums = pd.Series(aval[hit]).groupby(who[hit]).sum()
            total[sums.index.to_numpy()] = sums.to_numpy()
        units = sorted({str(u) for u in unit_of[hit] if u is not None})
        return total, units[0] if len(units) == 1 else ""

    for level in levels:
        where = f" ({e.category} = '{level}')" if e.category else ""
        for param in e.dose_parameters:
            x, unit = per_subject(param, level)
            if not np.isnan(x).all():
                add_summary(x, param, f"{e.dataset} {param}{where}: sum of AVAL per subject", unit, category=level)
                label = labels.get(param, param)
                ard_add(row(sk.exposure("label", parameter=param, category=level), population=plan.safety.population,
                            text=label, method=f"{e.dataset} PARAM of PARAMCD = '{param}'"))
        if e.intensity_of and exposure is not None:
            total, unit = per_subject(e.intensity_of, level)
            weeks = np.where(exposure.days > 0, exposure.days / 7.0, np.nan)
            intensity = total / weeks
            if not np.isnan(intensity).all():
                add_summary(intensity, "intensity", f"Dose intensity{where}: {e.intensity_of} / (duration of "
                            f"exposure in days / 7); duration: {exposure.source}", f"{unit}/week" if unit else "per week",
                            category=level)
            if e.planned_parameter:
                planned, _ = per_subject(e.planned_parameter, level)
                relative = np.where(planned > 0, 100.0 * total / planned, np.nan)
                if not np.isnan(relative).all():
                    add_summary(relative, "relative_intensity", f"Relative dose intensity{where}: 100 x "
                                f"{e.intensity_of} / {e.planned_parameter}", "%", category=level)

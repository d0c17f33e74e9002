"""Deaths in the safety population (ICH E3 12.3.1) → ARD rows: counts by period and cause, and a listing.

A subject died when DTHFL = 'Y' (or, without DTHFL, when a death date DTHDT is recorded). The period compares
the death date with the last dose (TRTEDT, the date of TRTEDTM, else TRTSDT + exposure days - 1): on or before
the last dose plus the plan's window (`safety.death_window_days`, default 30) is 'on treatment', later is
'follow-up'; a subject still on treatment (no last dose) who died is on treatment; a death with no date has no
period. The cause is DTHCAUS as recorded (blank: no cause recorded). The study day of death is counted from
the first dose (day 1; the day before it is day -1, ADaM's convention).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialpress.plan import Plan
from trialpress.results import safety_keys as sk
from trialpress.results.ard import ARDBuilder, row
from trialpress.results.safety_subjects import Subjects, as_days, is_yes, text_values

ON, AFTER = "on_treatment", "follow_up"


def collect_deaths(plan: Plan, subjects: Subjects, ard: ARDBuilder) -> None:
    assert plan.safety is not None
    f = subjects.frame
    if "DTHFL" in f.columns and f["DTHFL"].notna().any():
        died, how = is_yes(f["DTHFL"]), "DTHFL = 'Y'"
    elif "DTHDT" in f.columns and f["DTHDT"].notna().any():
        died, how = f["DTHDT"].notna().to_numpy(), "a death date (DTHDT)"
    else:
        return
    date = as_days(f["DTHDT"], "DTHDT", "ADSL") if "DTHDT" in f.columns else None
    period, rule = _periods(plan, subjects, date)
    cause = text_values(f["DTHCAUS"]) if "DTHCAUS" in f.columns and f["DTHCAUS"].notna().any() else None
    _counts(plan, subjects, ard, died, how, period, rule, cause)
    if int(died.sum()) <= plan.safety.death_listing_max:
        _listing(plan, subjects, ard, died, date, period, rule, cause)


def _periods(plan: Plan, subjects: Subjects, date: pd.Series | None) -> tuple[np.ndarray | None, str]:
    """Each subject's period of death ('on_treatment', 'follow_up', '' without a date) and the rule in words;
    None when the last dose is not known."""
    assert plan.safety is not None
    window = plan.safety.death_window_days
    last, last_how = _last_dose(plan, subjects)
    if date is None or last is None:
        return None, ""
    d, e = date.to_numpy(), last.to_numpy()
    limit = e + np.timedelta64(window, "D")
    on = ~np.isnat(d) & (np.isnat(e) | (d <= limit))
    after = ~np.isnat(d) & ~np.isnat(e) & (d > limit)
    rule = f"on or before the last dose ({last_how}) + {window} days, or with treatment ongoing"
    return np.where(on, ON, np.where(after, AFTER, "")), rule


def _counts(plan: Plan, subjects: Subjects, ard: ARDBuilder, died: np.ndarray, how: str,
            period: np.ndarray | None, rule: str, cause: pd.Series | None) -> None:
    assert plan.safety is not None
    window = plan.safety.death_window_days
    periods = {sk.ALL_PERIODS: (died, f"Deaths: {how}")}
    if period is not None:
        periods[ON] = (died & (period == ON), f"Deaths on treatment: death ({how}) {rule}")
        periods[AFTER] = (died & (period == AFTER),
                          f"Deaths in follow-up: death more than {window} days after the last dose")
    den = dict(subjects.denominators, **{"": subjects.total})

    def add(statistic: str, mask: np.ndarray, method: str, *, p: str, cause_value: str = "") -> None:
        for g, x in subjects.count(mask).items():
            ard.add(row(sk.deaths(statistic, g, period=p, cause=cause_value), population=plan.safety.population,
                        value=x, n=den[g], method=method))

    for p, (mask, method) in periods.items():
        add("n", mask, method, p=p)
        if cause is None:
            continue
        hit = cause.where(died, None)
        order = hit.value_counts()
        for value in sorted(order.index, key=lambda v: (-int(order[v]), str(v))):
            add("n", mask & (hit == value).to_numpy(), f"{method}; DTHCAUS = '{value}'", p=p, cause_value=str(value))
        add("missing", mask & cause.isna().to_numpy(), f"{method}; no DTHCAUS recorded", p=p)


def _listing(plan: Plan, subjects: Subjects, ard: ARDBuilder, died: np.ndarray, date: pd.Series | None,
             period: np.ndarray | None, rule: str, cause: pd.Series | None) -> None:
    """One row per death: date, study day, cause and period (by group, then date)."""
    assert plan.safety is not None
    pop, f, sid = plan.safety.population, subjects.frame, plan.data.subject_id
    first, first_how = subjects.first_dose
    for i in _listing_order(subjects, died, date):
        g, subject = str(f[subjects.gvar].iat[i]), str(f[sid].iat[i])
        when = date.iat[i] if date is not None else pd.NaT
        text = "not recorded" if pd.isna(when) else when.date().isoformat()
        ard.add(row(sk.death_listing("date", g, subject), population=pop, text=text, method="DTHDT"))
        day = np.nan
        if first is not None and not pd.isna(when) and not pd.isna(first.iat[i]):
            delta = (when - first.iat[i]).days
            day = float(delta + 1 if delta >= 0 else delta)
        ard.add(row(sk.death_listing("day", g, subject), population=pop, value=day,
                    method=f"DTHDT - {first_how} + 1 (day 1 = first dose; no day 0)" if first is not None else ""))
        if cause is not None:
            ard.add(row(sk.death_listing("cause", g, subject), population=pop,
                        text=str(cause.iat[i]) if cause.iat[i] is not None else "not recorded", method="DTHCAUS"))
        if period is not None:
            ard.add(row(sk.death_listing("period", g, subject), population=pop, text=period[i] or "not known",
                        method=rule))


def _last_dose(plan: Plan, subjects: Subjects) -> tuple[pd.Series | None, str]:
    last, name = subjects.last_dose
    if last is not None:
        return last, name if name == "TRTEDT" else f"the date of {name}"
    first, first_name = subjects.first_dose
    var = plan.safety.exposure_days if plan.safety else None
    f = subjects.frame
    if first is not None and var and var in f.columns and f[var].notna().any():
        days = pd.to_numeric(f[var], errors="coerce").astype(float)
        return first + pd.to_timedelta(days - 1, unit="D"), f"{first_name} + {var} - 1"
    return None, ""


def _listing_order(subjects: Subjects, died: np.ndarray, date: pd.Series | None) -> list[int]:
    """Deaths by group (plan order), then day of death, then subject id."""
    rows = np.flatnonzero(died & (subjects.group_of >= 0))
    sid = subjects.plan.data.subject_id
    keys = pd.DataFrame({"g": subjects.group_of[rows],
                         "d": date.to_numpy()[rows] if date is not None else np.full(rows.size, np.datetime64("NaT", "ns")),
                         "s": subjects.frame[sid].astype(str).to_numpy()[rows], "i": rows})
    return [int(i) for i in keys.sort_values(["g", "d", "s"], kind="stable")["i"]]

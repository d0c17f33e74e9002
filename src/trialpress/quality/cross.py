"""Cross-dataset rules: subjects exist in ADSL (error); records dated after the data cut-off or the
subject's death, each time-to-event parameter's records only where its origin exists, AEs of safety
subjects only (warnings).

Record dates are never required to follow the first dose: a time-to-event date is compared with its own
origin (STARTDT, in `adtte.py`), treatment-emergent AEs may start before the first dose (worsening of a
pre-existing condition), response assessments include screening. A datetime and a date compare as dates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialpress.data import adam
from trialpress.plan import TimeToEvent
from trialpress.quality.adtte import TTE, event_dates
from trialpress.quality.context import Ctx
from trialpress.quality.helpers import DateVar, as_datetime, comparable, detail, is_text, order_check
from trialpress.quality.rules import ERROR, WARNING, Check, ig, plan_says, rule

ORIGIN_MATCH = 0.9   # share of a parameter's records whose STARTDT equals an ADSL date to call it the origin
RECORD_DATES = {"ADTTE": (adam.TTE_DATE, adam.TTE_DATETIME), "ADRS": (adam.BDS_DATE, adam.BDS_DATETIME),
                "ADAE": (adam.AE_START, adam.AE_START_DTM)}

IN_ADSL = rule(
    "{ds}.subjects.in_ADSL", "{ds}", "every {ds} subject exists in ADSL", "Add the subjects to ADSL or remove their records.",
    ig("ADSL (every subject of an analysis dataset has its ADSL record)"), ERROR, "cross-dataset")
NOT_AFTER_CUTOFF = rule(
    "{ds}.{date}.not_after_{cut}", "{ds}", "{ds} {date} is not after the subject's data cut-off (ADSL {cut})",
    "Correct {date}, or remove records dated after the cut-off.", plan_says("data.cutoff_variable"), WARNING,
    "cross-dataset")
NOT_AFTER_DEATH = rule(
    "{ds}.{date}.not_after_{death}", "{ds}", "{ds} {date} is not after the subject's death (ADSL {death})",
    "Correct {date} in {ds} or {death} in ADSL: death is the last event.", ig("ADSL DTHDT (date of death)"), WARNING,
    "cross-dataset")
ORIGIN = rule(
    "ADTTE.{paramcd}.origin_{origin}", "ADTTE",
    "{paramcd} records exist only for subjects with {who} in ADSL and start at {origin} (its time origin)",
    "Each {paramcd} record needs the subject's {origin} in ADSL{and_flag}, with STARTDT equal to it: remove the "
    "record or correct ADSL (records outside an endpoint's subset are not analysed).",
    ig(f"{TTE} (STARTDT: the subject's time-to-event origin)"), WARNING, "cross-dataset")
SAFETY_SUBJECTS = rule(
    "ADAE.subjects.in_{flag}", "ADAE", "AEs are recorded for safety subjects ({flag} = 'Y') only",
    "AEs of subjects outside the safety population are not analysed: check {flag}.", plan_says("safety.population"),
    WARNING, "cross-dataset")

LAST_DOSE = rule(
    "ADSL.{last}.is_last_{ds}_dose", "ADSL", "ADSL {last} is within a day of the subject's last administration in "
    "{ds} (the latest {end} of its records{which})",
    "The exposure table reads {ds}, the on-treatment periods (deaths, time at risk) read ADSL {last}: correct "
    "{last} or the {ds} records, so that both say when treatment ended.",
    ig("ADSL TRTEDT (date of last exposure to treatment)"), WARNING, "cross-dataset")
LAST_DOSE_DAYS = 1   # a datetime's day and the record's end date may differ by the day an infusion spans


def cross_checks(ctx: Ctx) -> list[Check]:
    out: list[Check] = []
    for ds in ("ADTTE", "ADRS", "ADAE"):
        if ctx.data.has(ds) and ctx.sid in ctx.data[ds].columns:
            out += _record_checks(ctx, ds)
    out += _origins(ctx)
    out += _safety_subjects(ctx)
    out += _last_dose(ctx)
    return out


def _record_checks(ctx: Ctx, ds: str) -> list[Check]:
    f, sid = ctx.data[ds], ctx.sid
    bad = f[sid].notna() & pd.Series(ctx.positions(f) < 0, index=f.index)
    out = [IN_ADSL.derived(~bad, detail=detail(bad, **{sid: f[sid]}), ds=ds)]
    date = ctx.date(ds, *RECORD_DATES[ds])
    if date is None:
        return out
    for bound_name, r, field in ((ctx.cutoff, NOT_AFTER_CUTOFF, "cut"), (adam.DEATH_DATE, NOT_AFTER_DEATH, "death")):
        bound = ctx.adsl_dates.get(bound_name) if bound_name else None
        if bound is not None:
            per_record = DateVar(bound.name, ctx.subject_values(f, bound.values), bound.precise)
            out.append(order_check(r, [date], per_record, False, ds=ds, date=date.name, **{field: bound.name}))
    return out


def _origin(equal: dict[str, np.ndarray], rows: np.ndarray) -> str | None:
    """The ADSL date that equals STARTDT for (nearly) every record of one ADTTE parameter (`rows`)."""
    if not rows.any():
        return None
    share = {name: float(same[rows].mean()) for name, same in equal.items()}
    best = max(share, key=lambda n: share[n], default=None)
    return best if best is not None and share[best] >= ORIGIN_MATCH else None


def _origins(ctx: Ctx) -> list[Check]:
    """Each planned ADTTE parameter starts at one ADSL date: records only where that date (and its flag) exist."""
    if not ctx.data.has("ADTTE") or "PARAMCD" not in ctx.data["ADTTE"].columns:
        return []
    t, a = ctx.data["ADTTE"], ctx.adsl
    start, _ = event_dates(ctx)
    if start is None:
        return []
    looked_up = {name: DateVar(name, ctx.subject_values(t, d.values), d.precise)
                 for name, d in ctx.adsl_dates.items() if name != ctx.cutoff}
    equal = {name: _same_day(d, start) for name, d in looked_up.items()}
    first: dict[str, TimeToEvent] = {}
    for e in ctx.plan.time_to_event:
        first.setdefault(e.paramcd, e)
    out: list[Check] = []
    for e in first.values():
        rows = ctx.endpoint_records(e, subset=False).to_numpy()   # a warning: the subset's outside included
        name = _origin(equal, rows)
        if name is None:
            continue
        origin, ok = looked_up[name], equal[name].copy()
        flag = adam.date_stem(name) + "FL"
        shown = {name: origin.values, start.name: start.values}
        has_flag = flag in a.columns and is_text(a, flag)
        if has_flag:
            fv = ctx.subject_values(t, flag)
            ok &= fv.eq("Y").fillna(False).to_numpy(dtype=bool)
            shown = {flag: fv, **shown}
        bad = pd.Series(rows & ~ok, index=t.index)
        out.append(ORIGIN.derived(~bad, detail=detail(bad, **shown), paramcd=e.paramcd, origin=name,
                                  who=f"{flag} = 'Y'" if has_flag else f"a {name}",
                                  and_flag=f" and {flag} = Y" if has_flag else ""))
    return out


def _same_day(a: DateVar, b: DateVar) -> np.ndarray:
    x, y = comparable(a, b)
    return (x.notna() & x.eq(y)).to_numpy()


def _safety_subjects(ctx: Ctx) -> list[Check]:
    plan, a, sid = ctx.plan, ctx.adsl, ctx.sid
    if not (plan.safety and ctx.data.has("ADAE") and sid in ctx.data["ADAE"].columns):
        return []
    pop = plan.populations.get(plan.safety.population)
    if not (pop and pop.flag and pop.flag in a.columns):
        return []
    e = ctx.data["ADAE"]
    flag = ctx.subject_values(e, pop.flag)
    bad = pd.Series(ctx.positions(e) >= 0, index=e.index) & ~flag.eq("Y").fillna(False).astype(bool)
    return [SAFETY_SUBJECTS.derived(~bad, detail=detail(bad, **{sid: e[sid], pop.flag: flag}), flag=pop.flag)]


def _last_dose(ctx: Ctx) -> list[Check]:
    """ADSL's last dose date against the exposure dataset the plan reads (safety.exposure): the two sources of
    "when treatment ended" that the safety tables use."""
    plan = ctx.plan
    e = plan.safety.exposure if plan.safety else None
    if e is None or not e.start or not ctx.data.has(e.dataset):
        return []
    last = next((ctx.adsl_dates[n] for n in ("TRTEDT", "TRTEDTM") if n in ctx.adsl_dates), None)
    x = ctx.data[e.dataset]
    if last is None or e.start not in x.columns or (e.end and e.end not in x.columns):
        return []
    start = as_datetime(x[e.start])
    end = as_datetime(x[e.end]) if e.end else start
    if start is None or end is None:
        return []
    dated = end.fillna(start).dt.normalize()
    rows = ctx.data.rows_in_adsl(e.dataset, ctx.sid)
    pick = (rows >= 0) & dated.notna().to_numpy()
    if e.dates_parameters and "PARAMCD" in x.columns:
        pick &= x["PARAMCD"].isin(e.dates_parameters).to_numpy()
    a = ctx.adsl
    by_row = pd.Series(dated.to_numpy()[pick]).groupby(rows[pick]).max().reindex(range(len(a)))
    theirs = pd.Series(by_row.to_numpy(), index=a.index)   # each ADSL row's last administration (NaT: none)
    ours = last.values.dt.normalize()
    bad = ours.notna() & theirs.notna() & ((ours - theirs).abs() > pd.Timedelta(days=LAST_DOSE_DAYS))
    which = f" of {', '.join(e.dates_parameters)}" if e.dates_parameters else ""
    shown = detail(bad, **{last.name: last.values, f"last {e.dataset} {e.end or e.start}": theirs})
    return [LAST_DOSE.derived(~bad, detail=shown, last=last.name, ds=e.dataset, end=e.end or e.start, which=which)]

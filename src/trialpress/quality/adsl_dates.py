"""ADSL dates in the usual order, flag/date pairs, and exposure of the safety population: design
expectations, so warnings (a plan may declare any of them an error).

Dates compare at the precision both sides have (`helpers.DateVar`). ADSL may hold TRTSDT, TRTSDTM or both.
Which dates must follow the first dose is decided by ADaM naming and by the data: a date named as a
pre-treatment one (screening, consent, diagnosis, disease onset, randomisation, visit 1 …) or on or before
the first dose for most subjects is never required to follow it. A missing treatment end (ongoing at the
data cut-off), a death flag without a known death date, or missing exposure are not errors.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from trialpress.data import adam
from trialpress.quality.context import Ctx
from trialpress.quality.helpers import DateVar, comparable, detail, is_text, order_check
from trialpress.quality.rules import WARNING, Check, ig, plan_says, rule

PRE_SHARE = 0.5   # a date on or before the first dose for more than this share of subjects precedes treatment
# dates that may be recorded after death: end of study/disposition, data cut-offs
AFTER_DEATH_ALLOWED = re.compile(r"^(EOS|EOT|DS|DCUT|CUT|LSTALV|LSTCNT|LST|LAST)")

NOT_AFTER_CUTOFF = rule(
    "ADSL.dates.not_after_{cut}", "ADSL", "no ADSL date is after the data cut-off {cut} ({dates})",
    "Correct the dates, or the cut-off {cut}: nothing can be recorded after it.",
    plan_says("data.cutoff_variable"), WARNING)
NOT_BEFORE_START = rule(
    "ADSL.dates.not_before_{start}", "ADSL", "events are on or after the first dose {start} ({dates})",
    "Correct the dates: an event after treatment (death, response, transplant, relapse...) cannot precede "
    "{start}. A date that precedes treatment by design is recognised by its name or by preceding it for most "
    "subjects.", ig("ADSL TRTSDT/TRTSDTM (date of first exposure to treatment)"), WARNING)
NOT_AFTER_DEATH = rule(
    "ADSL.dates.not_after_{death}", "ADSL", "death is the last event: no date after {death} ({dates})",
    "Correct the death date or the later dates: nothing happens after death.", ig("ADSL DTHDT (date of death)"),
    WARNING)
DATE_NEEDS_FLAG = rule(
    "ADSL.{date}.only_where_{flag}", "ADSL", "{date} is present only when {flag} = 'Y'",
    "A date needs {flag} = 'Y': set the flag, or remove the date. ({flag} = 'Y' with no {date} is fine: the date "
    "is unknown.)", ig("ADSL flag/date pairs (e.g. DTHFL with DTHDT)"), WARNING)
EXPOSURE = rule(
    "ADSL.{var}.non_negative", "ADSL", "the exposure {var} is zero or positive", "Correct {var}.",
    plan_says("safety.exposure_days, safety.exposure_cycles"), WARNING)
TREATED = rule(
    "ADSL.{flag}.treated", "ADSL",
    "every safety subject ({flag} = 'Y') received treatment ({evidence}): a first dose, and no exposure "
    "recorded as 0", "Safety subjects are those dosed: correct the first dose date or the exposure, or set "
    "{flag} = N for subjects never treated. (Missing exposure is not evidence of no treatment.)",
    plan_says("safety.population"), WARNING)


def date_checks(ctx: Ctx) -> list[Check]:
    out: list[Check] = []
    dates = ctx.adsl_dates
    cut = dates.get(ctx.cutoff) if ctx.cutoff else None
    before_cut = [d for name, d in dates.items() if cut is None or name != cut.name]
    if cut is not None and before_cut:
        out.append(order_check(NOT_AFTER_CUTOFF, before_cut, cut, False, cut=cut.name,
                               dates=", ".join(d.name for d in before_cut)))
    start = ctx.trt_start
    post = post_treatment(ctx)
    if start is not None and post:
        out.append(order_check(NOT_BEFORE_START, post, start, True, start=start.name,
                               dates=", ".join(d.name for d in post)))
    death = dates.get(adam.DEATH_DATE)
    after_death = [d for d in post if d.name != adam.DEATH_DATE and not AFTER_DEATH_ALLOWED.match(d.name)]
    if death is not None and after_death:
        out.append(order_check(NOT_AFTER_DEATH, after_death, death, False, death=death.name,
                               dates=", ".join(d.name for d in after_death)))
    out += _flag_dates(ctx)
    return out


def post_treatment(ctx: Ctx) -> list[DateVar]:
    """ADSL dates of what happens after the first dose: neither named as pre-treatment nor, in the data, on or
    before the first dose for most subjects (nor the first dose itself, nor the cut-off)."""
    start = ctx.trt_start
    out = []
    for name, d in ctx.adsl_dates.items():
        if name in (ctx.cutoff, adam.TRT_START, adam.TRT_START_DTM) or adam.named_pre_treatment(name):
            continue
        if start is not None:
            x, s = comparable(d, start)
            both = (x.notna() & s.notna()).to_numpy()
            if both.any() and float((x <= s).to_numpy()[both].mean()) > PRE_SHARE:
                continue
        out.append(d)
    return out


def _flag_dates(ctx: Ctx) -> list[Check]:
    """A date xxxDT needs its flag xxxFL = 'Y' (DTHDT needs DTHFL = 'Y'); the flag without a date is fine."""
    a, out = ctx.adsl, []
    for flag in sorted(c for c in a.columns if c.endswith("FL") and is_text(a, c)):
        date = ctx.adsl_dates.get(flag[:-2] + "DT")
        if date is None:
            continue
        bad = date.values.notna() & ~a[flag].eq("Y").fillna(False).astype(bool)
        out.append(DATE_NEEDS_FLAG.derived(~bad, detail=detail(bad, **{flag: a[flag], date.name: date.values}),
                                           date=date.name, flag=flag))
    return out


def exposure_checks(ctx: Ctx) -> list[Check]:
    """Exposure is not negative; every safety subject has a first dose (or positive exposure) and no exposure
    recorded as 0. Missing exposure (not collected, or treatment ongoing) is not a failure."""
    plan, a = ctx.plan, ctx.adsl
    safety = plan.safety
    exposures = [v for v in ((safety.exposure_days, safety.exposure_cycles) if safety else ())
                 if v and v in a.columns and pd.api.types.is_numeric_dtype(a[v])]
    out = [EXPOSURE.native("ExpectColumnValuesToBeBetween", {"column": v, "min_value": 0}, value_column=v, var=v)
           for v in exposures]
    pop = plan.populations.get(safety.population) if safety else None
    if not (pop and pop.flag and pop.flag in a.columns):
        return out
    start = ctx.trt_start
    if start is None and not exposures:
        return out
    positive = np.zeros(len(a), dtype=bool)
    zero = np.zeros(len(a), dtype=bool)
    for v in exposures:
        positive |= (a[v] > 0).to_numpy()
        zero |= (a[v] == 0).to_numpy()
    no_dose = start.values.isna().to_numpy() & ~positive if start is not None else np.zeros(len(a), dtype=bool)
    bad = pd.Series(a[pop.flag].eq("Y").fillna(False).to_numpy(dtype=bool) & (no_dose | zero), index=a.index)
    shown = {pop.flag: a[pop.flag], **({start.shown: start.values} if start is not None else {}),
             **{v: a[v] for v in exposures}}
    evidence = ", ".join(list(shown)[1:])
    out.append(TREATED.derived(~bad, detail=detail(bad, **shown), flag=pop.flag, evidence=evidence))
    return out

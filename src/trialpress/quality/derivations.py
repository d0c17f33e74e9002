"""Cross-checks that catch plausible bad time-to-event data: values that contradict what they come from.

All are errors (a number of the report would be wrong) and apply to the records the plan analyses:

* AVALU against the plan's unit (time_to_event[].unit): a time in days under a months plan, or an AVALU that
  is no unit of time (COUNT: not a time to event).
* AVAL against its dates, where ADT (or ADTM) and STARTDT (or STARTDTM) exist. AVAL is converted to days with
  the plan's unit (`trialpress.plan.TIME_UNITS`: a week 7 days, a month 30.4375, a year 365.25) and must equal
  ADT − STARTDT or ADT − STARTDT + 1 (both conventions are ADaM practice) within a tolerance of
    1 day (datetimes, imputed times)  +  half a tenth of the unit (AVAL rounded to one decimal)
    +  2 % of the time for months (a sponsor's month of 30 to 31 days: days/30.4, /30.4375, /30.44 …)
       or 0.2 % for years (365 or 365.25 days); nothing more for days and weeks.
  A sponsor's own month or year, and AVAL rounded to one decimal, pass; AVAL in days under a months plan,
  or a time unrelated to its dates, do not. The failing record says which unit would fit.
* Implausible magnitudes: AVAL, in days, longer than the study's calendar span (earliest to latest date in
  ADSL and ADTTE, birth dates left out) plus 10 % and a month: a 99999 sentinel is caught with or without dates.
* CNSR against EVNTDESC and CNSDTDSC, within a PARAMCD: a description that is an event for most of its
  records (≥ 90 %, at least 5) on a censored record, or a censoring-date description CNSDTDSC on an event
  record where few events (≤ 10 %) carry one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialpress.data import adam
from trialpress.plan import TIME_UNITS
from trialpress.quality.adtte import TTE, event_dates
from trialpress.quality.context import Ctx
from trialpress.quality.helpers import comparable, iso, per_value, small_codes
from trialpress.quality.helpers import shown_rows as _shown
from trialpress.quality.rules import ERROR, Check, ig, plan_says, rule

SLACK_DAYS = 1.0
ROUNDING = 0.05
FACTOR_SPREAD = {"days": 0.0, "weeks": 0.0, "months": 0.02, "years": 0.002}
SPAN_MARGIN, SPAN_MARGIN_DAYS, NO_DATES_DAYS = 0.10, 31.0, 100 * 365.25
EVENT_SHARE, MIN_MAJORITY, FEW_EVENTS = 0.9, 5, 0.1

UNIT = rule(
    "ADTTE.{paramcd}.AVALU_matches_plan", "ADTTE",
    "AVALU of {paramcd} is the plan's unit (time_to_event[{endpoint}].unit: {unit})",
    "Set time_to_event[{endpoint}].unit to the unit AVALU gives (days, weeks, months or years), or convert AVAL "
    "to {unit}. A parameter whose AVALU is not a unit of time (e.g. COUNT) is not a time to event: remove it "
    "from time_to_event.", plan_says("time_to_event[].unit (AVALU: CDISC CT C71620 Unit)"), ERROR, "cross-dataset")
FROM_DATES = rule(
    "ADTTE.AVAL.matches_dates", "ADTTE",
    "AVAL, in the plan's unit, is the time from {origin} to {date} (ADT − STARTDT or + 1 day, within the "
    "tolerance of a sponsor's unit conversion and rounding)",
    "AVAL contradicts the dates it comes from: check the unit (time_to_event[].unit, AVALU), the derivation of "
    "AVAL, or the dates.", ig(f"{TTE} (AVAL = ADT − STARTDT, in AVALU)"), ERROR, "cross-dataset")
WITHIN_SPAN = rule(
    "ADTTE.AVAL.within_study_span", "ADTTE",
    "AVAL is not longer than the study's calendar span ({span}) plus a margin",
    "A time longer than the study itself is a sentinel (e.g. 99999) or a unit error: correct AVAL, or the plan's "
    "unit.", ig(f"{TTE} (AVAL)"), ERROR, "cross-dataset")
EVENT_DESCRIPTION = rule(
    "ADTTE.CNSR.matches_EVNTDESC", "ADTTE",
    "CNSR agrees with EVNTDESC: no censored record has a description that is an event for most records of its "
    "PARAMCD", "Correct CNSR (0 for an event) or EVNTDESC (the censoring reason).",
    ig(f"{TTE} (CNSR, EVNTDESC)"), ERROR, "cross-dataset")
CENSOR_DESCRIPTION = rule(
    "ADTTE.CNSR.matches_CNSDTDSC", "ADTTE",
    "CNSR agrees with CNSDTDSC: no event record (CNSR = 0) has a censoring-date description",
    "Correct CNSR (a positive integer for a censored time) or clear CNSDTDSC of the event.",
    ig(f"{TTE} (CNSR, CNSDTDSC)"), ERROR, "cross-dataset")


def derivation_checks(ctx: Ctx) -> list[Check]:
    t = ctx.data["ADTTE"]
    if "PARAMCD" not in t.columns or "AVAL" not in t.columns or not pd.api.types.is_numeric_dtype(t["AVAL"]):
        return []
    out = _unit_checks(ctx)
    days_per, spread = _record_units(ctx)
    out += _from_dates(ctx, days_per, spread)
    out.append(_within_span(ctx, days_per))
    cnsr = t["CNSR"].to_numpy(dtype=float, na_value=np.nan) if "CNSR" in t.columns and \
        pd.api.types.is_numeric_dtype(t["CNSR"]) else None
    if cnsr is not None:
        out += _descriptions(ctx, cnsr)
    return out


def _record_units(ctx: Ctx) -> tuple[np.ndarray, np.ndarray]:
    """Per ADTTE record: days per unit of AVAL (the first planned endpoint analysing it; NaN if none) and the
    relative spread a sponsor's own conversion of that unit may have."""
    n = len(ctx.data["ADTTE"])
    days, spread = np.full(n, np.nan), np.zeros(n)
    for e in ctx.plan.time_to_event:
        rows = ctx.endpoint_records(e).to_numpy() & np.isnan(days)
        days[rows], spread[rows] = TIME_UNITS[e.unit], FACTOR_SPREAD[e.unit]
    return days, spread


def _unit_checks(ctx: Ctx) -> list[Check]:
    t, avalu = ctx.data["ADTTE"], ctx.column("ADTTE", adam.UNIT)
    if avalu is None:
        return []
    unit_of = per_value(avalu, lambda v: "" if pd.isna(v) or not str(v).strip()
                        else adam.TIME_UNIT_TERMS.get(str(v).strip().upper(), "not a unit of time"), dtype=object)
    out, seen = [], set()
    for e in ctx.plan.time_to_event:
        if e.paramcd in seen:
            continue
        seen.add(e.paramcd)
        rows = ctx.endpoint_records(e).to_numpy()
        bad = pd.Series(rows & (unit_of != "") & (unit_of != e.unit), index=t.index)
        shown = _shown(bad, lambda i, code=e.paramcd: f"PARAMCD={iso(code)}, AVALU={iso(avalu.iat[i])} ({unit_of[i]})")
        out.append(UNIT.derived(~bad, detail=shown, paramcd=e.paramcd, endpoint=e.id, unit=e.unit))
    return out


def _tolerance(days_per: np.ndarray, spread: np.ndarray, span: np.ndarray) -> np.ndarray:
    return SLACK_DAYS + ROUNDING * days_per + spread * np.abs(span)


def _fits(aval_days: np.ndarray, span: np.ndarray, tol: np.ndarray) -> np.ndarray:
    return (np.abs(aval_days - span) <= tol) | (np.abs(aval_days - span - 1.0) <= tol)


def _from_dates(ctx: Ctx, days_per: np.ndarray, spread: np.ndarray) -> list[Check]:
    t = ctx.data["ADTTE"]
    origin, event = event_dates(ctx)
    if origin is None or event is None:
        return []
    x, s = comparable(event, origin)
    span = ((x - s) / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)
    aval = t["AVAL"].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        aval_days = aval * days_per
        ok = _fits(aval_days, span, _tolerance(days_per, spread, span))
        bad = pd.Series(np.isfinite(aval_days) & np.isfinite(span) & ~ok, index=t.index)

    def shown(i: int) -> str:
        unit = next((u for u, f in TIME_UNITS.items()
                     if _fits(aval[i:i + 1] * f, span[i:i + 1],
                              _tolerance(np.array([f]), np.array([FACTOR_SPREAD[u]]), span[i:i + 1]))[0]), None)
        fits = f"; AVAL fits the dates in {unit}" if unit else ""
        return (f"PARAMCD={iso(t['PARAMCD'].iat[i])}, AVAL={aval[i]:g} = {aval_days[i]:.1f} days, {origin.name}="
                f"{origin.text(i)}, {event.name}={event.text(i)}: {span[i]:.0f} days{fits}")

    return [FROM_DATES.derived(~bad, detail=_shown(bad, shown), origin=origin.name, date=event.name)]


def _within_span(ctx: Ctx, days_per: np.ndarray) -> Check:
    t = ctx.data["ADTTE"]
    first, last = _calendar(ctx)
    limit = NO_DATES_DAYS if first is None else \
        (last - first).days * (1 + SPAN_MARGIN) + SPAN_MARGIN_DAYS   # type: ignore[operator]
    span = "no dates found: 100 years" if first is None else \
        f"{first.date().isoformat()} to {last.date().isoformat()}, {(last - first).days} days"  # type: ignore[union-attr,operator]
    aval = t["AVAL"].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        aval_days = aval * days_per
        bad = pd.Series(np.isfinite(days_per) & (aval_days > limit), index=t.index)
    shown = _shown(bad, lambda i: f"PARAMCD={iso(t['PARAMCD'].iat[i])}, AVAL={aval[i]:g} = {aval_days[i]:.0f} days")
    return WITHIN_SPAN.derived(~bad, detail=shown, span=span)


def _calendar(ctx: Ctx) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The earliest and latest date in ADSL and ADTTE (birth dates left out: they are not study dates)."""
    found = [d for name, d in ctx.adsl_dates.items() if "BRTH" not in name]
    found += [d for d in event_dates(ctx) if d is not None]
    lows = [d.values.min() for d in found]
    highs = [d.values.max() for d in found]
    lows, highs = [v for v in lows if pd.notna(v)], [v for v in highs if pd.notna(v)]
    return (min(lows), max(highs)) if lows and highs else (None, None)


def _descriptions(ctx: Ctx, cnsr: np.ndarray) -> list[Check]:
    t, rows = ctx.data["ADTTE"], ctx.analysed_records.to_numpy()
    param, _ = small_codes(t["PARAMCD"])
    event = cnsr == 0
    out = []
    desc = ctx.column("ADTTE", adam.EVENT_DESCRIPTION)
    if desc is not None:
        code, size = small_codes(desc)
        key = param * size + code
        use = rows & (code > 0) & ~np.isnan(cnsr)
        n, n_event = _count(key, use), _count(key, use & event)
        event_like = (n_event >= MIN_MAJORITY) & (n_event >= EVENT_SHARE * np.maximum(n, 1))
        bad = pd.Series(use & ~event & event_like[key], index=t.index)
        shown = _shown(bad, lambda i: f"PARAMCD={iso(t['PARAMCD'].iat[i])}, CNSR={cnsr[i]:g}, EVNTDESC={iso(desc.iat[i])} "
                                      f"(an event for {n_event[key[i]]} of its {n[key[i]]} records)")
        out.append(EVENT_DESCRIPTION.derived(~bad, detail=shown))
    cdesc = ctx.column("ADTTE", adam.CENSOR_DATE_DESCRIPTION)
    if cdesc is not None:
        described = small_codes(cdesc)[0] > 0
        events = rows & event
        n, n_described = _count(param, events), _count(param, events & described)
        few = n_described <= FEW_EVENTS * n
        bad = pd.Series(events & described & few[param], index=t.index)
        shown = _shown(bad, lambda i: f"PARAMCD={iso(t['PARAMCD'].iat[i])}, CNSR=0, CNSDTDSC={iso(cdesc.iat[i])}")
        out.append(CENSOR_DESCRIPTION.derived(~bad, detail=shown))
    return out


def _count(key: np.ndarray, where: np.ndarray) -> np.ndarray:
    """How many rows with each key value satisfy `where` (indexable by every key value)."""
    size = int(key.max()) + 1 if len(key) else 1
    return np.bincount(key[where], minlength=size)



"""ADTTE rules on the records the plan analyses: one record per subject and parameter, a usable time
(AVAL present, finite, not negative), a censoring code CNSR (0 = event; 1, 2, 3 … = censoring reasons),
the event date not before the origin. Records of other parameters, or of subjects outside an endpoint's
population or subset, are not analysed and not checked.

The cross-checks of AVAL against its dates, unit and descriptions are in `derivations.py`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialpress.data import adam
from trialpress.quality.common import structure_checks
from trialpress.quality.context import Ctx
from trialpress.quality.helpers import DateVar, detail, order_check
from trialpress.quality.rules import ERROR, WARNING, Check, ig, rule, structure

TTE = "§3.3.8"
KEYS = rule(
    "ADTTE.keys.unique", "ADTTE", "one record per {sid} and PARAMCD in ADTTE (analysed records)",
    "Remove duplicate parameter records.",
    structure("ADaM BDS structure: one record per subject and time-to-event parameter"), ERROR, "structure")
PARAMCD = rule(
    "ADTTE.PARAMCD.not_null", "ADTTE", "PARAMCD is present", "Fill in the parameter code of every record.",
    structure("ADaM BDS structure (PARAMCD required)"), WARNING, "structure")
CNSR_SET = rule(
    "ADTTE.CNSR.in_set", "ADTTE", "CNSR is 0 (event) or a positive integer (censored: 1, 2, 3 … by reason)",
    "Recode CNSR: 0 for an event, a positive integer (1, or a code per censoring reason) for a censored time.",
    ig(f"{TTE} (CNSR)"), ERROR, "structure")
CNSR_PRESENT = rule(
    "ADTTE.CNSR.not_null", "ADTTE", "CNSR is present", "Fill in CNSR (0 event, 1, 2, 3 … censored).",
    ig(f"{TTE} (CNSR required for time-to-event parameters)"), ERROR, "structure")
AVAL_PRESENT = rule(
    "ADTTE.AVAL.not_null", "ADTTE", "AVAL is present", "Fill in the analysis time.",
    ig(f"{TTE} (AVAL: time from the origin to the event or censoring)"), ERROR)
AVAL_NON_NEGATIVE = rule(
    "ADTTE.AVAL.non_negative", "ADTTE", "AVAL is zero or positive",
    "Times cannot be negative: check the start and event dates.",
    ig(f"{TTE} (AVAL: time from the origin to the event or censoring)"), ERROR)
AVAL_FINITE = rule(
    "ADTTE.AVAL.finite", "ADTTE", "AVAL is a finite number", "Replace infinite times by the real follow-up time.",
    ig(f"{TTE} (AVAL: time from the origin to the event or censoring)"), ERROR)
AFTER_ORIGIN = rule(
    "ADTTE.{date}.not_before_{origin}", "ADTTE",
    "the event or censoring date {date} is not before the origin {origin} (e.g. relapse after remission, death "
    "after transplant)", "Correct the dates (were they swapped?); the time AVAL must follow from them.",
    ig(f"{TTE} (STARTDT: time-to-event origin; ADT: date of event or censoring)"), ERROR)


def adtte_checks(ctx: Ctx) -> list[Check]:
    t, sid = ctx.data["ADTTE"], ctx.sid
    out = structure_checks(ctx, "ADTTE")
    if "PARAMCD" not in t.columns:
        return out
    dup = ctx.duplicated_keys(t, "PARAMCD") & ctx.analysed_records
    out.append(KEYS.derived(~dup, detail=detail(dup, PARAMCD=t["PARAMCD"]), sid=sid))
    out.append(PARAMCD.native("ExpectColumnValuesToNotBeNull", {"column": "PARAMCD"}, value_column="PARAMCD"))
    out += _values(ctx)
    origin, event = event_dates(ctx)
    if origin is not None and event is not None:
        out.append(order_check(AFTER_ORIGIN, [event], origin, True, where=ctx.analysed_records,
                               date=event.name, origin=origin.name))
    return out


def _values(ctx: Ctx) -> list[Check]:
    """AVAL and CNSR of the analysed records: present, finite, not negative; CNSR a non-negative integer."""
    t, rows = ctx.data["ADTTE"], ctx.analysed_records.to_numpy()
    out: list[Check] = []
    if "AVAL" in t.columns and pd.api.types.is_numeric_dtype(t["AVAL"]):
        aval = t["AVAL"].to_numpy(dtype=float, na_value=np.nan)
        missing, present = rows & np.isnan(aval), rows & ~np.isnan(aval)
        for r, bad in ((AVAL_PRESENT, missing), (AVAL_NON_NEGATIVE, present & (aval < 0)),
                       (AVAL_FINITE, present & ~np.isfinite(aval))):
            out.append(r.derived(pd.Series(~bad, index=t.index), value_column="AVAL"))
    if "CNSR" in t.columns and pd.api.types.is_numeric_dtype(t["CNSR"]):
        cnsr = t["CNSR"].to_numpy(dtype=float, na_value=np.nan)
        missing = rows & np.isnan(cnsr)
        with np.errstate(invalid="ignore"):
            legal = np.isfinite(cnsr) & (cnsr >= 0) & (cnsr == np.round(cnsr))
        bad = rows & ~np.isnan(cnsr) & ~legal
        out.append(CNSR_SET.derived(pd.Series(~bad, index=t.index), value_column="CNSR"))
        out.append(CNSR_PRESENT.derived(pd.Series(~missing, index=t.index), value_column="CNSR"))
    return out


def event_dates(ctx: Ctx) -> tuple[DateVar | None, DateVar | None]:
    """ADTTE's origin (STARTDT, or STARTDTM) and event/censoring date (ADT, or ADTM), at their precision."""
    origin = ctx.date("ADTTE", adam.TTE_ORIGIN, adam.TTE_ORIGIN_DTM)
    event = ctx.date("ADTTE", adam.TTE_DATE, adam.TTE_DATETIME)
    return origin, event

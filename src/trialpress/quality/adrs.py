"""ADRS rules for the parameters the plan analyses: one record per subject (error), and response categories
read from the data's own codelist (warning).

Records of any date are fine (screening assessments precede the first dose). A category is known when the
plan names it, when it is a term of the published response criteria or a no-assessment code
(`adam.RESPONSE_TERMS`, `adam.NO_ASSESSMENT`, e.g. admiralonco's MISSING), or when the study uses it
consistently (the data's own codelist). What is left — a rare value outside all of them, or a value that
differs from one of the plan's response values only in case or spacing — is reported: the analysis counts
such records as not responding, and the hint never suggests counting them as a response.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialpress.data import adam
from trialpress.quality.common import structure_checks
from trialpress.quality.context import Ctx
from trialpress.quality.helpers import detail, is_text, iso, per_value, shown_rows, small_codes
from trialpress.quality.rules import CT, ERROR, WARNING, Basis, Check, rule, structure

RARE_SHARE, RARE_COUNT = 0.005, 2   # a value this rare within its parameter is not part of the study's codelist

KEYS = rule(
    "ADRS.keys.unique", "ADRS", "one record per {sid} for each planned parameter ({params})",
    "Keep one record per subject for these parameters (e.g. the best response only).",
    structure("ADaM BDS structure: one record per subject for a parameter analysed as one response"), ERROR,
    "structure")
CATEGORY = rule(
    "ADRS.{var}.known_category", "ADRS",
    "{var} of the planned parameters ({params}) is a known response category: one the plan names, a response "
    "criteria term or no-assessment code, or one the study uses consistently",
    "Records with this value count as not responding. Check the value against the study's response codelist "
    "(Define-XML) and correct it in the data if it is miscoded; a value differing from one of the plan's "
    "response values only in case or spacing is not counted as that response.",
    Basis(CT, "CDISC CT ONCRSR (Oncology Response Assessment Result) and the plan's binary[].source.values"),
    WARNING, "structure")


def _params(ctx: Ctx) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for b in ctx.plan.binary:
        if b.source.dataset == "ADRS" and b.source.paramcd:
            out.setdefault(b.source.paramcd, set()).update(b.source.values)
    return out


def adrs_checks(ctx: Ctx) -> list[Check]:
    r, sid = ctx.data["ADRS"], ctx.sid
    out = structure_checks(ctx, "ADRS")
    params = _params(ctx)
    if "PARAMCD" not in r.columns or not params:
        return out
    planned = r["PARAMCD"].isin(params).fillna(False).astype(bool)
    dup = planned & r.duplicated([sid, "PARAMCD"], keep="first") & r[sid].notna()
    out.append(KEYS.derived(~dup, detail=detail(dup, PARAMCD=r["PARAMCD"]), sid=sid,
                            params=", ".join(sorted(params))))
    for var in sorted({b.source.variable for b in ctx.plan.binary if b.source.dataset == "ADRS"}):
        if is_text(r, var):
            out.append(_categories(ctx, var, params, planned.to_numpy()))
    return out


def _categories(ctx: Ctx, var: str, params: dict[str, set[str]], planned: np.ndarray) -> Check:
    r = ctx.data["ADRS"]
    values = r[var]
    plan_values = {v for vs in params.values() for v in vs}
    folded = {_fold(v): v for v in plan_values}
    standard = {_fold(v) for v in adam.RESPONSE_TERMS | adam.NO_ASSESSMENT}
    exact = per_value(values, lambda v: isinstance(v, str) and v in plan_values)
    variant = per_value(values, lambda v: isinstance(v, str) and v not in plan_values and _fold(v) in folded)
    known = per_value(values, lambda v: isinstance(v, str) and _fold(v) in standard)
    present = values.notna().to_numpy()
    param, _ = small_codes(r["PARAMCD"])
    code, size = small_codes(values)
    key = param * size + code
    use = planned & present
    per_param = np.bincount(param[use], minlength=int(param.max()) + 1)
    per_key = np.bincount(key[use], minlength=int(key.max()) + 1)
    rare = per_key[key] <= np.maximum(RARE_COUNT, RARE_SHARE * per_param[param])
    bad = pd.Series(use & ~exact & (variant | (~known & rare)), index=r.index)

    def shown(i: int) -> str:
        text = f"PARAMCD={iso(r['PARAMCD'].iat[i])}, {var}={iso(values.iat[i])}"
        near = folded.get(_fold(str(values.iat[i])))
        return text + (f" (differs from the plan's {near!r} only in case or spacing)" if near else "")

    return CATEGORY.derived(~bad, detail=shown_rows(bad, shown), var=var, params=", ".join(sorted(params)))


def _fold(text: str) -> str:
    return " ".join(str(text).split()).upper()

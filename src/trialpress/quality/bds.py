"""BDS rules for the datasets of continuous endpoints (ADQS, ADEFF, ADLB, ADVS …), on the records each endpoint
analyses: one analysis record per subject, parameter and visit (error: the model needs one value per cell),
CHG equal to AVAL − BASE where all three exist (error: a wrong change would be analysed), BASE constant within
subject and parameter (error: the baseline covariate must be one value), one AVALU among the records (error: a
mean of values in two units is no number at all)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialpress.plan import Continuous
from trialpress.quality.common import structure_checks
from trialpress.quality.context import Ctx
from trialpress.quality.helpers import detail
from trialpress.quality.rules import ERROR, IG, Basis, Check, rule, structure

ONE_RECORD = rule(
    "{ds}.{paramcd}.one_record_per_visit", "{ds}",
    "one analysis record per {sid}, PARAMCD {paramcd} and {visit} among the records the plan selects",
    "Select one record per subject and visit (an analysis flag such as ANL01FL, a DTYPE, or rows.timepoint for "
    "several time points per visit).",
    structure("ADaM BDS: one analysis value per subject, parameter and analysis visit"), ERROR, "structure")
CHANGE = rule(
    "{ds}.{paramcd}.CHG_is_AVAL_minus_BASE", "{ds}",
    "CHG equals AVAL - BASE where all three exist ({paramcd})",
    "Derive CHG as AVAL - BASE (ADaM IG), or correct AVAL or BASE.",
    Basis(IG, "ADaM IG, BDS (CHG = AVAL - BASE)"), ERROR)
BASE_CONSTANT = rule(
    "{ds}.{paramcd}.BASE_constant", "{ds}",
    "BASE is one value within each {sid} and PARAMCD {paramcd}",
    "BASE is the subject's baseline value of the parameter: the same on every record (ADaM IG).",
    Basis(IG, "ADaM IG, BDS (BASE: the baseline value of the parameter)"), ERROR)

ONE_UNIT = rule(
    "{ds}.{paramcd}.one_AVALU", "{ds}",
    "AVALU is one unit among the records the plan selects (PARAMCD {paramcd}: {units})",
    "Convert AVAL to one unit (the records in the other units are listed), or select the records of one unit "
    "(a parameter per unit, as ADaM's PARAM is).",
    Basis(IG, "ADaM IG, BDS (AVALU: the unit of AVAL; PARAM describes one analysis parameter)"), ERROR)


def _selected(ctx: Ctx, ep: Continuous) -> pd.Series:
    """The endpoint's analysis records (parameter, flag, DTYPE, time point), as the analysis selects them."""
    d = ctx.data[ep.dataset]
    keep = d["PARAMCD"].eq(ep.paramcd).fillna(False)
    r = ep.rows
    if r.flag and r.flag in d.columns:
        keep &= d[r.flag].isin(["Y"])
    if r.dtype and "DTYPE" in d.columns:
        keep &= d["DTYPE"].eq(r.dtype).fillna(False)
    elif "DTYPE" in d.columns:
        keep &= d["DTYPE"].isna()
    if r.timepoint and r.timepoint in d.columns:
        keep &= d[r.timepoint].eq(r.timepoint_value).fillna(False)
    return keep.astype(bool)


def bds_checks(ctx: Ctx, dataset: str) -> list[Check]:
    out = structure_checks(ctx, dataset)
    d, sid = ctx.data[dataset], ctx.sid
    for ep in [c for c in ctx.plan.continuous if c.dataset == dataset]:
        if "PARAMCD" not in d.columns or ep.rows.visit not in d.columns:
            continue
        sel = _selected(ctx, ep)
        dup = sel & d[sid].notna() & d.loc[:, [sid, "PARAMCD", ep.rows.visit]].where(sel).duplicated(keep=False) \
            & sel
        out.append(ONE_RECORD.derived(~dup, detail=detail(dup, **{ep.rows.visit: d[ep.rows.visit]}), ds=dataset,
                                      sid=sid, paramcd=ep.paramcd, visit=ep.rows.visit))
        if {"CHG", "AVAL", ep.baseline} <= set(d.columns):
            aval, base, chg = (pd.to_numeric(d[c], errors="coerce") for c in ("AVAL", ep.baseline, "CHG"))
            all3 = sel & aval.notna() & base.notna() & chg.notna()
            bad = all3 & ((chg - (aval - base)).abs() > 1e-6 * np.maximum(1.0, (aval - base).abs()))
            out.append(CHANGE.derived(~bad, detail=detail(bad, AVAL=aval, BASE=base, CHG=chg), ds=dataset,
                                      paramcd=ep.paramcd))
        if ep.baseline in d.columns:
            base = pd.to_numeric(d[ep.baseline], errors="coerce")
            rows = sel & base.notna()
            g = base.where(rows).groupby(d[sid].where(rows))
            spread = g.transform("max") - g.transform("min")
            bad = rows & (spread.fillna(0) > 1e-9)
            out.append(BASE_CONSTANT.derived(~bad, detail=detail(bad, BASE=base), ds=dataset, sid=sid,
                                             paramcd=ep.paramcd))
        if "AVALU" in d.columns:
            out.append(_one_unit(d, sel, dataset, ep))
    return out


def _one_unit(d: pd.DataFrame, sel: pd.Series, dataset: str, ep: Continuous) -> Check:
    """The selected records whose AVALU is not the most common one, when they carry two or more (blank AVALU is
    no unit, not another one)."""
    unit = d["AVALU"].astype("string").str.strip().where(sel)
    unit = unit.where(unit != "")
    counts = unit.value_counts().sort_index().sort_values(ascending=False, kind="stable")   # ties: by name
    bad = (unit.ne(counts.index[0]) & unit.notna()).fillna(False).astype(bool) if len(counts) > 1 else \
        pd.Series(False, index=d.index)
    shown = detail(bad, **{ep.rows.visit: d[ep.rows.visit]}, AVALU=d["AVALU"])
    return ONE_UNIT.derived(~bad, detail=shown, ds=dataset, paramcd=ep.paramcd,
                            units=", ".join(map(str, counts.index)) or "none recorded")

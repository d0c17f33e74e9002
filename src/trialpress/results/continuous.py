"""Continuous endpoints of the plan (a BDS parameter over visits) → ARD rows.

Per group: the analyzed set; descriptive statistics of the baseline, of the value and of the change from
baseline at each visit (n, mean with its t-based CI, SD, median, Q1, Q3 by SAS QNTLDEF=5, min, max); then
the model the plan names — ANCOVA at the primary visit or an MMRM over the visits — with LS means per group
(and visit), differences vs the reference with SE, df, CI and P, the dose-response test when the plan gives
doses, the residual SD (ANCOVA) or the covariance structure used (MMRM). Decisions: at the primary visit,
whether the difference's CI excludes 0 and which group it favors by the plan's better direction.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from trialpress.analysis import ancova as anc
from trialpress.analysis import distributions as dist
from trialpress.analysis import mmrm as mm
from trialpress.analysis.continuous import describe
from trialpress.analysis.populations import analysed, population, rows_in_population
from trialpress.data.loading import StudyData
from trialpress.data.requirements_continuous import is_record_covariate
from trialpress.plan import Continuous, Plan
from trialpress.results import keys
from trialpress.results.ard import ARDBuilder, Key, ci_level, row



def desc_method(conf_level: float) -> str:
    return f"n, mean (t-based {ci_level(conf_level)} CI), SD (n - 1), median, Q1-Q3 (SAS QNTLDEF=5), min-max"


Add = Callable[..., None]


@dataclass(frozen=True)
class _Records:
    """The analyzed records of one endpoint: one per subject and visit, with the subject's group and ADSL
    covariates, post-baseline visits in order."""

    frame: pd.DataFrame          # columns: subject, group, visit, order, value, AVAL, CHG, base, covariates
    visits: list[str]            # post-baseline visits analyzed, in order
    baseline: pd.DataFrame       # one row per analyzed subject: group, base
    units: list[str]             # the distinct non-blank AVALU of the parameter's selected records


def collect_continuous(ep: Continuous, data: StudyData, plan: Plan, ard: ARDBuilder) -> None:
    gvar = plan.group_variable(ep.population)

    def add(key: Key, value: float = math.nan, **kw: object) -> None:
        ard.add(row(key, population=ep.population, value=value, **kw))  # type: ignore[arg-type]

    subjects = analysed(ep, data, plan)
    rec = _records(ep, data, plan, subjects, gvar)
    # the plan's unit, else the data's own (AVALU, when the parameter's records carry one); a percent change is in %
    unit = ep.unit or (rec.units[0] if len(rec.units) == 1 else "")
    ep = ep.model_copy(update={"unit": unit})
    _analysis_set(ep, data, plan, rec, gvar, add)
    _descriptives(ep, plan, rec, add)
    if ep.model == "ancova":
        _ancova(ep, plan, rec, add)
    elif ep.model == "mmrm":
        _mmrm(ep, plan, rec, add)


def _records(ep: Continuous, data: StudyData, plan: Plan, subjects: pd.DataFrame, gvar: str) -> _Records:
    sid = plan.data.subject_id
    bds = data[ep.dataset]
    keep = (bds["PARAMCD"] == ep.paramcd).to_numpy()
    r = ep.rows
    if r.flag:
        keep &= bds[r.flag].isin(["Y"]).to_numpy()
    if r.dtype:
        keep &= (bds["DTYPE"] == r.dtype).to_numpy()
    elif "DTYPE" in bds.columns:
        keep &= bds["DTYPE"].isna().to_numpy()
    if r.timepoint:
        keep &= (bds[r.timepoint] == r.timepoint_value).to_numpy()
    where = rows_in_population(subjects, data["ADSL"], data.rows_in_adsl(ep.dataset, sid))
    keep &= where >= 0
    sel = bds.loc[keep]
    at = where[keep]
    adsl_cols = [c for c in ep.covariates if not is_record_covariate(ep, c)] + list(ep.factors)
    frame = pd.DataFrame({
        "subject": sel[sid].to_numpy(), "group": subjects[gvar].to_numpy()[at],
        "visit": sel[r.visit].astype(object).to_numpy(), "order": pd.to_numeric(sel[r.visit_order]).to_numpy(),
        "value": pd.to_numeric(sel[ep.value]).to_numpy(float), "AVAL": pd.to_numeric(sel["AVAL"]).to_numpy(float),
        "base": pd.to_numeric(sel[ep.baseline]).to_numpy(float),
        **{c: pd.to_numeric(sel[c]).to_numpy(float) for c in ep.covariates if is_record_covariate(ep, c)},
        **{c: subjects[c].to_numpy()[at] for c in adsl_cols},
    })
    if "CHG" in sel.columns:
        frame["CHG"] = pd.to_numeric(sel["CHG"]).to_numpy(float)
    post = frame["order"] > 0
    if "ABLFL" in sel.columns:
        post &= ~sel["ABLFL"].isin(["Y"]).to_numpy()
    order = frame.loc[post].groupby("visit", sort=False)["order"].min().sort_values()
    visits = list(ep.visits) if ep.visits is not None else [str(v) for v in order.index]
    baseline = frame.dropna(subset=["base"]).drop_duplicates("subject")[["subject", "group", "base"]]
    # blank AVALU (XPT and CSV keep it as '') is no unit
    units = sorted({str(u).strip() for u in sel["AVALU"].dropna()} - {""}) if "AVALU" in sel.columns else []
    return _Records(frame.loc[post & frame["visit"].isin(visits)].reset_index(drop=True), visits, baseline, units)


def _analysis_set(ep: Continuous, data: StudyData, plan: Plan, rec: _Records, gvar: str, add: Add) -> None:
    pop = population(data["ADSL"], plan, ep.population)
    label = ep.subset.label if ep.subset else plan.populations[ep.population].label
    add(keys.analysis_set(ep.id, "label"), text=label, method=f"plan: population {ep.population}")
    with_values = rec.frame.dropna(subset=["value"]).drop_duplicates("subject")
    for g in ["", *plan.group_values]:
        in_pop = int((pop[gvar] == g).sum()) if g else len(pop)
        n = int((with_values["group"] == g).sum()) if g else len(with_values)
        add(keys.analysis_set(ep.id, "n", g), n, n=in_pop, method=f"Subjects with a post-baseline {ep.value} ({label})")
        add(keys.analysis_set(ep.id, "excluded", g), in_pop - n, n=in_pop,
            method=f"Subjects of the population without a post-baseline {ep.value} of {ep.paramcd}")


def _describe(add: Add, ep: Continuous, g: str, parameter: str, visit: str, values: np.ndarray,
              conf_level: float) -> None:
    d = describe(values)
    half = dist.t_two_sided(conf_level, d.n - 1) * d.sd / math.sqrt(d.n) if d.n > 1 else math.nan
    for stat in ("n", "mean", "sd", "median", "q1", "q3", "min", "max"):
        value = float(getattr(d, stat)) if d.n else (0.0 if stat == "n" else math.nan)
        extra = {"lower": d.mean - half, "upper": d.mean + half} if stat == "mean" and d.n > 1 else {}
        add(keys.continuous(ep.id, "desc", stat, g, parameter=parameter, visit=visit), value, n=d.n,
            method=desc_method(conf_level), unit="" if stat == "n" else _unit(ep, parameter), **extra)


def _unit(ep: Continuous, parameter: str) -> str:
    """The unit of a value of `parameter` (BASE, AVAL, CHG or PCHG): the endpoint's, a percent change's %."""
    return "%" if parameter == "PCHG" else (ep.unit or "")


def _descriptives(ep: Continuous, plan: Plan, rec: _Records, add: Add) -> None:
    conf = 1 - plan.conventions.alpha
    for g in ["", *plan.group_values]:
        base = rec.baseline if not g else rec.baseline[rec.baseline["group"] == g]
        _describe(add, ep, g, "BASE", "", base["base"].to_numpy(), conf)
        part = rec.frame if not g else rec.frame[rec.frame["group"] == g]
        for v in rec.visits:
            at = part[part["visit"] == v]
            _describe(add, ep, g, "AVAL", v, at["AVAL"].to_numpy(), conf)
            if ep.value != "AVAL":
                _describe(add, ep, g, ep.value, v, at["value"].to_numpy(), conf)


def _model_rows(add: Add, ep: Continuous, plan: Plan, analysis: str, method: str, lsmeans: tuple, diffs: tuple,
                visit_of: Callable[[object], str], n: int, note: str) -> None:
    ref = plan.groups.reference
    for m in lsmeans:
        v = visit_of(m)
        add(keys.continuous(ep.id, analysis, "lsmean", str(m.group), visit=v), m.estimate, lower=m.lower,
            upper=m.upper, n=n, method=method, note=m.note or note, unit=_unit(ep, ep.value))
        add(keys.continuous(ep.id, analysis, "lsmean_se", str(m.group), visit=v), m.se, n=n, method=method)
    for d in diffs:
        v = visit_of(d)
        common = {"reference": ref, "n": n, "method": method, "note": d.note or note}
        add(keys.continuous(ep.id, analysis, "difference", str(d.group), visit=v), d.estimate, lower=d.lower,
            upper=d.upper, unit=_unit(ep, ep.value), **common)
        for stat, value in (("difference_se", d.se), ("df", d.df), ("t", d.t), ("p", d.p)):
            add(keys.continuous(ep.id, analysis, stat, str(d.group), visit=v), value, **common)


def _model_frame(ep: Continuous, rec: _Records) -> tuple[pd.DataFrame, list[str], list[str]]:
    covs = [("base" if c == ep.baseline else c) for c in ep.covariates]
    return rec.frame, covs, list(ep.factors)


def _ancova(ep: Continuous, plan: Plan, rec: _Records, add: Add) -> None:
    frame, covs, factors = _model_frame(ep, rec)
    at = frame[frame["visit"] == ep.primary_visit]
    fit = anc.ancova(at, "value", "group", covariates=covs, factors=factors, reference=plan.groups.reference,
                     groups=plan.group_values, doses=ep.doses, conf_level=1 - plan.conventions.alpha)
    weights = "observed margins (SAS OM)" if ep.lsmeans == "observed" else "equal weights"
    method = (f"ANCOVA (OLS) of {ep.value} at {ep.primary_visit} on group"
              + (f", {', '.join(ep.covariates)}" if ep.covariates else "")
              + (f", {', '.join(ep.factors)}" if ep.factors else "") + f"; LS means with {weights}; t tests, "
              "residual df")
    lsm = fit.lsmeans_observed if ep.lsmeans == "observed" else fit.lsmeans_equal
    _model_rows(add, ep, plan, "ancova", method, lsm, fit.differences, lambda _m: ep.primary_visit, fit.n_used,
                fit.note)
    add(keys.continuous(ep.id, "ancova", "residual_sd", visit=ep.primary_visit), fit.residual_sd, n=fit.n_used,
        method=method, unit=_unit(ep, ep.value))
    add(keys.continuous(ep.id, "ancova", "excluded", visit=ep.primary_visit), fit.n_dropped, method=method,
        note="subjects with a missing value, covariate or factor at the visit")
    if fit.dose_response is not None:
        dr = fit.dose_response
        m = "Linear dose-response contrast of the LS means (slope per unit of dose), t test"
        add(keys.continuous(ep.id, "ancova", "dose_slope", visit=ep.primary_visit), dr.estimate, lower=dr.lower,
            upper=dr.upper, n=fit.n_used, method=m, note=dr.note)
        add(keys.continuous(ep.id, "ancova", "dose_p", visit=ep.primary_visit), dr.p, n=fit.n_used, method=m)


def _mmrm(ep: Continuous, plan: Plan, rec: _Records, add: Add) -> None:
    frame, covs, factors = _model_frame(ep, rec)
    by_visit = [("base" if c == ep.baseline else c) for c in ep.covariate_by_visit]
    fit = mm.mmrm(frame, "value", "group", "visit", "subject", covariates=covs, factors=factors,
                  covariate_by_visit=by_visit, covariance=ep.structures, df_method=ep.df_method,
                  reference=plan.groups.reference, groups=plan.group_values, visits=rec.visits,
                  conf_level=1 - plan.conventions.alpha)
    weights = "observed margins (SAS OM)" if ep.lsmeans == "observed" else "equal weights"
    method = (f"MMRM (REML) of {ep.value}: group, visit, group-by-visit"
              + (f", {', '.join(ep.covariates)}" if ep.covariates else "")
              + (f", {', '.join(ep.factors)}" if ep.factors else "")
              + (f", {', '.join(ep.covariate_by_visit)}-by-visit" if ep.covariate_by_visit else "")
              + f"; {fit.covariance or 'no'} covariance; {ep.df_method} df; LS means with {weights}")
    lsm = fit.lsmeans_observed if ep.lsmeans == "observed" else fit.lsmeans_equal
    _model_rows(add, ep, plan, "mmrm", method, lsm, fit.differences, lambda m: str(m.visit), fit.n_subjects,
                fit.note)
    tried = "; ".join(f"{s}: {why}" for s, why in fit.attempts)
    add(keys.continuous(ep.id, "mmrm", "covariance"), text=fit.covariance or "none", n=fit.n_subjects,
        method=method, note=f"tried in order: {tried}" if tried else "")
    add(keys.continuous(ep.id, "mmrm", "observations"), fit.n_obs, n=fit.n_subjects, method=method)

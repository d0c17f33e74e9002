"""Time-to-event endpoints of the plan → ARD rows and KM curves.

Per group of the analyzed set: N, events, censored, median and quartiles (Brookmeyer–Crowley log-log CI),
landmark rates with CI and numbers at risk, the KMunicate risk table at the axis ticks, median follow-up
(reverse KM), and the step function itself (linked curve table). Comparisons, each group vs the reference:
Cox HR from one model with every group indicator (Wald CI and P; n = subjects in the model), log-rank
chi-square, df and P (each pair, and all groups together); stratified and adjusted variants when the plan
asks; subgroups with the group-by-subgroup interaction test.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialpress.analysis import distributions as dist
from trialpress.analysis import survival as sv
from trialpress.analysis.covariates import design
from trialpress.analysis.populations import analysed, population, rows_in_population, tte_frame
from trialpress.data.loading import StudyData
from trialpress.plan import Plan, TimeToEvent
from trialpress.results import keys
from trialpress.results.ard import ARDBuilder, Key, ci_level, curve_from_arrays, row

FOLLOWUP_METHOD = "Reverse Kaplan-Meier (censoring as the event)"
LOGRANK_METHOD = "Log-rank test"

Add = Callable[..., None]


def km_method(conf: float) -> str:
    return f"Kaplan-Meier; Brookmeyer-Crowley {ci_level(conf)} CI, log-log transform, Greenwood variance"


def rate_method(conf: float) -> str:
    return f"Kaplan-Meier; pointwise {ci_level(conf)} CI, log-log transform, Greenwood variance"


def cox_method(ties: str, conf: float, extra: str = "") -> str:
    return f"Cox proportional hazards, {ties.capitalize()} ties; Wald {ci_level(conf)} CI and P{extra}"


def nice_step(t_max: float) -> float:
    """A readable tick spacing giving about 5–10 ticks up to `t_max`."""
    if t_max <= 0 or not math.isfinite(t_max):
        return 1.0
    raw = t_max / 8
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 3, 5, 6, 10):
        if m * mag >= raw:
            return float(m * mag)
    return float(10 * mag)


MAX_TICKS = 60


def ticks_for(ep: TimeToEvent, t_max: float) -> np.ndarray:
    """Axis ticks covering the longest follow-up; the plan's spacing unless it would give an unreadable axis
    (more than MAX_TICKS ticks), in which case a readable spacing is chosen."""
    step = ep.tick_every or nice_step(t_max)
    if t_max / step > MAX_TICKS:
        step = nice_step(t_max)
    n = int(math.ceil(t_max / step - 1e-9)) + 1
    return np.arange(n) * step


@dataclass(frozen=True)
class _Endpoint:
    """What every part of one endpoint's analysis needs."""

    ep: TimeToEvent
    plan: Plan
    frame: pd.DataFrame      # analyzed subjects with a record: ADSL columns, _time, _event
    gvar: str
    conf: float
    add: Add

    @property
    def unit(self) -> str:
        return self.ep.shown_unit

    @property
    def km_method(self) -> str:
        return km_method(self.conf)

    @property
    def rate_method(self) -> str:
        return rate_method(self.conf)


def collect_tte(ep: TimeToEvent, data: StudyData, plan: Plan, ard: ARDBuilder) -> None:
    sid = plan.data.subject_id
    gvar = plan.group_variable(ep.population)
    subjects = analysed(ep, data, plan)
    rows = rows_in_population(subjects, data["ADSL"], data.rows_in_adsl("ADTTE", sid))
    frame = tte_frame(subjects, data["ADTTE"], ep.paramcd, sid, ep.unit_factor, rows)

    def add(key: Key, value: float = math.nan, **kw: object) -> None:
        ard.add(row(key, population=ep.population, value=value, **kw))  # type: ignore[arg-type]

    e = _Endpoint(ep, plan, frame, gvar, 1 - plan.conventions.alpha, add)
    _analysis_set(e, data)
    t_max = float(frame["_time"].max()) if len(frame) else 0.0
    ticks = ticks_for(ep, t_max)
    curves: dict[str, sv.KMCurve] = {}
    for g in plan.group_values:
        sub = frame[frame[gvar] == g]
        curves[g] = sv.kaplan_meier(sub["_time"].to_numpy(), sub["_event"].to_numpy(), e.conf)
        _km_rows(e, curves[g], g, ticks)
        _curve(e, ard, curves[g], g)
    overall = sv.kaplan_meier(frame["_time"].to_numpy(), frame["_event"].to_numpy(), e.conf)
    add(keys.km(ep.id, "n"), overall.n, method=e.km_method)
    add(keys.km(ep.id, "events"), overall.events, method=e.km_method, n=overall.n)
    _followup(e)
    if plan.comparators:   # one group: described, nothing compared (no Cox model, no log-rank test)
        _comparisons(e, curves)
    if ep.subgroups:
        for sg in plan.subgroups:
            _subgroup_rows(e, sg.variable, [lv.value for lv in sg.levels] if sg.levels else None)
    if ep.by_subgroup_figure:
        _subgroup_panels(e, ard, ep.by_subgroup_figure, ticks)


def _analysis_set(e: _Endpoint, data: StudyData) -> None:
    """Who is analyzed, per group: the analyzed set's label, its N (subjects with a record) and how many
    subjects of the population are left out (outside the subset, or without a record)."""
    ep, plan = e.ep, e.plan
    pop = population(data["ADSL"], plan, ep.population)
    label = ep.subset.label if ep.subset else plan.populations[ep.population].label
    e.add(keys.analysis_set(ep.id, "label"), text=label, method="plan: "
          + (f"subset of {ep.population}" if ep.subset else f"population {ep.population}"))
    for g in ["", *plan.group_values]:
        in_pop = int((pop[e.gvar] == g).sum()) if g else len(pop)
        n = int((e.frame[e.gvar] == g).sum()) if g else len(e.frame)
        e.add(keys.analysis_set(ep.id, "n", g), n, n=in_pop, method=f"Subjects analyzed ({label})")
        e.add(keys.analysis_set(ep.id, "excluded", g), in_pop - n, n=in_pop,
              method=f"Subjects of the population not analyzed for {ep.id}",
              note="outside the analyzed set or without a record of the parameter")


def _curve(e: _Endpoint, ard: ARDBuilder, c: sv.KMCurve, g: str, subgroup: str = "", level: str = "") -> None:
    key = keys.curve(e.ep.id, g, subgroup=subgroup, level=level)
    ard.add_curve(curve_from_arrays(key.id, endpoint=e.ep.id, population=e.ep.population, group=g, unit=e.unit,
                                    subgroup=subgroup, subgroup_level=level, n=c.n,
                                    arrays=(c.time, c.n_risk, c.n_event, c.n_censor, c.surv, c.lower, c.upper)))
    e.add(key, text=key.id, n=c.n, unit=e.unit, method=e.km_method)
    e.add(Key(key.endpoint, "curve", "points", group=g, subgroup=subgroup, subgroup_level=level),
          len(c.time), n=c.n, method=e.km_method)


def _km_rows(e: _Endpoint, curve: sv.KMCurve, g: str, ticks: np.ndarray) -> None:
    ep, add, unit = e.ep, e.add, e.unit
    add(keys.km(ep.id, "n", g), curve.n, method=e.km_method)
    add(keys.km(ep.id, "events", g), curve.events, method=e.km_method, n=curve.n)
    add(keys.km(ep.id, "censored", g), curve.n - curve.events, method=e.km_method, n=curve.n)
    for prob, name in ((0.5, "median"), (0.25, "q25"), (0.75, "q75")):
        est = sv.km_quantile(curve, prob)
        add(keys.km(ep.id, name, g), est.value, lower=est.lower, upper=est.upper, method=e.km_method, n=curve.n,
            note=est.note, unit=unit)
    for t in ep.landmarks:
        est, n_risk = sv.km_at(curve, t)
        note = est.note
        if n_risk == 0 and curve.n and not est.value == 0:
            # past the group's last follow-up the curve is not observed: no rate (R's extend = TRUE would carry
            # the last estimate forward); a curve already at 0 stays 0 (every subject had the event)
            est, note = sv.Estimate(math.nan), "no subjects followed this long"
        add(keys.km(ep.id, "rate", g, at=t), est.value, lower=est.lower, upper=est.upper, method=e.rate_method,
            n=curve.n, note=note)
        add(keys.km(ep.id, "at_risk", g, at=t), n_risk, method=e.rate_method, n=curve.n)
    _risk_rows(e, curve, g, ticks)


def _risk_rows(e: _Endpoint, curve: sv.KMCurve, g: str, ticks: np.ndarray, subgroup: str = "",
               level: str = "") -> None:
    """The KMunicate table under a KM figure: at risk, cumulative events and censored at each tick."""
    table = sv.risk_table(curve, ticks)
    for t, at_risk, events, censored in table.itertuples(index=False):
        for stat, value in (("at_risk", at_risk), ("events", events), ("censored", censored)):
            e.add(keys.risk(e.ep.id, stat, g, t, subgroup=subgroup, level=level), value, method=e.km_method,
                  n=curve.n)


def _followup(e: _Endpoint) -> None:
    for g in ["", *e.plan.group_values]:
        part = e.frame if not g else e.frame[e.frame[e.gvar] == g]
        fu = sv.km_quantile(sv.kaplan_meier(part["_time"].to_numpy(), 1 - part["_event"].to_numpy(), e.conf), 0.5)
        e.add(keys.followup(e.ep.id, g), fu.value, lower=fu.lower, upper=fu.upper, method=FOLLOWUP_METHOD,
              n=len(part), note=fu.note, unit=e.unit)


def _group_dummies(frame: pd.DataFrame, plan: Plan, gvar: str) -> tuple[pd.DataFrame, list[str]]:
    out = frame.copy(deep=False)   # new columns only: the caller's frame is not touched
    cols = []
    for c in plan.comparators:
        col = f"_g_{len(cols)}"
        out[col] = (out[gvar] == c).astype(float)
        cols.append(col)
    return out, cols


def _cox_rows(e: _Endpoint, analysis: str, fit: sv.CoxResult, cols: list[str], method: str, note: str = "") -> None:
    ref = e.plan.groups.reference
    for c, col in zip(e.plan.comparators, cols):
        term = fit.terms[col]
        why = "; ".join(x for x in (term.hr.note, note) if x)
        common = {"reference": ref, "method": method, "n": fit.n, "note": why}
        e.add(keys.model(e.ep.id, analysis, "hr", c), term.hr.value, lower=term.hr.lower, upper=term.hr.upper,
              **common)
        e.add(keys.model(e.ep.id, analysis, "p", c), term.p, **common)
    e.add(keys.model(e.ep.id, analysis, "events"), fit.events, n=fit.n, method=method)


def _logrank_rows(e: _Endpoint, analysis: str, data: pd.DataFrame, method: str, strata: str | None = None) -> None:
    """Each pair (reference vs group) and, with more than two groups, all groups together."""
    ref, gvar = e.plan.groups.reference, e.gvar
    pairs = [(c, data[data[gvar].isin([ref, c])]) for c in e.plan.comparators]
    if len(e.plan.comparators) > 1:
        pairs.append(("", data))
    for c, part in pairs:
        lr = sv.logrank(part["_time"].to_numpy(), part["_event"].to_numpy(), part[gvar].to_numpy(),
                        strata=None if strata is None else part[strata].to_numpy())
        where = method if c else f"{method} (all groups)"
        for stat, value in (("chisq", lr.chisq), ("df", float(lr.df)), ("p", lr.p)):
            e.add(keys.test(e.ep.id, analysis, stat, c), value, reference=ref if c else "", method=where,
                  n=len(part), note=lr.note)


def _comparisons(e: _Endpoint, curves: dict[str, sv.KMCurve]) -> None:
    ep, plan = e.ep, e.plan
    ties = plan.conventions.ties
    data, cols = _group_dummies(e.frame, plan, e.gvar)
    ne = _not_estimable(curves, plan, cols)
    fit = sv.cox(data, "_time", "_event", cols, ties=ties, conf_level=e.conf, not_estimable=ne)
    _cox_rows(e, "cox", fit, cols, cox_method(ties, e.conf))
    _logrank_rows(e, "logrank", data, LOGRANK_METHOD)
    if ep.stratify_by:
        s = ep.stratify_by
        sdata = data[data[s].notna()]
        dropped = len(data) - len(sdata)
        note = f"{dropped} subject(s) with missing {s} excluded" if dropped else ""
        fit_s = sv.cox(sdata, "_time", "_event", cols, strata=[s], ties=ties, conf_level=e.conf, not_estimable=ne)
        _cox_rows(e, "cox_strat", fit_s, cols, cox_method(ties, e.conf, f", stratified by {s}"), note)
        _logrank_rows(e, "logrank_strat", sdata, f"{LOGRANK_METHOD}, stratified by {s}", strata=s)
    if ep.adjust_for:
        d = design(data, ep.adjust_for)
        terms = d.names
        adj = pd.concat([data.loc[d.frame.index, ["_time", "_event", *cols]], d.frame], axis=1)
        fit_a = sv.cox(adj, "_time", "_event", [*cols, *terms], ties=ties, conf_level=e.conf, not_estimable=ne)
        dropped = "; ".join(f"{t} not estimable: {why}" for t, why in fit_a.not_estimable.items()
                            if t in terms)
        note = "; ".join(x for x in (d.note, dropped) if x)
        m = cox_method(ties, e.conf, f", adjusted for {', '.join(d.adjusted_for) or 'no covariate'}")
        _cox_rows(e, "cox_adj", fit_a, cols, m, note)
        for t in terms:
            term = fit_a.terms[t]
            e.add(keys.model(ep.id, "cox_adj_term", "hr", term=t), term.hr.value, lower=term.hr.lower,
                  upper=term.hr.upper, method=m, n=fit_a.n, note=term.hr.note)
            e.add(keys.model(ep.id, "cox_adj_term", "p", term=t), term.p, method=m, n=fit_a.n, note=term.hr.note)


def _not_estimable(curves: dict[str, sv.KMCurve], plan: Plan, cols: list[str]) -> dict[str, str]:
    """Comparisons whose HR cannot be estimated: a group with no subjects or no events."""
    out: dict[str, str] = {}
    ref = plan.groups.reference
    for c, col in zip(plan.comparators, cols):
        for g in (ref, c):
            if curves[g].n == 0:
                out[col] = f"no subjects in group {g}"
            elif curves[g].events == 0:
                out.setdefault(col, f"no events in group {g}")
    return out


def _levels(frame: pd.DataFrame, var: str, plan: Plan) -> list[str]:
    for sg in plan.subgroups:
        if sg.variable == var and sg.levels:
            return [lv.value for lv in sg.levels]
    return sorted(str(v) for v in frame[var].dropna().unique())


def _subgroup_rows(e: _Endpoint, var: str, levels: list[str] | None) -> None:
    ep, plan, gvar = e.ep, e.plan, e.gvar
    ref, ties = plan.groups.reference, plan.conventions.ties
    levels = levels or _levels(e.frame, var, plan)
    for level in levels:
        sub = e.frame[e.frame[var] == level]
        curves = {g: sv.kaplan_meier(sub.loc[sub[gvar] == g, "_time"].to_numpy(),
                                     sub.loc[sub[gvar] == g, "_event"].to_numpy(), e.conf) for g in plan.group_values}
        for g, c in curves.items():
            e.add(keys.subgroup(ep.id, "n", g, var, level), c.n, method=e.km_method)
            e.add(keys.subgroup(ep.id, "events", g, var, level), c.events, method=e.km_method, n=c.n)
            m = sv.km_quantile(c, 0.5)
            e.add(keys.subgroup(ep.id, "median", g, var, level), m.value, lower=m.lower, upper=m.upper,
                  method=e.km_method, n=c.n, note=m.note, unit=e.unit)
        if not plan.comparators:
            continue
        data, cols = _group_dummies(sub, plan, gvar)
        fit = sv.cox(data, "_time", "_event", cols, ties=ties, conf_level=e.conf,
                     not_estimable=_not_estimable(curves, plan, cols))
        for c, col in zip(plan.comparators, cols):
            term = fit.terms[col]
            e.add(keys.subgroup(ep.id, "hr", c, var, level), term.hr.value, lower=term.hr.lower,
                  upper=term.hr.upper, reference=ref, method=cox_method(ties, e.conf), n=fit.n, note=term.hr.note)
    if not plan.comparators:   # one group: the medians by level, no hazard ratio and no interaction
        return
    data = e.frame[e.frame[var].isin(levels)]
    chisq, df, p, note = _interaction(data, plan, gvar, var, levels, ties)
    method = f"Cox model with group-by-{var} interaction; Wald test of the interaction term(s)"
    for stat, value in (("chisq", chisq), ("df", df), ("p", p)):
        e.add(keys.interaction(ep.id, var, stat), value, method=method, n=len(data), note=note)


def _subgroup_panels(e: _Endpoint, ard: ARDBuilder, var: str, ticks: np.ndarray) -> None:
    """KM by group within each level of a subgroup variable (a figure with one panel per level)."""
    ep, plan, gvar = e.ep, e.plan, e.gvar
    listed = ep.subgroups and var in [s.variable for s in plan.subgroups]
    for level in _levels(e.frame, var, plan):
        sub = e.frame[e.frame[var] == level]
        for g in plan.group_values:
            part = sub[sub[gvar] == g]
            c = sv.kaplan_meier(part["_time"].to_numpy(), part["_event"].to_numpy(), e.conf)
            _curve(e, ard, c, g, var, level)
            if not listed:
                m = sv.km_quantile(c, 0.5)
                e.add(keys.km(ep.id, "median", g, subgroup=var, level=level), m.value, lower=m.lower,
                      upper=m.upper, method=e.km_method, n=c.n, note=m.note, unit=e.unit)
            _risk_rows(e, c, g, ticks, subgroup=var, level=level)


def _interaction(data: pd.DataFrame, plan: Plan, gvar: str, var: str, levels: list[str], ties: str
                 ) -> tuple[float, float, float, str]:
    d, gcols = _group_dummies(data, plan, gvar)
    lcols, icols = [], []
    for i, lv in enumerate(levels[1:]):
        col = f"_l_{i}"
        d[col] = (d[var] == lv).astype(float)
        lcols.append(col)
        for g in gcols:
            icol = f"{g}_x_{i}"
            d[icol] = d[g] * d[col]
            icols.append(icol)
    if not icols:
        return math.nan, math.nan, math.nan, "only one subgroup level"
    counts = d.groupby([gvar, var], observed=True)["_event"].sum()
    if len(counts) < len(plan.group_values) * len(levels):
        return math.nan, float(len(icols)), math.nan, "a group has no subjects in a subgroup level"
    if (counts == 0).any():
        return math.nan, float(len(icols)), math.nan, "a group has no events in a subgroup level"
    full = sv.cox_fit_raw(d, "_time", "_event", [*gcols, *lcols, *icols], ties=ties)
    if full is None:
        return math.nan, float(len(icols)), math.nan, "interaction model did not converge"
    beta, cov = full
    idx = [len(gcols) + len(lcols) + i for i in range(len(icols))]
    b = beta[idx]
    v = cov[np.ix_(idx, idx)]
    try:
        w = float(b @ np.linalg.solve(v, b))
    except np.linalg.LinAlgError:
        return math.nan, float(len(idx)), math.nan, "interaction covariance is singular"
    return w, float(len(idx)), dist.chi2_sf(w, len(idx)), ""

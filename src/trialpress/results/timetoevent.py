"""Time-to-event endpoints of the plan → ARD rows and KM curves.

Per group: N, events, censored, median and quartiles (Brookmeyer–Crowley log-log CI), landmark
rates with CI, the KMunicate risk table at the axis ticks, median follow-up (reverse KM).
Comparisons, each group vs the reference: Cox HR (Wald CI and P), log-rank P; stratified and
adjusted variants when the plan asks; subgroups with the treatment-by-subgroup interaction P.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialpress.analysis import survival as sv
from trialpress.analysis.covariates import design_matrix
from trialpress.analysis.populations import population, rows_in_population, tte_frame
from trialpress.data.loading import StudyData
from trialpress.plan import Plan, TimeToEvent
from trialpress.results.ard import ARDBuilder, Row, make_id

KM_METHOD = "Kaplan-Meier; Brookmeyer-Crowley 95% CI, log-log transform, Greenwood variance"
RATE_METHOD = "Kaplan-Meier; pointwise 95% CI, log-log transform, Greenwood variance"
FOLLOWUP_METHOD = "Reverse Kaplan-Meier (censoring as the event)"
LOGRANK_METHOD = "Log-rank test"


def cox_method(ties: str, extra: str = "") -> str:
    return f"Cox proportional hazards, {ties.capitalize()} ties; Wald 95% CI and P{extra}"


@dataclass(frozen=True)
class CurveSet:
    """KM curves of one figure panel: one curve per group, in display units."""

    endpoint: str
    panel: str           # '' for the overall panel, else '<SUBGROUP VAR>=<level>'
    curves: dict[str, sv.KMCurve]


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


def ticks_for(ep: TimeToEvent, t_max: float) -> np.ndarray:
    step = ep.tick_every or nice_step(t_max)
    n = int(math.ceil(t_max / step - 1e-9)) + 1   # the last tick covers the longest follow-up
    return np.arange(n) * step


def collect_tte(ep: TimeToEvent, data: StudyData, plan: Plan, ard: ARDBuilder) -> list[CurveSet]:
    sid = plan.data.subject_id
    gvar = plan.groups.variable
    pop = population(data["ADSL"], plan, ep.population)
    rows = rows_in_population(pop, data["ADSL"], data.rows_in_adsl("ADTTE", sid))
    frame = tte_frame(pop, data["ADTTE"], ep.paramcd, sid, ep.unit_factor, rows)
    alpha = plan.conventions.alpha
    conf = 1 - alpha
    base = {"endpoint": ep.id, "population": ep.population}

    def add(analysis: str, group: str, statistic: str, value: float, *, lower: float = math.nan,
            upper: float = math.nan, param: str = "", method: str = "", n: float = math.nan, note: str = "",
            reference: str = "", subgroup: str = "", level: str = "") -> None:
        rid = make_id(ep.id, analysis, subgroup, level, group, statistic, param)
        ard.add(Row(id=rid, analysis=analysis, group=group, statistic=statistic, value=float(value),
                    lower=float(lower), upper=float(upper), param=param, method=method, n=float(n), note=note,
                    reference=reference, subgroup=subgroup, level=level, **base))

    t_max = float(frame["_time"].max()) if len(frame) else 0.0
    ticks = ticks_for(ep, t_max)
    curves: dict[str, sv.KMCurve] = {}
    for g in plan.group_values:
        sub = frame[frame[gvar] == g]
        curve = sv.kaplan_meier(sub["_time"].to_numpy(), sub["_event"].to_numpy(), conf)
        curves[g] = curve
        _km_rows(add, curve, g, ep, ticks)
    overall = sv.kaplan_meier(frame["_time"].to_numpy(), frame["_event"].to_numpy(), conf)
    add("km", "", "n", overall.n, method=KM_METHOD)
    add("km", "", "events", overall.events, method=KM_METHOD, n=overall.n)
    for g in ["", *plan.group_values]:
        part = frame if not g else frame[frame[gvar] == g]
        fu = sv.km_quantile(sv.kaplan_meier(part["_time"].to_numpy(), 1 - part["_event"].to_numpy(), conf), 0.5)
        add("followup", g, "median", fu.value, lower=fu.lower, upper=fu.upper, method=FOLLOWUP_METHOD, n=len(part),
            note=fu.note)
    _comparisons(add, frame, plan, ep, curves, conf)
    sets = [CurveSet(ep.id, "", curves)]
    if ep.subgroups:
        for sg in plan.subgroups:
            _subgroup_rows(add, frame, plan, ep, sg.variable, [lv.value for lv in sg.levels] if sg.levels else None,
                           conf)
    if ep.by_subgroup_figure:
        var = ep.by_subgroup_figure
        for level in _levels(frame, var, plan):
            sub = frame[frame[var] == level]
            panel_curves = {g: sv.kaplan_meier(sub.loc[sub[gvar] == g, "_time"].to_numpy(),
                                               sub.loc[sub[gvar] == g, "_event"].to_numpy(), conf)
                            for g in plan.group_values}
            sets.append(CurveSet(ep.id, f"{var}={level}", panel_curves))
            if not ep.subgroups or var not in [s.variable for s in plan.subgroups]:
                for g, c in panel_curves.items():
                    m = sv.km_quantile(c, 0.5)
                    add("km", g, "median", m.value, lower=m.lower, upper=m.upper, method=KM_METHOD, n=c.n,
                        note=m.note, subgroup=var, level=level)
            for g, c in panel_curves.items():
                _risk_rows(add, c, g, ticks, subgroup=var, level=level)
    return sets


def _fmt_param(t: float) -> str:
    return f"{t:g}"


def _km_rows(add, curve: sv.KMCurve, g: str, ep: TimeToEvent, ticks: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    add("km", g, "n", curve.n, method=KM_METHOD)
    add("km", g, "events", curve.events, method=KM_METHOD, n=curve.n)
    add("km", g, "censored", curve.n - curve.events, method=KM_METHOD, n=curve.n)
    for prob, name in ((0.5, "median"), (0.25, "q25"), (0.75, "q75")):
        est = sv.km_quantile(curve, prob)
        add("km", g, name, est.value, lower=est.lower, upper=est.upper, method=KM_METHOD, n=curve.n, note=est.note)
    for t in ep.landmarks:
        est, n_risk = sv.km_at(curve, t)
        note = est.note or ("no subjects followed this long" if n_risk == 0 and curve.n else "")
        add("km", g, "rate", est.value, lower=est.lower, upper=est.upper, param=_fmt_param(t), method=RATE_METHOD,
            n=n_risk, note=note)
    _risk_rows(add, curve, g, ticks)


def _risk_rows(add, curve: sv.KMCurve, g: str, ticks: np.ndarray, **where: str) -> None:  # type: ignore[no-untyped-def]
    """The KMunicate table under a KM figure: at risk, cumulative events and censored at each tick."""
    table = sv.risk_table(curve, ticks)
    for t, at_risk, events, censored in table.itertuples(index=False):
        p = _fmt_param(t)
        add("risk", g, "at_risk", at_risk, param=p, method=KM_METHOD, **where)
        add("risk", g, "events", events, param=p, method=KM_METHOD, **where)
        add("risk", g, "censored", censored, param=p, method=KM_METHOD, **where)


def _group_dummies(frame: pd.DataFrame, plan: Plan) -> tuple[pd.DataFrame, list[str]]:
    out = frame.copy(deep=False)   # new columns only: the caller's frame is not touched
    cols = []
    for c in plan.comparators:
        col = f"_g_{c}"
        out[col] = (out[plan.groups.variable] == c).astype(float)
        cols.append(col)
    return out, cols


def _comparisons(add, frame: pd.DataFrame, plan: Plan, ep: TimeToEvent, curves: dict[str, sv.KMCurve],  # type: ignore[no-untyped-def]
                 conf: float) -> None:
    ref = plan.groups.reference
    ties = plan.conventions.ties
    gvar = plan.groups.variable
    data, cols = _group_dummies(frame, plan)
    ne = _not_estimable(curves, plan)
    fit = sv.cox(data, "_time", "_event", cols, ties=ties, conf_level=conf, not_estimable=ne)
    for c, col in zip(plan.comparators, cols):
        term = fit.terms[col]
        n = curves[c].n + curves[ref].n
        add("cox", c, "hr", term.hr.value, lower=term.hr.lower, upper=term.hr.upper, reference=ref,
            method=cox_method(ties), n=n, note=term.hr.note)
        add("cox", c, "p", term.p, reference=ref, method=cox_method(ties), n=n, note=term.hr.note)
        pair = data[data[gvar].isin([ref, c])]
        lr = sv.logrank(pair["_time"].to_numpy(), pair["_event"].to_numpy(), pair[gvar].to_numpy())
        add("logrank", c, "p", lr.p, reference=ref, method=LOGRANK_METHOD, n=n, note=lr.note)
        add("logrank", c, "chisq", lr.chisq, reference=ref, method=LOGRANK_METHOD, n=n, note=lr.note)
    if len(plan.comparators) > 1:
        lr = sv.logrank(data["_time"].to_numpy(), data["_event"].to_numpy(), data[gvar].to_numpy())
        add("logrank", "", "p", lr.p, method=f"{LOGRANK_METHOD} ({lr.df} df, all groups)", n=len(data), note=lr.note)
    if ep.stratify_by:
        s = ep.stratify_by
        sdata = data[data[s].notna()]
        fit_s = sv.cox(sdata, "_time", "_event", cols, strata=[s], ties=ties, conf_level=conf, not_estimable=ne)
        for c, col in zip(plan.comparators, cols):
            term = fit_s.terms[col]
            m = cox_method(ties, f", stratified by {s}")
            add("cox_strat", c, "hr", term.hr.value, lower=term.hr.lower, upper=term.hr.upper, reference=ref,
                method=m, n=fit_s.n, note=term.hr.note)
            add("cox_strat", c, "p", term.p, reference=ref, method=m, n=fit_s.n, note=term.hr.note)
            pair = sdata[sdata[gvar].isin([ref, c])]
            lr = sv.logrank(pair["_time"].to_numpy(), pair["_event"].to_numpy(), pair[gvar].to_numpy(),
                            strata=pair[s].to_numpy())
            add("logrank_strat", c, "p", lr.p, reference=ref, method=f"{LOGRANK_METHOD}, stratified by {s}",
                n=len(pair), note=lr.note)
    if ep.adjust_for:
        design, terms, dropped = design_matrix(data, ep.adjust_for)
        adj = pd.concat([data.loc[design.index, ["_time", "_event", *cols]], design], axis=1)
        note = f"{dropped} subject(s) with missing covariates excluded" if dropped else ""
        fit_a = sv.cox(adj, "_time", "_event", [*cols, *terms], ties=ties, conf_level=conf, not_estimable=ne)
        m = cox_method(ties, f", adjusted for {', '.join(ep.adjust_for)}")
        for c, col in zip(plan.comparators, cols):
            term = fit_a.terms[col]
            add("cox_adj", c, "hr", term.hr.value, lower=term.hr.lower, upper=term.hr.upper, reference=ref,
                method=m, n=fit_a.n, note=term.hr.note or note)
            add("cox_adj", c, "p", term.p, reference=ref, method=m, n=fit_a.n, note=term.hr.note or note)
        for t in terms:
            term = fit_a.terms[t]
            add("cox_adj_term", "", "hr", term.hr.value, lower=term.hr.lower, upper=term.hr.upper, level=t,
                method=m, n=fit_a.n, note=term.hr.note)
            add("cox_adj_term", "", "p", term.p, level=t, method=m, n=fit_a.n, note=term.hr.note)


def _not_estimable(curves: dict[str, sv.KMCurve], plan: Plan) -> dict[str, str]:
    """Comparisons whose HR cannot be estimated: a group with no subjects or no events."""
    out: dict[str, str] = {}
    ref = plan.groups.reference
    for c in plan.comparators:
        for g in (ref, c):
            if curves[g].n == 0:
                out[f"_g_{c}"] = f"no subjects in group {g}"
            elif curves[g].events == 0:
                out.setdefault(f"_g_{c}", f"no events in group {g}")
    return out


def _levels(frame: pd.DataFrame, var: str, plan: Plan) -> list[str]:
    for sg in plan.subgroups:
        if sg.variable == var and sg.levels:
            return [lv.value for lv in sg.levels]
    return sorted(str(v) for v in frame[var].dropna().unique())


def _subgroup_rows(add, frame: pd.DataFrame, plan: Plan, ep: TimeToEvent, var: str,  # type: ignore[no-untyped-def]
                   levels: list[str] | None, conf: float) -> None:
    gvar = plan.groups.variable
    ref = plan.groups.reference
    ties = plan.conventions.ties
    levels = levels or _levels(frame, var, plan)
    for level in levels:
        sub = frame[frame[var] == level]
        curves = {g: sv.kaplan_meier(sub.loc[sub[gvar] == g, "_time"].to_numpy(),
                                     sub.loc[sub[gvar] == g, "_event"].to_numpy(), conf) for g in plan.group_values}
        for g, c in curves.items():
            add("subgroup", g, "n", c.n, subgroup=var, level=level, method=KM_METHOD)
            add("subgroup", g, "events", c.events, subgroup=var, level=level, method=KM_METHOD, n=c.n)
            m = sv.km_quantile(c, 0.5)
            add("subgroup", g, "median", m.value, lower=m.lower, upper=m.upper, subgroup=var, level=level,
                method=KM_METHOD, n=c.n, note=m.note)
        data, cols = _group_dummies(sub, plan)
        fit = sv.cox(data, "_time", "_event", cols, ties=ties, conf_level=conf,
                     not_estimable=_not_estimable(curves, plan))
        for c, col in zip(plan.comparators, cols):
            term = fit.terms[col]
            add("subgroup", c, "hr", term.hr.value, lower=term.hr.lower, upper=term.hr.upper, reference=ref,
                subgroup=var, level=level, method=cox_method(ties), n=curves[c].n + curves[ref].n,
                note=term.hr.note)
    # interaction: group x subgroup terms in one Cox model, Wald test of the interaction terms
    data = frame[frame[var].isin(levels)]
    p, note = _interaction_p(data, plan, var, levels, ties, conf)
    add("interaction", "", "p", p, subgroup=var,
        method=f"Cox model with group-by-{var} interaction; Wald test of the interaction term(s)", n=len(data),
        note=note)


def _interaction_p(data: pd.DataFrame, plan: Plan, var: str, levels: list[str], ties: str,
                   conf: float) -> tuple[float, str]:
    from scipy import stats

    d, gcols = _group_dummies(data, plan)
    lcols, icols = [], []
    for lv in levels[1:]:
        col = f"_l_{lv}"
        d[col] = (d[var] == lv).astype(float)
        lcols.append(col)
        for g in gcols:
            icol = f"{g}_x_{lv}"
            d[icol] = d[g] * d[col]
            icols.append(icol)
    if not icols:
        return math.nan, "only one subgroup level"
    counts = d.groupby([plan.groups.variable, var], observed=True)["_event"].sum()
    if (counts == 0).any() or len(counts) < len(plan.group_values) * len(levels):
        return math.nan, "a group-by-subgroup cell has no events"
    full = sv.cox_fit_raw(d, "_time", "_event", [*gcols, *lcols, *icols], ties=ties)
    if full is None:
        return math.nan, "interaction model did not converge"
    beta, cov = full
    idx = [len(gcols) + len(lcols) + i for i in range(len(icols))]
    b = beta[idx]
    v = cov[np.ix_(idx, idx)]
    try:
        w = float(b @ np.linalg.solve(v, b))
    except np.linalg.LinAlgError:
        return math.nan, "interaction covariance is singular"
    return float(stats.chi2.sf(w, len(idx))), ""

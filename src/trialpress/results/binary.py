"""Binary endpoints of the plan → ARD rows.

Per group of the analyzed set: responders n, N, proportion with Clopper–Pearson CI. Each group vs the
reference: difference in proportions (Newcombe hybrid score CI), odds ratio by logistic regression with
every group indicator in one model, unadjusted and adjusted for the plan's covariates (Wald CI and P, or
profile-likelihood CI and likelihood-ratio P as conventions.odds_ratio_inference says; Firth's penalised
likelihood when the data separate), and the coefficient table of the adjusted model.
Subjects of the analyzed set without a record of the endpoint count as non-responders.
"""

from __future__ import annotations

import math

import pandas as pd

from trialpress.analysis import response as rs
from trialpress.analysis.covariates import design
from trialpress.analysis.populations import analysed, population, responded
from trialpress.data.loading import StudyData
from trialpress.plan import Binary, Plan
from trialpress.results import keys
from trialpress.results.ard import ARDBuilder, Key, ci_level, row



def rate_method(conf: float) -> str:
    return f"Proportion; Clopper-Pearson exact {ci_level(conf)} CI"


def diff_method(conf: float) -> str:
    return f"Difference in proportions; Newcombe hybrid score {ci_level(conf)} CI"


def outcome_frame(ep: Binary, data: StudyData, plan: Plan) -> pd.DataFrame:
    """Analyzed subjects with `_y` = 1 for a response, 0 otherwise."""
    subjects = analysed(ep, data, plan)
    return subjects.assign(_y=responded(ep, data, plan, subjects).astype(float))


def collect_binary(ep: Binary, data: StudyData, plan: Plan, ard: ARDBuilder) -> None:
    frame = outcome_frame(ep, data, plan)
    gvar = plan.group_variable(ep.population)
    ref = plan.groups.reference
    conf = 1 - plan.conventions.alpha

    def add(key: Key, value: float = math.nan, **kw: object) -> None:
        ard.add(row(key, population=ep.population, value=value, **kw))  # type: ignore[arg-type]

    _analysis_set(ep, data, plan, frame, gvar, add)
    counts: dict[str, tuple[int, int]] = {}
    for g in plan.group_values:
        y = frame.loc[frame[gvar] == g, "_y"]
        x, n = int(y.sum()), int(len(y))
        counts[g] = (x, n)
        add(keys.rate(ep.id, "n", g), x, n=n, method=rate_method(conf))
        est = rs.clopper_pearson(x, n, conf)
        add(keys.rate(ep.id, "proportion", g), est.value, lower=est.lower, upper=est.upper, n=n,
            method=rate_method(conf), note=est.note)
    for c in plan.comparators:
        (x1, n1), (x0, n0) = counts[c], counts[ref]
        d = rs.risk_difference(x1, n1, x0, n0, conf)
        add(keys.difference(ep.id, c), d.value, lower=d.lower, upper=d.upper, n=n1 + n0, reference=ref,
            method=diff_method(conf), note=d.note)
    if not plan.comparators:   # one group: its rate, no odds ratio
        return
    sub = frame[frame[gvar].isin(plan.group_values)]
    dummies = pd.DataFrame({f"_g_{i}": (sub[gvar] == c).astype(float) for i, c in enumerate(plan.comparators)},
                           index=sub.index)
    _odds_ratios(add, pd.concat([sub[["_y"]], dummies], axis=1), list(dummies.columns), ep, plan, "logistic", conf)
    if ep.adjust_for:
        d = design(sub, ep.adjust_for)
        terms = d.names
        model = pd.concat([sub.loc[d.frame.index, ["_y"]], dummies.loc[d.frame.index], d.frame], axis=1)
        fit = _odds_ratios(add, model, [*dummies.columns, *terms], ep, plan, "logistic_adj", conf,
                           f", adjusted for {', '.join(d.adjusted_for) or 'no covariate'}", d.note)
        for t in terms:
            term = fit.terms[t]
            add(keys.model(ep.id, "logistic_adj_term", "or", term=t), term.odds_ratio.value,
                lower=term.odds_ratio.lower, upper=term.odds_ratio.upper, method=fit.method, n=fit.n,
                note=term.odds_ratio.note)
            add(keys.model(ep.id, "logistic_adj_term", "p", term=t), term.p, method=fit.method, n=fit.n)


def _analysis_set(ep: Binary, data: StudyData, plan: Plan, frame: pd.DataFrame, gvar: str, add) -> None:  # type: ignore[no-untyped-def]
    pop = population(data["ADSL"], plan, ep.population)
    label = ep.subset.label if ep.subset else plan.populations[ep.population].label
    add(keys.analysis_set(ep.id, "label"), text=label,
        method="plan: " + (f"subset of {ep.population}" if ep.subset else f"population {ep.population}"))
    for g in ["", *plan.group_values]:
        in_pop = int((pop[gvar] == g).sum()) if g else len(pop)
        n = int((frame[gvar] == g).sum()) if g else len(frame)
        add(keys.analysis_set(ep.id, "n", g), n, n=in_pop, method=f"Subjects analyzed ({label})")
        add(keys.analysis_set(ep.id, "excluded", g), in_pop - n, n=in_pop,
            method=f"Subjects of the population not analyzed for {ep.id}", note="outside the analyzed set")


def _odds_ratios(add, model: pd.DataFrame, columns: list[str], ep: Binary, plan: Plan, analysis: str,  # type: ignore[no-untyped-def]
                 conf: float, extra: str = "", note: str = "") -> rs.LogisticResult:
    fit = rs.logistic(model, "_y", columns, conf, plan.conventions.odds_ratio_inference)
    method = fit.method + extra
    for i, c in enumerate(plan.comparators):
        term = fit.terms[f"_g_{i}"]
        why = "; ".join(x for x in (fit.note, term.odds_ratio.note, note) if x)
        common = {"reference": plan.groups.reference, "method": method, "n": fit.n, "note": why}
        add(keys.model(ep.id, analysis, "or", c), term.odds_ratio.value, lower=term.odds_ratio.lower,
            upper=term.odds_ratio.upper, **common)
        add(keys.model(ep.id, analysis, "p", c), term.p, **common)
    return fit

"""Binary endpoints of the plan → ARD rows.

Per group: responders n, N, proportion with Clopper–Pearson CI. Each group vs the reference:
difference in proportions (Newcombe hybrid score CI), odds ratio by logistic regression,
unadjusted and adjusted for the plan's covariates (Wald CI and P; Firth's penalised likelihood
when the data separate), and the full coefficient table of the adjusted model.
Subjects of the population without a record of the endpoint count as non-responders.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from trialpress.analysis import response as rs
from trialpress.analysis.covariates import design_matrix
from trialpress.analysis.populations import population, rows_in_population
from trialpress.data.loading import StudyData
from trialpress.plan import Binary, Plan
from trialpress.results.ard import ARDBuilder, Row, make_id

RATE_METHOD = "Proportion; Clopper-Pearson exact 95% CI"
DIFF_METHOD = "Difference in proportions; Newcombe hybrid score 95% CI"


def outcome_frame(ep: Binary, data: StudyData, plan: Plan) -> pd.DataFrame:
    """Population subjects with `_y` = 1 for a response, 0 otherwise."""
    sid = plan.data.subject_id
    pop = population(data["ADSL"], plan, ep.population)
    src = ep.source
    if src.dataset == "ADSL":
        hit = pop[src.variable].isin(src.values)
    else:
        adrs = data["ADRS"]
        responded = ((adrs["PARAMCD"] == src.paramcd) & adrs[src.variable].isin(src.values)).to_numpy()
        rows = rows_in_population(pop, data["ADSL"], data.rows_in_adsl("ADRS", sid))[responded]
        marked = np.zeros(len(pop), dtype=bool)
        marked[rows[rows >= 0]] = True
        hit = pd.Series(marked, index=pop.index)
    return pop.assign(_y=hit.astype(float).to_numpy())


def collect_binary(ep: Binary, data: StudyData, plan: Plan, ard: ARDBuilder) -> None:
    frame = outcome_frame(ep, data, plan)
    gvar = plan.groups.variable
    ref = plan.groups.reference
    conf = 1 - plan.conventions.alpha
    base = {"endpoint": ep.id, "population": ep.population}

    def add(analysis: str, group: str, statistic: str, value: float, *, lower: float = math.nan,
            upper: float = math.nan, method: str = "", n: float = math.nan, note: str = "", reference: str = "",
            level: str = "") -> None:
        ard.add(Row(id=make_id(ep.id, analysis, level, group, statistic), analysis=analysis, group=group,
                    statistic=statistic, value=float(value), lower=float(lower), upper=float(upper), method=method,
                    n=float(n), note=note, reference=reference, level=level, **base))

    counts: dict[str, tuple[int, int]] = {}
    for g in plan.group_values:
        y = frame.loc[frame[gvar] == g, "_y"]
        x, n = int(y.sum()), int(len(y))
        counts[g] = (x, n)
        add("rate", g, "n", x, n=n, method=RATE_METHOD)
        est = rs.clopper_pearson(x, n, conf)
        add("rate", g, "proportion", est.value, lower=est.lower, upper=est.upper, n=n, method=RATE_METHOD,
            note=est.note)
    for c in plan.comparators:
        (x1, n1), (x0, n0) = counts[c], counts[ref]
        d = rs.risk_difference(x1, n1, x0, n0, conf)
        add("diff", c, "difference", d.value, lower=d.lower, upper=d.upper, n=n1 + n0, reference=ref,
            method=DIFF_METHOD, note=d.note)
    sub = frame[frame[gvar].isin(plan.group_values)]
    dummies = pd.DataFrame({f"_g_{c}": (sub[gvar] == c).astype(float) for c in plan.comparators}, index=sub.index)
    _odds_ratios(add, pd.concat([sub[["_y"]], dummies], axis=1), list(dummies.columns), plan, "logistic", conf)
    if ep.adjust_for:
        design, terms, dropped = design_matrix(sub, ep.adjust_for)
        model = pd.concat([sub.loc[design.index, ["_y"]], dummies.loc[design.index], design], axis=1)
        note = f"{dropped} subject(s) with missing covariates excluded" if dropped else ""
        fit = _odds_ratios(add, model, [*dummies.columns, *terms], plan, "logistic_adj", conf,
                           f", adjusted for {', '.join(ep.adjust_for)}", note)
        for t in terms:
            term = fit.terms[t]
            add("logistic_adj_term", "", "or", term.odds_ratio.value, lower=term.odds_ratio.lower,
                upper=term.odds_ratio.upper, level=t, method=fit.method, n=fit.n, note=term.odds_ratio.note)
            add("logistic_adj_term", "", "p", term.p, level=t, method=fit.method, n=fit.n)


def _odds_ratios(add, model: pd.DataFrame, columns: list[str], plan: Plan, analysis: str,  # type: ignore[no-untyped-def]
                 conf: float, extra: str = "", note: str = "") -> rs.LogisticResult:
    fit = rs.logistic(model, "_y", columns, conf)
    method = fit.method + extra
    for c in plan.comparators:
        term = fit.terms[f"_g_{c}"]
        why = "; ".join(x for x in (fit.note, term.odds_ratio.note, note) if x)
        add(analysis, c, "or", term.odds_ratio.value, lower=term.odds_ratio.lower, upper=term.odds_ratio.upper,
            reference=plan.groups.reference, method=method, n=fit.n, note=why)
        add(analysis, c, "p", term.p, reference=plan.groups.reference, method=method, n=fit.n, note=why)
    return fit

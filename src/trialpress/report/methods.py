"""The statistical conventions, stated in words for the methods section (from the plan and engine).

Each line appears only when the plan has the analysis it describes, so a safety-only study's methods
speak only of safety.
"""

from __future__ import annotations

from trialpress.plan import Plan
from trialpress.report.formatting import lower_first


def conventions(plan: Plan, software: dict[str, str], renderer: dict[str, str]) -> list[str]:
    conf = f"{100 * (1 - plan.conventions.alpha):g}%"
    ref = lower_first(plan.group_labels[plan.groups.reference])
    comps = ", ".join(lower_first(plan.group_labels[g]) for g in plan.comparators)
    lines: list[str] = []
    if plan.baseline:
        lines.append("Baseline characteristics are summarised as mean (SD) and median (range) for continuous "
                     "variables and n (%) for categorical variables, with missing values counted.")
    return lines + _survival(plan, conf, comps, ref) + _binary(plan, conf, comps, ref) + _safety(plan) + _common(
        software, renderer)


def _survival(plan: Plan, conf: str, comps: str, ref: str) -> list[str]:
    if not plan.time_to_event:
        return []
    ties = plan.conventions.ties.capitalize()
    lines = [
        f"Time-to-event endpoints were estimated by the Kaplan-Meier method with Greenwood variance; {conf} CIs "
        "for the median and quartiles follow Brookmeyer and Crowley with the log-log transform (the SAS PROC "
        "LIFETEST default), and landmark rates have pointwise log-log CIs. Where the survival curve equals 0.5 "
        "over an interval, the median is the midpoint of that interval. Median follow-up was estimated by the "
        "reverse Kaplan-Meier method.",
        f"Hazard ratios ({comps} vs {ref}, the reference) come from Cox proportional-hazards models with "
        f"{ties}'s method for tied event times; CIs and P values are Wald-based. Groups were also compared with "
        "the log-rank test.",
    ]
    strata = sorted({e.stratify_by for e in plan.time_to_event if e.stratify_by})
    if strata:
        lines.append(f"Sensitivity analyses were stratified by {', '.join(lower_first(plan.label_of(v)) for v in strata)} (stratified log-rank test and "
                     "Cox model with separate baseline hazards per stratum).")
    adjusted = sorted({v for e in plan.time_to_event for v in e.adjust_for})
    if adjusted:
        lines.append(f"Adjusted Cox models included {', '.join(plan.label_of(v) for v in adjusted)}; categorical covariates enter as "
                     "indicator variables against their first level in sorted order; subjects with a missing "
                     "covariate are excluded from that model.")
    if plan.subgroups and any(e.subgroups for e in plan.time_to_event):
        lines.append("Subgroup hazard ratios come from Cox models fitted within each subgroup level; the "
                     "interaction P value is the Wald test of the group-by-subgroup interaction term(s) in a Cox "
                     "model with both main effects.")
    lines.append("Kaplan-Meier, log-rank and Cox estimates are computed by trialpress's own implementations (Cox: "
                 "Newton-Raphson on the partial likelihood, stopping at a relative log-likelihood change below "
                 "1e-9, as R coxph), tested against R survival on public reference datasets.")
    return lines


def _binary(plan: Plan, conf: str, comps: str, ref: str) -> list[str]:
    if not plan.binary:
        return []
    covariates = sorted({v for b in plan.binary for v in b.adjust_for})
    adjusted = f" and adjusted for {', '.join(plan.label_of(v) for v in covariates)}" if covariates else ""
    return [f"Response rates are n/N of all patients of the group with exact Clopper-Pearson {conf} CIs; "
            f"differences in proportions ({comps} minus {ref}) have Newcombe hybrid score CIs. Odds ratios "
            f"({comps} vs {ref}) come from logistic regression, unadjusted{adjusted}, with Wald CIs and P values; "
            "where the data separate completely, Firth's penalised likelihood is used instead and the table notes "
            "it."]


def _safety(plan: Plan) -> list[str]:
    if plan.safety is None:
        return []
    s = plan.safety
    severe = "CTCAE grade 3 or higher" if s.variables.severity_kind == "ctcae" else "severe intensity"
    pop = lower_first(plan.populations[s.population].label)
    return [f"Adverse events are treatment-emergent events in the {pop}, counted as subjects with at least one "
            f"event; severe means {severe}. Terms with an incidence of at least {s.pt_threshold_percent:g}% in any "
            "group are tabulated by system organ class and preferred term. For adverse events of interest, risk "
            "differences vs the reference have Newcombe hybrid score CIs, and exposure-adjusted incidence per 100 "
            "patient-years has exact Poisson CIs."]


def _common(software: dict[str, str], renderer: dict[str, str]) -> list[str]:
    versions = ", ".join(f"{name} {software.get(key, '')}" for name, key in (
        ("trialpress", "trialpress"), ("Python", "python"), ("pandas", "pandas"), ("NumPy", "numpy"),
        ("SciPy", "scipy"), ("statsmodels", "statsmodels"), ("matplotlib", "matplotlib"),
        ("great_expectations", "great_expectations")))
    return [
        "NE (not estimable) is shown where an estimate does not exist: a median or CI bound the survival curve "
        "does not reach, or a hazard ratio for a group without subjects or events.",
        "P values are two-sided and shown with three decimals (P < .001 below .001).",
        f"Software: {versions}; document rendered with "
        + ", ".join(f"{k} {v}" for k, v in renderer.items()) + ".",
    ]

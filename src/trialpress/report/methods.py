"""The statistical conventions, stated in words for the methods section (from the plan and engine)."""

from __future__ import annotations

from trialpress.plan import Plan
from trialpress.report.formatting import lower_first


def conventions(plan: Plan, software: dict[str, str], renderer: dict[str, str]) -> list[str]:
    c = plan.conventions
    conf = f"{100 * (1 - c.alpha):g}%"
    ref = lower_first(plan.group_labels[plan.groups.reference])
    comps = ", ".join(lower_first(plan.group_labels[g]) for g in plan.comparators)
    lines = [
        f"Time-to-event endpoints were estimated by the Kaplan-Meier method with Greenwood variance; {conf} CIs "
        "for the median and quartiles follow Brookmeyer and Crowley with the log-log transform (the SAS PROC "
        "LIFETEST default), and landmark rates have pointwise log-log CIs. Where the survival curve equals 0.5 "
        "over an interval, the median is the midpoint of that interval.",
        f"Hazard ratios ({comps} vs {ref}, the reference) come from Cox proportional-hazards models with "
        f"{c.ties.capitalize()}'s method for tied event times; CIs and P values are Wald-based. Groups were also "
        "compared with the log-rank test.",
    ]
    strata = sorted({e.stratify_by for e in plan.time_to_event if e.stratify_by})
    if strata:
        lines.append(f"Sensitivity analyses were stratified by {', '.join(strata)} (stratified log-rank test and "
                     "Cox model with separate baseline hazards per stratum).")
    adjusted = sorted({v for e in plan.time_to_event for v in e.adjust_for})
    if adjusted:
        lines.append(f"Adjusted Cox models included {', '.join(adjusted)}; categorical covariates enter as "
                     "indicator variables against their first level in sorted order; subjects with a missing "
                     "covariate are excluded from that model.")
    lines += [
        "Median follow-up was estimated by the reverse Kaplan-Meier method.",
        "Kaplan-Meier, log-rank and Cox estimates are computed by trialpress's own implementations (Cox: "
        "Newton-Raphson on the partial likelihood, convergence at a relative log-likelihood change below 1e-9, as "
        "R coxph), which are tested against R survival on public reference datasets.",
        "NE (not estimable) is shown where an estimate does not exist: a median or CI bound the survival curve "
        "does not reach, or a hazard ratio for a group without events.",
        "P values are two-sided and shown with three decimals (P < .001 below .001).",
        "Software: trialpress " + software.get("trialpress", "") + ", Python " + software.get("python", "")
        + ", pandas " + software.get("pandas", "") + ", NumPy " + software.get("numpy", "") + ", SciPy "
        + software.get("scipy", "") + ", statsmodels "
        + software.get("statsmodels", "") + ", matplotlib " + software.get("matplotlib", "")
        + ", great_expectations " + software.get("great_expectations", "") + "; document rendered with "
        + ", ".join(f"{k} {v}" for k, v in renderer.items()) + ".",
    ]
    return lines

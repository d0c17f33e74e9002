"""The statistical conventions, stated in words for the methods section (from the plan, the ARD and the engine).

Each line appears only when the plan has the analysis it describes, so a safety-only study's methods speak
only of safety; what a model really adjusted for, and what it left out, is read from the ARD's method and
note columns, never from the plan's wish list.
"""

from __future__ import annotations

from typing import Any

from trialpress.plan import Plan
from trialpress.report.formatting import conf_label, fixed, lower_first
from trialpress.report.safety_view import safety_methods
from trialpress.results import keys
from trialpress.results.ard import ARD


def conventions(plan: Plan, ard: ARD, software: dict[str, str], renderer: dict[str, str]) -> list[str]:
    conf = conf_label(plan.conventions.alpha)
    ref = lower_first(plan.group_labels[plan.groups.reference])
    comps = ", ".join(lower_first(plan.group_labels[g]) for g in plan.comparators)
    lines: list[str] = _populations(plan)
    if not plan.comparators:
        lines.insert(0, f"All patients form one group ({ref}): the estimates are descriptive, with no comparison "
                        "between groups.")
    if plan.baseline:
        categorical = any(row.kind != "continuous" and not row.levels for row in plan.baseline)
        lines.append("Baseline characteristics are summarized as mean (SD) and median (range) for continuous "
                     "variables (the range's ends without decimals when they are whole numbers) and n (%) for "
                     "categorical variables, with missing values counted"
                     + ("; categories are listed in the order of the variable's numeric code where the data carry "
                        "one (e.g. AGEGR1N for AGEGR1), else by the numbers that define them (<25, 25-<30, >=30), "
                        "else alphabetically." if categorical else "."))
    compared = bool(plan.comparators)
    return (lines + _survival(plan, ard, conf, comps, ref) + _binary(plan, ard, conf, comps, ref)
            + (_models(plan) if compared else []) + _safety(plan, ard) + safety_methods(plan, ard)
            + _continuous(plan, ard) + (_decisions(plan, conf) if compared and plan.endpoints else [])
            + _common(plan, ard, software, renderer))


def _populations(plan: Plan) -> list[str]:
    out = []
    for pid, pop in plan.populations.items():
        if pop.group_variable and pop.group_variable != plan.groups.variable:
            out.append(f"In the {lower_first(pop.label)}, subjects are grouped by {pop.group_variable} (as treated); "
                       f"elsewhere by {plan.groups.variable}.")
    subsets = [e for e in [*plan.time_to_event, *plan.binary] if e.subset]
    for e in subsets:
        assert e.subset is not None
        # a condition's subset is described by its label; a responder or record subset also says what it is
        responders = next((b.label for b in plan.binary if b.id == e.subset.responders), "")
        how = (f", that is, the responders for {lower_first(responders)}" if e.subset.responders
               else "" if e.subset.where else ", that is, those with a record of the endpoint")
        out.append(f"{e.label} is analyzed in {lower_first(e.subset.label)} of the "
                   f"{lower_first(plan.populations[e.population].label)}{how}. Its tables give that set's size "
                   "per group.")
    return out


def _adjusted(ard: ARD, endpoints: list[str], analysis: str) -> tuple[list[str], list[str]]:
    """What the adjusted models really adjusted for (from the ARD's method), and what they left out (notes)."""
    used: dict[str, None] = {}
    notes: dict[str, None] = {}
    for r in ard:
        if r.analysis == analysis and r.endpoint in endpoints and r.statistic in ("hr", "or"):
            if ", adjusted for " in r.method:
                for v in r.method.split(", adjusted for ", 1)[1].split(", "):
                    used[v] = None
            for part in r.note.split("; "):
                if "not in the model" in part or "excluded" in part or "not estimable" in part:
                    notes[part] = None
    return list(used), list(notes)


def _survival(plan: Plan, ard: ARD, conf: str, comps: str, ref: str) -> list[str]:
    if not plan.time_to_event:
        return []
    ties = plan.conventions.ties.capitalize()
    lines = [
        "Censoring follows ADaM: CNSR = 0 is an event and any positive integer a censoring (the integer says why).",
        f"Time-to-event endpoints were estimated by the Kaplan-Meier method with Greenwood variance; {conf} CIs "
        "for the median (and for the quartiles in the analysis results) follow Brookmeyer and Crowley with the "
        "log-log transform (the SAS PROC LIFETEST default), and landmark rates have pointwise log-log CIs. Where the survival curve equals 0.5 "
        "over an interval, the median is the midpoint of that interval. Median follow-up was estimated by the "
        "reverse Kaplan-Meier method.",
    ]
    if not plan.comparators:   # one group: nothing is compared
        return lines + ["Kaplan-Meier estimates are computed by trialpress's own implementation, tested against R "
                        "survival on public reference datasets."]
    lines += [
        f"Hazard ratios ({comps} vs {ref}, the reference) come from one Cox proportional-hazards model per "
        f"endpoint with an indicator for each group, with {ties}'s method for tied event times; CIs and P values "
        "are Wald-based. Groups were also compared with the log-rank test, each group with the reference"
        + (" and all groups together" if len(plan.comparators) > 1 else "") + " (chi-square, degrees of freedom "
        "and P are in the analysis results).",
    ]
    strata = sorted({e.stratify_by for e in plan.time_to_event if e.stratify_by})
    if strata:
        lines.append(f"Sensitivity analyses were stratified by {', '.join(lower_first(plan.label_of(v)) for v in strata)} "
                     "(stratified log-rank test and Cox model with separate baseline hazards per stratum); subjects "
                     "with a missing stratum are excluded from them.")
    eps = [e.id for e in plan.time_to_event if e.adjust_for]
    if eps:
        used, left = _adjusted(ard, eps, "cox_adj")
        line = (f"Adjusted Cox models included {', '.join(plan.label_of(v) for v in used) or 'no covariate'}; "
                "categorical covariates enter as indicator variables against their first level in sorted order; "
                "subjects with a missing covariate are excluded from that model.")
        if left:
            line += " Left out: " + "; ".join(left) + "."
        lines.append(line)
    if plan.subgroups and any(e.subgroups for e in plan.time_to_event):
        # whatever the primary analysis is stratified or adjusted by: both are fitted on the group alone
        lines.append("Subgroup hazard ratios come from Cox models of the group alone (unstratified, unadjusted) "
                     "fitted within each subgroup level; the interaction P value is the Wald test of the "
                     "group-by-subgroup interaction term(s) in a Cox model with both main effects, not estimated when "
                     "a group has no subject or no event in a subgroup level.")
    lines.append("Kaplan-Meier, log-rank and Cox estimates are computed by trialpress's own implementations (Cox: "
                 "Newton-Raphson on the partial likelihood, stopping at a relative log-likelihood change below "
                 "1e-9, as R coxph), tested against R survival on public reference datasets.")
    return lines


def _binary(plan: Plan, ard: ARD, conf: str, comps: str, ref: str) -> list[str]:
    if not plan.binary:
        return []
    eps = [b.id for b in plan.binary if b.adjust_for]
    if not plan.comparators:   # one group: rates only
        return [f"Response rates are n/N of the patients analyzed with exact Clopper-Pearson {conf} CIs."]
    used, left = _adjusted(ard, eps, "logistic_adj")
    adjusted = f" and adjusted for {', '.join(plan.label_of(v) for v in used)}" if used else ""
    line = (f"Response rates are n/N of the patients analyzed in the group with exact Clopper-Pearson {conf} CIs; "
            f"differences in proportions ({comps} minus {ref}) have Newcombe hybrid score CIs. Odds ratios "
            f"({comps} vs {ref}) come from logistic regression with an indicator for each group, unadjusted{adjusted}, "
            f"with {_or_inference(plan)}. Where the data separate completely, Firth's penalized likelihood is used "
            "instead, with profile penalized-likelihood CIs and penalized likelihood-ratio P values (the logistf "
            "defaults), and the table notes it; an outcome that does not vary has no odds ratio. Logistic models are "
            "fitted by trialpress's own Newton-Raphson (converged by R glm's rule, a relative deviance change below "
            "1e-8, then iterated to the maximum), tested against R glm.")
    if left:
        line += " Left out: " + "; ".join(left) + "."
    return [line]


def _models(plan: Plan) -> list[str]:
    if not any(e.adjust_for for e in [*plan.time_to_event, *plan.binary]):
        return []
    return ["Before fitting, covariates are centered and scaled (as R coxph does) and the coefficients transformed "
            "back, so estimates are per unit of the covariate as recorded. A covariate that is constant in the "
            "analyzed subjects is left out and named; a coefficient that may be infinite (R coxph's test at "
            "convergence) is reported as not estimable."]


def _safety(plan: Plan, ard: ARD) -> list[str]:
    if plan.safety is None:
        return []
    s = plan.safety
    severe = "CTCAE grade 3 or higher" if s.variables.severity_kind == "ctcae" else "severe intensity"
    pop = lower_first(plan.populations[s.population].label)
    coded = [r for r in ard if r.analysis == "overview" and r.statistic == "collected"]
    how = "; ".join(f"{r.term.replace('_', ' ')}: {r.method}" for r in coded if r.text == "yes" and r.term != "any")
    missing = [r.term.replace("_", " ") for r in coded if r.text == "no"]
    line = (f"Adverse events are treatment-emergent events in the {pop}, counted as subjects with at least one "
            f"event; severe means {severe}. Each category is read as the data code it ({how}).")
    if missing:
        line += f" Not collected in these data: {', '.join(missing)} (shown as such, not as zero)."
    line += (f" Terms with an incidence of at least {s.pt_threshold_percent:g}% in any group are tabulated by system "
             "organ class and preferred term.")
    if s.of_interest and plan.comparators:
        line += (" For adverse events of interest, risk differences vs the reference have Newcombe hybrid score "
                 "CIs, and exposure-adjusted incidence per 100 patient-years has exact Poisson CIs.")
    return [line]


_COV = {"us": "unstructured", "toeplitz": "Toeplitz", "ar1": "first-order autoregressive", "cs": "compound symmetry"}
_DF = {"satterthwaite": "Satterthwaite (as R mmrm and SAS DDFM=SATTERTHWAITE)",
       "kenward-roger": "Kenward-Roger (SAS DDFM=KR)", "residual": "the residual degrees of freedom (as nlme::gls)"}


def _continuous(plan: Plan, ard: ARD) -> list[str]:
    if not plan.continuous:
        return []
    conf = conf_label(plan.conventions.alpha)
    lines = [f"Continuous endpoints are summarized by visit as n, mean (SD) and median with first and third "
             "quartiles (SAS QNTLDEF=5, R type 2), for the baseline value, the value and its change from baseline; "
             f"the analysis results also hold each mean's t-based {conf} CI and the range."]
    for c in plan.continuous:
        if c.model == "descriptive":
            continue
        weights = ("observed margins of the factors (SAS LSMEANS / OM)" if c.lsmeans == "observed"
                   else "equal weights of the factor levels")
        terms = ", ".join([*c.covariates, *c.factors]) or "no covariates"
        compared = bool(plan.comparators)
        if c.model == "ancova":
            on = f"group and {terms}" if compared else terms
            lines.append(f"{c.label}: ANCOVA (ordinary least squares) of the {c.value} at {c.primary_visit} on "
                         f"{on}, continuous covariates at their mean; LS means with {weights}; "
                         + ("differences vs the reference with t tests on the residual degrees of freedom; "
                            if compared else "")
                         + "subjects without a value at that visit are excluded (complete cases)."
                         + (" A linear dose-response contrast of the LS means is tested." if c.doses else ""))
            continue
        used = ard.get(keys.continuous(c.id, "mmrm", "covariance"))
        order = " → ".join(_COV[s] for s in c.structures)
        lines.append(f"{c.label}: mixed model for repeated measures fitted by REML (trialpress's own implementation, "
                     "checked against R nlme::gls and emmeans), with "
                     + ("group, visit, group-by-visit, " if compared else "visit, ") + f"{terms}" + (f" and {', '.join(c.covariate_by_visit)}-by-visit" if c.covariate_by_visit else "")
                     + f"; within-subject covariance {order} (the first that converges is used; here "
                     f"{_COV.get(used.text, used.text) if used else 'none'}); denominator degrees of freedom by "
                     f"{_DF[c.df_method]}; LS means with {weights}. Every observed visit of a subject is used; missing "
                     "visits are assumed missing at random, and nothing is imputed.")
    return lines


def _or_inference(plan: Plan) -> str:
    """How the odds ratios' CIs and P values are obtained (plan conventions.odds_ratio_inference)."""
    if plan.conventions.odds_ratio_inference == "likelihood-ratio":
        return ("profile-likelihood CIs and likelihood-ratio P values (each group's term against the model without "
                "it; these keep their coverage where a rate nears 0 or 100%, where Wald's lose power)")
    return "Wald CIs and P values"


def _decisions(plan: Plan, conf: str) -> list[str]:
    described = {e.id for e in [*plan.time_to_event, *plan.continuous] if e.role == "safety"}   # _safety_wording
    sides = sorted({f"{lower_first(e.label)}: {e.better} is better" for e in plan.endpoints
                    if e.id not in described})
    favors = f"names the group it favors by the plan's better direction ({'; '.join(sides)}); " if sides else ""
    return [f"The text calls a difference significant when its {conf} CI excludes no difference (an HR or OR of 1, a "
            f"mean difference of 0), and {favors}medians are compared in words only when both are estimable."
            + _safety_wording(plan)]


def _safety_wording(plan: Plan) -> str:
    """How the text states a significant difference in a safety time to event or a safety continuous endpoint:
    as the time it makes longer or shorter, the mean it makes higher or lower, with each group than with the
    reference, not as a result favoring one of them."""
    def names(endpoints: list[Any]) -> str:
        labels = [lower_first(e.label) for e in endpoints if e.role == "safety"]
        return f"{' and '.join(labels)}, {'a safety endpoint' if len(labels) == 1 else 'safety endpoints'}"

    out = ""
    if any(e.role == "safety" for e in plan.time_to_event):
        out += (f" For {names(plan.time_to_event)}, the text states whether the time was longer or shorter with each "
                "group than with the reference, in the order of the hazard ratio.")
    if any(e.role == "safety" for e in plan.continuous):
        out += (f" For {names(plan.continuous)}, the text states whether the mean at the primary visit was higher or "
                "lower with each group than with the reference, in the order of the difference.")
    return out


CODEC_NAMES = {"cp1252": "Windows-1252 (SAS wlatin1, the encoding of SAS on Windows)",
               "iso8859-1": "ISO 8859-1 (latin1)"}


def _encodings(plan: Plan, ard: ARD) -> list[str]:
    """Files whose text is not UTF-8, by the codec they were read with (ARD `study.encoding` rows)."""
    by_codec: dict[str, list[str]] = {}
    for r in ard.select(analysis="study", statistic="encoding"):
        by_codec.setdefault(r.text, []).append(r.term)
    if plan.data.encoding != "auto":
        return [f"Text in {', '.join(files)} was read as {CODEC_NAMES.get(c, c)}, as the plan's data.encoding says."
                for c, files in by_codec.items()]
    return [f"Text in {', '.join(files)} is not UTF-8 and was read as {CODEC_NAMES.get(c, c)}; a file written in "
            "another encoding is named in the plan's data.encoding." for c, files in by_codec.items()]


def _percentages(plan: Plan) -> str:
    """The precision of n (%): set by each percentage's own denominator (plan conventions), so that a table with
    groups on both sides of the threshold shows both, and the reader is told why."""
    c = plan.conventions
    small, large = c.percent_decimals_small_n, c.percent_decimals_large_n
    places = {0: "whole numbers", 1: "one decimal", 2: "two decimals"}
    rule = (f"with {places[small]}" if small == large else
            f"with {places[small]} where that denominator is 100 or fewer and {places[large]} above")
    # only a denominator over 200 can give a share that rounds to 0 or 100: the large-N decimals say how it shows
    least, most = f"<{fixed(10.0 ** -large, large)}", f">{fixed(100 - 10.0 ** -large, large)}"
    return (f"Percentages in n (%) are of the denominator the table names (usually the N of the column), {rule}; "
            f"a share above 0 that would round to 0 is shown as {least}, one short of all that would round to 100 "
            f"as {most}.")


def _common(plan: Plan, ard: ARD, software: dict[str, str], renderer: dict[str, str]) -> list[str]:
    """'NE' for the estimates that can be not estimable (survival curves, hazard ratios), P values where the ARD
    has one, and the software."""
    compared = bool(plan.comparators)
    ne = ["NE (not estimable) is shown where an estimate does not exist"
          + (": a median or CI bound the survival curve does not reach, a rate at a time past the group's last "
             "follow-up" + (", or a hazard ratio for a group without subjects or events." if compared else ".")
             if plan.time_to_event else ".")]
    has_p = any(r.statistic == "p" for r in ard)
    reading = _encodings(plan, ard)
    na = ard.select(analysis="study", statistic="na_missing")    # each file with the format it was read as
    csv = [r.term for r in na if r.text == "csv"]
    json = [r.term for r in na if r.text != "csv"]
    if csv:
        reading.append(f"In {', '.join(csv)}, a field written NA without quotes is a missing value, as R's write.csv "
                       "and readr's write_csv write one (a quoted \"NA\" is kept as text).")
    if json:
        reading.append(f"In {', '.join(json)}, a number written as the text NA is a missing value, as R writes one "
                       "(Dataset-JSON's missing value is null).")
    versions = ", ".join(f"{name} {software.get(key, '')}" for name, key in (
        ("trialpress", "trialpress"), ("Python", "python"), ("pandas", "pandas"), ("NumPy", "numpy"),
        ("SciPy", "scipy"), ("statsmodels", "statsmodels"), ("matplotlib", "matplotlib"),
        ("great_expectations", "great_expectations")))
    return [
        *ne,
        *reading,
        _percentages(plan),
        *(["P values are two-sided and shown with three decimals (P < .001 below .001)."] if has_p else []),
        f"Software: {versions}; document rendered with "
        + ", ".join(f"{k} {v}" for k, v in renderer.items()) + ".",
    ]

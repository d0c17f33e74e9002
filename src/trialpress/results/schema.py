"""The ARD schema: what every column means, which analyses and statistics exist, and the check every row
passes before it enters the ARD.

`docs/ard.md` is generated from this module (`python -m trialpress.results.schema > docs/ard.md`; a test
keeps it current), so the documentation and the check cannot drift apart.
"""

from __future__ import annotations

import math
from typing import Any

COLUMN_DOCS: dict[str, str] = {
    "id": "Stable identifier derived from the key columns (endpoint, analysis, statistic, then each non-empty "
          "of group, subgroup, subgroup_level, parameter, parent, term, timepoint as `name=value`; characters "
          "other than letters, digits, `-`, `_`, `@` become `_` with a 6-hex hash of the original appended). "
          "Every number in the document links to its row by this id; versions are compared by it.",
    "analysis": "The kind of analysis (see the table of analyses below).",
    "endpoint": "The plan's endpoint id, or a section: `POP` (population sizes), `STUDY` (study facts), "
                "`BASELINE`, `SAFETY`.",
    "population": "The plan's population id the number is computed in ('' for study facts).",
    "group": "Value of the population's grouping variable; '' for all subjects together. For a comparison, the "
             "comparator group.",
    "reference": "For a comparison (HR, OR, difference, test): the reference group. '' otherwise.",
    "subgroup": "Subgroup variable (ADSL) for subgroup analyses; '' for all subjects.",
    "subgroup_level": "Level of `subgroup`.",
    "parameter": "The variable or measure summarized: a baseline variable, an exposure variable; '' where the "
                 "endpoint says it.",
    "parent": "The enclosing term of a nested term: the system organ class of a preferred term.",
    "term": "The category counted or modeled: an AE term, a safety overview category or AE of interest, a "
            "baseline category, a covariate term of a model, the population of a population count.",
    "timepoint": "Time of a landmark rate or a risk-table tick, in the endpoint's display unit, as text ('6').",
    "statistic": "What the number is (see the statistics of each analysis below).",
    "value": "The number. NaN (empty in CSV, null in JSON) when not estimable (see `note`) or when the result is "
             "text (see `text`).",
    "lower": "Lower bound of the two-sided CI at the plan's level (1 - alpha); NaN where there is none.",
    "upper": "Upper bound of that CI.",
    "text": "A text-valued result: the outcome of a decision (a group value, 'yes'/'no'), a date (ISO 8601).",
    "n": "Number of subjects the statistic is based on: the denominator of a count or proportion, the subjects "
         "in a Kaplan-Meier curve or a model. NaN where no subject count applies.",
    "unit": "Unit of value/lower/upper when they carry one (days, weeks, months, years, patient-years, "
            "per 100 patient-years, %; a continuous endpoint's: the plan's, else its records' AVALU, % for a "
            "percent change); '' for counts, ratios and P values.",
    "method": "How the number was computed, in words (estimator, CI method, model, ties, adjustment).",
    "note": "Why a value is not estimable, what was excluded, a model warning; for a decision, the rule applied.",
}


from trialpress.results.schema_continuous import CONTINUOUS_ANALYSES
from trialpress.results.schema_safety import SAFETY_ANALYSES
from trialpress.results.schema_types import Analysis, analysis as _a


_TEST = {"chisq": "test statistic (chi-square)", "df": "its degrees of freedom", "p": "two-sided P value"}
_MODEL = {"hr": "hazard ratio of `group` vs `reference` (Wald CI)", "p": "Wald P of the HR",
          "events": "events in the model"}
_LOGIT = {"or": "odds ratio of `group` vs `reference` (Wald or profile CI: `method`)", "p": "P of the OR"}

_CORE: dict[str, Analysis] = {
    "population": _a("Size of a population per group (term = population id)", n="subjects"),
    "study": _a("Facts about the data", text=("cutoff", "na_missing", "encoding"),
                cutoff="data cut-off date (text, ISO 8601)",
                encoding="a file (term) whose text is not UTF-8: the codec it was read with (text)",
                na_missing="a file (term) whose NA values were read as missing: a CSV file's unquoted NA fields, "
                           "a Dataset-JSON file's numbers written as the text NA (text: its format, csv or "
                           "dataset-json)"),
    "analysis_set": _a("Subjects an endpoint is analyzed in, per group (text = who they are)", text=("label",),
                       n="subjects analyzed", label="who the analyzed subjects are (text)",
                       excluded="subjects of the population left out (not in the analyzed set or without a "
                                "record)"),
    "km": _a("Kaplan-Meier estimates per group", n="subjects", events="events", censored="censored subjects",
             median="median time", q25="25th percentile of time", q75="75th percentile of time",
             rate="survival probability at `timepoint`", at_risk="subjects at risk at `timepoint`"),
    "risk": _a("KMunicate table under a KM figure, at each axis tick (`timepoint`)", at_risk="at risk",
               events="cumulative events", censored="cumulative censored"),
    "followup": _a("Median follow-up by reverse Kaplan-Meier", median="median follow-up time"),
    "curve": _a("A KM step function in the linked curve table (text = curve id)", text=("curve",),
                points="number of distinct times", curve="curve id (text)"),
    "cox": _a("Cox model with the group indicators", **_MODEL),
    "cox_strat": _a("Stratified Cox model", **_MODEL),
    "cox_adj": _a("Cox model adjusted for the plan's covariates", **_MODEL),
    "cox_adj_term": _a("Covariate terms of the adjusted Cox model (term)", hr="hazard ratio per unit or vs the "
                       "reference level", p="Wald P"),
    "logrank": _a("Log-rank test: `group` vs `reference`, or all groups when group = ''", **_TEST),
    "logrank_strat": _a("Stratified log-rank test", **_TEST),
    "subgroup": _a("Within a subgroup level", n="subjects", events="events", median="KM median",
                   hr="Cox HR within the level"),
    "interaction": _a("Group-by-subgroup interaction in a Cox model (Wald test)", **_TEST),
    "rate": _a("Binary endpoint per group", n="responders", proportion="responders / subjects (exact CI)"),
    "diff": _a("Difference in proportions, `group` minus `reference`", difference="difference (Newcombe CI)"),
    "logistic": _a("Logistic regression with the group indicators", **_LOGIT),
    "logistic_adj": _a("Logistic regression adjusted for the plan's covariates", **_LOGIT),
    "logistic_adj_term": _a("Covariate terms of the adjusted logistic model (term)", **{"or": "odds ratio",
                            "p": "P"}),
    "baseline": _a("Baseline characteristics (parameter = variable; term = category for counts)",
                   n="subjects (in the category)", mean="mean", sd="standard deviation (n - 1)",
                   median="median", min="minimum", max="maximum", missing="subjects with no value"),
    "overview": _a("Subjects with >= 1 TEAE of an overview category (term)", text=("collected",),
                   n="subjects with an event", difference="risk difference vs reference (Newcombe CI)",
                   collected="'no' when the variable behind the category was not collected (text)"),
    "soc_any": _a("Subjects with >= 1 TEAE in a system organ class (term)", n="subjects"),
    "soc_severe": _a("Subjects with >= 1 severe (grade >= 3) TEAE in a system organ class (every SOC of soc_any, "
                     "0 included)", n="subjects"),
    "pt_any": _a("Subjects with >= 1 TEAE of a preferred term (term) within its SOC (parent)", n="subjects"),
    "pt_severe": _a("Subjects with >= 1 severe TEAE of a preferred term (every PT of pt_any, 0 included)",
                    n="subjects"),
    "interest": _a("AEs of interest (term = the plan's id)", n="subjects", difference="risk difference"),
    "interest_severe": _a("Severe AEs of interest", n="subjects", difference="risk difference"),
    "interest_eair": _a("Exposure-adjusted incidence of an AE of interest", rate="subjects with the event per "
                        "100 patient-years (exact Poisson CI)", patient_years="time at risk in patient-years (to the first event, or the end of exposure without one)"),
    "exposure": _a("Exposure per group (parameter = ADSL variable)", mean="mean", median="median", min="minimum",
                   max="maximum", patient_years="sum in years"),
    "decision": _a("A decision the text states, with its rule in `note`",
                   text=("favours", "longer", "higher", "more_frequent"),
                   significant="1 if the CI excludes no difference at the plan's alpha, 0 if not, NaN if no CI",
                   favours="group the estimate favors by the plan's better direction ('' = neither)",
                   longer="group with the longer median ('' = not comparable: a median is NE, or equal)",
                   higher="group with the higher rate ('' = equal)",
                   above_threshold="1 if the term's incidence reaches the plan's threshold in any group",
                   more_frequent="with `group` vs `reference`: 'yes' (risk-difference CI above 0), 'numerically' "
                                 "(difference above 0, CI includes 0), 'no', or '' (difference not estimable)",
                   no_apparent_effect="1 if the subgroup interaction is not significant at the plan's alpha"),
}

# every analysis, by area (each area's module lists its own); a name may be defined once only
ANALYSES: dict[str, Analysis] = {**_CORE, **SAFETY_ANALYSES, **CONTINUOUS_ANALYSES}
assert len(ANALYSES) == len(_CORE) + len(SAFETY_ANALYSES) + len(CONTINUOUS_ANALYSES), "an analysis defined twice"


def check_row(r: Any) -> str | None:
    """What is wrong with a row, or None. Rows are built by the analysis: a problem here is a bug there."""
    spec = ANALYSES.get(r.analysis)
    if spec is None:
        return f"unknown analysis {r.analysis!r} (add it to results/schema.py with its statistics)"
    if r.statistic not in spec.statistics:
        return f"statistic {r.statistic!r} is not one of {r.analysis}'s: {', '.join(spec.statistics)}"
    if not r.endpoint:
        return "empty endpoint"
    for name in ("value", "lower", "upper", "n"):
        x = getattr(r, name)
        if not isinstance(x, float):
            return f"{name} is not a float ({type(x).__name__})"
        if math.isinf(x):
            return f"{name} is infinite"
    if not math.isnan(r.n) and r.n < 0:
        return f"n is negative ({r.n})"
    if not (math.isnan(r.lower) or math.isnan(r.upper)) and r.lower > r.upper * (1 + 1e-12) + 1e-12:
        return f"lower {r.lower} > upper {r.upper}"
    is_text = r.statistic in spec.text_statistics
    if is_text and not math.isnan(r.value):
        return "a text-valued statistic carries a number"
    if not is_text and r.text:
        return "a numeric statistic carries text"
    if r.reference and not r.group and r.analysis not in {"logrank", "logrank_strat"}:
        return "a comparison without a comparator group"
    return None


def markdown() -> str:
    """docs/ard.md: the columns and every analysis with its statistics."""
    lines = ["# The analysis-results dataset (ARD)", "",
             "Generated from `src/trialpress/results/schema.py` (`python -m trialpress.results.schema > docs/ard.md`).",
             "", "Every number, curve and decision the report shows is one row of `ard.csv` / `ard.json` "
             "(schema `trialpress-ard/2`); Kaplan-Meier step functions are in the linked curve table "
             "(`curves.csv`, and `curves` in `ard.json`). The same results are written in the long layout of the "
             "pharmaverse `cards` package (`ard-cards.csv`) and as a CDISC ARS reporting event (`ars.json`).", "",
             "## Columns", "", "| column | meaning |", "|---|---|"]
    lines += [f"| `{c}` | {doc} |" for c, doc in COLUMN_DOCS.items()]
    lines += ["", "## Analyses and statistics", "", "| analysis | what | statistics |", "|---|---|---|"]
    for name, spec in ANALYSES.items():
        stats = "; ".join(f"`{s}`: {d}" for s, d in spec.statistics.items())
        lines.append(f"| `{name}` | {spec.description} | {stats} |")
    lines += ["", "## Rules every row passes", "",
              "- the analysis and the statistic are listed above; the endpoint is not empty;",
              "- value, lower, upper and n are floats, never infinite; n is not negative; lower <= upper;",
              "- a text-valued statistic has its result in `text` and NaN in `value`; a numeric one has no text;",
              "- a comparison (a reference group) names its comparator group (log-rank tests of all groups "
              "excepted);", "- ids are unique.", ""]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(markdown(), end="")

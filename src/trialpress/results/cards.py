"""The ARD in the long layout of the pharmaverse `cards` R package (with `cardx` names for model results).

Each ARD row becomes one or more rows of a `card`, one per number. Value, lower and upper become
`estimate`, `conf.low` and `conf.high`, or the statistic's own cards name (`n`, `mean`, `p.value` ...). The
ARD `n` becomes `N` when it is the denominator of a count, or `N_obs` when it is the number of subjects an
estimate rests on. The columns are those of a `card`:

    group1, group1_level, group2, group2_level, group3, group3_level, variable, variable_level, context,
    stat_name, stat_label, stat, fmt_fn, warning, error

Trace columns follow: `ard_id` (the ARD row the number comes from), `ard_analysis`, `endpoint`,
`population`, `reference` (the reference group of a comparison) and `unit`. `cards::as_card()` accepts a
data frame with these extra columns.

- group1 holds the population's grouping variable (`plan.group_variable(population)`) and group1_level
  the group. It is empty for all subjects together. group2 holds the subgroup variable and level, the
  system organ class of a preferred term (as `ard_stack_hierarchical()` has it), or the PARAMCD of a lab
  or vital-sign table. group3 holds the visit of a by-visit summary, the baseline category of a shift
  table, or the SOC under a maximum grade.
- variable and variable_level follow the cards/cardx function for the same statistic. `ard_continuous`
  and `ard_categorical` use the baseline variable and category; `ard_stack_hierarchical` uses
  AEBODSYS/AEDECOD and the term; AVAL or CHG is used by visit. `ard_survival_survfit` uses `time` and the
  landmark, or `prob` and 0.5/0.25/0.75 for quantiles. `ard_regression` uses the covariate and its level
  for adjusted-model terms. The endpoint id is used where no cards function applies.
- context names the analysis. It is `survival_survfit`, `survival_coxph`, `survival_survdiff`,
  `regression_logistic`, `proportion_ci`, `proportion_diff`, `continuous`, `categorical`, `dichotomous`,
  `missing`, `hierarchical`, `incidence_rate`, `decision`, ... The whole table is in docs/exports.md.
- fmt_fn is what the report uses for the number: an integer number of decimals, or a cards format string
  such as "xx.x%" for numbers the report shows as percentages. It is empty for text.
- error holds the ARD note on the row of a value that is not estimable. warning holds any other note of a
  model, test or estimate. The notes of decision rules and analyzed sets explain the row rather than warn.
- `p` (n / N) is added to counts, as `ard_categorical()` does. It is the one number here that is computed
  from ARD numbers and not copied from them.

An analysis not described here is mapped from the names of its statistics and its key columns, so every ARD
row has its cards rows. Text cells are neutralised for spreadsheets (`csv_text`). The bytes depend only on
the ARD and the plan. Recent cards versions (0.7 and later) call the column `fmt_fun`: rename it on import
there.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from trialpress.plan import Plan
from trialpress.plan.safety import Measurements
from trialpress.results.ard import ARD, CsvText, Row
from trialpress.results.schema import ANALYSES

CARD_COLUMNS: tuple[str, ...] = ("group1", "group1_level", "group2", "group2_level", "group3", "group3_level",
                                 "variable", "variable_level", "context", "stat_name", "stat_label", "stat", "fmt_fn",
                                 "warning", "error")
TRACE_COLUMNS: tuple[str, ...] = ("ard_id", "ard_analysis", "endpoint", "population", "reference", "unit")
COLUMNS: tuple[str, ...] = CARD_COLUMNS + TRACE_COLUMNS
# what makes a cards row unique (the stat aside)
KEY_COLUMNS: tuple[str, ...] = ("ard_analysis", "endpoint", "population", "context", "group1", "group1_level",
                                "group2", "group2_level", "group3", "group3_level", "variable", "variable_level",
                                "stat_name")
TOTAL = "..ard_total_n.."          # cards' variable of a total N
OVERALL = "..ard_hierarchical_overall.."   # cards' variable of 'any event' in a hierarchical ARD

Fmt = int | str | None


# --------------------------------------------------------------------------------------- statistics
@dataclass(frozen=True)
class _Stat:
    """How one ARD statistic becomes cards rows. `kind`:
    - "count": value is a count of subjects out of `n` → name, then `denominator` (and p where `share`);
    - "total": value is itself a number of subjects → name (then N_obs from `n`);
    - "estimate": value (with lower/upper as conf.low/conf.high where `ci`), then N_obs;
    - "text": the ARD text as a character stat."""

    context: str
    name: str
    kind: str
    ci: bool = False
    share: bool = False
    denominator: str = "N"


def _family(analysis: str) -> str:
    """The context of an analysis by its family (for names the tables below do not list)."""
    if analysis.startswith(("soc_", "pt_")) or analysis == "max_grade":
        return "hierarchical"
    if analysis.endswith("_visit") or analysis in {"exposure", "exposure_summary"}:
        return "continuous"
    if analysis.endswith(("_shift", "_grade34", "_liver")) or analysis in {"disposition", "deaths",
                                                                            "exposure_category"}:
        return "categorical"
    if analysis in {"overview", "interest", "interest_severe"}:
        return "dichotomous"
    if analysis in {"eair", "interest_eair"}:
        return "incidence_rate"
    return {"death_listing": "listing", "coding": "attributes", "decision": "decision", "study": "study",
            "analysis_set": "analysis_set"}.get(analysis, analysis)


_SHARED = {"categorical", "dichotomous", "hierarchical"}     # counts there get p = n / N
_CI_STATS = {"rate", "proportion", "difference", "hr", "or"}   # (and Kaplan-Meier quantiles)

# ARD statistic → cards (name, kind), whatever the analysis (the context comes from the analysis)
_BY_NAME: dict[str, tuple[str, str]] = {
    "n": ("n", "count"), "subjects": ("N", "total"), "missing": ("N_miss", "count"), "events": ("n.event", "count"),
    "censored": ("n.censor", "count"), "at_risk": ("n.risk", "count"), "excluded": ("n_excluded", "count"),
    "mean": ("mean", "estimate"), "sd": ("sd", "estimate"), "median": ("median", "estimate"),
    "min": ("min", "estimate"), "max": ("max", "estimate"), "p": ("p.value", "estimate"),
    "chisq": ("statistic", "estimate"), "df": ("df", "estimate"), "patient_years": ("tot_person_time", "estimate"),
    **{s: ("estimate", "estimate") for s in ("rate", "proportion", "difference", "hr", "or", "q25", "q75")},
}

# exceptions by (analysis, statistic): context and name where the analysis says more than the statistic
_SPECIAL: dict[tuple[str, str], _Stat] = {
    ("km", "n"): _Stat("survival_survfit", "N", "total"),
    ("subgroup", "n"): _Stat("survival_survfit", "N", "total"),
    ("subgroup", "hr"): _Stat("survival_coxph", "estimate", "estimate", ci=True),
    ("rate", "n"): _Stat("dichotomous", "n", "count", share=True),
    ("rate", "proportion"): _Stat("proportion_ci", "estimate", "estimate", ci=True),
    ("curve", "points"): _Stat("survival_curve", "n.times", "estimate"),
    ("curve", "curve"): _Stat("survival_curve", "curve_id", "text"),
    ("exposure", "patient_years"): _Stat("continuous", "sum", "estimate"),
    ("exposure_summary", "patient_years"): _Stat("continuous", "sum", "estimate"),
}
_CONTEXTS: dict[str, str] = {
    "km": "survival_survfit", "subgroup": "survival_survfit", "risk": "survival_survfit_counts",
    "followup": "survival_followup", "curve": "survival_curve", "cox": "survival_coxph",
    "cox_strat": "survival_coxph_strata", "cox_adj": "survival_coxph_adjusted", "cox_adj_term": "survival_coxph_adjusted",
    "logrank": "survival_survdiff", "logrank_strat": "survival_survdiff_strata",
    "interaction": "survival_coxph_interaction", "diff": "proportion_diff", "logistic": "regression_logistic",
    "logistic_adj": "regression_logistic_adjusted", "logistic_adj_term": "regression_logistic_adjusted",
}
_RISK_NAMES = {"at_risk": "n.risk", "events": "cum.event", "censored": "cum.censor"}
_QUANTILE = {"median": "0.5", "q25": "0.25", "q75": "0.75"}

LABELS: dict[str, str] = {
    "n": "n", "N": "N", "p": "%", "N_obs": "N Observed", "N_miss": "N Missing", "n_excluded": "N Excluded",
    "n.event": "Number of Events", "n.censor": "Number Censored", "n.risk": "Number at Risk",
    "cum.event": "Cumulative Events", "cum.censor": "Cumulative Censored", "conf.low": "CI Lower Bound",
    "conf.high": "CI Upper Bound", "p.value": "p-value", "statistic": "X-squared Statistic",
    "df": "Degrees of Freedom", "mean": "Mean", "sd": "SD", "median": "Median", "min": "Min", "max": "Max",
    "sum": "Patient-years", "tot_person_time": "Person-years", "curve_id": "Curve ID",
    "n.times": "Number of Distinct Times", "cutoff": "Data Cut-off Date", "collected": "Collected", "label": "Label",
    "na_missing": "Files with NA Read as Missing", "encoding": "Text Encoding",
}
_ESTIMATE_LABELS: dict[tuple[str, str], str] = {
    ("km", "median"): "Median Time", ("km", "q25"): "25th Percentile of Time", ("km", "q75"): "75th Percentile of Time",
    ("km", "rate"): "Survival Probability", ("subgroup", "median"): "Median Time",
    ("followup", "median"): "Median Follow-up", ("rate", "proportion"): "Proportion",
    ("diff", "difference"): "Difference in Proportions",
}
_STAT_LABELS = {"hr": "Hazard Ratio", "or": "Odds Ratio", "difference": "Risk Difference",
                "rate": "Incidence Rate per 100 Patient-years"}
_DECISION_LABELS = {"significant": "Significant", "favours": "Favored Group", "longer": "Group with Longer Median",
                    "higher": "Group with Higher Rate", "above_threshold": "Incidence at or above Threshold",
                    "more_frequent": "More Frequent than Reference", "no_apparent_effect": "No Apparent Subgroup Effect"}


def _is_text(r: Row) -> bool:
    spec = ANALYSES.get(r.analysis)
    return spec is not None and r.statistic in spec.text_statistics


def _is_continuous(plan: Plan, r: Row) -> bool:
    kind = next((b.kind for b in plan.baseline if b.variable == r.parameter), None)
    return kind == "continuous" if kind is not None else not r.term


def stat_spec(r: Row, plan: Plan) -> _Stat:
    """How ARD row `r` becomes cards rows (its context, its cards statistic name and kind)."""
    a, s = r.analysis, r.statistic
    if a == "population":
        return _Stat("categorical", "n", "total") if r.group else _Stat("total_n", "N", "total")
    context = _CONTEXTS.get(a) or _family(a)
    if a == "baseline":
        context = "categorical" if not _is_continuous(plan, r) else "continuous"
    if (a, s) in _SPECIAL:
        return _SPECIAL[(a, s)]
    if s == "missing":
        return _Stat("missing", "N_miss", "count", denominator="N_obs")
    if _is_text(r):
        return _Stat(context, s, "text")
    if a == "decision":
        return _Stat(context, s, "estimate")
    if a in {"km", "subgroup", "followup"} and s in _QUANTILE:
        return _Stat(context, "estimate", "estimate", ci=True)
    if a == "risk" and s in _RISK_NAMES:
        return _Stat(context, _RISK_NAMES[s], "count")
    if s == "n" and context == "continuous":
        return _Stat(context, "N", "total")
    if s == "difference":
        context = "proportion_diff"
    name, kind = _BY_NAME.get(s, (s, "estimate"))
    if kind == "count" and math.isnan(r.n):
        kind = "total"
    return _Stat(context, name, kind, ci=s in _CI_STATS, share=kind == "count" and context in _SHARED)


# --------------------------------------------------------------------------------------- layout
def group_variable(plan: Plan, population: str) -> str:
    """The ADSL variable that assigns the subjects of `population` to the groups."""
    return plan.group_variable(population) if population in plan.populations else plan.groups.variable


def _term_parts(term: str) -> tuple[str, str]:
    """A model term 'SEX=M' as (variable, level); 'AGE' as ('AGE', '')."""
    var, _, level = term.partition("=")
    return var, level


@dataclass(frozen=True)
class Layout:
    """Where the key parts of an ARD row go in the cards columns."""

    group2: tuple[str, str] = ("", "")
    group3: tuple[str, str] = ("", "")
    variable: tuple[str, str] = ("", "")


def layout(r: Row, plan: Plan) -> Layout:
    """group2, group3 and (variable, variable_level) of ARD row `r` (group1 is always its group)."""
    a, s = r.analysis, r.statistic
    v = plan.safety.variables if plan.safety else None
    soc, pt = (v.soc, v.pt) if v else ("AEBODSYS", "AEDECOD")
    sub = (r.subgroup, r.subgroup_level) if r.subgroup and a != "interaction" else ("", "")
    if a == "population":
        return Layout(variable=(group_variable(plan, r.population), r.group) if r.group else (TOTAL, ""))
    if a == "study":
        if s == "cutoff":
            return Layout(variable=(plan.data.cutoff_variable or "cutoff", ""))
        return Layout(variable=("file", r.term) if r.term else ("data", ""))
    if a in {"km", "subgroup", "followup"} and s in _QUANTILE:
        return Layout(sub, variable=("prob", _QUANTILE[s]))
    if a in {"km", "risk"} and r.timepoint:
        return Layout(sub, variable=("time", r.timepoint))
    if a in {"cox_adj_term", "logistic_adj_term"}:
        return Layout(variable=_term_parts(r.term))
    if a == "interaction":
        return Layout(variable=(r.subgroup, ""))
    if a in {"baseline", "exposure"}:
        return Layout(variable=(r.parameter, r.term))
    if a.startswith("soc_"):
        return Layout(variable=(soc, r.term))
    if a.startswith("pt_"):
        return Layout((soc, r.parent), variable=(pt, r.term))
    if a == "max_grade":
        return Layout((v.severity if v else "AETOXGR", r.parameter), (soc, r.parent) if r.parent else ("", ""),
                      (pt, r.term) if r.term else (OVERALL, ""))
    if a in {"overview", "interest", "interest_severe", "interest_eair", "eair"}:
        return Layout(variable=(r.term, ""))
    if a == "exposure_summary":
        category = plan.safety.exposure.category if plan.safety and plan.safety.exposure else None
        return Layout((category or "category", r.parent) if r.parent else ("", ""), variable=(r.parameter, ""))
    if a == "exposure_category":
        return Layout(variable=("duration", r.term))
    if a == "disposition":
        return Layout(variable=(r.parameter, r.term) if r.parameter else (TOTAL, ""))
    if a == "deaths":
        return Layout(("period", r.parent), variable=("cause", r.term))
    if a == "death_listing":
        return Layout((plan.data.subject_id, r.term), variable=("death", ""))
    m = _measurements(plan, a)
    if m is not None and (a.endswith(("_visit", "_shift", "_grade34"))):
        return _measurement_layout(r, m)
    if a == "decision":
        group2 = sub if sub[0] else ((soc, r.parent) if r.parent else ("", ""))
        return Layout(group2, variable=(r.parameter or r.endpoint, r.term))
    if a in _CONTEXTS or a in {"analysis_set", "rate", "curve", "km", "risk", "followup"}:
        return Layout(sub, variable=(r.endpoint, r.timepoint))
    # any other analysis: every key part keeps a place, so that rows stay distinct
    second = sub if sub[0] else (("parent", r.parent) if r.parent else ("", ""))
    third = ("parent", r.parent) if sub[0] and r.parent else (("timepoint", r.timepoint) if r.timepoint else ("", ""))
    level = "|".join(x for x in (r.term, r.timepoint if third[0] != "timepoint" else "") if x)
    return Layout(second, third, (r.parameter or r.endpoint, level))


def _measurement_layout(r: Row, m: Measurements) -> Layout:
    """A lab or vital-sign table: PARAMCD in group2; the visit (by-visit summary) or the baseline category
    (shift table) in group3; AVAL/CHG, or the worst post-baseline indicator or grade, as the variable."""
    a, param = r.analysis, ("PARAMCD", r.parameter)
    if a.endswith("_visit"):
        visit = (m.visit, r.timepoint) if r.timepoint else ("", "")
        return Layout(param, visit, variable=((m.change or "CHG") if r.term == "change" else "AVAL", ""))
    if a.endswith("_grade34"):
        return Layout(param, variable=(m.grade or "ATOXGR", r.term))
    base, worst = ((m.baseline_grade or "BTOXGR", m.grade or "ATOXGR") if a.endswith("_grade_shift")
                   else (m.baseline_range_indicator or "BNRIND", m.range_indicator or "ANRIND"))
    if r.term:
        return Layout(param, (base, r.parent), variable=(worst, r.term))
    return Layout(param, variable=(base, r.parent) if r.parent else (TOTAL, ""))


def _measurements(plan: Plan, analysis: str) -> Measurements | None:
    """The plan's lab (lab_*) or vital-sign (vs_*) settings of a measurement analysis, else None."""
    if plan.safety is None:
        return None
    if analysis.startswith("lab_"):
        return plan.safety.labs
    if analysis.startswith("vs_"):
        return plan.safety.vitals
    return None


# --------------------------------------------------------------------------------------- formats
_COUNT_NAMES = {"n", "N", "N_obs", "N_miss", "n_excluded", "n.event", "n.censor", "n.risk", "cum.event", "cum.censor",
                "df", "n.times"}


def _magnitude(x: float | None) -> int:
    """About three significant digits, as the report's safety tables show means and medians."""
    if x is None or math.isnan(x) or x == 0:
        return 1
    return max(0, min(3, 2 - math.floor(math.log10(abs(x)))))


TableDecimals = dict[tuple[str, str, str], int]


def table_decimals(ard: ARD, plan: Plan) -> TableDecimals:
    """Decimals of the means and medians of each safety summary table, (analysis, parameter, parent) → d, as
    the report chooses them: fixed for exposure duration and cycles, the plan's `decimals` of a lab or
    vital-sign table, else about three significant digits of the table's reference median (all groups; at
    baseline for a measurement). The SD gets one more."""
    s = plan.safety
    out: TableDecimals = {}
    for r in ard:
        if r.statistic != "median" or r.group:
            continue
        if r.analysis == "exposure_summary":
            fixed = 1 if r.parameter == "duration" or (s is not None and r.parameter == s.exposure_cycles) else None
            out.setdefault((r.analysis, r.parameter, r.parent), fixed if fixed is not None else _magnitude(r.value))
        elif r.analysis.endswith("_visit") and r.term == "value":
            m = _measurements(plan, r.analysis)
            key = (r.analysis, r.parameter, "")
            if m is not None and m.decimals is not None:
                out[key] = m.decimals
            elif r.timepoint == "Baseline" and not math.isnan(r.value):
                out[key] = _magnitude(r.value)
            elif not math.isnan(r.value):
                out.setdefault(key, _magnitude(r.value))
    return out


def fmt_fn(r: Row, stat_name: str, plan: Plan, tables: TableDecimals | None = None) -> Fmt:
    """The report's format of a cards statistic of row `r`: decimals (int) or a cards string ('xx.x%').
    `tables`: `table_decimals(ard, plan)`, for the safety summary tables."""
    c = plan.conventions
    if stat_name in _COUNT_NAMES:
        return 0
    if stat_name == "p":
        return _percent(c.percent_decimals_large_n if r.n > 100 else c.percent_decimals_small_n)
    if stat_name == "p.value":
        return 3
    if stat_name == "statistic":
        return c.estimate_decimals
    a, s = r.analysis, r.statistic
    if a == "decision":
        return 0
    if a in {"km", "subgroup", "followup"} and s in _QUANTILE:
        return c.time_decimals
    if (a, s) in {("km", "rate"), ("rate", "proportion")} or s == "difference":
        return _percent(1)
    if a == "baseline":
        return next((b.decimals for b in plan.baseline if b.variable == r.parameter), 1)
    if s == "patient_years":
        return 1
    if a == "exposure":
        return 1
    if s in {"mean", "median", "min", "max", "sd"}:
        parent = r.parent if a == "exposure_summary" else ""
        d = (tables or {}).get((a, r.parameter, parent))
        return (_magnitude(r.value) if d is None else d) + (1 if s == "sd" else 0)
    return c.estimate_decimals


def _percent(decimals: int) -> str:
    return "xx%" if decimals == 0 else "xx." + "x" * decimals + "%"


def formatted(x: float, fmt: Fmt) -> str:
    """A number as the report writes it under `fmt` (rounded half away from zero); 'NE' when not estimable."""
    if x is None or math.isnan(x):
        return "NE"
    if fmt is None:
        return f"{x:.12g}"
    scale, decimals = 1.0, fmt
    if isinstance(fmt, str):
        scale = 100.0 if fmt.endswith("%") else 1.0
        body = fmt.rstrip("%")
        decimals = len(body.split(".")[1]) if "." in body else 0
    assert isinstance(decimals, int)
    v = x * scale
    q = 10 ** decimals
    s = f"{math.floor(abs(v) * q + 0.5 + 1e-9) / q:.{decimals}f}"
    return s if v >= 0 or float(s) == 0 else "-" + s


# --------------------------------------------------------------------------------------- rows
def _label(r: Row, spec: _Stat, stat_name: str) -> str:
    if r.analysis == "decision" and stat_name == spec.name:
        return _DECISION_LABELS.get(r.statistic, r.statistic)
    if stat_name == "estimate":
        label = _ESTIMATE_LABELS.get((r.analysis, r.statistic)) or _STAT_LABELS.get(r.statistic)
        if label:
            return label
    if stat_name in LABELS:
        return LABELS[stat_name]
    described = ANALYSES.get(r.analysis)
    text = described.statistics.get(r.statistic, stat_name) if described else stat_name
    return text[:1].upper() + text[1:]


def _explains(r: Row) -> bool:
    """Whether the row's note explains (a decision's rule, who was left out) rather than warns."""
    return r.analysis in {"decision", "analysis_set", "study"}


def rows_of(r: Row, plan: Plan, tables: TableDecimals | None = None) -> list[dict[str, object]]:
    """The cards rows of one ARD row (stat as a float, a str or None for not estimable)."""
    spec = stat_spec(r, plan)
    place = layout(r, plan)
    g1 = (group_variable(plan, r.population), r.group) if r.group and r.analysis != "population" else ("", "")
    warning = r.note if r.note and not _explains(r) and not math.isnan(r.value) else ""
    base = {"group1": g1[0], "group1_level": g1[1], "group2": place.group2[0], "group2_level": place.group2[1],
            "group3": place.group3[0], "group3_level": place.group3[1], "variable": place.variable[0],
            "variable_level": place.variable[1], "context": spec.context, "ard_id": r.id, "ard_analysis": r.analysis,
            "endpoint": r.endpoint, "population": r.population, "reference": r.reference}
    out: list[dict[str, object]] = []

    def add(stat_name: str, stat: float | str | None, *, unit: str = "", error: str = "") -> None:
        if isinstance(stat, float) and math.isnan(stat):
            stat = None
        text = spec.kind == "text" and stat_name == spec.name
        out.append({**base, "stat_name": stat_name, "stat_label": _label(r, spec, stat_name),
                    "stat": str(stat) if text else stat, "fmt_fn": None if text else fmt_fn(r, stat_name, plan, tables),
                    "warning": warning, "error": error, "unit": unit})

    if spec.kind == "text":
        add(spec.name, r.text)
    else:
        not_estimable = math.isnan(r.value) and r.note and r.analysis != "decision"
        add(spec.name, r.value, unit=r.unit, error=r.note if not_estimable else "")
    if spec.ci or not (math.isnan(r.lower) and math.isnan(r.upper)):
        add("conf.low", r.lower, unit=r.unit)
        add("conf.high", r.upper, unit=r.unit)
    if not math.isnan(r.n):
        if spec.kind == "count":
            add(spec.denominator, r.n)
            if spec.share:
                add("p", r.value / r.n if r.n > 0 and not math.isnan(r.value) else math.nan)
        else:
            add("N_obs", r.n)
    return out


def cards_rows(ard: ARD, plan: Plan) -> list[dict[str, object]]:
    """Every ARD row as cards rows, in ARD order. A row that repeats an earlier one exactly (the same key and
    the same stat, e.g. the N of a Kaplan-Meier curve from its n, events and censored rows) is kept once."""
    seen: dict[tuple[object, ...], object] = {}
    out = []
    tables = table_decimals(ard, plan)
    for r in ard:
        for c in rows_of(r, plan, tables):
            key = tuple(c[k] for k in KEY_COLUMNS)
            if key in seen and seen[key] == c["stat"]:
                continue
            seen.setdefault(key, c["stat"])
            out.append(c)
    return out


# --------------------------------------------------------------------------------------- writers
def _cell(v: object, text: CsvText) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.12g}"
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return text[v]


def to_csv_text(rows: Iterable[dict[str, object]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    text = CsvText()
    w.writerows([[text[v] if type(v) is str else _cell(v, text) for v in map(c.get, COLUMNS)] for c in rows])
    return buf.getvalue()


def write_cards_csv(ard: ARD, plan: Plan, path: Path) -> None:
    """The cards layout as CSV (UTF-8, '\\n' line ends; numbers with 12 significant digits like ard.csv; empty
    for NA). R: `read.csv(path, colClasses = "character", na.strings = "")`, then `as.numeric(stat)`."""
    Path(path).write_text(to_csv_text(cards_rows(ard, plan)), encoding="utf-8")


def _json(v: object) -> object:
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else float(f"{v:.12g}")
    return None if v == "" else v


def write_cards_json(ard: ARD, plan: Plan, path: Path) -> None:
    """The same rows as a JSON array of records (stat a number, a string or null; empty cells null).
    R: `jsonlite::fromJSON(path)` gives the data frame."""
    rows = [{k: _json(c.get(k)) for k in COLUMNS} for c in cards_rows(ard, plan)]
    Path(path).write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

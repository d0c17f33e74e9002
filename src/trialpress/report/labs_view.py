"""Laboratory and vital-sign tables (ICH E3 12.4, 12.5): values and change from baseline by visit, shifts of the
reference-range indicator and of the toxicity grade, grade 3-4 values, and the liver (eDISH) counts."""

from __future__ import annotations

from trialpress.plan import Plan
from trialpress.plan.safety import Measurements
from trialpress.report.context import (
    ContextBuilder,
    GroupView,
    Num,
    TableView,
    group_header,
    table_columns,
)
from trialpress.report.safety_cells import (
    NB,
    SUMMARY_LABELS,
    npct,
    section,
    shown,
    summary_cell,
    summary_decimals,
    visit_name,
)
from trialpress.report.tables import Cell, Table, label
from trialpress.results import safety_keys as sk
from trialpress.results.labs import BASELINE, BOTH, post_baseline_rule

WHAT = {"lab": ("Laboratory", "laboratory"), "vs": ("Vital sign", "vital-sign")}
LIVER_ROWS = (
    ("alt_3", "ALT >3×ULN"), ("ast_3", "AST >3×ULN"), ("alt_or_ast_3", "{t} >3×ULN"), ("alt_or_ast_5", "{t} >5×ULN"),
    ("alt_or_ast_10", "{t} >10×ULN"), ("alt_or_ast_20", "{t} >20×ULN"), ("bili_2", "Total bilirubin >2×ULN"),
)
QUADRANTS = (
    ("normal", "{t} ≤3×ULN and bilirubin ≤2×ULN"),
    ("hyperbilirubinaemia", "Bilirubin >2×ULN with {t} ≤3×ULN (hyperbilirubinemia)"),
    ("temple", "{t} >3×ULN with bilirubin ≤2×ULN (Temple's corollary)"),
    ("potential_hys_law", "{t} >3×ULN and bilirubin >2×ULN (potential Hy's law)"),
)


def _parameters(cb: ContextBuilder, prefix: str) -> list[tuple[str, str]]:
    """(PARAMCD, label with unit) in the ARD's order."""
    out = []
    for r in cb.ard.select(analysis=f"{prefix}_visit", statistic="label"):
        unit = next((x.unit for x in cb.ard.select(analysis=f"{prefix}_visit", parameter=r.parameter,
                                                   statistic="mean") if x.unit), "")
        out.append((r.parameter, f"{r.text} ({unit})" if unit else r.text))
    return out


def _population(plan: Plan) -> str:
    assert plan.safety is not None
    return plan.populations[plan.safety.population].label


def measurement_tables(cb: ContextBuilder, plan: Plan, m: Measurements, prefix: str, groups: list[GroupView],
                       total: Num) -> list[TableView]:
    params = _parameters(cb, prefix)
    if not params:
        return []
    out = [_by_visit(cb, plan, m, prefix, groups, params)]
    if cb.ard.select(analysis=f"{prefix}_shift"):
        out.append(_shift(cb, plan, m, prefix, groups, params))
    if cb.ard.select(analysis=f"{prefix}_grade_shift"):
        out.append(_grade_shift(cb, plan, m, prefix, groups, params))
        out.append(_grade34(cb, plan, m, prefix, groups, total, params))
    if prefix == "lab" and cb.has(sk.liver("subjects")):
        out.append(_liver(cb, plan, m, groups, total))
    cap = cb.ard.select(analysis=f"{prefix}_visit", statistic="label")[0].note
    if cap:
        first = out[0]
        out[0] = TableView(first.number, first.title, first.model, f"{first.note} Shown: {cap}.", first.population)
    return out


def _by_visit(cb: ContextBuilder, plan: Plan, m: Measurements, prefix: str, groups: list[GroupView],
              params: list[tuple[str, str]]) -> TableView:
    top = (Cell(""), *(Cell(g.header, colspan=2) for g in groups))
    sub = (label("Parameter / visit"), *(c for _ in groups for c in (Cell("Value"), Cell("Change"))))
    body: list[tuple[Cell, ...]] = []
    ncols = 2 * len(groups)
    for param, name in params:
        body.append(section(name, ncols))
        body += _visit_rows(cb, m, prefix, param, groups)
    title, word = WHAT[prefix]
    change = f"change from baseline ({m.change})" if m.change else "change from baseline (value minus baseline)"
    note = (f"Baseline: the record with {m.baseline_flag} = 'Y'. Post-baseline visits ({m.visit}, in {m.visit_number} "
            f"order): records with {post_baseline_rule(m)}; several records of a subject at one visit are averaged. "
            f"Change: {change}. SD, standard deviation.")
    table = Table(f"table-safety-{prefix}-visit", (top, sub), tuple(body), (2.6,) + (1.1,) * ncols)
    return TableView(cb.numbering.table(f"safety-{prefix}-visit"),
                     f"{title} values and change from baseline by visit", table, note, population=_population(plan))


def _visit_rows(cb: ContextBuilder, m: Measurements, prefix: str, param: str, groups: list[GroupView]
                ) -> list[tuple[Cell, ...]]:
    """n, mean (SD), median, min and max of the value and the change at each visit of one parameter."""
    rows = cb.ard.select(analysis=f"{prefix}_visit", parameter=param, term="value")
    visits = list(dict.fromkeys([BASELINE] + [r.timepoint for r in rows if r.statistic == "n" and r.timepoint]))
    first = next((r for r in rows if r.statistic == "median" and r.value == r.value), None)
    d, rd = summary_decimals(cb, lambda stat: sk.visit(prefix, stat, first.group if first else "", parameter=param,
                                                       what="value", visit=first.timepoint if first else BASELINE),
                             m.decimals)
    body: list[tuple[Cell, ...]] = []
    for visit in visits:
        if not any(cb.has(sk.visit(prefix, "n", g.value, parameter=param, what="value", visit=visit)) for g in groups):
            continue
        for what, text in SUMMARY_LABELS:
            cells = []
            for g in groups:
                for part in ("value", "change"):
                    if part == "change" and visit == BASELINE:
                        cells.append(Cell(""))
                        continue
                    cells.append(summary_cell(cb, what, lambda stat, g=g.value, p=part, v=visit: sk.visit(
                        prefix, stat, g, parameter=param, what=p, visit=v), d, rd))
            row_label = label(f"{visit_name(visit)}, n", indent=1) if what == "n" else label(text, indent=2)
            body.append((row_label, *cells))
    return body


def _range_label(term: str) -> str:
    if term == sk.MISSING:
        return "Missing"
    if term == BOTH:
        return "Low and high"
    return shown(term.replace("+", " and "))


def _shift(cb: ContextBuilder, plan: Plan, m: Measurements, prefix: str, groups: list[GroupView],
           params: list[tuple[str, str]]) -> TableView:
    rows_all = cb.ard.select(analysis=f"{prefix}_shift", statistic="n")
    worst = list(dict.fromkeys(r.term for r in rows_all if r.term))
    head = (label("Parameter / group / baseline"), *(Cell(_range_label(w)) for w in worst), Cell("Total"))
    top = (Cell(""), Cell(f"Worst post-baseline ({m.range_indicator})", colspan=len(worst)), Cell(""))
    body: list[tuple[Cell, ...]] = []
    for param, name in params:
        if not cb.ard.select(analysis=f"{prefix}_shift", parameter=param):
            continue
        body.append(section(name, len(worst) + 1))
        for g in groups:
            n = cb.ard.get(sk.shift(prefix, "subjects", g.value, parameter=param))
            body.append((label(f"{g.label} (n{NB}={NB}{int(n.value) if n else 0})", indent=1),
                         *(Cell("") for _ in range(len(worst) + 1))))
            baselines = list(dict.fromkeys(r.parent for r in rows_all if r.parameter == param and r.group == g.value))
            for b in baselines:
                body.append((label(_range_label(b), indent=2),
                             *(npct(cb, sk.shift(prefix, "n", g.value, parameter=param, baseline=b, worst=w))
                               for w in worst),
                             npct(cb, sk.shift(prefix, "n", g.value, parameter=param, baseline=b))))
    title, word = WHAT[prefix]
    note = (f"n (%) of the subjects of the group with a record of the parameter (n). Rows: baseline "
            f"{m.baseline_range_indicator}; columns: worst post-baseline {m.range_indicator} ({post_baseline_rule(m)}): "
            "normal when every post-baseline value was normal, low or high when only that abnormality occurred, "
            "'low and high' when both did (each subject is counted once); missing: no value.")
    table = Table(f"table-safety-{prefix}-shift", (top, head), tuple(body), (3.0,) + (1.0,) * (len(worst) + 1))
    return TableView(cb.numbering.table(f"safety-{prefix}-shift"),
                     f"Shift of the {word} reference-range indicator from baseline to the worst post-baseline value",
                     table, note, population=_population(plan))


def _direction(parameter: str) -> tuple[str, str]:
    code, _, direction = parameter.rpartition("@")
    return code, direction


def _grade_shift(cb: ContextBuilder, plan: Plan, m: Measurements, prefix: str, groups: list[GroupView],
                 params: list[tuple[str, str]]) -> TableView:
    rows_all = cb.ard.select(analysis=f"{prefix}_grade_shift", statistic="n")
    worst = list(dict.fromkeys(r.term for r in rows_all if r.term))
    worst = sorted(worst, key=lambda w: (w == sk.MISSING, w))
    head = (label("Parameter / group / baseline grade"),
            *(Cell("Missing" if w == sk.MISSING else w) for w in worst), Cell("Total"))
    top = (Cell(""), Cell(f"Worst post-baseline grade ({m.grade})", colspan=len(worst)), Cell(""))
    names = dict(params)
    body: list[tuple[Cell, ...]] = []
    for key in dict.fromkeys(r.parameter for r in rows_all):
        code, direction = _direction(key)
        body.append(section(f"{names.get(code, code)}, {'high' if direction == 'high' else 'low'}", len(worst) + 1))
        for g in groups:
            n = cb.ard.get(sk.grade_shift(prefix, "subjects", g.value, parameter=code, direction=direction))
            body.append((label(f"{g.label} (n{NB}={NB}{int(n.value) if n else 0})", indent=1),
                         *(Cell("") for _ in range(len(worst) + 1))))
            baselines = list(dict.fromkeys(r.parent for r in rows_all if r.parameter == key and r.group == g.value))
            baselines = sorted(baselines, key=lambda b: (b == sk.MISSING, b))
            for b in baselines:
                body.append((label("Missing" if b == sk.MISSING else f"Grade {b}", indent=2),
                             *(npct(cb, sk.grade_shift(prefix, "n", g.value, parameter=code, direction=direction,
                                                       baseline=b, worst=w)) for w in worst),
                             npct(cb, sk.grade_shift(prefix, "n", g.value, parameter=code, direction=direction,
                                                     baseline=b))))
    note = (f"n (%) of the subjects of the group with a record of the parameter (n). Rows: baseline grade "
            f"({m.baseline_grade}); columns: the highest post-baseline grade ({m.grade}; {post_baseline_rule(m)}). "
            "Negative grades are the low direction (ADaM): 'high' tabulates positive grades, 'low' the negative ones "
            "as their absolute value, a grade in the other direction counting as 0. Missing: no graded value.")
    table = Table(f"table-safety-{prefix}-grade-shift", (top, head), tuple(body), (3.0,) + (1.0,) * (len(worst) + 1))
    return TableView(cb.numbering.table(f"safety-{prefix}-grade-shift"),
                     "Shift of the toxicity grade from baseline to the worst post-baseline grade", table, note,
                     population=_population(plan))


def _grade34(cb: ContextBuilder, plan: Plan, m: Measurements, prefix: str, groups: list[GroupView], total: Num,
             params: list[tuple[str, str]]) -> TableView:
    cols = table_columns(plan)
    names = dict(params)
    body: list[tuple[Cell, ...]] = []
    for r in cb.ard.select(analysis=f"{prefix}_grade34", group="", term="any"):
        code, direction = _direction(r.parameter)
        body.append((label(f"{names.get(code, code)}, {direction}", bold=True),
                     *(npct(cb, sk.grade34(prefix, g, parameter=code, direction=direction)) for g in cols)))
        body.append((label("Worsened from baseline grade <3", indent=1),
                     *(npct(cb, sk.grade34(prefix, g, parameter=code, direction=direction, term="worsened"))
                       for g in cols)))
    note = (f"n (%) of the subjects with a post-baseline grade of the parameter ({m.grade}; "
            f"{post_baseline_rule(m)}) whose highest post-baseline grade in the direction is 3 or 4; worsened: from a "
            f"baseline grade ({m.baseline_grade}) below 3 or missing. Negative grades are the low direction.")
    table = Table(f"table-safety-{prefix}-grade34", (group_header(groups, total, "Parameter, direction"),),
                  tuple(body), (3.0,) + (1.2,) * len(cols))
    return TableView(cb.numbering.table(f"safety-{prefix}-grade34"),
                     f"Subjects with a post-baseline grade 3–4 {WHAT[prefix][1]} value", table, note,
                     population=_population(plan))


def _liver(cb: ContextBuilder, plan: Plan, m: Measurements, groups: list[GroupView], total: Num) -> TableView:
    cols = table_columns(plan)
    tests = "ALT or AST" if cb.has(sk.liver("n", term="ast_3")) and cb.has(sk.liver("n", term="alt_3")) else \
        "ALT" if cb.has(sk.liver("n", term="alt_3")) else "AST"
    body: list[tuple[Cell, ...]] = []
    for term, text in LIVER_ROWS:
        if cb.has(sk.liver("n", term=term)):
            body.append((label(text.format(t=tests)), *(npct(cb, sk.liver("n", g, term=term)) for g in cols)))
    body.append(section("eDISH quadrant of the highest values", len(cols)))
    for term, text in QUADRANTS:
        body.append((label(text.format(t=tests), indent=1), *(npct(cb, sk.liver("n", g, term=term)) for g in cols)))
    note = (f"n (%) of the subjects with a post-baseline value of the test(s) of the row. Each subject's highest "
            f"post-baseline value ({post_baseline_rule(m)}) as a multiple of its upper limit of normal "
            f"({m.upper_limit}); the quadrants (evaluation of drug-induced serious hepatotoxicity, eDISH) compare "
            f"the highest {tests} and the highest total bilirubin, not necessarily on the same day. ALT, alanine "
            "aminotransferase; AST, aspartate aminotransferase; ULN, upper limit of normal.")
    table = Table("table-safety-lab-liver", (group_header(groups, total, "Subjects with"),), tuple(body),
                  (3.4,) + (1.2,) * len(cols))
    return TableView(cb.numbering.table("safety-lab-liver"), "Liver tests: elevations of aminotransferases and "
                     "bilirubin", table, note, population=_population(plan))

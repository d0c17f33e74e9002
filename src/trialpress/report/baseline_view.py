"""Table 1: baseline characteristics by group and overall, from the ARD."""

from __future__ import annotations

from trialpress.plan import Plan
from trialpress.report import formatting as fmt
from trialpress.report.context import ContextBuilder, TableView, group_header, n_pct_cell, table_columns
from trialpress.report.tables import Cell, Table, label
from trialpress.results import keys


def baseline_table(cb: ContextBuilder, plan: Plan) -> TableView | None:
    if not plan.baseline:
        return None
    pop = plan.baseline_population or next(iter(plan.populations))
    groups = cb.groups(pop)
    total = cb.num(keys.population(pop), "count")
    cols = table_columns(plan)
    rows: list[tuple[Cell, ...]] = []
    for spec in plan.baseline:
        var = spec.variable
        if spec.kind == "continuous":
            rows += _continuous_rows(cb, spec.label, var, spec.decimals, cols)
            continue
        rows.append((label(f"{spec.label}, n (%)", bold=True), *(Cell("") for _ in cols)))
        labels = {lv.value: lv.label for lv in spec.levels or []}
        levels = [r.term for r in cb.ard.select(analysis="baseline", parameter=var, group="", statistic="n")]
        for level in levels:
            rows.append((label(labels.get(level, level), indent=1),
                         *(n_pct_cell(cb, keys.baseline(var, "n", g, level)) for g in cols)))
        missing = [cb.row(keys.baseline(var, "missing", g)) for g in cols]
        if any(r.value for r in missing):
            rows.append((label("Missing", indent=1), *(n_pct_cell(cb, keys.baseline(var, "missing", g)) for g in cols)))
    table = Table("table-baseline", (group_header(groups, total),), tuple(rows), (2.4,) + (1.3,) * len(cols))
    note = "SD, standard deviation. Percentages of the N of each column."
    return TableView(cb.numbering.table("baseline"),
                     "Baseline characteristics", table, note,
                     population=plan.populations[pop].label)


def _continuous_rows(cb: ContextBuilder, text: str, var: str, d: int, cols: list[str]) -> list[tuple[Cell, ...]]:
    def stat(g: str, name: str) -> float:
        return cb.row(keys.baseline(var, name, g)).value

    rows: list[tuple[Cell, ...]] = [(label(text, bold=True), *(Cell("") for _ in cols))]
    rd = range_decimals([v for g in cols for v in (stat(g, "min"), stat(g, "max"))], d)
    rows.append((label("Mean (SD)", indent=1), *(
        Cell(f"{fmt.fixed(stat(g, 'mean'), d)} ({fmt.fixed(stat(g, 'sd'), d)})", keys.baseline(var, "mean", g).id)
        for g in cols)))
    rows.append((label("Median (range)", indent=1), *(
        Cell(f"{fmt.fixed(stat(g, 'median'), d)} ({fmt.fixed(stat(g, 'min'), rd)}{fmt.EN_DASH}"
             f"{fmt.fixed(stat(g, 'max'), rd)})", keys.baseline(var, "median", g).id) for g in cols)))
    missing = [cb.row(keys.baseline(var, "missing", g)) for g in cols]
    if any(r.value for r in missing):
        rows.append((label("Missing", indent=1), *(Cell(fmt.count(r.value), r.id) for r in missing)))
    return rows


def range_decimals(ends: list[float], decimals: int) -> int:
    """Decimals of a range's ends: none when every end in the row is a whole number (ages, counts, scores are
    recorded so, and "18.0-80.0" claims a precision the data do not have), else the summary's `decimals`.
    The ends are observed values, so a whole end printed without decimals is exact."""
    found = [v for v in ends if v == v]
    return 0 if found and all(float(v).is_integer() for v in found) else decimals

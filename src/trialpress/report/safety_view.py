"""Baseline and safety tables, and the words of the abstract's safety sentence, from the ARD."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from trialpress.plan import Plan
from trialpress.report import formatting as fmt
from trialpress.report.context import ContextBuilder, GroupView, Num, raw_blocks
from trialpress.report.tables import Cell, Table, label
from trialpress.results.ard import make_id

OVERVIEW_LABELS = {"any": "Any TEAE", "severe": "Grade ≥3 TEAE", "serious": "Serious TEAE", "fatal": "Fatal TEAE",
                   "discontinued": "TEAE leading to discontinuation", "related": "Treatment-related TEAE"}


def _n_pct(cb: ContextBuilder, rid: str) -> Cell:
    num = cb.n_percent(rid)
    return Cell(num.text, num.ref)


def _header(groups: list[GroupView], total: Num | None, first: str = "") -> tuple[Cell, ...]:
    cells = [label(first)] + [Cell(g.header) for g in groups]
    if total is not None:
        cells.append(Cell(f"Total (N\u00a0=\u00a0{total.text})"))
    return tuple(cells)


@dataclass(frozen=True)
class TableView:
    number: int
    title: str
    table: Markup
    note: str


@dataclass(frozen=True)
class InterestView:
    label: str
    more_frequent_in: GroupView | None     # the comparator where the risk difference CI excludes 0
    numerically_more_in: GroupView | None  # higher but CI includes 0


@dataclass(frozen=True)
class SafetySection:
    overview: TableView
    terms: TableView
    interest: TableView
    interest_terms: list[InterestView]
    population_label: str

    def more_frequent_with(self, group: str) -> list[InterestView]:
        return [t for t in self.interest_terms if t.more_frequent_in and t.more_frequent_in.value == group]

    def numerically_more_with(self, group: str) -> list[InterestView]:
        return [t for t in self.interest_terms if t.numerically_more_in and t.numerically_more_in.value == group]


def baseline_table(cb: ContextBuilder, plan: Plan) -> TableView | None:
    if not plan.baseline:
        return None
    pop = plan.baseline_population or next(iter(plan.populations))
    groups = cb.groups(pop)
    total = cb.num(("POP", pop, "n"), "count")
    keys = [*plan.group_values, ""]
    rows: list[tuple[Cell, ...]] = []
    for row in plan.baseline:
        var = row.variable
        if row.kind == "continuous":
            rows.append((label(row.label, bold=True), *(Cell("") for _ in keys)))
            d = row.decimals
            mean = [Cell(f"{fmt.fixed(cb.ard[make_id('BASELINE', var, g, 'mean')].value, d)} "
                         f"({fmt.fixed(cb.ard[make_id('BASELINE', var, g, 'sd')].value, d)})",
                         make_id("BASELINE", var, g, "mean")) for g in keys]
            med = [Cell(f"{fmt.fixed(cb.ard[make_id('BASELINE', var, g, 'median')].value, d)} "
                        f"({fmt.fixed(cb.ard[make_id('BASELINE', var, g, 'min')].value, d)}{fmt.EN_DASH}"
                        f"{fmt.fixed(cb.ard[make_id('BASELINE', var, g, 'max')].value, d)})",
                        make_id("BASELINE", var, g, "median")) for g in keys]
            rows.append((label("Mean (SD)", indent=1), *mean))
            rows.append((label("Median (range)", indent=1), *med))
            missing = [cb.ard[make_id("BASELINE", var, g, "missing")] for g in keys]
            if any(r.value for r in missing):
                rows.append((label("Missing", indent=1), *(Cell(fmt.count(r.value), r.id) for r in missing)))
            continue
        rows.append((label(f"{row.label}, n (%)", bold=True), *(Cell("") for _ in keys)))
        labels = {lv.value: lv.label for lv in row.levels or []}
        levels = [r.level for r in cb.ard.select(analysis="baseline", param=var, group="")]
        for level in levels:
            cells = [_n_pct(cb, make_id("BASELINE", var, level, g, "n")) for g in keys]
            if level == "Missing" and all(c.text.startswith("0 ") for c in cells):
                continue
            rows.append((label(labels.get(level, level), indent=1), *cells))
    table = Table("table-baseline", (_header(groups, total),), tuple(rows), (2.4,) + (1.3,) * len(keys))
    note = "SD, standard deviation. Percentages of the N of each column."
    return TableView(cb.numbering.table("baseline"), f"Baseline characteristics ({fmt.lower_first(plan.populations[pop].label)})",
                     raw_blocks(table), note)


def safety_section(cb: ContextBuilder, plan: Plan) -> SafetySection | None:
    safety = plan.safety
    if safety is None:
        return None
    pop = safety.population
    groups = cb.groups(pop)
    total = cb.num(("POP", pop, "n"), "count")
    keys = [*plan.group_values, ""]
    ctcae = safety.variables.severity_kind == "ctcae"
    severe, any_grade = ("Grade ≥3", "Any grade") if ctcae else ("Severe", "Any severity")

    # overview
    rows = []
    for key, text in OVERVIEW_LABELS.items():
        rid = make_id("SAFETY", "overview", key, plan.group_values[0], "n")
        if rid not in cb.ard:
            continue
        text = text.replace("Grade ≥3", severe)
        rows.append((label(text), *(_n_pct(cb, make_id("SAFETY", "overview", key, g, "n")) for g in keys)))
    overview = TableView(cb.numbering.table("safety-overview"), f"Overview of treatment-emergent adverse events "
                         f"({fmt.lower_first(plan.populations[pop].label)})",
                         raw_blocks(Table("table-safety-overview", (_header(groups, total, "Subjects with"),),
                                          tuple(rows), (2.4,) + (1.3,) * len(keys))),
                         "TEAE, treatment-emergent adverse event. A subject is counted once per row.")

    # SOC / PT above the threshold, sorted by overall frequency
    threshold = safety.pt_threshold_percent
    header2 = (Cell(""), *(Cell(g.header, colspan=2) for g in groups),
               Cell(f"Total (N\u00a0=\u00a0{total.text})", colspan=2))
    header3 = (label("System organ class / preferred term"),
               *(c for g in [*groups, None] for c in (Cell(any_grade), Cell(severe))))
    body: list[tuple[Cell, ...]] = []
    pts = cb.ard.select(analysis="pt_any", group="", statistic="n")
    socs = sorted(cb.ard.select(analysis="soc_any", group="", statistic="n"), key=lambda r: (-r.value, r.level))
    for soc in socs:
        keep = [r for r in pts if r.param == soc.level and _above(cb, r.level, soc.level, plan, threshold)]
        if not keep:
            continue
        body.append(_term_row(cb, "soc", soc.level, "", keys, bold=True))
        for pt in sorted(keep, key=lambda r: (-r.value, r.level)):
            body.append(_term_row(cb, "pt", pt.level, soc.level, keys))
    terms = TableView(cb.numbering.table("safety-terms"),
                      f"Treatment-emergent adverse events with an incidence of ≥{threshold:g}% in any group, by system "
                      "organ class and preferred term",
                      raw_blocks(Table("table-safety-terms", (header2, header3), tuple(body),
                                       (3.0,) + (1.0,) * (2 * len(keys)))),
                      "n (%) of subjects; a subject is counted once per term. Sorted by overall frequency. "
                      "System organ class rows count all of its terms, not only those shown.")

    # AEs of interest with risk difference
    ref = plan.groups.reference
    short = {lv.value: lv.short or lv.label for lv in plan.groups.levels}
    rows = []
    views = []
    for term in safety.of_interest:
        cells = [_n_pct(cb, make_id("SAFETY", "interest", term.id, g, "n")) for g in keys]
        rows.append((label(term.label, bold=True), *(Cell("") for _ in keys)))
        rows.append((label(f"{any_grade}, n (%)", indent=1), *cells))
        rows.append((label(f"{severe}, n (%)", indent=1),
                     *(_n_pct(cb, make_id("SAFETY", "interest_severe", term.id, g, "n")) for g in keys)))
        more = numerically = None
        for c in plan.comparators:
            r = cb.ard[("SAFETY", "interest", term.id, c, "difference")]
            diff = [Cell(fmt.percent_difference(r.value, r.lower, r.upper), r.id) if g == c
                    else Cell("Reference" if g == ref else "") for g in keys]
            vs = f" ({short[c]})" if len(plan.comparators) > 1 else ""
            rows.append((label(f"Risk difference{vs}, % (95% CI)", indent=1), *diff))
            group = cb.group(pop, c)
            if r.lower > 0:
                more = more or group
            elif r.value > 0:
                numerically = numerically or group
        eair = [make_id("SAFETY", "interest_eair", term.id, g, "rate") for g in plan.group_values]
        if all(e in cb.ard for e in eair):
            rows.append((label("Per 100 patient-years (95% CI)", indent=1),
                         *(Cell(cb.est_ci(e).text, e) for e in eair), Cell("")))
        views.append(InterestView(term.label, more, numerically))
    interest = TableView(cb.numbering.table("safety-interest"), "Adverse events of interest",
                         raw_blocks(Table("table-safety-interest", (_header(groups, total),), tuple(rows),
                                          (2.4,) + (1.3,) * len(keys))),
                         "Risk differences vs the reference group with Newcombe hybrid score 95% CIs; "
                         "exposure-adjusted incidence with exact Poisson 95% CIs.")
    return SafetySection(overview, terms, interest, views, plan.populations[pop].label)


def _above(cb: ContextBuilder, pt: str, soc: str, plan: Plan, threshold: float) -> bool:
    for g in plan.group_values:
        r = cb.ard[make_id("SAFETY", "pt_any", soc, pt, g, "n")]
        if r.n and 100 * r.value / r.n >= threshold:
            return True
    return False


def _term_row(cb: ContextBuilder, kind: str, term: str, soc: str, keys: list[str], bold: bool = False
              ) -> tuple[Cell, ...]:
    cells = []
    for g in keys:
        for grade in ("any", "severe"):
            rid = make_id("SAFETY", f"{kind}_{grade}", soc, term, g, "n")
            cells.append(_n_pct(cb, rid) if rid in cb.ard else Cell("0 (0)"))
    return (label(term, bold=bold, indent=0 if bold else 1), *cells)

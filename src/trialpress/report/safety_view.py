"""Baseline and safety tables, and the words of the abstract's safety sentence, from the ARD and its decisions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trialpress.plan import Plan
from trialpress.report import formatting as fmt
from trialpress.report.context import ContextBuilder, GroupView, Num, TableView, group_header, n_pct_cell
from trialpress.report.tables import Cell, Table, label
from trialpress.results import keys

OVERVIEW_LABELS = {"any": "Any TEAE", "severe": "Grade ≥3 TEAE", "serious": "Serious TEAE",
                   "related": "Treatment-related TEAE", "serious_related": "Serious treatment-related TEAE",
                   "discontinued": "TEAE leading to discontinuation", "fatal": "Fatal TEAE"}
NOT_COLLECTED = "Not collected"




@dataclass(frozen=True)
class InterestView:
    label: str
    more_frequent_in: GroupView | None     # the comparator where the risk difference CI excludes 0
    numerically_more_in: GroupView | None  # higher but CI includes 0


@dataclass(frozen=True)
class SafetySection:
    overview: TableView
    terms: TableView
    interest: TableView | None
    interest_terms: list[InterestView]
    population_label: str

    @property
    def tables(self) -> list[TableView]:
        return [t for t in (self.overview, self.terms, self.interest) if t is not None]

    def more_frequent_with(self, group: str) -> list[InterestView]:
        return [t for t in self.interest_terms if t.more_frequent_in and t.more_frequent_in.value == group]

    def numerically_more_with(self, group: str) -> list[InterestView]:
        return [t for t in self.interest_terms if t.numerically_more_in and t.numerically_more_in.value == group]


def safety_section(cb: ContextBuilder, plan: Plan) -> SafetySection | None:
    safety = plan.safety
    if safety is None:
        return None
    pop = safety.population
    groups = cb.groups(pop)
    total = cb.num(keys.population(pop), "count")
    cols = [*plan.group_values, ""]
    ctcae = safety.variables.severity_kind == "ctcae"
    severe, any_grade = ("Grade ≥3", "Any grade") if ctcae else ("Severe", "Any severity")
    overview = _overview(cb, plan, groups, total, cols, severe)
    terms = _terms(cb, plan, groups, total, cols, severe, any_grade)
    interest, views = _interest(cb, plan, groups, total, cols, severe, any_grade) if safety.of_interest else (None, [])
    return SafetySection(overview, terms, interest, views, plan.populations[pop].label)


def _overview(cb: ContextBuilder, plan: Plan, groups: list[GroupView], total: Num, cols: list[str], severe: str
              ) -> TableView:
    assert plan.safety is not None
    rows, missing = [], []
    source = plan.safety.discontinuation
    for category, text in OVERVIEW_LABELS.items():
        collected = cb.ard.get(keys.safety("overview", "collected", term=category))
        if collected is None:
            continue
        text = text.replace("Grade ≥3", severe)
        if category == "discontinued" and collected.text == "yes" and source and source.variable in collected.method:
            text = source.label
        if collected.text == "no":
            rows.append((label(text), *(Cell(NOT_COLLECTED) for _ in cols)))
            missing.append(f"{text}: {collected.method}")
            continue
        rows.append((label(text), *(n_pct_cell(cb, keys.safety("overview", "n", g, term=category)) for g in cols)))
    note = "TEAE, treatment-emergent adverse event. A subject is counted once per row."
    if missing:
        note += " Not collected: the data hold no value of the variable behind the row (" + "; ".join(missing) + ")."
    table = Table("table-safety-overview", (group_header(groups, total, "Subjects with"),), tuple(rows),
                  (2.4,) + (1.3,) * len(cols))
    return TableView(cb.numbering.table("safety-overview"),
                     "Overview of treatment-emergent adverse events", table, note,
                     population=plan.populations[plan.safety.population].label)


def _terms(cb: ContextBuilder, plan: Plan, groups: list[GroupView], total: Num, cols: list[str], severe: str,
           any_grade: str) -> TableView:
    """SOC / PT rows whose PT reaches the plan's threshold (a decision of the ARD), by descending frequency."""
    assert plan.safety is not None
    threshold = plan.safety.pt_threshold_percent
    header2 = (Cell(""), *(Cell(g.header, colspan=2) for g in groups),
               Cell(f"Total (N\u00a0=\u00a0{total.text})", colspan=2))
    header3 = (label("System organ class / preferred term"),
               *(c for _ in [*groups, None] for c in (Cell(any_grade), Cell(severe))))
    body: list[tuple[Cell, ...]] = []
    pts = cb.ard.select(analysis="pt_any", group="", statistic="n")
    socs = sorted(cb.ard.select(analysis="soc_any", group="", statistic="n"), key=lambda r: (-r.value, r.term))
    for soc in socs:
        keep = [r for r in pts if r.parent == soc.term and cb.flag(
            keys.decision(keys.SAFETY, "above_threshold", on="pt_any", term=r.term, parent=r.parent))]
        if not keep:
            continue
        body.append(_term_row(cb, "soc", soc.term, "", cols, bold=True))
        for pt in sorted(keep, key=lambda r: (-r.value, r.term)):
            body.append(_term_row(cb, "pt", pt.term, soc.term, cols))
    table = Table("table-safety-terms", (header2, header3), tuple(body), (3.0,) + (1.0,) * (2 * len(cols)))
    return TableView(cb.numbering.table("safety-terms"),
                     f"Treatment-emergent adverse events with an incidence of ≥{threshold:g}% in any group, by "
                     "system organ class and preferred term", table,
                     "n (%) of subjects; a subject is counted once per term. Sorted by overall frequency. "
                     "System organ class rows count all of its terms, not only those shown.",
                     population=plan.populations[plan.safety.population].label)


def _term_row(cb: ContextBuilder, kind: str, term: str, soc: str, cols: list[str], bold: bool = False
              ) -> tuple[Cell, ...]:
    cells = []
    for g in cols:
        for grade in ("any", "severe"):
            key = keys.safety(f"{kind}_{grade}", "n", g, term=term, parent=soc)
            cells.append(n_pct_cell(cb, key) if cb.has(key) else Cell("0 (0)"))
    return (label(term, bold=bold, indent=0 if bold else 1), *cells)


def _interest(cb: ContextBuilder, plan: Plan, groups: list[GroupView], total: Num, cols: list[str], severe: str,
              any_grade: str) -> tuple[TableView, list[InterestView]]:
    assert plan.safety is not None
    ref = plan.groups.reference
    short = {lv.value: lv.short or lv.label for lv in plan.groups.levels}
    rows, views = [], []
    for term in plan.safety.of_interest:
        rows.append((label(term.label, bold=True), *(Cell("") for _ in cols)))
        rows.append((label(f"{any_grade}, n (%)", indent=1),
                     *(n_pct_cell(cb, keys.safety("interest", "n", g, term=term.id)) for g in cols)))
        rows.append((label(f"{severe}, n (%)", indent=1),
                     *(n_pct_cell(cb, keys.safety("interest_severe", "n", g, term=term.id)) for g in cols)))
        more = numerically = None
        for c in plan.comparators:
            r = cb.row(keys.safety("interest", "difference", c, term=term.id))
            diff = [Cell(fmt.percent_difference(r.value, r.lower, r.upper), r.id) if g == c
                    else Cell("Reference" if g == ref else "") for g in cols]
            vs = f" ({short[c]})" if len(plan.comparators) > 1 else ""
            rows.append((label(f"Risk difference{vs}, % (95% CI)", indent=1), *diff))
            said = cb.decision(keys.decision(keys.SAFETY, "more_frequent", c, on="interest", term=term.id))
            if said == "yes":
                more = more or cb.group(plan.safety.population, c)
            elif said == "numerically":
                numerically = numerically or cb.group(plan.safety.population, c)
        eair = [keys.safety("interest_eair", "rate", g, term=term.id) for g in plan.group_values]
        if all(cb.has(e) for e in eair):
            rows.append((label("Per 100 patient-years (95% CI)", indent=1),
                         *(Cell(cb.est_ci(e).text, e.id) for e in eair), Cell("")))
        views.append(InterestView(term.label, more, numerically))
    table = Table("table-safety-interest", (group_header(groups, total),), tuple(rows), (2.4,) + (1.3,) * len(cols))
    view = TableView(cb.numbering.table("safety-interest"), "Adverse events of interest", table,
                     "Risk differences vs the reference group with Newcombe hybrid score 95% CIs; "
                     "exposure-adjusted incidence with exact Poisson 95% CIs.",
                     population=plan.populations[plan.safety.population].label)
    return view, views


def safety_context(cb: ContextBuilder, plan: Plan, endpoints: list[Any]) -> dict[str, Any]:
    """What templates/article/safety.qmd.j2 reads: the AE tables, and the endpoints the plan reports as safety
    outcomes (their table and figures)."""
    from trialpress.report.efficacy import outcomes_table

    return {"safety": safety_section(cb, plan), "safety_outcomes": outcomes_table(cb, plan, "safety"),
            "safety_endpoints": endpoints}

"""The adverse-event tables beyond the overview and the threshold table: each TEAE category by SOC and PT, the
maximum grade (or severity) per subject, exposure-adjusted incidence rates, and all TEAEs with no threshold.
Rows are sorted by descending total frequency (then alphabetically); a subject is counted once per row."""

from __future__ import annotations

from trialpress.plan import Plan
from trialpress.report import formatting as fmt
from trialpress.report.context import (
    ContextBuilder,
    GroupView,
    Num,
    TableView,
    group_header,
    table_columns,
)
from trialpress.report.safety_cells import npct, section
from trialpress.report.tables import Cell, Table, label
from trialpress.results import keys
from trialpress.results import safety_keys as sk
from trialpress.results.ae_tables import grade_levels

CATEGORY_TITLES = {
    "serious": ("Serious treatment-emergent adverse events", "Any serious TEAE"),
    "related": ("Treatment-related treatment-emergent adverse events", "Any treatment-related TEAE"),
    "discontinued": ("Treatment-emergent adverse events leading to discontinuation of study treatment",
                     "Any TEAE leading to discontinuation"),
    "fatal": ("Treatment-emergent adverse events with a fatal outcome", "Any fatal TEAE"),
}
EAIR_LABELS = {"any": "Any TEAE", "severe": "Grade ≥3 TEAE", "serious": "Serious TEAE",
               "related": "Treatment-related TEAE", "serious_related": "Serious treatment-related TEAE",
               "discontinued": "TEAE leading to discontinuation", "fatal": "Fatal TEAE"}
SOC_PT = "System organ class / preferred term"
COUNTED = "n (%) of subjects; a subject is counted once per row. TEAE, treatment-emergent adverse event."
SORTED = "System organ classes, and preferred terms within them, by descending total frequency."


UNCODED = "Not coded"   # the AEs without a system organ class or preferred term (`sk.MISSING` in the ARD)


def term_label(term: str) -> str:
    """An AE term as a table shows it: the ARD's missing level as 'Not coded'."""
    return UNCODED if term == sk.MISSING else term


def by_frequency(rows):  # type: ignore[no-untyped-def]
    """By descending total, then by name; the AEs not coded after the coded terms of their level."""
    return sorted(rows, key=lambda r: (r.term == sk.MISSING, -r.value, r.term))


def soc_pt_rows(cb: ContextBuilder, soc_analysis: str, pt_analysis: str, key_of, cols: list[str],  # type: ignore[no-untyped-def]
                keep=None) -> list[tuple[Cell, ...]]:
    """SOC rows (bold) each followed by its PTs, by descending total frequency; `key_of(analysis, group, term,
    parent)` names a count, `keep(pt_row)` chooses PTs (a SOC with none kept is left out)."""
    body: list[tuple[Cell, ...]] = []
    pts = cb.ard.select(analysis=pt_analysis, group="", statistic="n")
    for soc in by_frequency(cb.ard.select(analysis=soc_analysis, group="", statistic="n")):
        inside = [r for r in pts if r.parent == soc.term and (keep is None or keep(r))]
        if keep is not None and not inside:
            continue
        body.append((label(term_label(soc.term), bold=True),
                     *(npct(cb, key_of(soc_analysis, g, soc.term, "")) for g in cols)))
        for pt in by_frequency(inside):
            body.append((label(term_label(pt.term), indent=1),
                         *(npct(cb, key_of(pt_analysis, g, pt.term, soc.term)) for g in cols)))
    return body


def _population(plan: Plan) -> str:
    assert plan.safety is not None
    return plan.populations[plan.safety.population].label


def all_terms_table(cb: ContextBuilder, plan: Plan, groups: list[GroupView], total: Num) -> TableView | None:
    """Every TEAE by SOC and PT, with no threshold (supplementary)."""
    assert plan.safety is not None
    if not plan.safety.appendix_all_terms or not cb.has(keys.safety("overview", "n", term="any")):
        return None
    cols = table_columns(plan)
    body = [(label("Any TEAE", bold=True), *(npct(cb, keys.safety("overview", "n", g, term="any")) for g in cols))]
    body += soc_pt_rows(cb, "soc_any", "pt_any",
                        lambda a, g, t, p: keys.safety(a, "n", g, term=t, parent=p), cols)
    table = Table("table-safety-all-terms", (group_header(groups, total, SOC_PT),), tuple(body),
                  (3.2,) + (1.2,) * len(cols))
    return TableView(cb.numbering.table("safety-all-terms"),
                     "All treatment-emergent adverse events by system organ class and preferred term", table,
                     f"{COUNTED} {SORTED} No incidence threshold.", population=_population(plan))


def category_tables(cb: ContextBuilder, plan: Plan, groups: list[GroupView], total: Num) -> list[TableView]:
    """Serious, related, leading to discontinuation, fatal: each by SOC and PT (categories read from ADAE)."""
    out = []
    cols = table_columns(plan)
    for category, (title, first) in CATEGORY_TITLES.items():
        collected = cb.ard.get(keys.safety("overview", "collected", term=category))
        if collected is None or collected.text != "yes":
            continue
        if category == "discontinued" and collected.method.startswith("ADSL"):
            continue   # read from ADSL (ADAE has no action taken): no terms to tabulate
        body = [(label(first, bold=True), *(npct(cb, keys.safety("overview", "n", g, term=category)) for g in cols))]
        body += soc_pt_rows(cb, f"soc_{category}", f"pt_{category}",
                            lambda a, g, t, p, c=category: sk.category_term(c, a.split("_")[0], g, term=t, parent=p),
                            cols)
        table = Table(f"table-safety-{category}", (group_header(groups, total, SOC_PT),), tuple(body),
                      (3.2,) + (1.2,) * len(cols))
        out.append(TableView(cb.numbering.table(f"safety-{category}"), f"{title}, by system organ class and "
                             "preferred term", table, f"{COUNTED} {SORTED} Defined as: {collected.method}.",
                             population=_population(plan)))
    return out


def grade_label(plan: Plan, level: str) -> str:
    if level == sk.MISSING:
        return "Not recorded"
    assert plan.safety is not None
    return f"Grade {level}" if plan.safety.variables.severity_kind == "ctcae" else level.capitalize()


def max_grade_table(cb: ContextBuilder, plan: Plan, groups: list[GroupView], total: Num) -> TableView | None:
    """Subjects by maximum grade: any TEAE, then each PT that reaches the plan's threshold."""
    assert plan.safety is not None
    s = plan.safety
    if not cb.ard.select(analysis="max_grade", group="", term=""):
        return None
    cols = table_columns(plan)
    levels = [*grade_levels(plan), sk.MISSING]
    ctcae = s.variables.severity_kind == "ctcae"
    body: list[tuple[Cell, ...]] = [section("Any TEAE", len(cols))]

    def grades(term: str, parent: str) -> None:
        for level in levels:
            if level == sk.MISSING and not cb.has(sk.max_grade("", level, term=term, parent=parent)):
                continue
            body.append((label(grade_label(plan, level), indent=1),
                         *(npct(cb, sk.max_grade(g, level, term=term, parent=parent)) for g in cols)))

    grades("", "")
    pts = [r for r in cb.ard.select(analysis="pt_any", group="", statistic="n") if cb.flag(
        keys.decision(keys.SAFETY, "above_threshold", on="pt_any", term=r.term, parent=r.parent))]
    for pt in by_frequency(pts):
        body.append(section(term_label(pt.term), len(cols)))
        grades(pt.term, pt.parent)
    word = "grade" if ctcae else "severity"
    table = Table("table-safety-max-grade", (group_header(groups, total, f"Maximum {word}"),), tuple(body),
                  (3.0,) + (1.2,) * len(cols))
    scale = f"CTCAE grade ({s.variables.severity})" if ctcae else \
        f"severity ({s.variables.severity}: mild < moderate < severe)"
    note = (f"n (%) of subjects, each counted once, at the highest {scale} of their TEAEs (overall, and per "
            f"preferred term for the terms with an incidence of ≥{s.pt_threshold_percent:g}% in any group, by "
            "descending total frequency). Not recorded: no grade on any of the subject's events. "
            "TEAE, treatment-emergent adverse event.")
    return TableView(cb.numbering.table("safety-max-grade"),
                     f"Treatment-emergent adverse events by maximum {word}", table, note,
                     population=_population(plan))


def eair_table(cb: ContextBuilder, plan: Plan, groups: list[GroupView], total: Num, severe: str
               ) -> TableView | None:
    rows = cb.ard.select(analysis="eair", group="", statistic="rate")
    if not rows:
        return None
    cols = table_columns(plan)
    body: list[tuple[Cell, ...]] = []
    for r in rows:
        text = EAIR_LABELS.get(r.term, r.term).replace("Grade ≥3", severe)
        body.append((label(text, bold=True), *(_events_py(cb, r.term, g) for g in cols)))
        body.append((label(f"Per 100 patient-years ({cb.conf} CI)", indent=1),
                     *(_rate(cb, sk.eair("rate", g, term=r.term)) for g in cols)))
    table = Table("table-safety-eair", (group_header(groups, total, "Subjects with"),), tuple(body),
                  (2.6,) + (1.3,) * len(cols))
    first = cb.row(sk.eair("patient_years", term=rows[0].term))
    source = first.method.split("duration of exposure: ", 1)[-1]
    notes = {r.note for r in cb.ard.select(analysis="eair") if r.note}
    note = ("Subjects with the event / patient-years at risk, then the rate per 100 patient-years with its exact "
            f"Poisson {cb.conf} CI. Time at risk: from the first dose to the onset of the subject's first event of "
            "the row "
            "(onset study day), or to the end of exposure for subjects without one (duration of exposure: "
            f"{source}); 365.25 days a year. TEAE, treatment-emergent adverse event.")
    if notes:
        note += " " + "; ".join(sorted(notes)) + "."
    return TableView(cb.numbering.table("safety-eair"), "Exposure-adjusted incidence of treatment-emergent adverse "
                     "events", table, note, population=_population(plan))


def _events_py(cb: ContextBuilder, term: str, g: str) -> Cell:
    e, py = cb.ard.get(sk.eair("events", g, term=term)), cb.ard.get(sk.eair("patient_years", g, term=term))
    if e is None or py is None:
        return Cell("")
    return Cell(f"{fmt.count(e.value)} / {fmt.fixed(py.value, 1)}", e.id)


def _rate(cb: ContextBuilder, key) -> Cell:  # type: ignore[no-untyped-def]
    r = cb.ard.get(key)
    if r is None:
        return Cell("")
    return Cell(fmt.estimate_ci(r.value, r.lower, r.upper, 1), r.id)

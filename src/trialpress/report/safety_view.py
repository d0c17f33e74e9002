"""Baseline and safety tables, and the words of the abstract's safety sentence, from the ARD and its decisions."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from trialpress.plan import Plan
from trialpress.plan.safety import Measurements
from trialpress.report import formatting as fmt
from trialpress.report.ae_view import (
    all_terms_table,
    by_frequency,
    category_tables,
    eair_table,
    max_grade_table,
    term_label,
)
from trialpress.report.context import (
    ContextBuilder,
    FigureView,
    GroupView,
    Num,
    TableView,
    group_header,
    n_pct_cell,
    table_columns,
)
from trialpress.report.binary_view import Count
from trialpress.report.deaths_view import death_listing, deaths_table
from trialpress.report.disposition_view import disposition_table
from trialpress.report.exposure_view import exposure_table
from trialpress.report.labs_view import measurement_tables
from trialpress.report.tables import Cell, Table, label
from trialpress.results import keys
from trialpress.results import safety_keys as sk
from trialpress.results.ard import ARD
from trialpress.results.labs import post_baseline_rule

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
class SummaryLine:
    """One overview category for the abstract: its words and each group's count and percent."""

    label: str
    counts: list[Count]
    groups: list[GroupView]   # the group of each count


@dataclass(frozen=True)
class SafetySection:
    """The safety section's tables, in the order the template prints (and numbers) them."""

    overview: TableView
    terms: TableView
    interest: TableView | None
    interest_terms: list[InterestView]
    population_label: str
    disposition: TableView | None = None
    exposure: TableView | None = None
    max_grade: TableView | None = None
    categories: list[TableView] = field(default_factory=list)   # serious, related, discontinued, fatal by SOC/PT
    eair: TableView | None = None
    deaths: TableView | None = None
    labs: list[TableView] = field(default_factory=list)
    vitals: list[TableView] = field(default_factory=list)
    supplementary: list[TableView] = field(default_factory=list)   # all TEAEs, the listing of deaths
    summary: list[SummaryLine] = field(default_factory=list)   # the overview's main categories, for the abstract

    @property
    def adverse_events(self) -> list[TableView]:
        """The AE subsection: overview, threshold table, maximum grade, categories, rates, AEs of interest."""
        return [t for t in (self.overview, self.terms, self.max_grade, *self.categories, self.eair, self.interest)
                if t is not None]

    @property
    def tables(self) -> list[TableView]:
        """Every table of the section (the RTF package takes them all), in number order."""
        found = [t for t in (self.disposition, self.exposure, *self.adverse_events, self.deaths, *self.labs,
                             *self.vitals, *self.supplementary) if t is not None]
        return sorted(found, key=lambda t: t.number)

    def more_frequent_with(self, group: str) -> list[InterestView]:
        return [t for t in self.interest_terms if t.more_frequent_in and t.more_frequent_in.value == group]

    def numerically_more_with(self, group: str) -> list[InterestView]:
        return [t for t in self.interest_terms if t.numerically_more_in and t.numerically_more_in.value == group]


def safety_section(cb: ContextBuilder, plan: Plan) -> SafetySection | None:
    """The main safety tables, numbered in the template's order (the supplementary ones: `supplementary_tables`)."""
    safety = plan.safety
    if safety is None:
        return None
    pop = safety.population
    groups = cb.groups(pop)
    total = cb.num(keys.population(pop), "count")
    cols = table_columns(plan)
    ctcae = safety.variables.severity_kind == "ctcae"
    severe, any_grade = ("Grade ≥3", "Any grade") if ctcae else ("Severe", "Any severity")
    disposition = disposition_table(cb, plan)
    exposure = exposure_table(cb, plan)
    overview, summary = _overview(cb, plan, groups, total, cols, severe)
    terms = _terms(cb, plan, groups, total, cols, severe, any_grade)
    max_grade = max_grade_table(cb, plan, groups, total)
    categories = category_tables(cb, plan, groups, total)
    eair = eair_table(cb, plan, groups, total, severe)
    interest, views = _interest(cb, plan, groups, total, cols, severe, any_grade) if safety.of_interest else (None, [])
    deaths = deaths_table(cb, plan, groups, total)
    labs = measurement_tables(cb, plan, safety.labs, "lab", groups, total) if safety.labs else []
    vitals = measurement_tables(cb, plan, safety.vitals, "vs", groups, total) if safety.vitals else []
    return SafetySection(overview, terms, interest, views, plan.populations[pop].label, disposition=disposition,
                         exposure=exposure, max_grade=max_grade, categories=categories, eair=eair, deaths=deaths,
                         labs=labs, vitals=vitals, summary=summary)


def supplementary_tables(cb: ContextBuilder, plan: Plan) -> list[TableView]:
    """All TEAEs with no threshold and the listing of deaths: numbered after every other table."""
    assert plan.safety is not None
    pop = plan.safety.population
    groups, total = cb.groups(pop), cb.num(keys.population(pop), "count")
    return [t for t in (all_terms_table(cb, plan, groups, total), death_listing(cb, plan)) if t is not None]


SUMMARY_WORDS = {"any": "had a treatment-emergent adverse event (TEAE)", "severe": "had a {severe} TEAE",
                 "serious": "had a serious TEAE", "discontinued": "had a TEAE leading to discontinuation"}


def _overview(cb: ContextBuilder, plan: Plan, groups: list[GroupView], total: Num, cols: list[str], severe: str
              ) -> tuple[TableView, list[SummaryLine]]:
    """The overview table, and its main categories (any, severe, serious, leading to discontinuation) as the
    abstract's summary lines when the data collected them."""
    assert plan.safety is not None
    rows, missing, summary = [], [], []
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
        if category in SUMMARY_WORDS:
            words = SUMMARY_WORDS[category].format(severe=fmt.lower_first(severe))
            if category == "discontinued" and text != OVERVIEW_LABELS[category]:
                words = fmt.lower_first(text)   # read from ADSL: the plan's label says what was counted
            counts = [Count(cb.num(key, "count"), cb.num(key, "percent"))
                      for key in (keys.safety("overview", "n", g.value, term=category) for g in groups)]
            summary.append(SummaryLine(words, counts, groups))
    note = "TEAE, treatment-emergent adverse event. A subject is counted once per row."
    if missing:
        note += " Not collected: the data hold no value of the variable behind the row (" + "; ".join(missing) + ")."
    table = Table("table-safety-overview", (group_header(groups, total, "Subjects with"),), tuple(rows),
                  (2.4,) + (1.3,) * len(cols))
    return TableView(cb.numbering.table("safety-overview"),
                     "Overview of treatment-emergent adverse events", table, note,
                     population=plan.populations[plan.safety.population].label), summary


def _terms(cb: ContextBuilder, plan: Plan, groups: list[GroupView], total: Num, cols: list[str], severe: str,
           any_grade: str) -> TableView:
    """SOC / PT rows whose PT reaches the plan's threshold (a decision of the ARD), by descending frequency."""
    assert plan.safety is not None
    threshold = plan.safety.pt_threshold_percent
    shown = [*groups, None] if "" in cols else groups   # None: the Total column
    header2 = (Cell(""), *(Cell(g.header, colspan=2) for g in groups),
               *([Cell(f"Total (N\u00a0=\u00a0{total.text})", colspan=2)] if "" in cols else []))
    header3 = (label("System organ class / preferred term"),
               *(c for _ in shown for c in (Cell(any_grade), Cell(severe))))
    body: list[tuple[Cell, ...]] = []
    pts = cb.ard.select(analysis="pt_any", group="", statistic="n")
    socs = by_frequency(cb.ard.select(analysis="soc_any", group="", statistic="n"))
    for soc in socs:
        keep = [r for r in pts if r.parent == soc.term and cb.flag(
            keys.decision(keys.SAFETY, "above_threshold", on="pt_any", term=r.term, parent=r.parent))]
        if not keep:
            continue
        body.append(_term_row(cb, "soc", soc.term, "", cols, bold=True))
        for pt in by_frequency(keep):
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
    return (label(term_label(term), bold=bold, indent=0 if bold else 1), *cells)


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
            rows.append((label(f"Risk difference{vs}, % ({cb.conf} CI)", indent=1), *diff))
            said = cb.decision(keys.decision(keys.SAFETY, "more_frequent", c, on="interest", term=term.id))
            if said == "yes":
                more = more or cb.group(plan.safety.population, c)
            elif said == "numerically":
                numerically = numerically or cb.group(plan.safety.population, c)
        eair = [keys.safety("interest_eair", "rate", g, term=term.id) for g in cols]
        if all(cb.has(e) for e in eair):
            rows.append((label(f"Per 100 patient-years ({cb.conf} CI)", indent=1),
                         *(Cell(fmt.estimate_ci(cb.row(e).value, cb.row(e).lower, cb.row(e).upper, 1), e.id)
                           for e in eair)))
        views.append(InterestView(term.label, more, numerically))
    table = Table("table-safety-interest", (group_header(groups, total),), tuple(rows), (2.4,) + (1.3,) * len(cols))
    view = TableView(cb.numbering.table("safety-interest"), "Adverse events of interest", table,
                     "n (%) of subjects. "
                     + (f"Risk differences vs the reference group with Newcombe hybrid score {cb.conf} CIs. "
                        if plan.comparators else "")
                     + "Per 100 patient-years: subjects with the event per 100 patient-years at risk, "
                     f"exact Poisson {cb.conf} CI; time at risk from the first dose to the first event's onset, or "
                     "to the end of "
                     "exposure for subjects without one.",
                     population=plan.populations[plan.safety.population].label)
    return view, views


def safety_context(cb: ContextBuilder, plan: Plan, endpoints: list[Any],
                   figures: dict[str, list[FigureView]] | None = None) -> dict[str, Any]:
    """What templates/article/safety.qmd.j2 reads: the safety tables, and the endpoints the plan reports as safety
    outcomes (their table and figures, then each continuous one with its sentence, table and figure). Numbered in
    the template's order: the main tables, the safety outcomes, then the supplementary tables."""
    from trialpress.report.continuous_view import continuous_views
    from trialpress.report.efficacy import outcomes_table

    section = safety_section(cb, plan)
    outcomes = outcomes_table(cb, plan, "safety")
    continuous = continuous_views(cb, plan, figures or {}, role="safety")
    if section is not None:
        section = replace(section, supplementary=supplementary_tables(cb, plan))
    return {"safety": section, "safety_outcomes": outcomes, "safety_endpoints": endpoints,
            "safety_continuous": continuous}


def safety_methods(plan: Plan, ard: ARD) -> list[str]:
    """The methods sentences of the safety tables beyond the AE overview: each only when its table exists, with
    the conventions it follows (what is counted, where each value is read, how time at risk and 'worst' are
    defined, how missing values are counted)."""
    if plan.safety is None:
        return []
    lines = [*_disposition_methods(plan, ard), *_exposure_methods(plan, ard), _coding_methods(plan, ard),
             *_eair_methods(plan, ard), *_death_methods(plan, ard)]
    for prefix, m, what in (("lab", plan.safety.labs, "Laboratory values"), ("vs", plan.safety.vitals, "Vital signs")):
        if m is not None and ard.select(analysis=f"{prefix}_visit"):
            lines.append(_measurement_methods(ard, m, prefix, what))
    return lines


def _disposition_methods(plan: Plan, ard: ARD) -> list[str]:
    if ard.get(sk.disposition("subjects")) is None:
        return []
    read = sorted({r.parameter for r in ard.select(analysis="disposition") if r.parameter not in ("", "population")})
    line = (f"Disposition is summarized for all subjects assigned to a group by {plan.groups.variable}, with the "
            "analysis sets counted by the same variable; statuses and reasons are read as recorded in ADSL "
            f"({', '.join(read) or 'no disposition variable'}), reasons counted for the subjects who discontinued "
            "(as percentages of all subjects in the group, as every row), and blank values counted as missing.")
    return [line]


def _exposure_methods(plan: Plan, ard: ARD) -> list[str]:
    assert plan.safety is not None
    duration = ard.get(sk.exposure("n", parameter="duration"))
    if duration is None:
        return []
    cuts = ", ".join(str(c) for c in plan.safety.duration_categories_days)
    line = (f"Duration of exposure (days) is {duration.method.removeprefix('Duration of exposure: ')}; it is "
            f"summarized as mean (SD), median and range, in categories cut at {cuts} days, and as patient-years "
            "(the sum of the durations divided by 365.25).")
    intensity = next(iter(ard.select(analysis="exposure_summary", parameter="intensity", statistic="n")), None)
    if intensity is not None:
        how = intensity.method.split(": ", 1)[-1].split(";")[0]
        e = plan.safety.exposure
        within = f", within each value of {e.category}" if e is not None and e.category else ""
        line += f" Dose intensity is {how}{within}."
    return [line]


def _coding_methods(plan: Plan, ard: ARD) -> str:
    s = plan.safety
    assert s is not None
    meddra, ctcae = ard.get(sk.coding("meddra_version")), ard.get(sk.coding("ctcae_version"))
    versions = [f"MedDRA version {meddra.text} ({meddra.method})" if meddra is not None
                else "MedDRA (version not recorded in the data or the plan)"]
    if s.variables.severity_kind == "ctcae":
        versions.append(f"grades by CTCAE version {ctcae.text}" if ctcae is not None
                        else "grades by CTCAE (version not recorded in the data or the plan)")
    all_terms = " (all terms, with no threshold, in the supplementary tables)" if s.appendix_all_terms else ""
    return (f"Adverse events are coded with {' and '.join(versions)}. Tables by system organ class and preferred "
            f"term{all_terms} are sorted by descending total frequency; serious, treatment-related, fatal TEAEs and "
            "those leading to discontinuation of study treatment are tabulated with the overview's definitions. By "
            "maximum grade, each subject is counted once at the highest grade or severity of their TEAEs (overall "
            "and per preferred term).")


def _eair_methods(plan: Plan, ard: ARD) -> list[str]:
    assert plan.safety is not None
    if not (ard.select(analysis="eair") or ard.select(analysis="interest_eair")):
        return []
    line = ("Exposure-adjusted incidence rates are subjects with the event per 100 patient-years at risk, with "
            f"exact Poisson (Garwood) {fmt.conf_label(plan.conventions.alpha)} CIs. Time at risk runs from the first "
            "dose to the onset of the subject's "
            f"first event ({plan.safety.variables.onset_day}, day 1 being the day of the first dose; an earlier "
            "onset counts as day 1) for subjects with an event, and to the end of exposure (the duration of "
            "exposure) for subjects without one; an event with no onset day counts to the end of exposure.")
    return [line]


def _death_methods(plan: Plan, ard: ARD) -> list[str]:
    s = plan.safety
    assert s is not None
    deaths = ard.get(sk.deaths("n"))
    if deaths is None:
        return []
    pop = fmt.lower_first(plan.populations[s.population].label)
    line = f"Deaths ({deaths.method.removeprefix('Deaths: ')}) in the {pop} are summarized"
    if ard.get(sk.deaths("n", period="on_treatment")) is not None:
        line += (f" by period: on treatment when the death occurred on or before the last dose plus "
                 f"{s.death_window_days} days (or with treatment ongoing), in follow-up otherwise")
    if any(r.term for r in ard.select(analysis="deaths")):
        line += ", and by cause as recorded (DTHCAUS)"
    listed = ard.select(analysis="death_listing")
    return [line + ("; the listing gives the study day from the first dose (day 1)." if listed else ".")]


def _measurement_methods(ard: ARD, m: Measurements, prefix: str, what: str) -> str:
    line = (f"{what} ({m.dataset}) are summarized at baseline ({m.baseline_flag} = 'Y') and at each post-baseline "
            f"visit, with the change from baseline; post-baseline records are those with {post_baseline_rule(m)}.")
    if ard.select(analysis=f"{prefix}_shift"):
        line += (f" Shift tables cross the baseline reference-range indicator ({m.baseline_range_indicator}; "
                 "'missing' when none, shown as a row) with the worst post-baseline one "
                 f"({m.range_indicator}): low or high over normal, and 'low and high' when both occurred, so that "
                 "each subject is counted once.")
    if ard.select(analysis=f"{prefix}_grade_shift"):
        line += (f" Toxicity grades ({m.grade}, baseline {m.baseline_grade}) are tabulated per direction (negative "
                 "grades are the low direction, as ADaM codes them): the worst post-baseline grade is the highest, "
                 "and grade 3-4 counts subjects whose worst grade is 3 or more.")
    if prefix == "lab" and ard.get(sk.liver("subjects")) is not None:
        line += (" Liver tests use each subject's highest post-baseline ALT, AST and total bilirubin as multiples "
                 f"of the upper limit of normal ({m.upper_limit}); potential Hy's law is ALT or AST above 3 x ULN "
                 "with total bilirubin above 2 x ULN, not necessarily on the same day.")
    return line

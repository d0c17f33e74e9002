"""Time-to-event endpoints for the templates: the comparisons with the words their decisions support, and the
endpoint's block of an outcomes table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from markupsafe import Markup

from trialpress.plan import TimeToEvent
from trialpress.report import escape
from trialpress.report import formatting as fmt
from trialpress.report.context import ContextBuilder, FigureView, GroupView, Num, comparator_side
from trialpress.report.tables import Cell, label
from trialpress.results import keys

Favours = Literal["reference", "comparator", "neither"]
NOT_REACHED = "not reached"


@dataclass(frozen=True)
class Comparison:
    """One group vs the reference on one endpoint's model, with the decisions behind its words."""

    group: GroupView
    reference: GroupView
    estimate: Num
    ci: Num
    p_phrase: Num
    significant: bool | None    # None: no CI, nothing can be said
    favours: Favours            # which side the estimate favors by the plan's better direction


def comparison(cb: ContextBuilder, endpoint: str, analysis: str, statistic: str, comparator: str,
               groups: list[GroupView]) -> Comparison:
    ref = cb.plan.groups.reference
    est = keys.model(endpoint, analysis, statistic, comparator)
    favoured = cb.decision(keys.decision(endpoint, "favours", comparator, on=analysis))
    side: Favours = "neither" if not favoured else ("comparator" if favoured == comparator else "reference")
    by_value = {g.value: g for g in groups}
    return Comparison(by_value[comparator], by_value[ref], cb.num(est), cb.ci(est),
                      cb.p_phrase(keys.model(endpoint, analysis, "p", comparator)),
                      cb.flag(keys.decision(endpoint, "significant", comparator, on=analysis)), side)


@dataclass(frozen=True)
class Contrast:
    """A comparison phrased for prose: the favored group (or, when nothing is favored, the comparator) first."""

    first: GroupView
    second: GroupView
    first_median: Num
    second_median: Num
    longer: str            # 'first', 'second' or '' (a median not estimable, or equal): from the decision row
    comparison: Comparison

    unit: str = ""
    # the comparator's time against the reference's, by the estimate's side and the plan's better direction:
    # 'longer', 'shorter', or '' when nothing is favored; safety endpoints are described so, comparator first
    comparator_time: str = ""

    @property
    def comparator_medians(self) -> Markup:
        """The medians in the HR's own order: the comparator's, then the reference's."""
        return self.medians if self.first.value == self.comparison.group.value else self.medians_reversed

    @property
    def medians_comparable(self) -> bool:
        return bool(self.longer)

    @property
    def medians(self) -> Markup:
        """'10.4 vs. 5.7 months', '286.6 days vs. not reached', 'not reached in either group'."""
        return medians_phrase(self.first_median, self.second_median, self.unit)

    @property
    def medians_reversed(self) -> Markup:
        return medians_phrase(self.second_median, self.first_median, self.unit)


def medians_phrase(a: Num, b: Num, unit: str) -> Markup:
    na, nb = a.text == NOT_REACHED, b.text == NOT_REACHED
    u = escape.markdown(unit)
    if na and nb:
        return Markup(f"{a.md()} in either group")
    if na:
        return Markup(f"{a.md()} vs. {b.md()} {u}")
    if nb:
        return Markup(f"{a.md()} {u} vs. {b.md()}")
    return Markup(f"{a.md()} vs. {b.md()} {u}")


@dataclass(frozen=True)
class GroupMedian:
    """One group's median with its CI, for a sentence that describes rather than compares (a study of one group)."""

    group: GroupView
    median: Num                  # 'not reached' where the curve never falls to half
    ci: Num

    @property
    def reached(self) -> bool:
        return self.median.text != NOT_REACHED


@dataclass(frozen=True)
class TTEView:
    id: str
    label: str
    abbreviation: str | None
    unit: str
    better: str                  # 'longer' or 'shorter'
    role: str
    population_label: str        # who is analyzed: the population or its subset
    description: str | None
    groups: list[GroupView]      # with the analyzed N
    medians: dict[str, Num]
    contrasts: list[Contrast]
    figures: list[FigureView] = field(default_factory=list)
    in_abstract: bool = True
    by_group: list[GroupMedian] = field(default_factory=list)


def tte_view(cb: ContextBuilder, ep: TimeToEvent, figures: list[FigureView]) -> TTEView:
    groups = cb.analysed_groups(ep.id, ep.population)
    medians = {g: _median_in_prose(cb, keys.km(ep.id, "median", g)) for g in cb.plan.group_values}
    contrasts = []
    for c in cb.plan.comparators:
        comp = comparison(cb, ep.id, "cox", "hr", c, groups)
        # a significant result names the favored group first; otherwise the comparator comes first
        reference_first = comp.significant and comp.favours == "reference"
        first, second = (comp.reference, comp.group) if reference_first else (comp.group, comp.reference)
        longer_group = cb.decision(keys.decision(ep.id, "longer", c, on="km"))
        longer = "" if not longer_group else ("first" if longer_group == first.value else "second")
        contrasts.append(Contrast(first, second, medians[first.value], medians[second.value], longer, comp,
                                  ep.shown_unit, comparator_side(comp.significant, comp.favours, ep.better,
                                                                 "longer", "shorter")))
    by_group = [GroupMedian(g, medians[g.value], cb.ci(keys.km(ep.id, "median", g.value), "time")) for g in groups]
    return TTEView(ep.id, ep.label, ep.abbreviation, ep.shown_unit, ep.better, ep.role, cb.analysed_label(ep.id),
                   ep.description, groups, medians, contrasts, figures, ep.in_abstract, by_group)


def _median_in_prose(cb: ContextBuilder, key: keys.Key) -> Num:
    """A median for a sentence: 'not reached' where the curve never falls to half (the tables print NE)."""
    r = cb.row(key)
    if fmt.is_missing(r.value) and r.note in ("not reached", "no events"):
        return Num(NOT_REACHED, r.id)
    return cb.num(key, "time")


MODELS = (("cox", "HR ({conf} CI)"), ("cox_strat", "HR stratified by {strata} ({conf} CI)"),
          ("cox_adj", "Adjusted HR ({conf} CI)"))


def tte_rows(cb: ContextBuilder, ep: TimeToEvent) -> list[tuple[Cell, ...]]:
    """The endpoint's block of an outcomes table: who is analyzed, events, median, landmark rates, follow-up,
    HRs with their P (each labeled with the model it belongs to)."""
    plan = cb.plan
    gv, ref = plan.group_values, plan.groups.reference
    head = ep.label if not cb.subset_shown(ep.id) else f"{ep.label}, {cb.analysed_label(ep.id)}"
    rows: list[tuple[Cell, ...]] = [(label(head, bold=True), *(Cell("") for _ in gv))]

    def line(text: str, cells: list[Num], indent: int = 1) -> None:
        rows.append((label(text, indent=indent), *(Cell(c.text, c.ref) for c in cells)))

    if cb.subset_shown(ep.id):
        line("Patients analyzed, n", [cb.num(keys.analysis_set(ep.id, "n", g), "count") for g in gv])
    line("Events, n (%)", [cb.n_percent(keys.km(ep.id, "events", g)) for g in gv])
    unit = ep.shown_unit
    line(f"Median, {unit} ({cb.conf} CI)", [cb.est_ci(keys.km(ep.id, "median", g), "time") for g in gv])
    for t in ep.landmarks:
        line(f"Rate at {t:g} {unit}, % ({cb.conf} CI)", [cb.rate(keys.km(ep.id, "rate", g, at=t)) for g in gv])
    line(f"Median follow-up, {unit} ({cb.conf} CI)", [cb.est_ci(keys.followup(ep.id, g), "time") for g in gv])
    strata = fmt.lower_first(plan.label_of(ep.stratify_by or ""))
    for analysis, text in MODELS:
        if not any(cb.has(keys.model(ep.id, analysis, "hr", c)) for c in plan.comparators):
            continue
        name = text.format(strata=strata, conf=cb.conf)
        cells = [Cell("Reference") if g == ref else _cell(cb.est_ci(keys.model(ep.id, analysis, "hr", g)))
                 for g in gv]
        rows.append((label(name, indent=1), *cells))
        pcells = [Cell("") if g == ref else _cell(cb.num(keys.model(ep.id, analysis, "p", g), "p")) for g in gv]
        rows.append((label(f"P ({name.split(' (')[0]}, Wald)", indent=2), *pcells))
    if any(cb.has(keys.test(ep.id, "logrank", "p", c)) for c in plan.comparators):
        pcells = [Cell("") if g == ref else _cell(cb.num(keys.test(ep.id, "logrank", "p", g), "p")) for g in gv]
        rows.append((label("P (log-rank)", indent=1), *pcells))
    return rows


def _cell(num: Num) -> Cell:
    return Cell(num.text, num.ref)

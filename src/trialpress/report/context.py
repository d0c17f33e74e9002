"""ARD → template context: formatted, escaped, linked views of the numbers; no statistics.

Templates receive only this context. Each number is a `Num`: its text in journal style and the
ARD row it came from. Rendered into the .qmd it becomes a raw-HTML link to that row (invisible
in the PDF), so a reviewer can trace every number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from markupsafe import Markup

from trialpress.plan import Plan, TimeToEvent
from trialpress.report import escape
from trialpress.report import formatting as fmt
from trialpress.report.tables import Cell, Table, ard_anchor, as_html, as_typst, label
from trialpress.results.ard import ARD, Key, Row

Favours = Literal["reference", "comparator", "neither"]


@dataclass(frozen=True)
class Num:
    """A formatted number and the ARD row behind it."""

    text: str
    ref: str = ""

    def __str__(self) -> str:
        return self.text

    def __html__(self) -> str:  # used by Jinja when the context is rendered: a linked, escaped number
        return self.md()

    def md(self) -> str:
        body = escape.markdown(self.text)
        if not self.ref:
            return body
        anchor = escape.html_text(ard_anchor(self.ref))
        return f'`<a class="ard" href="#{anchor}">`{{=html}}{body}`</a>`{{=html}}'


@dataclass(frozen=True)
class GroupView:
    value: str
    label: str
    short: str
    n: Num
    is_reference: bool

    @property
    def header(self) -> str:
        """'Placebo (N = 153)' with no line break inside '(N = 153)'."""
        return f"{self.label} (N\u00a0=\u00a0{self.n.text})"


@dataclass(frozen=True)
class Comparison:
    """One group vs the reference on one endpoint, with the words its numbers support."""

    group: GroupView
    reference: GroupView
    estimate: Num
    ci: Num
    lower: Num
    upper: Num
    p: Num
    p_phrase: Num
    significant: bool
    favours: Favours       # which group the estimate favours; 'neither' when the CI is unavailable


@dataclass(frozen=True)
class Contrast:
    """A comparison phrased for prose: the group the numbers favour is named first."""

    first: GroupView
    second: GroupView
    first_median: Num
    second_median: Num
    estimate: Num
    ci: Num
    p_phrase: Num
    significant: bool
    favours: Favours


@dataclass(frozen=True)
class FigureView:
    id: str
    number: str          # '1', or '1A'/'1B' for the panels of one figure
    caption: str
    path: str            # relative to the .qmd

    @property
    def embed(self) -> Markup:
        return Markup(f"![**Figure {self.number}.** {escape.markdown(self.caption)}]({self.path}){{#{self.id}}}")


@dataclass(frozen=True)
class TTEView:
    id: str
    label: str
    abbreviation: str
    unit: str
    population_label: str
    description: str | None
    medians: dict[str, Num]
    comparisons: list[Comparison]
    contrasts: list[Contrast]
    figures: list[FigureView] = field(default_factory=list)
    in_abstract: bool = True


@dataclass(frozen=True)
class Numbering:
    """Tables and figures are numbered by the templates' order, not by Quarto's cross-referencing."""

    tables: dict[str, int] = field(default_factory=dict)
    figures: dict[str, int] = field(default_factory=dict)

    def table(self, key: str) -> int:
        return self.tables.setdefault(key, len(self.tables) + 1)

    def figure(self, key: str) -> int:
        return self.figures.setdefault(key, len(self.figures) + 1)


class ContextBuilder:
    def __init__(self, plan: Plan, ard: ARD) -> None:
        self.plan = plan
        self.ard = ard
        c = plan.conventions
        self.style = fmt.NumberStyle(estimate_decimals=c.estimate_decimals, time_decimals=c.time_decimals,
                                     percent_decimals_large_n=c.percent_decimals_large_n,
                                     percent_decimals_small_n=c.percent_decimals_small_n, ci_separator=c.ci_separator)
        self.numbering = Numbering()

    # ------------------------------------------------------------------ numbers
    def row(self, key: Key) -> Row:
        return self.ard[key]

    def num(self, row_id: Key, kind: Literal["count", "time", "ratio", "p", "percent"] = "ratio",
            part: Literal["value", "lower", "upper"] = "value") -> Num:
        r = self.ard[row_id]
        row_id = r.id
        x = getattr(r, part)
        if kind == "count":
            text = fmt.count(x)
        elif kind == "time":
            text = fmt.fixed(x, self.style.time_decimals)
        elif kind == "p":
            text = fmt.pvalue(x)
        elif kind == "percent":
            text = fmt.percent(x, r.n, self.style)
        else:
            text = fmt.fixed(x, self.style.estimate_decimals)
        return Num(text, row_id)

    def ci(self, row_id: Key, kind: Literal["time", "ratio"] = "ratio", sep: str | None = None) -> Num:
        r = self.ard[row_id]
        row_id = r.id
        d = self.style.time_decimals if kind == "time" else self.style.estimate_decimals
        return Num(fmt.ci(r.lower, r.upper, d, self.style.ci_separator if sep is None else sep), row_id)

    def est_ci(self, row_id: Key, kind: Literal["time", "ratio"] = "ratio") -> Num:
        """'10.4 (8.1–12.6)' for tables."""
        r = self.ard[row_id]
        row_id = r.id
        d = self.style.time_decimals if kind == "time" else self.style.estimate_decimals
        return Num(f"{fmt.fixed(r.value, d)} ({fmt.ci(r.lower, r.upper, d, fmt.EN_DASH)})", row_id)

    # ------------------------------------------------------------------ groups
    def groups(self, pop_id: str) -> list[GroupView]:
        out = []
        for lv in self.plan.groups.levels:
            out.append(GroupView(lv.value, lv.label, lv.short or lv.label,
                                 self.num(("POP", pop_id, lv.value, "n"), "count"),
                                 lv.value == self.plan.groups.reference))
        return out

    def group(self, pop_id: str, value: str) -> GroupView:
        return next(g for g in self.groups(pop_id) if g.value == value)

    # ------------------------------------------------------------------ comparisons
    def comparison(self, endpoint: str, analysis: str, comparator: str, pop_id: str,
                   higher_is_better: bool = False) -> Comparison:
        """HR/OR of `comparator` vs reference. For hazards (higher_is_better=False) an estimate
        above 1 favours the reference; for odds of a good outcome it favours the comparator."""
        hr_key = (endpoint, analysis, comparator, "hr")
        est_row = self.ard[hr_key] if hr_key in self.ard else self.ard[(endpoint, analysis, comparator, "or")]
        est_id = est_row.id
        p_id = self.ard[(endpoint, analysis, comparator, "p")].id
        lo, hi = est_row.lower, est_row.upper
        significant = not (fmt.is_missing(lo) or fmt.is_missing(hi)) and (hi < 1 or lo > 1)
        if fmt.is_missing(est_row.value) or fmt.is_missing(lo):
            favours: Favours = "neither"
        elif est_row.value == 1:
            favours = "neither"
        else:
            above = est_row.value > 1
            favours = "comparator" if above == higher_is_better else "reference"
        p_row = self.ard[p_id]
        return Comparison(
            group=self.group(pop_id, comparator), reference=self.group(pop_id, self.plan.groups.reference),
            estimate=self.num(est_id), ci=self.ci(est_id), lower=self.num(est_id, part="lower"),
            upper=self.num(est_id, part="upper"), p=self.num(p_id, "p"),
            p_phrase=Num(fmt.p_phrase(p_row.value), p_id), significant=significant, favours=favours)

    # ------------------------------------------------------------------ endpoints
    def tte(self, ep: TimeToEvent, figures: list[FigureView]) -> TTEView:
        medians = {g: self.num((ep.id, "km", g, "median"), "time") for g in self.plan.group_values}
        comps = [self.comparison(ep.id, "cox", c, ep.population) for c in self.plan.comparators]
        contrasts = []
        for c in comps:
            comparator_first = c.favours == "comparator"
            first, second = (c.group, c.reference) if comparator_first else (c.reference, c.group)
            contrasts.append(Contrast(first, second, medians[first.value], medians[second.value], c.estimate, c.ci,
                                      c.p_phrase, c.significant, c.favours))
        return TTEView(ep.id, ep.label, ep.abbreviation or ep.label, ep.shown_unit,
                       self.plan.populations[ep.population].label, ep.description, medians, comps, contrasts,
                       figures, ep.in_abstract)

    def tte_rows(self, ep: TimeToEvent) -> list[tuple[Cell, ...]]:
        """The endpoint's block of the efficacy table: events, median, landmark rates, HRs with P."""
        gv = self.plan.group_values
        ref = self.plan.groups.reference
        rows: list[tuple[Cell, ...]] = [(label(ep.label, bold=True), *(Cell("") for _ in gv))]

        def line(text: str, cells: list[Num]) -> None:
            rows.append((label(text, indent=1), *(Cell(c.text, c.ref) for c in cells)))

        line("Events, n (%)", [self.n_percent((ep.id, "km", g, "events")) for g in gv])
        line(f"Median, {ep.shown_unit} (95% CI)", [self.est_ci((ep.id, "km", g, "median"), "time") for g in gv])
        for t in ep.landmarks:
            pid = f"{t:g}"
            line(f"Rate at {pid} {ep.shown_unit}, % (95% CI)", [self._rate((ep.id, "km", g, "rate", pid)) for g in gv])
        line(f"Median follow-up, {ep.shown_unit} (95% CI)",
             [self.est_ci((ep.id, "followup", g, "median"), "time") for g in gv])
        models = [("cox", "HR (95% CI)"), ("cox_strat", f"HR stratified by {fmt.lower_first(self.plan.label_of(ep.stratify_by or ''))} (95% CI)"),
                  ("cox_adj", "Adjusted HR (95% CI)")]
        for analysis, text in models:
            if (ep.id, analysis, self.plan.comparators[0], "hr") not in self.ard:
                continue
            cells = []
            for g in gv:
                cells.append(Cell("Reference") if g == ref else _cell(self.est_ci((ep.id, analysis, g, "hr"))))
            rows.append((label(text, indent=1), *cells))
            pcells = [Cell("") if g == ref else _cell(self.num((ep.id, analysis, g, "p"), "p")) for g in gv]
            rows.append((label("P (Wald)", indent=2), *pcells))
        return rows

    def n_percent(self, key: Key) -> Num:
        """'108 (65)': a count and its percent of the row's denominator."""
        r = self.ard[key]
        return Num(f"{fmt.count(r.value)} ({fmt.percent(r.value, r.n, self.style)})", r.id)

    def _rate(self, row_id: Key) -> Num:
        r = self.ard[row_id]
        row_id = r.id
        if fmt.is_missing(r.value):
            return Num(fmt.NE, row_id)
        d = 1
        return Num(f"{fmt.fixed(100 * r.value, d)} ({fmt.fixed(100 * r.lower, d)}{fmt.EN_DASH}"
                   f"{fmt.fixed(100 * r.upper, d)})", row_id)


def _cell(num: Num) -> Cell:
    return Cell(num.text, num.ref)


def raw_blocks(table: Table) -> Markup:
    """The table as a raw HTML block and a raw Typst block (each format takes its own)."""
    return Markup(f"```{{=html}}\n{as_html(table)}\n```\n\n```{{=typst}}\n{as_typst(table)}\n```\n")

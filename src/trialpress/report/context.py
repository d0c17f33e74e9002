"""ARD → template context: formatted, escaped, linked views of the numbers and decisions; no statistics.

Templates receive only this context. Each number is a `Num`: its text in journal style and the ARD row it
came from. Rendered into the .qmd it becomes a raw-HTML link to that row (invisible in the PDF), so a
reviewer can trace every number. Every word that depends on the data (longer, significant, favors …) is
read from a decision row of the ARD (`results/decisions.py`), never decided here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Literal

from markupsafe import Markup

from trialpress.plan import Plan
from trialpress.report import escape
from trialpress.report import formatting as fmt
from trialpress.report.tables import Caption, Cell, Table, ard_anchor, as_html, as_typst
from trialpress.results import keys
from trialpress.results.ard import ARD, Key, Row

Kind = Literal["count", "time", "ratio", "p", "percent"]
FOREST_SUFFIX = ":forest"   # key of an endpoint's forest plots in the figures mapping


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
class FigureView:
    id: str
    number: str          # '1', or '1A'/'1B' for the panels of one figure
    caption: str
    path: str            # relative to the .qmd
    alt: str = ""        # what the figure shows, for readers who cannot see it
    note: str = ""       # how to read it, abbreviations: under the figure, not in the lists of figures

    @property
    def label(self) -> str:
        return f"Figure {self.number}."

    @property
    def embed(self) -> Markup:
        alt = f' fig-alt="{escape.attribute(self.alt)}"' if self.alt else ""
        note = f"\n\n::: {{.tp-note}}\n{escape.markdown(self.note)}\n:::" if self.note else ""
        return Markup(f"![**Figure {self.number}.** {escape.markdown(self.caption)}.]({escape.link_target(self.path)})"
                      f"{{#{self.id}{alt}}}{note}")


@dataclass(frozen=True)
class TableView:
    """A numbered table: its title, the table model (rendered as raw blocks for each format) and its notes."""

    number: int
    title: str               # without the population
    model: Table
    note: str
    population: str = ""

    @property
    def caption(self) -> str:
        """'Baseline characteristics (full analysis set)'."""
        return f"{self.title} ({fmt.lower_first(self.population)})" if self.population else self.title

    @property
    def label(self) -> str:
        return f"Table {self.number}."

    @property
    def table(self) -> Markup:
        """The table with its caption, as raw blocks for each output format."""
        return raw_blocks(replace(self.model, caption=Caption(self.label, str(self.number), f"{self.caption}."),
                                  note=self.note))


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
        self.conf = fmt.conf_label(c.alpha)     # '95%': the level of every CI, as labels and notes name it

    # ------------------------------------------------------------------ numbers
    def row(self, key: Key) -> Row:
        return self.ard[key]

    def has(self, key: Key) -> bool:
        return key in self.ard

    def num(self, key: Key, kind: Kind = "ratio", part: Literal["value", "lower", "upper"] = "value") -> Num:
        r = self.ard[key]
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
        return Num(text, r.id)

    def p_phrase(self, key: Key) -> Num:
        r = self.ard[key]
        return Num(fmt.p_phrase(r.value), r.id)

    def ci(self, key: Key, kind: Literal["time", "ratio"] = "ratio", sep: str | None = None) -> Num:
        r = self.ard[key]
        d = self.style.time_decimals if kind == "time" else self.style.estimate_decimals
        return Num(fmt.ci(r.lower, r.upper, d, self.style.ci_separator if sep is None else sep), r.id)

    def est_ci(self, key: Key, kind: Literal["time", "ratio"] = "ratio") -> Num:
        """'10.4 (8.1–12.6)' for tables."""
        r = self.ard[key]
        d = self.style.time_decimals if kind == "time" else self.style.estimate_decimals
        return Num(fmt.estimate_ci(r.value, r.lower, r.upper, d), r.id)

    def n_percent(self, key: Key) -> Num:
        """'108 (65)': a count and its percent of the row's denominator."""
        r = self.ard[key]
        return Num(fmt.n_percent(r.value, r.n, self.style), r.id)

    def rate(self, key: Key) -> Num:
        """A survival probability as a percentage with its CI: '52.3 (44.1–60.0)'."""
        r = self.ard[key]
        return Num(fmt.percent_ci(r.value, r.lower, r.upper, 1), r.id)

    # ------------------------------------------------------------------ decisions
    def decision(self, key: Key) -> str:
        """The text outcome of a decision row ('' when the row is absent or undecided)."""
        r = self.ard.get(key)
        return r.text if r is not None else ""

    def flag(self, key: Key) -> bool | None:
        """A 1/0 decision as True/False; None when undecidable (no CI) or absent."""
        r = self.ard.get(key)
        if r is None or fmt.is_missing(r.value):
            return None
        return bool(r.value)

    # ------------------------------------------------------------------ groups
    def groups(self, pop_id: str) -> list[GroupView]:
        out = []
        for lv in self.plan.groups.levels:
            out.append(GroupView(lv.value, lv.label, lv.short or lv.label,
                                 self.num(keys.population(pop_id, lv.value), "count"),
                                 lv.value == self.plan.groups.reference))
        return out

    def group(self, pop_id: str, value: str) -> GroupView:
        return next(g for g in self.groups(pop_id) if g.value == value)

    def analysed_groups(self, endpoint: str, pop_id: str) -> list[GroupView]:
        """The groups with the endpoint's analyzed N (e.g. patients in remission), not the population's."""
        return [GroupView(g.value, g.label, g.short, self.num(keys.analysis_set(endpoint, "n", g.value), "count"),
                          g.is_reference) for g in self.groups(pop_id)]

    def analysed_label(self, endpoint: str) -> str:
        return self.decision_text(keys.analysis_set(endpoint, "label"))

    def decision_text(self, key: Key) -> str:
        r = self.ard.get(key)
        return r.text if r is not None else ""

    def subset_shown(self, endpoint: str) -> bool:
        """Whether the endpoint's analyzed set differs from its population (an N of its own to show)."""
        r = self.ard.get(keys.analysis_set(endpoint, "excluded"))
        return r is not None and not fmt.is_missing(r.value) and r.value > 0

    def cutoff(self) -> str:
        return self.decision_text(keys.cutoff()) or "not recorded"


def comparator_side(significant: bool | None, favours: str, better: str, up: str, down: str) -> str:
    """The comparator's side of a significant difference in the endpoint's own words (`up`: 'longer' time,
    'higher' mean; `down` the other), from the ARD's decision and the plan's better direction: favoring the
    comparator means `up` when `up` is better, `down` otherwise; '' when nothing is favored. How a safety
    endpoint's difference is stated, comparator first, instead of naming a favored group."""
    if not significant or favours == "neither":
        return ""
    return up if (favours == "comparator") == (better == up) else down


def n_pct_cell(cb: ContextBuilder, key: Key) -> Cell:
    """A table cell 'n (%)' linked to its ARD row."""
    num = cb.n_percent(key)
    return Cell(num.text, num.ref)


def table_columns(plan: Plan) -> list[str]:
    """The columns of a table by group: each group's value, then '' for Total when there are two or more groups
    (with one group, Total would repeat it)."""
    gv = plan.group_values
    return [*gv, ""] if len(gv) > 1 else list(gv)


def group_header(groups: list[GroupView], total: Num | None, first: str = "") -> tuple[Cell, ...]:
    """A header row: the label column, one column per group '(N = n)', and Total when given (and there are two or
    more groups: see `table_columns`)."""
    cells = [Cell(first, align="left")] + [Cell(g.header) for g in groups]
    if total is not None and len(groups) > 1:
        cells.append(Cell(f"Total (N\u00a0=\u00a0{total.text})"))
    return tuple(cells)


# The raw blocks a table carries in the .qmd: HTML and Typst always (the .qmd stays a Quarto document that renders
# to both), Word's OpenXML only in a render that writes Word (it is two thirds of the flagship's .qmd, which
# pandoc would otherwise parse twice for nothing). The formats are part of a version's id, so the same inputs
# still give the same bytes.
_WORD_TABLES: ContextVar[bool] = ContextVar("trialpress_word_tables", default=True)


@contextmanager
def tables_for(formats: Collection[str]) -> Iterator[None]:
    """Within this block, tables are written for these document formats (Word's blocks only with "docx")."""
    token = _WORD_TABLES.set("docx" in formats)
    try:
        yield
    finally:
        _WORD_TABLES.reset(token)


def raw_blocks(table: Table) -> Markup:
    """The table as raw blocks, one per output format (each format takes its own; OpenXML only where Word is
    written, see `tables_for`), with fences longer than any run of backticks in the table so that no text
    inside can close its block."""
    bodies = [("html", as_html(table)), ("typst", as_typst(table))]
    if _WORD_TABLES.get():
        from trialpress.report.docx import as_openxml

        bodies.append(("openxml", as_openxml(table)))
    parts = []
    for fmt_name, body in bodies:
        fence = escape.fence_for(body)
        parts.append(f"{fence}{{={fmt_name}}}\n{body}\n{fence}\n")
    return Markup("\n".join(parts))

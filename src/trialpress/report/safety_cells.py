"""Cells and rows shared by the safety tables: counts, n (%), summaries (n, mean (SD), median, min, max), headers
and the display of the data's own category values. Formatting only: every number is an ARD row."""

from __future__ import annotations

import math

from trialpress.report import formatting as fmt
from trialpress.report.context import ContextBuilder, GroupView, n_pct_cell
from trialpress.report.tables import Cell, label
from trialpress.results.ard import Key

NB = "\u00a0"
SUMMARY_LABELS = (("n", "n"), ("mean_sd", "Mean (SD)"), ("median", "Median"), ("range", "Min, max"))


def count_cell(cb: ContextBuilder, key: Key) -> Cell:
    r = cb.ard.get(key)
    return Cell("0", "") if r is None else Cell(fmt.count(r.value), r.id)


def npct(cb: ContextBuilder, key: Key) -> Cell:
    """'n (%)' of the row's denominator; '0' when the ARD has no row (no subject in any group)."""
    return n_pct_cell(cb, key) if cb.has(key) else Cell("0")


def number(cb: ContextBuilder, key: Key, decimals: int) -> Cell:
    r = cb.ard.get(key)
    return Cell("") if r is None else Cell(fmt.fixed(r.value, decimals), r.id)


def summary_cell(cb: ContextBuilder, what: str, key_of, decimals: int) -> Cell:  # type: ignore[no-untyped-def]
    """One summary statistic's cell; `key_of(statistic)` gives its ARD key. '' where the ARD has no row (NE where
    the statistic is not estimable, e.g. the SD of one value)."""
    if what == "n":
        r = cb.ard.get(key_of("n"))
        return Cell("") if r is None else Cell(fmt.count(r.value), r.id)
    if what == "mean_sd":
        m, s = cb.ard.get(key_of("mean")), cb.ard.get(key_of("sd"))
        if m is None or (m.value != m.value and (s is None or s.value != s.value)):
            return Cell("" if m is None else "NE", "" if m is None else m.id)
        sd = "NE" if s is None or s.value != s.value else fmt.fixed(s.value, decimals + 1)
        return Cell(f"{fmt.fixed(m.value, decimals)} ({sd})", m.id)
    if what == "median":
        r = cb.ard.get(key_of("median"))
        return Cell("") if r is None else Cell(fmt.fixed(r.value, decimals) if r.value == r.value else "NE", r.id)
    lo, hi = cb.ard.get(key_of("min")), cb.ard.get(key_of("max"))
    if lo is None or hi is None:
        return Cell("")
    if lo.value != lo.value:
        return Cell("NE", lo.id)
    return Cell(f"{fmt.fixed(lo.value, decimals)}, {fmt.fixed(hi.value, decimals)}", lo.id)


def decimals_for(value: float | None, fixed: int | None = None) -> int:
    """Decimals of a mean or median from the magnitude of the data (about three significant digits), or the
    plan's fixed number."""
    if fixed is not None:
        return fixed
    if value is None or value != value or value == 0:
        return 1
    return max(0, min(3, 2 - int(math.floor(math.log10(abs(value))))))


def header(groups: list[GroupView], total: str | None, first: str = "") -> tuple[Cell, ...]:
    cells = [Cell(first, align="left")] + [Cell(g.header) for g in groups]
    if total is not None:
        cells.append(Cell(f"Total (N{NB}={NB}{total})"))
    return tuple(cells)


def shown(value: str) -> str:
    """A controlled-terminology value in sentence case ('ADVERSE EVENT' → 'Adverse event'); mixed-case text as
    recorded."""
    v = value.strip()
    if v and v.upper() == v and any(ch.isalpha() for ch in v):
        return v[:1] + v[1:].lower()
    return v


def visit_name(value: str) -> str:
    """'WEEK 1 DAY 8' → 'Week 1 Day 8'; other spellings as recorded."""
    v = value.strip()
    return v.title() if v.upper() == v else v


def section(text: str, ncols: int) -> tuple[Cell, ...]:
    """A bold label row with empty cells."""
    return (label(text, bold=True), *(Cell("") for _ in range(ncols)))

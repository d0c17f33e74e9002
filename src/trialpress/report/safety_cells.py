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
    """'n (%)' of the row's denominator; '0 (0)' when the ARD has no row (no subject in any group)."""
    return n_pct_cell(cb, key) if cb.has(key) else Cell("0 (0)")


def number(cb: ContextBuilder, key: Key, decimals: int) -> Cell:
    r = cb.ard.get(key)
    return Cell("") if r is None else Cell(fmt.fixed(r.value, decimals), r.id)


def summary_cell(cb: ContextBuilder, what: str, key_of, decimals: int,  # type: ignore[no-untyped-def]
                 range_decimals: int | None = None) -> Cell:
    """One summary statistic's cell; `key_of(statistic)` gives its ARD key. '' where the ARD has no row (NE where
    the statistic is not estimable, e.g. the SD of one value). Mean and median with `decimals`, the SD with one
    more, minimum and maximum with `range_decimals` (default: `decimals`)."""
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
    rd = decimals if range_decimals is None else range_decimals
    return Cell(f"{fmt.fixed(lo.value, rd)}, {fmt.fixed(hi.value, rd)}", lo.id)


def summary_decimals(cb: ContextBuilder, key_of, fixed: int | None = None) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Decimals of (mean and median, minimum and maximum) for a summary whose rows `key_of(statistic)` names:
    the plan's fixed number; for whole-number data (minimum, median and maximum whole) one decimal and none; else
    about three significant digits of the median, at least one decimal."""
    if fixed is not None:
        return fixed, fixed
    found = [cb.ard.get(key_of(stat)) for stat in ("median", "min", "max")]
    values = [r.value for r in found if r is not None and r.value == r.value]
    if values and all(float(v).is_integer() for v in values):
        return 1, 0
    median = values[0] if values else None
    if median is None or median == 0:
        return 1, 1
    d = max(1, min(3, 2 - math.floor(math.log10(abs(median)))))
    return d, d


def header(groups: list[GroupView], total: str | None, first: str = "") -> tuple[Cell, ...]:
    cells = [Cell(first, align="left")] + [Cell(g.header) for g in groups]
    if total is not None and len(groups) > 1:   # one group: no Total column (`context.table_columns`)
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

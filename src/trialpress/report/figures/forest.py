"""Subgroup forest plots: label | count columns | plot | HR (95% CI) | P, on a log hazard-ratio axis.

Column widths come from the measured text; the plot takes what is left (the font shrinks a little
if that is too narrow). Every number is pre-formatted text from the caller except the points drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FixedLocator, NullLocator
from matplotlib.transforms import blended_transform_factory

from trialpress.report.figures.specs import ForestRow, ForestSpec
from trialpress.report.figures.style import _INK, FONT_SIZE, _drawable, _new_figure, _save, _style, _text_size_in

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backend_bases import RendererBase
    from matplotlib.transforms import Transform

_F_ROW_H = 0.195        # inches per row at 8 pt
_F_GAP = 0.14           # between text columns
_F_PAD = 0.04
_F_INDENT = 0.12
_F_MIN_PLOT_W = 1.7
_F_LADDER = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 10.0, 20.0, 50.0, 100.0)
_F_SIZES = (FONT_SIZE, 7.5, 7.0, 6.5)   # font sizes tried, largest first, until the plot is wide enough

Cell = tuple[str, bool, bool, list[str], str, str]   # (label shown, bold, indented, counts, HR text, P text)


def _forest_cells(spec: ForestSpec) -> list[Cell]:
    """(label shown, bold, indented, count cells, HR text, P text) per row.

    A row under a header repeats the header as "Header: level"; the prefix is dropped and the
    level indented, as in journal forest plots.
    """
    n_count = len(spec.columns) - 3
    out = []
    header = None
    for row in spec.rows:
        parts = list(row.n_cells)
        if len(parts) > n_count:
            raise ValueError(f"forest row {row.label!r}: {len(parts)} count cells for {n_count} count columns")
        parts += [""] * (n_count - len(parts))
        if row.is_header:
            header = row.label
            out.append((row.label, True, False, parts, row.hr_text, row.p_text))
            continue
        label, indented = row.label, False
        if header is not None and label.startswith(f"{header}: "):
            label, indented = label[len(header) + 2:], True
        else:
            header = None   # a row that is not 'Header: level' stands on its own (e.g. 'All patients')
        out.append((label, False, indented, parts, row.hr_text, row.p_text))
    return out


def _wrap_header(renderer: RendererBase, text: str, width: float, size: float) -> str:
    """Break a column header at the space that gives the narrowest block, if it is wider than the cells."""
    if "\n" in text or " " not in text or _text_size_in(renderer, text, size, "bold")[0] <= width:
        return text
    words = text.split(" ")
    best, best_w = text, _text_size_in(renderer, text, size, "bold")[0]
    for i in range(1, len(words)):
        cand = " ".join(words[:i]) + "\n" + " ".join(words[i:])
        w = _text_size_in(renderer, cand, size, "bold")[0]
        if w < best_w:
            best, best_w = cand, w
    return best


def _forest_xlim(spec: ForestSpec) -> tuple[float, float]:
    """Powers of two around the data, at least 0.5–2 and at most 1/8–8, so one wild CI cannot
    squash the rest (it gets an arrow instead)."""
    vals = [v for r in spec.rows if not r.is_header for v in (r.lower, r.upper, r.hr)
            if v is not None and math.isfinite(v) and v > 0]
    lo = min([*vals, 1.0])
    hi = max([*vals, 1.0])
    k_lo = min(-1, max(-3, math.floor(math.log2(lo) + 1e-9)))
    k_hi = max(1, min(3, math.ceil(math.log2(hi) - 1e-9)))
    return 2.0 ** k_lo, 2.0 ** k_hi


def _forest_ticks(lo: float, hi: float, width_in: float = math.inf, fs: float = 0.0) -> list[float]:
    """Doubling ticks inside the limits, plus the limits themselves if they are off that ladder
    (a doubling tick crowding a limit gives way); on an axis `width_in` inches wide whose labels are `fs`
    points, only those whose labels do not touch (`_uncrowded`)."""
    k0, k1 = math.ceil(math.log2(lo) - 1e-9), math.floor(math.log2(hi) + 1e-9)
    ticks = [2.0 ** k for k in range(k0, k1 + 1)]
    if len(ticks) > 7:
        ticks = [v for v in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
                 if lo * 0.9999 <= v <= hi * 1.0001]
    for edge in (lo, hi):
        if all(abs(math.log(edge / t)) > 1e-6 for t in ticks):
            ticks = [t for t in ticks if abs(math.log(edge / t)) > math.log(1.6)] + [edge]
    return _uncrowded(sorted(ticks), lo, hi, width_in, fs)


def _uncrowded(ticks: list[float], lo: float, hi: float, width_in: float, fs: float) -> list[float]:
    """`ticks` if their labels keep a character's gap between them on the axis; else every second (third …)
    tick counted from 1, the smallest stride whose labels clear, with a limit added back only where it clears
    too. Label widths are estimated from DejaVu Sans's digit advance (0.64 em), a bound for an HR label."""
    if not fs or not math.isfinite(width_in) or 1.0 not in ticks:
        return ticks
    em = fs / 72.0

    def clear(a: float, b: float) -> bool:
        gap = width_in * abs(math.log(b / a)) / math.log(hi / lo)
        return gap >= 0.5 * (len(_fmt_hr_tick(a)) + len(_fmt_hr_tick(b))) * 0.64 * em + 0.64 * em

    def fits(ts: list[float]) -> bool:
        return all(clear(a, b) for a, b in zip(ts, ts[1:]))

    if fits(ticks):
        return ticks
    limits = [t for t in (lo, hi) if t in ticks and abs(math.log2(t) - round(math.log2(t))) > 1e-9]
    ladder = [t for t in ticks if t not in limits]
    one = ladder.index(1.0)
    for stride in range(2, len(ladder) + 1):
        kept = [t for i, t in enumerate(ladder) if (i - one) % stride == 0]
        if fits(kept):
            for t in limits:
                if fits(sorted([*kept, t])):
                    kept = sorted([*kept, t])
            return kept
    return [1.0]


def _fmt_hr_tick(v: float) -> str:
    return f"{v:.3g}"


@dataclass(frozen=True)
class _ForestLayout:
    """Font size, column headers and positions, in inches from the figure's left or bottom edge."""

    fs: float                   # font size the columns fit at
    headers: list[str]          # column headers, wrapped
    widths: list[float]         # text column widths
    col_x: list[float]          # text column left edges
    plot_x: float
    plot_w: float
    row_h: float
    bottom_h: float             # x axis, its label and the 'favors' line
    width: float
    height: float


def build_forest_figure(spec: ForestSpec, *, width_in: float = 7.0,
                        xlim: tuple[float, float] | None = None) -> Figure:
    """The forest plot as a matplotlib Figure (draw_forest saves it; tests inspect it).

    Columns: label | count columns | plot | HR (95% CI) | P. Widths come from the measured
    text; the plot takes what is left (the font shrinks a little if that is too narrow).
    """
    if len(spec.columns) < 3:
        raise ValueError("forest columns must be (label, *count columns, HR, P)")
    if not spec.rows:
        raise ValueError("forest plot has no rows")
    cells = _forest_cells(spec)
    lo, hi = xlim if xlim is not None else _forest_xlim(spec)
    if not (0 < lo < 1 < hi):
        raise ValueError(f"forest x limits must bracket 1, got {(lo, hi)}")
    with _style():
        fig, renderer = _new_figure(width_in, 1.0)
        lay = _forest_layout(renderer, spec, cells, width_in)
        fig.set_size_inches(width_in, lay.height)
        ax = _forest_axes(fig, spec, lay, len(cells), lo, hi)
        tr = blended_transform_factory(fig.dpi_scale_trans, ax.transData)
        _draw_bands(fig, ax, cells, lay)
        _draw_headers(ax, tr, lay)
        _draw_rows(ax, tr, spec, cells, lay, lo, hi)
        _draw_favours(ax, spec, lay.fs)
    return fig


def _forest_layout(renderer: RendererBase, spec: ForestSpec, cells: list[Cell], width_in: float) -> _ForestLayout:
    """Measure the columns at the largest font size that leaves the plot wide enough (else the smallest)."""
    n_count = len(spec.columns) - 3
    for size in _F_SIZES:
        def w(text: str, bold: bool = False, _s: float = size) -> float:
            return _text_size_in(renderer, text, _s, "bold" if bold else "normal")[0]

        label_w = max(w(c[0], c[1]) + (_F_INDENT if c[2] else 0.0) for c in cells)
        count_w = [max([w(c[3][j]) for c in cells]) for j in range(n_count)]
        hr_w = max(w(c[4]) for c in cells)
        p_w = max(w(c[5], c[1]) for c in cells)
        body = [label_w, *count_w, hr_w, p_w]
        headers = [spec.columns[0]] + [_wrap_header(renderer, h, max(body[i], 0.3), size)
                                       for i, h in enumerate(spec.columns[1:], start=1)]
        widths = [max(b, w(h, True)) for b, h in zip(body, headers)]
        text_total = sum(widths) + _F_GAP * (len(widths) + 1) + 2 * _F_PAD
        plot_w = width_in - text_total
        if plot_w >= _F_MIN_PLOT_W:
            break
    fs = size
    header_lines = max(h.count("\n") + 1 for h in headers)
    row_h = _F_ROW_H * fs / FONT_SIZE
    header_h = header_lines * fs * 1.25 / 72.0 + 0.08
    bottom_h = (3.0 + 3.0 + fs * 1.2 + 4.0 + fs * 1.2 + 3.0 + (fs + 0.5) * 1.2) / 72.0 + 0.05
    height = _F_PAD + header_h + len(cells) * row_h + bottom_h
    plot_x, col_x = _column_positions(widths, plot_w)
    return _ForestLayout(fs=fs, headers=headers, widths=widths, col_x=col_x, plot_x=plot_x, plot_w=plot_w,
                         row_h=row_h, bottom_h=bottom_h, width=width_in, height=height)


def _column_positions(widths: list[float], plot_w: float) -> tuple[float, list[float]]:
    """Left edges of the plot and of each text column; the plot goes before the HR column."""
    x = _F_PAD
    col_x = []
    for i, wi in enumerate(widths):
        if i == len(widths) - 2:
            plot_x = x
            x += plot_w + _F_GAP
        col_x.append(x)
        x += wi + _F_GAP
    return plot_x, col_x


def _forest_axes(fig: Figure, spec: ForestSpec, lay: _ForestLayout, n: int, lo: float, hi: float) -> Axes:
    """The plot axes: log HR across, one row per unit down, a line at 1."""
    fs = lay.fs
    ax = fig.add_axes((lay.plot_x / lay.width, lay.bottom_h / lay.height, lay.plot_w / lay.width,
                       n * lay.row_h / lay.height))
    ax.set_gid("forest-axes")
    ax.patch.set_visible(False)
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(n - 0.5, -0.5)
    ax.spines["left"].set_visible(False)
    ax.yaxis.set_visible(False)
    ticks = _forest_ticks(lo, hi, lay.plot_w, fs)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([_fmt_hr_tick(t) for t in ticks], fontsize=fs)
    ax.tick_params(axis="x", labelsize=fs)
    ax.axvline(1.0, color="0.35", lw=0.7, zorder=1, gid="forest-null")
    ax.set_xlabel(spec.xlabel, fontsize=fs + 0.5, labelpad=fs * 1.3 + 7.0)
    return ax


def _draw_bands(fig: Figure, ax: Axes, cells: list[Cell], lay: _ForestLayout) -> None:
    """Zebra bands, one per subgroup variable block, to guide the eye across the columns; the header rule."""
    full = blended_transform_factory(fig.transFigure, ax.transData)
    pad = _F_PAD / lay.width
    block = -1
    for i in range(len(cells)):
        if i == 0 or cells[i][1]:  # a header (or the first row) starts a block
            block += 1
        if block % 2 == 1:
            fig.add_artist(Rectangle((pad, i - 0.5), 1 - 2 * _F_PAD / lay.width, 1, transform=full,
                                     facecolor="0.94", edgecolor="none", zorder=-10, gid="forest-band"))
    fig.add_artist(Line2D([pad, 1 - _F_PAD / lay.width], [-0.5, -0.5], transform=full,
                          color=_INK, lw=0.6, gid="forest-rule"))


def _draw_headers(ax: Axes, tr: Transform, lay: _ForestLayout) -> None:
    """Column headers just above the rule (y in row units)."""
    head_y = -0.5 - 0.06 / lay.row_h
    n_count = len(lay.widths) - 3
    aligns = ["left"] + ["center"] * n_count + ["left", "left"]
    for j, (h, xj, wj, al) in enumerate(zip(lay.headers, lay.col_x, lay.widths, aligns)):
        hx = xj + (wj / 2 if al == "center" else 0.0)
        ax.text(hx, head_y, h, transform=tr, ha=al, va="bottom", fontsize=lay.fs, fontweight="bold",
                multialignment=al, clip_on=False, gid=f"forest-head-{j}")


def _draw_rows(ax: Axes, tr: Transform, spec: ForestSpec, cells: list[Cell], lay: _ForestLayout,
               lo: float, hi: float) -> None:
    """Each row's text columns and, for a level (not a header), its point and CI."""
    fs, col_x, widths = lay.fs, lay.col_x, lay.widths
    for i, (label, bold, indented, counts, hr_text, p_text) in enumerate(cells):
        weight = "bold" if bold else "normal"
        ax.text(col_x[0] + (_F_INDENT if indented else 0.0), i, label, transform=tr, ha="left", va="center",
                fontsize=fs, fontweight=weight, clip_on=False, gid="forest-label")
        for j in range(len(counts)):
            ax.text(col_x[1 + j] + widths[1 + j] / 2, i, counts[j], transform=tr, ha="center", va="center",
                    fontsize=fs, clip_on=False, gid=f"forest-count-{j}")
        if hr_text:
            ax.text(col_x[-2], i, hr_text, transform=tr, ha="left", va="center", fontsize=fs,
                    clip_on=False, gid="forest-hr")
        if p_text:
            ax.text(col_x[-1], i, p_text, transform=tr, ha="left", va="center", fontsize=fs,
                    clip_on=False, gid="forest-p")
        row = spec.rows[i]
        if not row.is_header:
            _draw_forest_point(ax, i, row, lo, hi)


def _draw_favours(ax: Axes, spec: ForestSpec, fs: float) -> None:
    """'← favors …' and '… →' under the tick labels, each side of 1."""
    off = -(3.0 + 3.0 + fs * 1.2 + 4.0)
    left_text, right_text = spec.favours
    if left_text:
        ax.annotate(f"\u2190 {left_text}", xy=(1.0, 0.0), xycoords=("data", "axes fraction"),
                    xytext=(-4.0, off), textcoords="offset points", ha="right", va="top", fontsize=fs,
                    gid="favours-left")
    if right_text:
        ax.annotate(f"{right_text} \u2192", xy=(1.0, 0.0), xycoords=("data", "axes fraction"),
                    xytext=(4.0, off), textcoords="offset points", ha="left", va="top", fontsize=fs,
                    gid="favours-right")


def _draw_forest_point(ax: Axes, i: int, row: ForestRow, lo: float, hi: float) -> None:
    """Square at the HR, whisker for the CI; clipped at the axis with an arrow head."""
    vals = (row.hr, row.lower, row.upper)
    if not all(v is not None and math.isfinite(v) and v > 0 for v in vals):
        # not estimable: the text column says NE; draw a CI only if it exists
        if not (math.isfinite(row.lower) and math.isfinite(row.upper) and row.lower > 0):
            return
    style = {"color": _INK, "lw": 0.9, "solid_capstyle": "butt", "zorder": 3}
    if math.isfinite(row.lower) and math.isfinite(row.upper) and row.lower > 0:
        a, b = max(row.lower, lo), min(row.upper, hi)
        if a < b:
            ax.plot([a, b], [i, i], gid="forest-ci", **style)
        if row.lower < lo:
            ax.plot([lo], [i], marker="<", ms=4.0, color=_INK, ls="none", zorder=3, clip_on=False,
                    gid="forest-arrow")
        if row.upper > hi:
            ax.plot([hi], [i], marker=">", ms=4.0, color=_INK, ls="none", zorder=3, clip_on=False,
                    gid="forest-arrow")
    if math.isfinite(row.hr) and lo <= row.hr <= hi:
        ax.plot([row.hr], [i], marker="s", ms=4.6, mew=0, color=_INK, ls="none", zorder=4, gid="forest-point")


def draw_forest(spec: ForestSpec, out_stem: Path, *, width_in: float = 7.0,
                xlim: tuple[float, float] | None = None, formats: Sequence[str] = ("svg", "pdf")) -> list[Path]:
    """Draw a subgroup forest plot and write `out_stem`.svg and/or .pdf; returns the paths."""
    return _save(build_forest_figure(_drawable(spec), width_in=width_in, xlim=xlim), out_stem, formats)

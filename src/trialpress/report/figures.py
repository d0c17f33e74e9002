"""Kaplan–Meier (KMunicate style) and subgroup forest figures, drawn with matplotlib.

This module only draws. Every number it shows (curves, risk-table counts, medians, hazard
ratios, P values) is computed elsewhere and handed to it already formatted where it is
text, so a figure can never disagree with the tables of the same report.

Output is vector (SVG for HTML, PDF for Typst) and byte-for-byte deterministic: fixed SVG
hash salt, text as paths in SVG, no dates in the metadata, no pyplot global state, and all
style settings applied through ``rc_context`` so the caller's rcParams are left untouched.
Layout is computed in inches from measured text extents rather than by an automatic
layout engine, so the risk table sits exactly under the x ticks and nothing overlaps.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnchoredOffsetbox, DrawingArea, HPacker, TextArea, VPacker
from matplotlib.patches import Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.ticker import FixedLocator, NullLocator
from matplotlib.transforms import Bbox, blended_transform_factory

if TYPE_CHECKING:  # type only: importing survival at run time would pull in scipy
    from matplotlib.axes import Axes
    from matplotlib.backend_bases import RendererBase

    from trialpress.results.ard import Curve as KMCurve

__all__ = [
    "OKABE_ITO",
    "ForestRow",
    "ForestSpec",
    "KMPanel",
    "RiskRow",
    "build_forest_figure",
    "build_km_figure",
    "draw_forest",
    "draw_km",
    "group_colours",
    "group_linestyles",
]

# Okabe & Ito (2008) colour-blind-safe palette, ordered for contrast between neighbours.
# Yellow (#F0E442) is left out: it is unreadable as a thin line on white.
OKABE_ITO: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
# Dash patterns (in line widths) so groups stay distinct in greyscale print.
_LINESTYLES: tuple[Any, ...] = ("solid", (0, (4.0, 1.6)), (0, (1.2, 1.2)), (0, (6.0, 1.5, 1.2, 1.5)),
                                (0, (2.5, 1.2)), (0, (6.0, 1.5, 1.2, 1.5, 1.2, 1.5)))
_REF_GREY = "0.45"
_INK = "#1a1a1a"

FONT_SIZE = 8.0
TITLE_SIZE = 9.0
LABEL_SIZE = 8.5

# Style for every figure; applied with rc_context so global rcParams are never changed.
RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": FONT_SIZE,
    "text.parse_math": False,          # '$' in a label is text, not mathtext
    "text.color": _INK,
    "axes.edgecolor": _INK,
    "axes.labelcolor": _INK,
    "axes.linewidth": 0.6,
    "axes.labelsize": LABEL_SIZE,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.unicode_minus": True,
    "xtick.color": _INK,
    "ytick.color": _INK,
    "xtick.labelsize": FONT_SIZE,
    "ytick.labelsize": FONT_SIZE,
    "xtick.major.size": 3.0,
    "ytick.major.size": 3.0,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.visible": False,
    "ytick.minor.visible": False,
    "xtick.major.pad": 3.0,
    "ytick.major.pad": 3.0,
    "lines.solid_capstyle": "butt",
    "lines.dash_capstyle": "butt",
    "lines.scale_dashes": True,
    "legend.frameon": False,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.bbox": None,              # keep the computed page size exactly
    "svg.fonttype": "path",            # glyphs as paths: identical rendering everywhere
    "svg.hashsalt": "trialpress",      # fixed ids -> identical bytes
    "pdf.fonttype": 42,                # embedded TrueType subset, selectable text in the PDF
    "pdf.compression": 6,
    "path.simplify": True,
}
_SVG_METADATA: dict[str, Any] = {"Date": None, "Creator": "trialpress"}
_PDF_METADATA: dict[str, Any] = {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": "trialpress"}


@contextmanager
def _style() -> Iterator[None]:
    """Our rcParams for the duration of a build or save, then the caller's again. They start from matplotlib's
    own defaults, not the user's matplotlibrc or style: the same inputs draw the same bytes on any machine."""
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(RC)
        yield


# ------------------------------------------------------------------------------------ data types
@dataclass(frozen=True)
class RiskRow:
    """One group's risk-table row, one value per x tick (KMunicate: at risk, censored, events)."""

    at_risk: tuple[int, ...]
    events: tuple[int, ...]      # cumulative events up to the tick
    censored: tuple[int, ...]    # cumulative censored up to the tick


@dataclass(frozen=True)
class KMPanel:
    """Everything one KM panel shows; numbers are computed by the caller, text is pre-formatted."""

    title: str                      # e.g. "A  All patients" ('' for none)
    curves: dict[str, KMCurve]      # group key -> curve, in display order
    labels: dict[str, str]          # group key -> legend / risk-table label
    risk: dict[str, RiskRow]        # group key -> risk-table row at `ticks`
    ticks: tuple[float, ...]        # x-axis ticks (display unit), start at 0
    medians: dict[str, float]       # group key -> median (NaN = not reached: no reference line)
    annotation: str                 # e.g. "HR, 1.58 (95% CI, 1.26–1.97)\nLog-rank P < .001"
    xlabel: str                     # e.g. "Months since first dose"
    ylabel: str                     # e.g. "Overall survival (%)"
    show_ci: bool = False


@dataclass(frozen=True)
class ForestRow:
    """One line of a forest plot; a header row names a subgroup variable and carries its P."""

    label: str                      # "Age group: <65" or a header row like "Age group"
    is_header: bool
    n_text: str                     # the count columns, tab-separated: "60/105\t120/160"
    hr: float
    lower: float
    upper: float                    # NaN for headers / not estimable
    hr_text: str                    # "1.58 (1.26–1.97)" or "NE"
    p_text: str                     # interaction P shown on the header row, '' elsewhere


@dataclass(frozen=True)
class ForestSpec:
    """A whole forest plot: rows top to bottom, column headers and the axis wording."""

    rows: tuple[ForestRow, ...]
    columns: tuple[str, ...]        # (label column, *count columns, HR column, P column)
    xlabel: str                     # "Hazard ratio (High dose vs placebo)"
    favours: tuple[str, str]        # (left of 1, right of 1)


# ------------------------------------------------------------------------------------ styling
def group_colours(keys: Sequence[str]) -> dict[str, str]:
    """Okabe–Ito colour per group, by position, so the same arm keeps its colour across figures."""
    return {k: OKABE_ITO[i % len(OKABE_ITO)] for i, k in enumerate(keys)}


def group_linestyles(keys: Sequence[str]) -> dict[str, Any]:
    """Line style per group, by position, so groups stay distinct when printed in grey."""
    return {k: _LINESTYLES[i % len(_LINESTYLES)] for i, k in enumerate(keys)}


# ------------------------------------------------------------------------------------ helpers
def _new_figure(width_in: float, height_in: float) -> tuple[Figure, RendererBase]:
    """A pyplot-free figure (no global state to leak or close) with a renderer for measuring."""
    fig = Figure(figsize=(width_in, height_in), dpi=RC["figure.dpi"])
    canvas = FigureCanvasAgg(fig)
    return fig, canvas.get_renderer()


def _text_size_in(renderer: RendererBase, text: str, size: float, weight: str = "normal") -> tuple[float, float]:
    """Width and height of (possibly multi-line) text in inches, from the font metrics."""
    if not text:
        return 0.0, 0.0
    prop = FontProperties(family=RC["font.family"], size=size, weight=weight)
    lines = text.split("\n")
    width = 0.0
    for line in lines:
        w, _, _ = renderer.get_text_width_height_descent(line or " ", prop, ismath=False)
        width = max(width, w)
    # one line box is ~1.2 em; measured here so it matches what matplotlib draws
    height = len(lines) * size * 1.2 / 72.0
    return width / renderer.dpi, height


def _fmt_int(v: int) -> str:
    return f"{int(v):,}".replace(",", "\u2009") if abs(int(v)) >= 10000 else str(int(v))


def _save(fig: Figure, out_stem: Path, formats: Sequence[str] = ("svg", "pdf")) -> list[Path]:
    """Write the figure as vector SVG and/or PDF, without dates (the report embeds the SVG in both
    the HTML and the Typst PDF, so it asks for SVG only: each format costs a full draw)."""
    out_stem = Path(out_stem)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    meta = {"svg": _SVG_METADATA, "pdf": _PDF_METADATA, "png": {"Software": None}}
    paths = []
    with _style():
        for fmt_ in formats:
            path = out_stem.with_suffix(f".{fmt_}")
            extra = {"dpi": PNG_DPI} if fmt_ == "png" else {}   # Word and the RTF package take a 300-dpi PNG
            fig.savefig(path, format=fmt_, metadata=meta[fmt_], **extra)
            paths.append(path)
    return paths


PNG_DPI = 300


def _save_png(fig: Figure, path: Path, dpi: float) -> Path:
    """Raster copy at a fixed DPI (image tests, previews); not used in reports."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _style():
        fig.savefig(path, format="png", dpi=dpi, metadata={"Software": None})
    return path


# ------------------------------------------------------------------------------------ Kaplan–Meier
# vertical sizes in inches
_LINE_H = FONT_SIZE * 1.32 / 72.0          # risk-table line pitch
_GROUP_GAP_LINES = 0.45                    # blank space between two groups' blocks, in lines
_XAXIS_H = (3.0 + 3.0 + FONT_SIZE * 1.2 + 4.0 + LABEL_SIZE * 1.25) / 72.0  # ticks, labels, xlabel
_TABLE_GAP = 0.04
_TITLE_H = 0.27
_TOP_PAD = 0.06
_ROW_GAP = 0.22
_BOTTOM_PAD = 0.05
_PANEL_PAD = 0.04                          # left inset of titles and table labels in a panel
_ROW_INDENT = 0.10                         # table row labels under the group label
_TABLE_ROWS = (("At risk", "at_risk"), ("Censored", "censored"), ("Events", "events"))
_X_OVERHANG = 0.015                        # xlim beyond [0, last tick], fraction of the span
_Y_LIM = (-2.0, 102.0)


def _validate_panel(p: KMPanel) -> None:
    """Fail early with a message that names the panel, not deep inside matplotlib."""
    name = p.title or "untitled panel"
    if not p.curves:
        raise ValueError(f"{name}: no curves")
    if len(p.ticks) < 2 or p.ticks[0] != 0 or any(b <= a for a, b in zip(p.ticks, p.ticks[1:])):
        raise ValueError(f"{name}: ticks must start at 0 and increase, got {p.ticks}")
    for key in p.curves:
        if key not in p.labels:
            raise ValueError(f"{name}: no label for group {key!r}")
        if key not in p.risk:
            raise ValueError(f"{name}: no risk-table row for group {key!r}")
        row = p.risk[key]
        for _, attr in _TABLE_ROWS:
            if len(getattr(row, attr)) != len(p.ticks):
                raise ValueError(f"{name}: risk row {key!r}.{attr} has {len(getattr(row, attr))} values "
                                 f"for {len(p.ticks)} ticks")
    extra = set(p.risk) - set(p.curves)
    if extra:
        raise ValueError(f"{name}: risk rows for groups without a curve: {sorted(extra)}")


def _step_xy(curve: KMCurve, xmax: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Step vertices of the curve and its CI from 0 to min(last time, xmax), in percent."""
    t = np.asarray(curve.time, dtype=float)
    s = np.asarray(curve.surv, dtype=float)
    lo = np.asarray(curve.lower, dtype=float)
    hi = np.asarray(curve.upper, dtype=float)
    lo = np.where(np.isnan(lo), s, lo)
    hi = np.where(np.isnan(hi), s, hi)
    keep = t <= xmax
    x = np.concatenate([[0.0], t[keep]])
    y = np.concatenate([[1.0], s[keep]])
    yl = np.concatenate([[1.0], lo[keep]])
    yu = np.concatenate([[1.0], hi[keep]])
    if t.size and t[-1] > xmax:  # follow-up continues past the axis: draw to its end
        x = np.append(x, xmax)
        y, yl, yu = np.append(y, y[-1]), np.append(yl, yl[-1]), np.append(yu, yu[-1])
    return x, 100 * y, 100 * yl, 100 * yu


def _step_path(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Explicit 'steps-post' vertices: horizontal then vertical."""
    if x.size == 0:
        return np.empty((0, 2))
    xs = np.repeat(x, 2)[1:]
    ys = np.repeat(y, 2)[:-1]
    return np.column_stack([xs, ys])


def _censor_xy(curve: KMCurve, xmax: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(curve.time, dtype=float)
    m = (np.asarray(curve.n_censor) > 0) & (t <= xmax)
    return t[m], 100 * np.asarray(curve.surv, dtype=float)[m]


def _km_left_margin(renderer: RendererBase, panels: Sequence[KMPanel], plot_w_guess: float) -> float:
    """Room left of the axes for y tick labels + y label, and for the table row labels."""
    yaxis = _text_size_in(renderer, "100", FONT_SIZE)[0] + (3.0 + 3.0 + 4.0 + LABEL_SIZE * 1.2) / 72.0
    row_lab = max(_text_size_in(renderer, lab, FONT_SIZE)[0] for lab, _ in _TABLE_ROWS)
    first_num = 0.0
    for p in panels:
        for row in p.risk.values():
            for _, attr in _TABLE_ROWS:
                first_num = max(first_num, _text_size_in(renderer, _fmt_int(getattr(row, attr)[0]), FONT_SIZE)[0])
    # x = 0 sits _X_OVERHANG of the span right of the axes edge
    table = _PANEL_PAD + _ROW_INDENT + row_lab + 0.08 + first_num / 2 - _X_OVERHANG * plot_w_guess
    return max(yaxis, table) + _PANEL_PAD


def _km_right_margin(renderer: RendererBase, panels: Sequence[KMPanel]) -> float:
    last = 0.0
    for p in panels:
        last = max(last, _text_size_in(renderer, _fmt_tick(p.ticks[-1]), FONT_SIZE)[0])
        for row in p.risk.values():
            for _, attr in _TABLE_ROWS:
                last = max(last, _text_size_in(renderer, _fmt_int(getattr(row, attr)[-1]), FONT_SIZE)[0])
    return last / 2 + 0.08


def _fmt_tick(v: float) -> str:
    return f"{v:g}"


def _table_lines(p: KMPanel) -> float:
    n = len(p.curves)
    return n * (1 + len(_TABLE_ROWS)) + (n - 1) * _GROUP_GAP_LINES


def build_km_figure(panels: Sequence[KMPanel], *, width_in: float = 7.0, ncols: int | None = None) -> Figure:
    """The KM figure as a matplotlib Figure (draw_km saves it; tests inspect it).

    One panel spans the full width; several go two per row (side by side reads better than a
    tall stack at 7 in and keeps each risk table next to its own curves). Each panel has its
    own risk table. Legend and annotation go inside the plot where no line runs; when they fit
    nowhere inside, the figure is laid out again with a band above that row's plots for them.
    """
    panels = list(panels)
    if not panels:
        raise ValueError("no KM panels to draw")
    for p in panels:
        _validate_panel(p)
    ncols = min(ncols or (1 if len(panels) == 1 else 2), len(panels))
    nrows = math.ceil(len(panels) / ncols)
    band = [0.0] * nrows
    with _style():
        for _ in range(2):
            fig, need = _build_km(panels, width_in, ncols, band)
            grown = [max(b, n) for b, n in zip(band, need)]
            if grown == band:
                break
            band = grown
    return fig


def _build_km(panels: list[KMPanel], width_in: float, ncols: int, band: list[float]) -> tuple[Figure, list[float]]:
    """One layout pass; returns the figure and, per row, the band height its keys still need."""
    nrows = len(band)
    fig, renderer = _new_figure(width_in, 1.0)
    panel_w = width_in / ncols
    left = _km_left_margin(renderer, panels, panel_w - 0.9)
    right = _km_right_margin(renderer, panels)
    plot_w = panel_w - left - right
    if plot_w < 1.2:
        raise ValueError(f"{width_in} in is too narrow for {ncols} KM panels per row")
    plot_h = min(3.0, max(1.8, 0.78 * plot_w))

    rows = [panels[r * ncols:(r + 1) * ncols] for r in range(nrows)]
    heads, row_heights = [], []
    for r, row in enumerate(rows):
        head = (_TITLE_H if any(p.title for p in row) else 0.0) + band[r]
        table_h = max(_table_lines(p) for p in row) * _LINE_H
        heads.append(head)
        row_heights.append(_TOP_PAD + head + plot_h + _XAXIS_H + _TABLE_GAP + table_h)
    height = sum(row_heights) + _ROW_GAP * (nrows - 1) + _BOTTOM_PAD
    fig.set_size_inches(width_in, height)

    need = [0.0] * nrows
    top = height
    for r, row in enumerate(rows):
        for c, p in enumerate(row):
            plot_bottom = top - _TOP_PAD - heads[r] - plot_h
            geom = _PanelGeom(x0=c * panel_w, left=left, plot_w=plot_w, plot_bottom=plot_bottom, plot_h=plot_h,
                              table_top=plot_bottom - _XAXIS_H - _TABLE_GAP, panel_top=top - _TOP_PAD,
                              band=band[r], fig_w=width_in, fig_h=height)
            need[r] = max(need[r], _draw_km_panel(fig, renderer, p, geom))
        top -= row_heights[r] + _ROW_GAP
    return fig, need


@dataclass(frozen=True)
class _PanelGeom:
    """Where one panel goes, in inches from the figure's bottom left."""

    x0: float
    left: float
    plot_w: float
    plot_bottom: float
    plot_h: float
    table_top: float
    panel_top: float
    band: float
    fig_w: float
    fig_h: float


def _draw_km_panel(fig: Figure, renderer: RendererBase, p: KMPanel, g: _PanelGeom) -> float:
    """Draw one panel; returns the height of band its key needs above the plot (0 if it fit inside)."""
    keys = list(p.curves)
    colours = group_colours(keys)
    styles = group_linestyles(keys)
    xmax = float(p.ticks[-1])
    W, H = g.fig_w, g.fig_h

    ax = fig.add_axes(((g.x0 + g.left) / W, g.plot_bottom / H, g.plot_w / W, g.plot_h / H))
    ax.set_gid("km-axes")
    ax.set_xlim(-_X_OVERHANG * xmax, xmax + _X_OVERHANG * xmax)
    ax.set_ylim(*_Y_LIM)
    ax.spines["left"].set_bounds(0, 100)
    ax.spines["bottom"].set_bounds(0, xmax)
    ax.xaxis.set_major_locator(FixedLocator(list(p.ticks)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([_fmt_tick(t) for t in p.ticks])
    ax.yaxis.set_major_locator(FixedLocator([0, 20, 40, 60, 80, 100]))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_yticklabels(["0", "20", "40", "60", "80", "100"])
    ax.set_xlabel(p.xlabel, labelpad=4.0)
    ax.set_ylabel(p.ylabel, labelpad=4.0)
    ax.patch.set_visible(False)

    obstacles: list[tuple[np.ndarray, bool]] = []  # (data vertices, filled?)
    # median reference lines first so curves draw over them
    for key in keys:
        m = p.medians.get(key, math.nan)
        if m is None or not math.isfinite(m) or m < 0 or m > xmax:
            continue
        ref = {"color": _REF_GREY, "lw": 0.6, "ls": (0, (3.0, 2.0)), "zorder": 1.5}
        ax.plot([0, m], [50, 50], **ref, gid=f"median-h-{key}")
        ax.plot([m, m], [_Y_LIM[0], 50], **ref, gid=f"median-v-{key}")
        obstacles.append((np.array([[0, 50], [m, 50], [m, _Y_LIM[0]]]), False))

    handles: list[tuple[str, Any, str]] = []
    for i, key in enumerate(keys):
        curve = p.curves[key]
        x, y, yl, yu = _step_xy(curve, xmax)
        col = colours[key]
        if p.show_ci and x.size > 1:
            ax.fill_between(x, yl, yu, step="post", color=col, alpha=0.14, lw=0, zorder=2, gid=f"ci-{key}")
            obstacles.append((np.vstack([_step_path(x, yu), _step_path(x, yl)[::-1]]), True))
        ax.plot(x, y, drawstyle="steps-post", color=col, ls=styles[key], lw=1.3, zorder=3 + 0.01 * i,
                gid=f"km-{key}")
        cx, cy = _censor_xy(curve, xmax)
        ax.plot(cx, cy, ls="none", marker="|", ms=4.0, mew=0.8, color=col, zorder=3 + 0.01 * i,
                gid=f"censor-{key}")
        obstacles.append((_step_path(x, y), False))
        handles.append((col, styles[key], p.labels[key]))

    need = _place_key(renderer, ax, handles, p.annotation, obstacles, g.band)

    if p.title:
        fig.text((g.x0 + _PANEL_PAD) / W, g.panel_top / H, p.title, ha="left", va="top",
                 fontsize=TITLE_SIZE, fontweight="bold", gid="panel-title")

    # risk table: own axes sharing x with the plot, so numbers sit exactly under the ticks
    table_h = _table_lines(p) * _LINE_H
    tab = fig.add_axes(((g.x0 + g.left) / W, (g.table_top - table_h) / H, g.plot_w / W, table_h / H), sharex=ax)
    tab.set_gid("risk-table")
    tab.set_ylim(_table_lines(p), 0)
    tab.set_axis_off()
    label_tr = blended_transform_factory(fig.dpi_scale_trans, tab.transData)
    line = 0.0
    for key in keys:
        row = p.risk[key]
        sx = g.x0 + _PANEL_PAD
        tab.add_artist(Line2D([sx, sx + _SAMPLE_W], [line + 0.5] * 2, transform=label_tr, color=colours[key],
                              ls=styles[key], lw=1.3, clip_on=False, gid=f"risk-sample-{key}"))
        tab.text(sx + _SAMPLE_W + 0.05, line + 0.5, p.labels[key], transform=label_tr, ha="left", va="center",
                 color=colours[key], fontweight="bold", fontsize=FONT_SIZE, gid=f"risk-group-{key}")
        for j, (row_label, attr) in enumerate(_TABLE_ROWS):
            y = line + 1.5 + j
            tab.text(sx + _ROW_INDENT, y, row_label, transform=label_tr, ha="left", va="center",
                     fontsize=FONT_SIZE, gid=f"risk-label-{key}-{attr}")
            for t, v in zip(p.ticks, getattr(row, attr)):
                tab.text(float(t), y, _fmt_int(v), ha="center", va="center", fontsize=FONT_SIZE,
                         gid=f"risk-{key}-{attr}")
        line += 1 + len(_TABLE_ROWS) + _GROUP_GAP_LINES
    return need


_SAMPLE_W = 0.22
_KEY_LOCS = ("upper right", "lower left", "lower right", "center right", "upper center", "center left")


def _legend_entries(handles: list[tuple[str, Any, str]], horizontal: bool) -> Any:
    entries = []
    for colour, linestyle, label in handles:
        da = DrawingArea(20, FONT_SIZE * 0.9, 0, 0)
        da.add_artist(Line2D([0, 20], [FONT_SIZE * 0.35] * 2, color=colour, ls=linestyle, lw=1.3))
        entries.append(HPacker(children=[da, TextArea(label, textprops={"fontsize": FONT_SIZE})],
                               align="center", pad=0, sep=4))
    if horizontal:
        return HPacker(children=entries, align="center", pad=0, sep=12)
    return VPacker(children=entries, align="left", pad=0, sep=2.5)


def _annotation_area(annotation: str) -> TextArea:
    return TextArea(annotation, textprops={"fontsize": FONT_SIZE, "linespacing": 1.3})


def _anchored(child: Any, loc: str, ax: Axes, outside: bool = False) -> AnchoredOffsetbox:
    if outside:  # in the band above the plot, flush with its left edge
        return AnchoredOffsetbox(loc="lower left", child=child, pad=0.0, borderpad=0.0, frameon=False,
                                 bbox_to_anchor=(0.0, 1.0), bbox_transform=ax.transAxes)
    return AnchoredOffsetbox(loc=loc, child=child, pad=0.2, borderpad=0.4, frameon=False)


def _try_inside(renderer: RendererBase, ax: Axes, make: Any, obstacles: list[tuple[np.ndarray, bool]]
                ) -> AnchoredOffsetbox | None:
    """First candidate location where the box crosses no obstacle; the box is left on the axes."""
    for loc in _KEY_LOCS:
        box = _anchored(make(), loc, ax)
        ax.add_artist(box)
        if not _collides(box.get_window_extent(renderer), ax, obstacles):
            return box
        box.remove()
    return None


def _place_key(renderer: RendererBase, ax: Axes, handles: list[tuple[str, Any, str]], annotation: str,
               obstacles: list[tuple[np.ndarray, bool]], band: float) -> float:
    """Legend + annotation inside the plot away from every line, else (partly) in the band above it.

    Tries, in order: both as one block inside; each separately inside; the annotation inside
    with the legend in the band; both in the band. Returns the band height needed (0 = none).
    """
    def both() -> Any:
        kids = [_legend_entries(handles, False)] + ([_annotation_area(annotation)] if annotation else [])
        return VPacker(children=kids, align="left", pad=0, sep=6)

    box = _try_inside(renderer, ax, both, obstacles)
    if box is not None:
        box.set_gid("km-key")
        return 0.0
    ann = None
    if annotation:
        ann = _try_inside(renderer, ax, lambda: _annotation_area(annotation), obstacles)
        if ann is not None:
            ann.set_gid("km-annotation")
            legend = _try_inside(renderer, ax, lambda: _legend_entries(handles, False),
                                 obstacles + [(_bbox_verts(ann.get_window_extent(renderer), ax), True)])
            if legend is not None:
                legend.set_gid("km-legend")
                return 0.0
    # what is left goes in the band above the plot
    rest = [_annotation_area(annotation)] if annotation and ann is None else []
    for horizontal in (True, False):  # one row of entries unless that is wider than the plot
        out = _anchored(VPacker(children=[_legend_entries(handles, horizontal), *rest], align="left", pad=0, sep=4),
                        "", ax, outside=True)
        out.set_gid("km-key-above")
        ax.add_artist(out)  # attached so it can be measured
        if out.get_window_extent(renderer).width <= ax.get_window_extent().width or not horizontal:
            break
        out.remove()
    need = out.get_window_extent(renderer).height / renderer.dpi + 0.08
    if band < need - 1e-9:  # no room reserved yet: the caller lays out again with a band
        out.remove()
    return need


def _bbox_verts(bbox: Bbox, ax: Axes) -> np.ndarray:
    corners = np.array([[bbox.x0, bbox.y0], [bbox.x1, bbox.y0], [bbox.x1, bbox.y1], [bbox.x0, bbox.y1],
                        [bbox.x0, bbox.y0]])
    return ax.transData.inverted().transform(corners)


def _collides(bbox: Bbox, ax: Axes, obstacles: list[tuple[np.ndarray, bool]]) -> bool:
    """Does the box (plus 2 pt) touch any obstacle path? Also rejects boxes poking out of the axes."""
    pad = 2.0 * ax.figure.dpi / 72.0
    padded = Bbox.from_extents(bbox.x0 - pad, bbox.y0 - pad, bbox.x1 + pad, bbox.y1 + pad)
    axbox = ax.get_window_extent()
    if bbox.x0 < axbox.x0 - 0.5 or bbox.x1 > axbox.x1 + 0.5 or bbox.y0 < axbox.y0 - 0.5 or bbox.y1 > axbox.y1 + 0.5:
        return True
    for verts, filled in obstacles:
        if len(verts) == 0:
            continue
        disp = ax.transData.transform(verts)
        if len(disp) == 1:
            if padded.contains(*disp[0]):
                return True
            continue
        if MplPath(disp).intersects_bbox(padded, filled=filled):
            return True
    return False


def _drawable(obj: Any) -> Any:
    """Every text of a figure spec as it can be drawn: control characters and line breaks from data or plan
    become spaces (SVG is XML; no font has a glyph for an escape character)."""
    import dataclasses

    from trialpress.report.escape import plain

    if isinstance(obj, str):
        return plain(obj)
    if isinstance(obj, tuple):
        return tuple(_drawable(x) for x in obj)
    if isinstance(obj, dict):
        return {k: _drawable(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type) and type(obj).__module__ == __name__:
        return dataclasses.replace(obj, **{f.name: _drawable(getattr(obj, f.name)) for f in dataclasses.fields(obj)})
    return obj


def draw_km(panels: Sequence[KMPanel], out_stem: Path, *, width_in: float = 7.0,
            ncols: int | None = None, formats: Sequence[str] = ("svg", "pdf")) -> list[Path]:
    """Draw KM panels and write `out_stem`.svg and/or .pdf; returns the paths."""
    panels = [_drawable(p) for p in panels]
    return _save(build_km_figure(panels, width_in=width_in, ncols=ncols), out_stem, formats)


# ------------------------------------------------------------------------------------ forest plot
_F_ROW_H = 0.195        # inches per row at 8 pt
_F_GAP = 0.14           # between text columns
_F_PAD = 0.04
_F_INDENT = 0.12
_F_MIN_PLOT_W = 1.7
_F_LADDER = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def _forest_cells(spec: ForestSpec) -> list[tuple[str, bool, bool, list[str], str, str]]:
    """(label shown, bold, indented, count cells, HR text, P text) per row.

    A row under a header repeats the header as "Header: level"; the prefix is dropped and the
    level indented, as in journal forest plots.
    """
    n_count = len(spec.columns) - 3
    out = []
    header = None
    for row in spec.rows:
        parts = row.n_text.split("\t") if row.n_text else []
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


def _forest_ticks(lo: float, hi: float) -> list[float]:
    """Doubling ticks inside the limits, plus the limits themselves if they are off that ladder
    (a doubling tick crowding a limit gives way)."""
    k0, k1 = math.ceil(math.log2(lo) - 1e-9), math.floor(math.log2(hi) + 1e-9)
    ticks = [2.0 ** k for k in range(k0, k1 + 1)]
    if len(ticks) > 7:
        ticks = [v for v in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
                 if lo * 0.9999 <= v <= hi * 1.0001]
    for edge in (lo, hi):
        if all(abs(math.log(edge / t)) > 1e-6 for t in ticks):
            ticks = [t for t in ticks if abs(math.log(edge / t)) > math.log(1.6)] + [edge]
    return sorted(ticks)


def _fmt_hr_tick(v: float) -> str:
    return f"{v:.3g}"


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
    n_count = len(spec.columns) - 3
    lo, hi = xlim if xlim is not None else _forest_xlim(spec)
    if not (0 < lo < 1 < hi):
        raise ValueError(f"forest x limits must bracket 1, got {(lo, hi)}")

    with _style():
        fig, renderer = _new_figure(width_in, 1.0)
        for size in (FONT_SIZE, 7.5, 7.0, 6.5):
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
        n = len(cells)
        height = _F_PAD + header_h + n * row_h + bottom_h
        fig.set_size_inches(width_in, height)

        # x positions (inches from the figure's left edge)
        x = _F_PAD
        col_x = []
        for i, wi in enumerate(widths):
            if i == len(widths) - 2:  # the plot goes before the HR column
                plot_x = x
                x += plot_w + _F_GAP
            col_x.append(x)
            x += wi + _F_GAP

        ax = fig.add_axes((plot_x / width_in, bottom_h / height, plot_w / width_in, n * row_h / height))
        ax.set_gid("forest-axes")
        ax.patch.set_visible(False)
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(n - 0.5, -0.5)
        ax.spines["left"].set_visible(False)
        ax.yaxis.set_visible(False)
        ticks = _forest_ticks(lo, hi)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([_fmt_hr_tick(t) for t in ticks], fontsize=fs)
        ax.tick_params(axis="x", labelsize=fs)
        ax.axvline(1.0, color="0.35", lw=0.7, zorder=1, gid="forest-null")
        ax.set_xlabel(spec.xlabel, fontsize=fs + 0.5, labelpad=fs * 1.3 + 7.0)

        tr = blended_transform_factory(fig.dpi_scale_trans, ax.transData)
        full = blended_transform_factory(fig.transFigure, ax.transData)

        # zebra bands, one per subgroup variable block, to guide the eye across the columns
        block = -1
        for i in range(n):
            if i == 0 or cells[i][1]:  # a header (or the first row) starts a block
                block += 1
            if block % 2 == 1:
                fig.add_artist(Rectangle((_F_PAD / width_in, i - 0.5), 1 - 2 * _F_PAD / width_in, 1, transform=full,
                                         facecolor="0.94", edgecolor="none", zorder=-10, gid="forest-band"))
        fig.add_artist(Line2D([_F_PAD / width_in, 1 - _F_PAD / width_in], [-0.5, -0.5], transform=full,
                              color=_INK, lw=0.6, gid="forest-rule"))

        # column headers
        head_y = -0.5 - 0.06 / row_h  # just above the rule, in row units
        aligns = ["left"] + ["center"] * n_count + ["left", "left"]
        for j, (h, xj, wj, al) in enumerate(zip(headers, col_x, widths, aligns)):
            hx = xj + (wj / 2 if al == "center" else 0.0)
            ax.text(hx, head_y, h, transform=tr, ha=al, va="bottom", fontsize=fs, fontweight="bold",
                    multialignment=al, clip_on=False, gid=f"forest-head-{j}")

        # rows
        for i, (label, bold, indented, counts, hr_text, p_text) in enumerate(cells):
            weight = "bold" if bold else "normal"
            ax.text(col_x[0] + (_F_INDENT if indented else 0.0), i, label, transform=tr, ha="left", va="center",
                    fontsize=fs, fontweight=weight, clip_on=False, gid="forest-label")
            for j in range(n_count):
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

        # "favours" under the tick labels, each side of 1
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
    return fig


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

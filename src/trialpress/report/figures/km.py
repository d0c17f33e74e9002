"""Kaplan–Meier figures (KMunicate style): layout in inches, one panel's curves, and its risk table.

Layout is computed from measured text extents rather than by an automatic layout engine, so the
risk table sits exactly under the x ticks and nothing overlaps. Where the key goes is km_key's job.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullLocator
from matplotlib.transforms import blended_transform_factory

from trialpress.report.figures.km_key import _place_key
from trialpress.report.figures.specs import KMPanel
from trialpress.report.figures.style import (_REF_GREY, FONT_SIZE, LABEL_SIZE, TITLE_SIZE, _drawable, _fmt_int,
                                             _new_figure, _save, _style, _text_size_in, group_colours,
                                             group_linestyles)

if TYPE_CHECKING:  # type only: importing survival at run time would pull in scipy
    from matplotlib.axes import Axes
    from matplotlib.backend_bases import RendererBase

    from trialpress.results.ard import Curve as KMCurve

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
_SAMPLE_W = 0.22                           # line sample before a group's label in the risk table

Obstacles = list[tuple[np.ndarray, bool]]   # (data vertices, filled?) that the key must not touch
Handles = list[tuple[str, Any, str]]        # (colour, line style, label) per legend entry


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
    ax = _km_axes(fig, p, g)
    median_obstacles = _draw_medians(ax, p)  # first, so the curves draw over them
    curve_obstacles, handles = _draw_curves(ax, p, colours, styles)
    need = _place_key(renderer, ax, handles, p.annotation, median_obstacles + curve_obstacles, g.band)
    if p.title:
        fig.text((g.x0 + _PANEL_PAD) / g.fig_w, g.panel_top / g.fig_h, p.title, ha="left", va="top",
                 fontsize=TITLE_SIZE, fontweight="bold", gid="panel-title")
    _draw_risk_table(fig, ax, p, g, colours, styles)
    return need


def _km_axes(fig: Figure, p: KMPanel, g: _PanelGeom) -> Axes:
    """The panel's plot axes: 0–100 % up, the ticks along, spines trimmed to the data range."""
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
    return ax


def _draw_medians(ax: Axes, p: KMPanel) -> Obstacles:
    """Dashed reference lines from 50 % across to each reached median and down to the axis."""
    xmax = float(p.ticks[-1])
    obstacles: Obstacles = []
    for key in p.curves:
        m = p.medians.get(key, math.nan)
        if m is None or not math.isfinite(m) or m < 0 or m > xmax:
            continue
        ref = {"color": _REF_GREY, "lw": 0.6, "ls": (0, (3.0, 2.0)), "zorder": 1.5}
        ax.plot([0, m], [50, 50], **ref, gid=f"median-h-{key}")
        ax.plot([m, m], [_Y_LIM[0], 50], **ref, gid=f"median-v-{key}")
        obstacles.append((np.array([[0, 50], [m, 50], [m, _Y_LIM[0]]]), False))
    return obstacles


def _draw_curves(ax: Axes, p: KMPanel, colours: dict[str, str], styles: dict[str, Any]
                 ) -> tuple[Obstacles, Handles]:
    """Each group's step curve, censoring ticks and (if asked) CI band; their obstacles and legend handles."""
    xmax = float(p.ticks[-1])
    obstacles: Obstacles = []
    handles: Handles = []
    for i, key in enumerate(p.curves):
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
    return obstacles, handles


def _draw_risk_table(fig: Figure, ax: Axes, p: KMPanel, g: _PanelGeom, colours: dict[str, str],
                     styles: dict[str, Any]) -> None:
    """The risk table: own axes sharing x with the plot, so numbers sit exactly under the ticks."""
    W, H = g.fig_w, g.fig_h
    table_h = _table_lines(p) * _LINE_H
    tab = fig.add_axes(((g.x0 + g.left) / W, (g.table_top - table_h) / H, g.plot_w / W, table_h / H), sharex=ax)
    tab.set_gid("risk-table")
    tab.set_ylim(_table_lines(p), 0)
    tab.set_axis_off()
    label_tr = blended_transform_factory(fig.dpi_scale_trans, tab.transData)
    line = 0.0
    for key in p.curves:
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


def draw_km(panels: Sequence[KMPanel], out_stem: Path, *, width_in: float = 7.0,
            ncols: int | None = None, formats: Sequence[str] = ("svg", "pdf")) -> list[Path]:
    """Draw KM panels and write `out_stem`.svg and/or .pdf; returns the paths."""
    panels = [_drawable(p) for p in panels]
    return _save(build_km_figure(panels, width_in=width_in, ncols=ncols), out_stem, formats)

"""Mean (or LS mean) of a continuous endpoint over visits per group, with 95% CIs and the number of subjects
per visit under the axis — the companion of the KM figure for scales measured over time (same group colours
and line styles, same fonts, same way of saving)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullLocator

from trialpress.report.figures.specs import MeansPanel
from trialpress.report.figures.style import (FONT_SIZE, LABEL_SIZE, _drawable, _new_figure, _save, _style,
                                             _text_size_in, group_colours, group_linestyles)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_LINE_H = FONT_SIZE * 1.32 / 72.0
_MARKERS = ("o", "s", "^", "D", "v", "P")


def _validate(p: MeansPanel) -> None:
    for key in p.labels:
        for name in ("estimate", "lower", "upper", "n"):
            if len(getattr(p, name)[key]) != len(p.visits):
                raise ValueError(f"means figure: {name} of {key!r} has {len(getattr(p, name)[key])} values for "
                                 f"{len(p.visits)} visits")


def _ylim(p: MeansPanel) -> tuple[float, float]:
    values = [v for key in p.labels for v in (*p.lower[key], *p.upper[key], *p.estimate[key]) if math.isfinite(v)]
    if p.reference_line is not None:
        values.append(p.reference_line)
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    pad = 0.08 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def build_means_figure(p: MeansPanel, *, width_in: float = 7.0) -> Figure:
    _validate(p)
    keys = list(p.labels)
    with _style():
        fig, renderer = _new_figure(width_in, 1.0)
        left = max(_text_size_in(renderer, lab, FONT_SIZE)[0] for lab in p.labels.values()) + 0.35
        plot_h, table_h = 2.6, (len(keys) + 1) * _LINE_H
        axis_h = (3.0 + 3.0 + FONT_SIZE * 1.2 + 4.0 + LABEL_SIZE * 1.25) / 72.0 + 0.15
        plot_w = width_in - left - 0.25
        # the key sits above the plot, in as many columns as fit: inside it, it could cover a CI bar
        entry_w = max(_text_size_in(renderer, lab, FONT_SIZE)[0] for lab in p.labels.values()) + 0.75
        ncol = max(1, min(len(keys), int(plot_w // entry_w)))
        key_h = -(-len(keys) // ncol) * _LINE_H + 0.08
        height = 0.15 + key_h + plot_h + axis_h + table_h + 0.1
        fig.set_size_inches(width_in, height)
        ax = fig.add_axes((left / width_in, (height - 0.15 - key_h - plot_h) / height, plot_w / width_in,
                           plot_h / height))
        _draw_series(ax, p, keys, ncol)
        _draw_table(fig, ax, p, keys, left, width_in, height, table_h)
    return fig


def _draw_series(ax: Axes, p: MeansPanel, keys: list[str], ncol: int) -> None:
    colours, styles = group_colours(keys), group_linestyles(keys)
    x = np.arange(len(p.visits), dtype=float)
    width = 0.08 * (len(keys) - 1)
    handles = []
    for i, key in enumerate(keys):
        dx = x + (i - (len(keys) - 1) / 2) * (width / max(len(keys) - 1, 1))
        est = np.array(p.estimate[key], dtype=float)
        lo, hi = np.array(p.lower[key], dtype=float), np.array(p.upper[key], dtype=float)
        ax.errorbar(dx, est, yerr=[est - lo, hi - est], color=colours[key], ls=styles[key], lw=1.3,
                    marker=_MARKERS[i % len(_MARKERS)], ms=3.5, capsize=2.0, elinewidth=0.8, gid=f"means-{key}")
        handles.append(Line2D([], [], color=colours[key], ls=styles[key], lw=1.3, marker=_MARKERS[i % len(_MARKERS)],
                              ms=3.5, label=p.labels[key]))
    if p.reference_line is not None:
        ax.axhline(p.reference_line, color="0.45", lw=0.6, ls=(0, (3.0, 2.0)), zorder=0.5)
    ax.set_xlim(-0.4, len(p.visits) - 0.6)
    ax.set_ylim(*_ylim(p))
    ax.xaxis.set_major_locator(FixedLocator(list(x)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels(list(p.visits))
    ax.set_ylabel(p.ylabel, labelpad=4.0)
    key = ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=ncol, frameon=False,
                    fontsize=FONT_SIZE, borderaxespad=0.2, borderpad=0.0, columnspacing=1.2)
    key.set_gid("means-key")
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)


def _draw_table(fig: Figure, ax: Axes, p: MeansPanel, keys: list[str], left: float, width_in: float, height: float,
                table_h: float) -> None:
    """Subjects with a value at each visit, per group, aligned under the visits."""
    colours = group_colours(keys)
    tab = fig.add_axes((left / width_in, 0.1 / height, ax.get_position().width, table_h / height), sharex=ax)
    tab.set_axis_off()
    tab.set_ylim(len(keys) + 1, 0)
    tab.text(-0.4, 0.5, "Subjects, n", ha="left", va="center", fontsize=FONT_SIZE, fontweight="bold",
             transform=tab.transData)
    for j, key in enumerate(keys):
        tab.text(-0.45, j + 1.5, p.labels[key], ha="right", va="center", fontsize=FONT_SIZE, color=colours[key],
                 fontweight="bold")
        for i, n in enumerate(p.n[key]):
            tab.text(float(i), j + 1.5, str(int(n)), ha="center", va="center", fontsize=FONT_SIZE)


def draw_means(panel: MeansPanel, out_stem: Path, *, width_in: float = 7.0,
               formats: Sequence[str] = ("svg", "pdf")) -> list[Path]:
    """Draw the figure and write `out_stem`.svg (and the other formats asked for); returns the paths."""
    return _save(build_means_figure(_drawable(panel), width_in=width_in), out_stem, formats)

"""Where a KM panel's key (legend and annotation) goes: inside the plot where no line runs, else above it.

Obstacles are data-space paths (curves, CI bands, median reference lines), each with whether it is
filled; a candidate box is rejected if it touches any of them or pokes out of the axes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnchoredOffsetbox, DrawingArea, HPacker, TextArea, VPacker
from matplotlib.path import Path as MplPath
from matplotlib.transforms import Bbox

from trialpress.report.figures.style import FONT_SIZE

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backend_bases import RendererBase

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


def _annotation_area(annotation: tuple[str, ...]) -> TextArea:
    return TextArea("\n".join(annotation), textprops={"fontsize": FONT_SIZE, "linespacing": 1.3})


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


def _place_key(renderer: RendererBase, ax: Axes, handles: list[tuple[str, Any, str]], annotation: tuple[str, ...],
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

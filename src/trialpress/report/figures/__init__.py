"""Kaplan–Meier (KMunicate style) and subgroup forest figures, drawn with matplotlib.

This package only draws. Every number it shows (curves, risk-table counts, medians, hazard
ratios, P values) is computed elsewhere and handed to it already formatted where it is
text, so a figure can never disagree with the tables of the same report.

Output is vector (SVG for HTML, PDF for Typst) and byte-for-byte deterministic: fixed SVG
hash salt, text as paths in SVG, no dates in the metadata, no pyplot global state, and all
style settings applied through ``rc_context`` so the caller's rcParams are left untouched.
Layout is computed in inches from measured text extents rather than by an automatic
layout engine, so the risk table sits exactly under the x ticks and nothing overlaps.

* `style`  — palette, line styles, rcParams (`RC`, `_style`), figure creation, text measuring, saving,
  and `_drawable` (figure text as it can be drawn);
* `specs`  — what a figure shows: `KMPanel`, `RiskRow`, `ForestSpec`, `ForestRow`, `MeansPanel`;
* `km`     — the KM layout, a panel's curves and its risk table;
* `km_key` — where a KM panel's legend and annotation go;
* `forest` — the subgroup forest plot;
* `means`  — means (or LS means) by visit;
* `jobs`   — a figure to draw as plain data (`FigureJob`), and `draw`;
* `worker` — drawing the jobs in a process of its own, beside the document.

No module here imports scipy or the analysis code at run time (the KM curve type is for annotations only).
The package imports matplotlib only when a drawing name is first used (PEP 562 `__getattr__`): the report's
process settles the figures from the ARD with `specs` and `jobs` alone, and may never draw itself.
"""

from __future__ import annotations

import importlib
from typing import Any

from trialpress.report.figures.specs import ForestRow, ForestSpec, KMPanel, MeansPanel, RiskRow

# name -> module that defines it; imported on first use (these modules import matplotlib)
_LAZY = {
    "build_forest_figure": "forest", "draw_forest": "forest",
    "build_km_figure": "km", "draw_km": "km", "_step_path": "km",
    "OKABE_ITO": "style", "group_colours": "style", "group_linestyles": "style",
    "FONT_SIZE": "style", "LABEL_SIZE": "style", "PNG_DPI": "style", "RC": "style", "TITLE_SIZE": "style",
    "_save_png": "style",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "OKABE_ITO",
    "ForestRow",
    "ForestSpec",
    "KMPanel",
    "MeansPanel",
    "RiskRow",
    "build_forest_figure",
    "build_km_figure",
    "draw_forest",
    "draw_km",
    "group_colours",
    "group_linestyles",
]

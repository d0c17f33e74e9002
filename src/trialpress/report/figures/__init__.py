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
* `specs`  — what a figure shows: `KMPanel`, `RiskRow`, `ForestSpec`, `ForestRow`;
* `km`     — the KM layout, a panel's curves and its risk table;
* `km_key` — where a KM panel's legend and annotation go;
* `forest` — the subgroup forest plot.

No module here imports scipy or the analysis code at run time (the KM curve type is for annotations only).
"""

from __future__ import annotations

from trialpress.report.figures.forest import build_forest_figure, draw_forest
from trialpress.report.figures.km import build_km_figure, draw_km
from trialpress.report.figures.specs import ForestRow, ForestSpec, KMPanel, RiskRow
from trialpress.report.figures.style import OKABE_ITO, group_colours, group_linestyles  # noqa: F401 - re-exported

# not in __all__, but importable from here as before the split (tests and the store read them)
from trialpress.report.figures.km import _step_path  # noqa: F401 - re-exported
from trialpress.report.figures.style import FONT_SIZE, LABEL_SIZE, PNG_DPI, RC, TITLE_SIZE, _save_png  # noqa: F401 - re-exported

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

"""Styling shared by every figure: palette, line styles, rcParams, figure creation, text measuring, saving.

All style settings are applied through ``rc_context`` (see `_style`) so the caller's rcParams are left
untouched, and saving writes no dates, so the same inputs give the same bytes on any machine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties


if TYPE_CHECKING:
    from matplotlib.backend_bases import RendererBase

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

PNG_DPI = 300


@contextmanager
def _style() -> Iterator[None]:
    """Our rcParams for the duration of a build or save, then the caller's again. They start from matplotlib's
    own defaults, not the user's matplotlibrc or style: the same inputs draw the same bytes on any machine."""
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(RC)
        yield


def group_colours(keys: Sequence[str]) -> dict[str, str]:
    """Okabe–Ito colour per group, by position, so the same arm keeps its colour across figures."""
    return {k: OKABE_ITO[i % len(OKABE_ITO)] for i, k in enumerate(keys)}


def group_linestyles(keys: Sequence[str]) -> dict[str, Any]:
    """Line style per group, by position, so groups stay distinct when printed in grey."""
    return {k: _LINESTYLES[i % len(_LINESTYLES)] for i, k in enumerate(keys)}


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


def _save_png(fig: Figure, path: Path, dpi: float) -> Path:
    """Raster copy at a fixed DPI (image tests, previews); not used in reports."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _style():
        fig.savefig(path, format="png", dpi=dpi, metadata={"Software": None})
    return path


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
    # the figure specs (KMPanel, RiskRow, ForestSpec, MeansPanel ...), not the caller's objects (e.g. a KM curve)
    spec = type(obj).__module__.startswith("trialpress.report.figures.")
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type) and spec:
        return dataclasses.replace(obj, **{f.name: _drawable(getattr(obj, f.name)) for f in dataclasses.fields(obj)})
    return obj

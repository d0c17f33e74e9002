"""A figure to draw, as plain data: what the report asks for, and what draws it (here, or in the figure process
of `trialpress.figure_process`, which receives these jobs pickled and draws them beside the document)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from trialpress.report.figures.specs import ForestSpec, KMPanel, MeansPanel

Spec = Union[tuple[KMPanel, ...], ForestSpec, MeansPanel]


@dataclass(frozen=True)
class Draw:
    """One figure: its spec (KM panels, a forest plot or means over visits), the file stem it is written to
    (`<stem>.svg`, and `.png` when asked) and the formats."""

    spec: Spec
    stem: Path
    formats: tuple[str, ...]


Drawer = Callable[[Draw], Any]


def draw(job: Draw) -> list[Path]:
    """Draw `job` now (imports matplotlib on first use); the paths written."""
    spec = job.spec
    if isinstance(spec, ForestSpec):
        from trialpress.report.figures.forest import draw_forest

        return draw_forest(spec, job.stem, formats=job.formats)
    if isinstance(spec, MeansPanel):
        from trialpress.report.figures.means import draw_means

        return draw_means(spec, job.stem, formats=job.formats)
    from trialpress.report.figures.km import draw_km

    return draw_km(list(spec), job.stem, formats=job.formats)

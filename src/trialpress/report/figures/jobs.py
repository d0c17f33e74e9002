"""A figure to draw, as plain data: what it shows (its spec), where it goes and in which formats.

The figure views (numbers, captions, file names) are settled from the ARD first, in the report's process;
the drawing itself can then happen there or in a process of its own (`worker`), from the same jobs, with
the same bytes as the result. This module imports no matplotlib: only `draw` does, when it is called.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from trialpress.report.figures.specs import ForestSpec, KMPanel, MeansPanel

Spec = Union[tuple[KMPanel, ...], ForestSpec, MeansPanel]   # its type says which figure it is


@dataclass(frozen=True)
class FigureJob:
    """One figure file set: a KM figure (one or more panels), a forest plot or a means-by-visit plot."""

    spec: Spec
    stem: Path                  # the files are stem.svg (and stem.png for Word and RTF)
    formats: tuple[str, ...]


def draw(job: FigureJob) -> list[Path]:
    """Draw one job with matplotlib; returns the files written."""
    if isinstance(job.spec, tuple):
        from trialpress.report.figures.km import draw_km

        return draw_km(list(job.spec), job.stem, formats=job.formats)
    if isinstance(job.spec, ForestSpec):
        from trialpress.report.figures.forest import draw_forest

        return draw_forest(job.spec, job.stem, formats=job.formats)
    from trialpress.report.figures.means import draw_means

    return draw_means(job.spec, job.stem, formats=job.formats)


def draw_all(jobs: Iterable[FigureJob]) -> None:
    for job in jobs:
        draw(job)

"""A figure to draw, as plain data: what it shows (its spec), where it goes and in which formats.

The figure views (numbers, captions, file names) are settled from the ARD first, in the report's process;
the drawing itself can then happen there or in a process of its own (`worker`), from the same jobs, with
the same bytes as the result. This module imports no matplotlib: only `draw` does, when it is called.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Union

from trialpress.report.figures.specs import ForestSpec, KMPanel, MeansPanel

Kind = Literal["km", "forest", "means"]
Spec = Union[tuple[KMPanel, ...], ForestSpec, MeansPanel]


@dataclass(frozen=True)
class FigureJob:
    """One figure file set: a KM figure (one or more panels), a forest plot or a means-by-visit plot."""

    kind: Kind
    spec: Spec
    stem: Path                  # the files are stem.svg (and stem.png for Word and RTF)
    formats: tuple[str, ...]


def draw(job: FigureJob) -> list[Path]:
    """Draw one job with matplotlib; returns the files written."""
    if job.kind == "km":
        from trialpress.report.figures.km import draw_km

        assert isinstance(job.spec, tuple)
        return draw_km(list(job.spec), job.stem, formats=job.formats)
    if job.kind == "forest":
        from trialpress.report.figures.forest import draw_forest

        assert isinstance(job.spec, ForestSpec)
        return draw_forest(job.spec, job.stem, formats=job.formats)
    from trialpress.report.figures.means import draw_means

    assert isinstance(job.spec, MeansPanel)
    return draw_means(job.spec, job.stem, formats=job.formats)


def draw_all(jobs: Iterable[FigureJob]) -> None:
    for job in jobs:
        draw(job)

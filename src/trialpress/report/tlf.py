"""The RTF table-and-figure package of a render (`formats: [..., rtf]`): every numbered table and figure of the
document, as one RTF file each in `tlf/` with an index, from the same table models and figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trialpress.report.context import FigureView, TableView


def _tables(context: dict[str, Any]) -> list[TableView]:
    found: list[TableView] = [t for t in (context.get("baseline"), context.get("efficacy")) if t is not None]
    found += [c.table for c in [*context.get("continuous", []), *context.get("safety_continuous", [])]
              if c.table is not None]
    safety = context.get("safety")
    if safety is not None:
        found += safety.tables
    if context.get("safety_outcomes") is not None:
        found.append(context["safety_outcomes"])
    return sorted(found, key=lambda t: t.number)


def _figures(context: dict[str, Any]) -> list[FigureView]:
    figures: list[FigureView] = [f for ep in [*context["endpoints"], *context.get("continuous", []),
                                              *context["safety_endpoints"], *context.get("safety_continuous", [])]
                                 for f in ep.figures]
    figures += context.get("forests", [])
    figures.sort(key=lambda f: (int("".join(ch for ch in f.number if ch.isdigit()) or 0), f.number))
    return figures


def write_tlf(context: dict[str, Any], stage: Path, source: str) -> list[Path]:
    """tlf/ inside the staging folder: one RTF per table and figure, each with its number, title, population,
    notes and `source` line, and an index."""
    from trialpress.report.rtf import TLFFigure, TLFTable, write_package

    items: list[TLFTable | TLFFigure] = [
        TLFTable(str(t.number), t.title, t.population, t.model, (t.note,)) for t in _tables(context)]
    for f in _figures(context):
        png = (stage / f.path).with_suffix(".png")
        items.append(TLFFigure(f.number, f.caption, "", png, (f.note,) if f.note else ()))
    return write_package(items, stage / "tlf", source=source)

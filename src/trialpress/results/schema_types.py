"""The type of an ARD schema entry: an analysis, its statistics, and which of them are text-valued."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Analysis:
    description: str
    statistics: dict[str, str]
    text_statistics: frozenset[str] = frozenset()   # statistics whose result is in `text`


def analysis(description: str, text: tuple[str, ...] = (), **statistics: str) -> Analysis:
    """An entry: what the analysis is, then each statistic with its meaning; `text` names text-valued ones."""
    return Analysis(description, statistics, frozenset(text))

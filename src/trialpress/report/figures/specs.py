"""What a figure shows, as plain frozen data: KM panels with their risk-table rows, forest plots, means by visit.

Numbers are computed by the caller and text is pre-formatted, so a figure can never disagree with
the tables of the same report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # type only: importing survival at run time would pull in scipy
    from trialpress.results.ard import Curve as KMCurve


@dataclass(frozen=True)
class RiskRow:
    """One group's risk-table row, one value per x tick (KMunicate: at risk, censored, events)."""

    at_risk: tuple[int, ...]
    events: tuple[int, ...]      # cumulative events up to the tick
    censored: tuple[int, ...]    # cumulative censored up to the tick


@dataclass(frozen=True)
class KMPanel:
    """Everything one KM panel shows; numbers are computed by the caller, text is pre-formatted."""

    title: str                      # e.g. "A  All patients" ('' for none)
    curves: dict[str, KMCurve]      # group key -> curve, in display order
    labels: dict[str, str]          # group key -> legend / risk-table label
    risk: dict[str, RiskRow]        # group key -> risk-table row at `ticks`
    ticks: tuple[float, ...]        # x-axis ticks (display unit), start at 0
    medians: dict[str, float]       # group key -> median (NaN = not reached: no reference line)
    annotation: tuple[str, ...]     # its lines, e.g. ("HR, 1.58 (95% CI, 1.26–1.97)", "Log-rank P < .001")
    xlabel: str                     # e.g. "Months since first dose"
    ylabel: str                     # e.g. "Overall survival (%)"
    show_ci: bool = False


@dataclass(frozen=True)
class ForestRow:
    """One line of a forest plot; a header row names a subgroup variable and carries its P."""

    label: str                      # "Age group: <65" or a header row like "Age group"
    is_header: bool
    n_cells: tuple[str, ...]        # one text per count column: ("60/105", "120/160")
    hr: float
    lower: float
    upper: float                    # NaN for headers / not estimable
    hr_text: str                    # "1.58 (1.26–1.97)" or "NE"
    p_text: str                     # interaction P shown on the header row, '' elsewhere


@dataclass(frozen=True)
class ForestSpec:
    """A whole forest plot: rows top to bottom, column headers and the axis wording."""

    rows: tuple[ForestRow, ...]
    columns: tuple[str, ...]        # (label column, *count columns, HR column, P column)
    xlabel: str                     # "Hazard ratio (High dose vs placebo)"
    favours: tuple[str, str]        # (left of 1, right of 1)


@dataclass(frozen=True)
class MeansPanel:
    """Per group: a value with CI at each visit (NaN: no estimate), and n per visit for the table below."""

    visits: tuple[str, ...]                           # x positions, in order
    labels: dict[str, str]                            # group key -> legend label
    estimate: dict[str, tuple[float, ...]]
    lower: dict[str, tuple[float, ...]]
    upper: dict[str, tuple[float, ...]]
    n: dict[str, tuple[int, ...]]
    ylabel: str
    reference_line: float | None = 0.0                # e.g. 0 for a change from baseline

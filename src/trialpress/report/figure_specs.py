"""Results → figure panels: which curves, labels, risk-table numbers and annotations each KM figure shows.

Every number on a figure is read from the ARD (risk table, medians, HR, P) and formatted here;
the curves are the KM step data the analysis computed. `figures.py` only draws.
"""

from __future__ import annotations

import math
from pathlib import Path

from trialpress.plan import Plan, TimeToEvent
from trialpress.report import formatting as fmt
from trialpress.report.context import ContextBuilder, FigureView
from trialpress.report.figures import KMPanel, RiskRow, draw_km
from trialpress.results.ard import ARD, make_id
from trialpress.results.collect import AnalysisResults


def _risk(ard: ARD, ep: str, group: str, ticks: list[str], subgroup: str = "", level: str = "") -> RiskRow:
    def values(stat: str) -> tuple[int, ...]:
        return tuple(int(ard[make_id(ep, "risk", subgroup, level, group, stat, t)].value) for t in ticks)

    return RiskRow(at_risk=values("at_risk"), events=values("events"), censored=values("censored"))


def _ticks(ard: ARD, ep: str, group: str) -> list[str]:
    return [r.param for r in ard.select(endpoint=ep, analysis="risk", group=group, statistic="at_risk", subgroup="")]


def _annotation(cb: ContextBuilder, ep: TimeToEvent, prefix: str = "cox") -> str:
    plan = cb.plan
    lines = []
    for c in plan.comparators:
        hr = cb.ard.get(f"{ep.id}.{prefix}.{c}.hr")
        lr = cb.ard.get(f"{ep.id}.logrank.{c}.p")
        if hr is None:
            continue
        d = cb.style.estimate_decimals
        who = f"{plan.group_labels[c]} vs {plan.group_labels[plan.groups.reference]}: " if len(plan.comparators) > 1 else ""
        lines.append(who + fmt.ratio_with_ci("HR", hr.value, hr.lower, hr.upper, d))
        if lr is not None:
            lines.append(f"Log-rank {fmt.p_phrase(lr.value)}")
    return "\n".join(lines)


def km_figures(plan: Plan, results: AnalysisResults, cb: ContextBuilder, figdir: Path) -> dict[str, list[FigureView]]:
    """Draw the KM figures of every time-to-event endpoint; return their views per endpoint."""
    ard = results.ard
    out: dict[str, list[FigureView]] = {}
    labels = {lv.value: lv.label for lv in plan.groups.levels}
    for ep in plan.time_to_event:
        if not ep.figure:
            continue
        cs = results.curve_set(ep.id)
        assert cs is not None
        ticks = _ticks(ard, ep.id, plan.group_values[0])
        unit = ep.shown_unit
        xlabel = f"{unit.capitalize()} since {ep.origin}"
        ylabel = f"{ep.label} (%)"
        panel = KMPanel(
            title="", curves=cs.curves, labels=labels,
            risk={g: _risk(ard, ep.id, g, ticks) for g in plan.group_values},
            ticks=tuple(float(t) for t in ticks),
            medians={g: ard[f"{ep.id}.km.{g}.median"].value for g in plan.group_values},
            annotation=_annotation(cb, ep), xlabel=xlabel, ylabel=ylabel)
        stem = figdir / f"km-{ep.id.lower()}"
        draw_km([panel], stem, formats=("svg",))
        n = cb.numbering.figure(f"km-{ep.id}")
        pop = fmt.lower_first(plan.populations[ep.population].label)
        grouping = fmt.lower_first(plan.groups.label or "group")
        caption = (f"Kaplan-Meier estimates of {fmt.lower_first(ep.label)} by {grouping} ({pop}). Tick marks show censored "
                   "observations; dashed lines mark the medians; the table gives the numbers at risk, censored and "
                   "with an event at each time. CI, confidence interval; HR, hazard ratio (Cox model); NE, not "
                   "estimable.")
        views = [FigureView(f"figure-{n}", n, caption, f"figures/{stem.name}.svg")]
        if ep.by_subgroup_figure:
            views.append(_by_subgroup_figure(plan, results, cb, ep, figdir, ticks, xlabel, ylabel))
        out[ep.id] = views
    return out


def _by_subgroup_figure(plan: Plan, results: AnalysisResults, cb: ContextBuilder, ep: TimeToEvent, figdir: Path,
                        ticks: list[str], xlabel: str, ylabel: str) -> FigureView:
    """KM by group within each level of a subgroup variable (the seed's Figure 1B), one panel per level."""
    ard = results.ard
    var = ep.by_subgroup_figure
    assert var is not None
    sg = next((s for s in plan.subgroups if s.variable == var), None)
    labels = {lv.value: lv.label for lv in plan.groups.levels}
    panels = []
    sets = [cs for cs in results.curves if cs.endpoint == ep.id and cs.panel.startswith(f"{var}=")]
    for i, cs in enumerate(sets):
        level = cs.panel.split("=", 1)[1]
        level_label = next((lv.label for lv in (sg.levels or []) if lv.value == level), level) if sg else level
        title = f"{chr(ord('A') + i)}  {sg.label if sg else var}: {level_label}"
        lines = []
        for c in plan.comparators:
            hr = ard.get(make_id(ep.id, "subgroup", var, level, c, "hr"))
            if hr is not None:
                lines.append(fmt.ratio_with_ci("HR", hr.value, hr.lower, hr.upper, cb.style.estimate_decimals))
        medians = {}
        for g in plan.group_values:
            r = ard.get(make_id(ep.id, "subgroup", var, level, g, "median")) or ard.get(
                make_id(ep.id, "km", var, level, g, "median"))
            medians[g] = r.value if r is not None else math.nan
        panels.append(KMPanel(
            title=title, curves=cs.curves, labels=labels,
            risk={g: _risk(ard, ep.id, g, ticks, var, level) for g in plan.group_values},
            ticks=tuple(float(t) for t in ticks), medians=medians, annotation="\n".join(lines),
            xlabel=xlabel, ylabel=ylabel))
    stem = figdir / f"km-{ep.id.lower()}-by-{var.lower()}"
    draw_km(panels, stem, formats=("svg",))
    n = cb.numbering.figure(f"km-{ep.id}-{var}")
    caption = (f"Kaplan-Meier estimates of {fmt.lower_first(ep.label)} by {fmt.lower_first(plan.groups.label or 'group')} within "
               f"subgroups of {fmt.lower_first(sg.label if sg else var)}. HR from a Cox model within each subgroup.")
    return FigureView(f"figure-{n}", n, caption, f"figures/{stem.name}.svg")

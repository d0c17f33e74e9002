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
        out = []
        for t in ticks:
            r = ard.get(make_id(ep, "risk", subgroup, level, group, stat, t))
            out.append(int(r.value) if r is not None and not math.isnan(r.value) else 0)
        return tuple(out)

    return RiskRow(at_risk=values("at_risk"), events=values("events") if not subgroup else (),
                   censored=values("censored") if not subgroup else ())


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
        lines.append(f"{who}HR, {fmt.fixed(hr.value, d)} (95% CI, {fmt.ci(hr.lower, hr.upper, d, fmt.EN_DASH)})")
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
        xlabel = f"{unit.capitalize()} since start"
        ylabel = f"{ep.label} (%)"
        panel = KMPanel(
            title="", curves=cs.curves, labels=labels,
            risk={g: _risk(ard, ep.id, g, ticks) for g in plan.group_values},
            ticks=tuple(float(t) for t in ticks),
            medians={g: ard[f"{ep.id}.km.{g}.median"].value for g in plan.group_values},
            annotation=_annotation(cb, ep), xlabel=xlabel, ylabel=ylabel)
        stem = figdir / f"km-{ep.id.lower()}"
        draw_km([panel], stem)
        n = cb.numbering.figure(f"km-{ep.id}")
        caption = (f"Kaplan-Meier estimates of {ep.label.lower()} by {(plan.groups.label or 'group').lower()} "
                   f"({plan.populations[ep.population].label.lower()}). Tick marks show censored observations; "
                   f"dashed lines mark the medians. CI, confidence interval; HR, hazard ratio.")
        views = [FigureView(f"figure-{n}", n, caption, f"figures/{stem.name}.svg")]
        out[ep.id] = views
    return out

"""Results → figure panels: which curves, labels, risk-table numbers and annotations each KM figure shows.

Every number on a figure is read from the ARD (risk table, medians, HR, P) and formatted here;
the curves are the KM step data the analysis computed. `figures.py` only draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from trialpress.plan import Plan, TimeToEvent
from trialpress.report import formatting as fmt
from trialpress.report.context import ContextBuilder, FigureView
from trialpress.report.figures import ForestRow, ForestSpec, KMPanel, RiskRow, draw_forest, draw_km
from trialpress.results.ard import ARD, make_id
from trialpress.results.collect import AnalysisResults


FOREST_SUFFIX = ":forest"   # key of an endpoint's forest plots in the figures mapping


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
        hr = cb.ard.get((ep.id, prefix, c, "hr"))
        lr = cb.ard.get((ep.id, "logrank", c, "p"))
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
            medians={g: ard[(ep.id, "km", g, "median")].value for g in plan.group_values},
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
        if ep.by_subgroup_figure:
            views = [FigureView(f"figure-{n}a", f"{n}A", caption, f"figures/{stem.name}.svg"),
                     _by_subgroup_figure(plan, results, cb, ep, figdir, ticks, xlabel, ylabel, f"{n}B")]
        else:
            views = [FigureView(f"figure-{n}", str(n), caption, f"figures/{stem.name}.svg")]
        out[ep.id] = views
    for ep_id, forests in forest_figures(plan, cb, figdir).items():
        out[f"{ep_id}{FOREST_SUFFIX}"] = forests
    return out


def _by_subgroup_figure(plan: Plan, results: AnalysisResults, cb: ContextBuilder, ep: TimeToEvent, figdir: Path,
                        ticks: list[str], xlabel: str, ylabel: str, number: str) -> FigureView:
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
    caption = (f"Kaplan-Meier estimates of {fmt.lower_first(ep.label)} by {fmt.lower_first(plan.groups.label or 'group')} within "
               f"subgroups of {fmt.lower_first(sg.label if sg else var)}. HR from a Cox model within each subgroup.")
    return FigureView(f"figure-{number.lower()}", number, caption, f"figures/{stem.name}.svg")


def forest_figures(plan: Plan, cb: ContextBuilder, figdir: Path) -> dict[str, list[FigureView]]:
    """One forest plot per endpoint with subgroups and per comparator: HRs by subgroup level with the
    events/N of each group, the interaction P on each subgroup's header row, all patients at the bottom."""
    ard = cb.ard
    out: dict[str, list[FigureView]] = {}
    ref = plan.groups.reference
    short = {lv.value: lv.short or lv.label for lv in plan.groups.levels}
    d = cb.style.estimate_decimals
    for ep in plan.time_to_event:
        if not ep.subgroups or not plan.subgroups:
            continue
        for c in plan.comparators:
            pair = (ref, c)

            def counts(ids: Callable[[str, str], str]) -> str:
                """'events/N' of each group of the pair, tab-separated (one forest column per group)."""
                return "\t".join(f"{fmt.count(ard[ids(g, 'events')].value)}/{fmt.count(ard[ids(g, 'n')].value)}"
                                  for g in pair)

            rows = []
            for sg in plan.subgroups:
                p = ard[make_id(ep.id, "interaction", sg.variable, "p")]
                rows.append(ForestRow(sg.label, True, "", math.nan, math.nan, math.nan, "", fmt.pvalue(p.value)))
                levels = [lv for lv in (sg.levels or [])] or None
                level_rows = ([(lv.value, lv.label) for lv in levels] if levels else
                              sorted({(r.level, r.level) for r in ard.select(endpoint=ep.id, analysis="subgroup",
                                                                            subgroup=sg.variable)}))
                for value, text in level_rows:
                    hr = ard[make_id(ep.id, "subgroup", sg.variable, value, c, "hr")]
                    rows.append(ForestRow(
                        f"{sg.label}: {text}", False,
                        counts(lambda g, stat: make_id(ep.id, "subgroup", sg.variable, value, g, stat)),
                        hr.value, hr.lower, hr.upper, _hr_text(hr.value, hr.lower, hr.upper, d), ""))
            overall = ard[(ep.id, "cox", c, "hr")]
            rows.append(ForestRow("All patients", False,
                                  counts(lambda g, stat: make_id(ep.id, "km", g, stat)),
                                  overall.value, overall.lower, overall.upper,
                                  _hr_text(overall.value, overall.lower, overall.upper, d), ""))
            spec = ForestSpec(
                rows=tuple(rows),
                columns=("Subgroup", *(f"Events/N, {short[g]}" for g in pair), "HR (95% CI)", "P interaction"),
                xlabel=f"Hazard ratio, {fmt.lower_first(plan.group_labels[c])} vs {fmt.lower_first(plan.group_labels[ref])}",
                favours=(f"Favours {fmt.lower_first(short[c])}", f"Favours {fmt.lower_first(short[ref])}"))
            stem = figdir / f"forest-{ep.id.lower()}-{c.lower()}"
            draw_forest(spec, stem, formats=("svg",))
            n = cb.numbering.figure(f"forest-{ep.id}-{c}")
            caption = (f"Hazard ratios for {fmt.lower_first(ep.label)} in subgroups, {fmt.lower_first(plan.group_labels[c])} "
                       f"vs {fmt.lower_first(plan.group_labels[ref])}. HRs from Cox models within each subgroup level "
                       "(Wald 95% CI); P interaction from a Cox model with the group-by-subgroup interaction (Wald test). "
                       "HR, hazard ratio; NE, not estimable.")
            out.setdefault(ep.id, []).append(FigureView(f"figure-{n}", str(n), caption, f"figures/{stem.name}.svg"))
    return out


def _hr_text(value: float, lower: float, upper: float, decimals: int) -> str:
    if fmt.is_missing(value):
        return fmt.NE
    return f"{fmt.fixed(value, decimals)} ({fmt.ci(lower, upper, decimals, fmt.EN_DASH)})"

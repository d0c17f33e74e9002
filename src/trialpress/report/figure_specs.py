"""Results → figure panels: which curves, labels, risk-table numbers and annotations each KM figure shows.

Every number on a figure is read from the ARD (risk table, medians, HR, P) and formatted here;
the curves are the KM step data the analysis computed. `figures/` only draws, from the jobs made here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

from trialpress.plan import Plan, TimeToEvent
from trialpress.report import formatting as fmt
from trialpress.report.context import FOREST_SUFFIX, ContextBuilder, FigureView
from trialpress.report.escape import slug
from trialpress.report.figures.jobs import FigureJob, draw_all
from trialpress.report.figures.specs import ForestRow, ForestSpec, KMPanel, RiskRow
from trialpress.report.spelling import in_variety
from trialpress.results import keys
from trialpress.results.ard import ARD, Curve




_TIME_TO = re.compile(r"time\s+to\s+(?:(?:the\s+)?first\s+|an?\s+)?(?P<event>.+)", re.I)


def km_axis_label(label: str) -> str:
    """The y axis of a Kaplan-Meier figure: the share of patients still free of the event. An endpoint named as a
    survival ('Overall survival') is that share; one named as a time ('Time to first hospitalization') is
    not, so its axis says what the curve shows: 'Free of hospitalization (%)'."""
    m = _TIME_TO.fullmatch(label.strip())
    return f"Free of {m.group('event')} (%)" if m else f"{label} (%)"


def _risk(ard: ARD, ep: str, group: str, ticks: list[str], subgroup: str = "", level: str = "") -> RiskRow:
    def values(stat: str) -> tuple[int, ...]:
        return tuple(int(ard[keys.risk(ep, stat, group, t, subgroup=subgroup, level=level)].value) for t in ticks)

    return RiskRow(at_risk=values("at_risk"), events=values("events"), censored=values("censored"))


def _ticks(ard: ARD, ep: str, group: str) -> list[str]:
    return [r.timepoint for r in ard.select(endpoint=ep, analysis="risk", group=group, statistic="at_risk",
                                            subgroup="")]


def _curves(ard: ARD, plan: Plan, ep: str, subgroup: str = "", level: str = "") -> dict[str, Curve]:
    """The step functions of one panel, from the ARD's linked curve table."""
    return {g: ard.curve(ard[keys.curve(ep, g, subgroup=subgroup, level=level)].text) for g in plan.group_values}


def _annotation(cb: ContextBuilder, ep: TimeToEvent, prefix: str = "cox") -> tuple[str, ...]:
    plan = cb.plan
    lines = []
    for c in plan.comparators:
        hr = cb.ard.get(keys.model(ep.id, prefix, "hr", c))
        lr = cb.ard.get(keys.test(ep.id, "logrank", "p", c))
        if hr is None:
            continue
        d = cb.style.estimate_decimals
        who = f"{plan.group_labels[c]} vs {plan.group_labels[plan.groups.reference]}: " if len(plan.comparators) > 1 else ""
        lines.append(who + fmt.ratio_with_ci("HR", hr.value, hr.lower, hr.upper, d, cb.conf))
        if lr is not None:
            lines.append(f"Log-rank {fmt.p_phrase(lr.value)}")
    return tuple(lines)


Figures = dict[str, list[FigureView]]


def km_figures(plan: Plan, cb: ContextBuilder, figdir: Path, raster: bool = False) -> Figures:
    """Draw every figure of the report from the ARD, in this process; return their views per endpoint."""
    views, jobs = plan_figures(plan, cb, figdir, raster)
    draw_all(jobs)
    return views


def plan_figures(plan: Plan, cb: ContextBuilder, figdir: Path, raster: bool = False) -> tuple[Figures, list[FigureJob]]:
    """The figures of every endpoint from the ARD: their views (numbers, captions, files) and the jobs that
    draw them, nothing drawn yet. `raster`: also a 300-dpi PNG of each (for Word and the RTF package).
    Numbered in the document's order: the efficacy results' KM and means figures, the forest plots, then the
    safety section's."""
    from trialpress.report.continuous_view import means_figure

    kinds = ("svg", "png") if raster else ("svg",)
    out: Figures = {}
    jobs: list[FigureJob] = []
    for role in ("efficacy", "safety"):
        for ep in plan.time_to_event:
            if ep.figure and ep.role == role:
                out[ep.id] = _km_views(plan, cb, ep, figdir, kinds, jobs)
        for c in plan.continuous:
            if c.figure and c.role == role:
                out[c.id] = [means_figure(cb, plan, c, figdir, kinds, jobs)]
        if role == "efficacy":
            for ep_id, forests in forest_figures(plan, cb, figdir, kinds, jobs).items():
                out[f"{ep_id}{FOREST_SUFFIX}"] = forests
    return out, jobs


def _km_views(plan: Plan, cb: ContextBuilder, ep: TimeToEvent, figdir: Path, kinds: tuple[str, ...],
              jobs: list[FigureJob]) -> list[FigureView]:
    """An endpoint's KM figure (and its by-subgroup panels), its job added to `jobs`."""
    ard = cb.ard
    labels = {lv.value: lv.label for lv in plan.groups.levels}
    ticks = _ticks(ard, ep.id, plan.group_values[0])
    unit = ep.shown_unit
    xlabel = in_variety(f"{unit.capitalize()} since {ep.origin}", plan.conventions.spelling)
    ylabel = ep.y_label or km_axis_label(ep.label)
    panel = KMPanel(
        title="", curves=_curves(ard, plan, ep.id), labels=labels,
        risk={g: _risk(ard, ep.id, g, ticks) for g in plan.group_values},
        ticks=tuple(float(t) for t in ticks),
        medians={g: ard[keys.km(ep.id, "median", g)].value for g in plan.group_values},
        annotation=_annotation(cb, ep), xlabel=xlabel, ylabel=ylabel)
    stem = figdir / f"km-{ep.id.lower()}"
    jobs.append(FigureJob((panel,), stem, kinds))
    n = cb.numbering.figure(f"km-{ep.id}")
    pop = fmt.lower_first(cb.analysed_label(ep.id))
    grouping = fmt.lower_first(plan.groups.label or "group")
    by = f" by {grouping}" if plan.comparators else ""   # one group: one curve
    caption = f"Kaplan-Meier estimates of {fmt.lower_first(ep.label)}{by} ({pop})"
    hr = " HR, hazard ratio (Cox model);" if plan.comparators else ""
    note = ("Tick marks show censored observations; dashed lines mark the medians; the table gives the numbers at "
            f"risk, censored and with an event at each time. CI, confidence interval;{hr} NE, not estimable.")
    alt = _km_alt(cb, ep)
    if ep.by_subgroup_figure:
        views = [FigureView(f"figure-{n}a", f"{n}A", caption, f"figures/{stem.name}.svg", alt, note),
                 _by_subgroup_figure(plan, cb, ep, figdir, ticks, xlabel, ylabel, f"{n}B", kinds, jobs)]
    else:
        views = [FigureView(f"figure-{n}", str(n), caption, f"figures/{stem.name}.svg", alt, note)]
    return views


def _km_alt(cb: ContextBuilder, ep: TimeToEvent) -> str:
    """What the KM figure shows, for a reader who cannot see it: endpoint, groups and their medians."""
    plan = cb.plan
    parts = []
    for g in plan.group_values:
        m = cb.ard[keys.km(ep.id, "median", g)]
        median = "not reached" if fmt.is_missing(m.value) else f"{fmt.fixed(m.value, cb.style.time_decimals)} {ep.shown_unit}"
        parts.append(f"{plan.group_labels[g]} (median {median})")
    return f"Kaplan-Meier curves of {fmt.lower_first(ep.label)} for {', '.join(parts)}."


def _by_subgroup_figure(plan: Plan, cb: ContextBuilder, ep: TimeToEvent, figdir: Path,
                        ticks: list[str], xlabel: str, ylabel: str, number: str, kinds: tuple[str, ...],
                        jobs: list[FigureJob]) -> FigureView:
    """KM by group within each level of a subgroup variable (the seed's Figure 1B), one panel per level."""
    ard = cb.ard
    var = ep.by_subgroup_figure
    assert var is not None
    sg = next((s for s in plan.subgroups if s.variable == var), None)
    labels = {lv.value: lv.label for lv in plan.groups.levels}
    panels = []
    levels = list(dict.fromkeys(r.subgroup_level for r in ard.select(endpoint=ep.id, analysis="curve",
                                                                     statistic="curve", subgroup=var)))
    for i, level in enumerate(levels):
        level_label = next((lv.label for lv in (sg.levels or []) if lv.value == level), level) if sg else level
        title = f"{chr(ord('A') + i)}  {sg.label if sg else var}: {level_label}"
        lines = []
        for c in plan.comparators:
            hr = ard.get(keys.subgroup(ep.id, "hr", c, var, level))
            if hr is not None:
                lines.append(fmt.ratio_with_ci("HR", hr.value, hr.lower, hr.upper, cb.style.estimate_decimals,
                                                cb.conf))
        medians = {}
        for g in plan.group_values:
            r = ard.get(keys.subgroup(ep.id, "median", g, var, level)) or ard.get(
                keys.km(ep.id, "median", g, subgroup=var, level=level))
            medians[g] = r.value if r is not None else math.nan
        panels.append(KMPanel(
            title=title, curves=_curves(ard, plan, ep.id, var, level), labels=labels,
            risk={g: _risk(ard, ep.id, g, ticks, var, level) for g in plan.group_values},
            ticks=tuple(float(t) for t in ticks), medians=medians, annotation=tuple(lines),
            xlabel=xlabel, ylabel=ylabel))
    stem = figdir / f"km-{ep.id.lower()}-by-{slug(var.lower())}"
    jobs.append(FigureJob(tuple(panels), stem, kinds))
    caption = (f"Kaplan-Meier estimates of {fmt.lower_first(ep.label)} by {fmt.lower_first(plan.groups.label or 'group')} "
               f"within subgroups of {fmt.lower_first(sg.label if sg else var)}")
    alt = f"Kaplan-Meier curves of {fmt.lower_first(ep.label)} by group, one panel per level of " \
          f"{fmt.lower_first(sg.label if sg else var)}."
    return FigureView(f"figure-{number.lower()}", number, caption, f"figures/{stem.name}.svg", alt,
                      "HR from a Cox model within each subgroup.")


def forest_figures(plan: Plan, cb: ContextBuilder, figdir: Path, kinds: tuple[str, ...], jobs: list[FigureJob]
                   ) -> Figures:
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

            def counts(ids: Callable[[str, str], keys.Key]) -> tuple[str, ...]:
                """'events/N' of each group of the pair (one forest column per group)."""
                return tuple(f"{fmt.count(ard[ids(g, 'events')].value)}/{fmt.count(ard[ids(g, 'n')].value)}"
                             for g in pair)

            rows = []
            for sg in plan.subgroups:
                p = ard[keys.interaction(ep.id, sg.variable)]
                rows.append(ForestRow(sg.label, True, (), math.nan, math.nan, math.nan, "", fmt.pvalue(p.value)))
                levels = [lv for lv in (sg.levels or [])] or None
                level_rows = ([(lv.value, lv.label) for lv in levels] if levels else
                              sorted({(r.subgroup_level, r.subgroup_level)
                                      for r in ard.select(endpoint=ep.id, analysis="subgroup", subgroup=sg.variable)}))
                for value, text in level_rows:
                    hr = ard[keys.subgroup(ep.id, "hr", c, sg.variable, value)]
                    rows.append(ForestRow(
                        f"{sg.label}: {text}", False,
                        counts(lambda g, stat: keys.subgroup(ep.id, stat, g, sg.variable, value)),
                        hr.value, hr.lower, hr.upper, _hr_text(hr.value, hr.lower, hr.upper, d), ""))
            overall = ard[keys.model(ep.id, "cox", "hr", c)]
            rows.append(ForestRow("All patients", False,
                                  counts(lambda g, stat: keys.km(ep.id, stat, g)),
                                  overall.value, overall.lower, overall.upper,
                                  _hr_text(overall.value, overall.lower, overall.upper, d), ""))
            spec = ForestSpec(
                rows=tuple(rows),
                columns=("Subgroup", *(f"Events/N, {short[g]}" for g in pair), f"HR ({cb.conf} CI)", "P interaction"),
                xlabel=f"Hazard ratio, {fmt.lower_first(plan.group_labels[c])} vs {fmt.lower_first(plan.group_labels[ref])}",
                favours=tuple(in_variety(f"Favors {fmt.lower_first(short[g])}", plan.conventions.spelling)
                              for g in (c, ref)))
            stem = figdir / f"forest-{ep.id.lower()}-{slug(c)}"
            jobs.append(FigureJob(spec, stem, kinds))
            n = cb.numbering.figure(f"forest-{ep.id}-{c}")
            caption = (f"Hazard ratios for {fmt.lower_first(ep.label)} in subgroups, {fmt.lower_first(plan.group_labels[c])} "
                       f"vs {fmt.lower_first(plan.group_labels[ref])}")
            joint = " of all groups at once (the same P in each comparison's plot)" if len(plan.comparators) > 1 else ""
            note = (f"HRs from Cox models within each subgroup level (Wald {cb.conf} CI); P interaction from a Cox "
                    f"model with the group-by-subgroup interaction{joint} (Wald test). HR, hazard ratio; NE, not "
                    "estimable.")
            alt = (f"Forest plot of hazard ratios for {fmt.lower_first(ep.label)} by subgroup "
                   f"({', '.join(fmt.lower_first(sg.label) for sg in plan.subgroups)}), with the overall hazard ratio "
                   f"{_hr_text(overall.value, overall.lower, overall.upper, d)}.")
            out.setdefault(ep.id, []).append(FigureView(f"figure-{n}", str(n), caption, f"figures/{stem.name}.svg",
                                                        alt, note))
    return out


def _hr_text(value: float, lower: float, upper: float, decimals: int) -> str:
    if fmt.is_missing(value):
        return fmt.NE
    return f"{fmt.fixed(value, decimals)} ({fmt.ci(lower, upper, decimals, fmt.EN_DASH)})"

"""The Results section's sentences: per endpoint what a results section carries (not only the abstract's),
citing the tables and figures by number with links, the sensitivity and adjusted estimates, the subgroup
findings as the ARD's decisions state them, and the limitations drawn from the plan's design facts."""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

from trialpress.plan import Plan, TimeToEvent
from trialpress.report import escape
from trialpress.report import formatting as fmt
from trialpress.report.context import ContextBuilder, FigureView, GroupView, Num, TableView
from trialpress.report.tte_view import TTEView
from trialpress.results import keys


@dataclass(frozen=True)
class Ref:
    """A citation of a numbered table or figure, linked to it in every format."""

    label: str        # 'Table 2', 'Figure 1A'
    target: str       # its anchor id

    def __html__(self) -> str:
        return f"[{escape.markdown(self.label)}](#{self.target})"


@dataclass(frozen=True)
class Estimate:
    """'1.55 (95% CI, 1.23-1.95; P < .001)' pieces of one model's estimate for one comparator."""

    group: GroupView
    value: Num
    ci: Num
    p_phrase: Num


@dataclass(frozen=True)
class LevelMedians:
    group: GroupView
    medians: list[tuple[str, Num]]    # (subgroup level label, median)


@dataclass(frozen=True)
class SubgroupFinding:
    label: str                        # the subgroup variable's name in prose ('prior therapy')
    no_apparent_effect: bool | None   # the ARD's decision on the interaction test
    p_phrase: Num
    by_group: list[LevelMedians] = field(default_factory=list)   # medians per level within each group
    figures: list[Ref] = field(default_factory=list)
    reason: str = ""                  # why the interaction test could not be estimated (the ARD row's note)


@dataclass(frozen=True)
class EndpointResult:
    endpoint: TTEView
    table: Ref | None
    figures: list[Ref]
    stratified: list[Estimate]
    strata_label: str
    adjusted: list[Estimate]
    adjusted_for: str
    subgroups: list[SubgroupFinding]


def _ref_table(t: TableView | None) -> Ref | None:
    return Ref(f"Table {t.number}", t.model.id) if t is not None else None


def _ref_figure(f: FigureView) -> Ref:
    return Ref(f"Figure {f.number}", f.id)


def _estimates(cb: ContextBuilder, ep: str, analysis: str, groups: list[GroupView]) -> list[Estimate]:
    out = []
    for g in groups:
        if g.is_reference or not cb.has(keys.model(ep, analysis, "hr", g.value)):
            continue
        key = keys.model(ep, analysis, "hr", g.value)
        out.append(Estimate(g, cb.num(key), cb.ci(key), cb.p_phrase(keys.model(ep, analysis, "p", g.value))))
    return out


def _adjusted_for(cb: ContextBuilder, ep: str) -> str:
    r = next((found for c in cb.plan.comparators if (found := cb.ard.get(keys.model(ep, "cox_adj", "hr", c)))), None)
    if r is None or ", adjusted for " not in r.method:
        return ""
    used = r.method.split(", adjusted for ", 1)[1].split(", ")
    return ", ".join(prose_label(cb.plan, v) for v in used)


def prose_label(plan: Plan, variable: str, fallback: str | None = None) -> str:
    """How a variable is named inside a sentence: the plan's prose label, else its table label lowered."""
    if variable in plan.labels:
        return plan.labels[variable]
    return fmt.lower_first(fallback or variable)


def _subgroups(cb: ContextBuilder, ep: TimeToEvent, groups: list[GroupView], forest: list[FigureView],
               panels: list[FigureView]) -> list[SubgroupFinding]:
    plan = cb.plan
    out = []
    for sg in plan.subgroups if ep.subgroups else []:
        decision = cb.flag(keys.decision(ep.id, "no_apparent_effect", on="interaction", subgroup=sg.variable))
        levels = [(lv.value, lv.label) for lv in sg.levels] if sg.levels else []
        by_group = []
        figs = [_ref_figure(f) for f in forest]
        if ep.by_subgroup_figure == sg.variable:
            figs = [_ref_figure(f) for f in panels] + figs
            for g in groups:
                meds = [(text, cb.num(keys.subgroup(ep.id, "median", g.value, sg.variable, value), "time"))
                        for value, text in levels if cb.has(keys.subgroup(ep.id, "median", g.value, sg.variable, value))]
                by_group.append(LevelMedians(g, meds))
        reason = cb.row(keys.interaction(ep.id, sg.variable)).note if decision is None else ""
        out.append(SubgroupFinding(prose_label(plan, sg.variable, sg.label), decision,
                                   cb.p_phrase(keys.interaction(ep.id, sg.variable)), by_group, figs, reason))
    return out


def endpoint_results(cb: ContextBuilder, plan: Plan, views: list[TTEView], table: TableView | None,
                     figures: dict[str, list[FigureView]], forest_key: str) -> list[EndpointResult]:
    out = []
    for view in views:
        ep = next(e for e in plan.time_to_event if e.id == view.id)
        own = figures.get(ep.id, [])
        main = [f for f in own if not f.number.endswith("B")]
        panels = [f for f in own if f.number.endswith("B")]
        forest = figures.get(f"{ep.id}{forest_key}", [])
        out.append(EndpointResult(
            view, _ref_table(table), [_ref_figure(f) for f in main],
            _estimates(cb, ep.id, "cox_strat", view.groups), fmt.lower_first(plan.label_of(ep.stratify_by or "")),
            _estimates(cb, ep.id, "cox_adj", view.groups), _adjusted_for(cb, ep.id),
            _subgroups(cb, ep, view.groups, forest, panels)))
    return out


@dataclass(frozen=True)
class Limitations:
    sentences: list[str]

    def __bool__(self) -> bool:
        return bool(self.sentences)


def limitations(plan: Plan) -> Limitations:
    """Sentences from the plan's design facts (never typed per study), then the authors' own."""
    f = plan.study.design_facts
    groups = fmt.lower_first(plan.groups.label or "groups")
    out = []
    if f.randomised is False:
        out.append(f"The comparison of {groups} is not randomized: the groups may differ in prognostic factors, "
                   "measured or not, and adjusted or stratified estimates account only for those measured.")
    if f.pooled:
        out.append("The data are pooled from several studies, which may differ in eligibility, period and "
                   "assessment schedules.")
    if f.single_arm:
        out.append("The contributing studies were single-arm: no group received a control treatment.")
    if f.blinded is False:
        out.append("Patients and assessors knew the treatment, which may bias assessed outcomes.")
    out += list(f.limitations)
    return Limitations(out)


def markup_refs(refs: list[Ref]) -> Markup:
    """'Table 2; Figure 1A' as links."""
    return Markup("; ".join(r.__html__() for r in refs))

"""Assemble the template context from the ARD and write the .qmd of a render."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialpress.plan import Plan
from trialpress.report.appendix import appendix_draft, with_checks
from trialpress.report.binary_view import BinarySection, binary_lead, binary_section
from trialpress.report.context import FOREST_SUFFIX, ContextBuilder, FigureView
from trialpress.report.continuous_view import continuous_views
from trialpress.report.efficacy import outcomes_table
from trialpress.report.methods import conventions
from trialpress.report.baseline_view import baseline_table
from trialpress.report.results_view import Ref, endpoint_results, limitations
from trialpress.report.safety_view import safety_context
from trialpress.report.templating import render_template
from trialpress.report.tte_view import tte_view
from trialpress.results import keys


@dataclass(frozen=True)
class Field:
    name: str
    value: str


@dataclass(frozen=True)
class Meta:
    """Facts about the render that are not statistics: identity, dates, software (the data cut-off is
    read from the ARD)."""

    version: str
    cutoff: str
    report_date: str
    software: dict[str, str]
    renderer: dict[str, str]
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)   # role:path -> {sha256, size}
    quality: list[Any] = field(default_factory=list)                 # the gate's CheckResults

    @property
    def fields(self) -> list[Field]:
        return [Field("Data cut-off", self.cutoff), Field("Version", self.version), Field("Date", self.report_date)]

    @property
    def footer(self) -> str:
        return f"trialpress {self.software.get('trialpress', '')} | version {self.version} | data cut-off {self.cutoff}"


def build_context(plan: Plan, cb: ContextBuilder, meta: Meta, figures: dict[str, list[FigureView]]) -> dict[str, Any]:
    return with_quality(draft_context(plan, cb, meta, figures), meta)


def with_quality(draft: dict[str, Any], meta: Meta) -> dict[str, Any]:
    """The draft completed with what the quality gate found (`meta.quality`): the appendix's table of its checks."""
    return {**draft, "meta": meta, "appendix": with_checks(draft["appendix"], meta.quality)}


def draft_context(plan: Plan, cb: ContextBuilder, meta: Meta, figures: dict[str, list[FigureView]]) -> dict[str, Any]:
    """Everything the templates receive but the gate's checks (`with_quality` adds them): a render builds it
    while the gate still runs."""
    baseline = baseline_table(cb, plan)               # numbered first: Table 1
    efficacy = outcomes_table(cb, plan, "efficacy")   # Table 2 (safety tables are numbered after it)
    continuous = continuous_views(cb, plan, figures)   # the efficacy ones: their tables follow Table 2
    endpoints = [tte_view(cb, ep, figures.get(ep.id, [])) for ep in plan.time_to_event]
    efficacy_views = [e for e in endpoints if e.role == "efficacy"]
    binary = binary_section(cb, plan, "efficacy")
    lead = _lead(plan, efficacy_views, continuous, binary)
    results = {"endpoints": endpoint_results(cb, plan, efficacy_views, efficacy, figures, FOREST_SUFFIX),
               "table": Ref(f"Table {efficacy.number}", efficacy.model.id) if efficacy else None}
    order = _abstract_order(plan, efficacy_views, continuous)
    # False in a safety study: the abstract's results then summarize the adverse events
    abstract_efficacy = bool(binary) or any(p["kind"] != "binary" for p in order)
    safety = safety_context(cb, plan, [e for e in endpoints if e.role == "safety"], figures)
    # safety endpoints (time to a first adverse event of interest, a laboratory value) follow the efficacy results
    order += [{"kind": "tte", "id": v.id, "view": v} for v in endpoints if v.role == "safety" and v.in_abstract]
    order += [{"kind": "continuous", "id": v.id, "view": v} for v in safety["safety_continuous"] if v.in_abstract]
    included = _included_population(plan, lead, abstract_efficacy)
    groups = cb.groups(included)
    populations = [{"id": pid, "label": p.label, "n": cb.num(keys.population(pid), "count"),
                    "groups": cb.groups(pid)} for pid, p in plan.populations.items()]
    return {
        "continuous": continuous,
        "lead": lead,
        "abstract_order": order,
        "abstract_efficacy": abstract_efficacy,
        "results": results,
        "study_conventions": plan.conventions,
        "conf": cb.conf,   # '95%': the level of every CI the text names
        "limitations": limitations(plan),
        "study": plan.study,
        "meta": meta,
        "groups": groups,
        "groups_label": plan.groups.label or "group",
        "groups_kind": plan.groups.kind,
        "comparative": bool(plan.comparators),   # False: one group, every estimate described, nothing compared
        "several_comparators": len(plan.comparators) > 1,   # a comparison names the group compared with
        "total_n": cb.num(keys.population(included), "count"),
        "populations": populations,
        "endpoints": efficacy_views,
        "forests": [v for key, views in figures.items() if key.endswith(FOREST_SUFFIX) for v in views],
        "binary": binary,
        "baseline": baseline,
        "efficacy": efficacy,
        **safety,
        "definitions": [{"label": e.label, "description": e.description}
                        for e in [*plan.time_to_event, *plan.binary] if e.description],
        "conventions": conventions(plan, cb.ard, meta.software, meta.renderer),
        "appendix": appendix_draft(cb, meta.inputs, meta.software),
    }


def _included_population(plan: Plan, lead: dict[str, Any] | None, efficacy: bool) -> str:
    """The population the abstract's "In total, N patients" counts: that of the plan's primary endpoint, else of
    the endpoint the conclusion follows; an abstract without efficacy results counts the safety population (the
    adverse events', else its first safety endpoint's); otherwise the baseline population, else the plan's
    first."""
    by_id = {e.id: e.population for e in plan.endpoints}
    if plan.primary in by_id:
        return by_id[plan.primary]
    if lead is not None:
        return by_id[lead["view"].id]
    if not efficacy:
        if plan.safety is not None:
            return plan.safety.population
        first = next((e for e in [*plan.time_to_event, *plan.continuous] if e.role == "safety" and e.in_abstract),
                     None)
        if first is not None:
            return first.population
    return plan.baseline_population or next(iter(plan.populations))


def _lead(plan: Plan, tte: list[Any], continuous: list[Any], binary: BinarySection | None) -> dict[str, Any] | None:
    """The endpoint the abstract's conclusion follows: the plan's efficacy primary (of any kind), else the first
    efficacy time-to-event endpoint stated in the abstract, else the first continuous one."""
    views: dict[str, tuple[str, Any]] = {v.id: (kind, v) for kind, group in (("tte", tte), ("continuous", continuous))
                                         for v in group}
    primary = binary_lead(binary, plan.primary) if binary is not None and plan.primary else None
    if primary is not None:
        views[primary.id] = ("binary", primary)
    if plan.primary and plan.primary in views:
        kind, view = views[plan.primary]
        return {"kind": kind, "view": view, "no_difference": _no_difference(view.contrasts)}
    for kind, group in (("tte", tte), ("continuous", continuous)):
        for v in group:
            if v.in_abstract:
                return {"kind": kind, "view": v, "no_difference": _no_difference(v.contrasts)}
    return None


def _abstract_order(plan: Plan, tte: list[Any], continuous: list[Any]) -> list[dict[str, Any]]:
    """The abstract's results in order: time-to-event, continuous, then the binary outcomes together, with the
    plan's primary endpoint (or the binary block holding it) moved to the front."""
    parts = [{"kind": "tte", "id": v.id, "view": v} for v in tte if v.in_abstract]
    parts += [{"kind": "continuous", "id": v.id, "view": v} for v in continuous if v.in_abstract]
    parts.append({"kind": "binary", "id": "", "view": None})
    binary_ids = {b.id for b in plan.binary}
    first = [p for p in parts if plan.primary and (p["id"] == plan.primary
                                                   or (p["kind"] == "binary" and plan.primary in binary_ids))]
    return first + [p for p in parts if p not in first]


def _no_difference(contrasts: list[Any]) -> list[Any]:
    """The contrasts the conclusion states together ("between B and either A or C"): two or more against one
    reference whose ARD decision is 'not significant'; empty when there are fewer (each gets its own sentence)."""
    flat = []
    for c in contrasts:
        decision = getattr(c, "comparison", c)       # a time-to-event contrast carries its comparison
        if decision.significant is not None and not (decision.significant and decision.favours != "neither"):
            flat.append(c)
    return flat if len(flat) > 1 and len({c.second.value for c in flat}) == 1 else []


def write_qmd(template_dir: Path, context: dict[str, Any], path: Path) -> Path:
    from trialpress.report.spelling import in_variety

    text = in_variety(render_template(template_dir, "report.qmd.j2", context),
                      context["study_conventions"].spelling)
    path.write_text(text, encoding="utf-8")
    return path

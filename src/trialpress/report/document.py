"""Assemble the template context from the results and write the .qmd of a render."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialpress.plan import Plan
from trialpress.report.binary_view import binary_section
from trialpress.report.context import ContextBuilder, FigureView
from trialpress.report.figure_specs import FOREST_SUFFIX
from trialpress.report.appendix import appendix
from trialpress.report.efficacy import efficacy_table
from trialpress.report.methods import conventions
from trialpress.report.safety_view import baseline_table, safety_section
from trialpress.report.templating import render_template
from trialpress.results.collect import AnalysisResults


@dataclass(frozen=True)
class Field:
    name: str
    value: str


@dataclass(frozen=True)
class Meta:
    """Facts about the render that are not statistics: identity, dates, software."""

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


def build_context(plan: Plan, results: AnalysisResults, cb: ContextBuilder, meta: Meta,
                  figures: dict[str, list[FigureView]]) -> dict[str, Any]:
    first_pop = plan.time_to_event[0].population if plan.time_to_event else next(iter(plan.populations))
    groups = cb.groups(first_pop)
    populations = [{"id": pid, "label": p.label, "n": cb.num(("POP", pid, "n"), "count"), "groups": cb.groups(pid)}
                   for pid, p in plan.populations.items()]
    baseline = baseline_table(cb, plan)   # numbered first: Table 1
    efficacy = efficacy_table(cb, plan)   # Table 2
    endpoints = [cb.tte(ep, figures.get(ep.id, [])) for ep in plan.time_to_event]
    return {
        "study": plan.study,
        "meta": meta,
        "groups": groups,
        "groups_label": plan.groups.label or "group",
        "groups_kind": plan.groups.kind,
        "total_n": cb.num(("POP", first_pop, "n"), "count"),
        "populations": populations,
        "endpoints": endpoints,
        "forests": [v for key, views in figures.items() if key.endswith(FOREST_SUFFIX) for v in views],
        "binary": binary_section(cb, plan),
        "baseline": baseline,
        "efficacy": efficacy,
        "safety": safety_section(cb, plan),
        "definitions": [{"label": e.label, "description": e.description}
                        for e in [*plan.time_to_event, *plan.binary] if e.description],
        "conventions": conventions(plan, meta.software, meta.renderer),
        "appendix": appendix(cb, meta.quality, meta.inputs, meta.software),
    }


def write_qmd(template_dir: Path, context: dict[str, Any], path: Path) -> Path:
    text = render_template(template_dir, "report.qmd.j2", context)
    path.write_text(text, encoding="utf-8")
    return path

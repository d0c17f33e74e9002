"""Run every analysis the plan asks for, once, into one ARD (and the curves figures draw)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from trialpress.data.loading import StudyData
from trialpress.data.memory import release_memory
from trialpress.data.requirements import requirements
from trialpress.plan import Plan
from trialpress.analysis.populations import population, populations_selected_once
from trialpress.results.ard import ARD, ARDBuilder, Row, make_id
from trialpress.results.baseline import collect_baseline
from trialpress.results.binary import collect_binary
from trialpress.results.safety import collect_safety
from trialpress.results.timetoevent import CurveSet, collect_tte


@dataclass(frozen=True)
class AnalysisResults:
    """The ARD plus the KM step data of each figure panel."""

    ard: ARD
    curves: tuple[CurveSet, ...] = field(default=())

    def curve_set(self, endpoint: str, panel: str = "") -> CurveSet | None:
        for cs in self.curves:
            if cs.endpoint == endpoint and cs.panel == panel:
                return cs
        return None


def analyse(plan: Plan, data: StudyData) -> AnalysisResults:
    data = _narrowed(plan, data)
    builder = ARDBuilder()
    curves: list[CurveSet] = []
    with populations_selected_once():
        _population_counts(plan, data, builder)
        for ep in plan.time_to_event:
            curves.extend(collect_tte(ep, data, plan, builder))
            release_memory()
        for b in plan.binary:
            collect_binary(b, data, plan, builder)
        if plan.baseline:
            collect_baseline(plan, data, builder, plan.baseline_population or next(iter(plan.populations)))
        release_memory()
        if plan.safety:
            collect_safety(plan, data, builder)
            release_memory()
    return AnalysisResults(builder.build(), tuple(curves))


def _narrowed(plan: Plan, data: StudyData) -> StudyData:
    """ADSL with only the variables the plan uses: with 10^6 subjects every population subset and model
    frame then copies a dozen columns, not the whole subject-level dataset."""
    adsl = data["ADSL"]
    keep = {r.variable for r in requirements(plan) if r.dataset == "ADSL"} | {plan.data.subject_id}
    for pop in plan.populations.values():
        if pop.expression:   # a population defined by an expression may name any ADSL variable
            keep |= {c for c in adsl.columns if re.search(rf"\b{re.escape(c)}\b", pop.expression)}
    columns = [c for c in adsl.columns if c in keep]
    if len(columns) == adsl.shape[1]:
        return data
    return replace(data, frames={**data.frames, "ADSL": adsl[columns]})


def _population_counts(plan: Plan, data: StudyData, ard: ARDBuilder) -> None:
    """N per group (and overall) of each population: the column headers and the abstract's sizes."""
    gvar = plan.groups.variable
    for pop_id, pop in plan.populations.items():
        frame = population(data["ADSL"], plan, pop_id)
        method = f"Subjects with {pop.flag} = 'Y'" if pop.flag else f"Subjects with {pop.expression}"
        for g in plan.group_values:
            ard.add(Row(id=make_id("POP", pop_id, g, "n"), analysis="population", endpoint="POP", population=pop_id,
                        group=g, statistic="n", value=float((frame[gvar] == g).sum()), method=method))
        ard.add(Row(id=make_id("POP", pop_id, "n"), analysis="population", endpoint="POP", population=pop_id,
                    group="", statistic="n", value=float(len(frame)), method=method))

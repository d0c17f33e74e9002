"""Run every analysis the plan asks for, once, into one ARD: numbers, curves, study facts and decisions."""

from __future__ import annotations

from dataclasses import dataclass, replace

from trialpress.analysis.populations import population, populations_selected_once
from trialpress.data.loading import StudyData
from trialpress.data.memory import release_memory
from trialpress.expressions import parse
from trialpress.data.requirements import requirements
from trialpress.data.requirements_safety import optional_adsl_variables
from trialpress.plan import Plan
from trialpress.results import keys
from trialpress.results.ard import ARD, ARDBuilder, row
from trialpress.results.baseline import collect_baseline
from trialpress.results.binary import collect_binary
from trialpress.results.continuous import collect_continuous
from trialpress.results.decisions import collect_decisions
from trialpress.results.safety import collect_safety
from trialpress.results.timetoevent import collect_tte


@dataclass(frozen=True)
class AnalysisResults:
    """The ARD (rows, the linked KM curves, the decisions): everything the report shows."""

    ard: ARD


def analyse(plan: Plan, data: StudyData) -> AnalysisResults:
    data = _narrowed(plan, data)
    builder = ARDBuilder()
    with populations_selected_once():
        _study_facts(plan, data, builder)
        _population_counts(plan, data, builder)
        for b in plan.binary:
            collect_binary(b, data, plan, builder)
        for ep in plan.time_to_event:
            collect_tte(ep, data, plan, builder)
            release_memory()
        for c in plan.continuous:
            collect_continuous(c, data, plan, builder)
        if plan.baseline:
            collect_baseline(plan, data, builder, plan.baseline_population or next(iter(plan.populations)))
        release_memory()
        if plan.safety:
            collect_safety(plan, data, builder)
            release_memory()
    collect_decisions(plan, builder)
    return AnalysisResults(builder.build())


def _narrowed(plan: Plan, data: StudyData) -> StudyData:
    """ADSL with only the variables the plan uses (and the numeric codes that order its categorical baseline
    variables): with 10^6 subjects every population subset and model
    frame then copies a dozen columns, not the whole subject-level dataset."""
    adsl = data["ADSL"]
    used = {r.variable for r in requirements(plan) if r.dataset == "ADSL"}
    codes = {f"{row.variable}N" for row in plan.baseline if row.kind != "continuous"}   # `coding.coded_order`
    keep = used | codes | {plan.data.subject_id} | optional_adsl_variables(plan)
    columns = [c for c in adsl.columns if c in keep]
    if len(columns) == adsl.shape[1]:
        return data
    return replace(data, frames={**data.frames, "ADSL": adsl[columns]})


def _study_facts(plan: Plan, data: StudyData, ard: ARDBuilder) -> None:
    """The data cut-off: the latest date of the plan's cut-off variable (pooled studies may have one each); the
    CSV files read with R's NA convention."""
    var = plan.data.cutoff_variable
    adsl = data["ADSL"]
    found = var and var in adsl.columns and adsl[var].notna().any()
    text = adsl[var].max().date().isoformat() if found else "not recorded"
    ard.add(row(keys.cutoff(), text=text, method=f"latest ADSL {var}" if found else "no cut-off variable in ADSL"))
    for file, codec in data.encodings:
        ard.add(row(keys.encoding(file), text=codec,
                    method="the data's encoding (plan data.encoding)" if plan.data.encoding != "auto" else
                    "not UTF-8: read as " + codec + " (data.encoding auto)"))
    for file, fmt in data.na_files:
        ard.add(row(keys.na_missing(file), text=fmt,
                    method="unquoted NA fields read as missing (R's convention)" if fmt == "csv" else
                    "numbers written as the text NA read as missing (R's convention)"))


def _population_counts(plan: Plan, data: StudyData, ard: ARDBuilder) -> None:
    """N per group (and overall) of each population: the column headers and the abstract's sizes."""
    for pop_id, pop in plan.populations.items():
        frame = population(data["ADSL"], plan, pop_id)
        gvar = plan.group_variable(pop_id)
        method = (f"Subjects with {pop.flag} = 'Y'" if pop.flag else f"Subjects with {parse(pop.expression or '').describe()}") \
            + f", by {gvar}"
        for g in plan.group_values:
            ard.add(row(keys.population(pop_id, g), population=pop_id, value=float((frame[gvar] == g).sum()),
                        method=method))
        ard.add(row(keys.population(pop_id), population=pop_id, value=float(len(frame)), method=method))

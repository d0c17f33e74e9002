"""Which datasets and variables a plan uses, and of which kind: known before any data is read.

Kept free of pandas so that the up-to-date check of a render (hash the plan's inputs, find an existing
version) imports almost nothing.
"""

from __future__ import annotations

from trialpress.data.requirement import Kind, Requirement
from trialpress.plan import Plan

__all__ = ["Kind", "Requirement", "requirements", "columns_to_read"]


def requirements(plan: Plan) -> list[Requirement]:
    """Every dataset variable the plan refers to, with its expected kind."""
    from trialpress.data.requirements_continuous import continuous_requirements
    from trialpress.data.requirements_safety import safety_requirements

    req = [*_subject_level(plan), *_endpoints(plan), *_adverse_events(plan), *continuous_requirements(plan),
           *safety_requirements(plan)]
    # de-duplicate, first mention wins, except that a definite kind (number, date) beats 'any'
    seen: dict[tuple[str, str], Requirement] = {}
    for r in req:
        key = (r.dataset, r.variable)
        if key not in seen or (seen[key].kind == "any" and r.kind in ("num", "date")):
            seen[key] = r
    return list(seen.values())


def _subject_level(plan: Plan) -> list[Requirement]:
    """ADSL: subject, groups, cut-off, populations and their conditions, subgroups, baseline rows."""
    req = [Requirement("ADSL", plan.data.subject_id, "char", "data.subject_id"),
           Requirement("ADSL", plan.groups.variable, "char", "groups.variable")]
    if plan.data.cutoff_variable:
        req.append(Requirement("ADSL", plan.data.cutoff_variable, "date", "data.cutoff_variable"))
    for name, pop in plan.populations.items():
        if pop.flag:
            req.append(Requirement("ADSL", pop.flag, "char", f"populations.{name}.flag"))
        if pop.group_variable:
            req.append(Requirement("ADSL", pop.group_variable, "char", f"populations.{name}.group_variable"))
        req += _condition_variables(pop.expression, f"populations.{name}.expression")
    req += [Requirement("ADSL", s.variable, "char", f"subgroups[{s.variable}]") for s in plan.subgroups]
    for row in plan.baseline:
        kind: Kind = "num" if row.kind == "continuous" else "char"
        req.append(Requirement("ADSL", row.variable, kind, f"baseline[{row.variable}]"))
    return req


def _endpoints(plan: Plan) -> list[Requirement]:
    """Subset conditions of every endpoint; time-to-event and binary endpoints' records, strata and covariates
    (continuous endpoints' records: `requirements_continuous`)."""
    sid = plan.data.subject_id
    req: list[Requirement] = []
    for e in plan.endpoints:   # every kind: time-to-event, binary and continuous
        if e.subset and e.subset.where:
            req += _condition_variables(e.subset.where, f"{plan.endpoint_key(e.id)}.subset.where")
    for e in plan.time_to_event:
        where = f"time_to_event[{e.id}]"
        req += [Requirement("ADTTE", sid, "char", where), Requirement("ADTTE", "PARAMCD", "char", where),
                Requirement("ADTTE", "AVAL", "num", where), Requirement("ADTTE", "CNSR", "num", where)]
        if e.stratify_by:
            req.append(Requirement("ADSL", e.stratify_by, "char", f"{where}.stratify_by"))
        req += [Requirement("ADSL", cov, "any", f"{where}.adjust_for") for cov in e.adjust_for]
        if e.by_subgroup_figure:
            req.append(Requirement("ADSL", e.by_subgroup_figure, "char", f"{where}.by_subgroup_figure"))
    for b in plan.binary:
        where = f"binary[{b.id}]"
        req.append(Requirement(b.source.dataset, b.source.variable, "char", f"{where}.source.variable"))
        if b.source.dataset == "ADRS":
            req += [Requirement("ADRS", sid, "char", where), Requirement("ADRS", "PARAMCD", "char", where)]
        req += [Requirement("ADSL", cov, "any", f"{where}.adjust_for") for cov in b.adjust_for]
    return req


def _adverse_events(plan: Plan) -> list[Requirement]:
    """The AE variables of the safety section, and the ADSL exposure and discontinuation variables."""
    if not plan.safety:
        return []
    s, v = plan.safety, plan.safety.variables
    req = [Requirement("ADAE", plan.data.subject_id, "char", "safety"),
           Requirement("ADAE", v.soc, "char", "safety.variables.soc"),
           Requirement("ADAE", v.pt, "char", "safety.variables.pt"),
           Requirement("ADAE", v.severity, "num" if v.severity_kind == "ctcae" else "char",
                       "safety.variables.severity")]
    for key in ("teae_flag", "serious", "related", "action", "outcome"):
        if getattr(v, key):
            req.append(Requirement("ADAE", getattr(v, key), "char", f"safety.variables.{key}"))
    for var, why in ((s.exposure_days, "safety.exposure_days"), (s.exposure_cycles, "safety.exposure_cycles")):
        if var:
            req.append(Requirement("ADSL", var, "num", why))
    if s.discontinuation:
        req.append(Requirement("ADSL", s.discontinuation.variable, "char", "safety.discontinuation.variable"))
    return req


def _condition_variables(text: str | None, why: str) -> list[Requirement]:
    """ADSL variables a plan condition names (any kind: the condition itself says how it compares them)."""
    if not text:
        return []
    from trialpress.expressions import parse

    return [Requirement("ADSL", v, "any", why) for v in sorted(parse(text).variables)]


def columns_to_read(plan: Plan, dataset: str) -> frozenset[str] | None:
    """The variables of a record-level dataset (ADTTE, ADRS, ADAE) worth reading: those the plan uses and
    those the quality gate checks by ADaM convention. None for ADSL, read whole: it has one row per subject
    and the gate checks every flag and date in it. Large pooled data then read only what is needed."""
    if dataset == "ADSL":
        return None
    from trialpress.data import adam as cv

    used = {r.variable for r in requirements(plan) if r.dataset == dataset}
    from trialpress.data.requirements_continuous import continuous_columns

    by_convention = cv.GATE_VARIABLES.get(dataset, frozenset()) | continuous_columns(plan, dataset)
    return frozenset(used | by_convention | {plan.data.subject_id, "STUDYID"})

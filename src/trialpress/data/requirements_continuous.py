"""What continuous (BDS) endpoints need: their dataset's variables, with their kinds, and the ADSL covariates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trialpress.data.requirement import Requirement

if TYPE_CHECKING:
    from trialpress.plan import Continuous, Plan

# BDS variables that are covariates of the record (the baseline value), not of the subject
BDS_COVARIATES = frozenset({"BASE", "BASE2"})
# read whenever present, for the gate's BDS checks (one record per subject, parameter and visit; CHG = AVAL − BASE)
# and for the unit of a value (AVALU) that the plan does not name
BDS_CONVENTION = frozenset({"PARAMCD", "AVAL", "BASE", "CHG", "PCHG", "ABLFL", "DTYPE", "AVISIT", "AVISITN",
                            "ATPT", "ANL01FL", "AVALU"})


def is_record_covariate(ep: Continuous, name: str) -> bool:
    return name == ep.baseline or name in BDS_COVARIATES


def continuous_requirements(plan: Plan) -> list[Requirement]:
    req: list[Requirement] = []
    for c in plan.continuous:
        where, ds = f"continuous[{c.id}]", c.dataset
        req += [Requirement(ds, plan.data.subject_id, "char", where), Requirement(ds, "PARAMCD", "char", where),
                Requirement(ds, c.value, "num", f"{where}.value"), Requirement(ds, c.baseline, "num", f"{where}.baseline"),
                Requirement(ds, c.rows.visit, "char", f"{where}.rows.visit"),
                Requirement(ds, c.rows.visit_order, "num", f"{where}.rows.visit_order")]
        if c.value != "AVAL":
            req.append(Requirement(ds, "AVAL", "num", where))
        for var, why in ((c.rows.flag, "flag"), (c.rows.timepoint, "timepoint")):
            if var:
                req.append(Requirement(ds, var, "char", f"{where}.rows.{why}"))
        if c.rows.dtype:
            req.append(Requirement(ds, "DTYPE", "char", f"{where}.rows.dtype"))
        for cov in c.covariates:
            req.append(Requirement(ds if is_record_covariate(c, cov) else "ADSL", cov,
                                   "num" if is_record_covariate(c, cov) else "any", f"{where}.covariates"))
        req += [Requirement("ADSL", f, "char", f"{where}.factors") for f in c.factors]
    return req


def continuous_columns(plan: Plan, dataset: str) -> frozenset[str]:
    """The conventional BDS variables worth reading of a continuous endpoint's dataset (when present)."""
    return BDS_CONVENTION if any(c.dataset == dataset for c in plan.continuous) else frozenset()

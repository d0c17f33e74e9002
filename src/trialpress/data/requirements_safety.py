"""What the safety tables beyond the AE overview need (disposition, exposure, deaths, laboratory and vital
signs): datasets and variables, with their kinds. Kept apart so that each area lists its own needs.

Record-level datasets (ADEX, ADLB, ADVS) are loaded only when the plan names them, with the variables named
there. The ADSL variables of disposition, deaths and exposure dates are *optional* (`OPTIONAL_ADSL`): a study
that has them gets the table, one that does not has it left out, so they are never required here."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trialpress.data.requirement import Kind, Requirement
    from trialpress.plan import Plan

# ADSL variables read when the data have them (ADaM IG names): randomisation, first/last dose, end of study and
# of treatment with the reasons, death
OPTIONAL_ADSL: tuple[str, ...] = (
    "RANDFL", "RANDDT", "TRTSDT", "TRTSDTM", "TRTEDT", "TRTEDTM", "TRTDURD", "EOSSTT", "DCSREAS", "DCDECOD",
    "EOTSTT", "DCTREAS", "DTHFL", "DTHDT", "DTHCAUS",
)


def optional_adsl_variables(plan: Plan) -> frozenset[str]:
    """ADSL variables the safety tables use when present (never required): keep them in the analysis's ADSL."""
    return frozenset(OPTIONAL_ADSL) if plan.safety is not None else frozenset()


def safety_requirements(plan: Plan) -> list[Requirement]:
    from trialpress.data.requirement import Requirement

    s = plan.safety
    if s is None:
        return []
    sid = plan.data.subject_id
    out: list[Requirement] = []

    def need(dataset: str, variable: str | None, kind: Kind, why: str) -> None:
        if variable:
            out.append(Requirement(dataset, variable, kind, why))

    need("ADAE", s.variables.onset_day, "num", "safety.variables.onset_day")
    need("ADAE", s.variables.dictionary_version, "char", "safety.variables.dictionary_version")
    if s.exposure is not None:
        e, where = s.exposure, "safety.exposure"
        need(e.dataset, sid, "char", where)
        need(e.dataset, "PARAMCD", "char", where)
        need(e.dataset, "AVAL", "num", where)
        if e.dose_parameters or e.intensity_of:
            need(e.dataset, "AVALU", "char", f"{where}.dose_parameters")
            need(e.dataset, "PARAM", "char", f"{where}.dose_parameters")
        need(e.dataset, e.category, "char", f"{where}.category")
        # a date or a datetime, as text or as a SAS number: read as it is, converted by the analysis
        need(e.dataset, e.start, "any", f"{where}.start")
        need(e.dataset, e.end, "any", f"{where}.end")
    for key, m in (("labs", s.labs), ("vitals", s.vitals)):
        if m is None:
            continue
        where = f"safety.{key}"
        need(m.dataset, sid, "char", where)
        need(m.dataset, "PARAMCD", "char", where)
        need(m.dataset, "AVAL", "num", where)
        for field, kind in (("label", "char"), ("unit", "char"), ("visit", "char"), ("visit_number", "num"),
                            ("baseline_flag", "char"), ("change", "num"), ("on_treatment_flag", "char"),
                            ("record_flag", "char"), ("range_indicator", "char"),
                            ("baseline_range_indicator", "char"), ("grade", "num"), ("baseline_grade", "num"),
                            ("upper_limit", "num"), ("test_code", "char")):
            need(m.dataset, getattr(m, field), kind, f"{where}.{field}")  # type: ignore[arg-type]
        if not m.on_treatment_flag:
            need(m.dataset, m.date, "any", f"{where}.date")
    return out

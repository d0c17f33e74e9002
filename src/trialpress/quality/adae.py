"""ADAE rules (OCCDS). The safety analysis counts subjects, so none of these changes a number by itself:
keys, MedDRA coding, controlled terms of severity/grade, flags, outcome and action taken, and the plan's
terms of interest are design expectations (warnings). TEAEs may start before the first dose (worsening of
a pre-existing condition): no rule compares ASTDT with TRTSDT.
"""

from __future__ import annotations

import pandas as pd

from trialpress.data import adam
from trialpress.quality.common import structure_checks
from trialpress.quality.context import Ctx
from trialpress.quality.helpers import detail, is_text
from trialpress.quality.rules import WARNING, Check, ct, ig, plan_says, rule, structure

KEYS = rule(
    "ADAE.keys.unique", "ADAE", "one record per {sid} and {seq} in ADAE", "Renumber {seq} or remove duplicated AE records.",
    structure("ADaM OCCDS structure: one record per subject and AESEQ"), WARNING, "structure")
CODED = rule(
    "ADAE.{var}.not_null", "ADAE", "the {what} {var} is present for every AE", "Code every AE ({var}) with MedDRA.",
    structure("ADaM OCCDS structure (MedDRA AEDECOD, AEBODSYS)"), WARNING, "structure")
GRADE = rule(
    "ADAE.{var}.in_set", "ADAE", "{var} is a CTCAE grade 1-5",
    "Recode {var} to grades 1-5 (or set safety.variables.severity_kind).",
    ct("AETOXGR (NCI CTCAE grade 1-5)"), WARNING, "structure", variant="grade")
SEVERITY = rule(
    "ADAE.{var}.in_set", "ADAE", "{var} is MILD, MODERATE or SEVERE",
    "Recode {var} (or set safety.variables.severity_kind: ctcae).", ct("C66769 Severity/Intensity Scale for Adverse "
    "Events"), WARNING, "structure", variant="severity")
FLAG = rule(
    "ADAE.{var}.in_set", "ADAE", "{var} is 'Y' or 'N'", "Recode {var} to Y or N.", ct("C66742 No Yes Response"),
    WARNING, "structure", variant="flag")
OUTCOME = rule(
    "ADAE.{var}.in_set", "ADAE", "{var} is a CDISC outcome term or a value the plan names",
    "Recode {var} to CDISC controlled terms (or name the study's fatal value in safety.variables.fatal_values).",
    ct("C66768 Outcome of Event"), WARNING, "structure", variant="outcome")
ACTION = rule(
    "ADAE.{var}.in_set", "ADAE", "{var} is a CDISC action term or a value the plan names",
    "Recode {var} to CDISC controlled terms (or name the study's value in safety.variables.withdrawn_values).",
    ct("C66767 Action Taken with Study Treatment"), WARNING, "structure", variant="action")
GRADE5_FATAL = rule(
    "ADAE.{grade}.grade5_fatal", "ADAE", "a grade 5 AE has a fatal outcome ({outcome} in {fatal})",
    "Grade 5 means death from the AE: correct {grade} or {outcome}.",
    ct("C66768 Outcome of Event (FATAL) and NCI CTCAE grade 5 (death)"), WARNING)
FATAL_DEATH = rule(
    "ADAE.{outcome}.fatal_is_a_death", "ADAE", "a subject with a fatal AE ({outcome} in {fatal}) is dead in ADSL "
    "(DTHFL = 'Y')", "A fatal AE and a living subject contradict each other: correct {outcome} or ADSL DTHFL (and "
    "DTHDT); the AE table counts fatal AEs from {outcome}, the deaths table deaths from DTHFL.",
    ig("ADSL DTHFL (subject death flag); CDISC CT C66768 Outcome of Event (FATAL)"), WARNING, "cross-dataset")
INTEREST = rule(
    "ADAE.{var}.interest_terms_present", "ADAE", "the {what} of the plan's AEs of interest occur in {var}",
    "A term with no AE is either a typo in safety.of_interest or truly absent; check the spelling against the "
    "MedDRA term in the data.", plan_says("safety.of_interest"), WARNING, "structure")


def adae_checks(ctx: Ctx) -> list[Check]:
    e, sid, plan = ctx.data["ADAE"], ctx.sid, ctx.plan
    out = structure_checks(ctx, "ADAE")
    if not plan.safety:
        return out
    v = plan.safety.variables
    if adam.AE_SEQ in e.columns:
        dup = ctx.duplicated_keys(e, adam.AE_SEQ)
        out.append(KEYS.derived(~dup, detail=detail(dup, **{adam.AE_SEQ: e[adam.AE_SEQ]}), sid=sid, seq=adam.AE_SEQ))
    # an uncoded AE is shown by its verbatim term (else its sequence number), which the data manager codes
    shown = next((c for c in (adam.AE_TERM, adam.AE_SEQ) if c in e.columns), sid)
    for var, what in ((v.soc, "system organ class"), (v.pt, "preferred term")):
        out.append(CODED.native("ExpectColumnValuesToNotBeNull", {"column": var}, value_column=shown, var=var,
                                what=what))
    if v.severity_kind == "ctcae":
        out.append(GRADE.native("ExpectColumnValuesToBeInSet", {"column": v.severity, "value_set": list(adam.CTCAE_GRADES)},
                                value_column=v.severity, var=v.severity))
    else:
        out.append(SEVERITY.native("ExpectColumnValuesToBeInSet",
                                   {"column": v.severity, "value_set": list(adam.MILD_MODERATE_SEVERE)},
                                   value_column=v.severity, var=v.severity))
    for var in (v.serious, v.teae_flag):
        if var and is_text(e, var):
            out.append(FLAG.native("ExpectColumnValuesToBeInSet", {"column": var, "value_set": list(adam.NY)},
                                   value_column=var, var=var))
    out += _terms(ctx)
    out += _interest(ctx)
    return out


def _terms(ctx: Ctx) -> list[Check]:
    """Outcome and action taken: CDISC terms or the plan's values; a grade 5 AE is fatal."""
    e, v, out = ctx.data["ADAE"], ctx.plan.safety.variables, []  # type: ignore[union-attr]
    if v.outcome and is_text(e, v.outcome):
        out.append(OUTCOME.native("ExpectColumnValuesToBeInSet",
                                  {"column": v.outcome, "value_set": sorted(set(adam.AE_OUTCOME) | set(v.fatal_values))},
                                  value_column=v.outcome, var=v.outcome))
        if v.severity_kind == "ctcae" and v.severity in e.columns and pd.api.types.is_numeric_dtype(e[v.severity]):
            bad = e[v.severity].eq(5) & e[v.outcome].notna() & ~e[v.outcome].isin(v.fatal_values)
            out.append(GRADE5_FATAL.derived(~bad, detail=detail(bad, **{v.pt: e[v.pt], v.severity: e[v.severity],
                                                                        v.outcome: e[v.outcome]}),
                                            grade=v.severity, outcome=v.outcome, fatal=", ".join(v.fatal_values)))
        if "DTHFL" in ctx.adsl.columns:
            known = pd.Series(ctx.positions(e) >= 0, index=e.index)
            bad = e[v.outcome].isin(v.fatal_values) & known & ~ctx.per_record(e, ctx.adsl["DTHFL"].isin(["Y"]))
            out.append(FATAL_DEATH.derived(~bad, detail=detail(bad, **{v.pt: e[v.pt], v.outcome: e[v.outcome]}),
                                           outcome=v.outcome, fatal=", ".join(v.fatal_values)))
    if v.action and is_text(e, v.action):
        out.append(ACTION.native("ExpectColumnValuesToBeInSet",
                                 {"column": v.action, "value_set": sorted(set(adam.AE_ACTION) | set(v.withdrawn_values))},
                                 value_column=v.action, var=v.action))
    return out


def _interest(ctx: Ctx) -> list[Check]:
    safety = ctx.plan.safety
    v, out = safety.variables, []  # type: ignore[union-attr]
    pts = sorted({p for t in safety.of_interest for p in t.pt})  # type: ignore[union-attr]
    socs = sorted({s for t in safety.of_interest for s in t.soc})  # type: ignore[union-attr]
    for var, terms, what in ((v.pt, pts, "preferred terms"), (v.soc, socs, "system organ classes")):
        if terms:
            out.append(INTEREST.native("ExpectColumnDistinctValuesToContainSet", {"column": var, "value_set": terms},
                                       value_column=var, var=var, what=what))
    return out

"""ADSL rules: one row per subject, population flags, groups and levels, controlled terms, plausibility.

Dates and exposure are in `adsl_dates.py`.
"""

from __future__ import annotations

import pandas as pd

from trialpress.data import adam
from trialpress.quality.adsl_dates import date_checks, exposure_checks
from trialpress.quality.common import structure_checks
from trialpress.quality.context import Ctx
from trialpress.quality.helpers import detail, is_text, text_in
from trialpress.quality.rules import ERROR, WARNING, Check, ct, ig, plan_says, rule

UNIQUE = rule(
    "ADSL.{sid}.unique", "ADSL", "{sid} is unique in ADSL (one row per subject)",
    "Remove the duplicate subject rows from ADSL.", ig("ADSL (one record per subject)"), ERROR, "structure")
POPULATION_FLAG = rule(
    "ADSL.{flag}.in_set", "ADSL", "{flag} is 'Y' or 'N'",
    "Set {flag} to Y or N (blank: not in the population) for every subject.",
    ig("ADSL population indicator flags (Y, N; blank)"), ERROR, "structure", variant="population")
POPULATION_SUBJECTS = rule(
    "ADSL.{flag}.has_subjects", "ADSL", "the population {flag} = 'Y' has subjects",
    "No subject has {flag} = 'Y': set the flag in ADSL, or fix the population in the plan.",
    plan_says("populations[].flag"), ERROR, "structure")
OTHER_FLAG = rule(
    "ADSL.{flag}.in_set", "ADSL", "the flag {flag} is 'Y', 'N' or empty",
    "Recode {flag} to Y/N (ADaM flags take Y, N or missing).", ct("C66742 No Yes Response"), WARNING, "structure",
    variant="flag")
SEX = rule(
    "ADSL.SEX.in_set", "ADSL", "SEX is M, F, U or UNDIFFERENTIATED",
    "Recode SEX to CDISC controlled terms (M, F, U, UNDIFFERENTIATED).", ct("C66731 Sex"), WARNING, "structure")
AGE = rule(
    "ADSL.AGE.plausible", "ADSL", "AGE is between 0 and 120 years", "Correct the ages (AGE is in years at baseline).",
    ig("ADSL AGE (age at baseline, in AGEU)"), WARNING, "content")
CUTOFF = rule(
    "ADSL.{cut}.not_null", "ADSL", "the data cut-off {cut} is present for every subject",
    "Fill in {cut} (the study's data cut-off date).", plan_says("data.cutoff_variable"), WARNING, "structure")
GROUP = rule(
    "ADSL.{gvar}.not_null", "ADSL",
    "the grouping variable {gvar} is present for every analysed subject ({populations})",
    "Fill in {gvar}, or take the subjects out of the populations it groups ({populations}).",
    plan_says("groups.variable, populations[].group_variable"), ERROR, "structure")
GROUP_LEVEL = rule(
    "ADSL.{gvar}.in_levels", "ADSL",
    "{gvar} is one of the plan's groups ({levels}) for every analysed subject ({populations})",
    "Subjects with another value are in no group of the analysis: recode {gvar}, or add the value to "
    "groups.levels in the plan.", plan_says("groups.levels"), WARNING, "structure")
PLAN_LEVELS = rule(
    "ADSL.{var}.in_plan_levels", "ADSL", "{var} takes only the values the plan lists ({levels})",
    "Subjects with other values are left out of the {var} rows: recode them, or add the value to the plan's "
    "levels for {var}.", plan_says("subgroups[].levels, baseline[].levels"), WARNING, "structure")


def adsl_checks(ctx: Ctx) -> list[Check]:
    a, sid = ctx.adsl, ctx.sid
    out = structure_checks(ctx, "ADSL")
    dup = a[sid].notna() & a[sid].duplicated(keep=False)
    out.append(UNIQUE.derived(~dup, detail=detail(dup, **{sid: a[sid]}), sid=sid))
    out += _flags(ctx)
    out += _demography(ctx)
    out += _groups(ctx)
    out += _levels(ctx)
    out += date_checks(ctx)
    out += exposure_checks(ctx)
    return out


def _flags(ctx: Ctx) -> list[Check]:
    a, out = ctx.adsl, []
    pop_flags = sorted({p.flag for p in ctx.plan.populations.values() if p.flag and p.flag in a.columns})
    for flag in pop_flags:
        out.append(POPULATION_FLAG.native("ExpectColumnValuesToBeInSet", {"column": flag, "value_set": list(adam.NY)},
                                          value_column=flag, flag=flag))
        out.append(POPULATION_SUBJECTS.native("ExpectColumnDistinctValuesToContainSet",
                                              {"column": flag, "value_set": ["Y"]}, value_column=flag, flag=flag))
    for flag in sorted(c for c in a.columns if c.endswith("FL") and c not in pop_flags and is_text(a, c)):
        out.append(OTHER_FLAG.native("ExpectColumnValuesToBeInSet", {"column": flag, "value_set": list(adam.NY)},
                                     value_column=flag, flag=flag))
    return out


def _demography(ctx: Ctx) -> list[Check]:
    a, out = ctx.adsl, []
    if is_text(a, "SEX"):
        out.append(SEX.native("ExpectColumnValuesToBeInSet", {"column": "SEX", "value_set": list(adam.SEX)},
                              value_column="SEX"))
    if "AGE" in a.columns and pd.api.types.is_numeric_dtype(a["AGE"]):
        out.append(AGE.native("ExpectColumnValuesToBeBetween", {"column": "AGE", "min_value": 0, "max_value": 120},
                              value_column="AGE"))
    if ctx.cutoff:
        out.append(CUTOFF.native("ExpectColumnValuesToNotBeNull", {"column": ctx.cutoff}, value_column=ctx.cutoff,
                                 cut=ctx.cutoff))
    return out


def _groups(ctx: Ctx) -> list[Check]:
    """Per grouping variable (groups.variable, or a population's own group_variable): present, and one of the
    plan's groups, for every subject of the populations it groups."""
    a, plan = ctx.adsl, ctx.plan
    grouped: dict[str, list[str]] = {}
    for pop_id in plan.populations:
        grouped.setdefault(plan.group_variable(pop_id), []).append(pop_id)
    levels = set(plan.group_values)
    out = []
    for gvar, pops in grouped.items():
        if gvar not in a.columns:
            continue   # a required variable: its absence is the loader's error
        inside = pd.Series(False, index=a.index)
        for pop_id in pops:
            inside |= ctx.population(pop_id)
        missing = inside & a[gvar].isna()
        other = inside & a[gvar].notna() & ~text_in(a[gvar], levels)
        names = ", ".join(pops)
        out.append(GROUP.derived(~missing, detail=detail(missing, **{gvar: a[gvar]}), gvar=gvar, populations=names))
        out.append(GROUP_LEVEL.derived(~other, detail=detail(other, **{gvar: a[gvar]}), gvar=gvar, populations=names,
                                       levels=", ".join(plan.group_values)))
    return out


def _levels(ctx: Ctx) -> list[Check]:
    """Values of subgroup and baseline variables that the plan's level lists leave out (warnings)."""
    a = ctx.adsl
    levels: dict[str, set[str]] = {}
    for s in ctx.plan.subgroups:
        if s.levels:
            levels.setdefault(s.variable, set()).update(lv.value for lv in s.levels)
    for row in ctx.plan.baseline:
        if row.levels:
            levels.setdefault(row.variable, set()).update(lv.value for lv in row.levels)
    out = []
    for var, vals in sorted(levels.items()):
        if var not in a.columns:
            continue
        other = ctx.analysed & a[var].notna() & ~text_in(a[var], vals)
        out.append(PLAN_LEVELS.derived(~other, detail=detail(other, **{var: a[var]}), var=var,
                                       levels=", ".join(sorted(vals))))
    return out

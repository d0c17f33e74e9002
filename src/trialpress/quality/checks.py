"""The checks of the gate, derived from the plan: what each asks, why, and what to do if it fails.

A `Check` is one great_expectations expectation on one dataset plus the words a user needs.
Its severity (error stops the run, warning is reported) defaults here and can be overridden in
the plan's `quality:` section by check id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trialpress.data.loading import StudyData
from trialpress.plan import Plan


@dataclass(frozen=True)
class Check:
    id: str                       # stable id, e.g. 'ADTTE.CNSR.in_set'
    dataset: str
    expectation: str              # great_expectations expectation class name
    kwargs: dict[str, Any]
    description: str
    hint: str
    severity: str = "error"
    value_column: str | None = None   # column whose failing values are shown
    extra: dict[str, Any] = field(default_factory=dict)


def plan_checks(plan: Plan, data: StudyData) -> list[Check]:
    """The checks for the datasets and variables this plan uses."""
    sid = plan.data.subject_id
    checks: list[Check] = []
    adsl = data["ADSL"]
    checks.append(Check(f"ADSL.{sid}.unique", "ADSL", "ExpectColumnValuesToBeUnique", {"column": sid},
                        f"{sid} is unique in ADSL (one row per subject)",
                        "Remove the duplicate subject rows from ADSL.", value_column=sid))
    checks.append(Check(f"ADSL.{sid}.not_null", "ADSL", "ExpectColumnValuesToNotBeNull", {"column": sid},
                        f"{sid} is present for every ADSL row", "Fill in the subject identifiers.",
                        value_column=sid))
    gvar = plan.groups.variable
    pop_flags = {p.flag for p in plan.populations.values() if p.flag}
    for flag in sorted(pop_flags):
        checks.append(Check(f"ADSL.{flag}.in_set", "ADSL", "ExpectColumnValuesToBeInSet",
                            {"column": flag, "value_set": ["Y", "N"]},
                            f"{flag} is 'Y' or 'N'", f"Set {flag} to Y or N for every subject.", value_column=flag))
    checks.append(Check(f"ADSL.{gvar}.not_null", "ADSL", "ExpectColumnValuesToNotBeNull", {"column": gvar},
                        f"the grouping variable {gvar} is present for every subject",
                        f"Fill in {gvar}, or exclude the subjects from the analysis populations.",
                        value_column=gvar))
    if data.has("ADTTE"):
        checks += [
            Check("ADTTE.keys.unique", "ADTTE", "ExpectCompoundColumnsToBeUnique",
                  {"column_list": [sid, "PARAMCD"]}, f"one record per {sid} and PARAMCD in ADTTE",
                  "Remove duplicate parameter records.", value_column="PARAMCD"),
            Check("ADTTE.CNSR.in_set", "ADTTE", "ExpectColumnValuesToBeInSet",
                  {"column": "CNSR", "value_set": [0, 1]}, "CNSR is 0 (event) or 1 (censored)",
                  "Recode CNSR: 0 for an event, 1 for a censored time.", value_column="CNSR"),
            Check("ADTTE.AVAL.not_null", "ADTTE", "ExpectColumnValuesToNotBeNull", {"column": "AVAL"},
                  "AVAL is present", "Fill in the analysis time.", value_column="AVAL"),
            Check("ADTTE.AVAL.non_negative", "ADTTE", "ExpectColumnValuesToBeBetween",
                  {"column": "AVAL", "min_value": 0, "strict_max": False},
                  "AVAL is zero or positive", "Times cannot be negative: check the start and event dates.",
                  value_column="AVAL"),
            Check("ADTTE.subjects.in_ADSL", "ADTTE", "ExpectColumnValuesToBeInSet",
                  {"column": sid, "value_set": sorted(adsl[sid].dropna().unique().tolist())},
                  f"every ADTTE subject exists in ADSL", "Add the subjects to ADSL or remove their records.",
                  value_column=sid),
        ]
        params = sorted({e.paramcd for e in plan.time_to_event})
        checks.append(Check("ADTTE.PARAMCD.planned_present", "ADTTE", "ExpectColumnDistinctValuesToContainSet",
                            {"column": "PARAMCD", "value_set": params},
                            f"ADTTE holds the planned parameters {', '.join(params)}",
                            "Add the missing parameter records or fix time_to_event[].paramcd in the plan.",
                            value_column="PARAMCD"))
    severities = {k: v.value for k, v in plan.quality.items()}
    return [Check(**{**c.__dict__, "severity": severities.get(c.id, c.severity)}) for c in checks]

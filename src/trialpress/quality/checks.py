"""The checks of the gate, derived from the plan: what each asks, why, and what to do if it fails.

A `Check` is one great_expectations expectation on one dataset plus the words a user needs.
Where GE has no expectation for a rule (dates in order across datasets, records allowed only
where an ADSL variable says so), the rule is computed in pandas as a boolean row mask (True: the
row is fine) and validated by GE as `ExpectColumnValuesToBeInSet(<mask column>, [True])`, so every
check runs through GE and reports the failing rows by subject.

The suites themselves (one function per dataset plus cross-dataset rules) are in `suites.py`.
Severity (error stops the run, warning is reported) defaults there and can be overridden in the
plan's `quality:` section by check id; an id the plan names that no check has is a `PlanError`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from trialpress.data.loading import StudyData
from trialpress.errors import PlanError
from trialpress.plan import Plan

MASK_PREFIX = "__ok__"


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
    # a derived rule: True where the row is fine (aligned to the dataset's rows), validated by GE
    mask: pd.Series | None = field(default=None, compare=False, repr=False)
    # what is shown for a failing row of a derived rule, e.g. 'TRTSDT=2014-05-25, ADT=2014-05-20'
    detail: pd.Series | None = field(default=None, compare=False, repr=False)
    suite: str = ""               # 'structure' | 'content' | 'cross-dataset'


def mask_column(check_id: str) -> str:
    return MASK_PREFIX + re.sub(r"\W", "_", check_id)


def derived(check_id: str, dataset: str, mask: pd.Series, description: str, hint: str, *,
            detail: pd.Series | None = None, severity: str = "error", suite: str = "content") -> Check:
    """A rule computed as a row mask (True = fine) and validated by GE on that derived column."""
    return Check(check_id, dataset, "ExpectColumnValuesToBeInSet",
                 {"column": mask_column(check_id), "value_set": [True]}, description, hint, severity,
                 mask=mask.fillna(True).astype(bool), detail=detail, suite=suite)


def plan_checks(plan: Plan, data: StudyData) -> list[Check]:
    """The checks for the datasets and variables this plan uses, with the plan's severities."""
    from trialpress.quality import suites
    from trialpress.quality.references import check_plan_references

    check_plan_references(plan, data)
    checks = suites.all_checks(plan, data)
    return apply_severities(checks, plan)


def apply_severities(checks: list[Check], plan: Plan) -> list[Check]:
    """Override default severities from the plan's `quality:` map; unknown ids are a PlanError."""
    known = {c.id for c in checks}
    unknown = sorted(k for k in plan.quality if k not in known)
    if unknown:
        close = {u: difflib.get_close_matches(u, sorted(known), n=1, cutoff=0.6) for u in unknown}
        named = "; ".join(f"{u!r}" + (f" (did you mean {c[0]!r}?)" if c else "") for u, c in close.items())
        raise PlanError(
            f"quality: names check id(s) that no check of this plan and data has: {named}. "
            f"Known check ids: {', '.join(sorted(known))}.",
            hint="Use one of the known ids in the plan's quality: section (id: error or id: warning), or "
                 "remove the entry. The ids are also in quality.json of any render.")
    sev = {k: v.value for k, v in plan.quality.items()}
    return [replace(c, severity=sev[c.id]) if c.id in sev else c for c in checks]


def expectations_per_dataset(checks: list[Check]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in checks:
        out[c.dataset] = out.get(c.dataset, 0) + 1
    return out

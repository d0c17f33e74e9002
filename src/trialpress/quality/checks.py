"""The checks of the gate for a plan: the suites' checks with the plan's severities.

Severity (error stops the run, warning is reported) defaults to the rule's (`rules.py`) and can be
overridden in the plan's `quality:` section by check id; an id the plan names that no check has is a
`PlanError`. Each check keeps its rule's default severity beside the one in force, so the report can list
every severity the plan changed.
"""

from __future__ import annotations

import difflib
from dataclasses import replace

from trialpress.data.loading import StudyData
from trialpress.errors import PlanError
from trialpress.plan import Plan
from trialpress.quality import suites
from trialpress.quality.references import check_plan_references
from trialpress.quality.rules import MASK_PREFIX, Check, mask_column

__all__ = ["MASK_PREFIX", "Check", "apply_severities", "expectations_per_dataset", "mask_column", "plan_checks"]


def plan_checks(plan: Plan, data: StudyData) -> list[Check]:
    """The checks for the datasets and variables this plan uses, with the plan's severities."""
    check_plan_references(plan, data)
    return apply_severities(suites.all_checks(plan, data), plan)


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

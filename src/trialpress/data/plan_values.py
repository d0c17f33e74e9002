"""Values the plan names must exist in the data: group levels, subgroup levels, PARAMCDs, binary values.

Checked right after loading, before any analysis, so a typo ('LATR') fails with the plan line, the
dataset and the close matches instead of silently giving an empty group.
"""

from __future__ import annotations

import difflib

from trialpress.data.loading import StudyData
from trialpress.errors import PlanError
from trialpress.plan import LoadedPlan


def check_plan_values(lplan: LoadedPlan, data: StudyData) -> None:
    plan = lplan.plan
    problems: list[str] = []

    def need(values: list[str], dataset: str, variable: str, where: tuple[str | int, ...], what: str,
             rows: object = None) -> None:
        frame = data[dataset] if rows is None else rows
        present = set(frame[variable].dropna().astype(str))  # type: ignore[index]
        for v in values:
            if v not in present:
                close = difflib.get_close_matches(v, sorted(present), n=3, cutoff=0.5)
                hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
                problems.append(f"{lplan.where(*where)}: {what} {v!r} does not occur in {dataset}.{variable}{hint}")

    need(plan.group_values, "ADSL", plan.groups.variable, ("groups", "levels"), "group value")
    for i, sg in enumerate(plan.subgroups):
        if sg.levels:
            need([lv.value for lv in sg.levels], "ADSL", sg.variable, ("subgroups", i, "levels"), "subgroup level")
    for i, row in enumerate(plan.baseline):
        if row.levels:
            need([lv.value for lv in row.levels], "ADSL", row.variable, ("baseline", i, "levels"), "baseline level")
    if plan.time_to_event and data.has("ADTTE"):
        need([e.paramcd for e in plan.time_to_event], "ADTTE", "PARAMCD", ("time_to_event",), "PARAMCD")
    for i, b in enumerate(plan.binary):
        if b.source.dataset == "ADRS" and data.has("ADRS"):
            need([b.source.paramcd or ""], "ADRS", "PARAMCD", ("binary", i, "source", "paramcd"), "PARAMCD")
    if problems:
        raise PlanError("The plan names values that are not in the data:\n  " + "\n  ".join(problems),
                        hint="Fix the values in the plan (or the data); nothing was analysed.")

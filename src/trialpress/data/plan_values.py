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
             optional: bool = False) -> None:
        """Every value must occur; for `optional` levels (a category nobody has in this data cut is
        legitimate) only a likely typo — a close match to an unlisted value — or none occurring is an error."""
        present = set(data[dataset][variable].dropna().astype(str))
        unlisted = sorted(present - set(values))
        for v in values:
            if v in present:
                continue
            close = difflib.get_close_matches(v, unlisted if optional else sorted(present), n=3, cutoff=0.6)
            if optional and not close and present & set(values):
                continue
            hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
            problems.append(f"{lplan.where(*where)}: {what} {v!r} does not occur in {dataset}.{variable}{hint}")

    need(plan.group_values, "ADSL", plan.groups.variable, ("groups", "levels"), "group value")
    for pop_id, pop in plan.populations.items():
        if pop.group_variable and pop.group_variable != plan.groups.variable:
            need(plan.group_values, "ADSL", pop.group_variable, ("populations", pop_id, "group_variable"),
                 "group value", optional=True)
    for i, sg in enumerate(plan.subgroups):
        if sg.levels:
            need([lv.value for lv in sg.levels], "ADSL", sg.variable, ("subgroups", i, "levels"), "subgroup level",
                 optional=True)
    for i, row in enumerate(plan.baseline):
        if row.levels:
            need([lv.value for lv in row.levels], "ADSL", row.variable, ("baseline", i, "levels"), "baseline level",
                 optional=True)
    if plan.time_to_event and data.has("ADTTE"):
        need([e.paramcd for e in plan.time_to_event], "ADTTE", "PARAMCD", ("time_to_event",), "PARAMCD")
    for i, b in enumerate(plan.binary):
        if b.source.dataset == "ADRS" and data.has("ADRS"):
            need([b.source.paramcd or ""], "ADRS", "PARAMCD", ("binary", i, "source", "paramcd"), "PARAMCD")
    for i, c in enumerate(plan.continuous):
        if not data.has(c.dataset) or "PARAMCD" not in data[c.dataset].columns:
            continue
        need([c.paramcd], c.dataset, "PARAMCD", ("continuous", i, "paramcd"), "PARAMCD")
        rows = data[c.dataset][data[c.dataset]["PARAMCD"] == c.paramcd]
        if c.rows.visit in rows.columns and len(rows):
            visits = [*(c.visits or []), c.primary_visit]
            present = set(rows[c.rows.visit].dropna().astype(str))
            for v in dict.fromkeys(visits):
                if v not in present:
                    close = difflib.get_close_matches(v, sorted(present), n=3, cutoff=0.5)
                    hint = f" (did you mean {' or '.join(repr(x) for x in close)}?)" if close else ""
                    key = ("primary_visit",) if v == c.primary_visit else ("visits", (c.visits or []).index(v))
                    problems.append(f"{lplan.where('continuous', i, *key)}: visit {v!r} does not occur in "
                                    f"{c.dataset}.{c.rows.visit} for PARAMCD {c.paramcd}{hint}")
        if c.rows.flag and c.rows.flag in rows.columns and not rows[c.rows.flag].isin(["Y"]).any():
            problems.append(f"{lplan.where('continuous', i, 'rows', 'flag')}: no {c.paramcd} record has "
                            f"{c.rows.flag} = 'Y' in {c.dataset}")
    problems += _safety_coding(lplan, data)
    if problems:
        raise PlanError("The plan names values that are not in the data:\n  " + "\n  ".join(problems),
                        hint="Fix the values in the plan (or the data); nothing was analysed.")


def _safety_coding(lplan: LoadedPlan, data: StudyData) -> list[str]:
    """Relatedness coded other than Y/N or RELATED/NOT RELATED needs the plan to say which values count; values
    the plan names for relatedness must occur (a misspelt value would silently count nobody)."""
    from trialpress.data.coding import collected, present_values, standard_related

    plan = lplan.plan
    if not plan.safety or not data.has("ADAE"):
        return []
    v = plan.safety.variables
    ae = data["ADAE"]
    out: list[str] = []
    if v.related and v.related in ae.columns and collected(ae[v.related]):
        found = present_values(ae[v.related])
        where = lplan.where("safety", "variables", "related_values" if v.related_values else "related")
        if v.related_values is None and standard_related(found) is None:
            out.append(f"{where}: ADAE.{v.related} is coded {', '.join(repr(x) for x in found[:12])}; say which "
                       f"values count as related with safety.variables.related_values (e.g. "
                       f"[{', '.join(found[:2])}])")
        elif v.related_values is not None and not set(v.related_values) & set(found):
            close = sorted({c for x in v.related_values for c in difflib.get_close_matches(x, found, n=2, cutoff=0.6)})
            hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
            out.append(f"{where}: none of the related values {v.related_values} occurs in ADAE.{v.related}{hint}; it "
                       f"holds {', '.join(repr(x) for x in found[:12])}")
    return out

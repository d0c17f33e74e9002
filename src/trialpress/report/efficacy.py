"""Table 2: every efficacy endpoint of the plan in one table (time-to-event blocks, then binary blocks)."""

from __future__ import annotations

from trialpress.plan import Plan
from trialpress.report.binary_view import binary_note, binary_rows
from trialpress.report.context import ContextBuilder, raw_blocks
from trialpress.report.safety_view import TableView
from trialpress.report.tables import Cell, Table, label
from trialpress.report import formatting as fmt


def efficacy_table(cb: ContextBuilder, plan: Plan) -> TableView | None:
    if not plan.time_to_event and not plan.binary:
        return None
    pop = (plan.time_to_event or plan.binary)[0].population   # type: ignore[index]
    groups = cb.groups(pop)
    header = (label(""),) + tuple(Cell(g.header) for g in groups)
    rows = [row for ep in plan.time_to_event for row in cb.tte_rows(ep)]
    if plan.binary:
        rows += binary_rows(cb, plan)
    notes = ["CI, confidence interval; HR, hazard ratio; NE, not estimable."]
    if plan.time_to_event:
        notes.append("Medians, follow-up and rates by the Kaplan-Meier method with Brookmeyer-Crowley 95% CIs "
                     "(log-log transform); median follow-up by reverse Kaplan-Meier. HRs from Cox "
                     f"proportional-hazards models ({plan.conventions.ties.capitalize()} ties) with Wald 95% CI and P; "
                     f"reference: {fmt.lower_first(plan.group_labels[plan.groups.reference])}.")
    if plan.binary:
        notes.append(binary_note(plan))
    table = Table("table-efficacy", (header,), tuple(rows), (2.4,) + (1.6,) * len(groups))
    return TableView(cb.numbering.table("efficacy"),
                     f"Efficacy outcomes by {fmt.lower_first(plan.groups.label or 'group')} "
                     f"({fmt.lower_first(plan.populations[pop].label)})", raw_blocks(table), " ".join(notes))

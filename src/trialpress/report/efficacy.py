"""The outcomes tables: every efficacy endpoint of the plan in one table (time-to-event blocks, then binary
blocks), and likewise the endpoints the plan reports as safety outcomes (e.g. time to a first adverse event)."""

from __future__ import annotations

from trialpress.plan import Plan
from trialpress.report import formatting as fmt
from trialpress.report.binary_view import binary_note, binary_rows
from trialpress.report.context import ContextBuilder, TableView
from trialpress.report.tables import Cell, Table, label
from trialpress.report.tte_view import tte_rows


def outcomes_table(cb: ContextBuilder, plan: Plan, role: str = "efficacy") -> TableView | None:
    tte = [e for e in plan.time_to_event if e.role == role]
    binary = [b for b in plan.binary if b.role == role]
    if not tte and not binary:
        return None
    pop = (tte or binary)[0].population   # type: ignore[index]
    groups = cb.groups(pop)
    header = (label(""),) + tuple(Cell(g.header) for g in groups)
    rows = [row for ep in tte for row in tte_rows(cb, ep)]
    rows += binary_rows(cb, plan, binary)
    compared = bool(plan.comparators)
    notes = ["CI, confidence interval; HR, hazard ratio; NE, not estimable." if compared and tte
             else "CI, confidence interval; NE, not estimable." if tte else "CI, confidence interval."]
    if tte:
        notes.append(f"Medians by the Kaplan-Meier method with Brookmeyer-Crowley {cb.conf} CIs (log-log transform); "
                     f"landmark rates with pointwise {cb.conf} CIs (log-log transform, Greenwood variance); median "
                     "follow-up by reverse Kaplan-Meier."
                     + (" HRs from Cox "
                        f"proportional-hazards models ({plan.conventions.ties.capitalize()} ties) with Wald {cb.conf} "
                        "CI and P; "
                        f"reference: {fmt.lower_first(plan.group_labels[plan.groups.reference])}. Log-rank P compares "
                        "each group with the reference." if compared else ""))
    if any(cb.subset_shown(e.id) for e in [*tte, *binary]):
        notes.append("Endpoints analyzed in a subset of the population give its size per group.")
    if binary:
        notes.append(binary_note(cb, plan, binary))
    table = Table(f"table-{role}", (header,), tuple(rows), (2.4,) + (1.6,) * len(groups))
    what = "Efficacy outcomes" if role == "efficacy" else "Safety outcomes"
    by = f" by {fmt.lower_first(plan.groups.label or 'group')}" if plan.comparators else ""   # one group: no "by"
    return TableView(cb.numbering.table(role), f"{what}{by}", table,
                     " ".join(notes), population=plan.populations[pop].label)

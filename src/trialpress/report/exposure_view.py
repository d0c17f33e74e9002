"""The extent-of-exposure table (ICH E3 12.1), from the ARD's `exposure_summary` and `exposure_category` rows."""

from __future__ import annotations

from trialpress.plan import Plan
from trialpress.report.context import ContextBuilder, TableView
from trialpress.report.safety_cells import SUMMARY_LABELS, decimals_for, header, npct, number, section, summary_cell
from trialpress.report.tables import Cell, Table, label
from trialpress.results import keys
from trialpress.results import safety_keys as sk
from trialpress.results.exposure import duration_labels


def _category_label(term: str) -> str:
    if term == sk.MISSING:
        return "Missing"
    if term.startswith(">="):
        return f"≥{term[2:]} days"
    if term.startswith("<"):
        return f"<{term[1:]} days"
    return term.replace("-", "–") + " days"


def exposure_table(cb: ContextBuilder, plan: Plan) -> TableView | None:
    assert plan.safety is not None
    s = plan.safety
    pop = s.population
    ard = cb.ard
    has_duration = cb.has(sk.exposure("n", parameter="duration"))
    cycles = s.exposure_cycles if s.exposure_cycles and cb.has(sk.exposure("n", parameter=s.exposure_cycles)) else None
    doses = [r for r in ard.select(analysis="exposure_summary", group="", statistic="n")
             if r.parameter not in ("duration", cycles)]
    if not (has_duration or cycles or doses):
        return None
    groups = cb.groups(pop)
    cols = [*plan.group_values, ""]
    body: list[tuple[Cell, ...]] = []

    def summaries(parameter: str, category: str, decimals: int) -> None:
        for what, text in SUMMARY_LABELS:
            body.append((label(text, indent=1), *(summary_cell(
                cb, what, lambda stat, g=g: sk.exposure(stat, g, parameter=parameter, category=category),
                decimals) for g in cols)))

    notes: list[str] = []
    if has_duration:
        body.append(section("Duration of exposure, days", len(cols)))
        summaries("duration", "", 1)
        body.append(section("Duration of exposure, n (%)", len(cols)))
        for term in [*duration_labels(s.duration_categories_days), sk.MISSING]:
            if term == sk.MISSING and not cb.has(sk.exposure_category("", term)):
                continue
            body.append((label(_category_label(term), indent=1),
                         *(npct(cb, sk.exposure_category(g, term)) for g in cols)))
        body.append((label("Patient-years of exposure"),
                     *(number(cb, sk.exposure("patient_years", g), 1) for g in cols)))
        method = cb.row(sk.exposure("n", parameter="duration")).method
        notes.append(f"{method}.")
        note = cb.row(sk.exposure("n", parameter="duration")).note
        if note:
            notes.append(f"Not known: {note}.")
        notes.append("Patient-years: the sum of the durations divided by 365.25.")
    if cycles:
        body.append(section(f"Cycles received ({cycles})", len(cols)))
        summaries(cycles, "", 1)
    seen_units: list[str] = []
    for r in doses:
        if r.parameter == "relative_intensity":
            what = "Relative dose intensity, %"
        elif r.parameter == "intensity":
            unit = cb.row(sk.exposure("mean", parameter="intensity", category=r.parent)).unit
            what = f"Dose intensity, {unit}"
        else:
            name = cb.decision_text(sk.exposure("label", parameter=r.parameter, category=r.parent)) or r.parameter
            unit = cb.row(sk.exposure("mean", parameter=r.parameter, category=r.parent)).unit
            what = f"{name}" + (f", {unit}" if unit else "")
        if r.parent:
            what += f" ({r.parent})"
        body.append(section(what, len(cols)))
        mean = cb.ard.get(sk.exposure("median", parameter=r.parameter, category=r.parent))
        summaries(r.parameter, r.parent, decimals_for(mean.value if mean else None))
        if r.parameter in ("intensity", "relative_intensity"):
            seen_units.append(r.method.split(": ", 1)[-1])
    if seen_units:
        notes.append(f"Dose intensity: {seen_units[0]}.")
    if doses and s.exposure is not None and s.exposure.category:
        notes.append(f"Doses are summarised within each value of {s.exposure.category}, among the subjects with a "
                     "record of it (n).")
    notes.append("SD, standard deviation.")
    total = cb.num(keys.population(pop), "count").text
    table = Table("table-safety-exposure", (header(groups, total),), tuple(body), (2.8,) + (1.2,) * len(cols))
    return TableView(cb.numbering.table("safety-exposure"), "Extent of exposure", table, " ".join(notes),
                     population=plan.populations[pop].label)

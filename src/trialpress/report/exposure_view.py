"""The extent-of-exposure table (ICH E3 12.1), from the ARD's `exposure_summary` and `exposure_category` rows."""

from __future__ import annotations

from trialpress.plan import Plan
from trialpress.report.context import ContextBuilder, TableView, table_columns
from trialpress.report.safety_cells import (
    SUMMARY_LABELS,
    header,
    npct,
    number,
    section,
    summary_cell,
    summary_decimals,
)
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
    has_duration = cb.has(sk.exposure("n", parameter="duration"))
    cycles = s.exposure_cycles if s.exposure_cycles and cb.has(sk.exposure("n", parameter=s.exposure_cycles)) else None
    doses = [r for r in cb.ard.select(analysis="exposure_summary", group="", statistic="n")
             if r.parameter not in ("duration", cycles)]
    if not (has_duration or cycles or doses):
        return None
    cols = table_columns(plan)
    body: list[tuple[Cell, ...]] = []
    notes: list[str] = []
    if has_duration:
        notes += _duration(cb, plan, body, cols)
    if cycles:
        body.append(section(f"Cycles received ({cycles})", len(cols)))
        _summaries(cb, body, cols, cycles, "")
    notes += _doses(cb, plan, body, cols, doses)
    notes.append("SD, standard deviation.")
    total = cb.num(keys.population(pop), "count").text
    table = Table("table-safety-exposure", (header(cb.groups(pop), total),), tuple(body), (2.8,) + (1.2,) * len(cols))
    return TableView(cb.numbering.table("safety-exposure"), "Extent of exposure", table, " ".join(notes),
                     population=plan.populations[pop].label)


def _summaries(cb: ContextBuilder, body: list[tuple[Cell, ...]], cols: list[str], parameter: str,
               category: str) -> None:
    d, rd = summary_decimals(cb, lambda stat: sk.exposure(stat, parameter=parameter, category=category))
    for what, text in SUMMARY_LABELS:
        body.append((label(text, indent=1), *(summary_cell(
            cb, what, lambda stat, g=g: sk.exposure(stat, g, parameter=parameter, category=category), d, rd)
            for g in cols)))


def _duration(cb: ContextBuilder, plan: Plan, body: list[tuple[Cell, ...]], cols: list[str]) -> list[str]:
    """Duration: its summary, its categories and the patient-years; returns the notes."""
    assert plan.safety is not None
    body.append(section("Duration of exposure, days", len(cols)))
    _summaries(cb, body, cols, "duration", "")
    body.append(section("Duration of exposure, n (%)", len(cols)))
    for term in [*duration_labels(plan.safety.duration_categories_days), sk.MISSING]:
        if term == sk.MISSING and not cb.has(sk.exposure_category("", term)):
            continue
        body.append((label(_category_label(term), indent=1), *(npct(cb, sk.exposure_category(g, term)) for g in cols)))
    body.append((label("Patient-years of exposure"), *(number(cb, sk.exposure("patient_years", g), 1) for g in cols)))
    first = cb.row(sk.exposure("n", parameter="duration"))
    notes = [f"{first.method}."]
    if first.note:
        notes.append(f"Not known: {first.note}.")
    return notes + ["Patient-years: the sum of the durations divided by 365.25."]


def _doses(cb: ContextBuilder, plan: Plan, body: list[tuple[Cell, ...]], cols: list[str], doses) -> list[str]:  # type: ignore[no-untyped-def]
    """Dose parameters and dose intensity (ADEX), within each category; returns the notes."""
    assert plan.safety is not None
    intensity: list[str] = []
    for r in doses:
        unit = cb.row(sk.exposure("mean", parameter=r.parameter, category=r.parent)).unit
        if r.parameter == "relative_intensity":
            what = "Relative dose intensity, %"
        elif r.parameter == "intensity":
            what = f"Dose intensity, {unit}"
        else:
            name = cb.decision_text(sk.exposure("label", parameter=r.parameter, category=r.parent)) or r.parameter
            what = name + (f", {unit}" if unit else "")
        body.append(section(what + (f" ({r.parent})" if r.parent else ""), len(cols)))
        _summaries(cb, body, cols, r.parameter, r.parent)
        if r.parameter in ("intensity", "relative_intensity"):
            intensity.append(r.method.split(": ", 1)[-1])
    notes = [f"Dose intensity: {intensity[0]}."] if intensity else []
    e = plan.safety.exposure
    if doses and e is not None and e.category:
        notes.append(f"Doses are summarized within each value of {e.category}, among the subjects with a record of "
                     "it (n).")
    return notes

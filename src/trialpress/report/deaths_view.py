"""Deaths (ICH E3 12.3.1): the summary by period and cause, and the listing, from the ARD's `deaths` and
`death_listing` rows."""

from __future__ import annotations

from trialpress.plan import Plan
from trialpress.report import formatting as fmt
from trialpress.report.context import (
    ContextBuilder,
    GroupView,
    Num,
    TableView,
    group_header,
    table_columns,
)
from trialpress.report.safety_cells import npct, shown
from trialpress.report.tables import Cell, Table, label
from trialpress.results import safety_keys as sk
from trialpress.results.deaths import AFTER, ON


def _period_labels(window: int) -> dict[str, str]:
    return {sk.ALL_PERIODS: "All deaths", ON: f"On treatment (up to {window} days after the last dose)",
            AFTER: f"In follow-up (more than {window} days after the last dose)"}


def deaths_table(cb: ContextBuilder, plan: Plan, groups: list[GroupView], total: Num) -> TableView | None:
    assert plan.safety is not None
    s = plan.safety
    if not cb.has(sk.deaths("n")):
        return None
    cols = table_columns(plan)
    body: list[tuple[Cell, ...]] = []
    labels = _period_labels(s.death_window_days)
    for period, text in labels.items():
        if not cb.has(sk.deaths("n", period=period)):
            continue
        body.append((label(text, bold=True), *(npct(cb, sk.deaths("n", g, period=period)) for g in cols)))
        causes = [r for r in cb.ard.select(analysis="deaths", group="", statistic="n", parent=period) if r.term]
        for r in causes:
            body.append((label(shown(r.term), indent=1),
                         *(npct(cb, sk.deaths("n", g, period=period, cause=r.term)) for g in cols)))
        missing = cb.ard.get(sk.deaths("missing", period=period))
        if missing is not None and missing.value > 0:
            body.append((label("Cause not recorded", indent=1),
                         *(npct(cb, sk.deaths("missing", g, period=period)) for g in cols)))
    first = cb.row(sk.deaths("n"))
    note = f"n (%) of subjects. Death: {first.method.removeprefix('Deaths: ')}."
    on = cb.ard.get(sk.deaths("n", period=ON))
    if on is not None:
        note += f" On treatment: {on.method.removeprefix('Deaths on treatment: ')}; in follow-up otherwise."
    if any(r.term for r in cb.ard.select(analysis="deaths", group="")):
        note += " Causes as recorded in DTHCAUS, by descending total frequency."
    else:
        note += " The data record no cause of death."
    if not cb.ard.select(analysis="death_listing") and first.value > 0:
        note += (f" Deaths are not listed one by one: there are more than {s.death_listing_max} "
                 "(safety.death_listing_max).")
    table = Table("table-safety-deaths", (group_header(groups, total, "Subjects who died"),), tuple(body),
                  (3.0,) + (1.2,) * len(cols))
    return TableView(cb.numbering.table("safety-deaths"), "Deaths", table, note,
                     population=plan.populations[s.population].label)


def death_listing(cb: ContextBuilder, plan: Plan) -> TableView | None:
    assert plan.safety is not None
    s = plan.safety
    dates = cb.ard.select(analysis="death_listing", statistic="date")
    deaths = cb.ard.get(sk.deaths("n"))
    if not dates:
        return None
    short = {lv.value: lv.label for lv in plan.groups.levels}
    has_cause = bool(cb.ard.select(analysis="death_listing", statistic="cause"))
    has_period = bool(cb.ard.select(analysis="death_listing", statistic="period"))
    period_words = {ON: "On treatment", AFTER: "Follow-up", "not known": "Not known"}
    head = [label("Subject"), label("Group"), Cell("Date of death"), Cell("Study day")]
    head += [label("Cause")] if has_cause else []
    head += [label("Period")] if has_period else []
    body = []
    for r in dates:
        day = cb.ard.get(sk.death_listing("day", r.group, r.term))
        cells = [label(r.term), label(short.get(r.group, r.group)), Cell(r.text, r.id),
                 Cell(fmt.count(day.value) if day is not None and day.value == day.value else "NE",
                      day.id if day is not None else "")]
        if has_cause:
            c = cb.ard.get(sk.death_listing("cause", r.group, r.term))
            cells.append(label(shown(c.text) if c is not None else ""))
        if has_period:
            p = cb.ard.get(sk.death_listing("period", r.group, r.term))
            cells.append(label(period_words.get(p.text, p.text) if p is not None else ""))
        body.append(tuple(cells))
    widths = (2.4, 1.8, 1.1, 0.8) + ((2.0,) if has_cause else ()) + ((1.1,) if has_period else ())
    table = Table("table-safety-death-listing", (tuple(head),), tuple(body), widths)
    on = cb.ard.get(sk.deaths("n", period=ON))
    rule = (on.method.removeprefix("Deaths on treatment: ") if on is not None else
            f"death up to {s.death_window_days} days after the last dose")   # the deaths table's own words
    note = ("By group, then date of death. Study day: day 1 is the day of the first dose (the day before it is "
            "day -1)." + (f" Period, on treatment: {rule}; follow-up otherwise." if has_period else ""))
    if deaths is not None and deaths.value > len(dates):
        note += f" {len(dates)} of {fmt.count(deaths.value)} deaths listed."
    return TableView(cb.numbering.table("safety-death-listing"), "Listing of deaths", table, note,
                     population=plan.populations[s.population].label)

"""The disposition and analysis-sets table (ICH E3 10.1), from the ARD's `disposition` rows."""

from __future__ import annotations

from trialpress.plan import Plan
from trialpress.report.context import ContextBuilder, TableView, table_columns
from trialpress.report.safety_cells import NB, npct, section, shown
from trialpress.report.tables import Cell, Table, label
from trialpress.results import safety_keys as sk
from trialpress.results.disposition import STAGES

STAGE_TITLES = {"EOTSTT": "End of treatment", "EOSSTT": "End of study"}
REASON_TITLES = {"EOTSTT": "Reason for discontinuing treatment", "EOSSTT": "Reason for discontinuing the study"}
DISPOSITION_EVENT = "Disposition event, completed or reason for discontinuing"


def disposition_table(cb: ContextBuilder, plan: Plan) -> TableView | None:
    ard = cb.ard
    if not cb.has(sk.disposition("subjects")):
        return None
    cols = table_columns(plan)
    head = [Cell("", align="left")]
    for lv in plan.groups.levels:
        n = cb.num(sk.disposition("subjects", lv.value), "count")
        head.append(Cell(f"{lv.label} (N{NB}={NB}{n.text})"))
    if "" in cols:
        head.append(Cell(f"Total (N{NB}={NB}{cb.num(sk.disposition('subjects'), 'count').text})"))
    body: list[tuple[Cell, ...]] = []

    def line(text: str, key_of, indent: int = 0, bold: bool = False) -> None:  # type: ignore[no-untyped-def]
        body.append((label(text, indent=indent, bold=bold), *(npct(cb, key_of(g)) for g in cols)))

    rows = ard.select(analysis="disposition", group="", statistic="n")
    read: list[str] = []
    for r in rows:
        if r.term == "randomised":
            line("Randomized", lambda g, p=r.parameter: sk.disposition("n", g, parameter=p, term="randomised"))
            read.append(f"randomized: {r.method}")
        elif r.term == "treated":
            line("Treated (at least one dose)", lambda g, p=r.parameter: sk.disposition("n", g, parameter=p,
                                                                                       term="treated"))
            read.append(f"treated: {r.method}")
    sets = [r for r in rows if r.parameter == "population"]
    if sets:
        body.append(section("Analysis sets", len(cols)))
        for r in sets:
            line(plan.populations[r.term].label,
                 lambda g, t=r.term: sk.disposition("n", g, parameter="population", term=t), indent=1)
    for status_var, reason_vars in STAGES:
        read += _stage(cb, body, rows, status_var, reason_vars, cols)
    gvar = plan.groups.variable
    safety_gvar = plan.group_variable(plan.safety.population) if plan.safety else gvar
    note = (f"n (%) of all subjects assigned to a group by {gvar}; analysis sets are counted by {gvar} too"
            + (f" (the safety tables group subjects by {safety_gvar}, as treated)" if safety_gvar != gvar else "")
            + ".")
    if read:
        note += " Values are as recorded in ADSL (" + "; ".join(read) + ")."
    if any(r.term == "DISCONTINUED" for r in rows):
        note += " Reasons are counted for the subjects who discontinued, as percentages of the column's N."
    table = Table("table-safety-disposition", (tuple(head),), tuple(body), (2.8,) + (1.2,) * len(cols))
    return TableView(cb.numbering.table("safety-disposition"), "Subject disposition and analysis sets", table, note,
                     population="All subjects")


def _stage(cb: ContextBuilder, body: list[tuple[Cell, ...]], rows, status_var: str,  # type: ignore[no-untyped-def]
           reason_vars: tuple[str, ...], cols: list[str]) -> list[str]:
    """The rows of one stage (end of treatment, end of study): each status, the reasons under 'Discontinued',
    missing; returns what was read, for the note."""
    status = [r for r in rows if r.parameter == status_var]
    reason_var = next((v for v in reason_vars if any(r.parameter == v for r in rows)), None)
    reasons = [r for r in rows if r.parameter == reason_var] if reason_var else []
    if not status and not reasons:
        return []
    body.append(section(STAGE_TITLES[status_var] + (f" ({status_var})" if status else ""), len(cols)))
    for r in status:
        body.append((label(shown(r.term), indent=1),
                     *(npct(cb, sk.disposition("n", g, parameter=status_var, term=r.term)) for g in cols)))
        if r.term == "DISCONTINUED" and reasons:
            _reasons(cb, body, reasons, reason_var or "", cols, indent=2)
    _missing(cb, body, status_var, cols, "Missing", indent=1)
    if reasons and not any(r.term == "DISCONTINUED" for r in status):
        # with no status, a variable that also codes completion (DCDECOD = 'COMPLETED', as in SDTM DS) records
        # each subject's disposition event, not only the reasons for discontinuing
        title = (DISPOSITION_EVENT if any(r.term.strip().upper() == "COMPLETED" for r in reasons)
                 else REASON_TITLES[status_var])
        body.append((label(f"{title} ({reason_var})", indent=1), *(Cell("") for _ in cols)))
        _reasons(cb, body, reasons, reason_var or "", cols, indent=2)
    shown_vars = ([status_var] if status else []) + ([reason_var] if reason_var and reasons else [])
    return [f"{STAGE_TITLES[status_var].lower()}: {', '.join(shown_vars)}"]


def _reasons(cb: ContextBuilder, body: list[tuple[Cell, ...]], reasons, var: str, cols: list[str],  # type: ignore[no-untyped-def]
             indent: int) -> None:
    for r in reasons:
        body.append((label(shown(r.term), indent=indent),
                     *(npct(cb, sk.disposition("n", g, parameter=var, term=r.term)) for g in cols)))
    _missing(cb, body, var, cols, "Reason not recorded", indent=indent)


def _missing(cb: ContextBuilder, body: list[tuple[Cell, ...]], var: str, cols: list[str], text: str,
             indent: int) -> None:
    r = cb.ard.get(sk.disposition("missing", parameter=var))
    if r is not None and r.value > 0:
        body.append((label(text, indent=indent), *(npct(cb, sk.disposition("missing", g, parameter=var))
                                                   for g in cols)))

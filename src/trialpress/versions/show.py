"""`list`, `verify` and `diff` for the terminal.

Readable at any width from 80 columns: a wide terminal gets tables, a narrow one one block per item whose
lines wrap at words (a table squeezed into 80 columns would print one character per line). Every string
that can come from data or files (study ids, file names, messages, sentences) is shown literally: control
characters escaped (`report.escape.terminal`) and never parsed as console markup (`rich.text.Text`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trialpress.report.escape import terminal
from trialpress.versions.diff import DiffResult, fmt_change, fmt_number, num, short_id, word_diff
from trialpress.versions.listing import VersionInfo
from trialpress.versions.verify import VerifyResult

WIDE = 120        # columns from which a table is clearer than blocks


def _console(console: Any = None) -> Any:
    from rich.console import Console

    return console or Console(highlight=False)


def _text(*parts: tuple[str, str] | str) -> Any:
    """A rich Text from (text, style) pairs or plain strings, every text escaped for the terminal."""
    from rich.text import Text

    out = Text()
    for p in parts:
        text, style = (p, "") if isinstance(p, str) else p
        out.append(terminal(text), style=style or None)
    return out


def _when(created: str) -> str:
    return created.replace("+00:00", "").replace("T", " ")[:16]


# --- list ---------------------------------------------------------------------------------------

def _status_style(v: VersionInfo) -> str:
    return "green" if v.integrity == "intact" else "red"


def _list_table(rows: list[VersionInfo], one: bool) -> Any:
    from rich.table import Table

    t = Table(title_justify="left", show_lines=False)
    cols = ["version", "rendered (UTC)", "report date", "data cut-off", "data files", "data", "plan", "quality",
            "status"]
    for col in ([] if one else ["study"]) + cols:
        t.add_column(col, no_wrap=col in ("version", "rendered (UTC)", "report date", "data cut-off", "data", "plan"))
    for v in rows:
        data = " ".join(Path(f).stem for f in v.data_files)
        cells = [_text(v.version), _text(_when(v.created)), _text(v.report_date), _text(v.data_cutoff), _text(data),
                 _text(v.data_sha256[:8]), _text(v.plan_sha256[:8]), _text(v.quality),
                 _text((v.integrity, _status_style(v)))]
        t.add_row(*([] if one else [_text(v.study)]), *cells)
    return t


def _list_block(console: Any, v: VersionInfo, one: bool) -> None:
    head = [(v.version, "bold"), "  ", (v.integrity, _status_style(v))]
    if not one:
        head += ["  ", v.study]
    console.print(_text(*head))
    facts = [f"rendered {_when(v.created)} UTC" if v.created else "",
             f"report date {v.report_date}" if v.report_date else "",
             f"data cut-off {v.data_cutoff}" if v.data_cutoff else ""]
    data = " ".join(Path(f).stem for f in v.data_files)
    inputs = ([f"data {data} ({v.data_sha256[:8]})"] if data else []) + ([f"plan {v.plan_sha256[:8]}"]
                                                                          if v.plan_sha256 else [])
    for line in (", ".join(f for f in facts if f), ", ".join(inputs), f"quality {v.quality}"):
        if line:
            console.print(_text("  " + line))


def print_list(rows: list[VersionInfo], console: Any = None) -> None:
    console = _console(console)
    if not rows:
        console.print("No versions found.")
        return
    studies = sorted({v.study for v in rows})
    one = len(studies) == 1
    console.print(_text((f"Rendered versions of {studies[0]}" if one else "Rendered versions", "bold")))
    if console.width >= WIDE:
        console.print(_list_table(rows, one))
        return
    for v in rows:
        _list_block(console, v, one)


# --- verify -------------------------------------------------------------------------------------

def print_verify(result: VerifyResult, console: Any = None) -> None:
    console = _console(console)
    console.print(_text((f"verify {result.folder}", "bold")))
    for c in result.checks:
        console.print(_text(f"  {c.step:<10} ", ("ok" if c.ok else "MISMATCH", "green" if c.ok else "bold red"),
                            f"  {c.detail}"))
    if result.ok:
        recomputed = any(c.step == "recompute" for c in result.checks)
        console.print(_text(("MATCH", "bold green"), f": version {result.version} is intact"
                            + (" and reproduces byte for byte." if recomputed else " (not recomputed).")))
        return
    for name, what in result.differences[1:10]:
        console.print(_text(f"  also: {name}: {what}"))
    if len(result.differences) > 10:
        console.print(f"  … and {len(result.differences) - 10} more")
    console.print(_text(("MISMATCH", "bold red"), f": version {result.version}: first difference: "
                        f"{result.first_difference}"))
    if result.checks and result.checks[-1].step == "inputs":
        commit = result.git.get("commit")
        where = f" in {result.project}" if result.project else ""
        console.print(_text(f"The recorded inputs are not all there{where} any more, so the version cannot be "
                            "recomputed" + (f"; the render was made at git commit {commit}"
                                            f"{' with uncommitted changes' if result.git.get('dirty') else ''}."
                                            if commit else ".")))


# --- diff ---------------------------------------------------------------------------------------

def _changes_table(result: DiffResult) -> Any:
    from rich.table import Table

    t = Table(title="ARD numbers changed (A → B)", title_justify="left")
    for col, just in (("ARD row id", "left"), ("field", "left"), ("A", "right"), ("B", "right"), ("change", "right")):
        t.add_column(col, justify=just, overflow="fold", no_wrap=col != "ARD row id")  # type: ignore[arg-type]
    for c in result.changed:
        t.add_row(_text(c.row_id), c.field, fmt_number(c.old, c.new), fmt_number(c.new, c.old), fmt_change(c))
    return t


def _print_changes(console: Any, result: DiffResult) -> None:
    if not result.changed:
        return
    if console.width >= WIDE:
        console.print(_changes_table(result))
        return
    console.print(_text(("ARD numbers changed (A → B)", "bold")))
    for c in result.changed:
        console.print(_text(f"  {c.row_id}", f" {c.field}: {fmt_number(c.old, c.new)} → "
                            f"{fmt_number(c.new, c.old)} ({fmt_change(c)})"))


def _print_rows(console: Any, title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    console.print(_text((title, "bold")))
    for r in rows:
        lower, upper = num(r.get("lower")), num(r.get("upper"))
        ci = "" if lower is None else f", 95% CI {fmt_number(lower)}–{fmt_number(upper)}"
        n = num(r.get("n"))
        console.print(_text(f"  {r['id']}: {fmt_number(num(r.get('value')))}{ci}"
                            + (f", n {fmt_number(n)}" if n is not None else "")))


def _word_diff_text(old: str, new: str) -> tuple[Any, Any]:
    ta, tb = _text(), _text()
    for op, a, b in word_diff(old, new):
        ta.append(terminal(a), style=None if op == "equal" else "bold red")
        tb.append(terminal(b), style=None if op == "equal" else "bold green")
    return ta, tb


def _print_sentences(console: Any, result: DiffResult) -> None:
    if not result.abstract_recorded:
        console.print("Abstract not compared: a manifest of these versions records no abstract sentences.")
    if not result.sentences:
        return
    console.print(_text(("Abstract sentences changed", "bold")))
    for s in result.sentences:
        old, new = _word_diff_text(s.old or "", s.new or "")
        console.print(_text(f"  {s.section or 'Abstract'}"))
        console.print(_text("    A: ", ) + (old if s.old is not None else _text(("(added)", "italic"))))
        console.print(_text("    B: ", ) + (new if s.new is not None else _text(("(removed)", "italic"))))


def print_diff(result: DiffResult, console: Any = None) -> None:
    console = _console(console)
    console.print(_text(("A", "bold"), f" {result.a}  {short_id(result.manifest_a)}"))
    console.print(_text(("B", "bold"), f" {result.b}  {short_id(result.manifest_b)}"))
    if result.inputs:
        console.print(_text("Inputs that differ: " + ", ".join(f"{k} ({what})" for k, what in result.inputs)))
    console.print(f"ARD: {len(result.changed)} number(s) changed in {len({c.row_id for c in result.changed})} "
                  f"row(s), {len(result.added)} row(s) added, {len(result.removed)} removed, {result.unchanged} "
                  f"row(s) unchanged; {len(result.sentences)} abstract sentence(s) changed.", markup=False)
    _print_changes(console, result)
    _print_rows(console, "ARD rows added in B", result.added)
    _print_rows(console, "ARD rows removed in B", result.removed)
    _print_sentences(console, result)
    if result.identical:
        console.print(_text(("The two versions have the same ARD numbers and the same abstract.", "green")))

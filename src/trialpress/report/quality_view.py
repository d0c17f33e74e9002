"""The gate's results for people: a terminal table, and the failure folder the message names.

Every string that can come from the data (subject ids, values, variable names) is shown literally:
as `rich.text.Text` in the terminal (never parsed as console markup) and HTML-escaped in
quality.html.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trialpress.errors import QualityGateError



def _rows(report: Any, failed_only: bool) -> list[Any]:
    rows = [r for r in report.results if not (failed_only and r.success)]
    order = {"error": 0, "warning": 1}
    return sorted(rows, key=lambda r: (r.success, order.get(r.severity, 2)))


def _examples(r: Any) -> str:
    parts = []
    for e in r.examples:
        subj, val = e.get("subject"), e.get("value")
        shown = val if isinstance(val, str) and "=" in val else repr(val)
        if subj is not None and val is None:
            parts.append(str(subj))
        else:
            parts.append(f"{subj}: {shown}" if subj is not None else f"{shown}")
    more = r.failed - len(r.examples)
    if r.examples and more > 0 and any(e.get("subject") is not None for e in r.examples):
        parts.append(f"… {more} more")
    return "; ".join(parts)


def _dataset(r: Any, files: dict[str, str]) -> str:
    path = files.get(r.dataset)
    return f"{r.dataset}\n{Path(path).name}" if path else r.dataset


def _blocks(rows: list[Any], files: dict[str, str] | None = None) -> Any:
    """The failing checks as blocks that read in any terminal width (80 columns included): a heading line per
    check, then its first failing subjects and what to do, indented. Data strings are shown with control
    characters escaped, and never parsed as console markup."""
    from rich.console import Group
    from rich.padding import Padding
    from rich.text import Text

    from trialpress.report.escape import terminal

    parts = []
    for r in rows:
        head = Text(f"{r.severity.upper():<8}", style="bold red" if r.severity == "error" else "bold yellow")
        head.append(f"{_dataset(r, files or {}).replace(chr(10), ' ')}: ", style="bold")
        head.append(terminal(r.description))
        head.append(f" ({r.failed} row(s)) ", style="")
        head.append(f"[{terminal(r.id)}]", style="dim")
        lines = [head]
        if r.examples:
            lines.append(Padding(Text("first: ").append(terminal(_examples(r))), (0, 0, 0, 8)))
        if r.hint:
            lines.append(Padding(Text("what to do: ", style="bold").append(terminal(r.hint)), (0, 0, 0, 8)))
        parts.append(Group(*lines))
    return Group(*parts)


def print_gate_failure(exc: QualityGateError) -> None:
    from rich.console import Console
    from rich.text import Text

    from trialpress.report.escape import terminal

    report = exc.report
    console = Console(stderr=True, highlight=False)
    line = Text(f"{exc.title}: ", style="bold red")
    line.append(terminal(exc.message))
    console.print(line, soft_wrap=True)
    console.print(_blocks(_rows(report, failed_only=True), report.files))
    folder = getattr(exc, "folder", None)
    if folder:
        console.print(Text(f"Full report: {folder}/quality.json and {folder}/quality.html"), soft_wrap=True)
    unwritten = getattr(exc, "folder_error", None)
    if unwritten:
        console.print(Text(f"The full report could not be written: {terminal(unwritten)}", style="yellow"),
                      soft_wrap=True)
    console.print("Nothing was analyzed or rendered; earlier versions are untouched. Errors stop the run; a check "
                  "can be made a warning in the plan's quality: section by its id.", soft_wrap=True)


def print_gate_summary(report: Any) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(stderr=False, highlight=False)
    s = report.summary()
    console.print(f"Quality gate passed: {s['passed']}/{s['checks']} checks, {s['warnings']} warning(s).")
    for note in getattr(report, "reading", ()):
        console.print(Text(f"Read: {note}"), soft_wrap=True)
    if report.warnings:
        console.print(_blocks(_rows(report, failed_only=True), report.files))


def quality_html(report: Any, *, failed: bool) -> str:
    """The gate report as a self-contained HTML page (every data string escaped)."""
    from trialpress.report import escape

    h = escape.html_text
    rows = []
    for r in _rows(report, failed_only=False):
        status = "passed" if r.success else r.severity
        rows.append(
            f"<tr class='{h(status)}'><td>{h(status)}</td><td>{h(_dataset(r, report.files)).replace(chr(10), '<br>')}</td><td>{h(r.description)}"
            f"<br><code>{h(r.id)}</code></td><td>{h(r.failed)}</td><td>{h(_examples(r))}</td><td>{h(r.hint)}</td>"
            f"<td><code>{h(r.expectation)}</code></td></tr>")
    files = "".join(f"<li>{h(k)}: <code>{h(v)}</code></li>" for k, v in report.files.items())
    s = report.summary()
    verdict = ("The gate failed: nothing was analyzed or rendered." if failed
               else "The gate passed.")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Quality gate report</title><style>"
        "body{font-family:sans-serif;margin:2rem;max-width:80rem}table{border-collapse:collapse;font-size:.85rem}"
        "td,th{border-bottom:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}"
        "tr.error td{background:#fde8e8}tr.warning td{background:#fff6dd}code{font-size:.8rem}</style></head><body>"
        f"<h1>Quality gate report</h1><p>{h(s['checks'])} checks: {h(s['passed'])} passed, {h(s['errors'])} error(s), "
        f"{h(s['warnings'])} warning(s). {h(verdict)}</p><p>Data files:</p><ul>{files}</ul>"
        "<table><thead><tr><th>status</th><th>dataset</th><th>check</th><th>rows</th>"
        "<th>first failing subjects: values</th><th>what to do</th><th>expectation</th></tr></thead><tbody>"
        + "".join(rows) + "</tbody></table></body></html>\n")


def write_failure_folder(report: Any, folder: Path) -> Path:
    """quality.json (machine-readable) and quality.html (for people) of a failed gate."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "quality.json").write_text(report.to_json(), encoding="utf-8")
    (folder / "quality.html").write_text(quality_html(report, failed=True), encoding="utf-8")
    return folder

"""The gate's results for people: a terminal table, and the failure folder the message names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trialpress.errors import QualityGateError


def _rows(report: Any, failed_only: bool) -> list[Any]:
    return [r for r in report.results if not (failed_only and r.success)]


def _examples(r: Any) -> str:
    parts = []
    for e in r.examples:
        subj, val = e.get("subject"), e.get("value")
        parts.append(f"{subj}: {val!r}" if subj is not None else f"{val!r}")
    return "; ".join(parts)


def print_gate_failure(exc: QualityGateError) -> None:
    from rich.console import Console
    from rich.table import Table

    report = exc.report
    console = Console(stderr=True, highlight=False)
    console.print(f"[bold red]{exc.title}:[/bold red] {exc.message}", soft_wrap=True)
    table = Table(show_lines=False, header_style="bold")
    for col in ("dataset", "check", "severity", "rows", "first failing subjects: values", "what to do"):
        table.add_column(col, overflow="fold")
    for r in _rows(report, failed_only=True):
        table.add_row(r.dataset, r.description, r.severity, str(r.failed), _examples(r), r.hint)
    console.print(table)
    folder = getattr(exc, "folder", None)
    if folder:
        console.print(f"Full report: {folder}/quality.json and {folder}/quality.html", soft_wrap=True)
    console.print("Nothing was analysed or rendered; earlier versions are untouched.")


def print_gate_summary(report: Any) -> None:
    from rich.console import Console

    console = Console(stderr=False, highlight=False)
    s = report.summary()
    console.print(f"Quality gate passed: {s['passed']}/{s['checks']} checks, {s['warnings']} warning(s).")
    for r in report.warnings:
        console.print(f"  warning: {r.dataset}: {r.description} ({r.failed} rows) {_examples(r)}", soft_wrap=True)


def write_failure_folder(report: Any, folder: Path) -> Path:
    """quality.json (machine-readable) and quality.html (for people) of a failed gate."""
    from trialpress.report import escape

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "quality.json").write_text(report.to_json(), encoding="utf-8")
    rows = []
    for r in report.results:
        status = "passed" if r.success else r.severity
        rows.append("<tr class='{}'><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            escape.html_text(status), escape.html_text(r.dataset), escape.html_text(r.description),
            escape.html_text(status), r.failed, escape.html_text(_examples(r)), escape.html_text(r.hint)))
    s = report.summary()
    html = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Quality gate report</title><style>"
        "body{font-family:sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse;font-size:.85rem}"
        "td,th{border-bottom:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}"
        "tr.error td{background:#fde8e8}tr.warning td{background:#fff6dd}</style></head><body>"
        f"<h1>Quality gate report</h1><p>{s['checks']} checks: {s['passed']} passed, {s['errors']} error(s), "
        f"{s['warnings']} warning(s). Nothing was analysed or rendered.</p><table><thead><tr><th>status</th>"
        "<th>dataset</th><th>check</th><th>severity</th><th>rows</th><th>first failing subjects: values</th>"
        "<th>what to do</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></body></html>\n")
    (folder / "quality.html").write_text(html, encoding="utf-8")
    return folder

"""The appendix: quality checks run and their results, the inputs with their hashes, the software,
and (HTML only) the whole ARD, whose rows are the targets of every number's link."""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from trialpress.report import escape
from trialpress.report import formatting as fmt
from trialpress.report.context import ContextBuilder, raw_blocks
from trialpress.report.tables import Cell, Table, ard_anchor, label


@dataclass(frozen=True)
class Appendix:
    quality: Markup
    quality_summary: str
    inputs: Markup
    software: Markup
    ard_html: Markup
    ard_rows: int


def _result(r: Any) -> str:
    if r.success:
        return "passed"
    return r.severity


def _severity(r: Any) -> str:
    """The check's severity, and the default it had when the plan changed it."""
    default = getattr(r, "default_severity", "") or r.severity
    return r.severity if default == r.severity else f"{r.severity} (plan; default {default})"


def appendix_draft(cb: ContextBuilder, inputs: dict[str, dict[str, Any]], software: dict[str, str]) -> Appendix:
    """The appendix but the gate's checks (`with_checks` adds them): built while the gate still runs."""
    i_rows = tuple((label(key.split(":", 1)[0]), label(key.split(":", 1)[1]),
                    Cell(v["sha256"][:16], align="left"), Cell(f"{v['size']:,}", align="right"))
                   for key, v in inputs.items() if not key.startswith("engine:"))
    i_table = Table("table-inputs", ((label("Role"), label("File"), label("SHA-256 (first 16)"), Cell("Bytes")),),
                    i_rows, (0.8, 3.2, 1.6, 0.8))
    runtime = runtime_packages()
    shown = {k: v for k, v in software.items() if k in ("python", "trialpress") or _canonical(k) in runtime}
    s_table = Table("table-software", ((label("Package"), label("Version")),),
                    tuple((label(k), label(v)) for k, v in shown.items()), (2.0, 2.0))
    return Appendix(Markup(""), "", raw_blocks(i_table), raw_blocks(s_table), _ard_html(cb), len(cb.ard))


def with_checks(draft: Appendix, quality: list[Any]) -> Appendix:
    """The appendix with the table of the gate's checks and its summary sentence."""
    q_rows = tuple((label(r.dataset), label(r.description), label(getattr(r, "basis", "") or ""),
                    Cell(_severity(r)), Cell(_result(r)),
                    Cell(fmt.count(r.failed) if not r.success else "0"))
                   for r in sorted(quality, key=lambda r: r.success))
    q_table = Table("table-quality", ((label("Dataset"), label("Check"), label("Basis"), Cell("Severity"),
                                       Cell("Result"), Cell("Rows failing")),),
                    q_rows, (0.9, 3.6, 1.6, 1.0, 0.8, 0.7))
    failed = [r for r in quality if not r.success]
    changed = [r for r in quality if (getattr(r, "default_severity", "") or r.severity) != r.severity]
    summary = (f"{len(quality)} checks were run; {len(quality) - len(failed)} passed"
               + (f", {len(failed)} raised a warning (listed first)" if failed else "")
               + (f"; the plan changed the severity of {len(changed)}" if changed else "") + ".")
    return dataclasses.replace(draft, quality=raw_blocks(q_table), quality_summary=summary)


def _ard_html(cb: ContextBuilder) -> Markup:
    """Every ARD row as an anchored table row (HTML only; the PDF points to ard.csv)."""
    cols = ("id", "statistic", "value", "lower", "upper", "text", "n", "unit", "method", "note")
    head = "".join(f"<th>{c}</th>" for c in cols)
    rows = []
    for r in cb.ard:
        cells = [r.id, r.statistic, _num(r.value), _num(r.lower), _num(r.upper), r.text, _num(r.n), r.unit,
                 r.method, r.note]
        rows.append(f'<tr id="{escape.html_text(ard_anchor(r.id))}">'
                    + "".join(f"<td>{escape.html_text(c)}</td>" for c in cells) + "</tr>")
    body = (f'<details class="tp-ard"><summary>Analysis results dataset ({len(cb.ard)} rows)</summary>'
            f'<table class="tp-table tp-ard-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}'
            "</tbody></table></details>")
    fence = escape.fence_for(body)
    return Markup(f"{fence}{{=html}}\n{body}\n{fence}\n")


def _num(x: float) -> str:
    return "" if fmt.is_missing(x) else f"{x:.6g}"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.lru_cache(maxsize=1)
def runtime_packages() -> frozenset[str]:
    """The packages trialpress runs on: its own requirements and theirs, without the test extra (pytest,
    hypothesis, pypdf … are recorded in the manifest, not listed as software the report was made with)."""
    from importlib import metadata

    seen: set[str] = set()
    todo = ["trialpress"]
    while todo:
        name = todo.pop()
        try:
            reqs = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for req in reqs:
            if "extra ==" in req:
                continue
            dep = _canonical(re.split(r"[\s<>=!~;\[(]", req, maxsplit=1)[0])
            if dep and dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return frozenset(seen)

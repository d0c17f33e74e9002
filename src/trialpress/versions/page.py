"""The diff of two versions as a self-contained HTML page (every data string escaped)."""

from __future__ import annotations

import html
from pathlib import Path

from trialpress.errors import ArtefactError
from trialpress.versions.diff import NUMBER_FIELDS, DiffResult, fmt_change, fmt_number, num, row_label, word_diff
from trialpress.versions.listing import created_of

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:78rem;color:#1a1a1a;
line-height:1.4;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-size:.8rem}del{background:#fde2e2;text-decoration:line-through}ins{background:#dcf5dc;text-decoration:none}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}
p.none{color:#666;font-style:italic}
"""


def _word_diff_html(old: str, new: str) -> tuple[str, str]:
    ha, hb = [], []
    for op, a, b in word_diff(old, new):
        sa, sb = html.escape(a), html.escape(b)
        if op == "equal":
            ha.append(sa)
            hb.append(sb)
        else:
            ha.append(f"<del>{sa}</del>" if sa else "")
            hb.append(f"<ins>{sb}</ins>" if sb else "")
    return "".join(ha), "".join(hb)


def _none() -> str:
    return "<p class='none'>None.</p>"


def _head(result: DiffResult) -> list[str]:
    e = html.escape
    ma, mb = result.manifest_a, result.manifest_b
    parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
             f"<title>trialpress diff {e(str(ma.get('version')))} → {e(str(mb.get('version')))}</title>",
             f"<style>{_CSS}</style></head><body>",
             f"<h1>What changed between versions {e(str(ma.get('version')))} and {e(str(mb.get('version')))}</h1>",
             "<dl>"]
    for tag, folder, m in (("A", result.a, ma), ("B", result.b, mb)):
        parts.append(f"<dt>{tag}</dt><dd><code>{e(str(folder))}</code> — study {e(str(m.get('study')))}, data "
                     f"cut-off {e(str(m.get('data_cutoff', '?')))}, report date {e(str(m.get('report_date')))}, "
                     f"rendered {e(created_of(m))}</dd>")
    parts.append("</dl>")
    parts.append(f"<p>{len(result.changed)} number(s) changed in {len({c.row_id for c in result.changed})} ARD "
                 f"row(s); {len(result.added)} row(s) added; {len(result.removed)} removed; {result.unchanged} "
                 f"unchanged. {len(result.sentences)} abstract sentence(s) changed.</p>")
    return parts


def _sentences(result: DiffResult) -> list[str]:
    e = html.escape
    parts = ["<h2>Abstract sentences changed</h2>"]
    if not result.abstract_recorded:
        parts.append("<p class='none'>Not compared: a manifest of these versions records no abstract.</p>")
    if not result.sentences:
        return parts + ([_none()] if result.abstract_recorded else [])
    parts.append("<table><thead><tr><th>section</th><th>A</th><th>B</th></tr></thead><tbody>")
    for s in result.sentences:
        old, new = _word_diff_html(s.old or "", s.new or "")
        parts.append(f"<tr><td>{e(s.section)}</td><td>{old if s.old is not None else '<em>(added)</em>'}</td>"
                     f"<td>{new if s.new is not None else '<em>(removed)</em>'}</td></tr>")
    return parts + ["</tbody></table>"]


def _numbers(result: DiffResult) -> list[str]:
    e = html.escape
    parts = ["<h2>ARD numbers changed (A → B)</h2>"]
    if not result.changed:
        return parts + [_none()]
    parts.append("<table><thead><tr><th>ARD row id</th><th>what</th><th>field</th><th>A</th><th>B</th>"
                 "<th>change</th></tr></thead><tbody>")
    for c in result.changed:
        parts.append(f"<tr><td><code>{e(c.row_id)}</code></td><td>{e(c.label)}</td><td>{e(c.field)}</td>"
                     f"<td class='num'>{e(fmt_number(c.old, c.new))}</td>"
                     f"<td class='num'>{e(fmt_number(c.new, c.old))}</td>"
                     f"<td class='num'>{e(fmt_change(c))}</td></tr>")
    return parts + ["</tbody></table>"]


def _rows(result: DiffResult) -> list[str]:
    e = html.escape
    parts: list[str] = []
    for title, rows in (("ARD rows added in B", result.added), ("ARD rows removed in B", result.removed)):
        parts.append(f"<h2>{e(title)}</h2>")
        if not rows:
            parts.append(_none())
            continue
        parts.append("<table><thead><tr><th>ARD row id</th><th>what</th><th>value</th><th>lower</th><th>upper</th>"
                     "<th>n</th></tr></thead><tbody>")
        for r in rows:
            cells = "".join(f"<td class='num'>{e(fmt_number(num(r.get(f))))}</td>" for f in NUMBER_FIELDS)
            parts.append(f"<tr><td><code>{e(str(r['id']))}</code></td><td>{e(row_label(r))}</td>{cells}</tr>")
        parts.append("</tbody></table>")
    return parts


def diff_html(result: DiffResult) -> str:
    e = html.escape
    inputs = (["<ul>" + "".join(f"<li><code>{e(k)}</code>: {e(w)}</li>" for k, w in result.inputs) + "</ul>"]
              if result.inputs else [_none()])
    parts = [*_head(result), "<h2>Inputs that differ</h2>", *inputs, *_sentences(result), *_numbers(result),
             *_rows(result), "</body></html>\n"]
    return "\n".join(parts)


def write_diff_html(result: DiffResult, path: Path) -> Path:
    """Write the page (never into a version folder: versions are immutable)."""
    from trialpress.store.folders import refuse_inside_version
    from trialpress.store.staging import why

    refuse_inside_version(path.parent, None, "--html")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(diff_html(result), encoding="utf-8")
    except OSError as exc:
        raise ArtefactError(f"Cannot write {path}: {why(exc)}.", hint="Choose a writable path for --html.") from None
    return path

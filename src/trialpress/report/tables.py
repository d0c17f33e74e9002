"""One table model, two renderings (HTML and Typst) that look the same.

A `Table` is built once from formatted ARD values (by `context.py`); `as_html` and `as_typst`
turn it into raw blocks of the .qmd. Every string is escaped here, so a table is safe to embed
as it is. Cells may carry the ARD row id of their number: in HTML the number links to that row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from trialpress.report import escape

Align = Literal["left", "center", "right"]
BREAKABLE_ROWS = 25   # shorter tables never split across pages; longer ones split with the header repeated


@dataclass(frozen=True)
class Cell:
    text: str
    ref: str = ""          # ARD row id behind the number ('' for labels)
    colspan: int = 1
    align: Align = "center"
    bold: bool = False
    indent: int = 0


@dataclass(frozen=True)
class Caption:
    """'Table 2.' and its text: each rendering places it as its format does (HTML <caption>, a Typst figure
    caption listed in the list of tables, a Word caption paragraph with a SEQ field)."""

    label: str        # 'Table 2.'
    number: str       # '2'
    text: str         # 'Efficacy outcomes by treatment (full analysis set).'


@dataclass(frozen=True)
class Table:
    id: str                               # anchor, e.g. 'table-2'
    header: tuple[tuple[Cell, ...], ...]  # one or more header rows (spanning headers first)
    body: tuple[tuple[Cell, ...], ...]
    widths: tuple[float, ...] = field(default=())   # relative column widths ('' = auto)
    caption: Caption | None = None
    note: str = ""   # the note under the table: the PDF sets it inside the table (`as_typst`), others after it

    @property
    def ncols(self) -> int:
        return sum(c.colspan for c in self.header[-1])


def label(text: str, *, bold: bool = False, indent: int = 0, colspan: int = 1) -> Cell:
    return Cell(text, align="left", bold=bold, indent=indent, colspan=colspan)


def ard_anchor(ref: str) -> str:
    return "ard-" + ref


def as_html(table: Table) -> str:
    """The table in a box that scrolls sideways when the screen is narrower than the table."""
    parts = [f'<div class="tp-scroll"><table class="tp-table" id="{escape.html_text(table.id)}">']
    if table.caption is not None:
        parts.append(f'<caption><strong>{escape.html_text(table.caption.label)}</strong> '
                     f'{escape.html_text(table.caption.text)}</caption>')
    if table.widths:
        total = sum(table.widths)
        parts.append("<colgroup>" + "".join(f'<col style="width:{100 * w / total:.1f}%">' for w in table.widths)
                     + "</colgroup>")
    parts.append("<thead>")
    for i, row in enumerate(table.header):
        cls = ' class="tp-span"' if i < len(table.header) - 1 else ""
        parts.append(f"<tr{cls}>" + "".join(_html_cell(c, "th") for c in row) + "</tr>")
    parts.append("</thead><tbody>")
    for row in table.body:
        parts.append("<tr>" + "".join(_html_cell(c, "td") for c in row) + "</tr>")
    parts.append("</tbody></table></div>")
    return "".join(parts)


def _html_cell(c: Cell, tag: str) -> str:
    attrs = []
    if c.colspan > 1:
        attrs.append(f'colspan="{c.colspan}"')
    classes = [f"tp-{c.align}"]
    if c.bold:
        classes.append("tp-bold")
    if c.indent:
        classes.append(f"tp-indent{min(c.indent, 3)}")
    attrs.append(f'class="{" ".join(classes)}"')
    text = escape.html_text(c.text)
    if c.ref:
        text = f'<a class="ard" href="#{escape.html_text(ard_anchor(c.ref))}">{text}</a>'
    return f"<{tag} {' '.join(attrs)}>{text}</{tag}>"


def heading_rows(table: Table) -> list[int]:
    """The body rows that head a group: a bold label followed by an indented one (a system organ class before
    its terms, a section before its levels). A page break must not fall right after one."""
    body = table.body
    return [i for i in range(len(body) - 1)
            if body[i] and body[i][0].bold and body[i + 1] and body[i + 1][0].indent > body[i][0].indent]


def as_typst(table: Table) -> str:
    n = table.ncols
    cols = ", ".join(f"{w}fr" for w in table.widths) if table.widths else ", ".join(["auto"] * n)
    aligns = []
    first = table.body[0] if table.body else table.header[-1]
    for c in first:
        aligns.extend([c.align] * c.colspan)
    breakable = len(table.body) > BREAKABLE_ROWS
    # Typst has no keep-with-next for table rows: a first column of no width holds, beside each heading row,
    # one empty unbreakable cell spanning it and the row after, so that both land on the same page
    keep = set(heading_rows(table)) if breakable else set()
    if breakable and table.note.strip() and table.body:
        keep.add(len(table.body) - 1)   # the last row with the note: a note never opens a page alone
    if keep:
        cols = "0pt, " + cols
        aligns.insert(0, "left")
    lines = []
    if table.caption is not None:   # a figure of kind table: in the list of tables, and a target for links
        c = table.caption
        lines += [f"#block(breakable: {'true' if breakable else 'false'}, width: 100%)[",
                  "#figure(kind: table, supplement: none, numbering: none, outlined: true,",
                  f"  caption: figure.caption(position: top)[*{escape.typst(c.label)}* {escape.typst(c.text)}],",
                  ")["]
    lines += [
        f"#block(breakable: {'true' if breakable else 'false'}, width: 100%)[",
        "#set text(size: 8pt, hyphenate: false)",
        "#set par(justify: false)",
        "#table(",
        f"  columns: ({cols},),",
        "  stroke: none,",
        "  inset: (x: 3pt, y: 2.2pt),",
        f"  align: ({', '.join(_typst_align(a) for a in aligns)},),",
        "  table.hline(stroke: 0.8pt),",
        "  table.header(repeat: true,",
    ]
    for i, row in enumerate(table.header):
        lines.append("    " + ("[], " if keep else "") + ", ".join(_typst_cell(c, header=True) for c in row) + ",")
        if i < len(table.header) - 1:
            spans = []
            x = 1 if keep else 0
            for c in row:
                if c.text.strip():
                    spans.append(f"    table.hline(start: {x}, end: {x + c.colspan}, stroke: 0.4pt),")
                x += c.colspan
            lines.extend(spans)
    lines.append("    table.hline(stroke: 0.5pt),")
    lines.append("  ),")
    lines += _typst_body(table, keep)
    lines.append(")")
    lines.append("]")
    if table.caption is not None:
        lines.append(f"] <{table.id}>")
        lines.append("]")
    return "\n".join(lines)


def _typst_body(table: Table, keep: set[int]) -> list[str]:
    """The body rows; with `keep` (heading rows), each row opens with its cell of the hidden first column: an
    unbreakable one spanning a heading and the row after it, an empty one elsewhere."""
    lines = []
    covered = 0   # body rows still spanned by the hidden column's last cell
    note = table.note.strip()
    rows: list[tuple[Cell, ...] | None] = [*table.body, *([None] if note else [])]   # None: the note's row
    for i, row in enumerate(rows):
        lead = ""
        if keep and not covered:
            span = 1
            while i + span - 1 in keep:   # a heading whose next row heads a group too: one span for all
                span += 1
            lead = (f"table.cell(rowspan: {span}, breakable: false, inset: 0pt)[], " if span > 1
                    else "table.cell(inset: 0pt)[], ")
            covered = span
        covered -= 1 if covered else 0
        if row is None:
            lines.append("  table.hline(stroke: 0.8pt),")
            lines.append("  " + lead + _typst_note(note, table.ncols) + ",")
        else:
            lines.append("  " + lead + ", ".join(_typst_cell(c) for c in row) + ",")
    if not note:
        lines.append("  table.hline(stroke: 0.8pt),")
    return lines


def _typst_note(note: str, ncols: int) -> str:
    """The note as the table's last row, under its closing rule, set as the text around the table is (the
    body's 10pt serif, justified: 1.25 times the table's 8pt), where a paragraph after the table stood before:
    inside the table it can be tied to the last row. The .qmd hides the paragraph from Typst."""
    text = _SPACES.sub(" ", escape.typst_string(note))
    return (f"table.cell(colspan: {ncols}, align: left, inset: (x: 0pt, top: 9pt, bottom: 0pt))"
            f'[#set text(size: 1.25em, hyphenate: true); #set par(justify: true); #"{text}"]')


def _typst_align(a: str) -> str:
    return {"left": "left", "center": "center", "right": "right"}[a] + " + horizon"


def _typst_cell(c: Cell, header: bool = False) -> str:
    """A cell as a Typst code expression: the text is a string literal, never markup (so nothing in it is
    read as markup: no list marker, dash or quote shorthand), which Typst also lays out faster: the
    flagship's PDF, 1,260 table rows, set 0.07 s sooner (0.47 against 0.54 s). Runs of spaces are collapsed
    and the ends trimmed, as markup would."""
    text = _SPACES.sub(" ", escape.typst_string(c.text)).strip(" ")
    if not text:
        body = "[]"
    else:
        body = f'strong("{text}")' if c.bold or header else f'"{text}"'
        if c.indent:   # padded, not a leading space: a label that wraps keeps its indent on every line
            body = f"pad(left: {c.indent * 0.8}em, {body})"
    if c.colspan > 1:
        return f"table.cell(colspan: {c.colspan}, align: {_typst_align(c.align)}, {body})"
    return body


_SPACES = re.compile(" {2,}")


def as_text(table: Table) -> str:
    """Plain-text rendering for snapshot tests and the terminal."""
    rows = [*table.header, *table.body]
    return "\n".join(" | ".join(c.text for c in r) for r in rows)

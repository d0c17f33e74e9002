"""Table cells reach Typst as string literals, never as markup: text that markup would read as a list item,
a dash or quote shorthand, a heading, a function call or maths comes out of the PDF literally, bold and
indented cells keep their look, and runs of spaces collapse as they would in markup."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import typst_pdf

from trialpress.report.tables import Cell, Table, _typst_cell, as_typst, label

LITERAL = [
    "1. Item read as a numbered list in markup",
    "- a dash at the start",
    "+ a plus at the start",
    "= not a heading",
    "double -- and triple --- dashes",
    "ellipsis ... kept",
    "'single' and \"double\" quotes",
    "#read(\"/etc/passwd\") $x^2$ *bold* _under_ <label> @ref",
    "back\\slash and \\n",
    "brackets [x] {y} ~tilde",
]


def _pdf_text(tmp_path: Path, table: Table) -> str:
    from pypdf import PdfReader

    pdf = typst_pdf(tmp_path, '#set page(width: 30cm, height: auto)\n#set text(font: "DejaVu Sans")\n' + as_typst(table))
    return "\n".join(page.extract_text() for page in PdfReader(pdf).pages)


def test_cells_are_string_literals() -> None:
    assert _typst_cell(Cell("1. x")) == '"1. x"'
    assert _typst_cell(Cell('say "hi" \\ bye')) == '"say \\"hi\\" \\\\ bye"'
    assert _typst_cell(Cell("Head"), header=True) == 'strong("Head")'
    assert _typst_cell(label("Events, n (%)", indent=1)) == 'pad(left: 0.8em, "Events, n (%)")'
    assert _typst_cell(label("Overall", bold=True, indent=2)) == 'pad(left: 1.6em, strong("Overall"))'
    assert _typst_cell(Cell("  a   b  ")) == '"a b"'
    assert _typst_cell(Cell("")) == "[]" and _typst_cell(Cell("   "), header=True) == "[]"
    assert _typst_cell(Cell("x", colspan=2, align="left")) == 'table.cell(colspan: 2, align: left + horizon, "x")'


def test_text_comes_out_of_the_pdf_literally(tmp_path: Path) -> None:
    pytest.importorskip("typst")
    pytest.importorskip("pypdf")
    header = ((Cell(""), Cell("Spanning header", colspan=2)), (label("Term"), Cell("A"), Cell("B")))
    body = tuple((label(t, indent=i % 2), Cell(str(i)), Cell("x  y")) for i, t in enumerate(LITERAL))
    body += ((label("Bold row", bold=True), Cell("", colspan=2)),)
    text = _pdf_text(tmp_path, Table("table-t", header, body, (3.0, 1.0, 1.0)))
    flat = re.sub(r"\s+", " ", text)
    for t in LITERAL:
        assert re.sub(r"\s+", " ", t) in flat, t
    assert "Spanning header" in flat and "Bold row" in flat and "x y" in flat
    assert "–" not in flat and "—" not in flat and "…" not in flat   # no dash or ellipsis shorthand applied


def test_a_wrapped_indented_label_keeps_its_indent_on_every_line(tmp_path: Path) -> None:
    """A long coded value (race 'AMERICAN INDIAN OR ALASKA NATIVE') wraps in a narrow column: its second line
    starts where its first does, not at the margin, where it would read as a category of its own."""
    pytest.importorskip("typst")
    pytest.importorskip("pypdf")
    from pypdf import PdfReader

    header = ((label("Term"), Cell("A")),)
    body = ((label("Race, n (%)", bold=True), Cell("")),
            (label("AMERICAN INDIAN OR ALASKA NATIVE", indent=1), Cell("11 (8)")), (label("WHITE", indent=1), Cell("1")))
    pdf = typst_pdf(tmp_path, '#set page(width: 12cm, height: auto, margin: 1cm)\n#set text(font: "DejaVu Sans")\n'
                    + as_typst(Table("t", header, body, (1.0, 1.0))))
    x: dict[str, float] = {}

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip():
            x.setdefault(text.split()[0], cm[4] + tm[4])

    PdfReader(pdf).pages[0].extract_text(visitor_text=visit)
    assert x["AMERICAN"] > x["Race,"] + 3          # indented
    assert abs(x["NATIVE"] - x["AMERICAN"]) < 0.5   # the wrapped line too
    assert abs(x["WHITE"] - x["AMERICAN"]) < 0.5

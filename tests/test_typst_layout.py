"""The PDF's page breaks keep a table's caption with the table: wherever the text before it ends, the caption
("Table N. …", above the table) is on the page of the table's first rows, never alone at the foot of the
page before (the article template's caption block is sticky, as its headings are)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT, typst_pdf

from trialpress.report.tables import Caption, Cell, Table, as_typst, label

ARTICLE = ROOT / "templates" / "article" / "typst" / "article.typ"


def _pages(tmp_path: Path, space_cm: float) -> list[str]:
    from pypdf import PdfReader

    header = ((label("Term"), Cell("A"), Cell("B")),)
    body = tuple((label(f"Row {i} label"), Cell(str(i)), Cell(str(2 * i))) for i in range(40))
    table = Table("table-t", header, body, (3.0, 1.0, 1.0), Caption("Table 9.", "9", "Caption of the table."))
    pdf = typst_pdf(tmp_path, ARTICLE.read_text(encoding="utf-8")
                    + "\n#show: doc => article(title: [T], meta: (footer: [], fields: ()), doc)\n"
                    + f"#v({space_cm}cm)\nText before the table.\n\n" + as_typst(table) + "\n")
    return [page.extract_text() for page in PdfReader(pdf).pages]


def _page_of_the_text(pages: list[str]) -> int:
    return next(i for i, t in enumerate(pages) if "Text before the table." in t)


def test_a_table_caption_stays_with_its_table(tmp_path: Path) -> None:
    pytest.importorskip("typst")
    pytest.importorskip("pypdf")
    seen_break = False
    for step in range(45):     # the text before the table ends lower and lower on its page
        space = round(17.0 + 0.2 * step, 1)
        pages = _pages(tmp_path, space)
        # the caption itself, not its entry in the list of tables (which has leader dots)
        caption = next(i for i, t in enumerate(pages) if re.search(r"Caption of the table\.(?! \.)", t))
        first_row = next(i for i, t in enumerate(pages) if "Row 0 label" in t)
        assert caption == first_row, f"caption alone on page {caption + 1} ({space} cm of space above the text)"
        seen_break |= caption > _page_of_the_text(pages)
    assert seen_break   # the sweep reached the case where the table starts on the next page


def _grouped_pages(tmp_path: Path, space_cm: float) -> list[list[str]]:
    from pypdf import PdfReader

    header = ((label("Term"), Cell("A"), Cell("B")),)
    body = []
    for s in range(14):
        body.append((label(f"Heading {s}", bold=True), Cell(""), Cell("")))
        if s % 4 == 3:   # a heading right under a heading: both stay with the first row below them
            body.append((label(f"Subheading {s}", bold=True, indent=1), Cell(""), Cell("")))
        body += [(label(f"Item {s}.{j}", indent=2), Cell(f"{s}{j}"), Cell(f"{j}{s}")) for j in range(3)]
    table = Table("table-g", header, tuple(body), (3.0, 1.0, 1.0))
    pdf = typst_pdf(tmp_path, "#set page(width: 12cm, height: 11cm)\n#set text(font: \"DejaVu Sans\")\n"
                    + f"#v({space_cm}cm)\nText before the table.\n\n" + as_typst(table) + "\n")
    return [[ln for ln in page.extract_text().splitlines() if ln.strip()] for page in PdfReader(pdf).pages]


def test_a_group_heading_row_is_never_the_last_row_of_a_page(tmp_path: Path) -> None:
    """Typst has no keep-with-next for table rows; `as_typst` ties each heading row to the row after it, so
    a page never ends with a system organ class or section heading whose rows are all on the next page. The
    rows keep their cells: each item's two numbers stay on its line."""
    pytest.importorskip("typst")
    pytest.importorskip("pypdf")
    breaks = 0
    for step in range(30):
        pages = _grouped_pages(tmp_path, round(0.25 * step, 2))
        for lines in pages[:-1]:
            assert not re.match(r"(Sub)?[Hh]eading \d+$", lines[-1]), (step, lines[-3:])
        breaks += len(pages) - 1
        items = [ln for page in pages for ln in page if ln.startswith("Item")]
        assert len(items) == 14 * 3
        for ln in items:
            s, j = re.match(r"Item (\d+)\.(\d+)", ln).groups()
            assert ln.split()[-2:] == [f"{s}{j}", f"{j}{s}"], ln
    assert breaks >= 30   # the sweep broke the table across pages at many places


def test_a_table_note_never_opens_a_page_alone(tmp_path: Path) -> None:
    """The note under a table is the table's last row in the PDF, tied to the row above it: wherever the
    table ends, the note is on the page of its last row (as a paragraph after the table, it opened a page
    alone at 9.6 and 9.9 cm of space above in this sweep)."""
    pytest.importorskip("typst")
    pytest.importorskip("pypdf")
    from pypdf import PdfReader

    header = ((label("Term"), Cell("A"), Cell("B")),)
    body = tuple((label(f"Row {i} label"), Cell(str(i)), Cell(str(2 * i))) for i in range(40))
    table = Table("table-n", header, body, (3.0, 1.0, 1.0), Caption("Table 3.", "3", "Caption."),
                  note="The note of the table, with [brackets] and #hash.")
    later = 0
    for step in range(40):
        pdf = typst_pdf(tmp_path, ARTICLE.read_text(encoding="utf-8")
                        + "\n#show: doc => article(title: [T], meta: (footer: [], fields: ()), doc)\n"
                        + f"#v({0.3 * step}cm)\nText before.\n\n" + as_typst(table) + "\n")
        pages = [[ln for ln in p.extract_text().splitlines() if ln.strip()] for p in PdfReader(pdf).pages]
        note = [i for i, p in enumerate(pages) if any("with [brackets] and #hash." in ln for ln in p)]
        last_row = next(i for i, p in enumerate(pages) if any("Row 39 label" in ln for ln in p))
        assert note == [last_row], f"note on pages {note}, last row on {last_row} ({0.3 * step} cm above)"
        later += last_row > 0
    assert later > 10

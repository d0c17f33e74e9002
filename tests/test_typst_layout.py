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

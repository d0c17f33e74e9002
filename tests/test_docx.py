"""Word rendering: raw OpenXML tables, the reference document, and a hand-made .qmd read back with python-docx."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import unescape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

docx = pytest.importorskip("docx")

from trialpress.errors import RenderError  # noqa: E402
from trialpress.report.docx import (FIGURE_DPI, PAGE, SOURCE_DATE_EPOCH, as_openxml, figure_png,  # noqa: E402
                                    render_docx, xml_text)
from trialpress.report.tables import Cell, Table, label  # noqa: E402

from conftest import ROOT  # noqa: E402

TEMPLATES = ROOT / "templates" / "article"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W}
HOSTILE = "</w:t></w:r><w:r><w:t>x"
CONTROL = "bad\x01\x0b\x1fchar\ud800 & <b>"


def q(tag: str) -> str:
    return f"{{{W}}}{tag}"


def sample_table() -> Table:
    """Two header rows (a spanning one), indents, bold labels, hostile text, relative widths."""
    span = (Cell(""), Cell("Drug (N\u00a0=\u00a010)", colspan=2), Cell("Placebo (N\u00a0=\u00a012)", colspan=2))
    sub = (label("Preferred term"), Cell("Any grade"), Cell("Grade \u22653"), Cell("Any grade"), Cell("Grade \u22653"))
    body = (
        (label("Nervous system disorders", bold=True), Cell("5 (50)"), Cell("1 (10)"), Cell("4 (33)"), Cell("0 (0)")),
        (label("Headache", indent=1), Cell("3 (30)"), Cell("0 (0)"), Cell("2 (17)"), Cell("0 (0)")),
        (label(HOSTILE, indent=2), Cell(CONTROL), Cell("#read(\"/etc/passwd\")"), Cell("{{ 7*7 }}"), Cell("$x$")),
        (label("P value", indent=1), Cell(""), Cell(".012", colspan=3), Cell("")),
    )
    return Table("table-test", header=(span, sub), body=body, widths=(2.4, 1.0, 1.0, 1.0, 1.0))


def text_of(paragraph) -> str:
    """All the text of a paragraph, field results included (python-docx skips w:fldSimple)."""
    return "".join(t.text or "" for t in paragraph._p.iter(q("t")))


def parse(fragment: str) -> etree._Element:
    """The one w:tbl of a raw block body (it must be exactly one element)."""
    body = etree.fromstring(f'<w:body xmlns:w="{W}">{fragment}</w:body>')
    assert [c.tag for c in body] == [q("tbl")]
    return body[0]


# ------------------------------------------------------------------------------ as_openxml alone
def test_openxml_is_one_wellformed_table_with_grid_spans_and_header_rows() -> None:
    tbl = parse(as_openxml(sample_table()))
    grid = [int(g.get(q("w"))) for g in tbl.iter(q("gridCol"))]
    assert len(grid) == 5 and sum(grid) == PAGE.text_width
    assert grid[0] > 2 * grid[1]                      # 2.4 : 1
    rows = tbl.findall(".//w:tr", NS)
    assert len(rows) == 6
    headers = [r.find("w:trPr/w:tblHeader", NS) is not None for r in rows]
    assert headers == [True, True, False, False, False, False]
    spans = [int(s.get(q("val"))) for s in rows[0].iter(q("gridSpan"))]
    assert spans == [2, 2]
    assert tbl.find("w:tblPr/w:tblStyle", NS).get(q("val")) == "JournalTable"
    assert tbl.find("w:tblPr/w:tblLayout", NS).get(q("type")) == "fixed"
    # rule under the last header row (every cell) and under the spanning cells with text only
    first = rows[0].findall("w:tc", NS)
    assert first[0].find(".//w:tcBorders", NS) is None and first[1].find(".//w:tcBorders/w:bottom", NS) is not None
    assert all(tc.find(".//w:tcBorders/w:bottom", NS) is not None for tc in rows[1].findall("w:tc", NS))


def test_openxml_cells_alignment_indent_bold() -> None:
    tbl = parse(as_openxml(sample_table()))
    rows = tbl.findall(".//w:tr", NS)
    bold_label, indented = rows[2].find("w:tc", NS), rows[3].find("w:tc", NS)
    assert bold_label.find(".//w:rPr/w:b", NS) is not None
    assert indented.find(".//w:rPr/w:b", NS) is None
    assert indented.find(".//w:pPr/w:ind", NS).get(q("left")) == "142"
    assert rows[4].find("w:tc", NS).find(".//w:pPr/w:ind", NS).get(q("left")) == "284"
    assert indented.find(".//w:jc", NS).get(q("val")) == "left"
    assert rows[3].findall("w:tc", NS)[1].find(".//w:jc", NS).get(q("val")) == "center"
    # the header is bold whatever the cells say
    assert all(tc.find(".//w:rPr/w:b", NS) is not None for tc in rows[1].findall("w:tc", NS))


def test_openxml_long_table_keeps_each_heading_row_with_the_next() -> None:
    """A long table may break anywhere but right after a group's heading row (Word's keep-with-next on it)."""
    body = []
    for s in range(10):
        body.append((label(f"SOC {s}", bold=True), Cell(str(s))))
        body += [(label(f"PT {s}.{j}", indent=1), Cell(str(j))) for j in range(3)]
    tbl = parse(as_openxml(Table("t-long", ((label("Term"), Cell("n")),), tuple(body), (3.0, 1.0))))
    rows = tbl.findall(q("tr"))[1:]
    kept = [r.find(f".//{q('t')}").text for r in rows if r.find(f".//{q('keepNext')}") is not None]
    assert kept == [f"SOC {s}" for s in range(10)]


def test_openxml_hostile_text_stays_text() -> None:
    xml = as_openxml(sample_table())
    tbl = parse(xml)
    texts = [t.text for t in tbl.iter(q("t"))]
    assert HOSTILE in texts                                       # one text node, not new runs
    assert "bad\ufffd\ufffd\ufffdchar\ufffd & <b>" in texts       # invalid XML characters replaced
    assert len(tbl.findall(".//w:tr", NS)[4].findall("w:tc", NS)) == 5
    assert "\x01" not in xml and "<b>" not in xml


def test_openxml_without_widths_autofits_to_page_width() -> None:
    t = Table("t", header=((Cell("a"), Cell("b")),), body=((label("x"), Cell("1")),))
    tbl = parse(as_openxml(t))
    assert tbl.find("w:tblPr/w:tblLayout", NS).get(q("type")) == "autofit"
    assert tbl.find("w:tblPr/w:tblW", NS).get(q("type")) == "pct"
    assert tbl.find("w:tblPr/w:tblW", NS).get(q("w")) == "5000"     # 100 % of the text width


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_xml_text_any_string_is_wellformed_and_kept(s: str) -> None:
    t = Table("t", header=((Cell(s),),), body=((label(s, bold=True, indent=1),),))
    tbl = parse(as_openxml(t))                       # never raises: every string is safe
    texts = [x.text or "" for x in tbl.iter(q("t"))]
    expected = unescape(xml_text(s))
    assert texts == ([expected, expected] if s else [])


# ------------------------------------------------------------------------------ the full render
QMD = r"""---
title: "Trial \\<report\\> & co"
footer: "trialpress 0\\.1\\.0 \\| version abc123"
fields:
  - name: "Version"
    value: "abc123"
---

## Results

Some text with a *hostile* value \</w:t\>.

`#block(sticky: true)[`{=typst}**Table 1.** Adverse events.`]`{=typst}

```{=openxml}
TABLE
```

::: {.tp-note}
AE, adverse event.
:::

![**Figure 1.** A raster figure.](figures/plot.svg){#figure-1}

![**Figure 2A.** A vector-only figure.](figures/vector.svg){#figure-2a}
"""

SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="144pt" height="96pt" viewBox="0 0 144 96">'
       '<rect width="144" height="96" fill="#1f4e79"/></svg>')


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    folder = tmp_path_factory.mktemp("docx")
    (folder / "figures").mkdir()
    for stem in ("plot", "vector"):
        (folder / "figures" / f"{stem}.svg").write_text(SVG, encoding="utf-8")
    # the PNG the figure writer is asked to add: same stem, beside the SVG, 2 x 4/3 inches at 300 dpi
    Image.new("RGB", (2 * FIGURE_DPI, 4 * FIGURE_DPI // 3), "white").save(
        figure_png(folder / "figures" / "plot.svg"), dpi=(FIGURE_DPI, FIGURE_DPI))
    (folder / "report.qmd").write_text(QMD.replace("TABLE", as_openxml(sample_table())), encoding="utf-8")
    return render_docx(folder / "report.qmd", TEMPLATES)


@pytest.fixture(scope="module")
def document(rendered: Path):
    return docx.Document(str(rendered))


def test_render_writes_report_docx_beside_the_qmd(rendered: Path) -> None:
    assert rendered.name == "report.docx" and rendered.parent.joinpath("report.qmd").is_file()
    assert zipfile.is_zipfile(rendered)


def test_table_is_a_real_word_table(document) -> None:
    assert len(document.tables) == 1
    t = document.tables[0]
    assert len(t.rows) == 6 and len(t.columns) == 5
    assert t.style.name == "Journal Table"
    top = t.rows[0].cells
    assert top[1].text == "Drug (N\u00a0=\u00a010)" and top[1]._tc is top[2]._tc      # one cell spanning two
    assert top[3].text == "Placebo (N\u00a0=\u00a012)"
    assert [c.text for c in t.rows[1].cells] == ["Preferred term", "Any grade", "Grade \u22653", "Any grade",
                                                 "Grade \u22653"]
    assert [c.text for c in t.rows[3].cells] == ["Headache", "3 (30)", "0 (0)", "2 (17)", "0 (0)"]
    assert t.rows[2].cells[0].paragraphs[0].runs[0].bold
    assert t.rows[3].cells[0].paragraphs[0].paragraph_format.left_indent == docx.shared.Twips(142)
    assert t.rows[3].cells[1].paragraphs[0].alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.CENTER
    assert t.rows[5].cells[2].text == ".012" and t.rows[5].cells[2]._tc is t.rows[5].cells[4]._tc
    assert t.rows[3].cells[0].paragraphs[0].style.name == "Table Text"


def test_header_rows_repeat_on_each_page(document) -> None:
    flags = [tr.trPr is not None and tr.trPr.find(q("tblHeader")) is not None for tr in document.tables[0]._tbl.tr_lst]
    assert flags == [True, True, False, False, False, False]


def test_hostile_text_appears_literally(document, rendered: Path) -> None:
    cells = [c.text for row in document.tables[0].rows for c in row.cells]
    assert HOSTILE in cells
    assert "bad\ufffd\ufffd\ufffdchar\ufffd & <b>" in cells
    assert '#read("/etc/passwd")' in cells and "{{ 7*7 }}" in cells and "$x$" in cells
    body = "\n".join(p.text for p in document.paragraphs)
    assert "hostile value </w:t>." in body
    assert document.core_properties.title == "Trial <report> & co"
    with zipfile.ZipFile(rendered) as z:
        etree.fromstring(z.read("word/document.xml"))      # well-formed


def test_styles_captions_and_notes(document) -> None:
    names = {s.name for s in document.styles}
    assert {"Table Caption", "Image Caption", "Table Note", "Table Text", "Journal Table"} <= names
    by_text = {text_of(p): p.style.name for p in document.paragraphs}
    assert by_text["Table 1. Adverse events."] == "Table Caption"
    assert by_text["AE, adverse event."] == "Table Note"
    assert by_text["Figure 1. A raster figure."] == "Image Caption"
    assert document.paragraphs[0].style.name == "Title"
    assert any(p.style.name == "Date" and "Version: abc123" in p.text for p in document.paragraphs)
    headings = [p.text for p in document.paragraphs if p.style.name.lower().startswith("heading")]
    assert headings == ["Results"]


def test_caption_numbers_are_word_seq_fields(document) -> None:
    body = document.element.body
    instrs = [f.get(q("instr")) for f in body.iter(q("fldSimple"))]
    assert instrs == [" SEQ Table \\* ARABIC ", " SEQ Figure \\* ARABIC ", " SEQ Figure \\* ARABIC "]
    assert "".join(t.text for t in next(body.iter(q("fldSimple"))).iter(q("t"))) == "1"


def test_toc_and_footer_page_fields(document) -> None:
    instr = " ".join(t.text for t in document.element.body.iter(q("instrText")))
    assert "TOC" in instr
    footer = document.sections[0].footer._element
    fields = " ".join(t.text for t in footer.iter(q("instrText")))
    assert "PAGE" in fields and "NUMPAGES" in fields and "DOCPROPERTY footer" in fields
    assert "Page " in "".join(t.text or "" for t in footer.iter(q("t")))


def test_contents_and_lists_of_tables_and_figures_are_toc_fields_with_their_entries(document) -> None:
    """Word fills in the page numbers (the fields are dirty); readers that do not update fields still see
    every heading and caption, in document order, under its heading."""
    body = document.element.body
    instr = [t.text.strip() for t in body.iter(q("instrText"))]
    assert instr[:3] == ['TOC \\o "1-3" \\h \\z \\u', 'TOC \\h \\z \\c "Table"', 'TOC \\h \\z \\c "Figure"']
    assert all(f.get(q("dirty")) == "true" for f in body.iter(q("fldChar")) if f.get(q("fldCharType")) == "begin")
    texts = [p.text for p in document.paragraphs]
    start = texts.index("Contents")
    assert texts[start:start + 9] == ["Contents", "Results", "Tables", "Table 1. Adverse events.", "Figures",
                                      "Figure 1. A raster figure.", "Figure 2A. A vector-only figure.",
                                      "Results", "Some text with a hostile value </w:t>."]


def test_page_is_a4_portrait_with_the_pdf_margins(document) -> None:
    s = document.sections[0]
    assert (s.page_width, s.page_height) == (docx.shared.Twips(PAGE.width), docx.shared.Twips(PAGE.height))
    assert s.left_margin == docx.shared.Twips(PAGE.left) and s.bottom_margin == docx.shared.Twips(PAGE.bottom)


def test_figures_png_beside_svg_is_used_else_svg(document, rendered: Path) -> None:
    with zipfile.ZipFile(rendered) as z:
        media = sorted(n.rsplit(".", 1)[1] for n in z.namelist() if n.startswith("word/media/"))
    assert media == ["png", "svg"]
    shapes = document.inline_shapes
    assert len(shapes) == 2
    # size from the PNG's 300 dpi (pandoc truncates the 11811 px/m of the file to 299 dpi: +0.3 %)
    assert abs(shapes[0].width / docx.shared.Inches(2) - 1) < 0.01
    assert all(s.width <= docx.shared.Twips(PAGE.text_width) for s in shapes)


def test_custom_properties_and_fixed_dates(rendered: Path) -> None:
    with zipfile.ZipFile(rendered) as z:
        core = z.read("docProps/core.xml").decode()
        custom = z.read("docProps/custom.xml").decode()
        settings_xml = z.read("word/settings.xml").decode()
        assert {i.date_time for i in z.infolist()} == {(2000, 1, 1, 0, 0, 0)}
    assert core.count("2000-01-01T00:00:00Z") == 2
    assert "trialpress 0.1.0 | version abc123" in custom          # shown by the footer's DOCPROPERTY field
    assert SOURCE_DATE_EPOCH == 946684800
    assert 'w:name="compatibilityMode"' in settings_xml and 'w:val="15"' in settings_xml  # no compatibility mode


def test_two_renders_are_byte_identical(rendered: Path, tmp_path: Path) -> None:
    first = hashlib.sha256(rendered.read_bytes()).hexdigest()
    again = tmp_path / "again"
    shutil.copytree(rendered.parent, again)
    (again / "report.docx").unlink()
    second = render_docx(again / "report.qmd", TEMPLATES)
    assert hashlib.sha256(second.read_bytes()).hexdigest() == first
    assert hashlib.sha256(render_docx(again / "report.qmd", TEMPLATES).read_bytes()).hexdigest() == first


# ------------------------------------------------------------------------------ failures
def test_missing_reference_document_is_a_render_error(tmp_path: Path) -> None:
    (tmp_path / "report.qmd").write_text("# x\n", encoding="utf-8")
    with pytest.raises(RenderError, match="reference document"):
        render_docx(tmp_path / "report.qmd", tmp_path / "no-templates")


def test_pandoc_failure_is_a_render_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="pandoc failed"):
        render_docx(tmp_path / "missing.qmd", TEMPLATES)


# ------------------------------------------------------------------------------ reference document
def test_reference_document_is_up_to_date_and_reproducible() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "make_reference_docx.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_reference_document_styles() -> None:
    ref = docx.Document(str(TEMPLATES / "docx" / "reference.docx"))
    styles = {s.name: s for s in ref.styles}
    assert styles["Table Caption"].paragraph_format.keep_with_next
    assert styles["Heading 2"].paragraph_format.keep_with_next
    assert styles["Table Note"].font.size < styles["Normal"].font.size
    with zipfile.ZipFile(io.BytesIO((TEMPLATES / "docx" / "reference.docx").read_bytes())) as z:
        table_style = z.read("word/styles.xml").decode()
    assert 'w:styleId="JournalTable"' in table_style


# ------------------------------------------------------------------------------ the whole pipeline, Word only
def _raw_blocks(qmd: str, fmt: str) -> int:
    import re

    # a table's blocks, not the Typst lines that hide its note from the PDF (which has it inside the table)
    return len(re.findall(r"(?m)^`{3,}\{=" + fmt + r"\}\n(?!#if false \[$|\]$)", qmd))


@pytest.mark.slow
def test_a_word_render_of_the_flagship_has_every_report_table_as_a_word_table(tmp_path: Path) -> None:
    """Word's tables travel as OpenXML raw blocks, written only when Word is among the formats
    (`context.tables_for`): a Word render carries them, one per table, and the document has them all."""
    from conftest import FLAGSHIP
    from trialpress.pipeline import render

    folder = render(FLAGSHIP, report_root=tmp_path, formats=["docx"], report_date="2026-01-01").folder
    qmd = (folder / "report.qmd").read_text(encoding="utf-8")
    tables = _raw_blocks(qmd, "typst")
    assert tables >= 10 and _raw_blocks(qmd, "openxml") == tables == qmd.count("#table(")
    document = docx.Document(str(folder / "report.docx"))
    assert len(document.tables) == tables
    overview = next(t for t in document.tables if t.rows[0].cells[0].text == "Subjects with")
    assert overview.rows[1].cells[0].text == "Any TEAE"

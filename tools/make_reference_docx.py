"""Build templates/article/docx/reference.docx, the Word reference document, reproducibly.

Starts from pandoc's own default (`pandoc -o x.docx --print-default-data-file reference.docx`, from
the pinned pypandoc-binary) and sets with python-docx what the report needs: the article look of
the HTML and PDF (serif body, sans-serif headings, captions and tables), the journal table style,
"Table Text"/"Table Note" paragraph styles, A4 portrait with the PDF's margins and a footer with
the report's footer line (DOCPROPERTY footer) and "Page X of Y". pandoc uses only the styles,
page setup, header and footer of this file, never its text. Times New Roman and Arial stand in
for the PDF's Libertinus Serif and DejaVu Sans: every Word installation has them.

    .venv/bin/python tools/make_reference_docx.py            # (re)write the reference document
    .venv/bin/python tools/make_reference_docx.py --check    # exit 1 if the file is out of date

Same pandoc and python-docx versions → same bytes (fixed zip timestamps, stored entries, fixed
core properties).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pypandoc
from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Pt, RGBColor, Twips

from trialpress.report.docx import HEADER_RULE, PAGE, TABLE_STYLE, TABLE_TEXT_STYLE, as_openxml
from trialpress.report.tables import Cell, Table

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "templates" / "article" / "docx" / "reference.docx"
FIXED = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
ZIP_TIME = (2000, 1, 1, 0, 0, 0)

SERIF = "Times New Roman"
SANS = "Arial"
INK = RGBColor(0x1A, 0x1A, 0x1A)
MUTED = RGBColor(0x55, 0x55, 0x55)
LINK = RGBColor(0x1F, 0x4E, 0x79)


# ------------------------------------------------------------------------------------- helpers
def pandoc_default() -> bytes:
    proc = subprocess.run([pypandoc.get_pandoc_path(), "--print-default-data-file", "reference.docx"],
                          capture_output=True, check=True)
    return proc.stdout


def set_fonts(rpr_owner, name: str) -> None:
    """Explicit fonts for every script, without the theme fonts (which would win over them)."""
    rpr = rpr_owner.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in list(fonts.attrib):
        del fonts.attrib[attr]
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


def find_style(doc, name: str):
    """The style whose stored name is `name` (any case: pandoc writes 'Caption', Word 'caption')."""
    for st in doc.styles:
        if (st.element.name_val or "").lower() == name.lower():
            return st
    return None


def para_style(doc, name: str, *, base: str | None = None, font: str | None = None, size: float | None = None,
               bold: bool | None = None, italic: bool | None = None, color: RGBColor | None = None,
               before: float | None = None, after: float | None = None, keep_next: bool | None = None,
               align=None, line: float | None = None):
    st = find_style(doc, name)
    if st is None:
        st = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        st.quick_style = True
    if base is not None:
        st.base_style = find_style(doc, base)
    if font is not None:
        set_fonts(st.element, font)
    f = st.font
    if size is not None:
        f.size = Pt(size)
        rpr = st.element.get_or_add_rPr()
        cs = rpr.find(qn("w:szCs"))
        if cs is None:
            cs = OxmlElement("w:szCs")
            rpr.append(cs)
        cs.set(qn("w:val"), str(int(round(size * 2))))
    if bold is not None:
        f.bold = bold
    if italic is not None:
        f.italic = italic
    if color is not None:
        f.color.rgb = color
    pf = st.paragraph_format
    if before is not None:
        pf.space_before = Pt(before)
    if after is not None:
        pf.space_after = Pt(after)
    if keep_next is not None:
        pf.keep_with_next = keep_next
    if align is not None:
        pf.alignment = align
    if line is not None:
        pf.line_spacing = line
    return st


def el(tag: str, **attrs: str):
    e = OxmlElement(tag)
    for k, v in attrs.items():
        e.set(qn(f"w:{k}"), v)
    return e


def border(tag: str, sz: int | None) -> object:
    if sz is None:
        return el(tag, val="nil")
    return el(tag, val="single", sz=str(sz), space="0", color="000000")


def table_style_pr(top: int, bottom: int):
    tbl_pr = OxmlElement("w:tblPr")
    borders = OxmlElement("w:tblBorders")
    for tag, sz in (("w:top", top), ("w:left", None), ("w:bottom", bottom), ("w:right", None),
                    ("w:insideH", None), ("w:insideV", None)):
        borders.append(border(tag, sz))
    tbl_pr.append(borders)
    mar = OxmlElement("w:tblCellMar")
    for tag, w in (("w:top", 44), ("w:left", 60), ("w:bottom", 44), ("w:right", 60)):  # 2.2 pt / 3 pt
        mar.append(el(tag, w=str(w), type="dxa"))
    tbl_pr.append(mar)
    return tbl_pr


# the children of w:pPr that come after w:pBdr (ECMA-376 CT_PPrBase order)
PPR_AFTER_PBDR = ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
                  "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
                  "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
                  "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId",
                  "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")


def replace_child(parent, tag: str, new) -> None:
    old = parent.find(qn(tag))
    if old is not None:
        parent.replace(old, new)
    else:
        parent.append(new)


# ------------------------------------------------------------------------------------- styles
def style_document(doc) -> None:
    styles_el = doc.styles.element
    # document defaults: serif body, British English (the templates' spelling)
    rpr_default = styles_el.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = rpr_default.find(qn("w:rFonts"))
    for attr in list(fonts.attrib):
        del fonts.attrib[attr]
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), SERIF)
    lang = rpr_default.find(qn("w:lang"))
    lang.set(qn("w:val"), "en-GB")
    for tag, val in (("w:sz", "21"), ("w:szCs", "21")):
        rpr_default.find(qn(tag)).set(qn("w:val"), val)

    para_style(doc, "Normal", font=SERIF, size=10.5, color=INK)
    para_style(doc, "Body Text", before=0, after=6, line=1.1)
    para_style(doc, "First Paragraph", before=0, after=6)
    para_style(doc, "Compact", before=1, after=1)
    para_style(doc, "Block Text", size=10)

    # title block: like the PDF (bold sans title, italic subtitle, small sans fields line, rule)
    para_style(doc, "Title", font=SANS, size=15, bold=True, align=WD_ALIGN_PARAGRAPH.LEFT, before=0, after=4,
               keep_next=True)
    sub = para_style(doc, "Subtitle", base="Title", font=SERIF, size=11, bold=False, italic=True, after=6)
    for parent, tag in (("w:rPr", "w:spacing"), ("w:pPr", "w:numPr")):   # pandoc's letter-spacing, list level
        holder = sub.element.find(qn(parent))
        if holder is not None and holder.find(qn(tag)) is not None:
            holder.remove(holder.find(qn(tag)))
    para_style(doc, "Author", base="Title", font=SANS, size=9, bold=False, after=2)
    date = para_style(doc, "Date", base="Title", font=SANS, size=8, bold=False, color=MUTED, after=12)
    pbdr = OxmlElement("w:pBdr")
    pbdr.append(el("w:bottom", val="single", sz="5", space="6", color="000000"))   # the PDF's rule
    date.element.get_or_add_pPr().insert_element_before(pbdr, *PPR_AFTER_PBDR)

    sizes = {1: 13, 2: 11.5, 3: 10.5}
    for level in range(1, 10):
        st = para_style(doc, f"Heading {level}", font=SANS, size=sizes.get(level, 10.5), bold=True,
                        italic=level == 3, color=INK, keep_next=True, before=14 if level <= 2 else 10,
                        after=5 if level <= 2 else 4)
        st.paragraph_format.keep_together = True
    para_style(doc, "TOC Heading", font=SANS, size=13, bold=True, color=INK, before=0, after=8)

    # captions: numbered by the templates ("Table 1."), sans-serif, left aligned, kept with their object
    para_style(doc, "Caption", font=SANS, size=9, italic=False, before=0, after=4, color=INK,
               align=WD_ALIGN_PARAGRAPH.LEFT, line=1.0)
    para_style(doc, "Table Caption", base="Caption", keep_next=True, before=10, after=4)
    para_style(doc, "Image Caption", base="Caption", before=4, after=12)
    para_style(doc, "Figure", align=WD_ALIGN_PARAGRAPH.CENTER, before=10, after=0)
    para_style(doc, "Captioned Figure", base="Figure", keep_next=True)

    # table text and the note under each table (the .qmd's ::: {.tp-note} divs)
    tt = para_style(doc, "Table Text", base="Normal", font=SANS, size=8, before=0, after=0, line=1.0,
                    align=WD_ALIGN_PARAGRAPH.LEFT)
    assert tt.style_id == TABLE_TEXT_STYLE, tt.style_id
    para_style(doc, "Table Note", base="Normal", font=SANS, size=8, color=MUTED, before=2, after=12, line=1.0,
               align=WD_ALIGN_PARAGRAPH.LEFT)
    para_style(doc, "Footnote Text", base="Normal", font=SERIF, size=8.5, before=0, after=2, line=1.0)

    if find_style(doc, "Footer") is None:   # Word's built-in Footer: id 'Footer', name 'footer'
        st = doc.styles.add_style("Footer", WD_STYLE_TYPE.PARAGRAPH)
        st.element.set(qn("w:styleId"), "Footer")
        st.element.attrib.pop(qn("w:customStyle"), None)
    footer = para_style(doc, "Footer", base="Normal", font=SANS, size=7.5, color=MUTED, before=0, after=0,
                        line=1.0)
    footer.paragraph_format.tab_stops.add_tab_stop(Twips(PAGE.text_width), WD_TAB_ALIGNMENT.RIGHT)

    link = find_style(doc, "Hyperlink")
    link.font.color.rgb = LINK

    # journal table: top and bottom rule, no vertical lines; the rule under the header is set per
    # cell by as_openxml (a header can have several rows)
    jt = doc.styles.add_style("Journal Table", WD_STYLE_TYPE.TABLE)
    assert jt.style_id == TABLE_STYLE, jt.style_id
    jt.quick_style = True
    set_fonts(jt.element, SANS)
    jt.font.size = Pt(8)
    jt.element.append(table_style_pr(top=6, bottom=6))

    # pandoc's own tables ("Table"): the same rules, the first row is the header
    t = find_style(doc, "Table")
    tbl_pr = t.element.find(qn("w:tblPr"))
    for child in list(tbl_pr):
        if child.tag in (qn("w:tblBorders"), qn("w:tblCellMar")):
            tbl_pr.remove(child)
    new = table_style_pr(top=6, bottom=6)
    for child in list(new):
        tbl_pr.append(child)
    first = t.element.find(qn("w:tblStylePr"))
    borders = first.find(qn("w:tcPr")).find(qn("w:tcBorders"))
    replace_child(borders, "w:bottom", border("w:bottom", HEADER_RULE))


# ----------------------------------------------------------------------------------- page setup
def field_runs(paragraph, instr: str, placeholder: str, *, dirty: bool = False) -> None:
    """A complex field (begin / instruction / separate / shown result / end); a dirty field is
    updated by Word when the document opens."""
    def run_with(child):
        r = paragraph.add_run()
        r._r.append(child)
        return r

    run_with(el("w:fldChar", fldCharType="begin", **({"dirty": "true"} if dirty else {})))
    instr_el = OxmlElement("w:instrText")
    instr_el.set(qn("xml:space"), "preserve")
    instr_el.text = f" {instr} "
    run_with(instr_el)
    run_with(el("w:fldChar", fldCharType="separate"))
    paragraph.add_run(placeholder)
    run_with(el("w:fldChar", fldCharType="end"))


def page_setup(doc) -> None:
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Twips(PAGE.width), Twips(PAGE.height)
    sec.left_margin, sec.right_margin = Twips(PAGE.left), Twips(PAGE.right)
    sec.top_margin, sec.bottom_margin = Twips(PAGE.top), Twips(PAGE.bottom)
    sec.header_distance, sec.footer_distance = Twips(PAGE.header), Twips(PAGE.footer)
    sec.gutter = Twips(0)
    footer = sec.footer
    footer.is_linked_to_previous = False
    p = footer.paragraphs[0]
    p.style = find_style(doc, "Footer")
    # the report's footer line: pandoc writes the .qmd's `footer` metadata as a custom property
    field_runs(p, "DOCPROPERTY footer \\* MERGEFORMAT", "", dirty=True)
    p.add_run("\t")
    p.add_run("Page ")
    field_runs(p, "PAGE \\* ARABIC", "1")
    p.add_run(" of ")
    field_runs(p, "NUMPAGES \\* ARABIC", "1")


def settings(doc) -> None:
    """Word 2013+ layout (compatibility mode 15): no "Compatibility Mode" banner in Word; pandoc
    keeps w:compat from the reference document."""
    el_ = doc.settings.element
    if el_.find(qn("w:compat")) is None:
        compat = parse_xml(f'<w:compat {nsdecls("w")}><w:compatSetting w:name="compatibilityMode" '
                           'w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat>')
        el_.find(qn("w:rsids")).addprevious(compat)   # CT_Settings order: compat before docVars, rsids


# ------------------------------------------------------------------------------------- content
def sample_content(doc) -> None:
    """A short specimen of every style (pandoc ignores the text; it helps whoever edits the styles)."""
    body = doc.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    doc.add_paragraph("Report title", style="Title")
    doc.add_paragraph("Subtitle", style="Subtitle")
    doc.add_paragraph("Data cut-off: 2000-01-01\u2003Version: 000000000000", style="Date")
    doc.add_paragraph("Heading 2", style="Heading 2")
    doc.add_paragraph("First paragraph after a heading.", style="First Paragraph")
    doc.add_paragraph("Body text.", style="Body Text")
    doc.add_paragraph("Heading 3", style="Heading 3")
    doc.add_paragraph("Table 1. Table caption.", style="Table Caption")
    sample = Table("sample", header=((Cell(""), Cell("Group A (N = 10)"), Cell("Group B (N = 12)")),),
                   body=((Cell("Characteristic", align="left", bold=True), Cell(""), Cell("")),
                         (Cell("Level", align="left", indent=1), Cell("5 (50)"), Cell("6 (50)"))),
                   widths=(2.0, 1.0, 1.0))
    tbl = parse_xml(f'<w:body {nsdecls("w")}>{as_openxml(sample)}</w:body>')[0]
    body.find(qn("w:sectPr")).addprevious(tbl)
    doc.add_paragraph("Note under the table.", style="Table Note")
    doc.add_paragraph("Figure 1. Image caption.", style="Image Caption")


def core_properties(doc) -> None:
    cp = doc.core_properties
    cp.title = "trialpress reference document"
    cp.author = "trialpress"
    cp.last_modified_by = "trialpress"
    cp.created = FIXED.replace(tzinfo=None)
    cp.modified = FIXED.replace(tzinfo=None)
    cp.last_printed = FIXED.replace(tzinfo=None)
    cp.revision = 1
    cp.keywords = ""
    cp.comments = "Built by tools/make_reference_docx.py from pandoc's default reference.docx."


def deterministic_zip(data: bytes) -> bytes:
    """Same entries in the same order with a fixed timestamp, stored (no zlib-version dependence)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as dst:
        names = src.namelist()
        ordered = ["[Content_Types].xml"] + [n for n in names if n != "[Content_Types].xml"]
        for name in ordered:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            dst.writestr(info, src.read(name))
    return out.getvalue()


def build() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "default.docx"
        base.write_bytes(pandoc_default())
        doc = Document(str(base))
    style_document(doc)
    page_setup(doc)
    settings(doc)
    sample_content(doc)
    core_properties(doc)
    buf = io.BytesIO()
    doc.save(buf)
    return deterministic_zip(buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="compare with the file instead of writing it")
    args = ap.parse_args(argv)
    data = build()
    if args.check:
        same = args.out.is_file() and args.out.read_bytes() == data
        print(f"{args.out}: {'up to date' if same else 'OUT OF DATE (run tools/make_reference_docx.py)'}")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Word (DOCX) rendering of the report .qmd: pandoc's docx writer with a reference document.

This is what Quarto's docx format does (Quarto's docx is pandoc's docx writer), so this path is
used with or without Quarto. Three pieces:

- `as_openxml(table)`: the table as a raw OpenXML block (`{=openxml}`), a real Word table in the
  journal style of the HTML and PDF tables (the raw HTML and Typst blocks are dropped by pandoc's
  docx writer). Every text from data is XML-escaped; characters XML 1.0 does not allow are
  replaced by U+FFFD, so data can neither break the document nor inject markup.
- `render_docx(qmd, template_dir)`: pandoc → report.docx beside the .qmd, with
  `<template_dir>/docx/reference.docx` (styles, A4 page, footer with "Page X of Y") and a small
  Lua filter (`DOCX_FILTER`) that maps the format-neutral .qmd onto Word: `.tp-note` divs get the
  "Table Note" paragraph style, table captions (the paragraphs that open with the Typst
  `#block(sticky: true)[` marker) get "Table Caption", caption numbers become Word SEQ fields,
  the title block's `fields` become the "Date" line, SVG figures are swapped for the PNG of
  the same stem when one exists beside them (see `figure_png`), and the document opens with the
  contents and the lists of tables and figures: Word TOC fields (Word adds the page numbers when it
  opens the file) whose stored result already lists every heading and caption, so that LibreOffice
  and previewers, which do not update fields, show them too (pandoc's own `--toc` leaves the field
  empty until Word updates it).
- Deterministic bytes: pandoc reads SOURCE_DATE_EPOCH for the zip timestamps and the dates of
  docProps/core.xml; the same .qmd, figures and reference document give the same file.

Page geometry lives here (`PAGE`) so the tables and tools/make_reference_docx.py agree.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape as _xml_escape

from trialpress.errors import RenderError
from trialpress.report.tables import BREAKABLE_ROWS, Cell, Table, heading_rows

# 2000-01-01T00:00:00Z, the same fixed time as the PDF (engines.FIXED_TIME)
SOURCE_DATE_EPOCH = 946684800


@dataclass(frozen=True)
class PageGeometry:
    """A4 portrait with the PDF's margins, in twips (1/20 pt; 567 twips = 1 cm)."""

    width: int = 11906
    height: int = 16838
    left: int = 1247      # 2.2 cm
    right: int = 1247
    top: int = 1247
    bottom: int = 1361    # 2.4 cm
    header: int = 567     # distance of header/footer from the page edge: 1 cm
    footer: int = 567

    @property
    def text_width(self) -> int:
        return self.width - self.left - self.right


PAGE = PageGeometry()

# style ids of the reference document (tools/make_reference_docx.py creates them)
TABLE_STYLE = "JournalTable"        # "Journal Table": top and bottom rule, cell margins
TABLE_TEXT_STYLE = "TableText"      # "Table Text": paragraphs inside table cells
CAPTION_STYLE = "TableCaption"      # "Table Caption": the paragraph above a table
INDENT_TWIPS = 142                  # 0.25 cm per indent level of a label cell
HEADER_RULE = 4                     # rule under the header, eighths of a point (0.5 pt)
SPAN_RULE = 3                       # rule under a spanning header cell (0.375 pt)

# characters XML 1.0 allows (https://www.w3.org/TR/xml/#charsets); everything else becomes U+FFFD
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_WHITESPACE = re.compile("[\t\n\r]")


def xml_text(text: object) -> str:
    """Data text as the content of an XML element: escaped, one line, only XML 1.0 characters."""
    s = _WHITESPACE.sub(" ", str(text))
    s = _NOT_XML_CHAR.sub("\ufffd", s)
    return _xml_escape(s)


# ---------------------------------------------------------------------------------------- tables
def as_openxml(table: Table) -> str:
    """The table as the body of a pandoc raw block ```` ```{=openxml} ````: one `<w:tbl>` element.

    Header rows repeat on each page (`w:tblHeader`) and never split; tables of at most
    BREAKABLE_ROWS body rows are kept on one page (keep-with-next), as in the PDF. The width is
    the text width: with `Table.widths` the layout is fixed (columns in those proportions, text
    wraps), without them Word autofits the columns within the page width.
    """
    n = table.ncols
    fixed = _usable(table.widths, n)
    grid = _grid(table.widths if fixed else (), n)
    keep_all = len(table.body) <= BREAKABLE_ROWS
    look = ('<w:tblLook w:val="0600" w:firstRow="0" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" '
            'w:noHBand="1" w:noVBand="1"/>')
    lines = [
        '<w:tbl>',
        f'<w:tblPr><w:tblStyle w:val="{TABLE_STYLE}"/><w:tblW w:w="5000" w:type="pct"/><w:jc w:val="center"/>'
        f'<w:tblLayout w:type="{"fixed" if fixed else "autofit"}"/>{look}</w:tblPr>',
        "<w:tblGrid>" + "".join(f'<w:gridCol w:w="{w}"/>' for w in grid) + "</w:tblGrid>",
    ]
    last_header = len(table.header) - 1
    for i, row in enumerate(table.header):
        rule = HEADER_RULE if i == last_header else SPAN_RULE
        lines.append(_row(row, grid, fixed, header=True, keep=True, rule=rule, spanning=i < last_header))
    heads = set(heading_rows(table))   # a long table still keeps each group's heading row with its first row
    for i, row in enumerate(table.body):
        lines.append(_row(row, grid, fixed, header=False,
                          keep=(keep_all and i < len(table.body) - 1) or i in heads))
    lines.append("</w:tbl>")
    return "\n".join([*_caption(table), *lines])


def _caption(table: Table) -> list[str]:
    """The caption paragraph above the table: 'Table' + a SEQ field showing the template's number (so Word's
    table of figures lists it), bookmarked with the table's id so that links in the text lead to it."""
    c = table.caption
    if c is None:
        return []
    bold = "<w:rPr><w:b/><w:bCs/></w:rPr>"
    word, _, rest = c.label.partition(" ")
    number = rest.rstrip(".")
    mark = abs(hash_id(table.id)) % 10**6 + 1
    return [f'<w:p><w:pPr><w:pStyle w:val="{CAPTION_STYLE}"/><w:keepNext/></w:pPr>'
            f'<w:bookmarkStart w:id="{mark}" w:name="{xml_text(table.id)}"/>'
            f'<w:r>{bold}<w:t xml:space="preserve">{xml_text(word)} </w:t></w:r>'
            f'<w:fldSimple w:instr=" SEQ {xml_text(word)} \\* ARABIC "><w:r>{bold}<w:t>{xml_text(number)}</w:t></w:r>'
            f'</w:fldSimple><w:r>{bold}<w:t>.</w:t></w:r><w:bookmarkEnd w:id="{mark}"/>'
            f'<w:r><w:t xml:space="preserve"> {xml_text(c.text)}</w:t></w:r></w:p>']


def hash_id(text: str) -> int:
    """A stable small integer for a bookmark id (Python's hash() changes between runs)."""
    import zlib

    return zlib.crc32(text.encode("utf-8"))


def _usable(widths: tuple[float, ...], n: int) -> bool:
    return len(widths) == n and all(w > 0 for w in widths)


def _grid(widths: tuple[float, ...], n: int) -> list[int]:
    """Column widths in twips summing to the text width (equal columns without usable widths)."""
    total_twips = PAGE.text_width
    ws = list(widths) if _usable(widths, n) else [1.0] * n
    total = sum(ws)
    grid = [int(round(total_twips * w / total)) for w in ws]
    grid[-1] += total_twips - sum(grid)
    return grid


def _row(cells: tuple[Cell, ...], grid: list[int], fixed: bool, *, header: bool, keep: bool,
         rule: int = 0, spanning: bool = False) -> str:
    tr_pr = "<w:cantSplit/>" + ("<w:tblHeader/>" if header else "")
    parts = [f"<w:tr><w:trPr>{tr_pr}</w:trPr>"]
    col = 0
    padded = list(cells)
    used = sum(max(1, c.colspan) for c in cells)
    padded += [Cell("")] * max(0, len(grid) - used)
    for c in padded:
        span = max(1, min(c.colspan, len(grid) - col)) if col < len(grid) else 1
        width = sum(grid[col:col + span])
        col += span
        # a rule under every cell of the last header row; under the text cells of a spanning row
        border = rule and (not spanning or c.text.strip())
        parts.append(_cell(c, width, span, fixed, bold=header or c.bold, keep=keep,
                           bottom_rule=rule if border else 0))
    parts.append("</w:tr>")
    return "".join(parts)


def _cell(c: Cell, width: int, span: int, fixed: bool, *, bold: bool, keep: bool, bottom_rule: int) -> str:
    tc_w = f'<w:tcW w:w="{width}" w:type="dxa"/>' if fixed else '<w:tcW w:w="0" w:type="auto"/>'
    tc_pr = tc_w
    if span > 1:
        tc_pr += f'<w:gridSpan w:val="{span}"/>'
    if bottom_rule:
        tc_pr += (f'<w:tcBorders><w:bottom w:val="single" w:sz="{bottom_rule}" w:space="0" w:color="000000"/>'
                  '</w:tcBorders>')
    tc_pr += '<w:vAlign w:val="center"/>'
    p_pr = f'<w:pStyle w:val="{TABLE_TEXT_STYLE}"/>'
    if keep:
        p_pr += "<w:keepNext/>"
    if c.indent and c.align == "left":
        p_pr += f'<w:ind w:left="{INDENT_TWIPS * c.indent}"/>'
    p_pr += f'<w:jc w:val="{_JC[c.align]}"/>'
    run = ""
    if c.text:
        r_pr = "<w:rPr><w:b/><w:bCs/></w:rPr>" if bold else ""
        run = f'<w:r>{r_pr}<w:t xml:space="preserve">{xml_text(c.text)}</w:t></w:r>'
    return f"<w:tc><w:tcPr>{tc_pr}</w:tcPr><w:p><w:pPr>{p_pr}</w:pPr>{run}</w:p></w:tc>"


_JC = {"left": "left", "center": "center", "right": "right"}


def raw_block(table: Table) -> str:
    """The fenced raw block as it goes into the .qmd (HTML and Typst writers drop it)."""
    return f"```{{=openxml}}\n{as_openxml(table)}\n```\n"


# --------------------------------------------------------------------------------------- figures
FIGURE_DPI = 300


def figure_png(svg: Path) -> Path:
    """Where the Word rendering looks for the raster of an SVG figure: same stem, .png, beside it.

    pandoc's docx writer can only add the PNG fallback that Word needs for an SVG by calling
    rsvg-convert; without it the SVG goes in alone, which Word 2016+ shows but older Word,
    LibreOffice and most previewers do not. So the figure writer saves a PNG at FIGURE_DPI next
    to each SVG (with that dpi in the file, as matplotlib does, so the size on the page is the
    SVG's) and the Word rendering uses it; without a PNG the SVG is embedded as it is.
    """
    return svg.with_suffix(".png")


# ------------------------------------------------------------------------------------ the filter
DOCX_FILTER = r"""
-- trialpress: the format-neutral .qmd mapped onto Word (pandoc docx writer only)
local STICKY = "#block(sticky: true)["

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close(); return true end
  return false
end

local function xml(s)
  return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

-- 'Table 3.' or 'Figure 1B.' at the start of a caption: the number becomes a SEQ field whose
-- shown result is the template's number, so Word's table of figures and cross-references work
local function seq_field(label, number, repeat_previous)
  local switches = repeat_previous and " \\c" or ""
  return pandoc.RawInline("openxml",
    '<w:fldSimple w:instr=" SEQ ' .. label .. switches .. ' \\* ARABIC "><w:r><w:rPr><w:b/><w:bCs/></w:rPr>'
    .. '<w:t>' .. xml(number) .. '</w:t></w:r></w:fldSimple>')
end

local function number_caption(inlines)
  for i, el in ipairs(inlines) do
    if el.t == "Strong" then
      local text = pandoc.utils.stringify(el)
      local label, number, panel = text:match("^(%a+) (%d+)(%u?)%.$")
      if (label == "Table" or label == "Figure") and number then
        local repeat_previous = panel ~= "" and panel ~= "A"
        local out = pandoc.Inlines{}
        out:insert(pandoc.Strong{pandoc.Str(label), pandoc.Space()})
        out:insert(seq_field(label, number, repeat_previous))
        out:insert(pandoc.Strong{pandoc.Str(panel .. ".")})
        local result = pandoc.Inlines{}
        for j = 1, i - 1 do result:insert(inlines[j]) end
        result:extend(out)
        for j = i + 1, #inlines do result:insert(inlines[j]) end
        return result
      end
      return inlines
    elseif el.t ~= "RawInline" and el.t ~= "Space" then
      return inlines
    end
  end
  return inlines
end

-- the captions in document order, for the lists of tables and figures after the contents
local captions = {Table = {}, Figure = {}}

local function remember_text(label, text)
  text = text:gsub("^%s+", "")
  if text:match("^" .. label .. " %d+%u?%.") then table.insert(captions[label], text) end
end

local function remember(label, inlines)
  local kept = pandoc.Inlines{}
  for _, el in ipairs(inlines) do
    if el.t ~= "RawInline" then kept:insert(el) end
  end
  remember_text(label, pandoc.utils.stringify(kept))
end

local function unxml(s)
  return (s:gsub("&lt;", "<"):gsub("&gt;", ">"):gsub("&quot;", '"'):gsub("&apos;", "'"):gsub("&amp;", "&"))
end

-- a table written as raw OpenXML (as_openxml) opens with its caption paragraph: its text runs, in order
local CAPTION_OPEN = '<w:p><w:pPr><w:pStyle w:val="@CAPTION_STYLE@"/>'

function RawBlock(raw)
  if raw.format == "openxml" and raw.text:sub(1, #CAPTION_OPEN) == CAPTION_OPEN then
    local para = raw.text:match("^(.-)</w:p>") or ""
    local parts = {}
    for t in para:gmatch("<w:t[^>]*>(.-)</w:t>") do table.insert(parts, unxml(t)) end
    remember_text("Table", table.concat(parts))
  end
end

-- a list of tables or figures: Word's TOC field over the SEQ captions (\c), marked dirty so that Word
-- fills in page numbers on opening; its shown result is the list itself, so that readers which do not
-- update fields (LibreOffice, previewers, python-docx) show the entries too
-- the headings of levels 1-3, for the contents
local headings = {}

function Header(h)
  if h.level <= 3 then table.insert(headings, {level = h.level, text = pandoc.utils.stringify(h.content)}) end
end

-- a list made by a Word TOC field (`instr`), marked dirty so that Word fills in page numbers on opening; its
-- shown result is the list itself (`items`: text and indent level), so that readers which do not update
-- fields (LibreOffice, previewers, python-docx) show the entries too
local function field_list(title, instr, items)
  if #items == 0 then return {} end
  local function run(text) return '<w:r><w:t xml:space="preserve">' .. xml(text) .. '</w:t></w:r>' end
  local out = {pandoc.RawBlock("openxml", '<w:p><w:pPr><w:pStyle w:val="TOCHeading"/></w:pPr>' .. run(title) .. '</w:p>')}
  for i, item in ipairs(items) do
    local p = '<w:p><w:pPr><w:spacing w:before="0" w:after="40"/><w:ind w:left="' .. (item.level - 1) * 360
      .. '"/></w:pPr>'
    if i == 1 then
      p = p .. '<w:r><w:fldChar w:fldCharType="begin" w:dirty="true"/></w:r>'
        .. '<w:r><w:instrText xml:space="preserve"> ' .. xml(instr) .. ' </w:instrText></w:r>'
        .. '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
    end
    p = p .. run(item.text)
    if i == #items then p = p .. '<w:r><w:fldChar w:fldCharType="end"/></w:r>' end
    table.insert(out, pandoc.RawBlock("openxml", p .. '</w:p>'))
  end
  return out
end

local function caption_items(label)
  local items = {}
  for _, text in ipairs(captions[label]) do table.insert(items, {level = 1, text = text}) end
  return items
end

local function content_items()
  local top = 3
  for _, h in ipairs(headings) do top = math.min(top, h.level) end
  local items = {}
  for _, h in ipairs(headings) do table.insert(items, {level = h.level - top + 1, text = h.text}) end
  return items
end

local function is_caption(para)
  local first = para.content[1]
  return first ~= nil and first.t == "RawInline" and first.format == "typst"
    and first.text:sub(1, #STICKY) == STICKY
end

local function as_inlines(x)
  if type(x) == "string" then return pandoc.Inlines{pandoc.Str(x)} end
  local ok, t = pcall(pandoc.utils.type, x)
  if ok and t == "Inlines" then return x end
  return pandoc.Inlines{pandoc.Str(pandoc.utils.stringify(x))}
end

function Meta(meta)
  -- the title block's fields ('Data cut-off: ...  Version: ...') as the line under the subtitle
  if meta.fields and not meta.date then
    local line = pandoc.Inlines{}
    for i, f in ipairs(meta.fields) do
      if i > 1 then line:insert(pandoc.Str("\u{2003}")) end
      line:insert(pandoc.Strong(as_inlines(f.name) .. pandoc.Inlines{pandoc.Str(":")}))
      line:insert(pandoc.Space())
      line:extend(as_inlines(f.value))
    end
    meta.date = pandoc.MetaInlines(line)
  end
  meta.fields = nil
  return meta
end

function Image(img)
  if img.src:match("%.[sS][vV][gG]$") then
    local png = img.src:gsub("%.[sS][vV][gG]$", ".png")
    if exists(png) then img.src = png end
  end
  return img
end

function Figure(fig)
  local blocks = fig.caption.long
  if #blocks > 0 and (blocks[1].t == "Plain" or blocks[1].t == "Para") then
    remember("Figure", blocks[1].content)
    blocks[1].content = number_caption(blocks[1].content)
    fig.caption.long = blocks
  end
  return fig
end

function Para(para)
  if is_caption(para) then
    remember("Table", para.content)
    para.content = number_caption(para.content)
    return pandoc.Div({para}, pandoc.Attr("", {}, {["custom-style"] = "Table Caption"}))
  end
end

function Pandoc(doc)
  local front = {}
  for _, b in ipairs(field_list("Contents", 'TOC \\o "1-3" \\h \\z \\u', content_items())) do table.insert(front, b) end
  for _, b in ipairs(field_list("Tables", 'TOC \\h \\z \\c "Table"', caption_items("Table"))) do table.insert(front, b) end
  for _, b in ipairs(field_list("Figures", 'TOC \\h \\z \\c "Figure"', caption_items("Figure"))) do table.insert(front, b) end
  for i = #front, 1, -1 do table.insert(doc.blocks, 1, front[i]) end
  return doc
end

function Div(div)
  if div.classes:includes("tp-note") and not div.attributes["custom-style"] then
    div.attributes["custom-style"] = "Table Note"
    return div
  end
end
"""


# ------------------------------------------------------------------------------------ rendering
def reference_doc(template_dir: Path) -> Path:
    return template_dir / "docx" / "reference.docx"


def render_docx(qmd: Path, template_dir: Path, *, source_date_epoch: int = SOURCE_DATE_EPOCH) -> Path:
    """Render `qmd` (in its own folder, next to figures/) to report.docx beside it."""
    import pypandoc

    reference = reference_doc(template_dir)
    if not reference.is_file():
        raise RenderError(f"The template set has no Word reference document: {reference} is missing.",
                          hint="Build it with: python tools/make_reference_docx.py")
    out = qmd.with_suffix(".docx")
    with tempfile.TemporaryDirectory(prefix="trialpress-docx-") as tmp:
        lua = Path(tmp) / "trialpress-docx.lua"
        lua.write_text(DOCX_FILTER.replace("@CAPTION_STYLE@", CAPTION_STYLE), encoding="utf-8")
        args = [qmd.name, "-f", "markdown", "-t", "docx", f"--reference-doc={reference.resolve()}",
                f"--lua-filter={lua}",
                "-o", out.name]
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(int(source_date_epoch))}
        try:
            proc = subprocess.run([pypandoc.get_pandoc_path(), *args], cwd=qmd.parent, env=env,
                                  capture_output=True, text=True, check=False)
        except OSError as exc:
            raise RenderError(f"pandoc could not be started for the Word document: {exc}",
                              hint="Reinstall pypandoc-binary in this environment.") from None
    if proc.returncode != 0 or not out.is_file():
        raise RenderError(f"pandoc failed (-t docx, {qmd.name}): {proc.stderr.strip()[:2000]}",
                          hint="This is a template problem: check the template set named in the plan "
                               "and its docx/reference.docx.")
    return out

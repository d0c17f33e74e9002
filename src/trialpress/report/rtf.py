"""RTF table-and-figure package: one RTF file per numbered table or figure, plus an index.

This is the layout submission packages carry (one file per TLF, as in the R Consortium's FDA
pilot submission). Files are composed with rtflite; this module adds what rtflite leaves to
the caller or gets wrong for our use:

* Escaping. rtflite copies cell text into the RTF as it is: a backslash or a brace in data
  becomes RTF syntax, ``_``/``^`` become sub/superscript and ``>=`` becomes a symbol (its
  "text conversion"), and characters 128-255 are written raw although the file says ``\\ansi``.
  Here every data string goes through `rtf_escape` (``\\\\``, ``\\{``, ``\\}``, every non-ASCII
  character as ``\\uN?``) and rtflite's conversion is switched off, so the files are pure ASCII
  and an AE term like ``{\\rtf1 \\par}`` prints literally.
* Pagination. rtflite 2.6 looks up per-row attributes (bold, indent, alignment) by the row's
  index *within the page*, so from page 2 on rows take another row's formatting. Pages are
  therefore cut here (estimating wrapped lines with rtflite's own font metrics), each page is
  encoded by rtflite as a one-page document, and the pages are joined into one file. A group's
  heading row never ends a page, and the footnotes and source always sit on the last page.
* Page numbers are ``PAGE``/``NUMPAGES`` fields in the page header (Word computes them); the
  column-header rows are repeated on every page and also flagged ``\\trhdr``.

Output is deterministic: rtflite writes no ``\\info`` group, no dates and no generator; this
module adds none, and writes bytes, not text, so line endings never depend on the platform.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl
import rtflite
from rtflite.rtf import RTFSyntaxGenerator

from trialpress.report.tables import Cell, Table, heading_rows

__all__ = [
    "TLFFigure",
    "TLFTable",
    "figure_rtf",
    "file_name",
    "rtf_escape",
    "table_rtf",
    "write_package",
]


@dataclass(frozen=True)
class TLFTable:
    number: str                    # '14.1.1', '3'
    title: str                     # 'Overview of treatment-emergent adverse events'
    population: str                # 'Safety population'
    table: Table
    footnotes: tuple[str, ...]
    landscape: bool | None = None  # None: landscape when the table is wide


@dataclass(frozen=True)
class TLFFigure:
    number: str
    title: str
    population: str
    image: Path                    # a PNG, ideally 300 dpi at its print size
    footnotes: tuple[str, ...]
    landscape: bool | None = None  # None: the orientation that shows the image larger


# ----------------------------------------------------------------------------------- escaping

def rtf_escape(text: object) -> str:
    """Plain text as RTF text: pure ASCII, no control word or group can come from `text`."""
    out: list[str] = []
    for ch in str(text):
        o = ord(ch)
        if ch in "\\{}":
            out.append("\\" + ch)
        elif ch in "\r\n\t\f\v":
            out.append(" ")
        elif o < 32 or o == 127:
            continue                                   # other C0 controls: drop
        elif o < 128:
            out.append(ch)
        else:                                          # \uN with N a signed 16-bit UTF-16 unit
            units = ch.encode("utf-16-le")
            for i in range(0, len(units), 2):
                (u,) = struct.unpack("<H", units[i:i + 2])
                out.append(f"\\u{u - 65536 if u >= 32768 else u}?")
    return "".join(out)


def file_name(kind: str, number: str) -> str:
    """'t-14-1-1.rtf' for table 14.1.1: a slug of the kind and number only, never the title."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(number).lower()).strip("-")
    if not slug:
        raise ValueError(f"{kind} number {number!r} gives no file name")
    return f"{kind[0].lower()}-{slug}.rtf"


# ------------------------------------------------------------------------------- page layout

FONT = 1                      # rtflite font 1: Times New Roman (metric-compatible widths)
BODY_PT = 9
TITLE_PT = 12
INDENT_TWIPS = 180            # one Cell.indent level = 1/8 inch
_GAP_IN = 108 / 1440 * 2      # rtflite's \trgaph108 on both sides of a cell's text
LANDSCAPE_COLUMNS = 6         # more columns than this: landscape
_FILE_RE = re.compile(r"^[tf]-[a-z0-9][a-z0-9-]*\.rtf$")


@dataclass(frozen=True)
class _Layout:
    orientation: str
    col_width: float          # table width, inches (rtflite's default for the orientation)
    rows: int                 # line budget per page: headers, body, footnotes, source
    content_h: float          # inches between top and bottom margins


_PORTRAIT = _Layout("portrait", 8.5 - 2.25, 40, 11 - 1.75 - 1.25)
_LANDSCAPE = _Layout("landscape", 11 - 2.5, 24, 8.5 - 2 - 1.25)


def _page(layout: _Layout, *, border_last: str = "double") -> rtflite.RTFPage:
    return rtflite.RTFPage(orientation=layout.orientation, nrow=100_000, border_first="double",
                           border_last=border_last)


def _page_header(pages: int) -> rtflite.RTFPageHeader:
    # fields, so Word computes them; the \\fldrslt values only show in readers without fields
    text = ("Page {\\field{\\*\\fldinst PAGE }{\\fldrslt 1}} of "
            f"{{\\field{{\\*\\fldinst NUMPAGES }}{{\\fldrslt {int(pages)}}}}}")
    return rtflite.RTFPageHeader(text=text, text_font=[FONT], text_font_size=[BODY_PT], text_convert=[False])


def _note_indent(layout: _Layout) -> int:
    """Twips from the left margin to the text of the (centered) table's first column."""
    width, _, margin, _ = _page_geometry(layout)
    return round(((width - margin[0] - margin[1]) - layout.col_width) / 2 * 1440) + 108


@lru_cache(maxsize=65536)
def _width(text: str, bold: bool = False, size: float = BODY_PT) -> float:
    w = rtflite.get_string_width(text, font=FONT, font_size=size, unit="in")
    return w * 1.08 if bold else w


def _lines(text: str, width: float, *, bold: bool = False, size: float = BODY_PT) -> int:
    """Lines `text` takes in a column `width` inches wide (greedy wrap at spaces)."""
    if width <= 0.05:
        return max(1, len(text))
    n, line = 1, 0.0
    space = _width(" ", bold, size)
    for word in text.split(" "):
        w = _width(word, bold, size)
        if line and line + space + w > width:
            n, line = n + 1, 0.0
        if w > width:                       # a word longer than the column breaks anywhere
            extra = math.ceil(w / width) - 1
            n, line = n + extra, w - extra * width
        else:
            line = line + space + w if line else w
    return n


# ------------------------------------------------------------------------------ the table grid

class _RepeatedHeader(rtflite.RTFColumnHeader):
    """A column-header row flagged \\trhdr, so Word repeats it if it breaks a page itself."""

    def _encode(self, df, col_widths, row_offset: int = 0):  # type: ignore[no-untyped-def]
        rows = super()._encode(df, col_widths, row_offset)
        return [r.replace("\\trowd", "\\trowd\\trhdr", 1) if r.startswith("\\trowd") else r for r in rows]


_ALIGN = {"left": "l", "center": "c", "right": "r"}


@dataclass(frozen=True)
class _Grid:
    """A `Table` laid out on rtflite's fixed grid of `ncols` columns."""

    widths: tuple[float, ...]                              # inches, per grid column
    header: tuple[tuple[tuple[Cell, int], ...], ...]       # per header row: (cell, first column)
    body: tuple[tuple[Cell | None, ...], ...]              # per body row: a cell or None per column
    body_lines: tuple[int, ...]
    header_lines: int
    heads: frozenset[int] = frozenset()   # body rows that head a group (`tables.heading_rows`)


def _expand(row: Sequence[Cell], n: int, where: str) -> list[tuple[Cell, int]]:
    out, x = [], 0
    for c in row:
        if c.colspan < 1:
            raise ValueError(f"{where}: colspan {c.colspan} < 1")
        out.append((c, x))
        x += c.colspan
    if x != n:
        raise ValueError(f"{where}: the cells span {x} columns, the table has {n}")
    return out


def _grid(table: Table, layout: _Layout) -> _Grid:
    if not table.header:
        raise ValueError(f"table {table.id!r} has no header row")
    n = table.ncols
    rel = table.widths if len(table.widths) == n and all(w > 0 for w in table.widths) else \
        ((2.5,) + (1.0,) * (n - 1) if n > 1 else (1.0,))
    total = sum(rel)
    widths = tuple(layout.col_width * w / total for w in rel)

    header = tuple(tuple(_expand(r, n, f"table {table.id!r} header row {i + 1}"))
                   for i, r in enumerate(table.header))
    header_lines = 0
    for row in header:
        header_lines += max(_lines(c.text, sum(widths[x:x + c.colspan]) - _GAP_IN, bold=c.bold)
                            for c, x in row)

    body: list[tuple[Cell | None, ...]] = []
    body_lines: list[int] = []
    for i, r in enumerate(table.body):
        slots: list[Cell | None] = [None] * n
        lines = 1
        for c, x in _expand(r, n, f"table {table.id!r} body row {i + 1}"):
            slots[x] = c                 # a spanned cell's text sits in its first column
            avail = widths[x] - _GAP_IN - c.indent * INDENT_TWIPS / 1440
            lines = max(lines, _lines(c.text, avail, bold=c.bold))
        body.append(tuple(slots))
        body_lines.append(lines)
    return _Grid(widths, header, tuple(body), tuple(body_lines), header_lines, frozenset(heading_rows(table)))


def _is_wide(table: Table) -> bool:
    """Landscape when there are many columns, or the data columns cannot fit in portrait."""
    if table.ncols > LANDSCAPE_COLUMNS:
        return True
    need = [0.0] * table.ncols
    for row in table.body:
        x = 0
        for c in row:
            if c.colspan == 1 and x > 0:          # numbers and short labels should not wrap
                need[x] = max(need[x], _width(c.text, c.bold) + _GAP_IN)
            x += c.colspan
    if table.ncols > 1:
        need[0] = max(need[0], 1.75)              # the label column may wrap, down to 1.75 in
    return sum(need) > _PORTRAIT.col_width


def _column_header(row: tuple[tuple[Cell, int], ...], grid: _Grid, *, first: bool, last: bool
                   ) -> rtflite.RTFColumnHeader:
    n = len(row)
    return _RepeatedHeader(
        text=[rtf_escape(c.text) for c, _ in row],
        col_rel_width=[sum(grid.widths[x:x + c.colspan]) for c, x in row],
        text_justification=[_ALIGN[c.align] for c, _ in row],
        text_format=["b" if c.bold else "" for c, _ in row],
        text_indent_left=[max(0, c.indent) * INDENT_TWIPS for c, _ in row],
        text_font=[FONT] * n,
        text_font_size=[BODY_PT] * n,
        text_convert=[False] * n,
        border_left=[""] * n,
        border_right=[""] * n,
        border_top=["double" if first else ""] * n,
        # a spanning row underlines the cells that span something
        border_bottom=["" if last or not c.text.strip() else "single" for c, _ in row],
        cell_vertical_justification=["bottom"] * n,
    )


def _body(rows: Sequence[tuple[Cell | None, ...]], grid: _Grid) -> tuple[pl.DataFrame, rtflite.RTFBody]:
    n = len(grid.widths)
    cols = [f"c{j}" for j in range(n)]
    data = {col: [rtf_escape(r[j].text) if r[j] is not None else "" for r in rows]
            for j, col in enumerate(cols)}
    df = pl.DataFrame(data, schema={c: pl.String for c in cols})
    if not rows:
        return df, rtflite.RTFBody(col_rel_width=list(grid.widths), text_convert=[[False]],
                                   border_left=[[""]], border_right=[[""]])

    def attr(f, empty):  # type: ignore[no-untyped-def]
        return [[f(c) if c is not None else empty for c in r] for r in rows]

    body = rtflite.RTFBody(
        col_rel_width=list(grid.widths),
        text_justification=attr(lambda c: _ALIGN[c.align], "c"),
        text_format=attr(lambda c: "b" if c.bold else "", ""),
        text_indent_left=attr(lambda c: max(0, c.indent) * INDENT_TWIPS, 0),
        text_font=[[FONT]],
        text_font_size=[[BODY_PT]],
        text_convert=[[False]],
        border_left=[[""]],
        border_right=[[""]],
        border_top=[[""]],
        border_bottom=[[""]],
        border_first=[["single"]],
        border_last=[["single"]],
        cell_vertical_justification=[["top"]],
    )
    return df, body


def _paginate(grid: _Grid, layout: _Layout, tail_lines: int) -> list[range]:
    """Cut the body into pages of at most `layout.rows` lines (column headers included);
    the last page also holds `tail_lines` (footnotes, source). A group's heading row (`grid.heads`, as the
    PDF and Word keep it) never ends a page: it moves to the next one with the rows it heads."""
    lines = grid.body_lines
    budget = max(1, layout.rows - grid.header_lines)
    pages: list[list[int]] = [[]]
    used = 0
    for i in range(len(grid.body)):
        if pages[-1] and used + lines[i] > budget:
            moved: list[int] = []
            while len(pages[-1]) > 1 and pages[-1][-1] in grid.heads:
                moved.insert(0, pages[-1].pop())
            pages.append(moved)
            used = sum(lines[j] for j in moved)
        pages[-1].append(i)
        used += lines[i]
    # the footnotes and source go on the last page: if they do not fit, its last rows move on
    last = pages[-1]
    carry: list[int] = []
    while len(last) > 1 and sum(lines[i] for i in last) + tail_lines > budget:
        carry.insert(0, last.pop())
    while carry and len(last) > 1 and last[-1] in grid.heads:
        carry.insert(0, last.pop())
    if carry:
        pages.append(carry)
    return [range(pg[0], pg[-1] + 1) if pg else range(0) for pg in pages]



def _heading(kind: str, number: str, title: str) -> str:
    number = str(number).strip()
    sep = " " if number.endswith(".") else ". "
    return f"{kind} {number}{sep}{title}".rstrip() if title else f"{kind} {number}"


def _title(lines: Sequence[str]) -> rtflite.RTFTitle:
    lines = [ln for ln in lines if ln.strip()]
    return rtflite.RTFTitle(text=[rtf_escape(ln) for ln in lines], text_convert=[False] * len(lines),
                            text_font_size=[TITLE_PT] * len(lines))


def _notes(footnotes: Sequence[str], source: str, layout: _Layout
           ) -> tuple[rtflite.RTFFootnote | None, rtflite.RTFSource | None]:
    """Footnotes and source as paragraphs under the table, aligned with its first column."""
    style = {"as_table": False, "text_convert": [[False]], "text_justification": [["l"]],
             "text_font": [[FONT]], "text_font_size": [[BODY_PT]],
             "text_indent_left": [[_note_indent(layout)]], "text_indent_right": [[_note_indent(layout)]]}
    fn = [rtf_escape(f) for f in footnotes if str(f).strip()]
    foot = rtflite.RTFFootnote(text=fn, **style) if fn else None
    src = rtflite.RTFSource(text=[rtf_escape(source)], **style) if source.strip() else None
    return foot, src


def _tail_lines(footnotes: Sequence[str], source: str, layout: _Layout) -> int:
    texts = [f for f in footnotes if str(f).strip()] + ([source] if source.strip() else [])
    return sum(_lines(str(t), layout.col_width) for t in texts)


def _join_pages(docs: Sequence[rtflite.RTFDocument], layout: _Layout) -> str:
    """One RTF file from one-page rtflite documents that share fonts, header and page setup."""
    settings = RTFSyntaxGenerator.generate_page_settings(*_page_geometry(layout))
    prologue, bodies = None, []
    for doc in docs:
        text = doc.rtf_encode()
        cut = text.find(settings)
        if cut < 0 or not text.rstrip().endswith("}"):
            raise RuntimeError("unexpected rtflite output (page settings or closing brace not found)")
        cut += len(settings)
        head, body = text[:cut], text[cut:].rstrip()[:-1]
        if prologue is None:
            prologue = head
        elif head != prologue:
            raise RuntimeError("rtflite pages of one table differ in their document prologue")
        bodies.append(body.strip("\n"))
    assert prologue is not None
    page_break = "\n{\\pard\\fs2\\par}\\page{\\pard\\fs2\\par}\n"
    return prologue + "\n" + page_break.join(bodies) + "\n}\n"


def _page_geometry(layout: _Layout) -> tuple[float, float, Sequence[float], str]:
    p = rtflite.RTFPage(orientation=layout.orientation)
    assert p.width is not None and p.height is not None and p.margin is not None
    return p.width, p.height, p.margin, layout.orientation


def _table_document(heading: Sequence[str], table: Table, footnotes: Sequence[str], source: str,
                    landscape: bool) -> str:
    layout = _LANDSCAPE if landscape else _PORTRAIT
    grid = _grid(table, layout)
    pages = _paginate(grid, layout, _tail_lines(footnotes, source, layout))
    foot, src = _notes(footnotes, source, layout)
    headers = [_column_header(r, grid, first=i == 0, last=i == len(grid.header) - 1)
               for i, r in enumerate(grid.header)]
    docs = []
    for p, rows in enumerate(pages):
        last = p == len(pages) - 1
        df, body = _body([grid.body[i] for i in rows], grid)
        docs.append(rtflite.RTFDocument(
            df=df,
            rtf_page=_page(layout, border_last="double" if last else "single"),
            rtf_page_header=_page_header(len(pages)),
            rtf_title=_title(heading),
            rtf_column_header=[h.model_copy(deep=True) for h in headers],
            rtf_body=body,
            rtf_footnote=foot if last else None,
            rtf_source=src if last else None,
        ))
    return _join_pages(docs, layout)


def table_rtf(item: TLFTable, source: str) -> str:
    """The RTF of one table (pure ASCII)."""
    landscape = _is_wide(item.table) if item.landscape is None else item.landscape
    return _table_document([_heading("Table", item.number, item.title), item.population],
                           item.table, item.footnotes, source, landscape)


# ------------------------------------------------------------------------------------ figures

def _png_info(path: Path) -> tuple[int, int, float | None]:
    """Pixel width and height and dpi (None when the PNG does not say) of a PNG file."""
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError(f"{path}: not a PNG file")
    w, h = struct.unpack(">II", data[16:24])
    dpi = None
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        if kind == b"pHYs" and length == 9:
            px, py, unit = struct.unpack(">IIB", data[pos + 8:pos + 17])
            if unit == 1 and px > 0 and px == py:
                dpi = px * 0.0254
            break
        if kind in (b"IDAT", b"IEND"):
            break
        pos += 12 + length
    return w, h, dpi


def _figure_box(layout: _Layout, tail: int) -> tuple[float, float]:
    title_h = 2 * TITLE_PT / 72 + 4 * 180 / 1440           # two title lines and their spacing
    return layout.col_width, max(1.5, layout.content_h - title_h - (tail + 1) * 0.19)


def _figure_size(w_px: int, h_px: int, dpi: float | None, box: tuple[float, float]) -> tuple[float, float]:
    """Display size in inches: the print size the PNG states, shrunk to fit `box` (a PNG
    without a dpi fills the box)."""
    w, h = (w_px / dpi, h_px / dpi) if dpi else (box[0], box[0] * h_px / w_px)
    scale = min(box[0] / w, box[1] / h)
    if dpi:
        scale = min(1.0, scale)
    return round(w * scale, 3), round(h * scale, 3)


def figure_rtf(item: TLFFigure, source: str) -> str:
    """The RTF of one figure: the PNG embedded at its print size (shrunk to fit the page)."""
    w_px, h_px, dpi = _png_info(item.image)
    sizes = {}
    for layout in (_PORTRAIT, _LANDSCAPE):
        tail = _tail_lines(item.footnotes, source, layout)
        sizes[layout.orientation] = _figure_size(w_px, h_px, dpi, _figure_box(layout, tail))
    if item.landscape is None:
        landscape = sizes["landscape"][0] > sizes["portrait"][0] * 1.05
    else:
        landscape = item.landscape
    layout = _LANDSCAPE if landscape else _PORTRAIT
    fw, fh = sizes[layout.orientation]
    foot, src = _notes(item.footnotes, source, layout)
    doc = rtflite.RTFDocument(
        rtf_page=_page(layout),
        rtf_page_header=_page_header(1),
        rtf_title=_title([_heading("Figure", item.number, item.title), item.population]),
        rtf_figure=rtflite.RTFFigure(figures=[Path(item.image)], fig_width=fw, fig_height=fh),
        rtf_footnote=foot,
        rtf_source=src,
    )
    return doc.rtf_encode().rstrip() + "\n"


# ------------------------------------------------------------------------------------ package

def _index_table(entries: Sequence[tuple[str, str, str, str]]) -> Table:
    head = (Cell("Number", align="left"), Cell("Title", align="left"), Cell("Population", align="left"),
            Cell("File", align="left"))
    body = tuple(tuple(Cell(t, align="left") for t in e) for e in entries)
    return Table("tlf-index", (head,), body, (1.1, 3.2, 1.6, 1.1))


def _write(path: Path, text: str) -> None:
    data = text.encode("ascii")          # escaped RTF is ASCII; anything else is a bug here
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def write_package(items: Sequence[TLFTable | TLFFigure], folder: Path, *, source: str) -> list[Path]:
    """Write one RTF per item (`t-<number>.rtf`, `f-<number>.rtf`), `index.rtf` and `index.txt`
    into `folder`; returns the item files in order, then the two index files.

    `source` is printed under every table and figure. RTF files in `folder` named like an item
    file that this call did not write (a table dropped since the last run) are removed, so the
    folder always matches its index.
    """
    folder = Path(folder)
    rendered: list[tuple[str, str]] = []
    entries: list[tuple[str, str, str, str]] = []
    seen: dict[str, str] = {}
    for item in items:
        if isinstance(item, TLFTable):
            kind, text = "Table", table_rtf(item, source)
        elif isinstance(item, TLFFigure):
            kind, text = "Figure", figure_rtf(item, source)
        else:
            raise TypeError(f"not a TLFTable or TLFFigure: {type(item).__name__}")
        name = file_name(kind, item.number)
        label = f"{kind} {str(item.number).strip()}"
        if name in seen:
            raise ValueError(f"{label} and {seen[name]} would both be written to {name}")
        seen[name] = label
        rendered.append((name, text))
        entries.append((label, item.title, item.population, name))

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in rendered:
        _write(folder / name, text)
        paths.append(folder / name)
    for old in sorted(folder.iterdir()):
        if _FILE_RE.match(old.name) and old.name not in seen and old.is_file():
            old.unlink()

    index = _table_document(["Index of tables and figures"], _index_table(entries), (), source,
                            landscape=False)
    _write(folder / "index.rtf", index)
    lines = ["number\ttitle\tpopulation\tfile"]
    for e in entries:
        lines.append("\t".join(" ".join(str(v).split()) for v in e))
    (folder / "index.txt").write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    return [*paths, folder / "index.rtf", folder / "index.txt"]

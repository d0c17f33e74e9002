"""Tests for trialpress.report.rtf: the RTF table-and-figure package.

The files are read back two ways: with `striprtf` (an independent RTF-to-text converter) and
with the small RTF tokenizer below, which also keeps the structure (pages, table rows, header
rows, cells with their bold/indent/alignment, the page-header destination, field codes).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from striprtf.striprtf import rtf_to_text

from trialpress.report import rtf as R
from trialpress.report.tables import Cell, Table, label

NB = "\u00a0"
HOSTILE = "{\\rtf1 \\par} \\field{\\*\\fldinst PAGE}{\\fldrslt 9} a_b^c >= \\'41 \\u66? é ≥ 😀 }{"
SOURCE = "Source: adsl.xpt, adae.xpt; program: trialpress 0.1.0; version 6e4d103a1b33"
GROUPS = (("Placebo", 86), ("Xanomeline Low Dose", 84), ("Xanomeline High Dose", 84))


# ------------------------------------------------------------------------------ a tokenizer

@dataclass
class RCell:
    text: str
    bold: bool
    indent: int
    align: str


@dataclass
class RRow:
    header: bool          # flagged \trhdr
    cells: list[RCell]

    @property
    def texts(self) -> list[str]:
        return [c.text for c in self.cells]


@dataclass
class RPage:
    rows: list[RRow] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)


@dataclass
class RDoc:
    pages: list[RPage]
    words: Counter            # control words outside the image data
    dest_text: dict[str, str]  # text per destination ('header', 'fldinst', ...)
    fields: list[tuple[str, str]]  # (enclosing destination, field instruction)
    numbers: dict[str, list[int]]  # parameters of some control words


_TOKEN = re.compile(r"\\([a-zA-Z]+)(-?\d+)? ?|\\'([0-9a-fA-F]{2})|\\([^a-zA-Z])|([{}])|[\r\n]+|([^\\{}\r\n]+)")
_DESTINATIONS = {"fonttbl", "colortbl", "stylesheet", "info", "pict", "header", "footer", "fldinst",
                 "fldrslt", "field"}


def _unsurrogate(s: str) -> str:
    return s.encode("utf-16", "surrogatepass").decode("utf-16")


def parse_rtf(data: bytes) -> RDoc:
    """Tokenize an RTF file; asserts it is one well-formed group."""
    text = data.decode("ascii")                      # the files must be pure ASCII
    assert text.startswith("{\\rtf1"), text[:20]
    pages = [RPage()]
    words: Counter = Counter()
    dest_text: dict[str, str] = {}
    fields: list[tuple[str, str]] = []
    numbers: dict[str, list[int]] = {}
    stack: list[dict] = []
    state = {"dest": "", "outer": "", "bold": False, "star": False}
    para = {"li": 0, "align": "l"}
    buf: list[str] = []
    cell_bold = False
    row: RRow | None = None
    skip = 0
    depth = 0
    closed = False
    fld = ""

    def add(s: str) -> None:
        nonlocal cell_bold
        if state["dest"] == "":
            buf.append(s)
            cell_bold = cell_bold or (state["bold"] and bool(s.strip()))
        else:
            dest_text[state["dest"]] = dest_text.get(state["dest"], "") + s

    for m in _TOKEN.finditer(text):
        if closed:
            assert not m.group(0).strip(), "text after the document group"
            continue
        word, arg, hexc, sym, brace, chars = m.groups()
        if brace == "{":
            stack.append(dict(state))
            state = dict(state, star=False)
            depth += 1
            skip = 0
            continue
        if brace == "}":
            if state["dest"] == "fldinst":
                fields.append((state["outer"], fld.strip()))
                fld = ""
            state = stack.pop()
            depth -= 1
            assert depth >= 0
            closed = depth == 0
            skip = 0
            continue
        if word:
            if state["dest"] == "pict":
                continue
            words[word] += 1
            if arg is not None:
                numbers.setdefault(word, []).append(int(arg))
            if word in _DESTINATIONS or state["star"]:
                if word not in ("fldrslt", "field"):   # a field's result is text where the field is
                    state["outer"] = state["dest"] or "body"
                    state["dest"] = word
                state["star"] = False
            elif word == "u":
                add(chr(int(arg) % 65536))
                skip = 1
            elif word == "b":
                state["bold"] = arg != "0"
            elif word == "pard":
                para = {"li": 0, "align": "l"}
            elif word == "li":
                para["li"] = int(arg)
            elif word in ("ql", "qc", "qr", "qj"):
                para["align"] = word[1]
            elif word == "line":
                add("\n")
            elif word == "trowd":
                row = RRow(False, [])
            elif word == "trhdr":
                assert row is not None
                row.header = True
            elif word == "cell":
                assert row is not None
                row.cells.append(RCell(_unsurrogate("".join(buf)), cell_bold, para["li"], para["align"]))
                buf, cell_bold = [], False
            elif word == "row":
                assert row is not None
                pages[-1].rows.append(row)
                row = None
            elif word == "par" and state["dest"] == "":
                if "".join(buf).strip():
                    pages[-1].paragraphs.append(_unsurrogate("".join(buf)))
                buf = []
            elif word == "page":
                pages.append(RPage())
            continue
        if sym:
            if sym == "*":
                state["star"] = True
            elif sym in "\\{}":
                if skip:
                    skip -= 1
                else:
                    add(sym)
            elif sym == "~":
                add(NB)
            continue
        if hexc:
            if skip:
                skip -= 1
            else:
                add(bytes.fromhex(hexc).decode("cp1252"))
            continue
        if chars:
            if state["dest"] == "pict":
                continue
            if skip:
                chars, skip = chars[skip:], max(0, skip - len(chars))
            if state["dest"] == "fldinst":
                fld += chars
            add(chars)
    assert closed and depth == 0, "unbalanced braces"
    return RDoc(pages, words, dest_text, fields, numbers)


def stripped(data: bytes) -> str:
    return _unsurrogate(rtf_to_text(data.decode("ascii")))


# ---------------------------------------------------------------------------------- fixtures

def _wide_table() -> Table:
    """Two header rows with column spans, 8 groups of 1 bold + 6 indented rows, one hostile."""
    h1 = (Cell(""), *(Cell(f"{g} (N{NB}={NB}{n})", colspan=2) for g, n in GROUPS),
          Cell(f"Total (N{NB}={NB}254)", colspan=2))
    h2 = (label("System organ class / preferred term"),
          *(c for _ in range(4) for c in (Cell("Any grade"), Cell("Grade ≥3"))))
    body = []
    for s in range(8):
        body.append((label(f"System organ class {s} with a name long enough to wrap in its column", bold=True),
                     *(Cell("") for _ in range(8))))
        for p in range(6):
            term = HOSTILE if (s, p) == (5, 2) else f"Preferred term {s}.{p}"
            body.append((label(term, indent=1), *(Cell(f"{s * p + k} ({(s * p + k) / 2.54:.1f})") for k in range(8))))
    return Table("table-terms", (h1, h2), tuple(body), (3.0,) + (1.0,) * 8)


def _small_table(rows: int = 45) -> Table:
    head = (label("Subjects with"), Cell(f"Placebo (N{NB}={NB}86)"), Cell(f"Total (N{NB}={NB}254)"))
    body = []
    for i in range(rows):
        if i % 9 == 0:
            body.append((label(f"Category {i // 9}", bold=True), Cell(""), Cell("")))
        elif i == 4:
            body.append((label(HOSTILE, indent=2), Cell("7 (8.1)"), Cell("9 (3.5)")))
        elif i == 22:
            body.append((label("A note row spanning every column of the table", colspan=3),))
        else:
            body.append((label(f"Item {i}", indent=1), Cell(f"{i} ({i / 0.86:.1f})"), Cell(f"{2 * i}")))
    return Table("table-small", (head,), tuple(body), (2.4, 1.3, 1.3))


def _png(path: Path, w: int = 240, h: int = 120, dpi: int = 150) -> Path:
    """A deterministic PNG with a pHYs chunk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + bytes((x * 255 // w) for x in range(w)) for _ in range(h))
    ppm = round(dpi / 0.0254)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
           + chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1)) + chunk(b"IDAT", zlib.compress(raw, 9))
           + chunk(b"IEND", b""))
    path.write_bytes(png)
    return path


def _items(tmp: Path) -> list[R.TLFTable | R.TLFFigure]:
    return [
        R.TLFTable("14.3.1", "Treatment-emergent adverse events by system organ class and preferred term",
                   "Safety population", _wide_table(),
                   ("TEAE, treatment-emergent adverse event.", "n (%) of subjects; a subject is counted once per term.")),
        R.TLFTable("3", "Overview of treatment-emergent adverse events", "Safety population", _small_table(),
                   ("A note.",)),
        R.TLFTable("14.1.2", HOSTILE, HOSTILE, _small_table(5), (HOSTILE, "Second note")),
        R.TLFTable("14.1.3", "Forced landscape", "ITT population", _small_table(5), (), landscape=True),
        R.TLFFigure("1", "Kaplan-Meier estimate of time to event", "ITT population", _png(tmp / "km.png"),
                    ("Tick marks show censored subjects.",)),
    ]


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], list]:
    tmp = tmp_path_factory.mktemp("rtf")
    items = _items(tmp)
    paths = R.write_package(items, tmp / "tlf", source=SOURCE)
    return tmp / "tlf", paths, items


def _doc(folder: Path, name: str) -> RDoc:
    return parse_rtf((folder / name).read_bytes())


def _grid_rows(table: Table) -> list[list[str]]:
    out = []
    for row in table.body:
        cells: list[str] = []
        for c in row:
            cells += [c.text] + [""] * (c.colspan - 1)
        out.append(cells)
    return out


# --------------------------------------------------------------------------------- escaping

def test_escape() -> None:
    assert R.rtf_escape("a\\b{c}d") == "a\\\\b\\{c\\}d"
    assert R.rtf_escape("é≥") == "\\u233?\\u8805?"
    assert R.rtf_escape("😀") == "\\u-10179?\\u-8704?"          # UTF-16 surrogates, signed
    assert R.rtf_escape(f"N{NB}=1") == "N\\u160?=1"
    assert R.rtf_escape("a\nb\tc\x00\x07d") == "a b cd"
    assert R.rtf_escape("x_1^2 >= 3") == "x_1^2 >= 3"               # no rtflite 'text conversion'
    assert all(ord(ch) < 128 for ch in R.rtf_escape(HOSTILE))


def test_file_names() -> None:
    assert R.file_name("Table", "14.1.1") == "t-14-1-1.rtf"
    assert R.file_name("Figure", "1") == "f-1.rtf"
    assert R.file_name("Table", "../../etc/Passwd 2") == "t-etc-passwd-2.rtf"
    with pytest.raises(ValueError):
        R.file_name("Table", "...")


# ---------------------------------------------------------------------------------- package

def test_files(package) -> None:
    folder, paths, _ = package
    names = [p.name for p in paths]
    assert names == ["t-14-3-1.rtf", "t-3.rtf", "t-14-1-2.rtf", "t-14-1-3.rtf", "f-1.rtf", "index.rtf", "index.txt"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


def test_title_number_population_on_every_page(package) -> None:
    folder, _, items = package
    for name, item in (("t-14-3-1.rtf", items[0]), ("t-3.rtf", items[1])):
        doc = _doc(folder, name)
        for page in doc.pages:
            assert page.paragraphs[0] == f"Table {item.number}. {item.title}\n{item.population}"
    assert "Table 3. Overview of treatment-emergent adverse events" in stripped((folder / "t-3.rtf").read_bytes())


def test_spans_pages_with_header_rows_repeated(package) -> None:
    folder, _, items = package
    table = items[0].table
    doc = _doc(folder, "t-14-3-1.rtf")
    assert len(doc.pages) >= 3
    want = [[c.text for c in r] for r in table.header]
    for page in doc.pages:
        heads = [r for r in page.rows if r.header]
        assert [r.texts for r in heads] == want            # both header rows, with the (N = ...) texts
        assert page.rows[:len(want)] == heads                # at the top of the page
    assert "Placebo (N\u00a0=\u00a086)" in doc.pages[-1].rows[0].texts


def test_every_cell_in_order(package) -> None:
    folder, _, items = package
    for name, item in (("t-14-3-1.rtf", items[0]), ("t-3.rtf", items[1])):
        data = (folder / name).read_bytes()
        doc = parse_rtf(data)
        body = [r.texts for p in doc.pages for r in p.rows if not r.header]
        assert body == _grid_rows(item.table)
        # the same with an independent parser: every row, in order
        text, pos = stripped(data), 0
        for cells in _grid_rows(item.table):
            found = text.find("|".join(cells) + "|", pos)
            assert found >= 0, cells
            pos = found + 1


def test_bold_indent_alignment_follow_their_rows_on_every_page(package) -> None:
    """rtflite 2.6 takes per-row attributes from the row's index within its page; our
    pagination must keep every row's own formatting on pages 2, 3, ..."""
    folder, _, items = package
    for name, item in (("t-14-3-1.rtf", items[0]), ("t-3.rtf", items[1])):
        doc = _doc(folder, name)
        rows = [r for p in doc.pages for r in p.rows if not r.header]
        assert len(rows) == len(item.table.body)
        for got, want in zip(rows, item.table.body):
            first = got.cells[0]
            assert first.bold == want[0].bold, (first.text, want[0])
            assert first.indent == want[0].indent * R.INDENT_TWIPS
            assert first.align == "l"
            assert all(c.align == "c" for c in got.cells[want[0].colspan:])


def test_bold_group_row_never_ends_a_page(package) -> None:
    folder, _, _ = package
    for name in ("t-14-3-1.rtf", "t-3.rtf"):
        pages = _doc(folder, name).pages
        for page in pages[:-1]:
            assert not page.rows[-1].cells[0].bold


def test_footnotes_and_source_on_the_last_page(package) -> None:
    folder, _, items = package
    doc = _doc(folder, "t-14-3-1.rtf")
    assert doc.pages[-1].paragraphs[1:] == ["\n".join(items[0].footnotes), SOURCE]
    for page in doc.pages[:-1]:
        assert page.paragraphs[1:] == []
    text = stripped((folder / "t-3.rtf").read_bytes())
    assert text.index("A note.") < text.index(SOURCE)


def test_page_x_of_y_fields_in_the_page_header(package) -> None:
    folder, _, _ = package
    for name in ("t-14-3-1.rtf", "t-3.rtf", "f-1.rtf", "index.rtf"):
        doc = _doc(folder, name)
        assert doc.fields == [("header", "PAGE"), ("header", "NUMPAGES")]
        assert doc.dest_text["header"].startswith("Page 1 of ")
        assert doc.dest_text["header"] == f"Page 1 of {len(doc.pages)}"


def test_landscape(package) -> None:
    folder, _, _ = package

    def landscape(name: str) -> bool:
        doc = _doc(folder, name)
        w, h = doc.numbers["paperw"][0], doc.numbers["paperh"][0]
        assert ("landscape" in doc.words) == (w > h)
        return w > h

    assert landscape("t-14-3-1.rtf")        # 9 columns
    assert not landscape("t-3.rtf")         # 3 columns
    assert landscape("t-14-1-3.rtf")        # landscape=True
    narrow = R.TLFTable("9", "t", "p", _wide_table(), (), landscape=False)
    assert b"\\landscape" not in R.table_rtf(narrow, SOURCE).encode()
    # a table of few but wide columns goes landscape too
    wide_cells = Table("w", ((label("x"), Cell("a"), Cell("b"), Cell("c")),),
                       ((label("y"), *(Cell("123.4 (95% CI, 100.1 to 150.9)") for _ in range(3))),))
    assert "\\landscape" in R.table_rtf(R.TLFTable("8", "t", "p", wide_cells, ()), SOURCE)


def test_hostile_text_prints_literally(package) -> None:
    folder, _, items = package
    data = (folder / "t-14-1-2.rtf").read_bytes()
    doc = parse_rtf(data)
    page = doc.pages[0]
    assert page.paragraphs[0] == f"Table 14.1.2. {HOSTILE}\n{HOSTILE}"
    assert page.paragraphs[1] == f"{HOSTILE}\nSecond note"
    assert [r.texts[0] for r in page.rows if not r.header][4] == HOSTILE
    # nothing was injected: one \rtf1, the only fields are the two page-number fields
    assert doc.words["rtf"] == 1 and doc.words["field"] == 2 and doc.words["fldinst"] == 2
    assert doc.words["fldrslt"] == 2
    text = stripped(data)
    assert text.count(HOSTILE) == 4
    # in the big table too, on whatever page it falls
    big = _doc(folder, "t-14-3-1.rtf")
    assert sum(r.texts[0] == HOSTILE for p in big.pages for r in p.rows) == 1
    assert big.words["rtf"] == 1 and big.words["field"] == 2


def test_deterministic(package, tmp_path: Path) -> None:
    folder, _, _ = package
    again = R.write_package(_items(tmp_path), tmp_path / "tlf", source=SOURCE)
    for p in again:
        assert p.read_bytes() == (folder / p.name).read_bytes(), p.name
    twice = R.write_package(_items(tmp_path), tmp_path / "tlf", source=SOURCE)
    assert [p.read_bytes() for p in twice] == [p.read_bytes() for p in again]
    for p in again:
        if p.suffix == ".rtf":
            doc = parse_rtf(p.read_bytes())
            assert not {"info", "creatim", "revtim", "printim", "buptim", "generator"} & set(doc.words)


def test_index_lists_every_file(package) -> None:
    folder, paths, items = package
    doc = _doc(folder, "index.rtf")
    rows = [r.texts for p in doc.pages for r in p.rows if not r.header]
    files = sorted(p.name for p in folder.glob("*.rtf") if p.name != "index.rtf")
    assert sorted(r[3] for r in rows) == files
    kinds = ["Table", "Table", "Table", "Table", "Figure"]
    assert rows == [[f"{k} {i.number}", i.title, i.population, p.name] for k, i, p in zip(kinds, items, paths)]
    lines = (folder / "index.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "number\ttitle\tpopulation\tfile"
    assert [ln.split("\t")[-1] for ln in lines[1:]] == [p.name for p in paths[:5]]
    assert lines[1].split("\t")[:2] == ["Table 14.3.1", items[0].title]


def test_figure_embeds_the_png(package) -> None:
    folder, _, items = package
    text = (folder / "f-1.rtf").read_bytes().decode("ascii")
    m = re.search(r"\{\\pict\\pngblip\\picw(\d+)\\pich(\d+)\\picwgoal(\d+)\\pichgoal(\d+) ([0-9a-f\s]+)\}", text)
    assert m
    assert bytes.fromhex(re.sub(r"\s", "", m.group(5))) == items[4].image.read_bytes()
    w, h, wg, hg = map(int, m.groups()[:4])
    assert (w, h) == (240, 120)
    assert (wg, hg) == (240 / 150 * 1440, 120 / 150 * 1440)     # its print size at 150 dpi
    doc = parse_rtf(text.encode())
    assert doc.pages[0].paragraphs == ["Figure 1. Kaplan-Meier estimate of time to event\nITT population",
                                       "Tick marks show censored subjects.", SOURCE]


def test_big_figure_shrinks_to_the_page(tmp_path: Path) -> None:
    png = _png(tmp_path / "big.png", 600, 600, 20)                     # 30 x 30 inches
    text = R.figure_rtf(R.TLFFigure("2", "Forest", "ITT", png, ()), SOURCE)
    wg, hg = (int(v) for v in re.search(r"\\picwgoal(\d+)\\pichgoal(\d+)", text).groups())
    assert wg == hg and wg <= 6.25 * 1440
    assert "\\landscape" not in text
    wide = _png(tmp_path / "wide.png", 1000, 333, 100)                # 10 x 3.3 inches
    assert "\\landscape" in R.figure_rtf(R.TLFFigure("3", "Forest", "ITT", wide, ()), SOURCE)


def test_stale_files_are_removed(tmp_path: Path) -> None:
    items = _items(tmp_path)
    out = tmp_path / "tlf"
    R.write_package(items, out, source=SOURCE)
    (out / "notes.txt").write_text("keep")
    (out / "Other.rtf").write_text("keep")
    R.write_package(items[1:2], out, source=SOURCE)
    assert sorted(p.name for p in out.iterdir()) == ["Other.rtf", "index.rtf", "index.txt", "notes.txt", "t-3.rtf"]


def test_errors(tmp_path: Path) -> None:
    t = _small_table(3)
    with pytest.raises(ValueError, match="both"):
        R.write_package([R.TLFTable("1.1", "a", "p", t, ()), R.TLFTable("1-1", "b", "p", t, ())], tmp_path,
                        source=SOURCE)
    bad = Table("bad", ((Cell("a"), Cell("b", colspan=2)),), ((Cell("1"), Cell("2")),))
    with pytest.raises(ValueError, match="span"):
        R.table_rtf(R.TLFTable("1", "a", "p", bad, ()), SOURCE)
    (tmp_path / "x.png").write_bytes(b"GIF89a")
    with pytest.raises(ValueError, match="PNG"):
        R.figure_rtf(R.TLFFigure("1", "a", "p", tmp_path / "x.png", ()), SOURCE)


def test_empty_table(tmp_path: Path) -> None:
    t = Table("empty", ((label("Term"), Cell("n")),), ())
    doc = parse_rtf(R.table_rtf(R.TLFTable("5", "Nothing", "ITT", t, ("None reported.",)), SOURCE).encode())
    assert len(doc.pages) == 1
    assert [r.texts for r in doc.pages[0].rows] == [["Term", "n"]]
    assert doc.pages[0].paragraphs[1:] == ["None reported.", SOURCE]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_libreoffice_lays_out_our_pages(package, tmp_path: Path) -> None:
    """A word processor computes the page fields and breaks pages where we did."""
    pypdf = pytest.importorskip("pypdf")
    folder, _, _ = package
    pages = len(_doc(folder, "t-14-3-1.rtf").pages)
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to",
                    "pdf", "--outdir", str(tmp_path), str(folder / "t-14-3-1.rtf")],
                   check=True, capture_output=True, timeout=300)
    reader = pypdf.PdfReader(tmp_path / "t-14-3-1.pdf")
    assert len(reader.pages) == pages
    for k, page in enumerate(reader.pages, 1):
        text = page.extract_text()
        assert f"Page {k} of {pages}" in text
        assert "Table 14.3.1." in text
    assert "{\\rtf1 \\par} \\field{\\*\\fldinst PAGE}" in "".join(p.extract_text() for p in reader.pages)

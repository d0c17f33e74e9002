"""CSV read by Arrow's multi-threaded reader: only the columns asked for, every value as text (so '007' stays
'007'), dictionary-encoded (a pandas Categorical: each distinct value is typed once later), with every check of
the file's structure the reader has always made, and no second parse in Python.

How each check is kept:
- UTF-16, binary content, no data, repeated or blank header names: the first bytes and the header line
  (`readers._read_csv`, before this module runs);
- valid UTF-8 everywhere (Arrow checks only the columns it converts): one C-speed pass over the bytes
  (`bytes.isascii`, an incremental decoder for the non-ASCII blocks), run beside Arrow's read, which also
  counts the quote characters;
- a record with the wrong number of fields: Arrow's `invalid_row_handler` sees every one; the first is then
  located (its line, whether the file ends inside it) by a serial Arrow parse that stops there;
- a quoted value never closed: Arrow reads the rest of the file into it, so it is found from the quote count
  (odd) and, only then, by following the quotes to the end of the file.

Missing values: an empty field (quoted or not), and an unquoted NA, as R's write.csv and readr's write_csv write
a missing value (`_r_missing_values`); a quoted "NA" stays text.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trialpress.data.encoding import AUTO, NOT_UTF8
from trialpress.errors import DataError

BLOCK = 16 << 20           # the scan's chunk
ARROW_BLOCK = 4 << 20      # Arrow's block: a few MB, converted while in cache
_QUOTE = re.compile(b'"')
FIELDS_HINT = ("Re-export the file; if a value holds a comma, quote or newline it must be enclosed in double "
               "quotes.")
QUOTING_HINT = ("Check quoting on the line named: a field with a comma, quote or newline must be enclosed in double "
                "quotes, and a quote inside it doubled (\"\").")
UTF8_HINT = ("The plan's data.encoding says UTF-8: set it to the file's encoding (e.g. cp1252 for SAS on Windows) "
             "or 'auto', or convert the file (iconv -f cp1252 -t utf-8).")
# R's write.csv and readr's write_csv write a missing value as an unquoted NA, and quote a text value that is
# literally "NA" (which stays text)
R_MISSING = "NA"


@dataclass
class _Scan:
    """What one pass over the bytes found: the first invalid UTF-8 (offset after the BOM, reason) and the
    number of quote characters."""

    bad_utf8: tuple[int, str] | None = None
    quotes: int = 0
    error: BaseException | None = None


def read_csv_arrow(path: Path, header: Sequence[str], keep: Sequence[str], bom: int,
                   encoded: bool, identifier: str | None, encoding: str = AUTO) -> tuple[pd.DataFrame, Any]:
    """The columns `keep` (raw header names, file order) of a CSV whose header is `header`, as text: pandas
    Categoricals (`encoded`) or objects (missing: NaN, as pandas' own reader gave them). With `encoded`, also
    the subject id (`identifier`, case-insensitive) in Arrow form, trimmed, blanks missing, dictionary-encoded
    (None when not read). Text is UTF-8 unless `encoding` names a codec; with `auto`, a file that is not
    UTF-8 is read again as `encoding.NOT_UTF8` says (`frame.attrs["text_encoding"]`)."""
    import pyarrow as pa

    scan = _Scan()
    scanner = threading.Thread(target=_scan_bytes, args=(path, bom, scan), daemon=True)
    scanner.start()
    include = list(keep) or list(header[:1])       # Arrow reads every column when none is named
    bad_rows: list[Any] = []

    def invalid(row: Any) -> str:                   # the first is enough: it is located again below
        bad_rows.append(row)
        return "error"

    def attempt(codec: str) -> tuple[Any, BaseException | None, int]:
        bad_rows.clear()
        failure: BaseException | None = None
        for block in (ARROW_BLOCK, 16 * ARROW_BLOCK):   # a record longer than a block: once more, larger blocks
            try:
                return _arrow_read(path, include, block, invalid, codec=codec), None, block
            except pa.ArrowInvalid as exc:
                failure = exc
                if bad_rows or "straddl" not in str(exc):
                    break
        return None, failure, block

    used = "utf-8" if encoding == AUTO else encoding
    table, failure, block = attempt(used)
    scanner.join()
    if scan.error is not None:
        raise scan.error
    if scan.bad_utf8 is not None and used == "utf-8":
        offset, reason = scan.bad_utf8
        if encoding != AUTO:
            raise DataError(f"{path}: not valid UTF-8 text (line {_line_of(path, bom + offset, bom)}, byte "
                            f"{offset}: {reason}).", hint=UTF8_HINT)
        for used in NOT_UTF8:   # the last, latin-1, decodes any byte
            try:
                table, failure, block = attempt(used)
                break
            except UnicodeDecodeError:
                continue
    _raise_structure(path, header, bom, bool(bad_rows), scan.quotes, failure)
    assert table is not None
    table, unquoted_na = _r_missing_values(path, table, block, used)
    frame, ids = _to_frame(table, keep, encoded, identifier)
    if unquoted_na:
        frame.attrs["r_missing"] = True   # said in the methods (loading.StudyData.na_files)
    if used != "utf-8":
        frame.attrs["text_encoding"] = used
    return frame, ids


def _raise_structure(path: Path, header: Sequence[str], bom: int, bad_rows: bool, quotes: int,
                     failure: BaseException | None) -> None:
    """The read's failure, located: a record with the wrong number of fields, a quote never closed, a record
    longer than Arrow's largest block; else Arrow's own error."""
    straddled = failure is not None and "straddl" in str(failure)
    if bad_rows or quotes % 2 or straddled:
        _structure_error(path, header, bom, quotes % 2 == 1)
    if straddled:
        raise DataError(f"{path}: malformed CSV (a record is longer than {max(1, 16 * ARROW_BLOCK >> 20)} MB: is a "
                        "quoted value not closed?).", hint=QUOTING_HINT)
    if failure is not None:
        raise failure


def _arrow_read(path: Path, include: list[str], block: int, invalid: Any, *, r_missing: bool = False,
                codec: str = "utf-8") -> Any:
    """The columns `include` as dictionary-encoded text, empty fields (quoted or not) missing; with `r_missing`
    also the unquoted NA fields, while a quoted empty field is then read as '' (made missing by
    `dictionary_codes`)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    text_type = pa.dictionary(pa.int32(), pa.string())
    return pcsv.read_csv(
        path,
        read_options=pcsv.ReadOptions(use_threads=True, block_size=block, encoding=codec),
        parse_options=pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
        convert_options=pcsv.ConvertOptions(include_columns=include, column_types={c: text_type for c in include},
                                            strings_can_be_null=True,
                                            null_values=["", R_MISSING] if r_missing else [""],
                                            quoted_strings_can_be_null=not r_missing))


def _r_missing_values(path: Path, table: Any, block: int, codec: str = "utf-8") -> tuple[Any, bool]:
    """The columns holding NA read again with R's convention (unquoted NA missing, quoted "NA" text) where they
    hold an unquoted NA; and whether any did. Arrow cannot tell a quoted value from an unquoted one after the
    parse, so only a column whose distinct values include NA pays for a second parse (restricted to such columns):
    a file without NA, as SAS, data.table and pandas write them, is read once."""
    holding = [name for name in table.column_names if _count(table.column(name), R_MISSING)]
    if not holding:
        return table, False
    again = _arrow_read(path, holding, block, lambda row: "skip", r_missing=True, codec=codec)
    changed = False
    for name in holding:
        if _count(again.column(name), R_MISSING) < _count(table.column(name), R_MISSING):   # some were unquoted
            table = table.set_column(table.column_names.index(name), name, again.column(name))
            changed = True
    return table, changed


def _count(column: Any, value: str) -> int:
    """How many values of a dictionary-encoded chunked column equal `value` (looked up once per dictionary)."""
    import pyarrow.compute as pc

    total = 0
    for chunk in column.chunks:
        at = pc.index(chunk.dictionary, value).as_py()
        if at >= 0:
            total += pc.sum(pc.equal(chunk.indices, at)).as_py() or 0
    return total


# ----------------------------------------------------------------------------------------- the frame
# what Python's str.strip() removes (str.isspace): trimming with it in Arrow gives exactly the loader's text
PY_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                 "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def _to_frame(table: Any, keep: Sequence[str], encoded: bool, identifier: str | None) -> tuple[pd.DataFrame, Any]:
    """Arrow's dictionary-encoded columns → pandas, one column at a time (each freed once converted). With
    `encoded` the subject id is trimmed and blanks made missing (in Arrow, once per distinct id), given as
    objects (the loader's form of ids) and also returned in Arrow form for the subject join; all else is as
    read."""
    import pyarrow as pa

    rows = table.num_rows
    sid = next((c for c in keep if identifier is not None and c.strip().upper() == identifier.upper()), None)
    columns: dict[str, Any] = {}
    ids = None
    for name in table.column_names if keep else []:
        column = table.column(0)
        table = table.remove_column(0)
        codes, categories = dictionary_codes(column)
        del column
        if name == sid and encoded:   # clean ids, each distinct id a single Python string (as Parquet gives)
            codes, categories = clean_ids(codes, categories)
            ids = arrow_ids(codes, categories)
            columns[name] = id_objects(codes, categories)
            continue
        categories = categories.to_numpy(zero_copy_only=False).astype(object)
        columns[name] = categorical(codes, categories) if encoded else np.append(categories, np.nan)[codes]
    del table
    pa.default_memory_pool().release_unused()
    frame = pd.DataFrame(columns, copy=False) if columns else pd.DataFrame(index=pd.RangeIndex(rows))
    if ids is not None:
        frame.attrs["clean_text"] = [sid.strip().upper()]
    return frame, ids


def dictionary_codes(column: Any) -> tuple[np.ndarray, Any]:
    """A chunked dictionary-encoded Arrow column → (int32 codes, -1 for missing; its distinct values)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    unified = column.unify_dictionaries()
    if not unified.num_chunks:
        return np.empty(0, dtype=np.int32), pa.array([], type=pa.string())
    indices = pa.chunked_array([chunk.indices for chunk in unified.chunks], type=pa.int32())
    if indices.null_count:
        indices = pc.fill_null(indices, -1)
    codes = indices.to_numpy().astype(np.int32, copy=False)
    values = unified.chunk(0).dictionary
    blank = pc.index(values, "").as_py()   # a quoted empty field ("") is missing, as an empty one is
    if blank >= 0:
        remap = np.append(np.arange(len(values), dtype=np.int32) - (np.arange(len(values)) > blank), -1)
        remap[blank] = -1
        codes = remap[codes]
        values = pc.filter(values, pc.not_equal(values, ""))
    return codes, values


def clean_text(values: Any) -> Any:
    """Arrow text (an array or a chunked array) as the loader types text: trimmed as str.strip() trims, blanks
    missing. The one cleaning of subject ids, for CSV and XPT (`clean_ids`) and Parquet (`readers`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim(values, characters=PY_WHITESPACE)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, trimmed.type), trimmed)


def clean_ids(codes: np.ndarray, values: Any) -> tuple[np.ndarray, Any]:
    """Dictionary-encoded identifiers cleaned (`clean_text`); distinct values that become equal merge.
    `values` is an Arrow string array, `codes` point into it (-1: missing)."""
    import pyarrow.compute as pc

    cleaned = clean_text(values)
    if cleaned.null_count == values.null_count and pc.all(pc.equal(cleaned, values)).as_py():
        return codes, values   # nothing to trim (the usual case): the distinct values stay distinct
    merged = cleaned.dictionary_encode()
    remap = np.append(pc.fill_null(merged.indices, -1).to_numpy(zero_copy_only=False), -1).astype(np.int32)
    return remap[codes], merged.dictionary


def id_objects(codes: np.ndarray, values: Any) -> np.ndarray:
    """Clean ids as the loader's object column (None: missing)."""
    return np.append(values.to_numpy(zero_copy_only=False).astype(object), None)[codes]


def arrow_ids(codes: np.ndarray, values: Any) -> Any:
    """Codes into clean distinct ids → a dictionary-encoded Arrow array for the subject join."""
    import pyarrow as pa

    indices = pa.array(codes, type=pa.int32(), mask=codes < 0)
    return pa.chunked_array([pa.DictionaryArray.from_arrays(indices, values)])


def categorical(codes: np.ndarray, categories: np.ndarray) -> pd.Categorical:
    """Codes (-1: missing) into distinct values → a pandas Categorical (values unordered, as read)."""
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(pd.Index(categories, dtype=object)),
                                     validate=False)


# ----------------------------------------------------------------------------------------- the scan
def _scan_bytes(path: Path, bom: int, out: _Scan) -> None:
    """UTF-8 validity of every byte (not only of the columns Arrow converts) and the number of quotes."""
    try:
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = 0
        with path.open("rb", buffering=0) as fh:
            fh.seek(bom)
            while chunk := fh.read(BLOCK):
                out.quotes += chunk.count(b'"')
                pending = len(decoder.getstate()[0])
                if pending or not chunk.isascii():
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError as exc:
                        out.bad_utf8 = (offset - pending + exc.start, str(exc.reason))
                        return
                offset += len(chunk)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                out.bad_utf8 = (offset - len(decoder.getstate()[0]) + exc.start, str(exc.reason))
    except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
        out.error = exc


def _line_of(path: Path, offset: int, start: int = 0) -> int:
    """The 1-based line holding byte `offset` (lines counted from byte `start`)."""
    lines, pos = 1, start
    with path.open("rb", buffering=0) as fh:
        fh.seek(start)
        while pos < offset:
            chunk = fh.read(min(BLOCK, offset - pos))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            pos += len(chunk)
    return lines


# ----------------------------------------------------------------------------------------- structure errors
def _structure_error(path: Path, header: Sequence[str], bom: int, odd_quotes: bool) -> None:
    """Raise the message for the first structural fault of the file: a record with the wrong number of
    fields, or a quoted value still open at the end of the file (whichever comes first). Only called when
    Arrow saw a bad record or the quotes do not pair up; returns when the file is in fact sound (an odd
    number of quotes can be a literal quote inside an unquoted value, e.g. 5'11")."""
    width = len(header)
    row = _first_bad_row(path, header[0])
    unclosed = _unclosed_quote(path, bom) if odd_quotes else None
    size = path.stat().st_size
    start = _find_record(path, row[1], bom) if row is not None else None
    if unclosed is not None and (row is None or start is None or unclosed < start):
        raise DataError(f"{path}: malformed CSV (a quoted value opened on line {_line_of(path, unclosed)} is not "
                        "closed: the rest of the file is read into it).", hint=QUOTING_HINT)
    if row is None:
        return
    fields, text = row
    if start is None:   # not found as a line of its own: say what it holds
        raise DataError(f"{path}: a record has {fields} field(s), the header has {width} "
                        f"({text[:80]!r}).", hint=FIELDS_HINT)
    line = _line_of(path, start)
    raw = text.encode("utf-8")
    span = raw.count(b"\n")
    if span:
        raise DataError(
            f"{path}: malformed CSV (the record starting on line {line} runs over {span + 1} lines and has {fields} "
            f"field(s), the header has {width}: is a quote on line {line} not closed?).", hint=QUOTING_HINT)
    if fields > width:
        raise DataError(f"{path}: malformed CSV (line {line} has {fields} field(s), the header has {width}).",
                        hint=QUOTING_HINT)
    end = start + len(raw)
    truncated = end >= size and not _ends_with_newline(path)
    why = " (the file ends in the middle of a record: truncated?)" if truncated else ""
    raise DataError(f"{path}: line {line} has {fields} field(s), the header has {width}{why}.", hint=FIELDS_HINT)


def _first_bad_row(path: Path, first_column: str) -> tuple[int, str] | None:
    """The first record with the wrong number of fields (its field count and text): Arrow's parser, serial
    so that records come in file order, stopping at that record; nothing converted but one column."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    found: list[tuple[int, str]] = []

    def invalid(row: Any) -> str:
        found.append((int(row.actual_columns), str(row.text)))
        return "error"

    try:
        reader = pcsv.open_csv(path, read_options=pcsv.ReadOptions(use_threads=False, block_size=16 * ARROW_BLOCK),
                               parse_options=pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
                               convert_options=pcsv.ConvertOptions(include_columns=[first_column],
                                                                   column_types={first_column: pa.string()}))
        for _ in reader:
            pass
    except pa.ArrowInvalid:
        pass
    return found[0] if found else None


def _find_record(path: Path, text: str, bom: int) -> int | None:
    """Byte offset of the first line that is exactly `text` (a record's text as Arrow gives it)."""
    import mmap

    needle = text.encode("utf-8")
    if not needle:
        return None
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        pos = mm.find(needle, bom)
        while pos != -1:
            before = pos == bom or mm[pos - 1:pos] in (b"\n", b"\r")
            after = pos + len(needle)
            if before and (after >= len(mm) or mm[after:after + 1] in (b"\n", b"\r")):
                return pos
            pos = mm.find(needle, pos + 1)
    return None


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, 2)
        return fh.read(1) in (b"\n", b"\r")


def _unclosed_quote(path: Path, bom: int) -> int | None:
    """Offset of the quote that opens a value still open at the end of the file, following the quotes as
    Arrow's (and pandas') parser does: a quote opens a value at the start of a field, inside a value "" is a
    quote, and a quote in the middle of an unquoted value is a literal character."""
    inside, closed_at, opened_at = False, -2, None
    before_chunk = 10   # the start of the file counts as the start of a line
    offset = 0
    with path.open("rb", buffering=0) as fh:
        while chunk := fh.read(BLOCK):
            for m in _QUOTE.finditer(chunk):
                p = m.start()
                at = offset + p
                if inside:
                    inside, closed_at = False, at
                elif at == closed_at + 1:         # "" inside a quoted value
                    inside = True
                else:
                    before = chunk[p - 1] if p else before_chunk
                    if at == bom or before in (44, 10, 13):   # ',' '\n' '\r': a field starts here
                        inside, opened_at = True, at
            before_chunk = chunk[-1]
            offset += len(chunk)
    return opened_at if inside else None


# ----------------------------------------------------------------------------------------- the header
def read_header(head: bytes, bom: int) -> tuple[list[str], bool]:
    """The first record of the file (as the csv module parses it) and whether `head` held all of it."""
    text = head[bom:].decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, [])
    except csv.Error:
        header = []
    return header, reader.line_num <= text.count("\n")   # a line follows the header: it is whole


def first_row_after_blank_header(head: bytes, bom: int) -> tuple[int, int] | None:
    """For a file whose first line is blank: the line and field count of its first record."""
    reader = csv.reader(io.StringIO(head[bom:].decode("utf-8", errors="replace")))
    try:
        for row in reader:
            if row:
                return reader.line_num, len(row)
    except csv.Error:
        return None
    return None

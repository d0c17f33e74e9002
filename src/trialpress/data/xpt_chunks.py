"""SAS transport (XPT version 5) read in chunks with numpy and Arrow: only the needed variables, each chunk's
text dictionary-encoded before the chunks are joined, memory bounded by the chunks (4 MB of records each, read
and converted by a few threads) and the typed result.

The values are those pyreadstat (readstat) gives, decoded the same way, so that the loader types them as it
always has: text with trailing blanks and NULs removed (UTF-8); numbers converted from IBM floating point as
readstat's `xpt2ieee` does (missing values `.`, `.A`-`.Z`, `._` and widths outside 3-8 bytes are NaN); variables
with a SAS date, datetime or time format (pyreadstat's lists) as `datetime.date` / `datetime` / `time`
objects; trailing blank records (padding) dropped. Why not pyreadstat itself: it does not know the number of
records of a transport file in advance and grows its arrays by 100,000 rows at a time (quadratic: 16-23 s for
940,000 records, against 1.5 s here), and it finds a `row_offset` chunk by reading from the start again (the
time to read 10,000 records grows with their offset), so chunks do not help.

Anything this module does not handle (version 8 files, 136-byte NAMESTR records, a malformed header) raises
`Unsupported`; the caller then reads the file with pyreadstat, so such files give today's results and messages.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import struct
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trialpress.data.csv_arrow import arrow_ids, categorical, clean_ids, id_objects
from trialpress.data.encoding import AUTO, NOT_UTF8

CHUNK_BYTES = 4 << 20    # records converted together: a few MB, so that every column's pass finds them in cache
LINE = 80
_HEADER = re.compile(rb"HEADER RECORD\*{7}(.{8})HEADER RECORD!{7}(.{30})", re.S)
_NAMESTR = struct.Struct(">hhhh8s40s8shhh2s8shhl52s")
# pyreadstat's SAS format lists and the pattern that takes a format's name (pyreadstat/_readstat_parser.pyx)
_FORMAT = re.compile(r"^([A-Z][A-Z0-9]+[A-Z])(\d+)?(?(2)(?:\.\d+)?$|$)")
SAS_DATE_FORMATS = frozenset({
    "WEEKDATE", "MMDDYY", "DDMMYY", "YYMMDD", "DATE", "DDMMYYB", "DDMMYYC", "DDMMYYD", "DDMMYYN", "DDMMYYP",
    "DDMMYYS", "MMDDYYB", "MMDDYYC", "MMDDYYD", "MMDDYYN", "MMDDYYP", "MMDDYYS", "WEEKDATX", "DTDATE",
    "IS8601DA", "E8601DA", "B8601DA", "YYMMDDB", "YYMMDDD", "YYMMDDN", "YYMMDDP", "YYMMDDS"})
SAS_DATETIME_FORMATS = frozenset({"DATETIME", "E8601DT", "DATEAMPM", "MDYAMPM", "IS8601DT", "B8601DT", "B8601DN"})
SAS_TIME_FORMATS = frozenset({"TIME", "HHMM", "TOD", "TIMEAMPM", "IS8601TM", "E8601TM", "B8601TM"})
SAS_ORIGIN = dt.datetime(1960, 1, 1)


class Unsupported(Exception):
    """A transport file this reader leaves to pyreadstat."""


@dataclass(frozen=True)
class Variable:
    name: str
    text: bool            # character variable (else numeric)
    width: int            # bytes in each record
    position: int         # offset in the record
    kind: str             # "text", "number", "date", "datetime", "time"


@dataclass(frozen=True)
class Layout:
    table_name: str
    variables: tuple[Variable, ...]
    data_start: int       # offset of the first record
    row_length: int
    rows: int             # records (trailing blank records dropped)


def _c_string(raw: bytes, encoding: str = "utf-8") -> str:
    """readstat's conversion: trailing blanks and NULs removed, then up to the first NUL; UTF-8 unless said."""
    return raw.rstrip(b" \x00").split(b"\x00", 1)[0].decode(encoding)


def _header(record: bytes) -> tuple[str, bytes]:
    m = _HEADER.match(record)
    if m is None:
        raise Unsupported("not a transport header record")
    return m.group(1).decode("latin-1").strip(), m.group(2)


def _kind(text: bool, form: str, width: int, decimals: int) -> str:
    if text:
        return "text"
    full = f"{form}{width}.{decimals}" if decimals else f"{form}{width}" if width else form
    return _format_name_kind(full)


def sas_format_kind(display_format: str) -> str:
    """"date", "datetime", "time" or "number": what a SAS format as written ('DATE9.', 'E8601DT19.') makes of
    a numeric variable (pyreadstat's lists, as for XPT)."""
    return _format_name_kind(display_format.strip().upper().removesuffix("."))


def _format_name_kind(full: str) -> str:
    m = _FORMAT.match(full)
    name = m.group(1) if m else ""
    if name in SAS_DATE_FORMATS:
        return "date"
    if name in SAS_DATETIME_FORMATS:
        return "datetime"
    if name in SAS_TIME_FORMATS:
        return "time"
    return "number"


def layout(path: Path) -> Layout:
    """The variables and where the records are, from the header records (version 5 only)."""
    with path.open("rb") as fh:
        head = fh.read(8 * LINE)
        if len(head) < 8 * LINE:
            raise Unsupported("too short")
        records = [head[i * LINE:(i + 1) * LINE] for i in range(8)]
        if _header(records[0])[0] != "LIBRARY":
            raise Unsupported("not a version 5 transport file")
        member, member_nums = _header(records[3])
        if member != "MEMBER" or member_nums[-3:] != b"140":
            raise Unsupported("no member header with 140-byte NAMESTR records")
        if _header(records[4])[0] != "DSCRPTR":
            raise Unsupported("no descriptor header")
        table_name = _c_string(records[5][8:16])
        name, nums = _header(records[7])
        if name != "NAMESTR":
            raise Unsupported("no NAMESTR header")
        try:
            count = int(nums[5:10])
        except ValueError:
            raise Unsupported("variable count") from None
        raw = fh.read(count * _NAMESTR.size)
        if len(raw) < count * _NAMESTR.size:
            raise Unsupported("NAMESTR records cut short")
        variables, position = [], 0
        for i in range(count):
            (ntype, _, length, _, nname, _, nform, nfl, nfd, _, _, _, _, _, _, _) = _NAMESTR.unpack_from(
                raw, i * _NAMESTR.size)
            text = ntype == 2
            form = _c_string(nform)
            variables.append(Variable(_c_string(nname), text, int(length), position,
                                      _kind(text, form, int(nfl), int(nfd))))
            position += int(length)
        end = 8 * LINE + count * _NAMESTR.size
        end += (-end) % LINE
        fh.seek(end)
        if _header(fh.read(LINE))[0] != "OBS":
            raise Unsupported("no OBS header")
        data_start = end + LINE
        size = fh.seek(0, 2)
        row_length = position
        if row_length <= 0:
            raise Unsupported("no variables")
        rows = (size - data_start) // row_length if size > data_start else 0
        rows = _without_trailing_blanks(fh, data_start, row_length, rows)
    return Layout(table_name, tuple(variables), data_start, row_length, rows)


def _without_trailing_blanks(fh: Any, start: int, row_length: int, rows: int) -> int:
    """readstat emits a blank (all-spaces) record only when a non-blank one follows: the padding of the last
    80-byte record, and any blank records before it, are not records."""
    step = max(1, (1 << 20) // row_length)
    while rows > 0:
        first = max(0, rows - step)
        fh.seek(start + first * row_length)
        block = np.frombuffer(fh.read((rows - first) * row_length), dtype=np.uint8).reshape(-1, row_length)
        blank = (block == 0x20).all(axis=1)
        if not blank.all():
            return first + int(np.flatnonzero(~blank)[-1]) + 1
        rows = first
    return 0


# ------------------------------------------------------------------------------------------ numbers
_SHIFT = np.array([0, 1, 2, 2, 3, 3, 3, 3], dtype=np.uint64)   # bits 21-23 of the IBM fraction → shift


def ibm_to_ieee(buffer: Any, rows: int, row_length: int, position: int, width: int) -> np.ndarray:
    """One numeric variable of `rows` records in `buffer` (IBM floats, big-endian, `width` bytes) → float64,
    as readstat converts them (TS-140's xpt2ieee, truncating). `buffer` extends 8 bytes past the records."""
    if not 3 <= width <= 8:
        return np.full(rows, np.nan)
    v = np.ndarray((rows,), dtype=">u8", buffer=buffer, offset=position, strides=(row_length,)).astype(np.uint64)
    if width < 8:   # the bytes after the value belong to the next one: zeros, as readstat pads
        v &= np.uint64(~((1 << (8 * (8 - width))) - 1) & 0xFFFFFFFFFFFFFFFF)
    x1 = v >> np.uint64(32)
    x2 = v & np.uint64(0xFFFFFFFF)
    shift = _SHIFT[(x1 >> np.uint64(21)) & np.uint64(7)]
    i1 = ((x1 & np.uint64(0x00FFFFFF)) >> shift) & np.uint64(0xFFEFFFFF)
    i2 = (x2 >> shift) | (((x1 & np.uint64(7)) << (np.uint64(32) - shift)) & np.uint64(0xFFFFFFFF))
    first = x1 >> np.uint64(24)
    # exponent: ((IBM exponent - 65) * 4 + shift + 1023) << 20, never negative
    i1 |= ((((first & np.uint64(0x7F)) << np.uint64(2)) + shift + np.uint64(1023 - 260)) << np.uint64(20)) \
        | (x1 & np.uint64(0x80000000))
    out = ((i1 << np.uint64(32)) | i2).view(np.float64)
    out[v == 0] = 0.0
    infinite = ((x1 & np.uint64(0x7FFFFFFF)) == 0x7FFFFFFF) & (x2 == 0xFFFFFFFF)
    if infinite.any():
        out[infinite] = np.where(x1[infinite] & np.uint64(0x80000000), -np.inf, np.inf)
    # missing values ('.', '.A'-'.Z', '._': that byte, then zeros) and any other "one byte, then zeros"
    out[(first != 0) & ((v & np.uint64(0x00FFFFFFFFFFFFFF)) == 0)] = np.nan
    return out


def _date(days: float) -> dt.date:
    return (SAS_ORIGIN + dt.timedelta(int(days))).date()   # C's (int) cast: toward zero, as pyreadstat


def _datetime(seconds: float) -> dt.datetime:
    return SAS_ORIGIN + dt.timedelta(int(math.floor(seconds / 86400)), int(seconds % 86400),
                                     int(round(seconds % 1 * 1e6)))


def _time(seconds: float) -> dt.time:
    return _datetime(seconds).time()


CONVERT = {"date": _date, "datetime": _datetime, "time": _time}


# ------------------------------------------------------------------------------------------ the read
def _hash_text(buffer: Any, rows: int, row_length: int, position: int, width: int) -> tuple[np.ndarray, Any]:
    """One character variable of a chunk → (codes into the chunk's distinct raw values, those values as an
    Arrow binary array). Arrow hashes values of up to 8 bytes as integers, longer ones where they lie in the
    chunk (a binary view of each record's bytes) or, up to 12 bytes (which a view holds inline), as a copy."""
    import pyarrow as pa

    if width <= 8:   # the value as an integer (8 bytes read, those after it zeroed): the cheapest hash
        keys = np.ndarray((rows,), dtype=">u8", buffer=buffer, offset=position, strides=(row_length,)).astype(np.uint64)
        if width < 8:
            keys &= np.uint64(~((1 << (8 * (8 - width))) - 1) & 0xFFFFFFFFFFFFFFFF)
        encoded = pa.array(keys).dictionary_encode()
        distinct = encoded.dictionary.to_numpy().astype(">u8").view(np.uint8).reshape(-1, 8)[:, :width].copy()
        values = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(distinct), [None, pa.py_buffer(distinct)])
        return (encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False), values.cast(pa.binary()))
    if width > 12:
        views = np.empty((rows, 4), dtype=np.int32)
        views[:, 0] = width
        views[:, 1] = np.ndarray((rows,), dtype=np.int32, buffer=buffer, offset=position, strides=(row_length,))
        views[:, 2] = 0
        views[:, 3] = np.arange(position, position + rows * row_length, row_length, dtype=np.int64)
        values = pa.Array.from_buffers(pa.binary_view(), rows, [None, pa.py_buffer(views), pa.py_buffer(buffer)])
    else:
        compact = np.ndarray((rows,), dtype=f"V{width}", buffer=buffer, offset=position, strides=(row_length,)).copy()
        values = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), rows, [None, pa.py_buffer(compact)])
    encoded = values.dictionary_encode()
    return (encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False),
            encoded.dictionary.cast(pa.binary()))   # a copy: the chunk's buffer is reused


def _decode(raw: Any, encoding: str = "utf-8") -> tuple[np.ndarray, np.ndarray]:
    """Distinct raw values → (code of each into the distinct decoded texts, those texts), decoded as readstat
    and pyreadstat do (`_c_string`); vectorised for UTF-8 unless a value holds a NUL or is not UTF-8."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        if encoding != "utf-8" or pc.any(pc.match_substring(raw, "\x00")).as_py():
            raise ValueError("per value")
        texts = pc.utf8_rtrim(raw.cast(pa.string()), characters=" ")
    except (ValueError, pa.ArrowInvalid):   # raises UnicodeDecodeError as pyreadstat does
        texts = pa.array([_c_string(v, encoding) for v in raw.to_pylist()], type=pa.string())
    encoded = texts.dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False), encoded.dictionary


def _chunk(path: Path, lay: Layout, keep: list[Variable], start: int, count: int) -> dict[str, Any]:
    """Records start … start+count-1: each text variable hashed, each number converted."""
    size = count * lay.row_length
    buffer = bytearray(size + 8)                    # 8 spare bytes: numbers are read 8 bytes at a time
    with path.open("rb", buffering=0) as fh:
        fh.seek(lay.data_start + start * lay.row_length)
        if fh.readinto(memoryview(buffer)[:size]) != size:
            raise OSError(f"{path}: the file changed while it was read")
    out: dict[str, Any] = {}
    for v in keep:
        if v.text:
            out[v.name] = _hash_text(buffer, count, lay.row_length, v.position, v.width)
        else:
            out[v.name] = ibm_to_ieee(buffer, count, lay.row_length, v.position, v.width)
    return out


def read_xpt(path: Path, wanted: Collection[str] | None, encoded: bool, identifier: str | None = None,
             workers: int | None = None, encoding: str = AUTO) -> tuple[pd.DataFrame, Layout, Any]:
    """The wanted variables (upper-case names; None: all) as a frame: text as Categoricals (`encoded`) or
    objects; numbers as float64; dates, datetimes and times as objects (or Categoricals of them). Chunks of
    4 MB are read and converted by `workers` threads (numpy and Arrow release the GIL). The subject id
    (`identifier`, a text variable) is, with `encoded`, trimmed, blanks missing, and also returned in Arrow
    form for the join. A transport file does not record its encoding: `auto` reads UTF-8, and a file whose
    text is not UTF-8 as Windows-1252 (SAS's wlatin1; `frame.attrs["text_encoding"]` says so)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa


    lay = layout(path)
    keep = [v for v in lay.variables if wanted is None or v.name.upper() in wanted]
    per_chunk = max(1, CHUNK_BYTES // lay.row_length)
    starts = list(range(0, lay.rows, per_chunk))
    numbers = {v.name: np.empty(lay.rows, dtype=np.float64) for v in keep if not v.text}
    chunk_codes: dict[str, list[np.ndarray]] = {v.name: [] for v in keep if v.text}
    chunk_values: dict[str, list[Any]] = {v.name: [] for v in keep if v.text}
    threads = workers or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = pool.map(lambda s: (s, _chunk(path, lay, keep, s, min(per_chunk, lay.rows - s))), starts)
        for start, out in results:
            for v in keep:
                if v.text:
                    codes, values = out[v.name]
                    chunk_codes[v.name].append(codes)
                    chunk_values[v.name].append(values)
                else:
                    array = out[v.name]
                    numbers[v.name][start:start + len(array)] = array
    used = _encoding_of(chunk_values, encoding)
    columns, ids = _assemble(keep, chunk_codes, chunk_values, numbers, lay.rows, encoded, identifier, used)
    pa.default_memory_pool().release_unused()
    frame = pd.DataFrame(columns, copy=False) if columns else pd.DataFrame(index=pd.RangeIndex(lay.rows))
    if ids is not None:
        frame.attrs["clean_text"] = [identifier.upper()]
    if used != "utf-8":
        frame.attrs["text_encoding"] = used
    return frame, lay, ids


def _encoding_of(chunk_values: dict[str, list[Any]], encoding: str) -> str:
    """The codec of the file's text: the plan's, else UTF-8 if every distinct value is UTF-8, else the first of
    `encoding.NOT_UTF8` that decodes them all (latin-1 decodes any byte). Only distinct values are looked at."""
    import pyarrow as pa

    if encoding != AUTO:
        return encoding
    raw = [v for values in chunk_values.values() for v in values]
    try:
        for v in raw:
            v.cast(pa.string())
        return "utf-8"
    except pa.ArrowInvalid:   # or bytes after a NUL, which readstat never decodes: value by value
        pass
    for codec in ("utf-8", *NOT_UTF8):
        try:
            for v in raw:
                for text in v.to_pylist():
                    _c_string(text, codec)
            return codec
        except UnicodeDecodeError:
            continue
    return NOT_UTF8[-1]


def _assemble(keep: list[Variable], chunk_codes: dict[str, list[np.ndarray]], chunk_values: dict[str, list[Any]],
              numbers: dict[str, np.ndarray], rows: int, encoded: bool, identifier: str | None,
              encoding: str) -> tuple[dict[str, Any], Any]:
    """The frame's columns from the chunks' codes and raw distinct values (text decoded with `encoding`)."""
    columns: dict[str, Any] = {}
    ids = None
    for v in keep:
        if v.text:
            codes, values = _merge(chunk_codes.pop(v.name), chunk_values.pop(v.name), rows, encoding)
            if encoded and identifier is not None and v.name.strip().upper() == identifier.upper():
                codes, values = clean_ids(codes, values)
                ids = arrow_ids(codes, values)
                columns[v.name] = id_objects(codes, values)
                continue
            categories = values.to_numpy(zero_copy_only=False).astype(object)
            columns[v.name] = categorical(codes, categories) if encoded else categories[codes]
        elif v.kind == "number":
            columns[v.name] = numbers.pop(v.name)
        else:
            # datetimes stay objects either way: the frame makes them datetime64, as pyreadstat's frame does
            columns[v.name] = _objects(numbers.pop(v.name), CONVERT[v.kind], encoded and v.kind != "datetime")
    return columns, ids


def _merge(codes: list[np.ndarray], values: list[Any], rows: int,
           encoding: str = "utf-8") -> tuple[np.ndarray, np.ndarray]:
    """Per-chunk codes and distinct raw values → codes of every record into the distinct decoded texts."""
    import pyarrow as pa

    raw = pa.concat_arrays(values) if values else pa.array([], type=pa.binary())
    together = raw.dictionary_encode()
    to_text, texts = _decode(together.dictionary, encoding)
    lookup = to_text[together.indices.to_numpy(zero_copy_only=False)]
    out = np.empty(rows, dtype=np.int32)
    offset = at = 0
    for chunk, chunk_raw in zip(codes, values):
        out[at:at + len(chunk)] = lookup[offset:offset + len(chunk_raw)][chunk]
        at += len(chunk)
        offset += len(chunk_raw)
    return out, texts


def _objects(values: np.ndarray, convert: Any, encoded: bool) -> Any:
    """SAS dates / datetimes / times as Python objects, each distinct number converted once; NaN stays NaN
    (as pyreadstat leaves it)."""
    found, uniques = pd.factorize(values, use_na_sentinel=True)
    converted = [convert(float(u)) for u in uniques]
    if encoded:
        merged: dict[Any, int] = {}
        remap = np.array([merged.setdefault(c, len(merged)) for c in converted] + [-1], dtype=np.int32)
        return categorical(remap[found], np.array(list(merged), dtype=object))
    objects = np.empty(len(converted) + 1, dtype=object)
    objects[:-1] = converted
    objects[-1] = np.nan
    return objects[found]

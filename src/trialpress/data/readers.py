"""Read one ADaM dataset from SAS XPT, CSV or Parquet into a pandas frame, without guessing.

CSV is read as text and typed afterwards by `typing.apply_types` (so '007' stays '007'
unless the plan says the column is numeric). XPT and Parquet carry their own types.
Every failure is a `DataError` naming the file and what to do.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pandas as pd

from trialpress.errors import DataError

from trialpress.data.files import FORMATS, find_dataset_file  # noqa: F401  (re-exported)
# what a file really is, by its first bytes (to say so when a file carries the wrong extension)
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"HEADER RECORD*******LIB", "a SAS transport (XPT) file"),
    (b"PAR1", "a Parquet file"),
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook?)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\x00\x00\x00\x00\x00\x00\x00\x00", "a SAS7BDAT or other binary file"),
    (b"%PDF", "a PDF document"),
)


def read_dataset(path: Path, columns: Collection[str] | None = None, identifier: str | None = None) -> pd.DataFrame:
    """Read a dataset file; `columns` (case-insensitive) limits what is read. Every column name of the file
    stays known in `frame.attrs["all_columns"]` (for messages about missing or misplaced variables).
    `identifier` names the subject id: nearly one value per subject, so Parquet reads it as plain text."""
    wanted = None if columns is None else {c.upper() for c in columns}
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: unsupported file type {path.suffix!r}.", hint="Use .xpt, .csv or .parquet.")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(f"{path} cannot be opened ({exc.strerror or exc}).",
                        hint="Check that the file exists and is readable.") from None
    if size == 0:
        raise DataError(f"{path} is empty (0 bytes).", hint="Re-export the dataset.")
    try:
        if kind == "csv":
            frame = _read_csv(path, wanted)
        elif kind == "parquet":
            frame = _read_parquet(path, wanted, identifier)
        else:
            frame = _read_xpt(path, wanted)
    except DataError:
        raise
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1 if isinstance(exc.object, bytes) else "?"
        raise DataError(f"{path}: not valid UTF-8 text (line {line}, byte {exc.start}: {exc.reason}).",
                        hint="Export the CSV as UTF-8 (or convert it, e.g. iconv -f latin1 -t utf-8).") from None
    except PermissionError:
        raise DataError(f"{path} cannot be read: permission denied.",
                        hint="Make the file readable for the user running trialpress.") from None
    except Exception as exc:  # noqa: BLE001 - every reader failure becomes an actionable message
        actual = _sniff(path)
        what = f" It looks like {actual}." if actual and not _matches(actual, kind) else ""
        detail = " ".join(str(exc).split())[:300]
        raise DataError(f"{path}: cannot be read as {kind.upper()} ({type(exc).__name__}: {detail}).{what}",
                        hint="Check that the file is complete and really is that format (the extension must match "
                             "the content); re-export it if truncated.") from None
    frame.columns = [str(c).strip().upper() for c in frame.columns]
    frame.attrs["all_columns"] = [str(c).strip().upper() for c in frame.attrs.get("all_columns", frame.columns)]
    names = frame.attrs["all_columns"]
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise DataError(f"{path}: column names repeated (case-insensitive): {', '.join(dupes)}.",
                        hint="Each variable must appear once.")
    if not frame.attrs["all_columns"]:
        raise DataError(f"{path}: no columns.", hint="Re-export the dataset.")
    if len(frame) == 0 and frame.shape[1] > 0:
        raise DataError(f"{path} has variable names but no records.",
                        hint="Re-export the dataset with its records; if the study truly has none, remove the plan "
                             "sections that need this dataset.")
    return frame


def _sniff(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError:
        return None
    for magic, what in MAGIC:
        if head.startswith(magic):
            return what
    return None


def _matches(actual: str, kind: str) -> bool:
    return (kind == "xpt" and "XPT" in actual) or (kind == "parquet" and "Parquet" in actual)


def _read_csv(path: Path, wanted: set[str] | None) -> pd.DataFrame:
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{path}: the file is UTF-16 text, not UTF-8.",
                        hint="Save the CSV as UTF-8 (e.g. iconv -f utf-16 -t utf-8).")
    actual = _sniff(path)
    if actual is not None or b"\x00" in raw[:4096]:
        raise DataError(f"{path}: this is not a CSV text file; it looks like {actual or 'a binary file'}.",
                        hint="Export the dataset as CSV (or give the file the extension of its real format: "
                             ".xpt or .parquet).")
    text = raw.decode("utf-8-sig")
    if not text.strip():
        raise DataError(f"{path} holds no data.", hint="Re-export the dataset.")
    header = next(csv.reader(io.StringIO(text)), [])
    names = [h.strip().upper() for h in header]
    dupes = sorted({n for n in names if n and names.count(n) > 1})
    if dupes:  # pandas would rename them silently (AGE, AGE.1)
        raise DataError(f"{path}: column names repeated (case-insensitive): {', '.join(dupes)}.",
                        hint="Each variable must appear once in the header.")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""], engine="c")
    except pd.errors.ParserError as exc:
        msg = " ".join(str(exc).split())
        raise DataError(f"{path}: malformed CSV ({msg}).",
                        hint="Check quoting on the line named: a field with a comma, quote or newline must be "
                             "enclosed in double quotes, and a quote inside it doubled (\"\").") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} holds no data.", hint="Re-export the dataset.") from None
    _check_field_counts(path, text, len(header))
    if wanted is not None:   # CSV text is parsed whole (its structure is checked), then narrowed
        frame = frame[[c for c in frame.columns if str(c).strip().upper() in wanted]]
    frame.attrs["all_columns"] = header
    return frame


def _check_field_counts(path: Path, text: str, width: int) -> None:
    """Every record has as many fields as the header (pandas pads short rows silently)."""
    reader = csv.reader(io.StringIO(text))
    try:
        for row in reader:
            if row and len(row) != width:
                line = reader.line_num
                last = not text.endswith(("\n", "\r")) and line >= text.count("\n") + 1
                why = " (the file ends in the middle of a record: truncated?)" if last else ""
                raise DataError(
                    f"{path}: line {line} has {len(row)} field(s), the header has {width}{why}.",
                    hint="Re-export the file; if a value holds a comma, quote or newline it must be enclosed in "
                         "double quotes.")
    except csv.Error as exc:
        raise DataError(f"{path}: malformed CSV near line {reader.line_num} ({exc}).",
                        hint="Check quoting on that line.") from None


def _read_parquet(path: Path, wanted: set[str] | None, identifier: str | None) -> pd.DataFrame:
    """Only the wanted columns. Text is dictionary-encoded (a pandas Categorical: each distinct value is typed
    once, and large data never hold a Python string per row), except the subject id, whose distinct values
    are nearly as many as its rows: it is trimmed, blanks made missing, in Arrow and listed as clean text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    keep = [f.name for f in schema if wanted is None or f.name.upper() in wanted]
    text = {f.name for f in schema if f.name in keep and _is_text(f.type)}
    plain = {n for n in text if identifier and n.strip().upper() == identifier.upper()}
    table = pq.read_table(path, columns=keep, read_dictionary=sorted(text - plain))
    for name in plain:
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, _clean_ids(table.column(i)))
    # Parquet dates (date32) become datetimes, not objects; each Arrow column is freed once converted
    frame = table.to_pandas(date_as_object=False, split_blocks=True, self_destruct=True)
    del table
    pa.default_memory_pool().release_unused()
    frame.attrs["all_columns"] = list(schema.names)
    frame.attrs["clean_text"] = sorted(n.strip().upper() for n in plain)
    return frame


def _is_text(arrow_type: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type))


def _clean_ids(ids: Any) -> Any:
    """Identifiers trimmed, blanks made missing (as the typing of every other text column does)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim_whitespace(ids)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, trimmed.type), trimmed)


def read_identifiers(path: Path, identifier: str) -> Any:
    """A Parquet file's subject ids as a cleaned Arrow array (None for other formats or non-text ids)."""
    if FORMATS.get(path.suffix.lower()) != "parquet":
        return None
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    name = next((f.name for f in schema if f.name.strip().upper() == identifier.upper()), None)
    if name is None or not _is_text(schema.field(name).type):
        return None
    return _clean_ids(pq.read_table(path, columns=[name]).column(0))


def _read_xpt(path: Path, wanted: set[str] | None) -> pd.DataFrame:
    import pyreadstat

    size = path.stat().st_size
    if size % 80:  # SAS transport files (v5 and v8) are whole 80-byte records
        raise DataError(f"{path}: cannot be read as XPT: the SAS transport file is incomplete ({size} bytes, not whole 80-byte records): "
                        "it was truncated in copying or export.",
                        hint="Copy or export the XPT file again.")

    _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
    names = list(meta.column_names)
    usecols = None if wanted is None else [n for n in names if n.upper() in wanted]
    frame, meta = pyreadstat.read_xport(str(path), usecols=usecols)
    frame.attrs["all_columns"] = names
    if getattr(meta, "table_name", None):
        frame.attrs["table_name"] = str(meta.table_name)
    return frame

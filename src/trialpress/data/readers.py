"""Read one ADaM dataset from SAS XPT, CSV, Parquet, a SAS dataset (sas7bdat) or CDISC Dataset-JSON into a pandas
frame, without guessing.

CSV is read as text and typed afterwards by `loading.apply_types` (so '007' stays '007'
unless the plan says the column is numeric). XPT and Parquet carry their own types.
Large files: only the columns asked for are read, CSV by Arrow's multi-threaded reader (`csv_arrow`), XPT in
chunks (`xpt_chunks`), and with `encoded` text arrives dictionary-encoded (a pandas Categorical), as Parquet
text always does. Every failure is a `DataError` naming the file and what to do.
"""

from __future__ import annotations

import codecs
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pandas as pd

from trialpress.data.encoding import AUTO, NOT_UTF8
from trialpress.data.memory import use_system_pool
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
# a SAS dataset's header: 12 zero bytes, then SAS's magic number (ReadStat's sas7bdat reader checks the same 32 bytes)
SAS7BDAT_MAGIC = bytes(12) + bytes.fromhex("c2ea8160b31411cfbd92080009c7318c181f1011")


class Names(tuple[str, ...]):
    """Column names kept in `DataFrame.attrs`: immutable, and their deep copy is themselves. pandas deep-copies
    `attrs` into the result of nearly every operation (about 1,000 times in a render of the flagship, each
    copying the lists name by name); names read from a file never change, so one tuple can be shared."""

    __slots__ = ()

    def __copy__(self) -> Names:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Names:
        return self


def read_dataset(path: Path, columns: Collection[str] | None = None, identifier: str | None = None, *,
                 encoded: bool = False, encoding: str = AUTO) -> pd.DataFrame:
    """Read a dataset file; `columns` (case-insensitive) limits what is read. Every column name of the file
    stays known in `frame.attrs["all_columns"]` (for messages about missing or misplaced variables).
    `identifier` names the subject id: nearly one value per subject, so Parquet reads it as plain text.
    `encoded` (the loader's reads): CSV and XPT text as Categoricals (each distinct value typed once, no
    Python string per row), the subject id trimmed with blanks missing, and its Arrow form kept for the
    subject join (`read_identifiers`); without it, text as objects, as pandas and pyreadstat give it.
    Parquet text is always a Categorical. `encoding` is the text encoding of XPT and CSV files (`data.encoding`:
    auto reads UTF-8, else Windows-1252; `frame.attrs["text_encoding"]` names a codec other than UTF-8 used)."""
    wanted = None if columns is None else {c.upper() for c in columns}
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: unsupported file type {path.suffix!r}.",
                        hint="Use .xpt, .csv, .parquet, .sas7bdat or Dataset-JSON (.json, .ndjson).")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(f"{path} cannot be opened ({exc.strerror or exc}).",
                        hint="Check that the file exists and is readable.") from None
    if size == 0:
        raise DataError(f"{path} is empty (0 bytes).", hint="Re-export the dataset.")
    use_system_pool()
    try:
        frame = _read_kind(kind, path, wanted, identifier, encoded, encoding)
    except DataError:
        raise
    except UnicodeDecodeError as exc:   # only with a plan's data.encoding: `auto` falls back to Windows-1252
        raise DataError(f"{path}: text is not valid {exc.encoding} ({exc.reason}), the encoding the plan's "
                        f"data.encoding names.",
                        hint="Set data.encoding to the file's encoding (e.g. cp1252 for SAS on Windows, shift_jis), "
                             "or to 'auto'.") from None
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
    frame.attrs["all_columns"] = Names(str(c).strip().upper() for c in frame.attrs.get("all_columns", frame.columns))
    if "clean_text" in frame.attrs:
        frame.attrs["clean_text"] = Names(frame.attrs["clean_text"])
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


def variable_labels(path: Path) -> dict[str, str]:
    """The variable labels the file records (XPT, sas7bdat, Dataset-JSON; CSV and Parquet record none), by upper-case
    name, for `init`'s suggestions. A courtesy: a file that cannot give them gives none (reading it says why)."""
    kind = FORMATS.get(path.suffix.lower())
    try:
        if kind in ("xpt", "sas7bdat"):
            import pyreadstat

            read = pyreadstat.read_xport if kind == "xpt" else pyreadstat.read_sas7bdat
            _, meta = read(str(path), metadataonly=True)
            pairs = list(meta.column_names_to_labels.items())
        elif kind == "dataset-json":
            from trialpress.data.dataset_json import column_labels

            pairs = column_labels(path)
        else:
            return {}
    except Exception:  # noqa: BLE001 - see the docstring
        return {}
    return {str(n).strip().upper(): " ".join(str(label).split()) for n, label in pairs
            if label is not None and str(label).strip()}


def _read_kind(kind: str, path: Path, wanted: set[str] | None, identifier: str | None,
               encoded: bool, encoding: str) -> pd.DataFrame:
    if kind == "csv":
        return _read_csv(path, wanted, identifier, encoded, encoding)
    if kind == "parquet":
        return _read_parquet(path, wanted, identifier)
    if kind == "sas7bdat":
        return _read_sas7bdat(path, wanted)
    if kind == "dataset-json":
        from trialpress.data.dataset_json import read_dataset_json

        return read_dataset_json(path, wanted)
    return _read_xpt(path, wanted, identifier, encoded, encoding)


def _sniff(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError:
        return None
    return _sniff_bytes(head)


def _sniff_bytes(head: bytes) -> str | None:
    if head.startswith(SAS7BDAT_MAGIC):
        return "a SAS dataset (sas7bdat)"
    for magic, what in MAGIC:
        if head.startswith(magic):
            return what
    return None


def _matches(actual: str, kind: str) -> bool:
    return ((kind == "xpt" and "XPT" in actual) or (kind == "parquet" and "Parquet" in actual)
            or (kind == "sas7bdat" and "sas7bdat" in actual))


SEPARATORS = {";": "semicolon", "\t": "tab", "|": "vertical bar"}


def _refuse_other_separators(path: Path, header: list[str]) -> None:
    """A header of one field holding several semicolons (a spreadsheet's export in a locale whose decimal mark
    is a comma), tabs or bars: the file is not comma-separated, and read as CSV every variable would be missing.
    It is refused by name rather than guessed at (its numbers may have decimal commas)."""
    if len(header) != 1:
        return
    for sep, name in SEPARATORS.items():
        if header[0].count(sep) >= 2:
            raise DataError(f"{path}: the header line has no commas but {header[0].count(sep)} {name}s: the file is "
                            f"{name}-separated, not comma-separated.",
                            hint="Export it as CSV with commas between values and points as decimal marks (in a "
                                 "spreadsheet: CSV UTF-8, comma delimited), or as XPT.")


def _read_csv(path: Path, wanted: set[str] | None, identifier: str | None, encoded: bool,
              encoding: str = AUTO) -> pd.DataFrame:
    """The checks that need only the first bytes and the header line, then Arrow (`csv_arrow`), which checks
    the rest of the file's structure as it reads."""
    from trialpress.data.csv_arrow import first_row_after_blank_header, read_csv_arrow, read_header

    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise DataError(f"{path}: the file is UTF-16 text, not UTF-8.",
                            hint="Save the CSV as UTF-8 (e.g. iconv -f utf-16 -t utf-8).")
        actual = _sniff_bytes(head)
        if actual is not None or b"\x00" in head[:4096]:
            raise DataError(f"{path}: this is not a CSV text file; it looks like {actual or 'a binary file'}.",
                            hint="Export the dataset as CSV (or give the file the extension of its real format: "
                                 ".xpt, .parquet, .sas7bdat or .json).")
        bom = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
        rest = head[bom:]
        while not rest.strip() and fh.tell() < size:   # leading blank space: find the first text
            rest = fh.read(1 << 20)
        if not rest.strip():
            raise DataError(f"{path} holds no data.", hint="Re-export the dataset.")
        header, whole = read_header(head, bom)
        while not whole and len(head) < size:           # a header longer than what was read
            fh.seek(0)
            head = fh.read(4 * len(head))
            header, whole = read_header(head, bom)
    if not header:   # a blank first line: the header is empty, and the first record has too many fields
        first = first_row_after_blank_header(head, bom)
        line, fields = first if first else (2, 1)
        raise DataError(f"{path}: line {line} has {fields} field(s), the header has 0.",
                        hint="Re-export the file; if a value holds a comma, quote or newline it must be enclosed in "
                             "double quotes.")
    _refuse_other_separators(path, header)
    names = [h.strip().upper() for h in header]
    dupes = sorted({n for n in names if n and names.count(n) > 1})
    if dupes:  # pandas would rename them silently (AGE, AGE.1)
        raise DataError(f"{path}: column names repeated (case-insensitive): {', '.join(dupes)}.",
                        hint="Each variable must appear once in the header.")
    unnamed = [i for i, n in enumerate(names, 1) if not n]
    if len(unnamed) > 1:
        raise DataError(f"{path}: {len(unnamed)} header fields have no name (columns "
                        f"{', '.join(map(str, unnamed))}).",
                        hint="Name every column in the header line (each variable must appear once).")
    keep = [h for h in header if wanted is None or h.strip().upper() in wanted]
    frame, ids = read_csv_arrow(path, header, keep, bom, encoded, identifier, encoding)
    # an unnamed column is named as pandas names it ('Unnamed: 3')
    frame.columns = [c if c.strip() else f"Unnamed: {header.index(c)}" for c in frame.columns]
    frame.attrs["all_columns"] = list(header)
    _keep_identifiers(path, identifier, ids)
    return frame


# ---------------------------------------------------------------------------- subject ids kept for the join
# The Arrow form (dictionary-encoded, trimmed, blanks missing) of the subject ids of the CSV and XPT files
# just read, keyed by file and identifier and checked against the file's size and time: `read_identifiers`
# hands each out once, so the subject join hashes each distinct id once instead of a Python string per row.
_IDS: dict[tuple[str, str], tuple[tuple[int, int], Any]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _keep_identifiers(path: Path, identifier: str | None, ids: Any) -> None:
    if identifier is None or ids is None:
        return
    _IDS[(str(path), identifier.upper())] = (_stamp(path), ids)
    while len(_IDS) > 8:   # never more than a study's few files
        _IDS.pop(next(iter(_IDS)))


def forget_identifiers() -> None:
    """Drop the subject ids kept for the join (once the loader has joined)."""
    _IDS.clear()


def _read_parquet(path: Path, wanted: set[str] | None, identifier: str | None) -> pd.DataFrame:
    """Only the wanted columns. Text is dictionary-encoded (a pandas Categorical: each distinct value is typed
    once, and large data never hold a Python string per row), except the subject id, whose distinct values
    are nearly as many as its rows: it is trimmed, blanks made missing, in Arrow and listed as clean text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from trialpress.data.csv_arrow import clean_text

    schema = pq.read_schema(path)
    keep = [f.name for f in schema if wanted is None or f.name.upper() in wanted]
    text = {f.name for f in schema if f.name in keep and _is_text(f.type)}
    plain = {n for n in text if identifier and n.strip().upper() == identifier.upper()}
    table = pq.read_table(path, columns=keep, read_dictionary=sorted(text - plain))
    for name in plain:
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, clean_text(table.column(i)))
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


def read_identifiers(path: Path, identifier: str) -> Any:
    """A file's subject ids as a cleaned Arrow array: read from a Parquet file, or those kept when a CSV or
    XPT file was just read (each handed out once); None otherwise (or for non-text ids)."""
    if FORMATS.get(path.suffix.lower()) != "parquet":
        kept = _IDS.pop((str(path), identifier.upper()), None)
        try:
            return kept[1] if kept is not None and kept[0] == _stamp(path) else None
        except OSError:
            return None
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    name = next((f.name for f in schema if f.name.strip().upper() == identifier.upper()), None)
    if name is None or not _is_text(schema.field(name).type):
        return None
    from trialpress.data.csv_arrow import clean_text

    return clean_text(pq.read_table(path, columns=[name]).column(0))


def _read_xpt(path: Path, wanted: set[str] | None, identifier: str | None, encoded: bool,
              encoding: str = AUTO) -> pd.DataFrame:
    """Version 5 transport files in chunks (`xpt_chunks`); anything else as pyreadstat reads it."""
    from trialpress.data import xpt_chunks

    size = path.stat().st_size
    if size % 80:  # SAS transport files (v5 and v8) are whole 80-byte records
        raise DataError(f"{path}: cannot be read as XPT: the SAS transport file is incomplete ({size} bytes, not whole 80-byte records): "
                        "it was truncated in copying or export.",
                        hint="Copy or export the XPT file again.")
    try:
        frame, lay, ids = xpt_chunks.read_xpt(path, wanted, encoded, identifier, encoding=encoding)
    except xpt_chunks.Unsupported:
        return _read_xpt_pyreadstat(path, wanted, encoding)
    frame.attrs["all_columns"] = [v.name for v in lay.variables]
    if lay.table_name:
        frame.attrs["table_name"] = lay.table_name
    _keep_identifiers(path, identifier, ids)
    return frame


def _read_sas7bdat(path: Path, wanted: set[str] | None) -> pd.DataFrame:
    """A SAS dataset as pyreadstat (ReadStat) reads it: text in the file's own encoding, SAS date and datetime
    formats as dates, as for XPT."""
    import pyreadstat

    return _read_pyreadstat(pyreadstat.read_sas7bdat, path, wanted)


def _read_xpt_pyreadstat(path: Path, wanted: set[str] | None, encoding: str = AUTO) -> pd.DataFrame:
    import pyreadstat

    tried = ("utf-8", *NOT_UTF8) if encoding == AUTO else (encoding,)   # latin-1, the last, decodes any byte
    for used in tried[:-1]:
        try:
            frame = _read_pyreadstat(pyreadstat.read_xport, path, wanted, used)
            break
        except UnicodeDecodeError:
            continue
    else:
        used = tried[-1]
        frame = _read_pyreadstat(pyreadstat.read_xport, path, wanted, used)
    if used != "utf-8":
        frame.attrs["text_encoding"] = used
    return frame


def _read_pyreadstat(read: Any, path: Path, wanted: set[str] | None, encoding: str | None = None) -> pd.DataFrame:
    """The needed variables only (`usecols`), every name of the file kept for messages, and its table name;
    text in `encoding` (Python's codec name; none: the file's own, else UTF-8)."""
    named = {} if encoding is None else {"encoding": encoding.upper()}   # ReadStat takes iconv's names
    _, meta = read(str(path), metadataonly=True, **named)
    names = list(meta.column_names)
    usecols = None if wanted is None else [n for n in names if n.upper() in wanted]
    frame, meta = read(str(path), usecols=usecols, **named)
    frame.attrs["all_columns"] = names
    if getattr(meta, "table_name", None):
        frame.attrs["table_name"] = str(meta.table_name)
    return frame

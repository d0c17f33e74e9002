"""CDISC Dataset-JSON: the exchange format that regulators accept beside SAS XPT (FDA since 2025), read as the
other readers read a file.

* Version 1.1 (`datasetJSONVersion` 1.1.x): `columns` (name, dataType, targetDataType, displayFormat) and
  `rows`, one array of values per record, in a `.json` file or as NDJSON (`.ndjson`: the metadata object on
  the first line, then one row per line).
* Version 1.0 (1.0.x): `clinicalData` or `referenceData` → `itemGroupData` → one item group with `items`
  and `itemData`; its record counter ITEMGROUPDATASEQ is not a variable of the dataset and is left out.

Values are typed by the column's declared dataType, never guessed: string and URI as text; integer, float,
double and decimal (which 1.1 writes as a JSON string to keep its digits) as numbers; date, datetime and time
as ISO 8601 text, or as SAS numbers (days or seconds since 1960-01-01) where the writer kept the numeric form;
a number with a SAS date format (`displayFormat` DATE9.) as a date, as in XPT. A number written as the text NA
(R's missing value) is missing, and `attrs["r_missing"]` says so for the methods. Dates become datetimes and
times `datetime.time` values, as the XPT reader gives them. A value that does not fit its dataType is an error
naming the record, never a silent missing value.

Why no library: the Python packages of the format on PyPI convert SAS files to Dataset-JSON (dsjconvert) or
validate it inside a rules engine; none reads it into typed columns. The parse is Python's json module; the
typing works on each column's distinct values (`dates.parse_text`), as the CSV reader does.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trialpress.data.dates import ACCEPTED, distinct_text, on_rows, parse_text
from trialpress.data.xpt_chunks import sas_format_kind
from trialpress.errors import DataError

NUMBERS = frozenset({"integer", "float", "double", "decimal"})
TEXT = frozenset({"string", "uri"})
WHEN = frozenset({"date", "datetime", "time"})
SAS_ORIGIN = pd.Timestamp("1960-01-01")
R_MISSING = "NA"
HINT = "Export the dataset again as Dataset-JSON (CDISC Dataset-JSON 1.1), or as XPT, CSV or Parquet."


def read_dataset_json(path: Path, wanted: set[str] | None) -> pd.DataFrame:
    """The file's records with the wanted columns (upper-case names; None: all), typed by their dataType;
    `attrs`: every column name (`all_columns`), the dataset name (`table_name`) and the format's version."""
    meta, columns, rows = _parse(path)
    names = [str(c.get("name", "")).strip() for c in columns]
    if not names or any(not n for n in names):
        raise DataError(f"{path}: a column of the Dataset-JSON file has no name.", hint=HINT)
    width = len(names)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            got = len(row) if isinstance(row, list) else type(row).__name__
            raise DataError(f"{path}: record {i + 1} has {got} value(s), the file declares {width} columns.",
                            hint=HINT)
    declared = meta.get("records")
    if isinstance(declared, int) and declared != len(rows):
        raise DataError(f"{path}: the file declares {declared} records but holds {len(rows)}: it is incomplete "
                        "(cut off in copying or export) or was edited by hand.", hint=HINT)
    keep = [i for i, n in enumerate(names) if wanted is None or n.upper() in wanted]
    ids = _subject_ids(names, rows)
    data: dict[str, Any] = {}
    r_missing: list[str] = []
    for i in keep:
        values = [row[i] for row in rows]
        data[names[i]] = _typed(values, columns[i], names[i], path, ids, r_missing)
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
    frame.attrs["all_columns"] = names
    if r_missing:
        frame.attrs["r_missing"] = True
    if meta.get("name"):
        frame.attrs["table_name"] = str(meta["name"])
    frame.attrs["dataset_json_version"] = str(meta.get("datasetJSONVersion", ""))
    return frame


def column_labels(path: Path) -> list[tuple[str, str]]:
    """(name, label) of every column the file labels."""
    _, columns, _ = _parse(path)
    return [(str(c.get("name", "")), str(c["label"])) for c in columns if c.get("label")]


# ------------------------------------------------------------------------------------------ the structure
def _parse(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[Any]]:
    """(metadata, column definitions, rows) of a 1.1 file, an NDJSON file or a 1.0 file."""
    raw = path.read_bytes()
    if path.suffix.lower() == ".ndjson":
        lines = [line for line in raw.splitlines() if line.strip()]
        if not lines:
            raise DataError(f"{path} holds no data (blank lines only).", hint=HINT)
        meta = _load(path, lines[0], 1)
        rows = [_load(path, line, n) for n, line in enumerate(lines[1:], 2)]
    else:
        meta = _load(path, raw, None)
        rows = None
    if not isinstance(meta, dict):
        raise DataError(f"{path}: not a Dataset-JSON file (the JSON is not an object).", hint=HINT)
    if "columns" in meta:
        columns = meta["columns"]
        rows = meta.get("rows", []) if rows is None else rows
    elif "clinicalData" in meta or "referenceData" in meta:
        meta, columns, rows = _version_1_0(path, meta)
    else:
        raise DataError(f"{path}: a JSON file without Dataset-JSON's 'columns' (1.1) or 'clinicalData' (1.0).",
                        hint="Only CDISC Dataset-JSON files can be read as .json datasets. " + HINT)
    if not isinstance(columns, list) or not all(isinstance(c, dict) for c in columns) or not isinstance(rows, list):
        raise DataError(f"{path}: 'columns' or 'rows' is not a list as Dataset-JSON defines them.", hint=HINT)
    return meta, columns, rows


def _load(path: Path, text: bytes, line: int | None) -> Any:
    try:
        return json.loads(text.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start + 1}{f' of line {line}' if line else ''}); "
                        "Dataset-JSON files are UTF-8.", hint=HINT) from None
    except json.JSONDecodeError as exc:
        where = f"line {line}" if line else f"line {exc.lineno}, column {exc.colno}"
        raise DataError(f"{path}: not valid JSON at {where} ({exc.msg}); the file is incomplete or damaged.",
                        hint=HINT) from None


def _version_1_0(path: Path, meta: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]], list[Any]]:
    """Dataset-JSON 1.0: the one item group's items (`type`, `displayFormat`) as 1.1 columns, without the
    record counter ITEMGROUPDATASEQ."""
    body = meta.get("clinicalData") or meta.get("referenceData") or {}
    groups = body.get("itemGroupData") if isinstance(body, dict) else None
    if not isinstance(groups, dict) or len(groups) != 1:
        raise DataError(f"{path}: a Dataset-JSON 1.0 file must hold one item group (dataset); it holds "
                        f"{len(groups) if isinstance(groups, dict) else 'none'}.", hint=HINT)
    group = next(iter(groups.values()))
    items, rows = group.get("items", []), group.get("itemData", [])
    if not isinstance(items, list) or not isinstance(rows, list):
        raise DataError(f"{path}: 'items' or 'itemData' is not a list as Dataset-JSON 1.0 defines them.", hint=HINT)
    columns = [{"name": it.get("name"), "dataType": it.get("type"), "displayFormat": it.get("displayFormat")}
               for it in items if isinstance(it, dict)]
    if columns and str(columns[0]["name"]).upper() == "ITEMGROUPDATASEQ":
        columns = columns[1:]
        rows = [r[1:] if isinstance(r, list) else r for r in rows]
    info = {"records": group.get("records"), "name": group.get("name"),
            "datasetJSONVersion": meta.get("datasetJSONVersion", "1.0")}
    return info, columns, rows


def _subject_ids(names: list[str], rows: list[Any]) -> list[Any] | None:
    """The records' USUBJID, to name a record in a message."""
    at = next((i for i, n in enumerate(names) if n.upper() == "USUBJID"), None)
    return None if at is None else [row[at] for row in rows]


# ------------------------------------------------------------------------------------------ the values
def _typed(values: list[Any], column: dict[str, Any], name: str, path: Path, ids: list[Any] | None,
           r_missing: list[str]) -> pd.Series:
    kind = str(column.get("dataType") or "string").lower()
    fmt = sas_format_kind(str(column.get("displayFormat") or ""))
    if kind in NUMBERS and fmt in WHEN:   # a SAS number with a date format (1.0 writes dates so), as in XPT
        return _dates(values, fmt, name, path, ids)
    if kind in NUMBERS or kind == "boolean":
        numbers, na = _numbers(values, name, path, ids, kind)
        if na:
            r_missing.append(name)
        return pd.Series(numbers, dtype=float)
    if kind in WHEN:
        return _dates(values, kind, name, path, ids)
    if kind not in TEXT:
        raise DataError(f"{path}: column {name} has dataType {kind!r}, which Dataset-JSON does not define.",
                        hint="Use string, integer, float, double, decimal, boolean, date, datetime, time or URI.")
    bad = [i for i, v in enumerate(values)   # a number in a text column is kept as its text ('1015')
           if v is not None and not isinstance(v, str) and (isinstance(v, bool) or not isinstance(v, (int, float)))]
    if bad:
        _refuse(values, bad, name, path, ids, "text (dataType string)")
    return pd.Series([v if v is None or isinstance(v, str) else _number_text(v) for v in values], dtype=object)


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _numbers(values: list[Any], name: str, path: Path, ids: list[Any] | None,
             kind: str) -> tuple[np.ndarray, bool]:
    """Numbers, decimals written as text ("1.50") and booleans (1/0); null and blank text are missing, and so is
    the text NA, which R writes for a missing decimal (`sprintf`; the R Submission Pilot 5's files to the FDA
    hold "  NA"). Also says whether an NA was met."""
    try:
        if all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values):
            return np.array(values, dtype=float), False
    except OverflowError:
        pass
    out = np.full(len(values), np.nan)
    bad = []
    na = False
    for i, v in enumerate(values):
        if v is None:
            continue
        if isinstance(v, str) and v.strip() == R_MISSING:
            na = True
            continue
        if isinstance(v, bool):
            if kind == "boolean":
                out[i] = float(v)
                continue
            bad.append(i)
            continue
        try:
            out[i] = float(v.strip() if isinstance(v, str) else v)
        except (TypeError, ValueError, OverflowError):
            if not (isinstance(v, str) and not v.strip()):
                bad.append(i)
    if bad:
        _refuse(values, bad, name, path, ids, f"a number (dataType {kind})")
    return out, na


def _dates(values: list[Any], kind: str, name: str, path: Path, ids: list[Any] | None) -> pd.Series:
    """ISO 8601 text, or SAS numbers (days for a date, seconds for a datetime or time) as the writer kept them."""
    numeric = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if numeric and len(numeric) == sum(v is not None for v in values):
        return _sas_numbers(np.array(values, dtype=float), kind, name, path, ids, values)
    codes, text = distinct_text(pd.Series(values, dtype=object))   # stripped, blank as None; a number stays
    if kind == "time":
        parsed = text.map(_time)
        _refuse_codes(values, codes, (text.notna() & parsed.isna()).to_numpy(), name, path, ids,
                      "a time (ISO 8601: 11:45:00)")
        return pd.Series(on_rows(codes, parsed.to_numpy(dtype=object), None), dtype=object)
    parsed = parse_text(text)
    _refuse_codes(values, codes, (text.notna() & parsed.isna()).to_numpy(), name, path, ids, f"a {kind} ({ACCEPTED})")
    return pd.Series(on_rows(codes, parsed.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns")),
                     dtype="datetime64[ns]")


def _sas_numbers(numbers: np.ndarray, kind: str, name: str, path: Path, ids: list[Any] | None,
                 values: list[Any]) -> pd.Series:
    unit, limit = ("D", 100_000) if kind == "date" else ("s", 100_000 * 86_400)
    bad = np.flatnonzero(~np.isnan(numbers) & (np.abs(numbers) > limit))
    if len(bad):
        _refuse(values, list(bad), name, path, ids, f"a SAS {kind} number (since 1960-01-01)")
    when = SAS_ORIGIN + pd.to_timedelta(numbers, unit=unit)
    if kind == "date":
        when = when.floor("D")
    if kind == "time":
        return pd.Series([None if pd.isna(t) else t.time() for t in when], dtype=object)
    return pd.Series(np.asarray(when, dtype="datetime64[ns]"))


def _time(value: Any) -> dt.time | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        return None


def _refuse_codes(values: list[Any], codes: np.ndarray, lost: np.ndarray, name: str, path: Path,
                  ids: list[Any] | None, what: str) -> None:
    if bool(lost.any()):
        _refuse(values, list(np.flatnonzero(on_rows(codes, lost, False))), name, path, ids, what)


def _refuse(values: list[Any], bad: list[int], name: str, path: Path, ids: list[Any] | None, what: str) -> None:
    shown = ", ".join(f"{'record ' + str(i + 1) if ids is None else ids[i]}: {values[i]!r}" for i in bad[:5])
    raise DataError(f"{path}: column {name} must be {what}, but {len(bad)} value(s) are not ({shown}).",
                    hint="Correct those values (null for a missing value), or the column's dataType in the file.")

"""Read one ADaM dataset from SAS XPT, CSV or Parquet into a pandas frame, without guessing.

CSV is read as text and typed afterwards by `typing.apply_types` (so '007' stays '007'
unless the plan says the column is numeric). XPT and Parquet carry their own types.
Every failure is a `DataError` naming the file and what to do.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from trialpress.errors import DataError

FORMATS: dict[str, str] = {".csv": "csv", ".xpt": "xpt", ".parquet": "parquet", ".pq": "parquet"}


def find_dataset_file(folder: Path, name: str, override: str | None = None) -> Path | None:
    """The file holding dataset `name` (e.g. ADSL) in `folder`: `adsl.csv`, `ADSL.xpt`, `adsl.parquet`…"""
    if override:
        path = folder / override
        if not path.is_file():
            raise DataError(f"The plan names {path} for {name}, but there is no such file.",
                            hint=f"Fix data.files.{name} in the plan or add the file.")
        return path
    if not folder.is_dir():
        raise DataError(f"The data folder {folder} does not exist.",
                        hint="Fix data.folder in the plan (it is relative to the project root).")
    hits = sorted(p for p in folder.iterdir()
                  if p.is_file() and p.stem.lower() == name.lower() and p.suffix.lower() in FORMATS)
    if len(hits) > 1:
        raise DataError(f"{name} exists in more than one file in {folder}: {', '.join(p.name for p in hits)}.",
                        hint=f"Keep one, or name the one to use under data.files.{name} in the plan.")
    return hits[0] if hits else None


def read_dataset(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a dataset file; `columns` limits what is read where the format allows it."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: unsupported file type {path.suffix!r}.", hint="Use .xpt, .csv or .parquet.")
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes).", hint="Re-export the dataset.")
    try:
        if kind == "csv":
            frame = _read_csv(path)
        elif kind == "parquet":
            frame = _read_parquet(path, columns)
        else:
            frame = _read_xpt(path)
    except DataError:
        raise
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 text (byte {exc.start}: {exc.reason}).",
                        hint="Export the CSV as UTF-8 (or convert it, e.g. iconv -f latin1 -t utf-8).") from None
    except Exception as exc:  # noqa: BLE001 - every reader failure becomes an actionable message
        raise DataError(f"{path}: cannot be read as {kind.upper()} ({type(exc).__name__}: {exc}).",
                        hint="Check that the file is complete and really is that format; re-export it if truncated.") from None
    frame.columns = [str(c).strip().upper() for c in frame.columns]
    dupes = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if dupes:
        raise DataError(f"{path}: column names repeated (case-insensitive): {', '.join(dupes)}.",
                        hint="Each variable must appear once.")
    if frame.shape[1] == 0:
        raise DataError(f"{path}: no columns.", hint="Re-export the dataset.")
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    text = path.read_bytes().decode("utf-8-sig")
    if not text.strip():
        raise DataError(f"{path} holds no data.", hint="Re-export the dataset.")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig",
                           engine="c")
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: malformed CSV ({exc}).",
                        hint="Check quoting on the line named: a field with a comma or a newline must be quoted.") from None
    except csv.Error as exc:  # pragma: no cover - python engine only
        raise DataError(f"{path}: malformed CSV ({exc}).") from None


def _read_parquet(path: Path, columns: list[str] | None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    schema_names = pq.read_schema(path).names
    if columns:
        wanted = {c.upper() for c in columns}
        keep = [n for n in schema_names if n.upper() in wanted]
        return pq.read_table(path, columns=keep).to_pandas()
    return pq.read_table(path).to_pandas()


def _read_xpt(path: Path) -> pd.DataFrame:
    import pyreadstat

    frame, _meta = pyreadstat.read_xport(str(path))
    return frame

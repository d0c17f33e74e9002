"""Where a dataset lives in a data folder (`adsl.csv`, `ADSL.xpt`, `adsl.parquet`, `adsl.json` …), without pandas."""

from __future__ import annotations

from pathlib import Path

from trialpress.errors import DataError

FORMATS: dict[str, str] = {".csv": "csv", ".xpt": "xpt", ".parquet": "parquet", ".pq": "parquet",
                            ".sas7bdat": "sas7bdat", ".json": "dataset-json", ".ndjson": "dataset-json"}


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

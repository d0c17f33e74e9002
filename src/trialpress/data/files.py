"""Where a dataset lives in a data folder (`adsl.csv`, `ADSL.xpt`, `adsl.parquet`, `adsl.json` …), without pandas."""

from __future__ import annotations

from pathlib import Path

from trialpress.errors import DataError

FORMATS: dict[str, str] = {".csv": "csv", ".xpt": "xpt", ".parquet": "parquet", ".pq": "parquet",
                            ".sas7bdat": "sas7bdat", ".json": "dataset-json", ".ndjson": "dataset-json"}


def format_of(file_name: str) -> str | None:
    """The format of a file by its extension ('csv', 'xpt', 'dataset-json' …), None if not a dataset file."""
    return FORMATS.get(Path(file_name).suffix.lower())


# which format init reads when a folder holds a dataset in several (a submission in transition carries XPT and
# Dataset-JSON side by side): the regulators' transport format first
INIT_PREFERENCE = ("xpt", "dataset-json", "sas7bdat", "parquet", "csv")


def dataset_files(folder: Path) -> dict[str, list[Path]]:
    """The dataset files of `folder` by upper-case dataset name (ADSL: adsl.xpt, adsl.json …), in any format."""
    out: dict[str, list[Path]] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in FORMATS:
            out.setdefault(p.stem.upper(), []).append(p)
    return out


def find_dataset_file(folder: Path, name: str, override: str | None = None, prefer: str | None = None) -> Path | None:
    """The file holding dataset `name` (e.g. ADSL) in `folder`: `adsl.csv`, `ADSL.xpt`, `adsl.parquet`…; where
    several formats hold it, the one of format `prefer` (the plan's data.format)."""
    if override:
        path = folder / override
        if not path.is_file():
            raise DataError(f"The plan names {path} for {name}, but there is no such file.",
                            hint=f"Fix data.files.{name} in the plan or add the file.")
        return path
    if not folder.is_dir():
        raise DataError(f"The data folder {folder} does not exist.",
                        hint="Fix data.folder in the plan (it is relative to the project root).")
    hits = dataset_files(folder).get(name.upper(), [])
    if len(hits) > 1 and prefer is not None:
        hits = [p for p in hits if FORMATS[p.suffix.lower()] == prefer] or hits
    if len(hits) > 1:
        formats = sorted({FORMATS[p.suffix.lower()] for p in hits})
        how = f"set data.format in the plan to the format to read ({', '.join(formats)}), " if len(formats) > 1 else ""
        raise DataError(f"{name} exists in more than one file in {folder}: {', '.join(p.name for p in hits)}.",
                        hint=f"Keep one, {how}or name the one to use under data.files.{name} in the plan.")
    return hits[0] if hits else None

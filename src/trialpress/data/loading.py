"""Load the ADaM datasets a plan needs and type the variables it uses.

The plan decides which datasets and variables are required and of which kind (number, text,
date). A value that does not convert is an error naming file, column and subjects, never a
silent NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from trialpress.data.files import find_dataset_file
from trialpress.data.readers import read_dataset
from trialpress.data.requirements import Requirement, requirements
from trialpress.errors import DataError
from trialpress.plan import LoadedPlan

SAS_EPOCH = pd.Timestamp("1960-01-01")


@dataclass(frozen=True)
class StudyData:
    """The typed datasets of one study, with the files they came from."""

    frames: dict[str, pd.DataFrame]
    files: dict[str, Path]
    requirements: tuple[Requirement, ...] = field(default=())

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    def has(self, name: str) -> bool:
        return name in self.frames


def load_study(lplan: LoadedPlan) -> StudyData:
    """Read every dataset the plan needs from its data folder and type the variables it uses."""
    plan = lplan.plan
    reqs = requirements(plan)
    needed = sorted({r.dataset for r in reqs}, key=["ADSL", "ADTTE", "ADRS", "ADAE"].index)
    folder = lplan.data_folder
    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, Path] = {}
    for name in needed:
        path = find_dataset_file(folder, name, plan.data.files.get(name))
        if path is None:
            users = sorted({r.why.split(".")[0].split("[")[0] for r in reqs if r.dataset == name})
            raise DataError(
                f"{name} is needed by the plan ({', '.join(users)}) but no {name.lower()}.xpt, .csv or .parquet "
                f"is in {folder}.",
                hint=f"Add the dataset, name its file under data.files.{name}, or remove those sections from the plan.",
            )
        frame = read_dataset(path)
        frames[name] = apply_types(frame, [r for r in reqs if r.dataset == name], path, plan.data.subject_id,
                                   lplan)
        files[name] = path
    return StudyData(frames=frames, files=files, requirements=tuple(reqs))


def apply_types(frame: pd.DataFrame, reqs: list[Requirement], path: Path, sid: str,
                lplan: LoadedPlan | None = None) -> pd.DataFrame:
    """Check that required variables exist and convert them to their kind; other columns by convention."""
    import difflib

    out = frame.copy()
    missing = [r for r in reqs if r.variable not in out.columns]
    name = reqs[0].dataset if reqs else None
    if missing and name:
        _wrong_dataset(out, name, path)
    if missing:
        lines = []
        for r in missing:
            close = difflib.get_close_matches(r.variable, list(out.columns), n=3, cutoff=0.6)
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            where = _plan_where(lplan, r.why)
            lines.append(f"{r.variable}, needed by {r.why}{where}{hint}")
        raise DataError(
            f"{path}: required variable(s) missing: " + "; ".join(lines) + ".",
            hint="Add the variables to the dataset, or change the plan to name variables that exist.",
        )
    kinds = {r.variable: r.kind for r in reqs}
    for col in out.columns:
        kind = kinds.get(col) or _conventional_kind(col, out[col])
        if kind == "any":
            kind = "num" if _all_numeric(out[col]) else "char"
        out[col] = _convert(out[col], kind, col, path, out.get(sid))
    return out


def _wrong_dataset(frame: pd.DataFrame, name: str, path: Path) -> None:
    """A file that holds another ADaM dataset (e.g. ADAE saved as adsl.csv) is named as such."""
    from trialpress.quality.conventions import SIGNATURES, looks_like

    table = str(frame.attrs.get("table_name", "")).upper()
    guess = table if table in SIGNATURES and table != name else looks_like(frame.columns)
    if guess and guess != name:
        seen = sorted(SIGNATURES[guess] & set(frame.columns))
        raise DataError(
            f"{path} is read as {name}, but it holds {guess} data (it has {', '.join(seen) or 'its table name'}) "
            f"and lacks {name}'s variables.",
            hint=f"Put the {name} dataset in that file (is the file misnamed or overwritten?), or name the right "
                 f"file under data.files.{name} in the plan.")


def _plan_where(lplan: LoadedPlan | None, why: str) -> str:
    """' (plan.yml:12)': the line of the plan section that asks for a variable."""
    if lplan is None:
        return ""
    line = lplan.line_of(why.split(".")[0].split("[")[0])
    return f" ({lplan.path.name}:{line})" if line else ""


def _conventional_kind(col: str, series: pd.Series) -> str:
    """ADaM naming conventions for columns the plan does not type: *DT dates, numbers if all parse."""
    if col.endswith("DT") and not pd.api.types.is_numeric_dtype(series):
        # ADaM *DT variables are dates: one that parses makes the column a date, and the others errors
        return "date" if _any_date(series) else "char"
    if col.endswith("DT") and pd.api.types.is_numeric_dtype(series):
        return "date"
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return "keep"
    return "num" if _all_numeric(series) and not col.endswith(("ID", "FL", "CD", "C")) else "char"


def _all_numeric(series: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(series):
        return True
    values = series.dropna()
    if len(values) == 0:
        return False
    try:  # cheap rejection of text columns before parsing them all
        float(str(values.iloc[0]).strip())
    except ValueError:
        return False
    return bool(pd.to_numeric(values, errors="coerce").notna().all())


def _any_date(series: pd.Series) -> bool:
    values = series.dropna()
    if len(values) == 0:
        return True
    if _all_dates(series):
        return True
    parsed = pd.to_datetime(_stripped(values), format="ISO8601", errors="coerce")
    return bool(parsed.notna().any())


def _all_dates(series: pd.Series) -> bool:
    values = series.dropna()
    if len(values) == 0:
        return True
    try:  # cheap rejection of non-date columns before parsing them all
        pd.to_datetime(str(values.iloc[0]).strip(), format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        return False
    parsed = pd.to_datetime(values, format="ISO8601", errors="coerce")
    return bool(parsed.notna().all())


def _stripped(series: pd.Series) -> pd.Series:
    """Text with surrounding blanks removed, computed once per distinct value (ADaM columns repeat a few
    codes over many rows, so this is far cheaper than a per-row strip); non-text values pass unchanged."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    clean = np.array([u.strip() if isinstance(u, str) else u for u in uniques] + [None], dtype=object)
    return pd.Series(clean[codes], index=series.index, dtype=object)   # code -1 (missing) → the trailing None


def _by_value(series: pd.Series, convert: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply a vectorised conversion to the distinct values only, then spread it over the rows."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    done = convert(pd.Series(_stripped(pd.Series(uniques, dtype=object)).to_numpy(), dtype=object))
    # code -1 (missing) is not a label of `done`: reindex gives NaN/NaT there, keeping the dtype
    return done.reset_index(drop=True).reindex(codes).set_axis(series.index)


def _convert(series: pd.Series, kind: str, col: str, path: Path, ids: pd.Series | None) -> pd.Series:
    if kind == "keep":
        return series
    if series.dtype == object and kind != "char":
        # blank text is missing (XPT stores a missing character value as ''; CSV reads it as missing)
        series = series.mask(_stripped(series).eq("").to_numpy())
    if kind == "char":
        if pd.api.types.is_numeric_dtype(series):
            # e.g. XPT stores a code as a number; show integers without '.0'
            return series.map(lambda v: None if pd.isna(v) else (str(int(v)) if float(v).is_integer() else str(v)))
        if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):  # all text: vectorised strip
            stripped = _stripped(series)
            keep = series.notna() & stripped.ne("")   # blank is missing, as in CSV
            return stripped.where(keep, None)
        return series.astype("object").where(series.notna(), None).map(
            lambda v: v.strip() if isinstance(v, str) else v)
    if kind == "num":
        if pd.api.types.is_numeric_dtype(series):
            return series.astype(float)
        converted = _by_value(series, lambda u: pd.to_numeric(u, errors="coerce").astype(float))
        _fail_on_lost(series, converted, col, path, ids, "a number")
        return converted.astype(float)
    if kind == "date":
        if pd.api.types.is_datetime64_any_dtype(series):
            return series.astype("datetime64[ns]")
        if pd.api.types.is_numeric_dtype(series):  # SAS date numbers (days since 1960-01-01)
            days = series.astype(float)
            bad = days.notna() & ~days.between(-100_000, 100_000)   # ~1686-2233, inside datetime64[ns]
            if bool(bad.any()):
                _fail_on_lost(series, series.where(~bad), col, path, ids, "a SAS date (days since 1960-01-01)")
            return SAS_EPOCH + pd.to_timedelta(days, unit="D")
        converted = _by_value(series, lambda u: pd.to_datetime(u, format="ISO8601", errors="coerce"))
        _fail_on_lost(series, converted, col, path, ids, "an ISO date (YYYY-MM-DD, years 1678-2261)")
        return converted.astype("datetime64[ns]")
    raise AssertionError(kind)


def _fail_on_lost(raw: pd.Series, converted: pd.Series, col: str, path: Path, ids: pd.Series | None,
                  what: str) -> None:
    lost = raw.notna() & converted.isna()
    if not bool(lost.any()):
        return
    rows = np.flatnonzero(lost.to_numpy())[:5]
    examples = ", ".join(
        f"{ids.iloc[i] if ids is not None else f'row {i + 2}'}: {raw.iloc[i]!r}" for i in rows)
    raise DataError(
        f"{path}: column {col} must be {what}, but {int(lost.sum())} value(s) are not ({examples}).",
        hint=f"Correct those values in {path.name} (or leave them empty for missing).",
    )

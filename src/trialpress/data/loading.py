"""Load the ADaM datasets a plan needs and type the variables it uses.

The plan decides which datasets and variables are required and of which kind (number, text,
date). A value that does not convert is an error naming file, column and subjects, never a
silent NaN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from trialpress.data.dates import ACCEPTED, NOT_READ, parse_text, two_digit_years
from trialpress.data.files import find_dataset_file, format_of
from trialpress.data.memory import release_memory
from trialpress.data.readers import forget_identifiers, read_dataset
from trialpress.data.requirements import Requirement, columns_to_read, requirements
from trialpress.errors import DataError
from trialpress.plan import LoadedPlan

SAS_EPOCH = pd.Timestamp("1960-01-01")


@dataclass(frozen=True)
class StudyData:
    """The typed datasets of one study, with the files they came from."""

    frames: dict[str, pd.DataFrame]
    files: dict[str, Path]
    requirements: tuple[Requirement, ...] = field(default=())
    # per record-level dataset: the frame and each record's subject as an ADSL row (-1: not in ADSL)
    subject_rows: dict[str, tuple[pd.DataFrame, np.ndarray]] = field(default_factory=dict, compare=False,
                                                                     repr=False)
    # (file, format) of the CSV files with unquoted NA fields and the Dataset-JSON files with numbers written NA:
    # read as missing (R's convention)
    na_files: tuple[tuple[str, str], ...] = ()
    encodings: tuple[tuple[str, str], ...] = ()   # (file, codec) of the files whose text is not UTF-8

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    def has(self, name: str) -> bool:
        return name in self.frames

    def rows_in_adsl(self, name: str, sid: str) -> np.ndarray:
        """Each record's subject as its (first) ADSL row, -1 where the subject is not in ADSL: the one join
        every analysis and check of a record-level dataset needs, hashed once per dataset (by the loader,
        with Arrow, for Parquet data)."""
        frame = self.frames[name]
        known = self.subject_rows.get(name)
        if known is None or known[0] is not frame:
            known = self.subject_rows[name] = (frame, _FirstRows(self.frames["ADSL"][sid]).get_indexer(frame[sid]))
        return known[1]


class _FirstRows:
    """Subject ids → the first ADSL row holding each."""

    def __init__(self, ids: pd.Series) -> None:
        first = (ids.notna() & ~ids.duplicated()).to_numpy()
        self.ids = ids[first]
        self.rows = np.flatnonzero(first)

    def get_indexer(self, values: pd.Series) -> np.ndarray:
        return self.map(pd.Index(self.ids).get_indexer(values))

    def map(self, found: np.ndarray) -> np.ndarray:
        """Positions among the first-occurrence ids → ADSL rows (-1 stays -1)."""
        rows = np.where(found >= 0, self.rows[np.maximum(found, 0)], -1)
        return rows.astype(np.int32) if len(self.rows) < 2**31 else rows


def load_study(lplan: LoadedPlan) -> StudyData:
    """Read every dataset the plan needs from its data folder and type the variables it uses."""
    plan = lplan.plan
    reqs = requirements(plan)
    needed = sorted({r.dataset for r in reqs}, key=lambda name: (name != "ADSL", name))   # ADSL first
    folder = lplan.data_folder
    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, Path] = {}
    na_files: list[tuple[str, str]] = []
    encodings: list[tuple[str, str]] = []
    try:
        for name in needed:
            path = find_dataset_file(folder, name, plan.data.files.get(name), plan.data.format)
            if path is None:
                users = sorted({r.why.split(".")[0].split("[")[0] for r in reqs if r.dataset == name})
                raise DataError(
                    f"{name} is needed by the plan ({', '.join(users)}) but no {name.lower()}.xpt, .csv, .parquet, "
                    f".sas7bdat or .json is in {folder}.",
                    hint=f"Add the dataset, name its file under data.files.{name}, or remove those sections from the "
                         "plan.",
                )
            frame = read_dataset(path, columns_to_read(plan, name), plan.data.subject_id, encoded=True,
                                 encoding=plan.data.encoding)
            if frame.attrs.get("r_missing"):
                na_files.append((path.name, format_of(path.name) or ""))
            if frame.attrs.get("text_encoding"):
                encodings.append((path.name, frame.attrs["text_encoding"]))
            frames[name] = apply_types(frame, [r for r in reqs if r.dataset == name], path, plan.data.subject_id,
                                       lplan)
            files[name] = path
        subject_rows = _subject_rows(frames, files, plan.data.subject_id)
    finally:   # the ids the readers kept for the join are dropped, whether or not loading succeeded
        forget_identifiers()
    data = StudyData(frames=frames, files=files, requirements=tuple(reqs), subject_rows=subject_rows,
                     na_files=tuple(na_files), encodings=tuple(encodings))
    release_memory()
    return data


def _subject_rows(frames: dict[str, pd.DataFrame], files: dict[str, Path], sid: str
                  ) -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
    """The subject join of every record-level dataset, done once here: in Arrow when the reader has the ids
    in Arrow form (Parquet files; CSV and XPT files just read, whose ids are dictionary-encoded: the distinct
    ids of all datasets are looked up together, once each), several times faster than hashing Python
    strings; otherwise by pandas. `load_study` then drops the ids the readers kept (`forget_identifiers`)."""
    from trialpress.data.readers import read_identifiers

    if "ADSL" not in frames or sid not in frames["ADSL"].columns:
        return {}
    first = _FirstRows(frames["ADSL"][sid])
    value_set = None
    out: dict[str, tuple[pd.DataFrame, np.ndarray]] = {}
    encoded = {}   # dataset → its ids' single dictionary-encoded chunk (an Arrow DictionaryArray)
    for name, frame in frames.items():
        if name == "ADSL" or sid not in frame.columns:
            continue
        ids = read_identifiers(files[name], sid)
        if ids is None or len(ids) != len(frame):   # none in Arrow form, or not this frame's rows: pandas
            out[name] = (frame, first.get_indexer(frame[sid]))
            continue
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_dictionary(ids.type) and ids.num_chunks == 1:
            encoded[name] = ids.chunk(0)
            continue
        if value_set is None:
            value_set = pa.array(first.ids.to_numpy(dtype=object), type=pa.string())
        found = pc.index_in(ids, value_set=value_set).fill_null(-1).to_numpy()
        out[name] = (frame, first.map(np.asarray(found, dtype=np.int64)))
    if encoded:
        import pyarrow as pa
        import pyarrow.compute as pc

        if value_set is None:
            value_set = pa.array(first.ids.to_numpy(dtype=object), type=pa.string())
        chunks = list(encoded.values())
        found = pc.index_in(pa.concat_arrays([c.dictionary for c in chunks]), value_set=value_set)
        per_id = first.map(np.asarray(found.fill_null(-1).to_numpy(), dtype=np.int64))
        at = 0
        for name, chunk in encoded.items():
            size = len(chunk.dictionary)
            rows = np.append(per_id[at:at + size], np.array([-1], dtype=per_id.dtype))
            codes = pc.fill_null(chunk.indices, -1).to_numpy()
            out[name] = (frames[name], rows[codes])
            at += size
    return {name: out[name] for name in frames if name in out}


def apply_types(frame: pd.DataFrame, reqs: list[Requirement], path: Path, sid: str,
                lplan: LoadedPlan | None = None) -> pd.DataFrame:
    """Check that required variables exist and convert them to their kind; other columns by convention."""
    import difflib

    everything = list(frame.attrs.get("all_columns", frame.columns))
    missing = [r for r in reqs if r.variable not in frame.columns]
    name = reqs[0].dataset if reqs else None
    if missing and name:
        _wrong_dataset(frame, everything, name, path)
    if missing:
        _labels_as_header(everything, path)
    if missing:
        lines = []
        for r in missing:
            close = difflib.get_close_matches(r.variable, everything, n=3, cutoff=0.6)
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            where = _plan_where(lplan, r.why)
            lines.append(f"{r.variable}, needed by {r.why}{where}{hint}")
        raise DataError(
            f"{path}: required variable(s) missing: " + "; ".join(lines) + ".",
            hint="Add the variables to the dataset, or change the plan to name variables that exist.",
        )
    kinds = {r.variable: r.kind for r in reqs}
    clean = set(frame.attrs.get("clean_text", ()))   # text the reader already trimmed (blank → missing)
    ids = None
    if sid in frame.columns:
        ids = frame[sid] if sid in clean and frame[sid].dtype == object else \
            _convert(frame[sid], "char", sid, path, None, codes=False)
    columns: dict[str, pd.Series] = {}
    for col in frame.columns:
        series = frame[col]
        kind = kinds.get(col) or _conventional_kind(col, series)
        if kind == "any":
            kind = "num" if _all_numeric(series) else "char"
        columns[col] = ids if col == sid and ids is not None else _convert(series, kind, col, path, ids)
    out = pd.DataFrame(columns, index=frame.index, copy=False)
    out.attrs = dict(frame.attrs)
    return out


def _wrong_dataset(frame: pd.DataFrame, everything: list[str], name: str, path: Path) -> None:
    """A file that holds another ADaM dataset (e.g. ADAE saved as adsl.csv) is named as such."""
    from trialpress.data.adam import SIGNATURES, looks_like

    table = str(frame.attrs.get("table_name", "")).upper()
    guess = table if table in SIGNATURES and table != name else looks_like(everything)
    if guess and guess != name:
        seen = sorted(SIGNATURES[guess] & set(everything))
        raise DataError(
            f"{path} is read as {name}, but it holds {guess} data (it has {', '.join(seen) or 'its table name'}) "
            f"and lacks {name}'s variables.",
            hint=f"Put the {name} dataset in that file (is the file misnamed or overwritten?), or name the right "
                 f"file under data.files.{name} in the plan.")


_SAS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _labels_as_header(everything: list[str], path: Path) -> None:
    """A header of labels ('Unique Subject Identifier'), as a SAS export with the LABEL option writes it: most of
    its fields cannot be variable names (SAS and ADaM names are letters, digits and '_'), so every variable
    would be reported missing. Named as what it is instead."""
    labels = [h for h in everything if h and not _SAS_NAME.fullmatch(h)]
    if len(labels) * 2 > len(everything):
        shown = ", ".join(repr(h) for h in labels[:3])
        raise DataError(f"{path}: the header holds variable labels, not variable names ({shown} …), so no variable "
                        f"can be found by its name.",
                        hint="Export the dataset with the variable names as its header (SAS: PROC EXPORT without "
                             "the LABEL option; R: the column names, not their labels).")


def _plan_where(lplan: LoadedPlan | None, why: str) -> str:
    """' (plan.yml:12)': the line of the plan key that asks for a variable (or of its nearest parent written
    in the plan: a key left at its default is not in the file)."""
    if lplan is None:
        return ""
    line = lplan.line_of_key(why)
    return f" ({lplan.path.name}:{line})" if line else ""


def _conventional_kind(col: str, series: pd.Series) -> str:
    """ADaM naming conventions for columns the plan does not type: *DT dates, numbers if all parse."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    if col.endswith("DT") and not pd.api.types.is_numeric_dtype(series):
        # ADaM *DT variables are dates: one that parses makes the column a date, and the others errors; so does
        # a SAS date with a two-digit year, which is a date that cannot be read (the error says so)
        return "date" if _any_date(series) or two_digit_years(_values(series)) else "char"
    if col.endswith("DT") and pd.api.types.is_numeric_dtype(series):
        return "date"
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return "keep"
    return "num" if _all_numeric(series) and not col.endswith(("ID", "FL", "CD", "C")) else "char"


class _Distinct:
    """A column as codes into its distinct values: every conversion is done once per distinct value and
    spread over the rows by `take` (ADaM columns repeat a few codes over many rows). Parquet text arrives
    dictionary-encoded (a Categorical), so its codes come free; code -1 is a missing value."""

    def __init__(self, series: pd.Series) -> None:
        if isinstance(series.dtype, pd.CategoricalDtype):
            self.codes = series.cat.codes.to_numpy()
            self.values = np.asarray(series.cat.categories, dtype=object)
        else:
            self.codes, uniques = pd.factorize(series, use_na_sentinel=True)
            self.values = np.asarray(uniques, dtype=object)
        self.index = series.index

    def stripped(self) -> pd.Series:
        """The distinct values with surrounding blanks removed (non-text values unchanged)."""
        return pd.Series([v.strip() if isinstance(v, str) else v for v in self.values], dtype=object)

    def categorical(self, clean: pd.Series) -> pd.Series:
        """The rows as a Categorical of the cleaned distinct values (None: missing), categories sorted so that
        ordering by the column orders the text; values of mixed types, which do not sort, stay objects."""
        try:
            codes, categories = pd.factorize(clean, sort=True)   # blanks stripped to the same text merge here
        except TypeError:
            return self.spread(clean.to_numpy(dtype=object), None)
        small = np.int8 if len(categories) < 127 else np.int16 if len(categories) < 32_767 else np.int32
        rows = np.append(codes, -1).astype(small)[self.codes]   # 1-2 bytes per row for the usual codes
        return pd.Series(pd.Categorical.from_codes(rows, categories=categories, validate=False), index=self.index)

    def spread(self, converted: np.ndarray | pd.Index, missing: object) -> pd.Series:
        """Per-distinct results back onto the rows (`missing` where the row had no value)."""
        if isinstance(converted, pd.DatetimeIndex) and converted.tz is None:   # as datetime64 numbers: no copies
            converted, missing = converted.to_numpy(), np.datetime64("NaT", "ns")
        if isinstance(converted, np.ndarray):
            full = np.append(converted, np.array([missing], dtype=converted.dtype))   # code -1 → the last
            return pd.Series(full[self.codes], index=self.index, dtype=converted.dtype)
        return pd.Series(converted.array.take(self.codes, allow_fill=True), index=self.index)


def _values(series: pd.Series) -> pd.Series:
    """The distinct non-missing values of a column (cheap for Categoricals)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return pd.Series(np.asarray(series.cat.categories, dtype=object))
    return pd.Series(series.dropna().unique(), dtype=object)


def _all_numeric(series: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(series):
        return True
    values = _values(series)
    if len(values) == 0:
        return False
    try:  # cheap rejection of text columns before parsing them all
        float(str(values.iloc[0]).strip())
    except ValueError:
        return False
    return bool(pd.to_numeric(values, errors="coerce").notna().all())


def _any_date(series: pd.Series) -> bool:
    """Whether any value of a text column is a date (`dates.parse_text`: ISO 8601 or SAS DATE9./DATETIME.)."""
    values = _values(series)
    if len(values) == 0:
        return True
    stripped = values.map(lambda v: v.strip() if isinstance(v, str) else v)
    return bool(parse_text(stripped).notna().any())


def _convert(series: pd.Series, kind: str, col: str, path: Path, ids: pd.Series | None,
             codes: bool = True) -> pd.Series:
    """`series` as `kind`. Text becomes a Categorical (`codes`; the subject id stays plain text): comparisons,
    subsets and counts then work on small integers, and 10^7 rows hold no Python string each."""
    if kind == "keep":
        return series
    if kind == "char":
        if pd.api.types.is_datetime64_any_dtype(series):
            return series.astype(object).where(series.notna(), None)
        d = _Distinct(series)
        if pd.api.types.is_numeric_dtype(series):
            # e.g. XPT stores a code as a number; show integers without '.0'
            clean = pd.Series([str(int(v)) if float(v).is_integer() else str(v) for v in d.values], dtype=object)
        else:
            clean = d.stripped()
            clean = clean.where(clean.ne(""), None)   # blank is missing
        return d.categorical(clean) if codes else d.spread(clean.to_numpy(dtype=object), None)
    if kind == "num":
        if pd.api.types.is_numeric_dtype(series):
            return series.astype(float)
        d = _Distinct(series)
        clean = d.stripped()
        blank = clean.eq("").to_numpy()   # blank text is missing (XPT stores a missing value as '')
        number = pd.to_numeric(clean.mask(blank), errors="coerce").astype(float)
        _fail_on_lost(series, d, ~blank & number.isna().to_numpy(), col, path, ids, "a number")
        return d.spread(number.to_numpy(), np.nan).astype(float)
    if kind == "date":
        if pd.api.types.is_datetime64_any_dtype(series):
            return series.astype("datetime64[ns]")
        if pd.api.types.is_numeric_dtype(series):  # SAS date numbers (days since 1960-01-01)
            days = series.astype(float)
            bad = days.notna() & ~days.between(-100_000, 100_000)   # ~1686-2233, inside datetime64[ns]
            if bool(bad.any()):
                d = _Distinct(series)
                vals = pd.Series(d.values, dtype=float)
                _fail_on_lost(series, d, (~vals.between(-100_000, 100_000)).to_numpy(), col, path, ids,
                              "a SAS date (days since 1960-01-01)")
            return SAS_EPOCH + pd.to_timedelta(days, unit="D")
        d = _Distinct(series)
        clean = d.stripped()
        blank = clean.eq("").to_numpy()
        parsed = parse_text(clean.mask(blank))
        lost = ~blank & np.asarray(pd.isna(parsed))
        if lost.any():
            _fail_on_lost(series, d, lost, col, path, ids, f"{ACCEPTED}, years 1678-2261",
                          f"{NOT_READ[0].upper()}{NOT_READ[1:]}" if two_digit_years(clean[lost]) else "")
        return d.spread(pd.DatetimeIndex(parsed).as_unit("ns"), pd.NaT).astype("datetime64[ns]")
    raise AssertionError(kind)


def _fail_on_lost(raw: pd.Series, d: _Distinct, lost_value: np.ndarray, col: str, path: Path,
                  ids: pd.Series | None, what: str, hint: str = "") -> None:
    """A DataError naming the rows whose (distinct) value did not convert: never a silent NaN."""
    if not bool(lost_value.any()):
        return
    lost = np.append(lost_value, False)[d.codes]   # code -1 (missing) → the appended False
    rows = np.flatnonzero(lost)[:5]
    examples = ", ".join(
        f"{ids.iloc[i] if ids is not None else f'row {i + 2}'}: {raw.iloc[i]!r}" for i in rows)
    raise DataError(
        f"{path}: column {col} must be {what}, but {int(lost.sum())} value(s) are not ({examples}).",
        hint=hint or f"Correct those values in {path.name} (or leave them empty for missing).",
    )

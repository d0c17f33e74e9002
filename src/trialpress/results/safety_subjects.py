"""The subjects of the safety tables: ADSL with the optional variables the study has, dates read as days, the
safety population with its groups, and counting helpers shared by the safety collectors.

Dates come as the data hold them: datetime columns, ISO text (dates or datetimes), or SAS numbers (days since
1960-01-01 for a date `xxxDT`, seconds for a datetime `xxxDTM`, ADaM's naming). A datetime counts by its date.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from trialpress.analysis.populations import population
from trialpress.data.dates import ACCEPTED, NOT_READ, distinct_text, on_rows, parse_text, two_digit_years
from trialpress.data.loading import StudyData
from trialpress.data.requirements_safety import OPTIONAL_ADSL
from trialpress.errors import DataError
from trialpress.plan import Plan

SAS_EPOCH = pd.Timestamp("1960-01-01")
SECONDS_PER_DAY = 86_400.0
DAYS_PER_YEAR = 365.25


def adsl_for_safety(plan: Plan, data: StudyData) -> pd.DataFrame:
    """ADSL with the optional safety variables (`requirements_safety.OPTIONAL_ADSL`) the file has.

    The analysis's ADSL keeps only the variables the plan requires (`collect._narrowed`); until it also keeps
    `optional_adsl_variables(plan)`, the optional ones are read here from the same file, typed by the loader's
    conventions (the same typing ADSL had at load) and aligned row by row."""
    adsl = data["ADSL"]
    wanted = [v for v in OPTIONAL_ADSL if v not in adsl.columns]
    path = data.files.get("ADSL")
    if not wanted or path is None:
        return adsl
    all_columns = {str(c).upper() for c in adsl.attrs.get("all_columns", ())}
    if all_columns and not all_columns & set(wanted):
        return adsl
    from trialpress.data.loading import apply_types
    from trialpress.data.readers import read_dataset

    sid = plan.data.subject_id
    extra = read_dataset(path, {*wanted, sid}, sid, encoding=plan.data.encoding)
    present = [c for c in wanted if c in extra.columns]
    if not present or len(extra) != len(adsl):
        return adsl
    typed = apply_types(extra, [], path, sid)
    if sid in typed.columns and sid in adsl.columns and not np.array_equal(
            typed[sid].astype(str).to_numpy(), adsl[sid].astype(str).to_numpy()):
        return adsl
    out = adsl.copy(deep=False)
    for c in present:
        out[c] = typed[c].set_axis(adsl.index)
    out.attrs = dict(adsl.attrs)
    return out


def as_days(series: pd.Series, name: str, where: str = "") -> pd.Series:
    """A date or datetime column as datetime64 at day precision (NaT where missing); a text value that is not a
    date (`dates.parse_text`) is an error naming it, never a silent NaT."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.astype("datetime64[ns]").dt.floor("D")
    if pd.api.types.is_numeric_dtype(series):
        x = series.astype(float)
        days = np.floor(x / SECONDS_PER_DAY) if name.upper().endswith("DTM") else np.floor(x)
        return SAS_EPOCH + pd.to_timedelta(days, unit="D")
    codes, text = distinct_text(series)
    parsed = parse_text(text)
    bad = (text.notna() & parsed.isna()).to_numpy()
    if bad.any():
        raise DataError(f"{where or name}: {name} holds values that are not dates "
                        f"({', '.join(repr(v) for v in text[bad][:3])}).",
                        hint=f"Write {name} as {ACCEPTED}, or leave it empty for missing"
                             + (f"; {NOT_READ}" if two_digit_years(text[bad]) else "."))
    days = pd.DatetimeIndex(parsed).floor("D").to_numpy(dtype="datetime64[ns]")
    return pd.Series(on_rows(codes, days, np.datetime64("NaT", "ns")), index=series.index)


def first_date(frame: pd.DataFrame, *names: str) -> tuple[pd.Series | None, str]:
    """The first of `names` the frame has with a value, as days, and its name (a date before its datetime)."""
    for name in names:
        if name in frame.columns and frame[name].notna().any():
            return as_days(frame[name], name, "ADSL"), name
    return None, ""


def is_yes(values: pd.Series) -> np.ndarray:
    return values.isin(["Y", "y"]).to_numpy()


def text_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a text column (-1: missing) and its sorted distinct values: a Categorical's own codes when
    its categories are sorted (the loader sorts them), else factorized."""
    if isinstance(column.dtype, pd.CategoricalDtype) and bool(pd.Index(column.cat.categories).is_monotonic_increasing):
        return column.cat.codes.to_numpy().astype(np.int64), np.asarray(column.cat.categories, dtype=object)
    codes, uniques = pd.factorize(column.array, sort=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def text_values(series: pd.Series) -> pd.Series:
    """Text with blanks as missing (the loader already trims Categoricals; object columns may still hold '')."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.astype(object).where(series.notna(), None)
    s = series.astype(object)
    stripped = s.map(lambda v: v.strip() if isinstance(v, str) else v)
    return stripped.where(stripped.notna() & stripped.ne(""), None)


@dataclass
class Subjects:
    """The safety population: ADSL rows (with the optional variables), each subject's group, the denominators."""

    plan: Plan
    adsl: pd.DataFrame          # the whole ADSL the population was selected from
    frame: pd.DataFrame         # the population's rows
    gvar: str

    @classmethod
    def of(cls, plan: Plan, adsl: pd.DataFrame) -> Subjects:
        assert plan.safety is not None
        pop_id = plan.safety.population
        return cls(plan, adsl, population(adsl, plan, pop_id), plan.group_variable(pop_id))

    @property
    def groups(self) -> list[str]:
        return self.plan.group_values

    @cached_property
    def group_of(self) -> np.ndarray:
        return pd.Categorical(self.frame[self.gvar], categories=self.groups).codes.astype(np.int64)

    @cached_property
    def denominators(self) -> dict[str, int]:
        counts = np.bincount(self.group_of[self.group_of >= 0], minlength=len(self.groups))
        return {g: int(counts[i]) for i, g in enumerate(self.groups)}

    @property
    def total(self) -> int:
        return sum(self.denominators.values())

    def __len__(self) -> int:
        return len(self.frame)

    def count(self, mask: np.ndarray) -> dict[str, int]:
        """Subjects where `mask` holds, per group and in total ('')."""
        counts = np.bincount(self.group_of[mask & (self.group_of >= 0)], minlength=len(self.groups))
        out = {g: int(counts[i]) for i, g in enumerate(self.groups)}
        out[""] = sum(out.values())
        return out

    def in_group(self, group: str) -> np.ndarray:
        """Subjects of a group ('' = all)."""
        if not group:
            return self.group_of >= 0
        return self.group_of == self.groups.index(group)

    @cached_property
    def first_dose(self) -> tuple[pd.Series | None, str]:
        return first_date(self.frame, "TRTSDT", "TRTSDTM")

    @cached_property
    def last_dose(self) -> tuple[pd.Series | None, str]:
        return first_date(self.frame, "TRTEDT", "TRTEDTM")


def summary(x: np.ndarray) -> dict[str, float]:
    """n, mean, SD (n - 1), median, min, max of the non-missing values (NaN where undefined)."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    if n == 0:
        return {"n": 0.0, "mean": np.nan, "sd": np.nan, "median": np.nan, "min": np.nan, "max": np.nan}
    return {"n": float(n), "mean": float(x.mean()), "sd": float(x.std(ddof=1)) if n > 1 else np.nan,
            "median": float(np.median(x)), "min": float(x.min()), "max": float(x.max())}

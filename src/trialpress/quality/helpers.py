"""Helpers shared by the rule modules: column kinds, value sets decided once per category, dates compared
at the precision both sides have, and the text shown for a failing row of a derived rule."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trialpress.data import adam
from trialpress.data.dates import parse_column
from trialpress.quality.rules import Check, Rule

NUM_TYPES = ["float64", "int64", "float32", "int32"]
DATE_TYPES = ["datetime64[ns]"]
DETAIL_ROWS = 1000   # failing rows described (GE names the first failing rows; a message shows five)
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")   # C0 and C1 control characters except tab


def is_date(frame: pd.DataFrame, col: str | None) -> bool:
    return bool(col) and col in frame.columns and pd.api.types.is_datetime64_any_dtype(frame[col])


def is_text(frame: pd.DataFrame, col: str | None) -> bool:
    return bool(col) and col in frame.columns and is_text_series(frame[col])


def is_text_series(values: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_datetime64_any_dtype(values)


def per_value(values: pd.Series, test: Callable[[Any], Any], dtype: Any = bool) -> np.ndarray:
    """`test(value)` for every row, computed once per distinct value (`test(nan)` for a missing value)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), list(values.cat.categories)
    else:
        codes, found = pd.factorize(values, use_na_sentinel=True)
        uniques = list(found)
    per = np.array([test(u) for u in uniques] + [test(np.nan)], dtype=dtype)
    return per[codes]   # code -1 (missing) → the last


def text_in(values: pd.Series, allowed: set[str], upper: bool = False) -> pd.Series:
    """Whether each value, as text (upper-cased if asked), is allowed; decided once per category."""
    def ok(v: object) -> bool:
        text = str(v)
        return (text.upper() if upper else text) in allowed

    return pd.Series(per_value(values, ok), index=values.index)


def small_codes(values: pd.Series) -> tuple[np.ndarray, int]:
    """Codes 0..size-1 of a key column (0: missing): whole numbers in a short range code themselves (no
    hashing), anything else is factorized."""
    if pd.api.types.is_numeric_dtype(values) and len(values):
        x = values.to_numpy(dtype=float)
        present = ~np.isnan(x)
        if present.any() and np.isfinite(x[present]).all():
            low, high = np.min(x[present]), np.max(x[present])
            if high - low < 10_000_000 and np.all(x[present] == np.round(x[present])):
                out = np.zeros(len(x), dtype=np.int64)
                out[present] = (x[present] - low).astype(np.int64) + 1
                return out, int(high - low) + 2
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64) + 1, len(uniques) + 1


def escaped(text: str) -> str:
    """Control characters made visible (\\x00) so a message shows them and never acts on a terminal."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def iso(v: object, precise: bool = False) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):  # type: ignore[arg-type]
        return "missing"
    if isinstance(v, pd.Timestamp):
        return v.isoformat(timespec="seconds") if precise else v.date().isoformat()
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    return escaped(str(v))


def shown_rows(bad: pd.Series, text: Callable[[int], str]) -> pd.Series:
    """`text(row)` for the failing rows (the first DETAIL_ROWS of them: messages show a few), by row position."""
    rows = np.flatnonzero(bad.to_numpy())[:DETAIL_ROWS]
    return pd.Series([text(int(i)) for i in rows], index=rows, dtype=object)


def detail(bad: pd.Series, **columns: pd.Series) -> pd.Series:
    """'TRTSDT=2014-05-25, ADT=2014-05-20' for the failing rows, indexed by row position."""
    return shown_rows(bad, lambda i: ", ".join(f"{name}={iso(col.iat[i])}" for name, col in columns.items()))


# -------------------------------------------------------------------------------------------- dates
@dataclass(frozen=True)
class DateVar:
    """A date or datetime variable aligned to its dataset's rows. ADaM names a datetime xxxDTM; a datetime
    compared with a date is compared as a date (same day = same date), two datetimes to the second."""

    name: str
    values: pd.Series      # datetime64[ns]
    precise: bool          # a datetime (time of day known)
    label: str = ""        # how it is named in messages, e.g. 'TRTSDT (from TRTSDTM)'

    @property
    def shown(self) -> str:
        return self.label or self.name

    def day(self) -> pd.Series:
        return self.values.dt.floor("D") if self.precise else self.values

    def as_date(self, name: str) -> DateVar:
        """The date of a datetime (e.g. TRTSDT from TRTSDTM where ADSL has only the datetime)."""
        return DateVar(name, self.day(), False, f"{name} (from {self.name})") if self.precise else self

    def text(self, i: int) -> str:
        return iso(self.values.iat[i], self.precise)


def comparable(a: DateVar, b: DateVar) -> tuple[pd.Series, pd.Series]:
    """Both sides at the precision both have."""
    return (a.values, b.values) if a.precise and b.precise else (a.day(), b.day())


def as_datetime(series: pd.Series) -> pd.Series | None:
    """A date/datetime column as datetime64 (text parsed once per distinct value by `dates.parse_text`); None
    if it is not one."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    if pd.api.types.is_numeric_dtype(series):
        return None
    parsed = parse_column(series)
    return parsed if bool(parsed.notna().any()) else None


def date_var(frame: pd.DataFrame, name: str, values: pd.Series | None = None) -> DateVar | None:
    column = values if values is not None else frame[name] if name in frame.columns else None
    parsed = as_datetime(column) if column is not None else None
    return None if parsed is None else DateVar(name, parsed, adam.is_datetime_name(name))


def order_mask(dates: list[DateVar], bound: DateVar, later: bool) -> tuple[pd.Series, pd.Series]:
    """Rows where a date is before (later=True) or after `bound` (missing dates pass), and for each such row
    the bound and the dates on its wrong side: 'TRTSDT=2014-05-25, DTHDT=2014-05-20'."""
    wrong = {}
    for d in dates:
        x, b = comparable(d, bound)
        wrong[d.name] = (x < b) if later else (x > b)
    bad = pd.Series(False, index=bound.values.index)
    for w in wrong.values():
        bad |= w.to_numpy()
    return bad, shown_rows(bad, lambda i: ", ".join([f"{bound.shown}={bound.text(i)}"] + [
        f"{d.name}={d.text(i)}" for d in dates if wrong[d.name].iat[i]]))


def order_check(r: Rule, compared: list[DateVar], bound: DateVar, later: bool, *, where: pd.Series | None = None,
                **fields: object) -> Check:
    """A rule that dates are on/after (later=True) or on/before `bound`, shown with the dates on its wrong side."""
    bad, shown = order_mask(compared, bound, later)
    if where is not None:
        bad &= where.to_numpy(dtype=bool)
        shown = shown[shown.index.isin(np.flatnonzero(bad.to_numpy()))]
    return r.derived(~bad, detail=shown, **fields)

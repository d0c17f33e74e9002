"""The analysis-results dataset (ARD): one row per number, curve or decision — the only input of the report.

A row is identified by a typed `Key` (endpoint, analysis, statistic and the parts that place it: group,
subgroup level, parameter, term, time point). Analyses build keys with the functions of `keys.py`, and the
report looks rows up with the same functions, so no layer rebuilds an id by string convention. The id
string is derived from the key once (`Key.id`), is stable across runs and data cuts, and is what versions
are diffed by and what every number in the document links to.

Every column has one meaning (docs/ard.md, generated from `schema.py`); `ARDBuilder.add` rejects a row
that breaks the schema. Kaplan–Meier step functions live in a linked curve table (`Curve`), referenced by
a row of analysis `curve`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from trialpress.results import jsontext
from trialpress.results.schema import check_row

KEY_PARTS: tuple[str, ...] = ("group", "subgroup", "subgroup_level", "parameter", "parent", "term", "timepoint")


def ci_level(conf_level: float) -> str:
    """'95%' for 0.95: a CI's confidence level as the ARD's method strings (and the report) name it."""
    return f"{100 * conf_level:g}%"


_ID_TEXT = re.compile(r"[A-Za-z0-9_@-]*")
_NOT_ID_TEXT = re.compile(r"[^A-Za-z0-9_@-]")


def _clean(value: str) -> str:
    """A key part as id text: letters, digits, '-', '_', '@' kept; anything else becomes '_' and, so that two
    values never share an id, a short hash of the original is appended."""
    if _ID_TEXT.fullmatch(value):   # the usual case: one regular-expression scan
        return value
    out = _NOT_ID_TEXT.sub("_", value)
    return f"{out}~{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()[:6]}"


def timepoint(t: float | str) -> str:
    """A time point as key text ('6', '0.5', '365'): one spelling for the analysis and the report."""
    return t if isinstance(t, str) else f"{float(t):g}"


@dataclass(frozen=True)
class Key:
    """What a number is: the identifying part of a row."""

    endpoint: str            # endpoint id from the plan, or a section: POP, STUDY, BASELINE, SAFETY, ...
    analysis: str            # km, cox, logrank, binary rate, safety table, decision ... (schema.ANALYSES)
    statistic: str           # n, median, hr, p, ... (schema.ANALYSES[analysis].statistics)
    group: str = ""          # value of the grouping variable ('' = all subjects); for a comparison, the comparator
    subgroup: str = ""       # subgroup variable ('' = all subjects)
    subgroup_level: str = ""  # its level
    parameter: str = ""      # the variable or measure summarized (baseline variable, exposure variable, ...)
    parent: str = ""         # the enclosing term of a nested term (a preferred term's system organ class)
    term: str = ""           # the category counted or modeled (AE term, baseline category, model term, ...)
    timepoint: str = ""      # time of a landmark rate or risk-table tick (display unit), or a visit

    @property
    def id(self) -> str:
        head = ".".join(_clean(p) for p in (self.endpoint, self.analysis, self.statistic))
        tail = [f"{name}={_clean(getattr(self, name))}" for name in KEY_PARTS if getattr(self, name)]
        return ".".join([head, *tail])


@dataclass(frozen=True)
class Row:
    id: str
    analysis: str
    endpoint: str
    population: str          # population id from the plan ('' for study-level facts)
    group: str
    reference: str           # reference group of a comparison ('' otherwise)
    subgroup: str
    subgroup_level: str
    parameter: str
    parent: str
    term: str
    timepoint: str
    statistic: str
    value: float             # the number (NaN: not estimable, or a text-valued statistic)
    lower: float             # CI bounds (NaN where none)
    upper: float
    text: str                # a text-valued result: a decision's outcome, a date
    n: float                 # subjects the statistic is based on: its denominator (NaN where none)
    unit: str                # unit of value, lower and upper (days, months, patient-years, ...; '' for none)
    method: str              # how it was computed, in words
    note: str                # why a value is not estimable, what was excluded, or a decision's rule

    @property
    def key(self) -> Key:
        return Key(self.endpoint, self.analysis, self.statistic,
                   **{name: getattr(self, name) for name in KEY_PARTS})


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Row))
NUMERIC: frozenset[str] = frozenset({"value", "lower", "upper", "n"})


def row(key: Key, *, population: str = "", value: float = math.nan, lower: float = math.nan,
        upper: float = math.nan, text: str = "", n: float = math.nan, unit: str = "", method: str = "",
        note: str = "", reference: str = "") -> Row:
    """A row for `key` (numbers as floats; integers and numpy scalars accepted). An infinite value or CI limit
    (a Satterthwaite df with no denominator, a profile-likelihood limit the likelihood never reaches) is
    stored as NaN and the note says so: the ARD holds finite numbers only, and the report prints NE."""
    numbers = {"value": float(value), "lower": float(lower), "upper": float(upper)}
    infinite = [f"{'CI ' + name + ' limit' if name != 'value' else 'value'} is infinite"
                for name, x in numbers.items() if math.isinf(x)]
    if infinite:
        numbers = {name: math.nan if math.isinf(x) else x for name, x in numbers.items()}
        note = "; ".join([note, *infinite] if note else infinite)
    return Row(id=key.id, analysis=key.analysis, endpoint=key.endpoint, population=population, group=key.group,
               reference=reference, subgroup=key.subgroup, subgroup_level=key.subgroup_level,
               parameter=key.parameter, parent=key.parent, term=key.term, timepoint=key.timepoint,
               statistic=key.statistic, text=text, n=float(n), unit=unit, method=method, note=note, **numbers)


@dataclass(frozen=True)
class Curve:
    """A Kaplan–Meier step function of one group (in one subgroup level): the estimate at each distinct observed
    time, with its pointwise CI and the counts at risk, with an event and censored there. Figures draw it."""

    id: str
    endpoint: str
    population: str
    group: str
    subgroup: str
    subgroup_level: str
    unit: str
    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n: int

    @property
    def events(self) -> int:
        return int(self.n_event.sum())

    ARRAYS = ("time", "n_risk", "n_event", "n_censor", "surv", "lower", "upper")


class SchemaError(ValueError):
    """A row that breaks the ARD schema: a bug in the analysis that made it."""


class ARDBuilder:
    """Collects rows and curves; refuses duplicate ids and rows that break the schema."""

    def __init__(self) -> None:
        self._rows: dict[str, Row] = {}
        self._curves: dict[str, Curve] = {}

    def add(self, r: Row) -> Row:
        problem = check_row(r)
        if problem:
            raise SchemaError(f"ARD row {r.id!r}: {problem}")
        if r.id in self._rows:
            raise SchemaError(f"duplicate ARD id {r.id!r}")
        self._rows[r.id] = r
        return r

    def extend(self, rows: Iterable[Row]) -> None:
        for r in rows:
            self.add(r)

    def add_curve(self, curve: Curve) -> Curve:
        if curve.id in self._curves:
            raise SchemaError(f"duplicate curve id {curve.id!r}")
        self._curves[curve.id] = curve
        return curve

    def __contains__(self, key: Key) -> bool:
        return key.id in self._rows

    def get(self, key: Key) -> Row | None:
        return self._rows.get(key.id)

    def rows(self) -> list[Row]:
        return list(self._rows.values())

    def build(self) -> ARD:
        return ARD(tuple(self._rows.values()), tuple(self._curves.values()))


class ARD:
    """An immutable, ordered collection of rows (look-up by key or id, filtering) and the curves they link to."""

    def __init__(self, rows: tuple[Row, ...], curves: tuple[Curve, ...] = ()) -> None:
        self._rows = rows
        self._by_id = {r.id: r for r in rows}
        self._by_analysis: dict[str, list[Row]] | None = None
        self.curves = curves
        self._curves = {c.id: c for c in curves}

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows)

    def __contains__(self, key: Key | str) -> bool:
        return _id(key) in self._by_id

    def __getitem__(self, key: Key | str) -> Row:
        try:
            return self._by_id[_id(key)]
        except KeyError:
            raise KeyError(f"no ARD row {_id(key)!r}") from None

    def get(self, key: Key | str) -> Row | None:
        return self._by_id.get(_id(key))

    def select(self, **where: str) -> list[Row]:
        """The rows whose columns equal `where`, in ARD order. Rows are indexed by analysis (built on first use):
        the report selects by analysis dozens of times per render, and a scan of every row each time cost
        about a third of building its context."""
        rows: Iterable[Row] = self._rows
        if "analysis" in where:
            if self._by_analysis is None:
                index: dict[str, list[Row]] = {}
                for r in self._rows:
                    index.setdefault(r.analysis, []).append(r)
                self._by_analysis = index
            rows = self._by_analysis.get(where["analysis"], [])
        return [r for r in rows if all(getattr(r, k) == v for k, v in where.items())]

    def curve(self, curve_id: str) -> Curve:
        return self._curves[curve_id]

    def to_records(self) -> list[dict[str, object]]:
        return [asdict(r) for r in self._rows]

    # --- serialisation: deterministic bytes ------------------------------------------------------
    def to_csv(self, path: Path) -> None:
        """One row per number; spreadsheet formula triggers in text cells neutralised (OWASP CSV injection)."""
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(COLUMNS)
        text = CsvText()
        cells = [(c, c in NUMERIC) for c in COLUMNS]
        w.writerows([[_csv_number(getattr(r, c)) if numeric else text[getattr(r, c)] for c, numeric in cells]
                     for r in self._rows])
        path.write_text(buf.getvalue(), encoding="utf-8")

    def curves_to_csv(self, path: Path) -> None:
        """The linked curve table, long: one line per curve and time."""
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        head = ("curve", "endpoint", "population", "group", "subgroup", "subgroup_level", "unit", *Curve.ARRAYS)
        w.writerow(head)
        for c in self.curves:
            meta = [csv_text(x) for x in (c.id, c.endpoint, c.population, c.group, c.subgroup, c.subgroup_level,
                                          c.unit)]
            columns = [getattr(c, a) for a in Curve.ARRAYS]
            for i in range(len(c.time)):
                w.writerow(meta + [_csv_number(float(col[i])) for col in columns])
        path.write_text(buf.getvalue(), encoding="utf-8")

    def to_json(self, path: Path) -> None:
        # flat: no asdict copy; only the numeric columns need converting
        rows = [{k: _json_value(getattr(r, k)) if k in NUMERIC else getattr(r, k) for k in COLUMNS} for r in self._rows]
        curves = [{"id": c.id, "endpoint": c.endpoint, "population": c.population, "group": c.group,
                   "subgroup": c.subgroup, "subgroup_level": c.subgroup_level, "unit": c.unit, "n": c.n,
                   **{a: [_json_value(float(x)) for x in getattr(c, a)] for a in Curve.ARRAYS}}
                  for c in self.curves]
        body = {"schema": "trialpress-ard/2", "columns": list(COLUMNS), "rows": rows, "curves": curves}
        path.write_text(jsontext.dumps(body), encoding="utf-8")

    @classmethod
    def from_json(cls, path: Path) -> ARD:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = []
        for raw in data["rows"]:
            vals = {k: (math.nan if raw.get(k) is None and k in NUMERIC else raw.get(k, "")) for k in COLUMNS}
            rows.append(Row(**vals))
        curves = []
        for c in data.get("curves", []):
            arrays = {a: np.array([math.nan if x is None else x for x in c[a]], dtype=float) for a in Curve.ARRAYS}
            curves.append(Curve(id=c["id"], endpoint=c["endpoint"], population=c["population"], group=c["group"],
                                subgroup=c["subgroup"], subgroup_level=c["subgroup_level"], unit=c["unit"],
                                n=int(c["n"]), **arrays))
        return cls(tuple(rows), tuple(curves))


def _id(key: Key | str) -> str:
    return key.id if isinstance(key, Key) else key


def _json_value(v: object) -> object:
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return None
        return float(f"{v:.12g}")
    return v


def _csv_number(v: float) -> str:
    return "" if math.isnan(v) else f"{v:.12g}"


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: object) -> str:
    """Text for a CSV cell that a spreadsheet shows as text: a cell starting with = + - @ tab or CR is
    prefixed with an apostrophe (OWASP CSV injection advice), so data never runs as a formula."""
    s = str(value)
    return "'" + s if s.startswith(FORMULA_TRIGGERS) else s


class CsvText(dict[object, str]):
    """`csv_text` of each value, remembered for one file (`text[value]`): an ARD repeats the same few hundred
    strings (groups, endpoints, methods) over ~10^5 cells, and a hit is one dictionary lookup."""

    def __missing__(self, value: object) -> str:
        out = self[value] = csv_text(value)
        return out


def curve_from_arrays(key_id: str, *, endpoint: str, population: str, group: str, unit: str,
                      subgroup: str = "", subgroup_level: str = "", arrays: Sequence[np.ndarray], n: int) -> Curve:
    """A Curve from the seven step-function arrays in `Curve.ARRAYS` order (copied, read-only)."""
    frozen = []
    for a in arrays:
        b = np.array(a, dtype=float, copy=True)
        b.setflags(write=False)
        frozen.append(b)
    return Curve(key_id, endpoint, population, group, subgroup, subgroup_level, unit, *frozen, n=n)

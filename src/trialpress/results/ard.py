"""The analysis-results dataset (ARD): one row per number, the only input of the report.

Each row says what the number is (analysis, endpoint, population, group, statistic, parameter),
its value and CI, the method that produced it, its denominator, and a note when it is not
estimable. The row `id` is stable across runs and data cuts, so versions can be diffed and
every number in the document can link back to its row.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Row:
    id: str
    analysis: str            # km, cox, logrank, followup, binary, logistic, safety, baseline, ...
    endpoint: str            # endpoint id from the plan, or a section id (e.g. SAFETY, BASELINE)
    population: str          # population id from the plan
    group: str               # group value ('' for all subjects); for comparisons the comparator
    statistic: str           # n, events, median, hr, p, rate, ...
    value: float
    lower: float = math.nan
    upper: float = math.nan
    reference: str = ""      # reference group of a comparison
    subgroup: str = ""       # subgroup variable ('' = all)
    level: str = ""          # subgroup level, AE term, baseline category, model term
    param: str = ""          # e.g. time of a landmark rate, '25' for a quartile
    method: str = ""
    n: float = math.nan      # denominator / number of subjects the number is based on
    note: str = ""           # why a value is not estimable, or a model warning


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Row))

# A row is looked up by its id, or by the tuple of key parts the id is made from (made safe by make_id,
# so group values, terms and levels with spaces or dots need no escaping by the caller).
Key = str | tuple[object, ...]


def _id(key: Key) -> str:
    return make_id(*key) if isinstance(key, tuple) else key


def make_id(*parts: object) -> str:
    """Stable row id: the non-empty key parts joined by '.' (spaces and odd characters made safe)."""
    out = []
    for p in parts:
        if p is None or p == "":
            continue
        s = str(p)
        out.append("".join(ch if ch.isalnum() or ch in "-_@" else "_" for ch in s))
    return ".".join(out)


class ARDBuilder:
    """Collects rows; refuses duplicate ids (a duplicate is a bug in an analysis module)."""

    def __init__(self) -> None:
        self._rows: dict[str, Row] = {}

    def add(self, row: Row) -> Row:
        if row.id in self._rows:
            raise ValueError(f"duplicate ARD id {row.id!r}")
        self._rows[row.id] = row
        return row

    def extend(self, rows: Iterable[Row]) -> None:
        for r in rows:
            self.add(r)

    def build(self) -> ARD:
        return ARD(tuple(self._rows.values()))


class ARD:
    """An immutable, ordered collection of rows with look-up by id and filtering."""

    def __init__(self, rows: tuple[Row, ...]) -> None:
        self._rows = rows
        self._by_id = {r.id: r for r in rows}

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows)

    def __contains__(self, key: Key) -> bool:
        return _id(key) in self._by_id

    def __getitem__(self, key: Key) -> Row:
        try:
            return self._by_id[_id(key)]
        except KeyError:
            raise KeyError(f"no ARD row {_id(key)!r}") from None

    def get(self, key: Key) -> Row | None:
        return self._by_id.get(_id(key))

    def select(self, **where: str) -> list[Row]:
        return [r for r in self._rows if all(getattr(r, k) == v for k, v in where.items())]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(r) for r in self._rows], columns=list(COLUMNS))

    # --- serialisation: deterministic bytes ------------------------------------------------------
    def to_csv(self, path: Path) -> None:
        frame = self.to_frame()
        path.write_text(frame.to_csv(index=False, lineterminator="\n", float_format="%.12g"), encoding="utf-8")

    def to_json(self, path: Path) -> None:
        rows = [{k: _json_value(v) for k, v in asdict(r).items()} for r in self._rows]
        path.write_text(json.dumps({"columns": list(COLUMNS), "rows": rows}, indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")

    @classmethod
    def from_json(cls, path: Path) -> ARD:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = []
        for raw in data["rows"]:
            vals = {k: (math.nan if raw[k] is None and k in {"value", "lower", "upper", "n"} else raw[k])
                    for k in COLUMNS}
            rows.append(Row(**vals))
        return cls(tuple(rows))


def _json_value(v: object) -> object:
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return None
        return float(f"{v:.12g}")
    return v

"""Lossless JSON for the work cache: the ARD (rows and curves) and the gate's check results.

The cache must give back exactly what was computed (a cached render is byte-identical to a cold one), so
the ARD's own `ard.json` (12 significant digits) is not enough: here floats are written with Python's
shortest round-trip repr (NaN and infinities as JSON's NaN/Infinity tokens), arrays with their dtype, and
every other value with a type tag. `encode_*` refuses what it cannot encode exactly (`Unencodable`), and
the caller then simply does not cache. Nothing is ever unpickled: a cache folder copied from elsewhere can
at worst be a miss, never run code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import math
from typing import Any

FORMAT = 1


class Unencodable(TypeError):
    """A value the cache cannot store exactly."""


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=True, separators=(",", ":")).encode("utf-8")


def loads(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8"))


# --- tagged values ---------------------------------------------------------------------------------

def encode_value(v: Any) -> Any:
    if v is None or type(v) in (bool, str, int, float):
        return v
    if isinstance(v, list):
        return [encode_value(x) for x in v]
    if isinstance(v, tuple):
        return {"$tuple": [encode_value(x) for x in v]}
    if isinstance(v, dict):
        return {"$dict": [[encode_value(k), encode_value(x)] for k, x in v.items()]}
    module = type(v).__module__
    if module == "numpy" and hasattr(v, "dtype") and getattr(v, "shape", None) == ():
        if v.dtype.kind in "biufU":
            return {"$np": v.dtype.str, "v": v.item()}
        raise Unencodable(f"numpy scalar of dtype {v.dtype}")
    if module.startswith("pandas") and type(v).__name__ in ("Timestamp", "NaTType"):
        if type(v).__name__ == "NaTType":
            return {"$nat": True}
        if v.tzinfo is not None:
            raise Unencodable("time-zone aware timestamp")
        return {"$ts": int(v.value), "unit": getattr(v, "unit", "ns")}
    if type(v) is dt.date:
        return {"$date": v.isoformat()}
    if type(v) is dt.datetime and v.tzinfo is None:
        return {"$datetime": v.isoformat()}
    raise Unencodable(f"value of type {type(v).__name__}")


def decode_value(v: Any) -> Any:
    if isinstance(v, list):
        return [decode_value(x) for x in v]
    if not isinstance(v, dict):
        return v
    if "$tuple" in v:
        return tuple(decode_value(x) for x in v["$tuple"])
    if "$dict" in v:
        return {decode_value(k): decode_value(x) for k, x in v["$dict"]}
    if "$np" in v:
        import numpy as np

        return np.dtype(v["$np"]).type(v["v"])
    if "$nat" in v:
        import pandas as pd

        return pd.NaT
    if "$ts" in v:
        import pandas as pd

        return pd.Timestamp(v["$ts"], unit="ns").as_unit(v.get("unit", "ns"))
    if "$date" in v:
        return dt.date.fromisoformat(v["$date"])
    if "$datetime" in v:
        return dt.datetime.fromisoformat(v["$datetime"])
    raise ValueError(f"unknown tag in {sorted(v)}")


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types (NaN equals NaN): what a lossless round trip must give."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and _same_items(a, b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a):
        names = _field_names(type(a))
        return _same_items([getattr(a, n) for n in names], [getattr(b, n) for n in names])
    if type(a).__module__ == "numpy" and hasattr(a, "dtype"):
        import numpy as np

        if a.dtype != b.dtype or np.shape(a) != np.shape(b):
            return False
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if type(a).__name__ == "NaTType":
        return True
    if type(a).__name__ == "Timestamp":
        return bool(a == b) and getattr(a, "unit", None) == getattr(b, "unit", None)
    return bool(a == b)


_PLAIN = frozenset({str, int, bool, type(None)})
_SCALARS = _PLAIN | {float}      # stored as they are: JSON keeps each type and every float bit


def _same_items(xs: Any, ys: Any) -> bool:
    """`same` for each pair, with plain values (text, integers, floats, None) compared here: an ARD's round trip
    compares ~10^5 of them, and a call per value was most of the cache's cost."""
    for x, y in zip(xs, ys, strict=True):
        t = type(x)
        if t is not type(y):
            return False
        if t is float:
            if x != y and not (x != x and y != y):   # NaN equals NaN
                return False
        elif t in _PLAIN:
            if x != y:
                return False
        elif not same(x, y):
            return False
    return True


@functools.lru_cache(maxsize=None)
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


# --- the ARD -------------------------------------------------------------------------------------------

def encode_ard(ard: Any) -> Any:
    from trialpress.results.ard import Curve, Row

    row_fields = [f.name for f in dataclasses.fields(Row)]
    rows = [[v if type(v) in _SCALARS else encode_value(v) for v in (getattr(r, name) for name in row_fields)]
            for r in ard]
    curve_fields = [f.name for f in dataclasses.fields(Curve)]
    curves = []
    for c in ard.curves:
        item = {}
        for name in curve_fields:
            v = getattr(c, name)
            if type(v).__module__ == "numpy" and getattr(v, "ndim", 0) == 1:
                if v.dtype.kind not in "biuf":
                    raise Unencodable(f"curve array of dtype {v.dtype}")
                item[name] = {"$array": v.dtype.str, "data": v.tolist()}
            else:
                item[name] = encode_value(v)
        curves.append(item)
    return {"format": FORMAT, "row_fields": row_fields, "rows": rows, "curves": curves}


def decode_ard(body: Any) -> Any:
    import numpy as np

    from trialpress.results.ard import ARD, Curve, Row

    if body.get("format") != FORMAT or body.get("row_fields") != [f.name for f in dataclasses.fields(Row)]:
        raise ValueError("cached ARD of another layout")
    names = body["row_fields"]
    rows = tuple(Row(**{n: v if type(v) in _SCALARS else decode_value(v) for n, v in zip(names, values, strict=True)})
                 for values in body["rows"])
    curves = []
    for item in body["curves"]:
        kw = {k: (np.array(v["data"], dtype=np.dtype(v["$array"])) if isinstance(v, dict) and "$array" in v
                  else decode_value(v)) for k, v in item.items()}
        curves.append(Curve(**kw))
    return ARD(rows, tuple(curves))


def same_ard(a: Any, b: Any) -> bool:
    return len(a) == len(b) and _same_items(list(a), list(b)) and same(list(a.curves), list(b.curves))


# --- the gate's results -----------------------------------------------------------------------------

class Record:
    """A check result read back from the cache: the same attributes as the gate's CheckResult (the report
    reads attributes only), without importing the gate (and pandas, great_expectations) to rebuild it."""

    __slots__ = ("_fields",)

    def __init__(self, fields: dict[str, Any]) -> None:
        object.__setattr__(self, "_fields", fields)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("cached check results are read-only")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and same(self._fields, other._fields)

    __hash__ = None  # type: ignore[assignment]


def encode_checks(results: list[Any]) -> list[Any]:
    out = []
    for r in results:
        if not dataclasses.is_dataclass(r):
            raise Unencodable("check result is not a dataclass")
        out.append({f.name: encode_value(getattr(r, f.name)) for f in dataclasses.fields(r)})
    return out


def decode_checks(body: list[Any]) -> list[Record]:
    return [Record({k: decode_value(v) for k, v in item.items()}) for item in body]


def same_checks(results: list[Any], records: list[Record]) -> bool:
    return len(results) == len(records) and all(
        same({f.name: getattr(r, f.name) for f in dataclasses.fields(r)}, rec._fields)
        for r, rec in zip(results, records, strict=True))

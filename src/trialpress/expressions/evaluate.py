"""Vectorised evaluation of a parsed condition on a data frame, with SQL's three-valued logic.

The only part of the package that needs numpy and pandas; `Expression.evaluate` imports it when
data is evaluated, so parsing and validating a plan does not.
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trialpress.expressions.grammar import (KIND_WORD, And, Chain, ExpressionError, In, Lit, Node, Not, Operand, Or,
                                            Var, variables)

_COMPARE: dict[str, Callable[[object, object], object]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
Masks = tuple[np.ndarray, np.ndarray]   # (rows where definitely true, rows where definitely false)


def select(root: Node, frame: pd.DataFrame) -> pd.Series:
    """A bool Series on `frame.index`: rows where the condition is true (unknown counts as false)."""
    for var in sorted(variables(root), key=lambda v: v.pos):
        if var.name not in frame.columns:
            names = [str(c) for c in frame.columns]
            same_letters = [c for c in names if c.upper() == var.name.upper()]
            close = same_letters or difflib.get_close_matches(var.name, names, n=2, cutoff=0.6)
            hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
            raise ExpressionError(f"{var.name!r} is not a variable of the data{hint}", var.pos)
    true, _ = masks(root, _Context(frame, len(frame)))
    return pd.Series(true, index=frame.index, dtype=bool)


def masks(node: Node, ctx: _Context) -> Masks:
    """(true, false) row masks of `node`; rows in neither are unknown."""
    if isinstance(node, Chain):
        pairs = [_compare(ctx, op, a, b, pos)
                 for op, a, b, pos in zip(node.ops, node.operands, node.operands[1:], node.positions)]
        return _all(pairs, ctx.n)
    if isinstance(node, In):
        col = ctx.column(node.operand)
        _check_kinds(col, node.items[0], node.operand.pos)
        wanted = [_scalar(item) for item in node.items]
        true, false = col.apply(lambda values: pd.Series(values, dtype=values.dtype).isin(wanted).to_numpy())
        return (false, true) if node.negated else (true, false)
    if isinstance(node, Not):
        true, false = masks(node.item, ctx)
        return false, true
    if isinstance(node, And):
        return _all([masks(i, ctx) for i in node.items], ctx.n)
    if isinstance(node, Or):
        false, true = _all([(f, t) for t, f in (masks(i, ctx) for i in node.items)], ctx.n)
        return true, false
    raise TypeError(f"not a condition node: {node!r}")


def _all(pairs: list[Masks], n: int) -> Masks:
    """Kleene 'and': true where all are true, false where any is false (else unknown)."""
    true, false = np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    for t, f in pairs:
        true &= t
        false |= f
    return true, false


@dataclass(frozen=True)
class _Column:
    """A data column as comparable values: one per category (`codes` maps rows, -1 missing) or per row."""

    name: str
    kind: str                       # "text" | "number" | "date" | "empty"
    values: np.ndarray
    codes: np.ndarray | None
    known: np.ndarray               # rows with a value

    def apply(self, test: Callable[[np.ndarray], np.ndarray]) -> Masks:
        """`test` (vectorised, on non-missing values) as (true, false) row masks; missing rows are neither."""
        if self.codes is not None:
            result = np.append(np.asarray(test(self.values), dtype=bool), False)[self.codes]
        else:
            result = np.zeros(len(self.known), dtype=bool)
            result[self.known] = test(self.values[self.known])
        return result & self.known, ~result & self.known

    def dense(self) -> np.ndarray:
        """One value per row (anything where missing)."""
        if self.codes is None:
            return self.values
        if not len(self.values):
            return np.full(len(self.codes), None, dtype=object)
        return self.values[np.where(self.codes >= 0, self.codes, 0)]

    def holds(self) -> str:
        shown = self.values[self.known][:200] if self.codes is None else self.values
        sample = [_show(v, self.kind) for v in pd.unique(pd.Series(shown, dtype=shown.dtype))[:3]]
        return KIND_WORD[self.kind] + (f" (e.g. {', '.join(sample)})" if sample and self.kind != "empty" else "")


def _show(value: object, kind: str) -> str:
    if kind == "date":
        return str(pd.Timestamp(value).date()) if pd.notna(value) else "missing"
    if kind == "number":
        return f"{float(value):g}"   # type: ignore[arg-type]
    return repr(str(value))


@dataclass
class _Context:
    """The frame being evaluated, with each named column converted once."""

    frame: pd.DataFrame
    n: int
    columns: dict[str, _Column] = field(default_factory=dict)

    def column(self, var: Var) -> _Column:
        if var.name not in self.columns:
            self.columns[var.name] = _column(self.frame, var)
        return self.columns[var.name]


def _column(frame: pd.DataFrame, var: Var) -> _Column:
    series = frame[var.name]
    if isinstance(series, pd.DataFrame):
        raise ExpressionError(f"{var.name} names {series.shape[1]} columns of the data", var.pos)
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = series.cat.categories
        kind, values, _ = _typed(pd.Series(categories, dtype=categories.dtype), var)
        codes = series.cat.codes.to_numpy()
        return _Column(var.name, kind if len(values) else "empty", values, codes, codes >= 0)
    kind, values, known = _typed(series, var)
    return _Column(var.name, kind, values, None, known)


def _typed(series: pd.Series, var: Var) -> tuple[str, np.ndarray, np.ndarray]:
    """(kind, values, known) of a non-categorical series; refuses what cannot be compared."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        return "number", values, ~np.isnan(values)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if getattr(dtype, "tz", None) is not None:
            raise ExpressionError(f"{var.name} holds time-zone-aware date-times, which cannot be compared", var.pos)
        values = series.to_numpy()
        return "date", values, ~np.isnat(values)
    if not (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)):
        raise ExpressionError(f"{var.name} holds {dtype} values, which an expression cannot compare", var.pos)
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred == "string":
        values = series.to_numpy(dtype=object, na_value=None)
        return "text", values, pd.notna(values)
    if inferred == "empty":
        return "empty", np.full(len(series), None, dtype=object), np.zeros(len(series), dtype=bool)
    if inferred in ("integer", "floating", "mixed-integer-float", "decimal", "boolean"):
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return "number", values, ~np.isnan(values)
    if inferred in ("datetime", "datetime64", "date"):
        try:
            values = pd.to_datetime(series).to_numpy(dtype="datetime64[ns]")
        except (ValueError, TypeError, OverflowError):
            raise ExpressionError(f"{var.name} holds dates that cannot be compared", var.pos) from None
        return "date", values, ~np.isnat(values)
    raise ExpressionError(f"{var.name} holds mixed values ({inferred}), which cannot be compared", var.pos)


def _scalar(lit: Lit) -> object:
    return np.datetime64(lit.value.isoformat(), "D") if lit.kind == "date" else lit.value   # type: ignore[union-attr]


def _check_kinds(col: _Column, lit: Lit, pos: int) -> None:
    if col.kind not in (lit.kind, "empty"):
        value = f"the {'text' if lit.kind == 'text' else lit.kind} {lit.describe()}"
        raise ExpressionError(f"{col.name} holds {col.holds()}, so it cannot be compared with {value}"
                              + (f"; write date('{lit.value}')" if col.kind == "date" and lit.kind == "text" else ""),
                              pos)


def _compare(ctx: _Context, op: str, left: Operand, right: Operand, pos: int) -> Masks:
    compare = _COMPARE[op]
    if isinstance(left, Var) and isinstance(right, Var):
        a, b = ctx.column(left), ctx.column(right)
        if "empty" not in (a.kind, b.kind) and a.kind != b.kind:
            raise ExpressionError(f"{a.name} holds {a.holds()} and {b.name} holds {b.holds()}: they cannot be "
                                  "compared", left.pos)
        known = a.known & b.known
        result = np.zeros(ctx.n, dtype=bool)
        if a.kind != "empty" and b.kind != "empty":
            result[known] = compare(a.dense()[known], b.dense()[known])   # type: ignore[index]
        return result & known, ~result & known
    if isinstance(left, Var):
        col, lit, test = ctx.column(left), right, (lambda v: compare(v, _scalar(right)))   # type: ignore[arg-type]
    else:
        col, lit, test = ctx.column(right), left, (lambda v: compare(_scalar(left), v))    # type: ignore[arg-type]
    _check_kinds(col, lit, (left if isinstance(left, Var) else right).pos)   # type: ignore[arg-type]
    if col.kind == "empty":
        return np.zeros(ctx.n, dtype=bool), np.zeros(ctx.n, dtype=bool)
    return col.apply(test)   # type: ignore[arg-type]

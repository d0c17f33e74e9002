"""A small, whitelisted condition language for population and subset definitions in a plan.

A plan is untrusted input, so its conditions are tokenised and parsed here by a recursive-descent
parser into a tree of a handful of node types, then evaluated vectorised with numpy. Nothing is
ever handed to `eval`, `exec`, `DataFrame.eval` or `DataFrame.query`; anything outside the grammar
is refused with an `ExpressionError` naming the offending part and its position.

Grammar (lowest precedence first; keywords are lower case, as in Python)::

    condition  := and_cond ("or" and_cond)*
    and_cond   := not_cond ("and" not_cond)*
    not_cond   := "not" not_cond | "(" condition ")" | comparison
    comparison := operand (compare_op operand)+          # chained: 18 <= AGE < 65
                | operand ["not"] "in" list
    compare_op := "==" | "!=" | "<" | "<=" | ">" | ">="  # also "=", "≠", "≤", "≥" (what describe() writes)
    list       := ("[" | "(") literal ("," literal)* [","] ("]" | ")")
    operand    := NAME | literal
    literal    := STRING | NUMBER | DATE
    NAME       := [A-Za-z_][A-Za-z0-9_]*, not starting with "__", not a Python keyword
    STRING     := '...' or "..."; the only escapes are \\ \' \"
    NUMBER     := [-]digits[.digits][e[+-]digits] (finite)
    DATE       := YYYY-MM-DD  or  date('YYYY-MM-DD')  (years 1678-2261; the only call allowed)

Every comparison names at least one variable. Text compares with text (ordering by code point),
numbers with numbers, dates with dates; anything else is an error naming the variable and what it
holds. A date literal is midnight of that day when compared with a date-time.

Missing values follow SQL's three-valued logic: a comparison with a missing value is *unknown*,
`not unknown` is unknown, `unknown and False` is False, `unknown or True` is True, and a row whose
condition is unknown is not selected. So `AGE < 18` and `not (AGE >= 18)` both exclude a subject
of unknown age, and `SEX != 'F'` does not select a subject of unknown sex.
"""

from __future__ import annotations

import datetime as dt
import difflib
import keyword
import math
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Union

import numpy as np
import pandas as pd

MAX_LENGTH = 2_000
MAX_DEPTH = 50
DATE_MIN, DATE_MAX = dt.date(1678, 1, 1), dt.date(2261, 12, 31)   # inside pandas' datetime64[ns]


class ExpressionError(ValueError):
    """A condition that is not in the language, or cannot be evaluated on the data.

    `position` is the 0-based index in the expression text of the offending part."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"{self.message} (at character {self.position + 1})"


# ---- tokens --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Token:
    kind: str          # NAME STRING NUMBER DATE OP KEYWORD ( ) [ ] , END
    value: object
    pos: int
    text: str


_OPS = {"==": "==", "!=": "!=", "<=": "<=", ">=": ">=", "<": "<", ">": ">", "=": "==",
        "≠": "!=", "≤": "<=", "≥": ">="}
_KEYWORDS = {"and", "or", "not", "in"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_GLUED = re.compile(r"[A-Za-z0-9_.:-]")   # what may not directly follow a number or date
_WORD = re.compile(r"-?[A-Za-z0-9_.:+-]+")
_REFUSED_KEYWORDS = {
    "lambda": "lambdas are not part of the expression language",
    "for": "comprehensions and loops are not part of the expression language",
    "if": "conditional expressions (x if c else y) are not part of the expression language",
    "else": "conditional expressions (x if c else y) are not part of the expression language",
    "is": "use == or != to compare",
    "True": "True/False are not supported; compare a flag with its value, e.g. SAFFL == 'Y'",
    "False": "True/False are not supported; compare a flag with its value, e.g. SAFFL == 'Y'",
    "None": "None is not supported; a comparison with a missing value never selects a row",
    "import": "imports are not part of the expression language",
}
_REFUSED_CHARS = {
    "@": "'@' names (pandas local variables) are not allowed; an expression refers only to data variables",
    ".": "attribute access is not allowed",
    "&": "use 'and' instead of '&'",
    "|": "use 'or' instead of '|'",
    "~": "use 'not' instead of '~'",
    "!": "use 'not', or '!=' to compare",
    ":": "':' is not allowed (no slices, dicts, lambdas or ':=')",
    "{": "sets and dicts are not allowed",
    "}": "sets and dicts are not allowed",
    "`": "backtick-quoted names are not allowed; variable names are letters, digits and '_'",
    "#": "comments are not allowed in an expression",
    "\\": "a backslash is only allowed inside quotes",
    ";": "';' is not allowed: an expression is one condition",
    "‘": "use straight quotes ' or \"", "’": "use straight quotes ' or \"",
    "“": "use straight quotes ' or \"", "”": "use straight quotes ' or \"",
    **{c: "arithmetic is not supported; compare variables with values" for c in "+-*/%^"},
}


def _tokens(text: str) -> Iterator[_Token]:
    """The tokens of `text`, refusing at the first character outside the language."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        start = i
        if ch in "()[],":
            yield _Token(ch, ch, i, ch)
            i += 1
        elif ch in "'\"":
            value, i = _string(text, i)
            yield _Token("STRING", value, start, text[start:i])
        elif (m := _DATE.match(text, i)) and not _glued(text, m.end()):
            yield _Token("DATE", _date(m.group(), start), start, m.group())
            i = m.end()
        elif m := _NUMBER.match(text, i):
            if _glued(text, m.end()):
                raise ExpressionError(f"malformed number or date {_word(text, start)!r}", start)
            yield _Token("NUMBER", _number(m.group(), start), start, m.group())
            i = m.end()
        elif m := _NAME.match(text, i):
            yield _name(text, m)
            i = m.end()
        elif text.startswith(("==", "!=", "<=", ">="), i):
            yield _Token("OP", _OPS[text[i:i + 2]], i, text[i:i + 2])
            i += 2
        elif text.startswith("<>", i):
            raise ExpressionError("'<>' is not an operator; use '!='", i)
        elif ch in _OPS:
            yield _Token("OP", _OPS[ch], i, ch)
            i += 1
        elif ch == "." and (m := _NAME.match(text, i + 1)):
            raise ExpressionError(f"attribute access {'.' + m.group()!r} is not allowed", i)
        elif ch in _REFUSED_CHARS:
            raise ExpressionError(f"{ch!r}: {_REFUSED_CHARS[ch]}", i)
        else:
            raise ExpressionError(f"unexpected character {ch!r} (U+{ord(ch):04X})", i)
    yield _Token("END", None, n, "end of the expression")


def _glued(text: str, end: int) -> bool:
    return end < len(text) and bool(_GLUED.match(text, end))


def _word(text: str, start: int) -> str:
    m = _WORD.match(text, start)
    return m.group() if m else text[start:start + 1]


def _name(text: str, m: re.Match[str]) -> _Token:
    word, pos = m.group(), m.start()
    if word.startswith("__"):
        raise ExpressionError(f"{word!r}: names starting with '__' are not allowed", pos)
    if word in _KEYWORDS:
        return _Token("KEYWORD", word, pos, word)
    if keyword.iskeyword(word):
        reason = _REFUSED_KEYWORDS.get(word, "Python keywords are not part of the expression language")
        raise ExpressionError(f"{word!r}: {reason}", pos)
    if m.end() < len(text) and text[m.end()] in "'\"":
        raise ExpressionError(f"{word + text[m.end()]!r}: string prefixes (f-strings, r'', b'') are not allowed", pos)
    return _Token("NAME", word, pos, word)


def _string(text: str, start: int) -> tuple[str, int]:
    """A quoted string from `start` (its quote) → (value, index after the closing quote)."""
    quote, out, i = text[start], [], start + 1
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\":
            nxt = text[i + 1:i + 2]
            if nxt not in ("\\", "'", '"'):
                shown = "'\\" + nxt + "'"
                raise ExpressionError(f"unsupported escape {shown} in a string (only \\\\, \\' and \\\")", i)
            out.append(nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    raise ExpressionError("unterminated string: no closing quote", start)


def _number(word: str, pos: int) -> int | float:
    value: int | float = int(word) if re.fullmatch(r"-?[0-9]+", word) and len(word) <= 18 else float(word)
    if not math.isfinite(value):
        raise ExpressionError(f"number {word!r} is too large", pos)
    return value


def _date(word: str, pos: int) -> dt.date:
    if not _DATE.fullmatch(word):
        raise ExpressionError(f"{word!r} is not a date: write YYYY-MM-DD, e.g. 2020-01-31", pos)
    try:
        value = dt.date.fromisoformat(word)
    except ValueError:
        raise ExpressionError(f"{word!r} is not a valid date", pos) from None
    if not DATE_MIN <= value <= DATE_MAX:
        raise ExpressionError(f"date {word} is outside the supported years 1678-2261", pos)
    return value


# ---- tree ---------------------------------------------------------------------------------------

_COMPARE: dict[str, Callable[[object, object], object]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_SHOWN = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}
_Masks = tuple[np.ndarray, np.ndarray]   # (rows where definitely true, rows where definitely false)


@dataclass(frozen=True, slots=True)
class _Var:
    name: str
    pos: int

    def describe(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class _Lit:
    kind: str            # "text" | "number" | "date"
    value: str | int | float | dt.date
    pos: int

    def describe(self) -> str:
        if self.kind == "text":
            return "'" + str(self.value).replace("\\", "\\\\").replace("'", "\\'") + "'"
        if self.kind == "date":
            return self.value.isoformat()   # type: ignore[union-attr]
        return repr(self.value)


_Operand = Union[_Var, _Lit]


@dataclass(frozen=True, slots=True)
class _Chain:
    operands: tuple[_Operand, ...]
    ops: tuple[str, ...]
    positions: tuple[int, ...]

    def describe(self) -> str:
        parts = [self.operands[0].describe()]
        for op, right in zip(self.ops, self.operands[1:]):
            parts += [_SHOWN[op], right.describe()]
        return " ".join(parts)

    def masks(self, ctx: _Context) -> _Masks:
        pairs = [_compare(ctx, op, a, b, pos)
                 for op, a, b, pos in zip(self.ops, self.operands, self.operands[1:], self.positions)]
        return _all(pairs, ctx.n)


@dataclass(frozen=True, slots=True)
class _In:
    operand: _Var
    items: tuple[_Lit, ...]
    negated: bool
    pos: int

    def describe(self) -> str:
        word = "not in" if self.negated else "in"
        return f"{self.operand.describe()} {word} ({', '.join(i.describe() for i in self.items)})"

    def masks(self, ctx: _Context) -> _Masks:
        col = ctx.column(self.operand)
        _check_kinds(col, self.items[0], self.operand.pos)
        wanted = [_scalar(item) for item in self.items]
        true, false = col.apply(lambda values: pd.Series(values, dtype=values.dtype).isin(wanted).to_numpy())
        return (false, true) if self.negated else (true, false)


@dataclass(frozen=True, slots=True)
class _Not:
    item: _Node

    def describe(self) -> str:
        return f"not ({self.item.describe()})"

    def masks(self, ctx: _Context) -> _Masks:
        true, false = self.item.masks(ctx)
        return false, true


@dataclass(frozen=True, slots=True)
class _And:
    items: tuple[_Node, ...]

    def describe(self) -> str:
        return " and ".join(f"({i.describe()})" if isinstance(i, _Or) else i.describe() for i in self.items)

    def masks(self, ctx: _Context) -> _Masks:
        return _all([i.masks(ctx) for i in self.items], ctx.n)


@dataclass(frozen=True, slots=True)
class _Or:
    items: tuple[_Node, ...]

    def describe(self) -> str:
        return " or ".join(i.describe() for i in self.items)

    def masks(self, ctx: _Context) -> _Masks:
        false, true = _all([(f, t) for t, f in (i.masks(ctx) for i in self.items)], ctx.n)
        return true, false


_Node = Union[_Chain, _In, _Not, _And, _Or]


def _all(masks: list[_Masks], n: int) -> _Masks:
    """Kleene 'and': true where all are true, false where any is false (else unknown)."""
    true, false = np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    for t, f in masks:
        true &= t
        false |= f
    return true, false


# ---- parser -------------------------------------------------------------------------------------

class _Parser:
    """Recursive descent over the token stream; nesting is bounded by MAX_DEPTH."""

    def __init__(self, text: str) -> None:
        self._source = _tokens(text)   # lazy: an error is reported where the parser meets it, left to right
        self.tokens: list[_Token] = []
        self.i = 0
        self.depth = 0

    def look(self, ahead: int = 0) -> _Token:
        while len(self.tokens) <= self.i + ahead and not (self.tokens and self.tokens[-1].kind == "END"):
            self.tokens.append(next(self._source))
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    @property
    def tok(self) -> _Token:
        return self.look()

    def take(self) -> _Token:
        tok = self.look()
        if tok.kind != "END":
            self.i += 1
        return tok

    def at(self, kind: str, value: object = None) -> bool:
        tok = self.look()
        return tok.kind == kind and (value is None or tok.value == value)

    def fail(self, message: str, tok: _Token | None = None) -> ExpressionError:
        tok = tok or self.tok
        return ExpressionError(message, tok.pos)

    def enter(self, tok: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"the expression nests deeper than {MAX_DEPTH} levels", tok)

    def parse(self) -> _Node:
        if self.at("END"):
            raise self.fail("the expression is empty")
        node = self.condition()
        if not self.at("END"):
            raise self.fail(self.unexpected("'and', 'or' or the end of the expression"))
        return node

    def unexpected(self, wanted: str) -> str:
        tok = self.tok
        if tok.kind == "NAME" and tok.value in ("AND", "OR", "NOT", "IN"):
            return f"expected {wanted}, found {tok.text!r} (keywords are lower case: and, or, not, in)"
        return f"expected {wanted}, found {tok.text!r}"

    def condition(self) -> _Node:
        items = [self.and_cond()]
        while self.at("KEYWORD", "or"):
            self.take()
            items.append(self.and_cond())
        return items[0] if len(items) == 1 else _Or(tuple(items))

    def and_cond(self) -> _Node:
        items = [self.not_cond()]
        while self.at("KEYWORD", "and"):
            self.take()
            items.append(self.not_cond())
        return items[0] if len(items) == 1 else _And(tuple(items))

    def not_cond(self) -> _Node:
        if self.at("KEYWORD", "not"):
            self.enter(self.take())
            node: _Node = _Not(self.not_cond())
            self.depth -= 1
            return node
        if self.at("("):
            self.enter(self.take())
            node = self.condition()
            if not self.at(")"):
                raise self.fail(self.unexpected("')'"))
            self.take()
            self.depth -= 1
            if self.at("OP") or self.at("KEYWORD", "in"):
                raise self.fail("a condition in parentheses cannot itself be compared")
            return node
        return self.comparison()

    def comparison(self) -> _Node:
        first = self.operand()
        if self.at("OP"):
            operands, ops, positions = [first], [], []
            while self.at("OP"):
                tok = self.take()
                ops.append(str(tok.value))
                positions.append(tok.pos)
                operands.append(self.operand())
                if not (isinstance(operands[-2], _Var) or isinstance(operands[-1], _Var)):
                    raise self.fail(f"{operands[-2].describe()} {tok.text} {operands[-1].describe()} compares two "
                                    "constants; one side must be a variable", tok)
            if self.at("KEYWORD", "in") or (self.at("KEYWORD", "not") and self.peek_is_in()):
                raise self.fail("'in' cannot be chained with a comparison; join them with 'and'")
            return _Chain(tuple(operands), tuple(ops), tuple(positions))
        negated = self.at("KEYWORD", "not") and self.peek_is_in()
        if negated:
            self.take()
        if self.at("KEYWORD", "in"):
            tok = self.take()
            if not isinstance(first, _Var):
                raise self.fail(f"the left side of '{'not in' if negated else 'in'}' must be a variable", tok)
            return _In(first, self.items(), negated, tok.pos)
        what = first.describe()
        if self.at("END") or self.at("KEYWORD"):
            hint = f", e.g. {what} == 'Y'" if isinstance(first, _Var) else ""
            raise self.fail(f"{what} must be compared with something{hint}")
        raise self.fail(self.unexpected(f"a comparison operator after {what}"))

    def peek_is_in(self) -> bool:
        nxt = self.look(1)
        return nxt.kind == "KEYWORD" and nxt.value == "in"

    def items(self) -> tuple[_Lit, ...]:
        if not (self.at("[") or self.at("(")):
            raise self.fail(self.unexpected("a list such as ['A', 'B']"))
        close = "]" if self.take().kind == "[" else ")"
        items: list[_Lit] = []
        while not self.at(close):
            item = self.operand()
            if not isinstance(item, _Lit):
                raise ExpressionError(f"list items must be text, numbers or dates, not the variable {item.name}",
                                      item.pos)
            if items and item.kind != items[0].kind:
                raise ExpressionError(f"the list mixes {_KIND_WORD[items[0].kind]} and {_KIND_WORD[item.kind]}",
                                      item.pos)
            items.append(item)
            if self.at(","):
                self.take()
            elif not self.at(close):
                raise self.fail(self.unexpected(f"',' or {close!r}"))
        if not items:
            raise self.fail("an empty list matches nothing")
        self.take()
        return tuple(items)

    def operand(self) -> _Operand:
        tok = self.tok
        if tok.kind == "NAME":
            self.take()
            if tok.value == "date" and self.at("("):
                return self.date_call(tok)
            if self.at("("):
                raise self.fail(f"function calls are not allowed: {tok.text}(...); the only call is "
                                "date('YYYY-MM-DD')", tok)
            return _Var(str(tok.value), tok.pos)
        if tok.kind in ("STRING", "NUMBER", "DATE"):
            self.take()
            kind = {"STRING": "text", "NUMBER": "number", "DATE": "date"}[tok.kind]
            return _Lit(kind, tok.value, tok.pos)   # type: ignore[arg-type]
        if tok.kind == "[":
            raise self.fail("a list [...] can only follow 'in' or 'not in'")
        raise self.fail(self.unexpected("a variable or a value"))

    def date_call(self, name: _Token) -> _Lit:
        self.take()
        arg = self.take()
        if arg.kind != "STRING" or not self.at(")"):
            raise self.fail("date() takes one quoted date, e.g. date('2020-01-31')", arg)
        self.take()
        return _Lit("date", _date(str(arg.value), arg.pos + 1), name.pos)


# ---- evaluation ---------------------------------------------------------------------------------

_KIND_WORD = {"text": "text", "number": "numbers", "date": "dates", "empty": "only missing values"}


@dataclass(frozen=True)
class _Column:
    """A data column as comparable values: one per category (`codes` maps rows, -1 missing) or per row."""

    name: str
    kind: str                       # "text" | "number" | "date" | "empty"
    values: np.ndarray
    codes: np.ndarray | None
    known: np.ndarray               # rows with a value

    def apply(self, test: Callable[[np.ndarray], np.ndarray]) -> _Masks:
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
        return _KIND_WORD[self.kind] + (f" (e.g. {', '.join(sample)})" if sample and self.kind != "empty" else "")


def _show(value: object, kind: str) -> str:
    if kind == "date":
        return str(pd.Timestamp(value).date()) if pd.notna(value) else "missing"
    if kind == "number":
        return f"{float(value):g}"   # type: ignore[arg-type]
    return repr(str(value))


@dataclass
class _Context:
    frame: pd.DataFrame
    n: int
    columns: dict[str, _Column] = field(default_factory=dict)

    def column(self, var: _Var) -> _Column:
        if var.name not in self.columns:
            self.columns[var.name] = _column(self.frame, var)
        return self.columns[var.name]


def _column(frame: pd.DataFrame, var: _Var) -> _Column:
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


def _typed(series: pd.Series, var: _Var) -> tuple[str, np.ndarray, np.ndarray]:
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


def _scalar(lit: _Lit) -> object:
    return np.datetime64(lit.value.isoformat(), "D") if lit.kind == "date" else lit.value   # type: ignore[union-attr]


def _check_kinds(col: _Column, lit: _Lit, pos: int) -> None:
    if col.kind not in (lit.kind, "empty"):
        value = f"the {'text' if lit.kind == 'text' else lit.kind} {lit.describe()}"
        raise ExpressionError(f"{col.name} holds {col.holds()}, so it cannot be compared with {value}"
                              + (f"; write date('{lit.value}')" if col.kind == "date" and lit.kind == "text" else ""),
                              pos)


def _compare(ctx: _Context, op: str, left: _Operand, right: _Operand, pos: int) -> _Masks:
    compare = _COMPARE[op]
    if isinstance(left, _Var) and isinstance(right, _Var):
        a, b = ctx.column(left), ctx.column(right)
        if "empty" not in (a.kind, b.kind) and a.kind != b.kind:
            raise ExpressionError(f"{a.name} holds {a.holds()} and {b.name} holds {b.holds()}: they cannot be "
                                  "compared", left.pos)
        known = a.known & b.known
        result = np.zeros(ctx.n, dtype=bool)
        if a.kind != "empty" and b.kind != "empty":
            result[known] = compare(a.dense()[known], b.dense()[known])   # type: ignore[index]
        return result & known, ~result & known
    if isinstance(left, _Var):
        col, lit, test = ctx.column(left), right, (lambda v: compare(v, _scalar(right)))   # type: ignore[arg-type]
    else:
        col, lit, test = ctx.column(right), left, (lambda v: compare(_scalar(left), v))    # type: ignore[arg-type]
    _check_kinds(col, lit, (left if isinstance(left, _Var) else right).pos)   # type: ignore[arg-type]
    if col.kind == "empty":
        return np.zeros(ctx.n, dtype=bool), np.zeros(ctx.n, dtype=bool)
    return col.apply(test)   # type: ignore[arg-type]


# ---- public -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expression:
    """A parsed condition: the variables it names, its value on a frame, and how to say it in prose."""

    text: str
    _root: _Node = field(repr=False)

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(v.name for v in _vars(self._root))

    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        """A bool Series on `frame.index`: rows where the condition is true (unknown counts as false)."""
        for var in sorted(_vars(self._root), key=lambda v: v.pos):
            if var.name not in frame.columns:
                names = [str(c) for c in frame.columns]
                same_letters = [c for c in names if c.upper() == var.name.upper()]
                close = same_letters or difflib.get_close_matches(var.name, names, n=2, cutoff=0.6)
                hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
                raise ExpressionError(f"{var.name!r} is not a variable of the data{hint}", var.pos)
        true, _ = self._root.masks(_Context(frame, len(frame)))
        return pd.Series(true, index=frame.index, dtype=bool)

    def describe(self) -> str:
        """Canonical rendering for the methods section, e.g. "AGE ≥ 18 and SEX = 'F'"; it parses back."""
        return self._root.describe()

    def __str__(self) -> str:
        return self.describe()


def _vars(node: _Node | _Operand) -> Iterator[_Var]:
    if isinstance(node, _Var):
        yield node
    elif isinstance(node, _Chain):
        for o in node.operands:
            yield from _vars(o)
    elif isinstance(node, _In):
        yield node.operand
    elif isinstance(node, _Not):
        yield from _vars(node.item)
    elif isinstance(node, (_And, _Or)):
        for i in node.items:
            yield from _vars(i)


def parse(text: str) -> Expression:
    """Parse a condition; anything outside the grammar raises `ExpressionError` with its position."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, not {type(text).__name__}", 0)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text):,} characters long; at most {MAX_LENGTH:,} are allowed",
                              MAX_LENGTH)
    return Expression(text, _Parser(text).parse())


__all__ = ["Expression", "ExpressionError", "parse", "MAX_LENGTH", "MAX_DEPTH"]

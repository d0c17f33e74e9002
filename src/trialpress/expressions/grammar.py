"""Tokenizer, syntax tree and parser of the condition language: pure Python, no numpy or pandas.

Everything a plan needs to be validated (parse, the variables named, the prose rendering) lives
here, so that loading a plan never imports the data stack; evaluating a tree on data is
`trialpress.expressions.evaluate`. The names here are internal to the package.
"""

from __future__ import annotations

import datetime as dt
import keyword
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Union

MAX_LENGTH = 2_000
MAX_DEPTH = 50
DATE_MIN, DATE_MAX = dt.date(1678, 1, 1), dt.date(2261, 12, 31)   # inside pandas' datetime64[ns]
KIND_WORD = {"text": "text", "number": "numbers", "date": "dates", "empty": "only missing values"}


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
class Token:
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


def tokens(text: str) -> Iterator[Token]:
    """The tokens of `text`, refusing at the first character outside the language."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        start = i
        if ch in "()[],":
            yield Token(ch, ch, i, ch)
            i += 1
        elif ch in "'\"":
            value, i = _string(text, i)
            yield Token("STRING", value, start, text[start:i])
        elif (m := _DATE.match(text, i)) and not _glued(text, m.end()):
            yield Token("DATE", _date(m.group(), start), start, m.group())
            i = m.end()
        elif m := _NUMBER.match(text, i):
            if _glued(text, m.end()):
                raise ExpressionError(f"malformed number or date {_word(text, start)!r}", start)
            yield Token("NUMBER", _number(m.group(), start), start, m.group())
            i = m.end()
        elif m := _NAME.match(text, i):
            yield _name(text, m)
            i = m.end()
        elif text.startswith(("==", "!=", "<=", ">="), i):
            yield Token("OP", _OPS[text[i:i + 2]], i, text[i:i + 2])
            i += 2
        elif text.startswith("<>", i):
            raise ExpressionError("'<>' is not an operator; use '!='", i)
        elif ch in _OPS:
            yield Token("OP", _OPS[ch], i, ch)
            i += 1
        elif ch == "." and (m := _NAME.match(text, i + 1)):
            raise ExpressionError(f"attribute access {'.' + m.group()!r} is not allowed", i)
        elif ch in _REFUSED_CHARS:
            raise ExpressionError(f"{ch!r}: {_REFUSED_CHARS[ch]}", i)
        else:
            raise ExpressionError(f"unexpected character {ch!r} (U+{ord(ch):04X})", i)
    yield Token("END", None, n, "end of the expression")


def _glued(text: str, end: int) -> bool:
    return end < len(text) and bool(_GLUED.match(text, end))


def _word(text: str, start: int) -> str:
    m = _WORD.match(text, start)
    return m.group() if m else text[start:start + 1]


def _name(text: str, m: re.Match[str]) -> Token:
    word, pos = m.group(), m.start()
    if word.startswith("__"):
        raise ExpressionError(f"{word!r}: names starting with '__' are not allowed", pos)
    if word in _KEYWORDS:
        return Token("KEYWORD", word, pos, word)
    if keyword.iskeyword(word):
        reason = _REFUSED_KEYWORDS.get(word, "Python keywords are not part of the expression language")
        raise ExpressionError(f"{word!r}: {reason}", pos)
    if m.end() < len(text) and text[m.end()] in "'\"":
        raise ExpressionError(f"{word + text[m.end()]!r}: string prefixes (f-strings, r'', b'') are not allowed", pos)
    return Token("NAME", word, pos, word)


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
# Plain data plus `describe`; how a node selects rows is `evaluate.masks`, which dispatches on these types.

_SHOWN = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}


@dataclass(frozen=True, slots=True)
class Var:
    name: str
    pos: int

    def describe(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Lit:
    kind: str            # "text" | "number" | "date"
    value: str | int | float | dt.date
    pos: int

    def describe(self) -> str:
        if self.kind == "text":
            return "'" + str(self.value).replace("\\", "\\\\").replace("'", "\\'") + "'"
        if self.kind == "date":
            return self.value.isoformat()   # type: ignore[union-attr]
        return repr(self.value)


Operand = Union[Var, Lit]


@dataclass(frozen=True, slots=True)
class Chain:
    """A (possibly chained) comparison: operands[i] ops[i] operands[i + 1], all of which must hold."""

    operands: tuple[Operand, ...]
    ops: tuple[str, ...]
    positions: tuple[int, ...]

    def describe(self) -> str:
        parts = [self.operands[0].describe()]
        for op, right in zip(self.ops, self.operands[1:]):
            parts += [_SHOWN[op], right.describe()]
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class In:
    operand: Var
    items: tuple[Lit, ...]
    negated: bool
    pos: int

    def describe(self) -> str:
        word = "not in" if self.negated else "in"
        return f"{self.operand.describe()} {word} ({', '.join(i.describe() for i in self.items)})"


@dataclass(frozen=True, slots=True)
class Not:
    item: Node

    def describe(self) -> str:
        return f"not ({self.item.describe()})"


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]

    def describe(self) -> str:
        return " and ".join(f"({i.describe()})" if isinstance(i, Or) else i.describe() for i in self.items)


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]

    def describe(self) -> str:
        return " or ".join(i.describe() for i in self.items)


Node = Union[Chain, In, Not, And, Or]


def variables(node: Node | Operand) -> Iterator[Var]:
    """Every variable reference in the tree, in tree order (a name may occur more than once)."""
    if isinstance(node, Var):
        yield node
    elif isinstance(node, Chain):
        for o in node.operands:
            yield from variables(o)
    elif isinstance(node, In):
        yield node.operand
    elif isinstance(node, Not):
        yield from variables(node.item)
    elif isinstance(node, (And, Or)):
        for i in node.items:
            yield from variables(i)


# ---- parser -------------------------------------------------------------------------------------

class Parser:
    """Recursive descent over the token stream; nesting is bounded by MAX_DEPTH."""

    def __init__(self, text: str) -> None:
        self._source = tokens(text)   # lazy: an error is reported where the parser meets it, left to right
        self.tokens: list[Token] = []
        self.i = 0
        self.depth = 0

    def look(self, ahead: int = 0) -> Token:
        while len(self.tokens) <= self.i + ahead and not (self.tokens and self.tokens[-1].kind == "END"):
            self.tokens.append(next(self._source))
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    @property
    def tok(self) -> Token:
        return self.look()

    def take(self) -> Token:
        tok = self.look()
        if tok.kind != "END":
            self.i += 1
        return tok

    def at(self, kind: str, value: object = None) -> bool:
        tok = self.look()
        return tok.kind == kind and (value is None or tok.value == value)

    def fail(self, message: str, tok: Token | None = None) -> ExpressionError:
        tok = tok or self.tok
        return ExpressionError(message, tok.pos)

    def enter(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"the expression nests deeper than {MAX_DEPTH} levels", tok)

    def parse(self) -> Node:
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

    def condition(self) -> Node:
        items = [self.and_cond()]
        while self.at("KEYWORD", "or"):
            self.take()
            items.append(self.and_cond())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_cond(self) -> Node:
        items = [self.not_cond()]
        while self.at("KEYWORD", "and"):
            self.take()
            items.append(self.not_cond())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_cond(self) -> Node:
        if self.at("KEYWORD", "not"):
            self.enter(self.take())
            node: Node = Not(self.not_cond())
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

    def comparison(self) -> Node:
        first = self.operand()
        if self.at("OP"):
            operands, ops, positions = [first], [], []
            while self.at("OP"):
                tok = self.take()
                ops.append(str(tok.value))
                positions.append(tok.pos)
                operands.append(self.operand())
                if not (isinstance(operands[-2], Var) or isinstance(operands[-1], Var)):
                    raise self.fail(f"{operands[-2].describe()} {tok.text} {operands[-1].describe()} compares two "
                                    "constants; one side must be a variable", tok)
            if self.at("KEYWORD", "in") or (self.at("KEYWORD", "not") and self.peek_is_in()):
                raise self.fail("'in' cannot be chained with a comparison; join them with 'and'")
            return Chain(tuple(operands), tuple(ops), tuple(positions))
        negated = self.at("KEYWORD", "not") and self.peek_is_in()
        if negated:
            self.take()
        if self.at("KEYWORD", "in"):
            tok = self.take()
            if not isinstance(first, Var):
                raise self.fail(f"the left side of '{'not in' if negated else 'in'}' must be a variable", tok)
            return In(first, self.items(), negated, tok.pos)
        what = first.describe()
        if self.at("END") or self.at("KEYWORD"):
            hint = f", e.g. {what} == 'Y'" if isinstance(first, Var) else ""
            raise self.fail(f"{what} must be compared with something{hint}")
        raise self.fail(self.unexpected(f"a comparison operator after {what}"))

    def peek_is_in(self) -> bool:
        nxt = self.look(1)
        return nxt.kind == "KEYWORD" and nxt.value == "in"

    def items(self) -> tuple[Lit, ...]:
        if not (self.at("[") or self.at("(")):
            raise self.fail(self.unexpected("a list such as ['A', 'B']"))
        close = "]" if self.take().kind == "[" else ")"
        items: list[Lit] = []
        while not self.at(close):
            item = self.operand()
            if not isinstance(item, Lit):
                raise ExpressionError(f"list items must be text, numbers or dates, not the variable {item.name}",
                                      item.pos)
            if items and item.kind != items[0].kind:
                raise ExpressionError(f"the list mixes {KIND_WORD[items[0].kind]} and {KIND_WORD[item.kind]}",
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

    def operand(self) -> Operand:
        tok = self.tok
        if tok.kind == "NAME":
            self.take()
            if tok.value == "date" and self.at("("):
                return self.date_call(tok)
            if self.at("("):
                raise self.fail(f"function calls are not allowed: {tok.text}(...); the only call is "
                                "date('YYYY-MM-DD')", tok)
            return Var(str(tok.value), tok.pos)
        if tok.kind in ("STRING", "NUMBER", "DATE"):
            self.take()
            kind = {"STRING": "text", "NUMBER": "number", "DATE": "date"}[tok.kind]
            return Lit(kind, tok.value, tok.pos)   # type: ignore[arg-type]
        if tok.kind == "[":
            raise self.fail("a list [...] can only follow 'in' or 'not in'")
        raise self.fail(self.unexpected("a variable or a value"))

    def date_call(self, name: Token) -> Lit:
        self.take()
        arg = self.take()
        if arg.kind != "STRING" or not self.at(")"):
            raise self.fail("date() takes one quoted date, e.g. date('2020-01-31')", arg)
        self.take()
        return Lit("date", _date(str(arg.value), arg.pos + 1), name.pos)

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

The package is split so that validating a plan needs neither numpy nor pandas (every
`trialpress render` validates the plan's conditions, even when the analysis comes from cache):
`grammar` — tokenizer, syntax tree, parser, pure Python — is all that `parse`,
`Expression.variables` and `Expression.describe` use; `evaluate`, which imports numpy and pandas,
is loaded only by `Expression.evaluate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from trialpress.expressions.grammar import MAX_DEPTH, MAX_LENGTH, ExpressionError, Node, Parser, variables

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Expression:
    """A parsed condition: the variables it names, its value on a frame, and how to say it in prose."""

    text: str
    _root: Node = field(repr=False)

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(v.name for v in variables(self._root))

    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        """A bool Series on `frame.index`: rows where the condition is true (unknown counts as false)."""
        from trialpress.expressions import evaluate   # numpy/pandas: only when data is evaluated

        return evaluate.select(self._root, frame)

    def describe(self) -> str:
        """Canonical rendering for the methods section, e.g. "AGE ≥ 18 and SEX = 'F'"; it parses back."""
        return self._root.describe()

    def __str__(self) -> str:
        return self.describe()


def parse(text: str) -> Expression:
    """Parse a condition; anything outside the grammar raises `ExpressionError` with its position."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, not {type(text).__name__}", 0)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text):,} characters long; at most {MAX_LENGTH:,} are allowed",
                              MAX_LENGTH)
    return Expression(text, Parser(text).parse())


__all__ = ["Expression", "ExpressionError", "parse", "MAX_LENGTH", "MAX_DEPTH"]

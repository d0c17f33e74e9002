"""One variable a plan needs of a dataset: the record every area's requirements are made of."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["num", "char", "date", "any"]   # any: numeric if every value parses (model covariates)


@dataclass(frozen=True)
class Requirement:
    """A variable the plan uses, its kind, and which plan keys ask for it (for messages)."""

    dataset: str
    variable: str
    kind: Kind
    why: str

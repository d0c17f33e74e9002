"""Shared pieces of the plan schema: strict models, display levels, conditions, analysed subsets."""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def _condition(text: str | None) -> str | None:
    """A condition on ADSL must parse in the whitelisted grammar (nothing else is ever evaluated)."""
    if text is not None:
        from trialpress.expressions import parse

        parse(text)   # ExpressionError is a ValueError: reported with the plan line
    return text


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a plan must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(Strict):
    value: str = Field(description="Value of the grouping variable in ADSL.")
    label: str = Field(description="Display label (tables, figures, text).")
    short: str | None = Field(default=None, description="Short label for narrow columns.")


Role = Literal["efficacy", "safety"]


class Subset(Strict):
    """The subjects an endpoint is analysed in, within its population (responders, transplanted patients …).

    Without `responders` or `where`, the analysed set is the population's subjects with a record of the
    endpoint's parameter; the label then says who they are. Every table header, N and sentence of the
    endpoint uses this set."""

    label: str = Field(description="Who the analysed subjects are, in prose: 'patients in remission'.")
    responders: str | None = Field(default=None, description="Id of a binary endpoint: only its responders are analysed "
                                                           "(e.g. duration of response among responders).")
    where: str | None = Field(default=None, description="A condition on ADSL variables selecting the subjects, "
                                                       "as in populations[].expression.")

    @field_validator("where")
    @classmethod
    def _parsed(cls, v: str | None) -> str | None:
        return _condition(v)

    @model_validator(mode="after")
    def _one_rule(self) -> Subset:
        if self.responders and self.where:
            raise ValueError("give at most one of 'responders' or 'where'")
        return self


def _did_you_mean(word: str, options: Any) -> str:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""



"""Time-to-event and binary endpoints, and subgroups, of the plan."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from trialpress.plan.base import Role, Strict, Subset, Level

TIME_UNITS: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25}


class TimeToEvent(Strict):
    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    paramcd: str = Field(description="PARAMCD in ADTTE.")
    label: str
    abbreviation: str | None = None
    population: str
    subset: Subset | None = Field(default=None, description="Analysed subjects within the population, when not all.")
    role: Role = Field(default="efficacy", description="Where it is reported: the efficacy or the safety section.")
    better: Literal["longer", "shorter"] = Field(
        default="longer", description="Which time is the better outcome for the patient (longer for survival and for "
                                      "time to an adverse event; shorter for time to recovery or response).")
    unit: Literal["days", "weeks", "months", "years"] = Field(description="Unit of AVAL in ADTTE (checked against AVALU).")
    display_unit: Literal["days", "weeks", "months", "years"] | None = None
    landmarks: list[float] = Field(default_factory=list, description="KM rates at these times (display unit).")
    tick_every: float | None = Field(default=None, description="x-axis tick spacing (display unit).")
    stratify_by: str | None = Field(default=None, description="ADSL variable for stratified log-rank and Cox.")
    adjust_for: list[str] = Field(default_factory=list, description="ADSL covariates of the adjusted Cox model.")
    subgroups: bool = Field(default=False, description="Run the plan's subgroup analysis on this endpoint.")
    description: str | None = Field(default=None, description="Endpoint definition for the methods section.")
    origin: str = Field(default="start", description="What time zero is, for the axis: 'Months since <origin>'.")
    figure: bool = True
    y_label: str | None = Field(
        default=None, description="y axis of its Kaplan-Meier figures (default: the label and '(%)'; e.g. "
                                  "'Remaining in response (%)' for a duration of response).")
    in_abstract: bool = Field(default=True, description="State this endpoint's comparison in the abstract.")
    by_subgroup_figure: str | None = Field(
        default=None, description="Subgroup variable for a KM panel of group x subgroup (e.g. age group)."
    )

    @property
    def shown_unit(self) -> str:
        return self.display_unit or self.unit

    @property
    def unit_factor(self) -> float:
        """Multiply AVAL by this to express it in the display unit."""
        return TIME_UNITS[self.unit] / TIME_UNITS[self.shown_unit]


class BinarySource(Strict):
    dataset: Literal["ADSL", "ADRS"]
    variable: str = Field(description="Variable holding the outcome (e.g. AVALC in ADRS, a flag in ADSL).")
    values: list[str] = Field(min_length=1, description="Values that count as a response.")
    paramcd: str | None = Field(default=None, description="PARAMCD selecting the ADRS rows.")

    @model_validator(mode="after")
    def _adrs_needs_paramcd(self) -> BinarySource:
        if self.dataset == "ADRS" and not self.paramcd:
            raise ValueError("an ADRS source needs 'paramcd'")
        return self


class Binary(Strict):
    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    label: str
    abbreviation: str | None = None
    population: str
    subset: Subset | None = Field(default=None, description="Analysed subjects within the population, when not all.")
    role: Role = Field(default="efficacy", description="Where it is reported: the efficacy or the safety section.")
    better: Literal["higher", "lower"] = Field(
        default="higher", description="Which rate is the better outcome (higher for response, lower for an adverse "
                                      "outcome such as relapse or discontinuation).")
    source: BinarySource
    adjust_for: list[str] = Field(default_factory=list)
    description: str | None = None


class Subgroup(Strict):
    variable: str
    label: str
    levels: list[Level] | None = Field(default=None, description="Display order and labels; default: sorted values.")



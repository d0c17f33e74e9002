"""The safety section of the plan: AE variables and their coding, AEs of interest, exposure."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from trialpress.plan.base import Strict


class InterestTerm(Strict):
    id: str
    label: str
    pt: list[str] = Field(default_factory=list, description="Preferred terms that make up the category.")
    soc: list[str] = Field(default_factory=list, description="Whole system organ classes.")

    @model_validator(mode="after")
    def _some_terms(self) -> InterestTerm:
        if not self.pt and not self.soc:
            raise ValueError("an AE of interest needs 'pt' or 'soc' terms")
        return self


class SafetyVariables(Strict):
    """ADAE variables and the values that count, as the data code them.

    Relatedness has no controlled terminology (Y/N, RELATED/NOT RELATED, PROBABLE/POSSIBLE/REMOTE/NONE …):
    `related_values` may be left out only when the data code it Y/N or RELATED/NOT RELATED; any other coding
    must be stated (trialpress init writes what it finds). Action taken (C66767) and outcome (C66768) follow
    CDISC controlled terms by default."""

    teae_flag: str | None = "TRTEMFL"
    soc: str = "AEBODSYS"
    pt: str = "AEDECOD"
    severity: str = "AETOXGR"
    severity_kind: Literal["ctcae", "mild_moderate_severe"] = "ctcae"
    serious: str | None = "AESER"
    related: str | None = "AEREL"
    related_values: list[str] | None = Field(
        default=None, description="Values of `related` that count as related (e.g. [PROBABLE, POSSIBLE]); default: "
                                  "'Y' or 'RELATED' when the data use Y/N or RELATED/NOT RELATED.")
    action: str | None = "AEACN"
    withdrawn_values: list[str] = Field(default_factory=lambda: ["DRUG WITHDRAWN"],
                                        description="Values of `action` meaning the study drug was withdrawn.")
    outcome: str | None = "AEOUT"
    fatal_values: list[str] = Field(default_factory=lambda: ["FATAL"])


class DiscontinuationSource(Strict):
    """Discontinuation due to an AE from ADSL (e.g. DCTREAS = 'ADVERSE EVENT') when ADAE has no action taken."""

    variable: str = Field(description="ADSL variable holding the discontinuation reason (DCTREAS, DCSREAS, DCDECOD).")
    values: list[str] = Field(min_length=1, description="Reasons that mean discontinuation due to an adverse event.")
    label: str = Field(default="Discontinued due to an adverse event",
                       description="Row label in the safety overview.")


class Safety(Strict):
    population: str
    variables: SafetyVariables = SafetyVariables()
    pt_threshold_percent: float = Field(default=10.0, ge=0, le=100)
    of_interest: list[InterestTerm] = Field(default_factory=list)
    exposure_days: str | None = Field(default="TRTDURD", description="ADSL variable: days on treatment.")
    exposure_cycles: str | None = Field(default="CYCLES", description="ADSL variable: cycles received.")
    discontinuation: DiscontinuationSource | None = Field(
        default=None, description="Discontinuation due to an AE read from ADSL, when ADAE's action taken is not "
                                  "collected.")



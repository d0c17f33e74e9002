"""Continuous and longitudinal endpoints of the plan: a parameter of a BDS dataset (ADQS, ADEFF, ADLB, ADVS …)
summarised by visit and compared by ANCOVA at one visit or by MMRM over visits."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from trialpress.plan.base import Role, Strict, Subset

Structure = Literal["us", "toeplitz", "ar1", "cs"]


class AnalysisRows(Strict):
    """Which records of the dataset are analysed (ADaM BDS: one analysis record per subject, parameter and
    visit among the rows selected)."""

    flag: str | None = Field(default=None, description="Analysis flag: only records with this variable = 'Y' "
                                                       "(e.g. ANL01FL); none: every record of the parameter.")
    dtype: str | None = Field(default=None, description="DTYPE of the records analysed (e.g. LOCF); none: the "
                                                        "observed records (DTYPE missing) when the dataset has DTYPE.")
    visit: str = Field(default="AVISIT", description="Visit variable (text).")
    visit_order: str = Field(default="AVISITN", description="Numeric variable ordering the visits.")
    timepoint: str | None = Field(default=None, description="Time-point variable when a visit has several (ATPT).")
    timepoint_value: str | None = Field(default=None, description="The time point analysed (a value of `timepoint`).")

    @model_validator(mode="after")
    def _timepoint_pair(self) -> AnalysisRows:
        if (self.timepoint is None) != (self.timepoint_value is None):
            raise ValueError("give both 'timepoint' and 'timepoint_value', or neither")
        return self


class Continuous(Strict):
    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    label: str
    abbreviation: str | None = None
    dataset: str = Field(default="ADQS", pattern=r"^AD[A-Z0-9]{1,6}$", description="BDS dataset holding it.")
    paramcd: str = Field(description="PARAMCD of the parameter.")
    value: Literal["AVAL", "CHG", "PCHG"] = Field(default="CHG", description="The analysed variable: the value, "
                                                  "its change from baseline, or its percent change.")
    baseline: str = Field(default="BASE", description="Baseline value variable (BASE).")
    population: str
    subset: Subset | None = None
    rows: AnalysisRows = AnalysisRows()
    visits: list[str] | None = Field(default=None, description="Visits to summarise and model, in order "
                                                              "(default: every post-baseline visit with data).")
    primary_visit: str = Field(description="The visit of the primary comparison (and of an ANCOVA).")
    model: Literal["mmrm", "ancova", "descriptive"] = "mmrm"
    covariates: list[str] = Field(default_factory=lambda: ["BASE"],
                                  description="Numeric covariates: BDS variables (BASE) or ADSL variables.")
    factors: list[str] = Field(default_factory=list, description="Categorical ADSL covariates (strata, region).")
    covariate_by_visit: list[str] = Field(default_factory=list,
                                          description="MMRM: covariates with a by-visit interaction (e.g. BASE).")
    covariance: Structure | list[Structure] = Field(
        default_factory=lambda: ["us", "toeplitz", "ar1", "cs"],
        description="MMRM within-subject covariance, or the order tried until one converges.")
    df_method: Literal["satterthwaite", "kenward-roger", "residual"] = "satterthwaite"
    lsmeans: Literal["observed", "equal"] = Field(default="observed", description="LS-mean weights of the "
                                                  "factor levels: observed margins (SAS OM) or equal.")
    doses: dict[str, float] | None = Field(default=None, description="Group value → dose: adds a linear "
                                                                     "dose-response test.")
    better: Literal["higher", "lower"] = Field(description="Which direction of the analysed value is better "
                                                           "(e.g. lower for a symptom score, higher for FEV1).")
    role: Role = Field(default="efficacy", description="Where it is reported: the efficacy results, or the safety "
                                                       "section (its differences described, not favoring a group).")
    unit: str | None = Field(default=None, description="Unit of the value (default: the records' AVALU when they "
                                                       "carry one; a percent change is in %).")
    decimals: int = Field(default=1, ge=0, le=4)
    in_abstract: bool = True
    figure: bool = True
    description: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Continuous:
        if self.visits is not None and self.primary_visit not in self.visits:
            raise ValueError(f"primary_visit {self.primary_visit!r} is not one of visits {self.visits}")
        if self.model == "ancova" and self.covariate_by_visit:
            raise ValueError("covariate_by_visit applies to an MMRM, not an ANCOVA at one visit")
        return self

    @property
    def structures(self) -> list[str]:
        return [self.covariance] if isinstance(self.covariance, str) else list(self.covariance)

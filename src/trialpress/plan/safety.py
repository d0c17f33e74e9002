"""The safety section of the plan: AE variables and their coding, AEs of interest, exposure, and the settings of
the disposition, death, laboratory and vital-sign tables. Every setting has a default, so a plan names only
what differs from ADaM's standard names; a table whose data the study does not have is left out."""

from __future__ import annotations

from itertools import pairwise
from typing import Literal

from pydantic import Field, field_validator, model_validator

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
    onset_day: str | None = Field(
        default="ASTDY", description="ADAE study day of onset (day 1 = first dose): the time at risk of a subject's "
                                     "first event in exposure-adjusted rates; null: no exposure-adjusted rates.")
    dictionary_version: str | None = Field(
        default=None, description="ADAE variable holding the MedDRA version the terms were coded with (printed in "
                                  "the methods; overrides safety.meddra_version).")


class DiscontinuationSource(Strict):
    """Discontinuation due to an AE from ADSL (e.g. DCTREAS = 'ADVERSE EVENT') when ADAE has no action taken."""

    variable: str = Field(description="ADSL variable holding the discontinuation reason (DCTREAS, DCSREAS, DCDECOD).")
    values: list[str] = Field(min_length=1, description="Reasons that mean discontinuation due to an adverse event.")
    label: str = Field(default="Discontinued due to an adverse event",
                       description="Row label in the safety overview.")


class ExposureSource(Strict):
    """Exposure read from an ADEX-like dataset (one record per administration or per subject and parameter).

    Duration: the first administration's start date to the last one's end date (or start, when it has no end),
    counted in days inclusive, over the records of `dates_parameters` (default: every record with a date).
    Dose: each of `dose_parameters` summed per subject (e.g. total dose TDOSE, number of doses TNDOSE), within
    each level of `category` when the dataset has it (e.g. PARCAT2: the drug). Dose intensity: `intensity_of`
    (a total dose) per week of exposure; relative to `planned_parameter` (the planned total) when given."""

    dataset: str = Field(default="ADEX", description="Dataset name (loaded only because it is named here).")
    dose_parameters: list[str] = Field(default_factory=list, description="PARAMCDs summarised per subject.")
    category: str | None = Field(default=None, description="Variable splitting the parameters (PARCAT1/PARCAT2: "
                                                           "drug or component); null for none.")
    start: str | None = Field(default="ASTDT", description="Start date (or datetime, e.g. ASTDTM) of a record; "
                                                         "null: duration from ADSL.")
    end: str | None = Field(default="AENDT", description="End date (or datetime, e.g. AENDTM) of a record.")
    dates_parameters: list[str] = Field(default_factory=list, description="PARAMCDs whose records date the "
                                                                          "administrations (default: all).")
    intensity_of: str | None = Field(default=None, description="PARAMCD of the total dose whose intensity per week "
                                                               "is shown (e.g. TDOSE).")
    planned_parameter: str | None = Field(default=None, description="PARAMCD of the planned total dose: gives the "
                                                                    "relative dose intensity (%).")


class Measurements(Strict):
    """A BDS dataset of repeated measurements (ADLB, ADVS): by-visit summaries of value and change, shifts of the
    reference-range indicator, and, with toxicity grades, grade shifts and grade 3-4 counts.

    Post-baseline records: `on_treatment_flag` = 'Y' when the plan names one (ONTRTFL), else records with
    `visit_number` above the baseline visit's and `baseline_flag` not 'Y'. Every variable set to null is
    not used (its table is left out)."""

    dataset: str = Field(description="Dataset name (ADLB, ADVS): loaded only because it is named here.")
    parameters: list[str] = Field(default_factory=list, description="PARAMCDs in display order; empty: all, "
                                                                    "sorted, up to max_parameters.")
    max_parameters: int = Field(default=12, ge=1, le=200)
    label: str | None = Field(default="PARAM", description="Parameter label variable (PARAM).")
    unit: str | None = Field(default=None, description="Unit variable (AVALU), shown beside the label.")
    visit: str = "AVISIT"
    visit_number: str = "AVISITN"
    baseline_flag: str = "ABLFL"
    change: str | None = "CHG"
    on_treatment_flag: str | None = Field(default="ONTRTFL", description="'Y' on post-baseline, on-treatment records.")
    date: str | None = Field(default="ADT", description="Analysis date: without an on-treatment flag, a record after "
                                                        "the first dose (ADSL TRTSDT) is post-baseline.")
    record_flag: str | None = Field(default=None, description="Only records with this flag = 'Y' are analysed "
                                                              "(e.g. ANL01FL).")
    range_indicator: str | None = "ANRIND"
    baseline_range_indicator: str | None = "BNRIND"
    grade: str | None = Field(default=None, description="Toxicity grade (ATOXGR): negative grades are the low "
                                                        "direction (CTCAE 'decreased'), as ADaM codes them.")
    baseline_grade: str | None = Field(default=None, description="Baseline toxicity grade (BTOXGR).")
    upper_limit: str | None = Field(default=None, description="Upper limit of normal (ANRHI): liver tests as "
                                                              "multiples of it (ADLB).")
    test_code: str | None = Field(default=None, description="Test code (LBTESTCD), besides PARAMCD, to find ALT, "
                                                            "AST and total bilirubin for the liver table.")
    decimals: int | None = Field(default=None, ge=0, le=4, description="Decimals of means and medians; default: "
                                                                       "from each parameter's magnitude.")


class Safety(Strict):
    population: str
    variables: SafetyVariables = SafetyVariables()
    pt_threshold_percent: float = Field(default=10.0, ge=0, le=100)
    of_interest: list[InterestTerm] = Field(default_factory=list)
    exposure_days: str | None = Field(default="TRTDURD", description="ADSL variable: days on treatment.")
    exposure_cycles: str | None = Field(default=None, description="ADSL variable: cycles received (none: not shown).")
    discontinuation: DiscontinuationSource | None = Field(
        default=None, description="Discontinuation due to an AE read from ADSL, when ADAE's action taken is not "
                                  "collected.")
    exposure: ExposureSource | None = Field(
        default=None, description="Exposure from ADEX: dose, dose intensity and (with start/end) duration. Without "
                                  "it, duration comes from ADSL (exposure_days, else TRTSDT(M) to TRTEDT(M)).")
    duration_categories_days: list[int] = Field(
        default_factory=lambda: [30, 90, 180, 365],
        description="Cut points of the duration categories, in days: [30, 90] gives <30, 30-89, >=90.")
    appendix_all_terms: bool = Field(default=True, description="All TEAEs by SOC and PT, with no threshold, in the "
                                                               "supplementary tables.")
    death_window_days: int = Field(default=30, ge=0, le=3650, description="A death on or before the last dose plus "
                                                                         "this many days is on treatment.")
    death_listing_max: int = Field(default=500, ge=0, le=100_000, description="Deaths listed one by one up to this "
                                                                             "many (more: the summary only).")
    meddra_version: str | None = Field(default=None, description="MedDRA version of the AE coding, e.g. '26.0'.")
    ctcae_version: str | None = Field(default=None, description="CTCAE version of the grades, e.g. '5.0'.")
    labs: Measurements | None = Field(default=None, description="Laboratory tables (e.g. {dataset: ADLB, grade: "
                                                                "ATOXGR, baseline_grade: BTOXGR, upper_limit: ANRHI}).")
    vitals: Measurements | None = Field(default=None, description="Vital-sign tables (e.g. {dataset: ADVS}).")

    @field_validator("duration_categories_days")
    @classmethod
    def _increasing(cls, v: list[int]) -> list[int]:
        if any(b <= a for a, b in pairwise(v)) or any(x <= 0 for x in v):
            raise ValueError(f"duration_categories_days must be positive and increasing, got {v}")
        return v

    @model_validator(mode="after")
    def _distinct_datasets(self) -> Safety:
        named = [m.dataset for m in (self.labs, self.vitals) if m is not None]
        if len(set(named)) != len(named):
            raise ValueError(f"labs and vitals must name different datasets, got {named}")
        return self

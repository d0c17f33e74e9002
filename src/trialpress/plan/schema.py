"""The whole analysis plan: study, data, groups, populations, sections, conventions, report."""

from __future__ import annotations

import codecs
from enum import Enum
from typing import Literal

from pydantic import Field, field_validator, model_validator

from trialpress.plan.base import Level, Strict, _condition, _did_you_mean
from trialpress.plan.continuous import Continuous
from trialpress.plan.endpoints import Binary, Subgroup, TimeToEvent
from trialpress.plan.safety import Safety


class Groups(Strict):
    variable: str = Field(description="ADSL variable that defines the comparison groups.")
    levels: list[Level] = Field(min_length=1, description="Groups in display order.")
    reference: str = Field(description="Value of the reference group: every HR/OR/difference is group vs this.")
    kind: Literal["arm", "setting"] = Field(
        default="arm", description="'arm': groups are treatments ('patients who received placebo'); 'setting': "
                                   "groups are settings of one treatment ('received <treatment> as <group>').")
    label: str | None = Field(default=None, description="Name of the grouping, e.g. 'Treatment'.")

    @model_validator(mode="after")
    def _reference_is_a_level(self) -> Groups:
        values = [lv.value for lv in self.levels]
        if len(set(values)) != len(values):
            raise ValueError(f"group levels must be distinct, got {values}")
        if self.reference not in values:
            raise ValueError(f"reference {self.reference!r} is not one of the group levels {values}")
        return self


class Population(Strict):
    label: str
    flag: str | None = Field(default=None, description="ADSL flag variable; subjects with value 'Y' are in.")
    expression: str | None = Field(
        default=None, description="A condition on ADSL variables instead of a flag, e.g. \"AGE >= 18 and SEX == 'F'\" "
                                  "(comparisons, and/or/not, in [...]; nothing else is evaluated)."
    )
    group_variable: str | None = Field(
        default=None, description="ADSL variable that assigns this population's subjects to the plan's groups, when it "
                                  "is not groups.variable: e.g. TRT01A (as treated) for the safety population while "
                                  "efficacy uses TRT01P (as randomised). Its values are the groups' values.")

    @field_validator("expression")
    @classmethod
    def _parsed(cls, v: str | None) -> str | None:
        return _condition(v)

    @model_validator(mode="after")
    def _one_definition(self) -> Population:
        if (self.flag is None) == (self.expression is None):
            raise ValueError("give exactly one of 'flag' or 'expression'")
        return self


class BaselineRow(Strict):
    variable: str
    label: str
    kind: Literal["continuous", "categorical"]
    levels: list[Level] | None = None
    unit: str | None = None
    decimals: int = Field(default=1, ge=0, le=3, description="Decimals of a continuous summary.")


class Conventions(Strict):
    alpha: float = Field(default=0.05, gt=0, lt=1)
    ties: Literal["efron", "breslow"] = "efron"
    ci_separator: str = Field(default="-", description="Between CI bounds in prose, e.g. '1.26-1.97'.")
    percent_decimals_large_n: int = Field(default=0, ge=0, le=2, description="Decimals of % when N > 100.")
    percent_decimals_small_n: int = Field(default=1, ge=0, le=2)
    estimate_decimals: int = Field(default=2, ge=0, le=4)
    time_decimals: int = Field(default=1, ge=0, le=3)
    spelling: Literal["us", "uk"] = Field(default="us", description="Spelling variety of the document's prose.")
    odds_ratio_inference: Literal["wald", "likelihood-ratio"] = Field(
        default="wald", description="Odds-ratio CIs and P: Wald (SAS PROC LOGISTIC's default), or profile-likelihood "
                                    "CIs with likelihood-ratio P, which keep their coverage where a rate nears 0 or "
                                    "100% (R confint's intervals).")


class DesignFacts(Strict):
    """Facts about the design that limit what the comparison can show: the limitations paragraph is written
    from them (and from `limitations`, sentences the authors add)."""

    randomised: bool | None = Field(default=None, description="Were subjects randomised to the groups compared?")
    pooled: bool = Field(default=False, description="Are the data pooled from several studies?")
    single_arm: bool = Field(default=False, description="Were the contributing studies single-arm?")
    blinded: bool | None = Field(default=None, description="Were patients and assessors blinded to the group?")
    limitations: list[str] = Field(default_factory=list, description="Further limitations, one sentence each.")


class Study(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", description="Folder-safe study id.")
    title: str
    subtitle: str | None = None
    aims: str | None = Field(default=None, description="One sentence for the abstract's Aims section.")
    design: str | None = Field(default=None, description="One sentence on the data for Materials & Methods.")
    treatment: str | None = Field(default=None, description="Name of the study treatment, used in prose.")
    authors: list[str] = Field(default_factory=list)
    design_facts: DesignFacts = DesignFacts()


class DataSpec(Strict):
    folder: str = Field(description="Folder of ADaM files, relative to the project root.")
    files: dict[str, str] = Field(default_factory=dict, description="Dataset name -> file name override.")
    cutoff_variable: str | None = Field(default="DCUTDT", description="ADSL data cut-off date variable.")
    subject_id: str = "USUBJID"
    format: Literal["xpt", "csv", "parquet", "sas7bdat", "dataset-json"] | None = Field(
        default=None, description="Format to read where the folder holds a dataset in several (e.g. adsl.xpt and "
                                  "adsl.json, as a submission in transition carries both); none: only one may exist.")
    encoding: str = Field(default="auto", description="Text encoding of the XPT and CSV files, which do not record "
                          "one: 'auto' (UTF-8, else Windows-1252 as SAS on Windows writes; the methods say so) or a "
                          "codec (cp1252, latin-1, shift_jis …).")

    @field_validator("encoding")
    @classmethod
    def _known_codec(cls, value: str) -> str:
        """Python's name of the codec ('windows-1252' → 'cp1252'), so that the report names one codec one way."""
        if value == "auto":
            return value
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(f"unknown text encoding {value!r}: give 'auto' or a codec such as cp1252, latin-1, "
                             "shift_jis") from None


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


class Report(Strict):
    template: str = Field(default="article", description="Template set under templates/.")
    formats: list[Literal["html", "pdf", "docx", "rtf"]] = Field(
        default_factory=lambda: ["html", "pdf"],
        description="Outputs: html (self-contained), pdf (Typst), docx (Word, for medical writers), rtf (a package of "
                    "one RTF file per numbered table and figure, for submissions).")


# the plan's endpoint sections, in the order `Plan.endpoints` lists them
ENDPOINT_SECTIONS = ("time_to_event", "binary", "continuous")


class Plan(Strict):
    """A whole analysis plan; see analysis/*.yml for commented examples."""

    study: Study
    data: DataSpec
    groups: Groups
    populations: dict[str, Population]
    time_to_event: list[TimeToEvent] = Field(default_factory=list)
    binary: list[Binary] = Field(default_factory=list)
    continuous: list[Continuous] = Field(default_factory=list, description="Endpoints measured on a scale over "
                                                                           "visits (BDS: ADQS, ADEFF, ADLB, ADVS).")
    primary: str | None = Field(default=None, description="Id of the primary endpoint: the abstract leads with it and "
                                                         "its conclusion follows it (default: the first efficacy "
                                                         "endpoint stated in the abstract).")
    subgroups: list[Subgroup] = Field(default_factory=list)
    safety: Safety | None = None
    baseline: list[BaselineRow] = Field(default_factory=list)
    baseline_population: str | None = Field(default=None, description="Population of Table 1 (default: the first).")
    conventions: Conventions = Conventions()
    quality: dict[str, Severity] = Field(
        default_factory=dict, description="Check id -> 'error' or 'warning', overriding the default severity."
    )
    report: Report = Report()
    labels: dict[str, str] = Field(default_factory=dict,
                                   description="Display labels of variables named in prose (strata, covariates).")

    @field_validator("populations")
    @classmethod
    def _some_population(cls, v: dict[str, Population]) -> dict[str, Population]:
        if not v:
            raise ValueError("at least one population is needed")
        return v

    @model_validator(mode="after")
    def _references_resolve(self) -> Plan:
        pops = set(self.populations)
        used = [(f"time_to_event[{e.id}]", e.population) for e in self.time_to_event]
        used += [(f"binary[{b.id}]", b.population) for b in self.binary]
        used += [(f"continuous[{c.id}]", c.population) for c in self.continuous]
        if self.safety:
            used.append(("safety", self.safety.population))
        for where, pop in used:
            if pop not in pops:
                raise ValueError(f"{where}: population {pop!r} is not defined; defined: {sorted(pops)}{_did_you_mean(pop, pops)}")
        ids = [e.id for e in self.endpoints]
        lowered = [i.lower() for i in ids]
        dupes = sorted({i for i in ids if lowered.count(i.lower()) > 1})
        if dupes:
            raise ValueError(f"endpoint ids must be unique (ignoring case: they name files), repeated: {dupes}")
        named: dict[str, str] = {}
        for e in self.endpoints:   # the text defines an abbreviation once: it must name one endpoint
            abbreviation = getattr(e, "abbreviation", None)
            if abbreviation and abbreviation in named:
                raise ValueError(f"{self.endpoint_key(e.id)}.abbreviation {abbreviation!r} is already the abbreviation "
                                 f"of {named[abbreviation]}; give this endpoint its own abbreviation, or none (its "
                                 "label is then used)")
            if abbreviation:
                named[abbreviation] = self.endpoint_key(e.id)
        binary_ids = {b.id for b in self.binary}
        for e in self.endpoints:
            r = e.subset.responders if e.subset else None
            if r is not None and (r not in binary_ids or r == e.id):
                raise ValueError(f"{e.id}: subset.responders {r!r} is not another binary endpoint; binary endpoints: "
                                 f"{sorted(binary_ids - {e.id})}{_did_you_mean(r, binary_ids)}")
        if self.primary is not None and self.primary not in ids:
            raise ValueError(f"primary {self.primary!r} is not an endpoint id; endpoints: {ids}"
                             f"{_did_you_mean(self.primary, ids)}")
        for c in self.continuous:
            unknown = sorted(set(c.doses or {}) - set(self.group_values))
            if unknown:
                raise ValueError(f"continuous[{c.id}].doses: {unknown} are not group values {self.group_values}")
        return self

    @property
    def endpoints(self) -> list[TimeToEvent | Binary | Continuous]:
        """Every endpoint of the plan, time-to-event, binary and continuous."""
        return [*self.time_to_event, *self.binary, *self.continuous]

    def endpoint_key(self, endpoint_id: str) -> str:
        """An endpoint's plan path as messages name it: 'time_to_event[OS]', 'binary[ORR]', 'continuous[FEV1]'."""
        for section in ENDPOINT_SECTIONS:
            if any(e.id == endpoint_id for e in getattr(self, section)):
                return f"{section}[{endpoint_id}]"
        raise KeyError(endpoint_id)

    # ---- convenience -------------------------------------------------------------------
    @property
    def group_values(self) -> list[str]:
        return [lv.value for lv in self.groups.levels]

    @property
    def group_labels(self) -> dict[str, str]:
        return {lv.value: lv.label for lv in self.groups.levels}

    @property
    def comparators(self) -> list[str]:
        """Non-reference groups, in display order."""
        return [v for v in self.group_values if v != self.groups.reference]

    def group_variable(self, pop_id: str) -> str:
        """The ADSL variable that assigns a population's subjects to the groups."""
        return self.populations[pop_id].group_variable or self.groups.variable

    def label_of(self, variable: str) -> str:
        """How a variable is named in prose and tables: its plan label, else its name."""
        return self.labels.get(variable, variable)

    def endpoint(self, endpoint_id: str) -> TimeToEvent | Binary | Continuous:
        for e in self.endpoints:
            if e.id == endpoint_id:
                return e
        raise KeyError(endpoint_id)



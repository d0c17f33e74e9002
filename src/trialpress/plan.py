"""The machine-readable statistical analysis plan: a validated, typed schema.

The plan is the only place a study is described; the engine holds no study names,
variable names or endpoints of its own. Validation errors name the plan file, the line,
the key, what was given and what is allowed.
"""

from __future__ import annotations

import difflib
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trialpress.errors import PlanError
from trialpress.paths import find_root

TIME_UNITS: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25}


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
    in_abstract: bool = Field(default=True, description="State this endpoint's comparison in the abstract.")
    by_subgroup_figure: str | None = Field(
        default=None, description="Subgroup variable for a KM panel of group x subgroup (e.g. prior HSCT)."
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


class Study(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", description="Folder-safe study id.")
    title: str
    subtitle: str | None = None
    aims: str | None = Field(default=None, description="One sentence for the abstract's Aims section.")
    design: str | None = Field(default=None, description="One sentence on the data for Materials & Methods.")
    treatment: str | None = Field(default=None, description="Name of the study treatment, used in prose.")
    authors: list[str] = Field(default_factory=list)


class DataSpec(Strict):
    folder: str = Field(description="Folder of ADaM files, relative to the project root.")
    files: dict[str, str] = Field(default_factory=dict, description="Dataset name -> file name override.")
    cutoff_variable: str | None = Field(default="DCUTDT", description="ADSL data cut-off date variable.")
    subject_id: str = "USUBJID"


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


class Report(Strict):
    template: str = Field(default="article", description="Template set under templates/.")
    formats: list[Literal["html", "pdf", "docx", "rtf"]] = Field(
        default_factory=lambda: ["html", "pdf"],
        description="Outputs: html (self-contained), pdf (Typst), docx (Word, for medical writers), rtf (a package of "
                    "one RTF file per numbered table and figure, for submissions).")


class Plan(Strict):
    """A whole analysis plan; see analysis/*.yml for commented examples."""

    study: Study
    data: DataSpec
    groups: Groups
    populations: dict[str, Population]
    time_to_event: list[TimeToEvent] = Field(default_factory=list)
    binary: list[Binary] = Field(default_factory=list)
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
        if self.safety:
            used.append(("safety", self.safety.population))
        for where, pop in used:
            if pop not in pops:
                raise ValueError(f"{where}: population {pop!r} is not defined; defined: {sorted(pops)}{_did_you_mean(pop, pops)}")
        ids = [e.id for e in self.time_to_event] + [b.id for b in self.binary]
        lowered = [i.lower() for i in ids]
        dupes = sorted({i for i in ids if lowered.count(i.lower()) > 1})
        if dupes:
            raise ValueError(f"endpoint ids must be unique (ignoring case: they name files), repeated: {dupes}")
        binary_ids = {b.id for b in self.binary}
        for e in [*self.time_to_event, *self.binary]:
            r = e.subset.responders if e.subset else None
            if r is not None and (r not in binary_ids or r == e.id):
                raise ValueError(f"{e.id}: subset.responders {r!r} is not another binary endpoint; binary endpoints: "
                                 f"{sorted(binary_ids - {e.id})}{_did_you_mean(r, binary_ids)}")
        return self

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

    def endpoint(self, endpoint_id: str) -> TimeToEvent | Binary:
        for e in [*self.time_to_event, *self.binary]:
            if e.id == endpoint_id:
                return e
        raise KeyError(endpoint_id)


def _did_you_mean(word: str, options: Any) -> str:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


class LoadedPlan(BaseModel):
    """A validated plan with where it came from (for hashes and messages)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    plan: Plan
    path: Path
    root: Path
    text: bytes
    lines: dict[tuple[str | int, ...], int]

    @property
    def data_folder(self) -> Path:
        return (self.root / self.plan.data.folder).resolve()

    def line_of(self, *loc: str | int) -> int | None:
        """Line number (1-based) of a key path in the plan file, or of its nearest parent."""
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return None

    def where(self, *loc: str | int) -> str:
        line = self.line_of(*loc)
        return f"{self.path.name}:{line}" if line else self.path.name


def _key_lines(node: yaml.Node, prefix: tuple[str | int, ...] = ()) -> dict[tuple[str | int, ...], int]:
    out: dict[tuple[str | int, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            loc = (*prefix, str(key.value))
            out[loc] = key.start_mark.line + 1
            out.update(_key_lines(value, loc))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            loc = (*prefix, i)
            out[loc] = item.start_mark.line + 1
            out.update(_key_lines(item, loc))
    return out


MAX_PLAN_BYTES = 1_000_000


def load_plan(path: str | Path) -> LoadedPlan:
    """Read and validate a plan file; every problem becomes a `PlanError` naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise PlanError(
            f"The analysis plan {path} does not exist.",
            hint="Give the path of a plan under analysis/, or create one with `trialpress init <data-folder>`.",
        )
    from trialpress import safe_yaml

    try:
        with path.open("rb") as fh:
            text = fh.read(MAX_PLAN_BYTES + 1)   # never more than the limit into memory
        raw, node = safe_yaml.load(text, max_bytes=MAX_PLAN_BYTES)
    except OSError as exc:
        raise PlanError(f"The analysis plan {path} cannot be read ({exc.strerror or exc}).",
                        hint="Check that the file is readable.") from None
    except safe_yaml.YamlSyntaxError as exc:
        raise PlanError(f"{path}:{exc.line}: the plan is not valid YAML: {exc.message}.",
                        hint="Check indentation and quoting on that line.") from None
    except safe_yaml.YamlLimitError as exc:
        raise PlanError(f"{path}:{exc.line}: {exc.message}.",
                        hint="A plan is plain YAML: mappings, lists and scalars, without anchors, aliases or tags.") from None
    if not isinstance(raw, dict):
        raise PlanError(f"{path}: the plan must be a YAML mapping with keys such as 'study', 'data', 'groups'.")
    lines = _key_lines(node) if node is not None else {}
    try:
        plan = Plan.model_validate(raw)
    except ValidationError as exc:
        raise PlanError(_format_validation(exc, path, lines), hint="Fix the plan and run again.") from None
    return LoadedPlan(plan=plan, path=path.resolve(), root=find_root(path.resolve().parent), text=text, lines=lines)


def _format_validation(exc: ValidationError, path: Path, lines: dict[tuple[str | int, ...], int]) -> str:
    msgs = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        line = None
        probe = loc
        while probe and line is None:
            line = lines.get(probe)
            probe = probe[:-1]
        key = ".".join(str(p) for p in loc) or "(top level)"
        where = f"{path.name}:{line}" if line else path.name
        if err["type"] == "extra_forbidden":
            parent = loc[:-1]
            allowed = _allowed_keys(parent)
            msg = f"unknown key {loc[-1]!r}{_did_you_mean(str(loc[-1]), allowed)}"
            if allowed:
                msg += f"; allowed here: {', '.join(sorted(allowed))}"
        elif err["type"] == "missing":
            msg = "required key is missing"
        else:
            given = err.get("input")
            given_s = f" (given: {given!r})" if not isinstance(given, (dict, list)) else ""
            msg = f"{err['msg']}{given_s}"
        msgs.append(f"{where}: {key}: {msg}")
    return f"The analysis plan {path} is invalid:\n  " + "\n  ".join(msgs)


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    """Field names of the model found at `loc` of a Plan (for 'did you mean')."""
    model: Any = Plan
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(str(part))
        if field is None:
            # dict[str, Model] value: the key is a user name; keep the current model's value type
            return []
        model = _inner_model(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", ())
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in reversed(args):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


__all__ = [
    "Plan", "LoadedPlan", "load_plan", "TimeToEvent", "Binary", "Subgroup", "Safety", "BaselineRow",
    "Groups", "Level", "Population", "Conventions", "TIME_UNITS", "Severity", "Subset", "DiscontinuationSource",
]

"""The declarative registry of the gate's rules, and the checks made from them.

A `Rule` is declared once, at import of the module of its dataset (`common.py`, `adsl.py`, `adsl_dates.py`,
`adtte.py`, `adrs.py`, `adae.py`, `bds.py`, `cross.py`, `derivations.py`, `text.py`), with a stable id
pattern (e.g. 'ADSL.{flag}.in_set'; plans name the filled-in ids in their `quality:` section), the dataset,
what it asks, what to do when it fails, its basis and its default severity. The basis is one of

* "ADaM IG"                   — an invariant of the ADaM Implementation Guide (with its section);
* "CDISC CT"                  — CDISC controlled terminology (with its codelist);
* "ADaM BDS/OCCDS structure"  — the structure of the dataset class (keys, required variables, types);
* "plan"                      — this plan says so (its key).

Severity: "error" only where a number of the report would otherwise be wrong or undefined (a required
variable missing, a key repeated where the analysis needs one record, an unusable time or censoring
code, a subject unknown to ADSL, a population flag other than Y/N/blank, a group missing for an analysed
subject, values that contradict the dates, unit or descriptions they come from); design expectations
(dates in the usual order, expected categories, exposure recorded, controlled terms, AE flags) are
"warning", unless the plan's `quality:` map declares them errors.

A `Check` is one rule applied to this plan and data: one great_expectations expectation on one dataset.
Where GE has no expectation for a rule, the rule is computed in pandas as a boolean row mask (True: the
row is fine) and validated by GE as `ExpectColumnValuesToBeInSet(<mask column>, [True])`, so every
check runs through GE and reports its failing rows by subject (the gate first validates a dataset's masks
together, as the rows where all are True, and each on its own when that fails).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

ERROR, WARNING = "error", "warning"
MASK_PREFIX = "__ok__"

IG, CT, STRUCTURE, PLAN = "ADaM IG", "CDISC CT", "ADaM BDS/OCCDS structure", "plan"
BASIS_KINDS = (IG, CT, STRUCTURE, PLAN)
IG_VERSION = "ADaM IG 3.0"


@dataclass(frozen=True)
class Basis:
    kind: str        # one of BASIS_KINDS
    reference: str   # e.g. 'ADaM IG 3.0 §3.3.8 (CNSR)', 'CDISC CT C66742 No Yes Response'

    def __str__(self) -> str:
        return self.reference


def ig(section: str) -> Basis:
    return Basis(IG, f"{IG_VERSION} {section}")


def ct(codelist: str) -> Basis:
    return Basis(CT, f"CDISC CT {codelist}")


def structure(what: str) -> Basis:
    return Basis(STRUCTURE, what)


def plan_says(key: str) -> Basis:
    return Basis(PLAN, f"plan: {key}")


@dataclass(frozen=True)
class Check:
    id: str                       # stable id, e.g. 'ADTTE.CNSR.in_set'
    dataset: str
    expectation: str              # great_expectations expectation class name
    kwargs: dict[str, Any]
    description: str
    hint: str
    severity: str = ERROR
    value_column: str | None = None   # column whose failing values are shown
    # a derived rule: True where the row is fine (aligned to the dataset's rows), validated by GE
    mask: pd.Series | None = field(default=None, compare=False, repr=False)
    # what is shown for a failing row of a derived rule, e.g. 'TRTSDT=2014-05-25, ADT=2014-05-20'
    detail: pd.Series | None = field(default=None, compare=False, repr=False)
    suite: str = ""               # 'structure' | 'content' | 'cross-dataset'
    basis: str = ""               # str(Basis) of its rule
    default_severity: str = ERROR  # the rule's severity before the plan's quality: map
    rule: str = ""                # the rule's id pattern


@dataclass(frozen=True)
class Rule:
    id: str             # id pattern, e.g. 'ADSL.{flag}.in_set'
    dataset: str        # 'ADSL', or '{ds}' for a rule applied to several datasets
    description: str    # what it asks (a template over the same fields as the id)
    hint: str           # what to do when it fails
    basis: Basis
    severity: str = ERROR
    suite: str = "content"

    def _filled(self, fields: dict[str, Any]) -> tuple[str, str, str, str]:
        return (self.id.format(**fields), self.dataset.format(**fields), self.description.format(**fields),
                self.hint.format(**fields))

    def native(self, expectation: str, kwargs: dict[str, Any], *, value_column: str | None = None,
               **fields: Any) -> Check:
        """The rule as a great_expectations expectation on the dataset's own columns."""
        cid, ds, description, hint = self._filled(fields)
        return Check(cid, ds, expectation, kwargs, description, hint, self.severity, value_column,
                     suite=self.suite, basis=str(self.basis), default_severity=self.severity, rule=self.id)

    def derived(self, mask: pd.Series, *, detail: pd.Series | None = None, value_column: str | None = None,
                **fields: Any) -> Check:
        """The rule as a row mask (True = fine) computed here and validated by GE on that derived column."""
        cid, ds, description, hint = self._filled(fields)
        return Check(cid, ds, "ExpectColumnValuesToBeInSet", {"column": mask_column(cid), "value_set": [True]},
                     description, hint, self.severity, value_column, mask=mask.fillna(True).astype(bool),
                     detail=detail, suite=self.suite, basis=str(self.basis), default_severity=self.severity,
                     rule=self.id)


RULES: dict[str, Rule] = {}


def rule(rule_id: str, dataset: str, description: str, hint: str, basis: Basis, severity: str = ERROR,
         suite: str = "content", variant: str = "") -> Rule:
    """Declare a rule (once, at import of its module). Rules sharing an id pattern (e.g. 'ADAE.{var}.in_set'
    for a Y/N flag and for a controlled term) are told apart by `variant`; a filled-in id is one check."""
    if basis.kind not in BASIS_KINDS or severity not in (ERROR, WARNING):
        raise AssertionError(f"{rule_id}: bad basis kind {basis.kind!r} or severity {severity!r}")
    key = f"{rule_id}#{variant}" if variant else rule_id
    if key in RULES:
        raise AssertionError(f"rule {key!r} declared twice")
    RULES[key] = declared = Rule(rule_id, dataset, description, hint, basis, severity, suite)
    return declared


def mask_column(check_id: str) -> str:
    return MASK_PREFIX + re.sub(r"\W", "_", check_id)

"""Typed key builders of the safety tables beyond the AE overview (analyses in `schema_safety.py`).

The analysis writes `row(sk.eair("rate", g, term="serious"), ...)` and the report reads the same key: as
`results/keys.py`, there is no second, hand-built id convention.
"""

from __future__ import annotations

from trialpress.results.ard import Key
from trialpress.results.keys import SAFETY

MISSING = "(missing)"          # a category for 'no value' (never a CDISC controlled term)
ALL_PERIODS = "all"


def disposition(statistic: str, group: str = "", *, parameter: str = "", term: str = "") -> Key:
    """n of a category (`parameter` = ADSL variable or 'population', `term` = value or population id), `missing`
    of a variable, `subjects` (the denominator: parameter and term '')."""
    return Key(SAFETY, "disposition", statistic, group=group, parameter=parameter, term=term)


def exposure(statistic: str, group: str = "", *, parameter: str = "duration", category: str = "") -> Key:
    return Key(SAFETY, "exposure_summary", statistic, group=group, parameter=parameter, parent=category)


def exposure_category(group: str, label: str) -> Key:
    return Key(SAFETY, "exposure_category", "n", group=group, term=label)


def category_term(category: str, level: str, group: str = "", *, term: str, parent: str = "") -> Key:
    """A SOC (`level` 'soc') or PT ('pt', parent = its SOC) count of a TEAE category: serious, related,
    discontinued, fatal (any and severe: `keys.safety('soc_any', ...)`)."""
    return Key(SAFETY, f"{level}_{category}", "n", group=group, term=term, parent=parent)


def max_grade(group: str, grade: str, *, term: str = "", parent: str = "") -> Key:
    return Key(SAFETY, "max_grade", "n", group=group, parameter=grade, term=term, parent=parent)


def eair(statistic: str, group: str = "", *, term: str) -> Key:
    return Key(SAFETY, "eair", statistic, group=group, term=term)


def deaths(statistic: str = "n", group: str = "", *, period: str = ALL_PERIODS, cause: str = "") -> Key:
    return Key(SAFETY, "deaths", statistic, group=group, parent=period, term=cause)


def death_listing(statistic: str, group: str, subject: str) -> Key:
    return Key(SAFETY, "death_listing", statistic, group=group, term=subject)


def coding(statistic: str) -> Key:
    return Key(SAFETY, "coding", statistic)


def visit(prefix: str, statistic: str, group: str = "", *, parameter: str, what: str, visit: str) -> Key:
    """A by-visit summary: `prefix` 'lab' or 'vs', `what` 'value' or 'change', `visit` the AVISIT text."""
    return Key(SAFETY, f"{prefix}_visit", statistic, group=group, parameter=parameter, term=what, timepoint=visit)


def shift(prefix: str, statistic: str, group: str = "", *, parameter: str, baseline: str = "", worst: str = ""
          ) -> Key:
    return Key(SAFETY, f"{prefix}_shift", statistic, group=group, parameter=parameter, parent=baseline, term=worst)


def grade_shift(prefix: str, statistic: str, group: str = "", *, parameter: str, direction: str,
                baseline: str = "", worst: str = "") -> Key:
    return Key(SAFETY, f"{prefix}_grade_shift", statistic, group=group, parameter=f"{parameter}@{direction}",
               parent=baseline, term=worst)


def grade34(prefix: str, group: str = "", *, parameter: str, direction: str, term: str = "any") -> Key:
    return Key(SAFETY, f"{prefix}_grade34", "n", group=group, parameter=f"{parameter}@{direction}", term=term)


def liver(statistic: str, group: str = "", *, term: str = "") -> Key:
    return Key(SAFETY, "lab_liver", statistic, group=group, term=term)

"""Typed key builders: the one way the analysis names a number and the report finds it again.

Each function returns a `Key` (results/ard.py). The analysis writes `row(keys.km(ep, "median", group=g), ...)`
and the report reads `ard[keys.km(ep, "median", group=g)]`: there is no second, hand-built id convention.
"""

from __future__ import annotations

from trialpress.results.ard import Key, timepoint

POP = "POP"
STUDY = "STUDY"
BASELINE = "BASELINE"
SAFETY = "SAFETY"


def population(pop: str, group: str = "") -> Key:
    """Subjects of a population (per group, or all when group='')."""
    return Key(POP, "population", "n", group=group, term=pop)


def cutoff() -> Key:
    return Key(STUDY, "study", "cutoff")


def encoding(file: str) -> Key:
    """A data file whose text is not UTF-8 (term: the file; text: the codec it was read with)."""
    return Key(STUDY, "study", "encoding", term=file)


def na_missing(file: str) -> Key:
    """A data file whose NA values were read as missing (term: the file; text: its format, 'csv' or
    'dataset-json', which says what an NA was in it)."""
    return Key(STUDY, "study", "na_missing", term=file)


def analysis_set(endpoint: str, statistic: str, group: str = "") -> Key:
    return Key(endpoint, "analysis_set", statistic, group=group)


def km(endpoint: str, statistic: str, group: str = "", *, at: float | str | None = None, subgroup: str = "",
       level: str = "") -> Key:
    return Key(endpoint, "km", statistic, group=group, subgroup=subgroup, subgroup_level=level,
               timepoint="" if at is None else timepoint(at))


def risk(endpoint: str, statistic: str, group: str, at: float | str, *, subgroup: str = "", level: str = "") -> Key:
    return Key(endpoint, "risk", statistic, group=group, subgroup=subgroup, subgroup_level=level,
               timepoint=timepoint(at))


def followup(endpoint: str, group: str = "") -> Key:
    return Key(endpoint, "followup", "median", group=group)


def curve(endpoint: str, group: str, *, subgroup: str = "", level: str = "") -> Key:
    return Key(endpoint, "curve", "curve", group=group, subgroup=subgroup, subgroup_level=level)


def model(endpoint: str, analysis: str, statistic: str, group: str = "", *, term: str = "") -> Key:
    """A model estimate: cox, cox_strat, cox_adj (hr, p, events), logistic, logistic_adj (or, p), and their
    covariate terms (cox_adj_term, logistic_adj_term with `term`)."""
    return Key(endpoint, analysis, statistic, group=group, term=term)


def test(endpoint: str, analysis: str, statistic: str, group: str = "") -> Key:
    """A test: logrank, logrank_strat (chisq, df, p); group '' = all groups together."""
    return Key(endpoint, analysis, statistic, group=group)


def subgroup(endpoint: str, statistic: str, group: str, variable: str, level: str) -> Key:
    return Key(endpoint, "subgroup", statistic, group=group, subgroup=variable, subgroup_level=level)


def interaction(endpoint: str, variable: str, statistic: str = "p") -> Key:
    return Key(endpoint, "interaction", statistic, subgroup=variable)


def rate(endpoint: str, statistic: str, group: str) -> Key:
    return Key(endpoint, "rate", statistic, group=group)


def difference(endpoint: str, group: str) -> Key:
    return Key(endpoint, "diff", "difference", group=group)


def baseline(variable: str, statistic: str, group: str = "", category: str = "") -> Key:
    return Key(BASELINE, "baseline", statistic, group=group, parameter=variable, term=category)


def safety(analysis: str, statistic: str, group: str = "", *, term: str = "", parent: str = "",
           parameter: str = "") -> Key:
    """A safety number: overview (term = category), soc_*/pt_* (term, parent = SOC), interest* (term = id),
    exposure (parameter = ADSL variable)."""
    return Key(SAFETY, analysis, statistic, group=group, term=term, parent=parent, parameter=parameter)


def decision(endpoint: str, statistic: str, group: str = "", *, on: str = "", term: str = "", parent: str = "",
             subgroup: str = "") -> Key:
    """A decision the text states. `on` names what it is about (the analysis whose estimate decides it: cox,
    logistic, km, interest ...) and is kept in `parameter`."""
    return Key(endpoint, "decision", statistic, group=group, parameter=on, term=term, parent=parent,
               subgroup=subgroup)


def continuous(endpoint: str, analysis: str, statistic: str, group: str = "", *, parameter: str = "",
               visit: str = "") -> Key:
    """A continuous endpoint's number: analysis 'desc' (parameter = BASE, AVAL, CHG or PCHG; visit), 'ancova'
    or 'mmrm' (LS means and differences at a visit)."""
    return Key(endpoint, f"cont_{analysis}" if analysis == "desc" else analysis, statistic, group=group,
               parameter=parameter, timepoint=visit)

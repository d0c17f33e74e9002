"""The decisions the text states, taken once from the ARD's numbers and the plan, each with its rule.

A template never compares numbers: it reads these rows. Each decision is a row of analysis `decision`
whose `note` says the rule, so a reader can check why the report says "longer" or "did not differ".
- `significant` (value 1/0, NaN without a CI): the CI of the comparison's estimate excludes no difference
  (HR or OR of 1) at the plan's level 1 − alpha.
- `favors` (text: a group value, '' for neither): the group the point estimate favors, by the endpoint's
  `better` side (a longer or shorter time; a higher or lower rate).
- `longer` (text): the group with the longer median ('' when a median is not estimable or they are equal).
- `higher` (text): the group with the higher rate ('' when equal).
- `above_threshold` (1/0): a preferred term reaches the plan's incidence threshold in at least one group.
- `more_frequent` (text 'yes' / 'numerically' / 'no' / ''): an AE of interest is more frequent with a comparator
  (risk-difference CI above 0), only numerically (difference above 0, CI includes 0), or not ('' when the
  difference is not estimable, e.g. a group without subjects).
- `no_apparent_effect` (1/0): the group-by-subgroup interaction test is not significant at alpha.
"""

from __future__ import annotations

import math

from trialpress.plan import Binary, Continuous, Plan, TimeToEvent
from trialpress.results import keys
from trialpress.results.ard import ARDBuilder, Key, ci_level, row


def _missing(x: float) -> bool:
    return math.isnan(x)


def collect_decisions(plan: Plan, ard: ARDBuilder) -> None:
    conf = ci_level(1 - plan.conventions.alpha)
    for ep in plan.time_to_event:
        _tte(ep, plan, ard, conf)
    for b in plan.binary:
        _binary(b, plan, ard, conf)
    for c in plan.continuous:
        _continuous(c, plan, ard, conf)
    if plan.safety:
        _safety(plan, ard)


def _add(ard: ARDBuilder, key: Key, population: str, *, value: float = math.nan, text: str = "", note: str,
         reference: str = "") -> None:
    ard.add(row(key, population=population, value=value, text=text, note=note, reference=reference,
                method="trialpress decision rule"))


def _significance(ard: ARDBuilder, ep_id: str, analysis: str, stat: str, c: str, pop: str, ref: str,
                  conf: str) -> float | None:
    """Add `significant` for one comparison; return its estimate (None when the row does not exist)."""
    est = ard.get(keys.model(ep_id, analysis, stat, c))
    if est is None:
        return None
    sig = math.nan if _missing(est.lower) or _missing(est.upper) else float(est.upper < 1 or est.lower > 1)
    _add(ard, keys.decision(ep_id, "significant", c, on=analysis), pop, value=sig, reference=ref,
         note=f"the {conf} CI of the {stat.upper()} excludes 1")
    return est.value


def _favours(ard: ARDBuilder, ep_id: str, analysis: str, c: str, ref: str, pop: str, estimate: float,
             comparator_if_above_1: bool, rule: str) -> None:
    if _missing(estimate) or estimate == 1:
        text = ""
    else:
        text = c if (estimate > 1) == comparator_if_above_1 else ref
    _add(ard, keys.decision(ep_id, "favours", c, on=analysis), pop, text=text, reference=ref, note=rule)


def _tte(ep: TimeToEvent, plan: Plan, ard: ARDBuilder, conf: str) -> None:
    ref, pop = plan.groups.reference, ep.population
    # a hazard ratio above 1 means earlier events in the comparator: better there only when shorter is better
    above_favours_comparator = ep.better == "shorter"
    rule = (f"{'longer' if ep.better == 'longer' else 'shorter'} time is better (plan); an HR below 1 means a "
            f"lower hazard in the comparator")
    for c in plan.comparators:
        for analysis in ("cox", "cox_strat", "cox_adj"):
            est = _significance(ard, ep.id, analysis, "hr", c, pop, ref, conf)
            if est is not None:
                _favours(ard, ep.id, analysis, c, ref, pop, est, above_favours_comparator, rule)
        mc, mr = ard.get(keys.km(ep.id, "median", c)), ard.get(keys.km(ep.id, "median", ref))
        if mc is not None and mr is not None:
            longer = "" if _missing(mc.value) or _missing(mr.value) or mc.value == mr.value else \
                (c if mc.value > mr.value else ref)
            _add(ard, keys.decision(ep.id, "longer", c, on="km"), pop, text=longer, reference=ref,
                 note="the group whose KM median is longer; none when a median is not estimable or they are equal")
    if ep.subgroups:
        alpha = plan.conventions.alpha
        for sg in plan.subgroups:
            p = ard.get(keys.interaction(ep.id, sg.variable))
            if p is None:
                continue
            value = math.nan if _missing(p.value) else float(p.value >= alpha)
            _add(ard, keys.decision(ep.id, "no_apparent_effect", on="interaction", subgroup=sg.variable), pop,
                 value=value, note=f"interaction P >= {alpha:g} (not significant at the plan's alpha)")


def _binary(b: Binary, plan: Plan, ard: ARDBuilder, conf: str) -> None:
    ref, pop = plan.groups.reference, b.population
    rule = f"a {b.better} rate is better (plan); an OR above 1 means a higher rate in the comparator"
    for c in plan.comparators:
        for analysis in ("logistic", "logistic_adj"):
            est = _significance(ard, b.id, analysis, "or", c, pop, ref, conf)
            if est is not None:
                _favours(ard, b.id, analysis, c, ref, pop, est, b.better == "higher", rule)
        rc, rr = ard.get(keys.rate(b.id, "proportion", c)), ard.get(keys.rate(b.id, "proportion", ref))
        if rc is not None and rr is not None:
            higher = "" if _missing(rc.value) or _missing(rr.value) or rc.value == rr.value else \
                (c if rc.value > rr.value else ref)
            _add(ard, keys.decision(b.id, "higher", c, on="rate"), pop, text=higher, reference=ref,
                 note="the group with the higher proportion; none when equal or not estimable")


def _continuous(ep: Continuous, plan: Plan, ard: ARDBuilder, conf: str) -> None:
    """At the primary visit: does the difference's CI exclude 0, and which group does it favor."""
    if ep.model == "descriptive":
        return
    ref, pop = plan.groups.reference, ep.population
    for c in plan.comparators:
        d = ard.get(keys.continuous(ep.id, ep.model, "difference", c, visit=ep.primary_visit))
        if d is None:
            continue
        sig = math.nan if _missing(d.lower) or _missing(d.upper) else float(d.upper < 0 or d.lower > 0)
        _add(ard, keys.decision(ep.id, "significant", c, on=ep.model), pop, value=sig, reference=ref,
             note=f"the {conf} CI of the LS-mean difference at {ep.primary_visit} excludes 0")
        favoured = "" if _missing(d.value) or d.value == 0 else (c if (d.value > 0) == (ep.better == "higher") else ref)
        _add(ard, keys.decision(ep.id, "favours", c, on=ep.model), pop, text=favoured, reference=ref,
             note=f"a {ep.better} value is better (plan); the difference is comparator minus reference")


def _safety(plan: Plan, ard: ARDBuilder) -> None:
    safety = plan.safety
    assert safety is not None
    pop, ref = safety.population, plan.groups.reference
    threshold = safety.pt_threshold_percent
    for r in [r for r in ard.rows() if r.analysis == "pt_any" and r.group == "" and r.statistic == "n"]:
        reached = False
        for g in plan.group_values:
            x = ard.get(keys.safety("pt_any", "n", g, term=r.term, parent=r.parent))
            if x is not None and x.n and 100 * x.value / x.n >= threshold:
                reached = True
        _add(ard, keys.decision(keys.SAFETY, "above_threshold", on="pt_any", term=r.term, parent=r.parent), pop,
             value=float(reached), note=f"incidence >= {threshold:g}% in at least one group (plan threshold)")
    for term in safety.of_interest:
        for c in plan.comparators:
            d = ard.get(keys.safety("interest", "difference", c, term=term.id))
            if d is None:
                continue
            text = ("" if _missing(d.value) else "yes" if d.lower > 0 else "numerically" if d.value > 0
                    else "no")
            _add(ard, keys.decision(keys.SAFETY, "more_frequent", c, on="interest", term=term.id), pop, text=text,
                 reference=ref, note="'yes': risk-difference CI above 0; 'numerically': difference above 0 with "
                                     "a CI including 0; 'no' otherwise; '' when the difference is not estimable")

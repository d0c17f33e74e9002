"""The safety suite (disposition, exposure, the AE tables, exposure-adjusted rates, deaths, laboratory and vital
signs) against R on the four studies: every count and rate of the ARD equals the value of
tests/reference/r/safety_suite.R (expected/safety_suite.json), written from the definitions, not from the code.

The comparisons go both ways where a table lists categories: every count R finds is in the ARD with its value,
and every count the ARD holds is one R finds (a zero R does not list must be zero)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from trialpress.pipeline import _load
from trialpress.plan import load_plan
from trialpress.results import keys
from trialpress.results import safety_keys as sk
from trialpress.results.ard import ARD
from trialpress.results.collect import analyse

ROOT = Path(__file__).resolve().parents[1]
R = json.loads((ROOT / "tests" / "reference" / "expected" / "safety_suite.json").read_text())
STUDIES = ("blinatumomab-salvage", "velotrepin-copd", "random-cdisc-data", "cdiscpilot01")
REL = 1e-9
SEVERITY = {"1": "MILD", "2": "MODERATE", "3": "SEVERE"}


@pytest.fixture(scope="module", params=STUDIES)
def study(request: pytest.FixtureRequest) -> tuple[str, object, ARD, dict]:
    lplan = load_plan(ROOT / "analysis" / f"{request.param}.yml")
    ard = analyse(lplan.plan, _load(lplan)).ard
    return request.param, lplan.plan, ard, R[request.param]


def group(g: str) -> str:
    return "" if g == "Total" else g


def close(ours: float, theirs: float | None, rel: float = REL) -> bool:
    if theirs is None:
        return math.isnan(ours)
    return ours == pytest.approx(theirs, rel=rel, abs=1e-9)


def counts(ard: ARD, key_of, expected: dict[str, int], what: str) -> None:  # type: ignore[no-untyped-def]
    for g, n in expected.items():
        r = ard.get(key_of(group(g)))
        got = 0.0 if r is None else r.value
        assert got == n, f"{what} [{g}]: ARD {got}, R {n}"


def test_disposition(study) -> None:  # type: ignore[no-untyped-def]
    name, plan, ard, ref = study
    d = ref["disposition"]
    flags = {p.flag: pid for pid, p in plan.populations.items()}
    seen: set[str] = set()
    for item, by in d.items():
        if item == "subjects":
            key_of = lambda g: sk.disposition("subjects", g)
        elif item in ("randomised", "treated"):
            param = next(r.parameter for r in ard.select(analysis="disposition", term=item))
            key_of = lambda g, p=param, t=item: sk.disposition("n", g, parameter=p, term=t)
        elif item.startswith("set:"):
            key_of = lambda g, t=flags[item[4:]]: sk.disposition("n", g, parameter="population", term=t)
        else:
            var, value = item.split(":", 1)
            if value == "(missing)":
                key_of = lambda g, v=var: sk.disposition("missing", g, parameter=v)
            else:
                key_of = lambda g, v=var, t=value: sk.disposition("n", g, parameter=v, term=t)
        counts(ard, key_of, by, f"{name} disposition {item}")
        seen.add(key_of("").id)
    ours = {r.id for r in ard.select(analysis="disposition", group="")}
    assert ours <= seen, f"ARD disposition rows R does not have: {sorted(ours - seen)}"
    if name == "blinatumomab-salvage":   # no end-of-study data: no status rows, not an empty block
        assert not any(r.parameter in ("EOSSTT", "EOTSTT", "DCSREAS") for r in ard.select(analysis="disposition"))


def test_exposure(study) -> None:  # type: ignore[no-untyped-def]
    name, plan, ard, ref = study
    e = ref["exposure"]
    for g, stats in e["duration"].items():
        for stat, value in stats.items():
            assert close(ard[sk.exposure(stat, group(g))].value, value), (name, g, stat)
    for g, value in e["patient_years"].items():
        assert close(ard[sk.exposure("patient_years", group(g))].value, value), (name, g)
    for label, by in e["categories"].items():
        counts(ard, lambda g, t=label: sk.exposure_category(g, t), by, f"{name} duration {label}")
    if "cycles" in e:
        for g, stats in e["cycles"].items():
            for stat, value in stats.items():
                assert close(ard[sk.exposure(stat, group(g), parameter="CYCLES")].value, value), (g, stat)
    for item, by_group in e.get("doses", {}).items():
        param, category = item.split("|")
        for g, stats in by_group.items():
            for stat, value in stats.items():
                key = sk.exposure(stat, group(g), parameter=param, category=category)
                assert close(ard[key].value, value), (item, g, stat)


def test_teae_categories_and_terms(study) -> None:  # type: ignore[no-untyped-def]
    name, plan, ard, ref = study
    a = ref["ae"]
    for category, by in a["overview"].items():
        counts(ard, lambda g, c=category: keys.safety("overview", "n", g, term=c), by, f"{name} overview {category}")
    for category, tables in a["terms"].items():
        expected = {}
        for soc, by in (tables["soc"] or {}).items():
            for g, n in by.items():
                expected[(f"soc_{category}", "", soc, group(g))] = n
        for term, by in (tables["pt"] or {}).items():
            soc, pt = term.split("|")
            for g, n in by.items():
                expected[(f"pt_{category}", soc, pt, group(g))] = n
        got = {(r.analysis, r.parent, r.term, r.group): r.value for r in ard
               if r.analysis in (f"soc_{category}", f"pt_{category}")}
        nonzero = {k: v for k, v in expected.items() if v}
        assert {k: v for k, v in got.items() if v} == nonzero, (name, category)
        assert all(expected.get(k, 0) == v for k, v in got.items()), (name, category)


def test_maximum_grade(study) -> None:  # type: ignore[no-untyped-def]
    name, plan, ard, ref = study
    a = ref["ae"]
    ctcae = plan.safety.variables.severity_kind == "ctcae"

    def level(k: str) -> str:
        k = str(int(float(k)))
        return sk.MISSING if k == "0" else (k if ctcae else SEVERITY[k])

    expected = {}
    for k, by in a["max_grade"].items():
        for g, n in by.items():
            expected[("", "", level(k), group(g))] = n
    for item, by in a["max_grade_pt"].items():
        soc, pt, k = item.split("|")
        for g, n in by.items():
            expected[(soc, pt, level(k), group(g))] = n
    got = {(r.parent, r.term, r.parameter, r.group): r.value for r in ard if r.analysis == "max_grade"}
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in expected.items() if v}, name
    assert all(expected.get(k, 0) == v for k, v in got.items()), name
    assert len(got) > 20


def test_exposure_adjusted_rates(study) -> None:  # type: ignore[no-untyped-def]
    name, plan, ard, ref = study
    for category, by in ref["ae"]["eair"].items():
        if ard.get(sk.eair("rate", term=category)) is None:
            assert category == "discontinued" and by["Total"]["events"] == 0, (name, category)
            continue
        for g, v in by.items():
            assert ard[sk.eair("events", group(g), term=category)].value == v["events"], (name, category, g)
            assert close(ard[sk.eair("patient_years", group(g), term=category)].value, v["patient_years"])
            rate = ard[sk.eair("rate", group(g), term=category)]
            assert close(rate.value, v["rate"]), (name, category, g)
            assert close(rate.lower, v["lower"], 1e-7) and close(rate.upper, v["upper"], 1e-7), (name, category, g)


def test_deaths(study) -> None:  # type: ignore[no-untyped-def]
    name, plan, ard, ref = study
    d = ref["deaths"]
    for period in ("all", "on_treatment", "follow_up"):
        counts(ard, lambda g, p=period: sk.deaths("n", g, period=p), d[period], f"{name} deaths {period}")
        for cause, by in (d["causes"] or {}).items():
            counts(ard, lambda g, p=period, c=cause: sk.deaths("n", g, period=p, cause=c), by[period],
                   f"{name} deaths {period} {cause}")
    if not d["causes"]:
        assert not [r for r in ard.select(analysis="deaths") if r.term], "no DTHCAUS: no cause rows"
    days = {r.term: r.value for r in ard.select(analysis="death_listing", statistic="day")}
    if d["all"]["Total"] <= plan.safety.death_listing_max:
        # no death date (the pilot): no study day, NaN in the ARD and NA in R
        nan = -1.0
        assert ({k: nan if math.isnan(v) else v for k, v in days.items()}
                == {k: nan if v is None else float(v) for k, v in d["days"].items()}), name
    else:
        assert not days


@pytest.mark.parametrize("prefix, block", [("lab", "labs"), ("vs", "vitals")])
def test_laboratory_and_vital_signs(study, prefix: str, block: str) -> None:  # type: ignore[no-untyped-def]
    name, plan, ard, ref = study
    if block not in ref:
        assert not ard.select(analysis=f"{prefix}_visit"), "no dataset in the plan: no rows"
        return
    for param, res in ref[block].items():
        for visit, parts in res["visits"].items():
            for what, by in parts.items():
                for g, stats in by.items():
                    if g == "Total":
                        continue   # the by-visit tables are per group
                    for stat, value in stats.items():
                        r = ard[sk.visit(prefix, stat, g, parameter=param, what=what, visit=visit)]
                        assert close(r.value, value, 1e-9), (param, visit, what, g, stat)
        expected = {}
        for cell, by in res["shift"].items():
            for g, n in by.items():
                if g != "Total":
                    expected[cell, g] = n
        for g, n in ((g, n) for (cell, g), n in expected.items() if cell == "subjects"):
            assert ard[sk.shift(prefix, "subjects", g, parameter=param)].value == n
        for (cell, g), n in expected.items():
            if cell == "subjects":
                continue
            b, w = cell.split("|")
            assert ard[sk.shift(prefix, "n", g, parameter=param, baseline=b, worst=w)].value == n, (param, cell, g)
        got = {(r.parent, r.term, r.group): r.value for r in ard.select(analysis=f"{prefix}_shift", parameter=param)
               if r.statistic == "n" and r.term}
        assert {k for k, v in got.items() if v} == {(*c.split("|"), g) for (c, g), n in expected.items()
                                                    if c != "subjects" and n}
        for direction, gres in (res.get("grades") or {}).items():
            for cell, by in gres["shift"].items():
                b, w = cell.split("|")
                b, w = (x if x == sk.MISSING else str(int(float(x))) for x in (b, w))
                for g, n in by.items():
                    if g == "Total":
                        continue
                    r = ard[sk.grade_shift(prefix, "n", g, parameter=param, direction=direction, baseline=b, worst=w)]
                    assert r.value == n, (param, direction, cell, g)
            for g in gres["grade34"]:
                r = ard[sk.grade34(prefix, group(g), parameter=param, direction=direction)]
                assert r.value == gres["grade34"][g] and r.n == gres["with_post"][g], (param, direction, g)
                w = ard[sk.grade34(prefix, group(g), parameter=param, direction=direction, term="worsened")]
                assert w.value == gres["worsened"][g], (param, direction, g)
        if res.get("grades") is not None or prefix == "lab":
            ours = {r.parameter.rpartition("@")[2] for r in ard.select(analysis=f"{prefix}_grade34")
                    if r.parameter.startswith(f"{param}@")}
            assert ours == set(res.get("grades") or {}), (param, ours)

"""The abstract states only what the ARD says: every number links to an ARD row that holds it,
and the direction words follow the estimates (checked on altered data)."""

from __future__ import annotations

import math
import re
import statistics

import pytest

from trialpress.data.loading import load_study
from trialpress.plan import Plan, load_plan
from trialpress.report.context import ContextBuilder
from trialpress.report.document import Meta, build_context
from trialpress.report.templating import render_template
from trialpress.results import keys
from trialpress.results.ard import ARD
from trialpress.results.collect import analyse

from conftest import FLAGSHIP, ROOT

LINK = re.compile(r'`<a class="ard" href="#ard-([^"]+)">`\{=html\}(.*?)`</a>`\{=html\}')


def abstract_for(plan: Plan, data) -> tuple[str, ARD]:  # type: ignore[no-untyped-def]
    results = analyse(plan, data)
    ard = results.ard
    cb = ContextBuilder(plan, ard)
    meta = Meta(version="test", cutoff="2016-01-01", report_date="2026-01-01", software={}, renderer={})
    ctx = build_context(plan, cb, meta, {})
    return render_template(ROOT / "templates" / "article", "abstract.qmd.j2", ctx), ard


@pytest.fixture(scope="module")
def flagship() -> tuple[str, ARD]:
    lp = load_plan(FLAGSHIP)
    return abstract_for(lp.plan, load_study(lp))


def _plain(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", LINK.sub(lambda m: m.group(2), text))


def _values(row) -> list[float]:  # type: ignore[no-untyped-def]
    out = [row.value, row.lower, row.upper]
    if row.n and row.n == row.n:
        out.append(100 * row.value / row.n)
    return [v for v in out if v == v]


def test_every_number_in_the_results_comes_from_the_ard(flagship: tuple[str, ARD]) -> None:
    text, ard = flagship
    results = text[text.index("**Results**"):]
    links = LINK.findall(results)
    assert len(links) > 20
    for row_id, shown in links:
        row = ard[row_id]
        plain = re.sub(r"\\(.)", r"\1", shown)
        for token in re.findall(r"\d+(?:\.\d+)?|\.\d+", plain):
            number = float(token)
            if "<" in plain:   # 'P < .001' is a bound, not a rounded value
                assert row.value < number, (row_id, shown)
                continue
            assert any(abs(v - number) <= 0.5 * 10 ** -_decimals(token) + 1e-9 for v in _values(row)), \
                (row_id, shown, _values(row))
    # no number typed by hand: once linked numbers are removed, only '95% CI' (spelled out once) remains
    prose = re.sub(r"\\(.)", r"\1", LINK.sub("", results))   # Markdown escapes undone ('95\%' → '95%')
    bare = re.findall(r"\d+", prose.replace("95% CI", "").replace("95% confidence interval", ""))
    assert bare == [], bare


def _decimals(token: str) -> int:
    return len(token.split(".")[1]) if "." in token else 0


def test_flagship_words_follow_the_seed(flagship: tuple[str, ARD]) -> None:
    text = _plain(flagship[0])
    assert ("those who received blinatumomab as first salvage had a longer median overall survival "
            "(OS; 10.4 vs. 5.7 months; hazard ratio [HR], 1.58; 95% confidence interval [CI], 1.26-1.97; P < .001)") in text
    assert "did not differ significantly (10.1 vs. 7.3 months; HR, 1.38; 95% CI, 0.98-1.93; P = .061)" in text
    assert "as first salvage had higher rates of remission (n = 89 [54%] vs. n = 150 [41%]" in text


def test_direction_words_flip_with_the_reference_group() -> None:
    """With second-or-later salvage as the reference the HR is < 1 and the text must still say that
    first salvage had the longer survival and the higher remission rate."""
    lp = load_plan(FLAGSHIP)
    groups = lp.plan.groups.model_copy(update={"reference": "LATER"})
    plan = lp.plan.model_copy(update={"groups": groups})
    text, ard = abstract_for(plan, load_study(lp))
    text = _plain(text)
    assert ard[keys.model("OS", "cox", "hr", "FIRST")].value < 1
    assert ("Compared with patients who received blinatumomab as second or later salvage, those who received "
            "blinatumomab as first salvage had a longer median overall survival (OS; 10.4 vs. 5.7 months; hazard ratio [HR], 0.63"
            in text)
    assert "as first salvage had higher rates of remission (n = 89 [54%] vs. n = 150 [41%]; odds ratio, 1.69" in text


def test_swapped_survival_changes_who_is_said_to_live_longer() -> None:
    lp = load_plan(FLAGSHIP)
    data = load_study(lp)
    adsl = data.frames["ADSL"].copy()
    adsl["SALVGRP"] = adsl["SALVGRP"].map({"FIRST": "LATER", "LATER": "FIRST"})
    endpoints = [e.model_copy(update={"subset": None}) for e in lp.plan.time_to_event]   # no binary endpoint left
    plan = lp.plan.model_copy(update={"binary": [], "safety": None, "time_to_event": endpoints})
    text, ard = abstract_for(plan, type(data)(frames={**data.frames, "ADSL": adsl}, files=data.files))
    text = _plain(text)
    assert ard[keys.model("OS", "cox", "hr", "LATER")].value < 1
    assert ("Compared with patients who received blinatumomab as first salvage, those who received blinatumomab "
            "as second or later salvage had a longer median overall survival") in text
    assert "first salvage had a longer" not in text


def test_the_confidence_level_follows_the_plans_alpha() -> None:
    """alpha 0.10: every CI is computed at 90% (the ARD's method strings say so) and every label, note,
    sentence and methods line of the document names 90%, none 95%."""
    lp = load_plan(FLAGSHIP)
    plan = lp.plan.model_copy(update={"conventions": lp.plan.conventions.model_copy(update={"alpha": 0.10})})
    data = load_study(lp)
    ard = analyse(plan, data).ard
    methods = {r.method for r in ard if "% CI" in r.method}
    assert methods and all("90% CI" in m and "95%" not in m for m in methods), methods
    hr90 = ard[keys.model("OS", "cox", "hr", "LATER")]
    hr95 = analyse(lp.plan, data).ard[keys.model("OS", "cox", "hr", "LATER")]
    assert hr95.lower < hr90.lower < hr90.value < hr90.upper < hr95.upper   # a narrower interval, same estimate
    # independently: the Wald SE of log HR from the 95% interval, then the 90% limits (z = 1.6448536…)
    se = (math.log(hr95.upper) - math.log(hr95.lower)) / (2 * statistics.NormalDist().inv_cdf(0.975))
    z90 = statistics.NormalDist().inv_cdf(0.95)
    assert hr90.value == hr95.value
    assert math.isclose(hr90.lower, math.exp(math.log(hr95.value) - z90 * se), rel_tol=1e-9)
    assert math.isclose(hr90.upper, math.exp(math.log(hr95.value) + z90 * se), rel_tol=1e-9)
    cb = ContextBuilder(plan, ard)
    meta = Meta(version="test", cutoff="2016-01-01", report_date="2026-01-01", software={}, renderer={})
    text = render_template(ROOT / "templates" / "article", "report.qmd.j2", build_context(plan, cb, meta, {}))
    prose = re.sub(r"\\(.)", r"\1", text)
    assert "95%" not in prose
    assert prose.count("90% CI") > 10 and "90% confidence interval" in prose


@pytest.mark.parametrize(("favours", "better", "expected"), [
    ("comparator", "longer", "longer"), ("reference", "longer", "shorter"),
    ("comparator", "shorter", "shorter"), ("reference", "shorter", "longer"), ("neither", "longer", "")])
def test_a_safety_time_is_described_by_the_side_the_decision_favours(favours: str, better: str,
                                                                     expected: str) -> None:
    from trialpress.report.context import comparator_side

    assert comparator_side(True, favours, better, "longer", "shorter") == expected
    assert comparator_side(False, favours, better, "longer", "shorter") == ""
    assert comparator_side(None, favours, better, "longer", "shorter") == ""
    # a safety mean in the same words' positions: higher for longer, lower for shorter
    mean = {"longer": "higher", "shorter": "lower"}
    assert comparator_side(True, favours, mean[better], "higher", "lower") == mean.get(expected, "")

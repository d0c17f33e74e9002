"""The bundled synthetic twin, analysed by the real engine, reproduces the published numbers.

Targets: data/blinatumomab-salvage/published.yml (the seed abstract). Digit for digit (issue 19.5): every
number of the abstract, formatted as the report formats it (fixed, pvalue, percent), equals the published one
written out here with plain f-strings (independent of the report's formatting). The looser tolerances of
issue #3 (medians ±0.2 months, HR ±0.03, CI bounds ±0.04, counts exact) are kept as a second line.
"""

from __future__ import annotations

import pytest
import yaml

from trialpress.data.loading import load_study
from trialpress.plan import load_plan
from trialpress.report.formatting import NumberStyle, fixed, percent, pvalue
from trialpress.results import keys
from trialpress.results.ard import ARD
from trialpress.results.collect import analyse

from conftest import FLAGSHIP, ROOT

PUBLISHED = yaml.safe_load((ROOT / "data" / "blinatumomab-salvage" / "published.yml").read_text())


@pytest.fixture(scope="module")
def ard() -> ARD:
    lp = load_plan(FLAGSHIP)
    return analyse(lp.plan, load_study(lp)).ard


def _published(x: float, decimals: int) -> str:
    """A published number as printed: YAML drops trailing zeros (0.90 → 0.9), the abstract does not."""
    return f"{x:.{decimals}f}"


def _published_p(p: float | str) -> str:
    """A published P as printed: the string ('< .001') or three decimals without the leading zero."""
    if isinstance(p, str):
        return p
    text = f"{p:.3f}"
    return text[1:] if text.startswith("0.") else text


def test_published_strings_are_the_abstracts() -> None:
    """The f-string rendering of published.yml is the abstract's text (a few of its figures, literally)."""
    os_, rem = PUBLISHED["overall_survival"], PUBLISHED["remission"]["odds_ratio"]
    assert [_published(os_["median_months"]["first"], 1), _published(os_["median_months"]["later"], 1)] == \
        ["10.4", "5.7"]
    assert [_published(v, 2) for v in (os_["hazard_ratio"]["estimate"], *os_["hazard_ratio"]["ci95"])] == \
        ["1.58", "1.26", "1.97"]
    assert _published_p(os_["hazard_ratio"]["p"]) == "< .001"
    assert _published_p(PUBLISHED["relapse_free_survival"]["hazard_ratio"]["p"]) == ".061"
    assert [_published(v, 2) for v in (rem["estimate"], *rem["ci95"])] + [_published_p(rem["p"])] == \
        ["0.59", "0.41", "0.85", ".005"]


@pytest.mark.parametrize("endpoint,key", [("OS", "overall_survival"), ("RFS", "relapse_free_survival")])
def test_abstract_survival_numbers_print_as_published(ard: ARD, endpoint: str, key: str) -> None:
    """Medians to 1 decimal, HR and its 95% CI to 2, the Cox Wald P (the P the report prints) as published."""
    target = PUBLISHED[key]
    shown, published = {}, {}
    for group, name in (("FIRST", "first"), ("LATER", "later")):
        shown[f"median {name}"] = fixed(ard[keys.km(endpoint, "median", group)].value, 1)
        published[f"median {name}"] = _published(target["median_months"][name], 1)
    hr = ard[keys.model(endpoint, "cox", "hr", "LATER")]
    shown.update(hr=fixed(hr.value, 2), lower=fixed(hr.lower, 2), upper=fixed(hr.upper, 2),
                 p=pvalue(ard[keys.model(endpoint, "cox", "p", "LATER")].value))
    est = target["hazard_ratio"]
    published.update(hr=_published(est["estimate"], 2), lower=_published(est["ci95"][0], 2),
                     upper=_published(est["ci95"][1], 2), p=_published_p(est["p"]))
    assert shown == published


def test_abstract_response_numbers_print_as_published(ard: ARD) -> None:
    """Counts and percentages of remission, MRD response, alloHSCT and alloHSCT in continuous remission, and the
    remission odds ratio with its 95% CI and P."""
    style = NumberStyle(percent_decimals_large_n=0)
    for endpoint, key in (("REM", "remission"), ("MRD", "mrd_response"), ("HSCT", "allo_hsct"),
                          ("HSCTCR", "allo_hsct_in_continuous_remission")):
        for group, name in (("FIRST", "first"), ("LATER", "later")):
            row = ard[keys.rate(endpoint, "n", group)]
            assert (f"{row.value:.0f}", percent(row.value, row.n, style)) == (
                str(PUBLISHED[key]["n"][name]), str(PUBLISHED[key]["percent"][name])), (endpoint, group)
    odds, published = ard[keys.model("REM", "logistic", "or", "LATER")], PUBLISHED["remission"]["odds_ratio"]
    shown = (fixed(odds.value, 2), fixed(odds.lower, 2), fixed(odds.upper, 2),
             pvalue(ard[keys.model("REM", "logistic", "p", "LATER")].value))
    assert shown == (_published(published["estimate"], 2), _published(published["ci95"][0], 2),
                     _published(published["ci95"][1], 2), _published_p(published["p"]))


def test_group_sizes_are_exact(ard: ARD) -> None:
    pop = PUBLISHED["population"]
    assert ard[keys.population("FAS")].value == pop["total"]
    assert ard[keys.population("FAS", "FIRST")].value == pop["first"]
    assert ard[keys.population("FAS", "LATER")].value == pop["later"]


@pytest.mark.parametrize("endpoint,key", [("OS", "overall_survival"), ("RFS", "relapse_free_survival")])
def test_time_to_event_reproduces_the_abstract(ard: ARD, endpoint: str, key: str) -> None:
    target = PUBLISHED[key]
    for group, name in (("FIRST", "first"), ("LATER", "later")):
        assert ard[keys.km(endpoint, "median", group)].value == pytest.approx(target["median_months"][name], abs=0.2)
    hr, published = ard[keys.model(endpoint, "cox", "hr", "LATER")], target["hazard_ratio"]
    assert hr.value == pytest.approx(published["estimate"], abs=0.03)
    assert hr.lower == pytest.approx(published["ci95"][0], abs=0.04)
    assert hr.upper == pytest.approx(published["ci95"][1], abs=0.04)
    p = ard[keys.model(endpoint, "cox", "p", "LATER")].value
    if published["p"] == "< .001":
        assert p < 0.001
    else:
        assert p == pytest.approx(published["p"], abs=0.01)


def test_rfs_is_analysed_in_responders_only(ard: ARD) -> None:
    assert ard[keys.km("RFS", "n", "FIRST")].value == PUBLISHED["remission"]["n"]["first"]
    assert ard[keys.km("RFS", "n", "LATER")].value == PUBLISHED["remission"]["n"]["later"]


def test_prior_transplant_has_no_apparent_effect_on_median_os(ard: ARD) -> None:
    """'No apparent effect': within each salvage group, medians by prior alloHSCT differ by < 1.5 months."""
    for g in ("FIRST", "LATER"):
        yes = ard[keys.subgroup("OS", "median", g, "PRHSCT", "Y")].value
        no = ard[keys.subgroup("OS", "median", g, "PRHSCT", "N")].value
        assert abs(yes - no) < 1.5, (g, yes, no)


@pytest.mark.parametrize("endpoint,key", [("REM", "remission"), ("MRD", "mrd_response"), ("HSCT", "allo_hsct"),
                                          ("HSCTCR", "allo_hsct_in_continuous_remission")])
def test_binary_counts_are_exact(ard: ARD, endpoint: str, key: str) -> None:
    for group, name in (("FIRST", "first"), ("LATER", "later")):
        row = ard[keys.rate(endpoint, "n", group)]
        assert row.value == PUBLISHED[key]["n"][name]
        assert round(100 * row.value / row.n) == PUBLISHED[key]["percent"][name]


def test_remission_odds_ratio_reproduces_the_abstract(ard: ARD) -> None:
    published = PUBLISHED["remission"]["odds_ratio"]
    row = ard[keys.model("REM", "logistic", "or", "LATER")]
    assert row.value == pytest.approx(published["estimate"], abs=0.005)
    assert row.lower == pytest.approx(published["ci95"][0], abs=0.005)
    assert row.upper == pytest.approx(published["ci95"][1], abs=0.005)
    assert ard[keys.model("REM", "logistic", "p", "LATER")].value == pytest.approx(published["p"], abs=0.0005)


def test_remission_odds_ratio_matches_r_glm_on_the_same_counts(ard: ARD) -> None:
    """R: glm(y ~ group, binomial) on 89/165 vs 150/367 (tests/reference/r/binary.R)."""
    import json

    ref = json.loads((ROOT / "tests" / "reference" / "expected" / "binary.json").read_text())["logistic_two_group"]
    row = ard[keys.model("REM", "logistic", "or", "LATER")]
    assert row.value == pytest.approx(ref["or"], rel=1e-8)
    assert (row.lower, row.upper) == pytest.approx((ref["wald_lower"], ref["wald_upper"]), rel=1e-8)
    assert ard[keys.model("REM", "logistic", "p", "LATER")].value == pytest.approx(ref["wald_p"], rel=1e-8)


@pytest.mark.parametrize("endpoint", ["OS", "RFS", "OSHSCT"])
def test_seed_survival_matches_r_on_the_bundled_data(ard: ARD, endpoint: str) -> None:
    """R survival on the same CSVs (tests/reference/r/seed.R): medians, HRs, stratified HR, log-rank."""
    import json

    ref = json.loads((ROOT / "tests" / "reference" / "expected" / "seed.json").read_text())[endpoint]
    for g in ("FIRST", "LATER"):
        row, want = ard[keys.km(endpoint, "median", g)], ref["median"][g]
        expected = tuple(float("nan") if v is None else v for v in (want["est"], want["lower"], want["upper"]))
        assert (row.value, row.lower, row.upper) == pytest.approx(expected, rel=1e-9, nan_ok=True)
    for analysis, key in (("cox", "hr"), ("cox_strat", "hr_strat")):
        row, want = ard[keys.model(endpoint, analysis, "hr", "LATER")], ref[key]
        assert (row.value, row.lower, row.upper) == pytest.approx((want["est"], want["lower"], want["upper"]), rel=1e-6)
        assert ard[keys.model(endpoint, analysis, "p", "LATER")].value == pytest.approx(want["p"], rel=1e-5)
    assert ard[keys.test(endpoint, "logrank", "chisq", "LATER")].value == pytest.approx(ref["logrank"]["chisq"], rel=1e-9)

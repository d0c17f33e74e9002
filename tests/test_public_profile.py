"""Odds ratios by profile likelihood (plan `conventions.odds_ratio_inference: likelihood-ratio`) on the public ADaM
package, where the Wald test loses its power: best confirmed response is 99% with Drug X and with the combination
against 95% with placebo (1 and 2 non-responders against 7), so the Wald CI of the OR includes 1 (P = .064) while
the difference in proportions excludes 0 (the Hauck-Donner effect).

Against R (tests/reference/r/public_profile.R: the exact profile deviance of glm on the package's XPT files read
by haven, roots by uniroot; the LR test of each arm's term): every OR's CI and P, unadjusted and adjusted for four
covariates. The report then calls both differences significant and says how the CIs were obtained."""

from __future__ import annotations

import json
import re

import pytest

from public_packages import ROOT, public_variant
from test_abstract import abstract_for
from trialpress.pipeline import _load
from trialpress.plan import load_plan
from trialpress.report.methods import conventions
from trialpress.results import keys

R = json.loads((ROOT / "tests" / "reference" / "expected" / "public_profile.json").read_text(encoding="utf-8"))
ARMS = ["A: Drug X", "C: Combination"]


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    def profiled(plan: dict) -> None:
        plan["conventions"] = {"odds_ratio_inference": "likelihood-ratio"}
        next(b for b in plan["binary"] if b["id"] == "INVET")["adjust_for"] = ["AGE", "SEX", "BMRKR1", "REGION1"]

    lplan = load_plan(public_variant(tmp_path_factory.mktemp("profile"), profiled))
    text, ard = abstract_for(lplan.plan, _load(lplan))
    return lplan.plan, ard, re.sub(r"\\(.)", r"\1", re.sub(r"`<[^`]*>`\{=html\}", "", text))


@pytest.mark.parametrize("endpoint,analysis,case", [("BESRSPI", "logistic", "BESRSPI"), ("INVET", "logistic", "INVET"),
                                                   ("INVET", "logistic_adj", "INVET_adjusted")])
def test_profile_likelihood_cis_and_lr_p_equal_r(study, endpoint: str, analysis: str, case: str) -> None:  # type: ignore[no-untyped-def]
    _, ard, _ = study
    for arm in ARMS:
        r = R[case]["arms"][arm]
        row = ard[keys.model(endpoint, analysis, "or", arm)]
        for ours, theirs in ((row.value, r["or"]), (row.lower, r["lower"]), (row.upper, r["upper"])):
            assert ours == pytest.approx(theirs, rel=1e-8), (endpoint, analysis, arm)
        assert ard[keys.model(endpoint, analysis, "p", arm)].value == pytest.approx(r["p"], rel=1e-8)
        assert "profile-likelihood CI and likelihood-ratio P" in row.method


def test_the_text_follows_the_profile_cis_and_says_so(study) -> None:  # type: ignore[no-untyped-def]
    plan, ard, abstract = study
    for arm in ARMS:
        assert R["BESRSPI"]["arms"][arm]["lower"] > 1          # R: the profile CI excludes 1
        assert ard[keys.decision("BESRSPI", "significant", arm, on="logistic")].value == 1.0
    results = abstract.split("**Results**", 1)[1]
    assert "Rates of best confirmed overall response by investigator (CR/PR) did not differ significantly" not in results
    lines = conventions(plan, ard, {}, {})
    assert any("with profile-likelihood CIs and likelihood-ratio P values" in line for line in lines)

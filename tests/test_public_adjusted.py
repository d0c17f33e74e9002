"""Adjusted analyses on the public ADaM package: its committed plan with overall survival and the end-of-induction
response adjusted for AGE, SEX, BMRKR1 and REGION1 (six regions, two to four subjects per arm in one), as a
statistician would add them.

Against R (tests/reference/r/public_adjusted.R: coxph and glm on the package's XPT files read by haven): the
adjusted HRs and ORs of both comparators and every covariate term of the Cox model, with Wald CIs and P; the
categorical covariate enters as indicators against its first level in sorted order, as R's factors do."""

from __future__ import annotations

import json

import pytest

from public_packages import ROOT, public_variant, variant_ard
from trialpress.results import keys

R = json.loads((ROOT / "tests" / "reference" / "expected" / "public_adjusted.json").read_text(encoding="utf-8"))
COVARIATES = ["AGE", "SEX", "BMRKR1", "REGION1"]
ARMS = ["A: Drug X", "C: Combination"]


@pytest.fixture(scope="module")
def ard(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    def adjusted(plan: dict) -> None:
        for ep in [*plan["time_to_event"], *plan["binary"]]:
            if ep["id"] in ("OS", "INVET"):
                ep["adjust_for"] = list(COVARIATES)

    return variant_ard(public_variant(tmp_path_factory.mktemp("adjusted"), adjusted))


def _r_term(name: str) -> str:
    """Our term name ('SEX=M', 'REGION1=North America', 'AGE') as R prints it ('SEXM', ...)."""
    return name.replace("=", "")


def _close(row, r: dict, rel: float) -> None:  # type: ignore[no-untyped-def]
    for ours, theirs in ((row.value, r["estimate"]), (row.lower, r["lower"]), (row.upper, r["upper"])):
        assert ours == pytest.approx(theirs, rel=rel)


def test_adjusted_cox_equals_r(ard) -> None:  # type: ignore[no-untyped-def]
    terms = R["OS"]["terms"]
    for arm in ARMS:
        _close(ard[keys.model("OS", "cox_adj", "hr", arm)], terms[f"ARM{arm}"], 1e-9)
        assert ard[keys.model("OS", "cox_adj", "p", arm)].value == pytest.approx(terms[f"ARM{arm}"]["p"], rel=1e-9)
    ours = {r.term: r for r in ard.select(endpoint="OS", analysis="cox_adj_term", statistic="hr")}
    assert sorted(_r_term(t) for t in ours) == sorted(t for t in terms if not t.startswith("ARM"))
    for term, row in ours.items():
        _close(row, terms[_r_term(term)], 1e-9)
        p = ard[keys.model("OS", "cox_adj_term", "p", term=term)].value
        assert p == pytest.approx(terms[_r_term(term)]["p"], rel=1e-9), term


def test_adjusted_logistic_equals_r(ard) -> None:  # type: ignore[no-untyped-def]
    terms = R["INVET"]["terms"]
    for arm in ARMS:
        _close(ard[keys.model("INVET", "logistic_adj", "or", arm)], terms[f"ARM{arm}"], 1e-8)
        assert ard[keys.model("INVET", "logistic_adj", "p", arm)].value == pytest.approx(terms[f"ARM{arm}"]["p"],
                                                                                          rel=1e-8)

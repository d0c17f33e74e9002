"""Proportions, risk differences, logistic (incl. Firth) and Poisson rates against R.

binary.json comes from tests/reference/r/binary.R (base R: binom.test, glm, prop.test, poisson.test);
firth.json from tests/reference/r/firth.R (brglm2 `type = "AS_mean"`, which for the logit link is Firth's
penalised likelihood; logistf is not packaged for Debian). The suite needs no R to run.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialpress.analysis import response as rs

REF = Path(__file__).parent / "reference"
REL = 1e-6
# R's glm() stops IRLS after 4 iterations on rossi (epsilon 1e-8 on the deviance) and takes the SE
# from the weights of the previous iterate, so its SEs sit ~1e-5 (relative) from the SE at the MLE.
# With glm.control(epsilon = 1e-14) R moves to our values exactly (checked: ratios 1 + 1.7e-6 .. 1.5e-5,
# the same as ours/R's default). Coefficients agree to 1e-9 either way.
REL_GLM_SE = 5e-5

BIN = json.loads((REF / "expected" / "binary.json").read_text())
FIRTH = json.loads((REF / "expected" / "firth.json").read_text())


def close(ours: float, theirs: float | None, rel: float = REL) -> bool:
    if theirs is None:
        return math.isnan(ours)
    return math.isclose(ours, theirs, rel_tol=rel, abs_tol=1e-12)


# --------------------------------------------------------------------------- Clopper–Pearson


@pytest.mark.parametrize("case", BIN["clopper_pearson"], ids=lambda c: f"{c['x']}/{c['n']}")
def test_clopper_pearson_matches_binom_test(case: dict) -> None:
    est = rs.clopper_pearson(case["x"], case["n"])
    assert close(est.value, case["est"])
    assert close(est.lower, case["lower"])
    assert close(est.upper, case["upper"])
    assert est.note == ""


def test_clopper_pearson_edges() -> None:
    zero = rs.clopper_pearson(0, 10)
    assert (zero.value, zero.lower) == (0.0, 0.0)
    assert zero.upper == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-12)  # closed form at x = 0
    full = rs.clopper_pearson(10, 10)
    assert (full.value, full.upper) == (1.0, 1.0)
    assert full.lower == pytest.approx(0.025 ** (1 / 10), rel=1e-12)
    none = rs.clopper_pearson(0, 0)
    assert math.isnan(none.value) and math.isnan(none.lower) and math.isnan(none.upper)
    assert none.note == "no subjects"
    with pytest.raises(ValueError):
        rs.clopper_pearson(3, 2)


# --------------------------------------------------------------------------- risk difference


@pytest.mark.parametrize("key", list(BIN["prop_diff"]))
def test_risk_difference_wald_and_newcombe(key: str) -> None:
    ref = BIN["prop_diff"][key]
    args = (ref["x1"], ref["n1"], ref["x2"], ref["n2"])
    wald = rs.risk_difference(*args, method="wald")
    newc = rs.risk_difference(*args)  # Newcombe is the default
    for est in (wald, newc):
        assert close(est.value, ref["diff"])
    assert close(wald.lower, ref["wald"]["lower"]) and close(wald.upper, ref["wald"]["upper"])
    assert close(newc.lower, ref["newcombe"]["lower"]) and close(newc.upper, ref["newcombe"]["upper"])
    # prop.test(correct = FALSE) gives exactly the unpooled Wald interval
    assert close(wald.lower, ref["prop_test_nocc"]["lower"]) and close(wald.upper, ref["prop_test_nocc"]["upper"])
    for i, (x, n) in enumerate([(ref["x1"], ref["n1"]), (ref["x2"], ref["n2"])], start=1):
        w = rs.wilson(x, n)
        assert close(w.lower, ref[f"wilson{i}"]["lower"]) and close(w.upper, ref[f"wilson{i}"]["upper"])


def test_newcombe_published_example() -> None:
    """Newcombe (1998), Stat Med 17:873, Table II example (56/70 vs 48/80): method 10 gives 0.0524 to 0.3339."""
    est = rs.risk_difference(56, 70, 48, 80)
    assert (round(est.lower, 4), round(est.upper, 4)) == (0.0524, 0.3339)


def test_risk_difference_edges() -> None:
    # a group with no responders: Newcombe stays inside [-1, 1] and is not degenerate
    est = rs.risk_difference(0, 12, 6, 15)
    assert est.value == pytest.approx(-0.4)
    assert -1 <= est.lower < est.value < est.upper <= 1
    # 0% vs 0% and 100% vs 100%: Wald collapses (reported NE), Newcombe does not
    for x1, n1, x0, n0 in [(0, 10, 0, 12), (10, 10, 12, 12)]:
        wald = rs.risk_difference(x1, n1, x0, n0, method="wald")
        assert wald.value == 0 and math.isnan(wald.lower) and "Wald CI not estimable" in wald.note
        newc = rs.risk_difference(x1, n1, x0, n0)
        assert newc.lower < 0 < newc.upper
    empty = rs.risk_difference(0, 0, 3, 10)
    assert math.isnan(empty.value) and empty.note == "no subjects in a group"
    with pytest.raises(ValueError):
        rs.risk_difference(1, 10, 1, 10, method="agresti")


# --------------------------------------------------------------------------- logistic (ML)


def _two_group_frame() -> pd.DataFrame:
    """glm(y ~ group) in binary.R: first 89/165 (reference), later 150/367."""
    return pd.DataFrame({"y": [1] * 89 + [0] * 76 + [1] * 150 + [0] * 217, "later": [0] * 165 + [1] * 367})


def _check_term(term: rs.LogisticTerm, ref: dict, rel_se: float = REL) -> None:
    assert close(term.coef, ref["coef"])
    assert close(term.se, ref["se"], rel_se)
    assert close(term.odds_ratio.value, ref["or"])
    assert close(term.odds_ratio.lower, ref["lower"], rel_se)
    assert close(term.odds_ratio.upper, ref["upper"], rel_se)
    assert close(term.z, ref["z"], rel_se)
    assert close(term.p, ref["p"], rel_se * 10)


def test_logistic_two_group() -> None:
    ref = BIN["logistic_two_group"]
    res = rs.logistic(_two_group_frame(), "y", ["later"])
    assert (res.n, res.events, res.converged, res.firth, res.note) == (532, 239, True, False, "")
    _check_term(res.terms["later"], ref["coefficients"]["grouplater"])
    _check_term(res.intercept, ref["coefficients"]["(Intercept)"])
    assert close(res.lr_chisq, ref["lr_chisq"]) and close(res.lr_p, ref["lr_p"])
    assert close(-2 * res.loglik, ref["deviance"])  # deviance = -2 loglik for 0/1 data
    assert res.method.startswith("maximum-likelihood")


def test_logistic_rossi_adjusted() -> None:
    ref = BIN["logistic_rossi_adjusted"]
    rossi = pd.read_csv(REF / "data" / "rossi.csv")
    covs = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
    res = rs.logistic(rossi, "arrest", covs)
    assert (res.n, res.converged, res.firth) == (ref["n"], True, False)
    assert list(res.terms) == covs
    for c in covs:
        _check_term(res.terms[c], ref["coefficients"][c], REL_GLM_SE)
    _check_term(res.intercept, ref["coefficients"]["(Intercept)"], REL_GLM_SE)
    assert close(-2 * res.loglik, ref["deviance"])
    assert close(res.lr_chisq, ref["null_deviance"] - ref["deviance"])


def test_logistic_drops_incomplete_rows_and_handles_empty() -> None:
    frame = _two_group_frame().astype(float)
    frame.loc[[0, 200], "later"] = np.nan
    assert rs.logistic(frame, "y", ["later"]).n == 530
    empty = rs.logistic(frame.iloc[:0], "y", ["later"])
    assert empty.n == 0 and empty.note == "no subjects" and math.isnan(empty.terms["later"].odds_ratio.value)
    with pytest.raises(ValueError):
        rs.logistic(frame.assign(y=frame["y"] * 2), "y", ["later"])


# --------------------------------------------------------------------------- logistic (Firth)

FIRTH_MODELS = {"zero_cell": ["trt"], "quasi_adjusted": ["trt", "score"], "complete": ["score", "trt"],
                "quasi_continuous": ["score"], "all_responders": ["trt"]}


@pytest.mark.parametrize("name", list(FIRTH_MODELS))
def test_firth_matches_r(name: str) -> None:
    ref = FIRTH[name]
    sep = pd.read_csv(REF / "data" / "separation.csv")
    res = rs.logistic(sep[sep["set"] == name], "y", FIRTH_MODELS[name])
    assert res.firth and res.converged
    assert res.note == rs.SEPARATION_NOTE == "complete separation: Firth penalised likelihood"
    assert res.method.startswith("Firth") and "Wald" in res.method
    assert (res.n, res.events) == (ref["n"], ref["events"])
    assert close(res.loglik, ref["penalised_loglik"])
    for term_name, expected in ref["coefficients"].items():
        term = res.intercept if term_name == "(Intercept)" else res.terms[term_name]
        _check_term(term, expected)
        assert term.odds_ratio.note == "Firth estimate; Wald CI"
        # the unpenalised fit R stops at is huge; ours is not
        if expected["ml_se"] is not None and expected["ml_se"] > 100:
            assert abs(term.coef) < 10 and term.se < 10


def test_firth_saturated_closed_form() -> None:
    """Two groups: Firth = ML with 1/2 added to every cell, so a 0/12 group gives log-odds log(0.5/12.5)."""
    sep = pd.read_csv(REF / "data" / "separation.csv")
    res = rs.logistic(sep[sep["set"] == "zero_cell"], "y", ["trt"])  # control 6/15, treated 0/12
    assert res.intercept.coef == pytest.approx(math.log(6.5 / 9.5), rel=1e-9)
    assert res.terms["trt"].coef == pytest.approx(math.log(0.5 / 12.5) - math.log(6.5 / 9.5), rel=1e-9)
    assert res.warnings[0] == "zero cell: none of trt=1 had the outcome"


def test_separation_paths() -> None:
    """Every way in: zero cell (0 and all responders), continuous complete / quasi-complete, constant outcome."""
    sep = pd.read_csv(REF / "data" / "separation.csv")
    reasons = {name: rs.logistic(sep[sep["set"] == name], "y", covs).warnings[0]
               for name, covs in FIRTH_MODELS.items()}
    assert reasons == {
        "zero_cell": "zero cell: none of trt=1 had the outcome",
        "quasi_adjusted": "zero cell: all of trt=1 had the outcome",
        "complete": "outcome separated by a linear combination of covariates",
        "quasi_continuous": "outcome separated by a linear combination of covariates",
        "all_responders": "every subject had the outcome",
    }
    none = pd.DataFrame({"y": [0] * 10, "g": [0, 1] * 5})
    res = rs.logistic(none, "y", ["g"])
    assert res.firth and res.warnings[0] == "no subject had the outcome"
    assert res.terms["g"].coef == pytest.approx(0.0, abs=1e-9)  # 0/5 vs 0/5: Firth log-OR 0
    # and no false alarm on ordinary data
    assert not rs.logistic(_two_group_frame(), "y", ["later"]).firth


# --------------------------------------------------------------------------- Poisson rates


@pytest.mark.parametrize("case", BIN["poisson_rate"], ids=lambda c: f"{c['x']}/{c['T']}")
def test_exposure_adjusted_rate_matches_poisson_test(case: dict) -> None:
    per_unit = rs.exposure_adjusted_rate(case["x"], case["T"], per=1.0)
    assert close(per_unit.value, case["rate"])
    assert close(per_unit.lower, case["lower"])
    assert close(per_unit.upper, case["upper"])
    per100 = rs.exposure_adjusted_rate(case["x"], case["T"])  # default: per 100 patient-years
    assert close(per100.value, 100 * case["rate"]) and close(per100.upper, 100 * case["upper"])


def test_exposure_adjusted_rate_edges() -> None:
    zero = rs.exposure_adjusted_rate(0, 50.0)
    assert (zero.value, zero.lower) == (0.0, 0.0)
    assert zero.upper == pytest.approx(100 * -math.log(0.025) / 50.0, rel=1e-12)  # closed form at 0 events
    nothing = rs.exposure_adjusted_rate(0, 0.0)
    assert math.isnan(nothing.value) and nothing.note == "no exposure"
    with pytest.raises(ValueError):
        rs.exposure_adjusted_rate(-1, 10.0)

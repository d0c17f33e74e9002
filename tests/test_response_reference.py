"""Proportions, risk differences, logistic (incl. Firth) and Poisson rates against R.

binary.json comes from tests/reference/r/binary.R (base R: binom.test, glm, prop.test, poisson.test);
firth.json from tests/reference/r/firth.R (brglm2 `type = "AS_mean"`, which for the logit link is Firth's
penalised likelihood; logistf is not packaged for Debian); duplicates.json and data/duplicates.csv from
tests/reference/r/duplicates.R (glm and brglm2 on data with few distinct rows, which logistic() fits collapsed);
robust.json from tests/reference/r/robust.R (the Firth fits' profile penalised-likelihood CIs and penalised
likelihood-ratio P, by an independent R implementation of logistf's definitions).
The suite needs no R to run.
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


ROBUST = json.loads((REF / "expected" / "robust.json").read_text())


@pytest.mark.parametrize("name", [k for k in FIRTH_MODELS if k != "all_responders"])
def test_firth_matches_r(name: str) -> None:
    """Firth estimates, SEs and Wald CIs against brglm2 (firth.json); the reported CI is the profile penalised-
    likelihood interval and P the penalised LR test (logistf's defaults), against robust.R's own R implementation."""
    ref = FIRTH[name]
    sep = pd.read_csv(REF / "data" / "separation.csv")
    res = rs.logistic(sep[sep["set"] == name], "y", FIRTH_MODELS[name])
    assert res.firth and res.converged
    assert res.note == rs.SEPARATION_NOTE == "complete separation: Firth penalised likelihood"
    assert res.method.startswith("Firth") and "profile penalised-likelihood CI" in res.method
    assert res.ci_method == "profile penalised likelihood"
    assert (res.n, res.events) == (ref["n"], ref["events"])
    assert close(res.loglik, ref["penalised_loglik"])
    for term_name, expected in ref["coefficients"].items():
        term = res.intercept if term_name == "(Intercept)" else res.terms[term_name]
        assert close(term.coef, expected["coef"]) and close(term.se, expected["se"])
        assert close(term.odds_ratio.value, expected["or"]) and close(term.z, expected["z"])
        assert close(term.wald.lower, expected["lower"]) and close(term.wald.upper, expected["upper"])
        assert close(term.wald_p, expected["p"], REL * 10)
        prof = ROBUST["firth"][name]["coefficients"][term_name]
        assert close(term.odds_ratio.lower, prof["lower"]) and close(term.odds_ratio.upper, prof["upper"])
        assert close(term.p, prof["p"])
        assert term.odds_ratio.note == "Firth estimate; profile penalised-likelihood CI"
        # the unpenalised fit R stops at is huge; ours is not
        if expected["ml_se"] is not None and expected["ml_se"] > 100:
            assert abs(term.coef) < 10 and term.se < 10


def test_constant_outcome_gives_no_odds_ratio() -> None:
    """All responders (firth.json's all_responders, where brglm2 still returns a Firth fit): no OR at all."""
    sep = pd.read_csv(REF / "data" / "separation.csv")
    res = rs.logistic(sep[sep["set"] == "all_responders"], "y", ["trt"])
    assert (res.n, res.events, res.firth) == (FIRTH["all_responders"]["n"], FIRTH["all_responders"]["events"], False)
    assert res.note == "outcome does not vary" and res.warnings == ("every subject had the outcome",)
    for term in (res.intercept, res.terms["trt"]):
        assert math.isnan(term.coef) and math.isnan(term.odds_ratio.value) and math.isnan(term.p)
        assert term.odds_ratio.note == "outcome does not vary"


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
    assert not res.firth and res.warnings[0] == "no subject had the outcome"
    assert math.isnan(res.terms["g"].odds_ratio.value) and res.note == "outcome does not vary"
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


# --------------------------------------------------------------------------- duplicated rows (collapsed fits)
# logistic() fits the distinct (y, x) patterns with frequency weights. duplicates.json holds R's fits on the
# uncollapsed rows (tests/reference/r/duplicates.R: glm with epsilon 1e-14; brglm2 Firth), and the tests below
# also refit the rows in Python (statsmodels GLM; the row-by-row Firth Newton-Raphson trialpress used before).

DUP = json.loads((REF / "expected" / "duplicates.json").read_text())
DUP_MODELS = {"ml": ["trt", "sub", "trt_sub", "age"], "firth_zero": ["trt", "sub", "trt_sub", "age"],
              "firth_lp": ["trt", "score"]}
TIGHT = 1e-8


def _dup(name: str) -> pd.DataFrame:
    d = pd.read_csv(REF / "data" / "duplicates.csv")
    return d[d["set"] == name].reset_index(drop=True)


def _coefs(res: rs.LogisticResult) -> tuple[np.ndarray, np.ndarray]:
    terms = [res.intercept, *res.terms.values()]
    return np.array([t.coef for t in terms]), np.array([t.se for t in terms])


def _firth_rows(x: np.ndarray, y: np.ndarray, maxit: int = 100, tol: float = 1e-10, maxstep: float = 5.0
                ) -> tuple[np.ndarray, np.ndarray, float]:
    """trialpress's previous Firth fit, one row per subject (no frequency weights): coef, SE, penalised loglik."""
    from scipy import special

    def pll_of(b: np.ndarray) -> float:
        eta = x @ b
        p = special.expit(eta)
        sign, logdet = np.linalg.slogdet((x * (p * (1 - p))[:, None]).T @ x)
        return float(np.sum(y * eta - np.logaddexp(0.0, eta))) + 0.5 * logdet if sign > 0 else -math.inf

    beta = np.zeros(x.shape[1])
    pll = pll_of(beta)
    for _ in range(maxit):
        p = special.expit(x @ beta)
        w = p * (1 - p)
        info_inv = np.linalg.inv((x * w[:, None]).T @ x)
        h = w * np.einsum("ij,jk,ik->i", x, info_inv, x)
        score = x.T @ (y - p + h * (0.5 - p))
        delta = info_inv @ score
        big = np.max(np.abs(delta)) / maxstep
        if big > 1:
            delta = delta / big
        full_step = big <= 1
        for _half in range(30):
            new = pll_of(beta + delta)
            if new >= pll - 1e-12:
                break
            delta = delta / 2
            full_step = False
        beta, pll = beta + delta, new
        if np.max(np.abs(score)) < tol or (full_step and np.max(np.abs(delta)) < tol):
            break
    p = special.expit(x @ beta)
    cov = np.linalg.inv((x * (p * (1 - p))[:, None]).T @ x)
    return beta, np.sqrt(np.diag(cov)), pll_of(beta)


def test_patterns_equal_np_unique() -> None:
    """The collapse gives exactly np.unique(axis=0) of the complete cases, on every coding path: small
    integers (int, bool, integer-valued float with NaN, negative), non-integers, too wide a range, and
    enough many-valued columns that the combined key has to be renumbered to stay within int64."""
    rng = np.random.default_rng(7)
    m = 5000
    frame = pd.DataFrame({"y": rng.integers(0, 2, m), "flag": rng.integers(0, 2, m).astype(bool),
                          "age": rng.integers(18, 90, m).astype(float), "neg": rng.integers(-3, 3, m),
                          "dose": rng.choice([0.5, 1.25, 2.0, -0.75], m),
                          "wide": rng.choice([0, 10**6, 3 * 10**9], m)})
    frame.loc[rng.choice(m, 50, replace=False), "dose"] = np.nan
    frame.loc[rng.choice(m, 50, replace=False), "age"] = np.nan
    wide = pd.DataFrame(rng.normal(size=(m, 6)), columns=list("abcdef"))  # 5000^6 > 2^62 combinations
    wide = pd.concat([wide, wide.iloc[:1000]], ignore_index=True)
    for f in (frame, wide):
        values, counts = rs._patterns(f, list(f.columns))
        full = f.to_numpy(float)
        full = full[~np.isnan(full).any(axis=1)]
        uniq, ucounts = np.unique(full, axis=0, return_counts=True)
        np.testing.assert_array_equal(values, uniq)
        np.testing.assert_array_equal(counts, ucounts)
        assert counts.sum() == len(full) and len(uniq) < len(f)
    empty, none = rs._patterns(frame.iloc[:0], list(frame.columns))
    assert empty.shape == (0, frame.shape[1]) and none.shape == (0,)


def test_duplicated_rows_ml_equals_row_by_row_fit() -> None:
    import statsmodels.api as sm

    ref, d, covs = DUP["ml"], _dup("ml"), DUP_MODELS["ml"]
    assert (len(d), len(rs._patterns(d, ["y", *covs])[1])) == (ref["n"], ref["patterns"]) == (2019, 40)
    res = rs.logistic(d, "y", covs)
    assert (res.n, res.events, res.firth, res.converged, res.warnings) == (ref["n"], ref["events"], False, True, ())
    coef, se = _coefs(res)
    x = sm.add_constant(d[covs].to_numpy(float))
    # statsmodels on the repeated rows, iterated to the MLE (tol 1e-14): its default stops IRLS at a deviance
    # change of 1e-8 and takes the SE from that iterate's weights, ~3e-7 (relative) from the SE at the MLE,
    # which the engine gives (one Newton step past R's convergence rule) and R gives with epsilon 1e-14.
    rows = sm.GLM(d["y"].to_numpy(float), x, family=sm.families.Binomial()).fit(tol=1e-14)
    np.testing.assert_allclose(coef, rows.params, rtol=TIGHT)
    np.testing.assert_allclose(se, rows.bse, rtol=TIGHT)
    assert res.loglik == pytest.approx(rows.llf, rel=TIGHT)
    assert res.lr_chisq == pytest.approx(2 * (rows.llf - rows.llnull), rel=TIGHT)
    r = ref["coefficients"]
    np.testing.assert_allclose(coef, [r[k]["coef"] for k in (rs.INTERCEPT, *covs)], rtol=TIGHT)
    np.testing.assert_allclose(se, [r[k]["se"] for k in (rs.INTERCEPT, *covs)], rtol=TIGHT)
    assert res.loglik == pytest.approx(ref["loglik"], rel=TIGHT)
    assert res.lr_chisq == pytest.approx(ref["lr_chisq"], rel=TIGHT)
    for k in covs:
        _check_term(res.terms[k], r[k])


@pytest.mark.parametrize(("name", "reason"), [
    ("firth_zero", "zero cell: none of trt_sub=1 had the outcome"),
    ("firth_lp", "outcome separated by a linear combination of covariates"),  # found by the LP only
])
def test_duplicated_rows_firth_equals_row_by_row_fit(name: str, reason: str) -> None:
    ref, d, covs = DUP[name], _dup(name), DUP_MODELS[name]
    assert len(rs._patterns(d, ["y", *covs])[1]) == ref["patterns"] < len(d) / 10
    res = rs.logistic(d, "y", covs)
    assert res.firth and res.converged and res.warnings[0] == reason
    assert (res.n, res.events) == (ref["n"], ref["events"])
    coef, se = _coefs(res)
    x = np.column_stack([np.ones(len(d)), d[covs].to_numpy(float)])
    rows_coef, rows_se, rows_pll = _firth_rows(x, d["y"].to_numpy(float))
    np.testing.assert_allclose(coef, rows_coef, rtol=TIGHT)
    np.testing.assert_allclose(se, rows_se, rtol=TIGHT)
    assert res.loglik == pytest.approx(rows_pll, rel=TIGHT)
    r = ref["coefficients"]
    np.testing.assert_allclose(coef, [r[k]["coef"] for k in (rs.INTERCEPT, *covs)], rtol=TIGHT)
    np.testing.assert_allclose(se, [r[k]["se"] for k in (rs.INTERCEPT, *covs)], rtol=TIGHT)
    assert res.loglik == pytest.approx(ref["penalised_loglik"], rel=TIGHT)


def test_collapse_ignores_row_order_and_incomplete_rows() -> None:
    """Patterns are sorted, so shuffling the rows gives the very same numbers; incomplete rows only drop out."""
    d, covs = _dup("ml"), DUP_MODELS["ml"]
    res = rs.logistic(d, "y", covs)
    assert rs.logistic(d.sample(frac=1, random_state=3), "y", covs) == res
    padded = pd.concat([d, d.iloc[:30].assign(age=np.nan), d.iloc[30:40].assign(y=np.nan)], ignore_index=True)
    assert rs.logistic(padded, "y", covs) == res
    firth = _dup("firth_lp")
    a = rs.logistic(firth, "y", DUP_MODELS["firth_lp"])
    b = rs.logistic(firth.iloc[::-1], "y", DUP_MODELS["firth_lp"])
    assert _coefs(a)[0].tolist() == _coefs(b)[0].tolist()
    assert (a.n, a.events, a.loglik) == (b.n, b.events, b.loglik)

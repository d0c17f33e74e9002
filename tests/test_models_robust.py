"""Cox and logistic fits that must not break: covariate scale, constant / collinear covariates, infinite Cox
coefficients, missing covariates and strata, constant outcomes, and Firth with profile penalised-likelihood
CIs and penalised likelihood-ratio P.

robust.json and data/robust_*.csv come from tests/reference/r/robust.R (coxph, glm, brglm2, and an
independent R implementation of logistf's profile penalised likelihood; see tests/reference/README.md).
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
from trialpress.analysis import survival as sv
from trialpress.analysis.covariates import design, design_matrix

REF = Path(__file__).parent / "reference"
ROBUST = json.loads((REF / "expected" / "robust.json").read_text())
TIGHT = 1e-9
# The engine's logistic SE is I(b)^-1 at the MLE (Newton steps until the estimate stops changing). R's
# reference (epsilon 1e-12) takes the SE from the weights of its last iterate, where the relative deviance
# change fell below 1e-12, i.e. ~1e-6 of the estimate short of the MLE: measured up to 4.8e-7 (relative) in
# the SE; coefficients agree to ~1e-9.
REL_GLM_SE = 1e-6


def _cox_data() -> pd.DataFrame:
    d = pd.read_csv(REF / "data" / "robust_cox.csv")
    return d.assign(**{"I(age_days/365.25)": d["age_days"] / 365.25, "I(lab/1000)": d["lab"] / 1000,
                       "I(vdate - 22000)": d["vdate"] - 22000})


def rel(ours: float, theirs: float) -> float:
    return abs(ours - theirs) / abs(theirs) if theirs else abs(ours)


COX = {"scale": (["trt", "age_days", "lab", "vdate"], None),
       "scale_units": (["trt", "I(age_days/365.25)", "I(lab/1000)", "I(vdate - 22000)"], None),
       "scale_offset": (["trt", "labk", "age_days"], None),
       "constant": (["trt", "age", "site"], None),
       "collinear": (["trt", "age", "age_lin"], None),
       "infinite_neg": (["trt", "age", "mut"], None),
       "infinite_pos": (["trt", "early"], None),
       "infinite_pos_singular": (["trt", "early8"], None),
       "missing": (["trt", "lab", "ecog"], ["region"])}


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("key", list(COX))
def test_cox_matches_r(ties: str, key: str) -> None:
    """Every estimable coefficient, SE, CI and P, the LR test (statistic and df) and n as coxph; terms R gives NA
    or warns may be infinite about are not estimable, with the reason."""
    ref = ROBUST["cox"][ties][key]
    cols, strata = COX[key]
    fit = sv.cox(_cox_data(), "time", "status", cols, strata=strata, ties=ties)
    assert (fit.n, fit.events, fit.n_excluded) == (ref["n"], ref["nevent"], ref["n_excluded"])
    for c in cols:
        want, term = ref["coefficients"][c], fit.terms[c]
        if want["coef"] is None or c in ref["infinite"]:
            assert math.isnan(term.hr.value) and math.isnan(term.hr.lower) and math.isnan(term.p)
            assert term.hr.note and c in fit.not_estimable and c in fit.note
            continue
        for ours, theirs in ((term.coef, want["coef"]), (term.se, want["se"]), (term.hr.value, want["hr"]),
                             (term.hr.lower, want["lower"]), (term.hr.upper, want["upper"]), (term.p, want["p"])):
            assert rel(ours, theirs) < TIGHT, (key, ties, c, ours, theirs)
    assert rel(fit.lr_chisq, ref["lr"]["stat"]) < TIGHT and fit.lr_df == ref["lr"]["df"]
    assert rel(fit.loglik, ref["loglik"][1]) < TIGHT


def test_cox_scale_gives_hr_per_unit() -> None:
    """lab, age in days and a date (days since 1960) give the HR per unit; /1000 multiplies the log-HR by 1000."""
    d = _cox_data()
    a = sv.cox(d, "time", "status", ["trt", "age_days", "lab", "vdate"])
    b = sv.cox(d, "time", "status", ["trt", "I(age_days/365.25)", "I(lab/1000)", "I(vdate - 22000)"])
    assert math.isclose(a.terms["lab"].coef * 1000, b.terms["I(lab/1000)"].coef, rel_tol=1e-12)
    assert math.isclose(a.terms["age_days"].coef * 365.25, b.terms["I(age_days/365.25)"].coef, rel_tol=1e-12)
    assert math.isclose(a.terms["vdate"].coef, b.terms["I(vdate - 22000)"].coef, rel_tol=1e-12)
    assert math.isclose(a.terms["lab"].p, b.terms["I(lab/1000)"].p, rel_tol=1e-10)
    # x1000 and + 10^6: exp(b x) overflows on the raw scale, not on the centred one
    c = sv.cox(d.assign(big=d["labk"] * 1000 + 1e6), "time", "status", ["trt", "big", "age_days"])
    want = ROBUST["cox"]["efron"]["scale_offset"]["coefficients"]["labk"]
    assert rel(c.terms["big"].coef * 1000, want["coef"]) < 1e-8 and c.note == "" and not c.warnings


def test_cox_reasons_are_named() -> None:
    d = _cox_data()
    const = sv.cox(d, "time", "status", ["trt", "age", "site"])
    assert const.dropped == {"site": "constant in the analysed subjects (value 3)"}
    assert const.terms["site"].hr.note == const.not_estimable["site"] == const.dropped["site"]
    coll = sv.cox(d, "time", "status", ["trt", "age", "age_lin"])
    assert coll.dropped == {"age_lin": "collinear with trt, age (aliased)"}
    inf = sv.cox(d, "time", "status", ["trt", "age", "mut"])
    assert inf.dropped == {} and set(inf.not_estimable) == {"mut"}
    assert inf.terms["mut"].hr.note == sv.INFINITE_NOTE
    assert "coefficient may be infinite" in inf.note
    sing = sv.cox(d, "time", "status", ["trt", "early8"])
    assert sing.terms["early8"].hr.note == sv.SINGULAR_AT_ESTIMATE_NOTE
    miss = sv.cox(d, "time", "status", ["trt", "lab", "ecog"], strata=["region"])
    assert miss.n_excluded == 17 and miss.excluded == {"ecog": 12, "region": 7}
    # the caller's not_estimable and R's test combine
    both = sv.cox(d.assign(g=0.0), "time", "status", ["g", "trt", "mut"], not_estimable={"g": "no subjects in group X"})
    assert both.not_estimable == {"g": "no subjects in group X", "mut": sv.INFINITE_NOTE}
    assert both.lr_df == 2 and not math.isnan(both.terms["trt"].hr.value)
    # constant within every stratum: no information in a stratified fit
    strat = sv.cox(d.assign(sconst=d["trt"]), "time", "status", ["age", "sconst"], strata=["trt"])
    assert strat.dropped == {"sconst": "constant within every stratum"}


def test_cox_fit_raw_refuses_what_has_no_wald_test() -> None:
    d = _cox_data()
    assert sv.cox_fit_raw(d, "time", "status", ["trt", "age", "mut"]) is None
    assert sv.cox_fit_raw(d, "time", "status", ["trt", "age", "site"]) is None
    beta, cov = sv.cox_fit_raw(d, "time", "status", ["trt", "lab", "ecog"], strata=["region"])  # type: ignore[misc]
    ref = ROBUST["cox"]["efron"]["missing"]["coefficients"]
    assert rel(beta[1], ref["lab"]["coef"]) < TIGHT and rel(math.sqrt(cov[1, 1]), ref["lab"]["se"]) < TIGHT


GLM = {"scale": ["trt", "age_days", "lab", "vdate"],
       "scale_units": ["trt", "I(age_days/365.25)", "I(lab/1000)", "I(vdate - 22000)"],
       "scale_offset": ["trt", "labk", "age_days"],
       "constant": ["trt", "age", "site"],
       "missing": ["trt", "lab", "ecog"]}


@pytest.mark.parametrize("key", list(GLM))
def test_logistic_matches_glm(key: str) -> None:
    ref = ROBUST["glm"][key]
    res = rs.logistic(_cox_data(), "resp", GLM[key])
    assert (res.n, res.events, res.n_excluded, res.firth) == (ref["n"], ref["events"], ref["n_excluded"], False)
    assert res.ci_method == "Wald"
    for name, want in ref["coefficients"].items():
        term = res.intercept if name == rs.INTERCEPT else res.terms[name]
        if want["coef"] is None:
            assert math.isnan(term.odds_ratio.value) and name in res.dropped and name in res.not_estimable
            continue
        assert rel(term.coef, want["coef"]) < TIGHT, (key, name)
        assert rel(term.se, want["se"]) < REL_GLM_SE, (key, name)
        assert rel(term.odds_ratio.lower, want["lower"]) < REL_GLM_SE and rel(term.p, want["p"]) < 10 * REL_GLM_SE
        assert term.wald == term.odds_ratio and term.wald_p == term.p
    assert rel(res.loglik, ref["loglik"]) < TIGHT and rel(res.lr_chisq, ref["lr_chisq"]) < 1e-8
    assert res.lr_df == sum(w["coef"] is not None for n, w in ref["coefficients"].items() if n != rs.INTERCEPT)


def test_logistic_reasons_are_named() -> None:
    d = _cox_data()
    const = rs.logistic(d, "resp", ["trt", "age", "site"])
    assert const.dropped == {"site": "constant in the analysed subjects (value 3)"}
    assert const.terms["site"].odds_ratio.note == const.dropped["site"]
    coll = rs.logistic(d, "resp", ["trt", "age", "age_lin"])
    assert coll.dropped == {"age_lin": "collinear with (Intercept), trt, age (aliased)"}
    assert rel(coll.terms["age"].coef, const.terms["age"].coef) < 1e-10
    miss = rs.logistic(d, "resp", ["trt", "lab", "ecog"])
    assert (miss.n_excluded, miss.excluded) == (12, {"ecog": 12})


@pytest.mark.parametrize("level", [0, 1])
def test_constant_outcome_has_no_odds_ratio(level: int) -> None:
    d = _cox_data().assign(resp=level)
    res = rs.logistic(d, "resp", ["trt", "age"])
    assert res.note == rs.OUTCOME_CONSTANT_NOTE == "outcome does not vary" and not res.firth
    assert all(math.isnan(t.odds_ratio.value) and t.odds_ratio.note == "outcome does not vary"
               for t in (res.intercept, *res.terms.values()))
    assert res.not_estimable == {"trt": "outcome does not vary", "age": "outcome does not vary"}


def test_logistic_scale_gives_or_per_unit() -> None:
    d = _cox_data().assign(big=lambda f: f["labk"] * 1000 + 1e6)
    res = rs.logistic(d, "resp", ["trt", "big", "age_days"])
    want = ROBUST["glm"]["scale_offset"]["coefficients"]
    assert rel(res.terms["big"].coef * 1000, want["labk"]["coef"]) < 1e-8
    assert rel(res.terms["trt"].coef, want["trt"]["coef"]) < 1e-9


FIRTH = {"scale": ("robust_firth", "y", ["trt", "lab"], "zero cell: none of trt=1 had the outcome"),
         "endometrial": ("robust_endometrial", "HG", ["NV", "PI", "EH"], "zero cell: all of NV=1 had the outcome")}


@pytest.mark.parametrize("key", list(FIRTH))
def test_firth_profile_ci_and_penalised_lr_p_match_r(key: str) -> None:
    """Firth estimates (brglm2), profile penalised-likelihood CIs and penalised LR P (robust.R's implementation
    of logistf's definitions), on a covariate of ~15000 and on the endometrial data (Heinze & Schemper 2002)."""
    ref = ROBUST["firth"][key]
    data, outcome, cols, reason = FIRTH[key]
    res = rs.logistic(pd.read_csv(REF / "data" / f"{data}.csv"), outcome, cols)
    assert res.firth and res.converged and res.warnings[0] == reason
    assert res.ci_method == "profile penalised likelihood" and res.note == rs.SEPARATION_NOTE
    assert rel(res.loglik, ref["penalised_loglik"]) < 1e-11
    for name, want in ref["coefficients"].items():
        term = res.intercept if name == rs.INTERCEPT else res.terms[name]
        assert rel(term.coef, want["coef"]) < 1e-9 and rel(term.se, want["se"]) < 1e-9
        assert rel(term.odds_ratio.lower, want["lower"]) < 1e-9, (key, name)
        assert rel(term.odds_ratio.upper, want["upper"]) < 1e-9, (key, name)
        assert rel(term.p, want["p"]) < 1e-9, (key, name)
        assert rel(term.wald.lower, want["wald_lower"]) < 1e-9 and rel(term.wald_p, want["wald_p"]) < 1e-9
        assert term.odds_ratio.lower < term.odds_ratio.value < term.odds_ratio.upper


def test_firth_profile_ci_is_scale_invariant() -> None:
    """lab x 1000 divides the log-OR and its profile limits by 1000 and leaves P and the other terms alone."""
    d = pd.read_csv(REF / "data" / "robust_firth.csv")
    a = rs.logistic(d, "y", ["trt", "lab"])
    b = rs.logistic(d.assign(lab=d["lab"] * 1000), "y", ["trt", "lab"])
    for x, y in ((a.terms["lab"].coef, b.terms["lab"].coef * 1000),
                 (math.log(a.terms["lab"].odds_ratio.lower), math.log(b.terms["lab"].odds_ratio.lower) * 1000),
                 (math.log(a.terms["lab"].odds_ratio.upper), math.log(b.terms["lab"].odds_ratio.upper) * 1000),
                 (a.terms["lab"].p, b.terms["lab"].p),
                 (a.terms["trt"].odds_ratio.upper, b.terms["trt"].odds_ratio.upper)):
        assert math.isclose(x, y, rel_tol=1e-8)


def test_design_names_what_it_leaves_out() -> None:
    d = _cox_data().assign(allna=np.nan, one="X", partly=lambda f: np.where(f["ecog"].isna(), np.nan, 5.0))
    des = design(d, ["age", "site", "region", "ecog", "allna", "one", "partly"])
    assert des.dropped_terms == {"site": "constant (value 3 in all 223 subjects)",
                                 "allna": "missing for all 240 subjects",
                                 "one": "one level only (X in all 223 subjects)",
                                 "partly": "constant (value 5 in all 223 subjects)"}
    assert des.names == ["age", "region=B", "region=C", "ecog"]
    assert des.adjusted_for == ["age", "region", "ecog"]
    assert des.reference_levels == {"region": "A"} and des.columns["region"] == ["region=B", "region=C"]
    assert des.columns["site"] == []
    # subjects are excluded only for covariates in the model (ecog 12, region 7, 2 missing both)
    assert des.excluded_rows == 17 and des.missing == {"age": 0, "region": 7, "ecog": 12}
    assert len(des.frame) == 240 - 17
    assert "site not in the model: constant" in des.note
    assert "17 subject(s) with missing covariates excluded (age 0, region 7, ecog 12)" not in des.note
    assert "17 subject(s) with missing covariates excluded (region 7, ecog 12)" in des.note
    frame, names, dropped = design_matrix(d, ["age", "site", "region", "ecog"])
    assert names == des.names and dropped == 17 and frame.equals(des.frame)
    # a covariate dropped for being constant does not cost its missing subjects
    alone = design(d, ["age", "partly"])
    assert alone.excluded_rows == 0 and alone.adjusted_for == ["age"] and "partly" in alone.dropped_terms
    nothing = design(d, ["age"])
    assert nothing.dropped_terms == {} and nothing.note == "" and nothing.excluded_rows == 0

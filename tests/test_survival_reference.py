"""KM, Brookmeyer–Crowley CIs, log-rank and Cox against R `survival` (tests/reference/r/*.R).

The expected numbers were produced by the R scripts beside them (tests/reference/README.md) on
public datasets shipped with lifelines; the suite needs no R to run.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialpress.analysis import survival as sv
from trialpress.analysis.cells import cells

REF = Path(__file__).parent / "reference"
REL = 1e-6


def expected(name: str) -> dict:
    return json.loads((REF / "expected" / f"{name}.json").read_text())


def dataset(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "data" / f"{name}.csv")


def close(ours: float, theirs: float | None, rel: float = REL) -> bool:
    if theirs is None:
        return math.isnan(ours)
    return math.isclose(ours, theirs, rel_tol=rel, abs_tol=1e-9)


KM_CASES = [("lung_sex", "lung", "time", "status", "sex"), ("leukemia_rx", "leukemia", "t", "status", "Rx"),
            ("edge_noevents", "edge_noevents", "time", "status", "group"),
            ("edge_notreached", "edge_notreached", "time", "status", "group")]


@pytest.mark.parametrize("key,data,tcol,ecol,gcol", KM_CASES)
def test_km_quantiles_and_rates_match_r(key: str, data: str, tcol: str, ecol: str, gcol: str) -> None:
    exp = expected("km")[key]
    df = dataset(data)
    for level, g in exp["groups"].items():
        sub = df[df[gcol].astype(str) == level]
        curve = sv.kaplan_meier(sub[tcol].to_numpy(), sub[ecol].to_numpy())
        assert curve.n == g["n"] and curve.events == g["events"]
        for name, prob in (("median", 0.5), ("q25", 0.25), ("q75", 0.75)):
            est = sv.km_quantile(curve, prob)
            want = g[name]
            assert close(est.value, want["est"]), (key, level, name, est, want)
            assert close(est.lower, want["lower"]), (key, level, name, "lower", est, want)
            assert close(est.upper, want["upper"]), (key, level, name, "upper", est, want)
        for rate in g["rates"]:
            est, n_risk = sv.km_at(curve, rate["time"])
            assert n_risk == rate["n_risk"], (key, level, rate)
            assert close(est.value, rate["surv"]), (key, level, rate)
            if rate["lower"] is not None:  # R gives NA bands where S is 0 or 1 after an observed time
                assert close(est.lower, rate["lower"]) and close(est.upper, rate["upper"]), (key, level, rate, est)
        table = sv.risk_table(curve, np.array([r["time"] for r in g["risk_table"]], dtype=float))
        assert table["at_risk"].tolist() == [r["n_risk"] for r in g["risk_table"]]
        assert table["events"].tolist() == [r["cum_events"] for r in g["risk_table"]]
        assert table["censored"].tolist() == [r["cum_censored"] for r in g["risk_table"]]
        fu = sv.km_quantile(sv.kaplan_meier(sub[tcol].to_numpy(), 1 - sub[ecol].to_numpy()), 0.5)
        want = g["followup_reverse_km"]
        assert close(fu.value, want["est"]) and close(fu.lower, want["lower"]) and close(fu.upper, want["upper"])


LR_CASES = [("lung_sex", "lung", "time", "status", "sex", None), ("leukemia_rx", "leukemia", "t", "status", "Rx", None),
            ("rossi_fin", "rossi", "week", "arrest", "fin", None),
            ("lung_sex_strata_ecog", "lung", "time", "status", "sex", "ph.ecog"),
            ("rossi_fin_strata_wexp", "rossi", "week", "arrest", "fin", "wexp"),
            ("edge_noevents", "edge_noevents", "time", "status", "group", None)]


@pytest.mark.parametrize("key,data,tcol,ecol,gcol,scol", LR_CASES)
def test_logrank_matches_r_survdiff(key: str, data: str, tcol: str, ecol: str, gcol: str, scol: str | None) -> None:
    exp = expected("logrank")[key]
    df = dataset(data)
    if scol:
        df = df[df[scol].notna()]
    res = sv.logrank(df[tcol].to_numpy(), df[ecol].to_numpy(), df[gcol].astype(str).to_numpy(),
                     strata=df[scol].to_numpy() if scol else None)
    assert close(res.chisq, exp["chisq"]) and close(res.p, exp["p"]), (res, exp)
    levels = sorted(exp["groups"])
    assert np.allclose(res.observed, [exp["groups"][lv]["observed"] for lv in levels])
    assert np.allclose(res.expected, [exp["groups"][lv]["expected"] for lv in levels], rtol=1e-9)


COX_CASES = [("lung_sex", "lung", "time", "status", "sex", 2), ("rossi_fin", "rossi", "week", "arrest", "fin", 1),
             ("leukemia_rx", "leukemia", "t", "status", "Rx", 1)]


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("key,data,tcol,ecol,gcol,level", COX_CASES)
def test_cox_two_groups_matches_r(ties: str, key: str, data: str, tcol: str, ecol: str, gcol: str, level: int) -> None:
    exp = expected("cox")["two_group"][ties][key]
    df = dataset(data)
    df = df.assign(x=(df[gcol] == level).astype(float))
    fit = sv.cox(df, tcol, ecol, ["x"], ties=ties)
    t = fit.terms["x"]
    for ours, theirs in ((t.coef, exp["coef"]), (t.se, exp["se"]), (t.hr.value, exp["hr"]),
                         (t.hr.lower, exp["lower"]), (t.hr.upper, exp["upper"]), (t.p, exp["p"]),
                         (fit.lr_chisq, exp["lr"]["stat"])):
        assert close(ours, theirs, 1e-6), (key, ties, ours, theirs)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_stratified_matches_r(ties: str) -> None:
    suffix = "" if ties == "efron" else "_breslow"
    exp = expected("cox")["stratified"]
    lung = dataset("lung").dropna(subset=["ph.ecog"]).assign(x=lambda d: (d["sex"] == 2).astype(float))
    fit = sv.cox(lung, "time", "status", ["x"], strata=["ph.ecog"], ties=ties)
    want = next(iter(exp[f"lung_sex_strata_ecog{suffix}"]["coefficients"].values()))
    assert close(fit.terms["x"].hr.value, want["hr"], 1e-6) and close(fit.terms["x"].hr.upper, want["upper"], 1e-6)
    rossi = dataset("rossi").assign(x=lambda d: d["fin"].astype(float))
    fit = sv.cox(rossi, "week", "arrest", ["x"], strata=["wexp"], ties=ties)
    want = exp[f"rossi_fin_strata_wexp{suffix}"]["coefficients"]["fin"]
    assert close(fit.terms["x"].coef, want["coef"], 1e-6) and close(fit.terms["x"].p, want["p"], 1e-6)


def test_cox_adjusted_matches_r() -> None:
    exp = expected("cox")["rossi_adjusted"]["coefficients"]
    rossi = dataset("rossi").astype(float)
    cols = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
    fit = sv.cox(rossi, "week", "arrest", cols)
    for c in cols:
        assert close(fit.terms[c].hr.value, exp[c]["hr"], 1e-6), c
        assert close(fit.terms[c].hr.lower, exp[c]["lower"], 1e-6), c
        assert close(fit.terms[c].p, exp[c]["p"], 1e-6), c


def test_cox_interaction_wald_p_matches_r() -> None:
    exp = expected("cox")["lung_interaction"]
    lung = dataset("lung").dropna(subset=["ph.ecog"])
    d = pd.DataFrame({"time": lung["time"], "status": lung["status"], "sex": (lung["sex"] == 2).astype(float),
                      "ecog": (lung["ph.ecog"] >= 1).astype(float)})
    d["inter"] = d["sex"] * d["ecog"]
    raw = sv.cox_fit_raw(d, "time", "status", ["sex", "ecog", "inter"])
    assert raw is not None
    beta, cov = raw
    from scipy import stats

    p = float(stats.chi2.sf(beta[2] ** 2 / cov[2, 2], 1))
    assert close(p, exp["wald_p_interaction"], 1e-6)


def test_cox_group_without_events_is_not_estimable() -> None:
    df = dataset("edge_noevents").assign(x=lambda d: (d["group"] == "B").astype(float))
    fit = sv.cox(df, "time", "status", ["x"], not_estimable={"x": "no events in group B"})
    assert math.isnan(fit.terms["x"].hr.value) and "no events" in fit.terms["x"].hr.note


# Heavy ties and duplicated rows (tests/reference/r/cox_ties.R): the fit collapses identical rows into
# weighted cells and does Efron's correction per distinct event time; R fits the rows one by one.
TIES_CASES = [("strata_age", "cox_ties", ["trt", "sub", "age"], ["site"], "time"),
              ("two_strata", "cox_ties", ["trt", "age"], ["site", "region"], "time"),
              ("interaction", "cox_ties", ["trt", "sub", "trt_sub"], None, "time_wk"),
              ("replicated", "cox_replicated", ["trt", "sub", "trt_sub"], None, "time"),
              ("replicated_strata", "cox_replicated", ["trt", "sub"], ["stratum"], "time")]
TIGHT = 1e-10


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("key,data,cols,strata,tcol", TIES_CASES)
def test_cox_heavy_ties_and_duplicates_match_r(ties: str, key: str, data: str, cols: list[str],
                                               strata: list[str] | None, tcol: str) -> None:
    exp = expected("cox_ties")[ties][key]
    df = dataset(data)
    fit = sv.cox(df, tcol, "status", cols, strata=strata, ties=ties)
    assert fit.n == exp["n"] and fit.events == exp["nevent"] and not fit.warnings and not fit.note
    for c in cols:
        assert math.isclose(fit.terms[c].coef, exp["coef"][c], rel_tol=TIGHT), (key, ties, c)
        assert math.isclose(fit.terms[c].se, exp["se"][c], rel_tol=TIGHT), (key, ties, c)
    ll0, ll = exp["loglik"]
    assert math.isclose(fit.loglik, ll, rel_tol=TIGHT) and math.isclose(fit.lr_chisq, exp["lr"], rel_tol=TIGHT)
    assert math.isclose(fit.loglik - fit.lr_chisq / 2, ll0, rel_tol=TIGHT)
    raw = sv.cox_fit_raw(df, tcol, "status", cols, strata=strata, ties=ties)
    assert raw is not None
    np.testing.assert_allclose(raw[1], np.array(exp["vcov"]), rtol=1e-9, atol=0)


def test_cox_duplicated_rows_count_as_subjects() -> None:
    """Breslow: doubling every row keeps the estimate, divides the SE by √2 and maps the log-likelihood l to
    2·(l − d·log 2) (each of the d events counts twice, against a risk set twice as large).

    (Efron's correction is not invariant to doubling: it changes with the number of tied events.)
    """
    df = dataset("cox_ties")
    once = sv.cox(df, "time", "status", ["trt", "sub", "age"], strata=["site"], ties="breslow")
    twice = sv.cox(pd.concat([df, df.iloc[::-1]]), "time", "status", ["trt", "sub", "age"], strata=["site"],
                   ties="breslow")
    assert twice.n == 2 * once.n and twice.events == 2 * once.events
    assert math.isclose(twice.loglik, 2 * (once.loglik - once.events * math.log(2)), rel_tol=1e-12)
    for c in ("trt", "sub", "age"):
        assert math.isclose(twice.terms[c].coef, once.terms[c].coef, rel_tol=1e-9)
        assert math.isclose(twice.terms[c].se * math.sqrt(2), once.terms[c].se, rel_tol=1e-9)


@pytest.mark.parametrize("n,kinds", [(2000, "bbif"), (300, "ffffff"), (5000, "b" * 80), (50, "i" + "f" * 10)])
def test_cells_number_distinct_rows_in_lexicographic_order(n: int, kinds: str) -> None:
    """cells() against np.unique(axis=0); b = 0/1, i = small integers, f = hashed floats. The first case is
    counted by bincount, the others pass its bound and are sorted; "b" * 80 also overflows the 62-bit code."""
    rng = np.random.default_rng(n)
    cols = [rng.integers(0, 2, n).astype(float) if k == "b" else rng.integers(-3, 40, n) if k == "i"
            else rng.normal(size=n).round(1) for k in kinds]
    cols += [-np.abs(cols[0])]  # -0.0 and 0.0 are the same value
    cell, counts = cells(cols, n)
    _, inverse, want = np.unique(np.column_stack(cols) + 0.0, axis=0, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(cell, inverse.ravel())
    np.testing.assert_array_equal(counts, want)

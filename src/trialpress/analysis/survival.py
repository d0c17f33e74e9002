"""Kaplan–Meier, Brookmeyer–Crowley quantile CIs, log-rank and Cox models.

Conventions (stated in every report's methods):
- KM with Greenwood variance; pointwise 95% CI on the log(-log S) scale (SAS PROC LIFETEST and
  R `survfit(conf.type = "log-log")`).
- Quantiles (median, 25th, 75th) and their CIs by Brookmeyer–Crowley: the CI is the set of times
  whose pointwise log-log band contains the quantile. Where S(t) equals the quantile on a flat
  stretch the estimate is the midpoint of that stretch, exactly as R `quantile.survfit`.
- Log-rank test (optionally stratified: O − E and variances summed over strata).
- Cox proportional hazards with Efron (default) or Breslow ties, Wald CI and P.
Numbers only: nothing here formats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from trialpress.analysis.cells import cells, unique_inverse

TOL = math.sqrt(np.finfo(float).eps)


@dataclass(frozen=True)
class KMCurve:
    """A KM estimate at each distinct observed time (events and censorings)."""

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n: int

    @property
    def events(self) -> int:
        return int(self.n_event.sum())


@dataclass(frozen=True)
class Estimate:
    """A point estimate with CI; NaN means not estimable and `note` says why."""

    value: float
    lower: float = math.nan
    upper: float = math.nan
    note: str = ""


def kaplan_meier(time: np.ndarray, event: np.ndarray, conf_level: float = 0.95) -> KMCurve:
    """KM estimate with Greenwood SE and log-log pointwise CI (R survfit, conf.type='log-log')."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    n = time.size
    if n == 0:
        empty = np.array([], dtype=float)
        return KMCurve(empty, empty, empty, empty, empty, empty, empty, 0)
    uniq, inv = unique_inverse(time)
    d = np.bincount(inv, weights=event, minlength=uniq.size)
    tot = np.bincount(inv, minlength=uniq.size).astype(float)
    at_risk = np.cumsum(tot[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - d / at_risk)
        greenwood = np.cumsum(np.where(at_risk > d, d / (at_risk * (at_risk - d)), np.inf * (d > 0)))
    se = np.sqrt(greenwood)  # SE of the cumulative hazard (R's std.err)
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
        se2 = z * se / np.log(xx)
        lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
        upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
    lower = np.where(surv == 1, 1.0, lower)
    upper = np.where(surv == 1, 1.0, upper)
    return KMCurve(uniq, at_risk, d, tot - d, surv, lower, upper, n)


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float = TOL) -> float:
    """R survival:::findq for one probability: first x where the cumulative F = y reaches p."""
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return math.nan
    xmax = x[-1]
    # drop later duplicates of a value (NaN counts as a value, as in R's duplicated())
    keys = np.where(np.isnan(y), np.inf, y)
    _, first = np.unique(keys, return_index=True)
    keep = np.sort(first)
    x, y = x[keep], y[keep]
    valid = ~np.isnan(y)
    idx = np.flatnonzero(valid)
    yv = y[valid]

    def first_at_least(level: float) -> int | None:
        hit = np.flatnonzero(yv >= level)
        return int(idx[hit[0]]) if hit.size else None

    i1 = first_at_least(p - tol)
    i2 = first_at_least(p + tol)
    if i1 is None:
        return math.nan
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol:
        return float((x[i1] + xmax) / 2)
    if i2 is None:
        return math.nan
    return float((x[i1] + x[i2]) / 2)


def km_quantile(curve: KMCurve, prob: float = 0.5) -> Estimate:
    """Time by which a fraction `prob` has had the event (0.5 = median), Brookmeyer–Crowley CI."""
    if curve.n == 0:
        return Estimate(math.nan, note="no subjects")
    x = np.concatenate([[0.0], curve.time])
    est = _findq(x, np.concatenate([[0.0], 1 - curve.surv]), prob)
    lo = _findq(x, np.concatenate([[0.0], 1 - curve.lower]), prob)
    hi = _findq(x, np.concatenate([[0.0], 1 - curve.upper]), prob)
    note = ("no events" if curve.events == 0 else "not reached") if math.isnan(est) else ""
    return Estimate(est, lo, hi, note)


def km_at(curve: KMCurve, t: float) -> tuple[Estimate, int]:
    """KM survival with CI at time `t`, and the number at risk at `t` (R summary(times=, extend=TRUE))."""
    if curve.n == 0:
        return Estimate(math.nan, note="no subjects"), 0
    i = np.searchsorted(curve.time, t, side="right") - 1
    n_risk = _n_risk_at(curve, t)
    if i < 0:
        return Estimate(1.0, 1.0, 1.0), n_risk
    lo = float(curve.lower[i])
    hi = float(curve.upper[i])
    return Estimate(float(curve.surv[i]), lo, hi), n_risk


def _n_risk_at(curve: KMCurve, t: float) -> int:
    j = np.searchsorted(curve.time, t, side="left")
    return int(curve.n_risk[j]) if j < curve.time.size else 0


def risk_table(curve: KMCurve, ticks: np.ndarray) -> pd.DataFrame:
    """At risk at each tick, and events and censorings accumulated up to each tick (KMunicate)."""
    ticks = np.asarray(ticks, dtype=float)
    at_risk = np.array([_n_risk_at(curve, t) for t in ticks], dtype=int)
    cum_e = np.concatenate([[0.0], np.cumsum(curve.n_event)])
    cum_c = np.concatenate([[0.0], np.cumsum(curve.n_censor)])
    k = np.searchsorted(curve.time, ticks, side="right")
    return pd.DataFrame({"time": ticks, "at_risk": at_risk,
                         "events": cum_e[k].astype(int), "censored": cum_c[k].astype(int)})


# --------------------------------------------------------------------------------------- log-rank
@dataclass(frozen=True)
class LogRank:
    chisq: float
    df: int
    p: float
    observed: np.ndarray
    expected: np.ndarray
    note: str = ""


def logrank(time: np.ndarray, event: np.ndarray, group: np.ndarray, strata: np.ndarray | None = None) -> LogRank:
    """K-sample log-rank test (R survdiff, rho = 0), stratified when `strata` is given."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    levels, gcode = unique_inverse(np.asarray(group))
    g = levels.size
    o_minus_e = np.zeros(g)
    observed = np.zeros(g)
    expected = np.zeros(g)
    var = np.zeros((g, g))
    slevels, scodes = ((np.zeros(1), np.zeros(time.size, dtype=int)) if strata is None
                       else unique_inverse(np.asarray(strata)))
    for s in range(slevels.size):
        m = scodes == s
        t, e, gc = time[m], event[m], gcode[m]
        uniq, inv = unique_inverse(t)
        k = uniq.size
        flat = inv * g + gc
        tot = np.bincount(flat, minlength=k * g).reshape(k, g).astype(float)
        dk = np.bincount(flat, weights=e, minlength=k * g).reshape(k, g)
        n_risk = np.cumsum(tot[::-1], axis=0)[::-1]
        big_n = n_risk.sum(axis=1)
        big_d = dk.sum(axis=1)
        use = big_d > 0
        n_risk, dk, big_n, big_d = n_risk[use], dk[use], big_n[use], big_d[use]
        exp_k = big_d[:, None] * n_risk / big_n[:, None]
        observed += dk.sum(axis=0)
        expected += exp_k.sum(axis=0)
        o_minus_e += (dk - exp_k).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(big_n > 1, big_d * (big_n - big_d) / (big_n - 1), 0.0)
        frac = n_risk / big_n[:, None]
        var += _lr_var(w, frac)
    if g < 2:
        return LogRank(math.nan, 0, math.nan, observed, expected, "only one group")
    sub = slice(1, g)
    v = var[sub, sub]
    u = o_minus_e[sub]
    try:
        chisq = float(u @ np.linalg.solve(v, u))
    except np.linalg.LinAlgError:
        return LogRank(math.nan, g - 1, math.nan, observed, expected, "variance is singular (no events?)")
    return LogRank(chisq, g - 1, float(stats.chi2.sf(chisq, g - 1)), observed, expected)


def _lr_var(w: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Σ_k w_k (diag(f_k) − f_k f_kᵀ): the log-rank covariance of O − E."""
    diag = np.diag((w[:, None] * frac).sum(axis=0))
    outer = np.einsum("k,kg,kh->gh", w, frac, frac)
    return diag - outer


# ------------------------------------------------------------------------------------------ Cox
@dataclass(frozen=True)
class CoxTerm:
    term: str
    coef: float
    se: float
    hr: Estimate
    z: float
    p: float


@dataclass(frozen=True)
class CoxResult:
    terms: dict[str, CoxTerm]
    n: int
    events: int
    loglik: float
    lr_chisq: float
    lr_df: int
    lr_p: float
    ties: str
    note: str = ""
    warnings: tuple[str, ...] = field(default=())


def cox(frame: pd.DataFrame, duration: str, event: str, covariates: list[str], *,
        strata: list[str] | None = None, ties: str = "efron", conf_level: float = 0.95,
        not_estimable: dict[str, str] | None = None) -> CoxResult:
    """Cox PH fit (Efron or Breslow ties, optional strata) with Wald CIs and P and the LR test.

    `covariates` are numeric columns already dummy-coded. Terms listed in `not_estimable`
    (term → reason) are 0/1 group indicators whose HR cannot exist (a group without subjects or
    events): they are reported as NE, their subjects leave the model, and the other terms are fitted.
    """
    data = frame[[duration, event, *covariates, *(strata or [])]]
    ne = not_estimable or {}
    nan_hr = {c: CoxTerm(c, math.nan, math.nan, Estimate(math.nan, note=ne.get(c, "not estimable")),
                         math.nan, math.nan) for c in covariates}
    for term in ne:
        data = data[data[term] == 0]
    fitted = [c for c in covariates if c not in ne]
    n, n_events = len(data), int(data[event].sum())
    if not fitted or n_events == 0:
        note = "; ".join(sorted(set(ne.values()))) or "no events"
        return CoxResult(nan_hr, n, n_events, math.nan, math.nan, len(covariates), math.nan, ties, note)
    fit = _fit(data, duration, event, fitted, strata, ties)
    if fit is None:
        failed = {c: CoxTerm(c, math.nan, math.nan, Estimate(math.nan, note=ne.get(c, "model did not converge")),
                             math.nan, math.nan) for c in covariates}
        return CoxResult(failed, n, n_events, math.nan, math.nan, len(covariates), math.nan, ties,
                         "model did not converge")
    beta, cov, ll, ll0, warn = fit
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    terms = dict(nan_hr)
    for i, c in enumerate(fitted):
        se = math.sqrt(cov[i, i])
        zval = beta[i] / se
        terms[c] = CoxTerm(c, float(beta[i]), se,
                           Estimate(math.exp(beta[i]), math.exp(beta[i] - z * se), math.exp(beta[i] + z * se)),
                           zval, float(2 * stats.norm.sf(abs(zval))))
    lr = 2 * (ll - ll0)
    note = "; ".join(f"{t}: {why}" for t, why in sorted(ne.items()))
    return CoxResult(terms, n, n_events, ll, lr, len(fitted), float(stats.chi2.sf(lr, len(fitted))), ties, note,
                     warnings=warn)


def cox_fit_raw(frame: pd.DataFrame, duration: str, event: str, covariates: list[str], *,
                strata: list[str] | None = None, ties: str = "efron") -> tuple[np.ndarray, np.ndarray] | None:
    """Coefficients and their covariance matrix (for Wald tests of several terms), or None if it fails."""
    fit = _fit(frame[[duration, event, *covariates, *(strata or [])]], duration, event, covariates, strata, ties)
    return None if fit is None else (fit[0], fit[1])


def _fit(data: pd.DataFrame, duration: str, event: str, covariates: list[str], strata: list[str] | None,
         ties: str) -> tuple[np.ndarray, np.ndarray, float, float, tuple[str, ...]] | None:
    """Newton–Raphson with step halving on the partial likelihood (R coxph's algorithm and tolerance).

    The likelihood is evaluated on collapsed, weighted cells (`_Cells`), so a fit at 10^6 rows costs
    one O(n) pass plus a few O(cells + events) iterations.
    """
    if ties not in {"efron", "breslow"}:
        raise ValueError(f"unknown ties method {ties!r}")
    x = data[covariates].to_numpy(float)
    t = data[duration].to_numpy(float)
    d = data[event].to_numpy(float) > 0
    if not d.any():
        return None  # no events: the information matrix is zero (singular)
    skey = cells([pd.factorize(data[s], use_na_sentinel=False)[0] for s in strata or []], len(data))[0]  # NaN: a level
    evaluate = _Cells(skey, t, d, x, ties == "efron").evaluate

    beta = np.zeros(x.shape[1])
    ll0, grad, hess = evaluate(beta)
    ll = ll0
    converged = False
    for _ in range(30):
        try:
            step = np.linalg.solve(-hess, grad)
        except np.linalg.LinAlgError:
            return None
        new = beta + step
        ll_new, g_new, h_new = evaluate(new)
        halvings = 0
        while (not np.isfinite(ll_new) or ll_new < ll - 1e-12) and halvings < 20:
            step /= 2
            new = beta + step
            ll_new, g_new, h_new = evaluate(new)
            halvings += 1
        done = abs(ll_new - ll) <= 1e-9 * abs(ll_new) + 1e-12
        beta, ll, grad, hess = new, ll_new, g_new, h_new
        if done:
            converged = True
            break
    try:
        cov = np.linalg.inv(-hess)
    except np.linalg.LinAlgError:
        return None
    warn: tuple[str, ...] = () if converged else ("partial likelihood did not converge in 30 iterations",)
    if np.any(np.abs(beta) > 20) or not np.all(np.isfinite(cov)):
        return None
    return beta, cov, float(ll), float(ll0), warn


class _Cells:
    """Subjects collapsed into weighted cells, sorted so that one likelihood evaluation is cheap.

    Rows identical in (stratum, time, event, covariates) contribute identically, so they are merged
    once into a cell of weight w = count. Risk-set sums S0, S1, S2 change only at distinct times, and
    Efron's correction needs of the D tied events at a time only their sums E0, E1, E2 and D itself:
    with f_l = l/D and den_l = S0 − f_l·E0 (l = 0..D−1) every l-sum is a scalar per event. One
    evaluation therefore costs O(cells·p² + events) instead of O(n·p²) (Breslow: f_l = 0, no l-sums).
    Work arrays are allocated once per fit, not per evaluation.
    """

    def __init__(self, skey: np.ndarray, t: np.ndarray, d: np.ndarray, x: np.ndarray, efron: bool) -> None:
        cell, counts = cells([skey, -t, ~d, *x.T], t.size)  # cells sorted by stratum, time desc, events first
        rep = np.empty(counts.size, np.intp)
        rep[cell] = np.arange(t.size)  # any row of a cell represents it: its rows are identical
        s, t, d, xt = skey[rep], t[rep], d[rep], x[rep].T
        self.p, self.w = x.shape[1], counts.astype(float)
        self.iu = np.triu_indices(self.p)
        self.z = np.concatenate([xt, xt[self.iu[0]] * xt[self.iu[1]]])  # per cell: x, then x xᵀ (upper triangle)
        self.m = np.empty((1 + len(self.z), counts.size))  # w·exp(η)·(1, z)
        # sub-blocks of equal (stratum, time, event) and, grouping those, time blocks of equal (stratum, time)
        new_time = np.r_[True, (s[1:] != s[:-1]) | (t[1:] != t[:-1])]
        self.sub_start = np.flatnonzero(new_time | np.r_[True, d[1:] != d[:-1]])
        sub_time = np.cumsum(new_time)[self.sub_start] - 1
        self.time_first_sub = np.flatnonzero(np.r_[True, sub_time[1:] != sub_time[:-1]])
        self.ev_sub = np.flatnonzero(d[self.sub_start])  # sub-block of the events at each distinct event time
        self.ev_time = sub_time[self.ev_sub]  # and its time block
        time_stratum = s[new_time]
        self.strata_bounds = np.flatnonzero(np.r_[True, time_stratum[1:] != time_stratum[:-1], True])
        self.ev = np.flatnonzero(d)
        self.x_ev_sum = np.einsum("ij,j->i", self.z[:self.p, self.ev], self.w[self.ev])  # Σ w·x over event cells
        self.n_tied = np.add.reduceat(self.w, self.sub_start)[self.ev_sub]  # D per distinct event time
        counts = self.n_tied.astype(np.intp)
        self.frac: np.ndarray | None = None
        if efron and np.any(counts > 1):  # without ties Efron is Breslow
            self.l_start = np.r_[0, np.cumsum(counts)[:-1]]
            self.l_time = np.repeat(np.arange(counts.size), counts)  # distinct event time of each l
            self.frac = (np.arange(self.l_time.size) - self.l_start[self.l_time]) / self.n_tied[self.l_time]
            self.buf = np.empty((6, self.l_time.size))

    def evaluate(self, b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        p, m = self.p, self.m
        eta = np.einsum("i,ij->j", b, self.z[:p])
        np.exp(eta, out=m[0])
        m[0] *= self.w
        np.multiply(m[0], self.z, out=m[1:])
        sub = np.add.reduceat(m, self.sub_start, axis=1)
        risk = np.add.reduceat(sub, self.time_first_sub, axis=1)
        for lo, hi in zip(self.strata_bounds[:-1], self.strata_bounds[1:]):
            np.cumsum(risk[:, lo:hi], axis=1, out=risk[:, lo:hi])  # risk set = everyone with time >= t
        s, e = risk[:, self.ev_time], sub[:, self.ev_sub]
        s0, s1, e0, e1 = s[0], s[1:p + 1], e[0], e[1:p + 1]
        if self.frac is None:  # Breslow: D identical terms
            dd = self.n_tied
            log_den, inv, inv2 = dd * np.log(s0), dd / s0, dd / s0**2
            f_inv = f_inv2 = ff_inv2 = np.zeros_like(s0)
        else:
            f, at = self.frac, self.l_time
            den, i1, fi1, i2, fi2, ffi2 = self.buf
            np.take(e0, at, out=i1, mode="clip")
            np.take(s0, at, out=den, mode="clip")
            i1 *= f
            den -= i1  # den_l = S0 − f_l·E0
            np.divide(1.0, den, out=i1)
            np.multiply(f, i1, out=fi1)
            np.multiply(i1, i1, out=i2)
            np.multiply(f, i2, out=fi2)
            np.multiply(f, fi2, out=ffi2)
            np.log(den, out=den)
            log_den, inv, f_inv, inv2, f_inv2, ff_inv2 = np.add.reduceat(self.buf, self.l_start, axis=1)
        ll = float(b @ self.x_ev_sum - log_den.sum())  # Σ w·η over event cells − Σ log den
        mean = np.einsum("ij,j->i", s[1:], inv) - np.einsum("ij,j->i", e[1:], f_inv)  # Σ_l (S − f_l·E)/den_l
        second = np.empty((p, p))
        second[self.iu] = mean[p:]
        second.T[self.iu] = mean[p:]
        cross = np.einsum("ij,kj,j->ik", s1, e1, f_inv2)
        outer = (np.einsum("ij,kj,j->ik", s1, s1, inv2) - cross - cross.T
                 + np.einsum("ij,kj,j->ik", e1, e1, ff_inv2))
        return ll, self.x_ev_sum - mean[:p], outer - second

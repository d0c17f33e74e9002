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
    uniq, inv = np.unique(time, return_inverse=True)
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
    levels, gcode = np.unique(np.asarray(group), return_inverse=True)
    g = levels.size
    o_minus_e = np.zeros(g)
    observed = np.zeros(g)
    expected = np.zeros(g)
    var = np.zeros((g, g))
    scodes = np.zeros(time.size, dtype=int) if strata is None else np.unique(np.asarray(strata), return_inverse=True)[1]
    for s in np.unique(scodes):
        m = scodes == s
        t, e, gc = time[m], event[m], gcode[m]
        uniq, inv = np.unique(t, return_inverse=True)
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
    """Newton–Raphson with step halving on the partial likelihood (R coxph's algorithm and tolerance)."""
    if ties not in {"efron", "breslow"}:
        raise ValueError(f"unknown ties method {ties!r}")
    x = data[covariates].to_numpy(float)
    t = data[duration].to_numpy(float)
    d = data[event].to_numpy(float) > 0
    skey = (np.zeros(len(data), int) if not strata else pd.MultiIndex.from_frame(data[strata]).factorize()[0])
    blocks = [_RiskSets(t[m], d[m], x[m], ties == "efron") for m in (skey == s for s in np.unique(skey))]

    def evaluate(b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        ll, grad, hess = 0.0, np.zeros_like(b), np.zeros((b.size, b.size))
        for blk in blocks:
            l_, g_, h_ = blk.evaluate(b)
            ll, grad, hess = ll + l_, grad + g_, hess + h_
        return ll, grad, hess

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


class _RiskSets:
    """Sorted data of one stratum and the index bookkeeping of its distinct event times."""

    def __init__(self, t: np.ndarray, d: np.ndarray, x: np.ndarray, efron: bool) -> None:
        order = np.argsort(-t, kind="stable")
        self.t, self.d, self.x = t[order], d[order], x[order]
        ev = np.flatnonzero(self.d)
        self.ev = ev
        # risk set at an event time: everyone with time >= it = rows up to the end of its tied block
        last = np.searchsorted(-self.t, -self.t, side="right") - 1
        times, first_idx, inverse, counts = np.unique(self.t[ev], return_index=True, return_inverse=True,
                                                      return_counts=True)
        self.k_of_event = inverse                         # distinct-event-time index of each event row
        self.k_last = last[ev][first_idx]                 # risk-set end per distinct event time
        self.counts = counts
        # one term per event: Efron subtracts l/D of the tied events' sums, l = 0..D-1
        rank = np.zeros(ev.size)
        if efron:
            order_k = np.argsort(inverse, kind="stable")
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            rank[order_k] = np.arange(ev.size) - np.repeat(starts, counts)
            self.frac = rank / counts[inverse]
        else:
            self.frac = rank
        self.n_k = times.size

    def evaluate(self, b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        x, ev, k = self.x, self.ev, self.k_of_event
        eta = x @ b
        r = np.exp(eta)
        xr = r[:, None] * x
        s0 = np.cumsum(r)[self.k_last]
        s1 = np.cumsum(xr, axis=0)[self.k_last]
        s2 = np.cumsum(xr[:, :, None] * x[:, None, :], axis=0)[self.k_last]
        # sums over the tied events of each distinct time
        e0 = np.bincount(k, weights=r[ev], minlength=self.n_k)
        e1 = np.stack([np.bincount(k, weights=xr[ev, j], minlength=self.n_k) for j in range(x.shape[1])], axis=1)
        xe = x[ev]
        outer = (r[ev][:, None, None] * xe[:, :, None] * xe[:, None, :]).reshape(ev.size, -1)
        e2 = np.stack([np.bincount(k, weights=outer[:, j], minlength=self.n_k) for j in range(outer.shape[1])],
                      axis=1).reshape(s2.shape)
        f = self.frac
        den = s0[k] - f * e0[k]
        mu = (s1[k] - f[:, None] * e1[k]) / den[:, None]
        ll = float(np.sum(eta[ev]) - np.sum(np.log(den)))
        grad = np.sum(xe, axis=0) - np.sum(mu, axis=0)
        second = (s2[k] - f[:, None, None] * e2[k]) / den[:, None, None]
        hess = -np.sum(second - mu[:, :, None] * mu[:, None, :], axis=0)
        return ll, grad, hess

"""Kaplan–Meier, Brookmeyer–Crowley quantile CIs, log-rank and Cox models.

Conventions (stated in every report's methods):
- KM with Greenwood variance; pointwise 95% CI on the log(-log S) scale (SAS PROC LIFETEST and
  R `survfit(conf.type = "log-log")`).
- Quantiles (median, 25th, 75th) and their CIs by Brookmeyer–Crowley: the CI is the set of times
  whose pointwise log-log band contains the quantile. Where S(t) equals the quantile on a flat
  stretch the estimate is the midpoint of that stretch, exactly as R `quantile.survfit`.
- Log-rank test (optionally stratified: O − E and variances summed over strata).
- Cox proportional hazards with Efron (default) or Breslow ties, Wald CI and P, fitted as R coxph:
  covariates not coded -1/0/1 are centred on their mean and scaled by 1/(mean absolute deviation)
  before Newton–Raphson, and coefficients and covariance are transformed back (the HR is per unit of
  the covariate as given). Subjects missing a covariate or stratum are left out and counted; a term
  without information (constant, collinear) is left out and named; a coefficient that may be infinite
  by R's test (the next Newton step exceeds 1e-9 and sqrt(1e-9)·|coef| at convergence) is not estimable.
Numbers only: nothing here formats.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trialpress.analysis import distributions as dist
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
    z = dist.z_two_sided(conf_level)
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
    return LogRank(chisq, g - 1, dist.chi2_sf(chisq, g - 1), observed, expected)


def _lr_var(w: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Σ_k w_k (diag(f_k) − f_k f_kᵀ): the log-rank covariance of O − E."""
    diag = np.diag((w[:, None] * frac).sum(axis=0))
    outer = np.einsum("k,kg,kh->gh", w, frac, frac)
    return diag - outer


# ------------------------------------------------------------------------------------------ Cox
# R coxph's numerical conventions (survival 3.x coxph.fit / coxfit6.c / cholesky2.c / coxph.control):
EPS = 1e-9                               # coxph.control eps: relative change in the log partial likelihood
TOLER_CHOL = np.finfo(float).eps ** 0.75  # coxph.control toler.chol: pivot below it (x max pivot) = singular
TOLER_INF = math.sqrt(EPS)               # coxph.control toler.inf: the "coefficient may be infinite" test
MAX_ITER = 30
INFINITE_NOTE = "not estimable: coefficient may be infinite (the partial likelihood converged before it did)"
NO_CONVERGENCE_NOTE = "model did not converge"
SINGULAR_AT_ESTIMATE_NOTE = ("not estimable: coefficient may be infinite (its information vanished during the fit; "
                             "R reports NA)")


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
    """A Cox fit. Terms that have no HR carry NaN with the reason in `hr.note`, and are listed again:

    - `dropped`: term → reason, for the terms left out of the fit before it started (constant in the
      analysed subjects, constant within every stratum, collinear with other terms: R reports NA for these);
    - `not_estimable`: term → reason, for every term whose HR is NaN (the `not_estimable` argument, the
      dropped terms, and coefficients that may be infinite by R coxph's test);
    - `n_excluded`: subjects left out for a missing time, event, covariate or stratum, and `excluded`:
      variable → how many subjects miss it (a subject may miss several).
    """

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
    dropped: dict[str, str] = field(default_factory=dict)
    not_estimable: dict[str, str] = field(default_factory=dict)
    n_excluded: int = 0
    excluded: dict[str, int] = field(default_factory=dict)


def _nan_term(term: str, why: str) -> CoxTerm:
    return CoxTerm(term, math.nan, math.nan, Estimate(math.nan, note=why), math.nan, math.nan)


def _complete_cases(frame: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Rows with every column present (R's na.omit) and, per column, how many rows miss it."""
    columns = list(dict.fromkeys(columns))
    data = frame[columns]
    na = data.isna()
    excluded = {c: int(k) for c, k in na.sum().items() if k}
    return (data[~na.any(axis=1)] if excluded else data), excluded


def cox(frame: pd.DataFrame, duration: str, event: str, covariates: list[str], *,
        strata: list[str] | None = None, ties: str = "efron", conf_level: float = 0.95,
        not_estimable: dict[str, str] | None = None) -> CoxResult:
    """Cox PH fit (Efron or Breslow ties, optional strata) with Wald CIs and P and the LR test.

    `covariates` are numeric columns already dummy-coded. Terms listed in `not_estimable`
    (term → reason) are 0/1 group indicators whose HR cannot exist (a group without subjects or
    events): they are reported as NE, their subjects leave the model, and the other terms are fitted.

    Subjects missing the time, the event, a covariate or a stratum are left out (R's na.omit) and counted
    in `n_excluded` / `excluded`. A term with no information (constant, or collinear with earlier terms:
    R's NA coefficient) is left out of the fit and named in `dropped`; a coefficient that may be infinite
    (R coxph's test, see `_fit`) is reported as not estimable; both appear in `not_estimable` and the
    other terms keep their estimates.
    """
    data, excluded = _complete_cases(frame, [duration, event, *covariates, *(strata or [])])
    n_excluded = len(frame) - len(data)
    ne = dict(not_estimable or {})
    for term in ne:
        data = data[data[term] == 0]
    fitted = [c for c in covariates if c not in ne]
    n, n_events = len(data), int(data[event].sum())
    info = {"n_excluded": n_excluded, "excluded": excluded}
    if not fitted or n_events == 0:
        why = {c: ne.get(c, "no events" if n_events == 0 else "not estimable") for c in covariates}
        note = "; ".join(sorted(set(ne.values()))) or "no events"
        return CoxResult({c: _nan_term(c, why[c]) for c in covariates}, n, n_events, math.nan, math.nan,
                         len(covariates), math.nan, ties, note, not_estimable=why, **info)
    fit = _fit(data, duration, event, fitted, strata, ties)
    if fit is None:
        why = {c: ne.get(c, NO_CONVERGENCE_NOTE) for c in covariates}
        return CoxResult({c: _nan_term(c, why[c]) for c in covariates}, n, n_events, math.nan, math.nan,
                         len(covariates), math.nan, ties, NO_CONVERGENCE_NOTE, not_estimable=why, **info)
    z = dist.z_two_sided(conf_level)
    why = {**ne, **fit.dropped, **fit.infinite}
    terms = {}
    for c in covariates:
        if c in why:
            terms[c] = _nan_term(c, why[c])
            continue
        j = fitted.index(c)
        b, se = float(fit.beta[j]), math.sqrt(fit.cov[j, j])
        zval = b / se
        terms[c] = CoxTerm(c, b, se, Estimate(math.exp(b), math.exp(b - z * se), math.exp(b + z * se)),
                           zval, float(2 * dist.norm_sf(abs(zval))))
    df = fit.df
    lr = 2 * (fit.loglik - fit.loglik0)
    note = "; ".join(f"{t}: {why[t]}" for t in sorted(why))
    return CoxResult(terms, n, n_events, fit.loglik, lr, df, dist.chi2_sf(lr, df) if df else math.nan, ties,
                     note, warnings=fit.warnings, dropped=dict(fit.dropped), not_estimable=why, **info)


def cox_fit_raw(frame: pd.DataFrame, duration: str, event: str, covariates: list[str], *,
                strata: list[str] | None = None, ties: str = "efron") -> tuple[np.ndarray, np.ndarray] | None:
    """Coefficients and their covariance matrix (for Wald tests of several terms), or None if it fails.

    Complete cases only. None also when a term had to be dropped (no information) or its coefficient may
    be infinite: a Wald test involving it does not exist.
    """
    data, _ = _complete_cases(frame, [duration, event, *covariates, *(strata or [])])
    fit = _fit(data, duration, event, covariates, strata, ties)
    if fit is None or fit.dropped or fit.infinite:
        return None
    return fit.beta, fit.cov


@dataclass(frozen=True)
class _CoxFit:
    beta: np.ndarray            # per covariate, original scale (NaN where dropped)
    cov: np.ndarray             # original scale (NaN rows/columns where dropped)
    loglik: float
    loglik0: float
    warnings: tuple[str, ...]
    dropped: dict[str, str]     # term → why it was left out of the fit
    infinite: dict[str, str]    # term → why its coefficient is not estimable (may be infinite)
    df: int                     # coefficients R reports (not NA): the LR test's degrees of freedom


def _scaling(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R coxph's centring and scaling (coxfit6.c): a column not made only of -1, 0 and 1 is centred on its
    mean and multiplied by 1 / its mean absolute deviation (a constant one is only centred, on its value);
    other columns are left alone."""
    centre, scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
    for j in range(x.shape[1]):
        col = x[:, j]
        if np.isin(col, (-1.0, 0.0, 1.0)).all():
            continue
        if np.ptp(col) == 0:  # constant: centred on its value, so it is exactly 0 and singular
            centre[j] = col[0]
            continue
        centre[j] = col.mean()
        mad = np.abs(col - centre[j]).mean()
        scale[j] = 1.0 / mad if mad > 0 else 1.0
    return centre, scale


def _nonsingular(info: np.ndarray, toler: float = TOLER_CHOL) -> np.ndarray:
    """Columns R coxph keeps: survival's cholesky2 on the information matrix, in column order, marks a
    column singular when its pivot falls below toler × the largest diagonal element (its coefficient is NA)."""
    a = np.array(info, dtype=float)
    p = len(a)
    big = max(float(np.max(np.diag(a))) if p else 0.0, 0.0)
    eps = toler if big == 0 else big * toler
    keep = np.zeros(p, dtype=bool)
    for i in range(p):
        pivot = a[i, i]
        if not math.isfinite(pivot) or pivot < eps:
            continue
        keep[i] = True
        for j in range(i + 1, p):
            temp = a[j, i] / pivot
            a[j, i] = temp
            a[j, j] -= temp * temp * pivot
            a[j + 1:, j] -= temp * a[j + 1:, i]
    return keep


def _newton_step(hess: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """The Newton step V u, with V as coxph's chsolve2 after cholesky2: columns singular at this iterate get
    no step (R then reports their coefficient as NA)."""
    keep = _nonsingular(-hess)
    if keep.all():
        return np.linalg.solve(-hess, grad)
    step = np.zeros_like(grad)
    if keep.any():
        step[keep] = np.linalg.solve(-hess[np.ix_(keep, keep)], grad[keep])
    return step


def _singular_reason(x: np.ndarray, xs: np.ndarray, j: int, kept: list[int], skey: np.ndarray, names: list[str],
                     stratified: bool) -> str:
    """Why column j has no information: constant, constant within strata, collinear with earlier kept
    columns, or (otherwise) no variation among the subjects at risk at the event times."""
    col = xs[:, j]
    if np.ptp(x[:, j]) == 0:
        return f"constant in the analysed subjects (value {x[0, j]:g})"
    if stratified and all(np.ptp(col[skey == s]) == 0 for s in np.unique(skey)):
        return "constant within every stratum"
    if kept:
        others = xs[:, kept]
        resid = col - others @ np.linalg.lstsq(others, col, rcond=None)[0]
        if np.abs(resid).max() <= 1e-8 * np.abs(col).max():
            return "collinear with " + ", ".join(names[k] for k in kept) + " (aliased)"
    return "no information in the risk sets at the event times"


def _fit(data: pd.DataFrame, duration: str, event: str, covariates: list[str], strata: list[str] | None,
         ties: str) -> _CoxFit | None:
    """Newton–Raphson with step halving on the partial likelihood (R coxph's algorithm and tolerance).

    As in R coxph, covariates are centred and scaled first (`_scaling`), the fit runs on that scale and
    coefficients, score and covariance are transformed back (β = s·β*, V = s sᵀ ∘ V*): Newton–Raphson is
    invariant to this in exact arithmetic, but on the original scale a covariate in the thousands loses
    the second derivative to cancellation and overflows exp(η).

    Terms whose information is singular at β = 0 (survival's cholesky2 rule, `_nonsingular`) are left out
    and returned in `dropped`. After convergence R's test for infinite coefficients (coxph.fit) is applied:
    with u the score and V the inverse information at the estimate, the coefficient k may be infinite when
    the next Newton step |(V u)_k| > eps (1e-9) and > toler.inf (√eps) × |β_k|, or u_k is not finite.

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
    skey = cells([pd.factorize(data[s], use_na_sentinel=False)[0] for s in strata or []], len(data))[0]
    centre, scale = _scaling(x)
    xs = (x - centre) * scale
    p = x.shape[1]
    start = _informative_terms(x, xs, t, d, skey, covariates, bool(strata), ties == "efron")
    if start.dropped and not start.keep.any():
        nan = np.full(p, math.nan)
        return _CoxFit(nan, np.full((p, p), math.nan), float(start.ll0), float(start.ll0), (), start.dropped, {}, 0)
    newton = _newton(start.evaluate, np.zeros(int(start.keep.sum())), start.ll0, start.grad, start.hess)
    if newton is None:
        return None
    return _on_original_scale(newton, start, scale, covariates)


@dataclass(frozen=True)
class _Start:
    """The terms the fit keeps, the likelihood over them, and its value, score and Hessian at β = 0."""

    keep: np.ndarray            # per covariate: informative at β = 0
    dropped: dict[str, str]     # the others → why
    evaluate: Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]
    ll0: float
    grad: np.ndarray
    hess: np.ndarray


def _informative_terms(x: np.ndarray, xs: np.ndarray, t: np.ndarray, d: np.ndarray, skey: np.ndarray,
                       covariates: list[str], stratified: bool, efron: bool) -> _Start:
    """Leave out the terms whose information is singular at β = 0, naming why (`_singular_reason`); the
    likelihood is set up again on the rest (if none is left, `evaluate` and the derivatives are unused)."""
    evaluate = _Cells(skey, t, d, xs, efron).evaluate
    ll0, grad, hess = evaluate(np.zeros(x.shape[1]))
    keep = _nonsingular(-hess)
    dropped: dict[str, str] = {}
    if not keep.all():
        kept = [int(k) for k in np.flatnonzero(keep)]
        for j in np.flatnonzero(~keep):
            earlier = [k for k in kept if k < j]
            dropped[covariates[j]] = _singular_reason(x, xs, int(j), earlier, skey, covariates, stratified)
        if kept:
            evaluate = _Cells(skey, t, d, xs[:, keep], efron).evaluate
            ll0, grad, hess = evaluate(np.zeros(len(kept)))
    return _Start(keep, dropped, evaluate, ll0, grad, hess)


@dataclass(frozen=True)
class _Newton:
    """Where Newton–Raphson stopped (on the scaled covariates)."""

    beta: np.ndarray
    ll: float
    grad: np.ndarray
    hess: np.ndarray
    converged: bool


def _newton(evaluate: Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]], beta: np.ndarray, ll: float,
            grad: np.ndarray, hess: np.ndarray) -> _Newton | None:
    """Newton–Raphson from β with its log-likelihood, score and Hessian, halving a step (up to 20 times)
    that does not increase the likelihood; stops when the change is within EPS (relative), or after
    MAX_ITER iterations. None if the information cannot be inverted."""
    converged = False
    for _ in range(MAX_ITER):
        try:
            step = _newton_step(hess, grad)
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
        done = abs(ll_new - ll) <= EPS * abs(ll_new) + 1e-12
        beta, ll, grad, hess = new, ll_new, g_new, h_new
        if done:
            converged = True
            break
    return _Newton(beta, ll, grad, hess, converged)


def _on_original_scale(fit: _Newton, start: _Start, scale: np.ndarray, covariates: list[str]) -> _CoxFit | None:
    """Covariance, R's test for infinite coefficients, and everything back on the covariates' own scale and
    in their positions (NaN for the dropped terms); None if the estimate or its covariance is not finite."""
    keep, p = start.keep, len(covariates)
    # as coxph: the variance is the generalised inverse of the information by cholesky2 (zero for a column
    # found singular at the estimate, whose coefficient R reports as NA)
    live = _nonsingular(-fit.hess)
    cov_s = np.zeros_like(fit.hess)
    try:
        cov_s[np.ix_(live, live)] = np.linalg.inv(-fit.hess[np.ix_(live, live)])
    except np.linalg.LinAlgError:
        return None
    if not (np.all(np.isfinite(cov_s)) and np.all(np.isfinite(fit.beta)) and math.isfinite(fit.ll)):
        return None
    s = scale[keep]
    b_orig, v_orig = fit.beta * s, cov_s * np.outer(s, s)
    next_step = np.abs((cov_s @ fit.grad) * s)  # |V u| on the original scale (coxph.fit's `infs`)
    flag = ~np.isfinite(fit.grad) | ((next_step > EPS) & (next_step > TOLER_INF * np.abs(b_orig)))
    kept_names = [c for c, k in zip(covariates, keep) if k]
    reason = INFINITE_NOTE if fit.converged else INFINITE_NOTE.replace("converged before it did", "did not converge")
    infinite = {c: reason for c, f in zip(kept_names, flag) if f}
    infinite.update({c: SINGULAR_AT_ESTIMATE_NOTE for c, ok in zip(kept_names, live) if not ok})
    b_orig[~live] = math.nan
    v_orig[~live, :] = math.nan
    v_orig[:, ~live] = math.nan
    warn: tuple[str, ...] = () if fit.converged else (f"partial likelihood did not converge in {MAX_ITER} iterations",)
    full_b = np.full(p, math.nan)
    full_v = np.full((p, p), math.nan)
    full_b[keep] = b_orig
    full_v[np.ix_(keep, keep)] = v_orig
    return _CoxFit(full_b, full_v, float(fit.ll), float(start.ll0), warn, start.dropped, infinite, int(live.sum()))


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
        shift = float(eta.max()) if eta.size else 0.0
        if shift > 500:  # exp(η) would overflow: the likelihood is invariant to a common shift of η
            eta -= shift
        else:
            shift = 0.0
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
        # Σ w·η over event cells − Σ log den (each of the Σ D log-den terms carries the shift)
        ll = float(b @ self.x_ev_sum - log_den.sum() - shift * self.n_tied.sum())
        mean = np.einsum("ij,j->i", s[1:], inv) - np.einsum("ij,j->i", e[1:], f_inv)  # Σ_l (S − f_l·E)/den_l
        second = np.empty((p, p))
        second[self.iu] = mean[p:]
        second.T[self.iu] = mean[p:]
        cross = np.einsum("ij,kj,j->ik", s1, e1, f_inv2)
        outer = (np.einsum("ij,kj,j->ik", s1, s1, inv2) - cross - cross.T
                 + np.einsum("ij,kj,j->ik", e1, e1, ff_inv2))
        return ll, self.x_ev_sum - mean[:p], outer - second

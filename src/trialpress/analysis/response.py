"""Binary outcomes: proportions, risk differences, logistic regression and event rates.

Conventions (stated in every report's methods):
- A proportion has an exact Clopper–Pearson CI (R `binom.test`).
- A risk difference p1 − p0 has the Newcombe hybrid-score CI by default (Newcombe 1998, method 10,
  from Wilson intervals, no continuity correction). The Wald interval is available too.
- Logistic regression is fitted by maximum likelihood (R `glm(family = binomial)`), with Wald CI and P.
  Covariates not coded -1/0/1 are centred on their mean and scaled by 1/(mean absolute deviation) for
  the fit, and coefficients and covariance transformed back (ORs are per unit of the covariate as given).
  A constant or collinear covariate is left out and named (R's NA); an outcome that does not vary gives
  no odds ratio ("outcome does not vary").
  Under complete or quasi-complete separation the MLE does not exist: the fit then switches to
  Firth's penalised likelihood, with profile penalised-likelihood CIs and penalised likelihood-ratio P
  (logistf's defaults, `pl = TRUE`; Heinze & Schemper 2002).
- An exposure-adjusted event rate has the exact Poisson (Garwood) CI (R `poisson.test`).
Plan-agnostic: arrays and frames in, numbers out. Nothing here formats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trialpress.analysis import distributions as dist
from trialpress.analysis.cells import cells
from trialpress.analysis.distributions import special   # imported there without numpy.f2py / numpy.testing
from trialpress.analysis.survival import Estimate

SEPARATION_NOTE = "complete separation: Firth penalised likelihood"
INTERCEPT = "(Intercept)"


def _z(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")
    return dist.z_two_sided(conf_level)


def _check_counts(x: int, n: int) -> None:
    if n < 0 or x < 0 or x > n:
        raise ValueError(f"need 0 <= x <= n, got x={x!r}, n={n!r}")


# --------------------------------------------------------------------------- proportions


def clopper_pearson(x: int, n: int, conf_level: float = 0.95) -> Estimate:
    """x/n with the exact Clopper–Pearson CI (R `binom.test`); bounds are 0 and 1 at x = 0 and x = n."""
    _check_counts(x, n)
    _z(conf_level)
    if n == 0:
        return Estimate(math.nan, note="no subjects")
    alpha = 1 - conf_level
    lower = 0.0 if x == 0 else dist.beta_ppf(alpha / 2, x, n - x + 1)
    upper = 1.0 if x == n else dist.beta_ppf(1 - alpha / 2, x + 1, n - x)
    return Estimate(x / n, lower, upper)


def wilson(x: int, n: int, conf_level: float = 0.95) -> Estimate:
    """x/n with the Wilson score CI, no continuity correction (R `prop.test(correct = FALSE)`)."""
    _check_counts(x, n)
    z = _z(conf_level)
    if n == 0:
        return Estimate(math.nan, note="no subjects")
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half))


def risk_difference(x1: int, n1: int, x0: int, n0: int, conf_level: float = 0.95,
                    method: str = "newcombe") -> Estimate:
    """p1 − p0 with the Newcombe hybrid-score CI (default) or the unpooled Wald CI.

    Newcombe is the default because the Wald interval undercovers when a rate is near 0 or 1
    or groups are small, and collapses to zero width when both rates are 0% or 100%.
    """
    if method not in {"newcombe", "wald"}:
        raise ValueError(f"unknown method {method!r}; use 'newcombe' or 'wald'")
    _check_counts(x1, n1)
    _check_counts(x0, n0)
    z = _z(conf_level)
    if n1 == 0 or n0 == 0:
        return Estimate(math.nan, note="no subjects in a group")
    p1, p0 = x1 / n1, x0 / n0
    d = p1 - p0
    if method == "wald":
        se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
        if se == 0:
            return Estimate(d, note="Wald CI not estimable: both rates are 0% or 100%")
        return Estimate(d, d - z * se, d + z * se)
    w1, w0 = wilson(x1, n1, conf_level), wilson(x0, n0, conf_level)
    lower = d - math.sqrt((p1 - w1.lower) ** 2 + (w0.upper - p0) ** 2)
    upper = d + math.sqrt((w1.upper - p1) ** 2 + (p0 - w0.lower) ** 2)
    return Estimate(d, lower, upper)


# --------------------------------------------------------------------------- event rates


def exposure_adjusted_rate(events: int, exposure: float, per: float = 100.0,
                           conf_level: float = 0.95) -> Estimate:
    """Events per `per` units of exposure (e.g. patient-years) with the exact Poisson (Garwood) CI."""
    if events < 0:
        raise ValueError(f"events must be >= 0, got {events!r}")
    _z(conf_level)
    if not exposure > 0:
        return Estimate(math.nan, note="no exposure")
    alpha = 1 - conf_level
    scale = per / exposure
    lower = 0.0 if events == 0 else dist.gamma_ppf(alpha / 2, events)
    upper = dist.gamma_ppf(1 - alpha / 2, events + 1)
    return Estimate(events * scale, lower * scale, upper * scale)


# --------------------------------------------------------------------------- logistic regression


@dataclass(frozen=True)
class LogisticTerm:
    """A log-OR with its OR, CI and P. For a Firth fit `odds_ratio` holds the profile penalised-likelihood
    CI and `p` the penalised likelihood-ratio P (logistf's defaults); `wald` and `wald_p` always hold the
    Wald CI and P (for a maximum-likelihood fit they equal `odds_ratio` and `p`)."""

    term: str
    coef: float
    se: float
    odds_ratio: Estimate
    z: float
    p: float
    wald: Estimate = Estimate(math.nan)
    wald_p: float = math.nan


@dataclass(frozen=True)
class LogisticResult:
    """Per-term log-ORs; `intercept` is kept apart so `terms` holds the covariates only (as in Cox).

    `loglik` is penalised for a Firth fit; the LR test against the intercept-only model is given
    for maximum-likelihood fits only (NaN under Firth). `ci_method` says how `odds_ratio` CIs and `p`
    were obtained. Terms without an OR carry NaN with the reason in `odds_ratio.note` and are listed in
    `not_estimable` (term → reason); `dropped` holds those left out of the fit because they are constant
    or collinear with earlier terms (R glm's NA). `n_excluded` subjects had a missing outcome or covariate,
    `excluded` counts them per variable (a subject may miss several).
    """

    terms: dict[str, LogisticTerm]
    intercept: LogisticTerm
    n: int
    events: int
    converged: bool
    method: str
    loglik: float = math.nan
    lr_chisq: float = math.nan
    lr_df: int = 0
    lr_p: float = math.nan
    firth: bool = False
    note: str = ""
    warnings: tuple[str, ...] = field(default=())
    ci_method: str = "Wald"
    dropped: dict[str, str] = field(default_factory=dict)
    not_estimable: dict[str, str] = field(default_factory=dict)
    n_excluded: int = field(default=0, compare=False)
    excluded: dict[str, int] = field(default_factory=dict, compare=False)


ML_METHOD = "maximum-likelihood logistic regression (Newton-Raphson, R glm convergence rule); Wald CI and P"
ML_LR_METHOD = ("maximum-likelihood logistic regression (Newton-Raphson, R glm convergence rule); profile-likelihood "
                "CI and likelihood-ratio P")
PROFILE_ML_CI = "profile likelihood"
FIRTH_METHOD = ("Firth penalised-likelihood logistic regression (Jeffreys prior, Newton-Raphson); "
                "profile penalised-likelihood CI and penalised likelihood-ratio P (logistf defaults)")
WALD_CI = "Wald"
PROFILE_CI = "profile penalised likelihood"
FIRTH_NOTE = "Firth estimate; profile penalised-likelihood CI"
FIRTH_WALD_NOTE = "Firth estimate; Wald CI from the penalised information"
OUTCOME_CONSTANT_NOTE = "outcome does not vary"
ALIAS_TOL = 1e-11  # R glm's QR tolerance (glm.fit: qr(..., tol = min(1e-07, epsilon / 1000)) = 1e-11)


def logistic(frame: pd.DataFrame, outcome: str, covariates: list[str],
             conf_level: float = 0.95, inference: str = "wald") -> LogisticResult:
    """Logistic regression of a 0/1 outcome on numeric covariates, with intercept (complete cases).

    `inference`: "wald" gives Wald CIs and P (SAS PROC LOGISTIC's and R confint.default's); "likelihood-ratio"
    gives profile-likelihood CIs and likelihood-ratio P, each term against the model without it (R confint's
    intervals), which keep their coverage where a rate nears 0 or 1 and the Wald test loses power (Hauck and
    Donner 1977); `wald` and `wald_p` of each term hold the Wald ones either way.

    An outcome that does not vary (all 0 or all 1) gives no odds ratio at all: NaN with the note
    "outcome does not vary". A covariate that is constant in the analysed subjects, or collinear with
    earlier ones, is left out of the fit (R glm's NA) and named in `dropped`.

    Covariates not coded -1/0/1 are centred on their mean and scaled by 1/(mean absolute deviation)
    before fitting (as R coxph does), and coefficients and covariance are transformed back, so a
    covariate in the thousands gives its OR per unit as R glm does.

    Under complete or quasi-complete separation the MLE is infinite, so Firth's penalised likelihood
    is fitted instead and `note` says so, rather than reporting the huge OR an unpenalised fit stops
    at; its CIs are profile penalised-likelihood intervals and its P the penalised likelihood-ratio test
    (logistf's defaults, `_profile`). Separation is found from a zero cell of a 0/1 covariate before
    fitting, and otherwise confirmed by a linear programme (Konis 2007) whenever the ML fit shows its
    marks (a separation warning, no convergence, fitted probabilities within 1e-6 of 0 or 1, or a
    |coef| > 15 with SE > 100 on the scaled covariates).

    Everything is computed on the distinct (y, x) rows with their frequencies, which gives the numbers
    of the repeated rows: at 10^6 subjects with binary covariates a fit takes ~0.07 s instead of ~3 s.
    """
    z = _z(conf_level)
    values, f, info = _complete_patterns(frame, outcome, covariates)
    y = values[:, 0]
    names = [INTERCEPT, *covariates]
    n, events = int(f.sum()), int(f @ y)
    if n == 0:
        return _nan_result(names, 0, 0, "no subjects", **info)
    if events in (0, n):
        why = "no subject had the outcome" if events == 0 else "every subject had the outcome"
        return _nan_result(names, n, events, OUTCOME_CONSTANT_NOTE, caught=(why,), **info)

    design = _design(values, f, names)
    info["dropped"] = design.dropped
    caught: list[str] = []
    reason = _zero_cell(design.x, y, f, design.kept)
    if reason is None:
        fit = _ml_fit(design.xs, y, f, caught)
        if fit is None or not fit[2] or np.any(np.abs(fit[5]) > _EXTREME_ETA) or _divergent(fit[0], fit[1]):
            reason = _separation_lp(design.xs, y, f)
            if reason is None and fit is None:
                return _nan_result(names, n, events, "model did not converge: " + "; ".join(caught), **info)
        if reason is None:
            profile = (y, f, conf_level) if inference == "likelihood-ratio" else None
            return _ml_result(fit, design, names, z, n, events, caught, info, profile)  # type: ignore[arg-type]
    return _firth_result(design, y, f, names, z, conf_level, n, events, [reason, *caught], info)


def _complete_patterns(frame: pd.DataFrame, outcome: str, covariates: list[str]
                       ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The distinct complete-case (outcome, covariates) rows with their frequencies (`_patterns`), and the
    subjects left out: how many, and per variable how many miss it. The outcome must be coded 0/1."""
    columns = [outcome, *covariates]
    values, f = _patterns(frame, columns)
    na = frame[list(dict.fromkeys(columns))].isna()
    info = {"n_excluded": int(na.any(axis=1).sum()), "excluded": {c: int(k) for c, k in na.sum().items() if k}}
    if not np.isin(values[:, 0], (0.0, 1.0)).all():
        raise ValueError(f"outcome {outcome!r} must be coded 0/1")
    return values, f, info


@dataclass(frozen=True)
class _Design:
    """The model matrix (intercept first) over the terms the fit keeps, as given and scaled for the fit."""

    x: np.ndarray               # kept columns as given
    xs: np.ndarray              # kept columns centred and scaled (`_scaling`)
    kept: list[str]             # their names
    t: np.ndarray               # back to the columns as given: beta = t @ beta_scaled
    scale: np.ndarray           # scale factor of each kept column
    dropped: dict[str, str]     # terms left out (constant or aliased) → why

    @property
    def df(self) -> int:
        return len(self.kept) - 1


def _design(values: np.ndarray, f: np.ndarray, names: list[str]) -> _Design:
    """Intercept and covariates, centred and scaled, without the aliased columns (`_independent`)."""
    x = np.column_stack([np.ones(len(values)), values[:, 1:]])
    centre, scale = _scaling(x, f)
    xs = (x - centre) * scale
    keep, dropped = _independent(x, xs, f, names)
    t = np.diag(scale[keep])  # beta = t @ beta_scaled: slopes s_j b*_j, intercept b*_0 - sum_j m_j s_j b*_j
    t[0, 1:] = -(centre * scale)[keep][1:]
    return _Design(x[:, keep], xs[:, keep], [nm for nm, k in zip(names, keep) if k], t, scale[keep], dropped)


def _ml_result(fit: tuple[np.ndarray, np.ndarray, bool, float, float, np.ndarray], design: _Design,
               names: list[str], z: float, n: int, events: int, caught: list[str],
               info: dict[str, Any], profile: tuple[np.ndarray, np.ndarray, float] | None = None) -> LogisticResult:
    """The maximum-likelihood fit on the covariates' own scale: Wald CI and P (or, with `profile` = (y, f,
    conf_level), profile-likelihood CI and likelihood-ratio P), and the LR test of the whole model."""
    beta_s, cov_s, converged, ll, ll0, _eta = fit
    t = design.t
    beta, cov = t @ beta_s, t @ cov_s @ t.T
    lr = 2 * (ll - ll0)
    se = np.sqrt(np.diag(cov))
    ci = _wald(beta, se, z) if profile is None else _profile(design.xs, profile[0], profile[1], beta_s, ll, t, se,
                                                             profile[2], penalised=False)
    df = design.df
    return _result(names, design.kept, beta, se, ci, z, n, events, converged,
                   ML_METHOD if profile is None else ML_LR_METHOD, ll, lr, df,
                   dist.chi2_sf(lr, df) if df else math.nan, firth=False,
                   note="" if converged else "model did not converge", caught=caught,
                   ci_method=WALD_CI if profile is None else PROFILE_ML_CI, **info)


def _firth_result(design: _Design, y: np.ndarray, f: np.ndarray, names: list[str], z: float, conf_level: float,
                  n: int, events: int, caught: list[str], info: dict[str, Any]) -> LogisticResult:
    """Firth's penalised fit (under separation) on the covariates' own scale, with profile penalised-likelihood
    CIs and P; `caught` starts with the reason for it."""
    t = design.t
    try:
        beta_s, cov_s, converged, pll_s = _firth_fit(design.xs, y, f)
        beta, cov = t @ beta_s, t @ cov_s @ t.T
        se = np.sqrt(np.diag(cov))
        profile = _profile(design.xs, y, f, beta_s, pll_s, t, se, conf_level)
    except np.linalg.LinAlgError:
        return _nan_result(names, n, events, SEPARATION_NOTE + " did not fit (singular information matrix)",
                           **info)
    pll = pll_s - float(np.sum(np.log(design.scale)))  # ½log|I| = ½log|I*| − log|det t|
    return _result(names, design.kept, beta, se, profile, z, n, events, converged, FIRTH_METHOD, pll, math.nan,
                   design.df, math.nan, firth=True,
                   note=SEPARATION_NOTE if converged else SEPARATION_NOTE + " (did not converge)",
                   caught=caught, **info)


def _patterns(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct complete-case rows of `frame[columns]` (sorted) and how often each occurs: binary-
    covariate data at 10^6 rows hold a handful of patterns, and a fit weighted by frequency gives the
    same estimates as the repeated rows."""
    arrays = [frame[c].to_numpy(float) for c in columns]
    rows = np.flatnonzero(~np.isnan(np.column_stack(arrays)).any(axis=1))
    complete = [a[rows] for a in arrays]
    pattern, counts = cells(complete, len(rows))
    first = np.empty(len(counts), np.intp)
    first[pattern] = np.arange(len(rows))  # any row of a pattern will do: they are identical
    return np.column_stack([a[first] for a in complete]), counts.astype(float)


_EXTREME_ETA = math.log((1 - 1e-6) / 1e-6)  # fitted probability within 1e-6 of 0 or 1


def _divergent(beta: np.ndarray, cov: np.ndarray) -> bool:
    return bool(np.any((np.abs(beta) > 15) & (np.sqrt(np.abs(np.diag(cov))) > 100)))


def _scaling(x: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale of each column (R coxph's rule, with frequencies f): a column made only of -1, 0
    and 1 (the intercept, 0/1 dummies) is left alone; a constant one is centred on its value (so it becomes
    exactly 0 and is aliased); any other is centred on its mean and scaled by 1/(mean absolute deviation)."""
    centre, scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
    total = f.sum()
    for j in range(x.shape[1]):
        col = x[:, j]
        if np.isin(col, (-1.0, 0.0, 1.0)).all():
            continue
        if np.ptp(col) == 0:
            centre[j] = col[0]
            continue
        centre[j] = (f @ col) / total
        scale[j] = total / (f @ np.abs(col - centre[j]))
    return centre, scale


def _independent(x: np.ndarray, xs: np.ndarray, f: np.ndarray, names: list[str]) -> tuple[np.ndarray, dict[str, str]]:
    """Columns R glm would estimate: in column order, a column whose norm after projecting out the earlier
    kept ones falls to ALIAS_TOL × its own norm (or that is 0) is aliased (R's dqrdc2 rule, on √f·x)."""
    a = xs * np.sqrt(f)[:, None]
    keep = np.zeros(a.shape[1], dtype=bool)
    basis = np.zeros((a.shape[0], 0))
    dropped: dict[str, str] = {}
    for j in range(a.shape[1]):
        col = a[:, j]
        norm = np.linalg.norm(col)
        resid = col - basis @ (basis.T @ col)
        resid = resid - basis @ (basis.T @ resid)  # re-orthogonalise once (Gram–Schmidt twice is enough)
        rn = np.linalg.norm(resid)
        if norm == 0 or rn <= ALIAS_TOL * norm:
            if np.ptp(x[:, j]) == 0:
                dropped[names[j]] = f"constant in the analysed subjects (value {x[0, j]:g})"
            else:
                dropped[names[j]] = ("collinear with " + ", ".join(nm for nm, k in zip(names[:j], keep[:j]) if k)
                                     + " (aliased)")
            continue
        keep[j] = True
        basis = np.column_stack([basis, resid / rn])
    return keep, dropped


def _wald(beta: np.ndarray, se: np.ndarray, z: float) -> list[tuple[float, float, float]]:
    """(lower, upper, P) of the Wald CI and test for each coefficient, on the log-odds scale."""
    return [(float(b - z * s), float(b + z * s), float(2 * dist.norm_sf(abs(b / s)))) for b, s in zip(beta, se)]


def _result(names: list[str], kept: list[str], beta: np.ndarray, se: np.ndarray,
            ci: list[tuple[float, float, float]], z: float, n: int, events: int, converged: bool, method: str,
            ll: float, lr: float, df: int, lr_p: float, *, firth: bool, note: str, caught: list[str],
            dropped: dict[str, str], n_excluded: int, excluded: dict[str, int],
            ci_method: str | None = None) -> LogisticResult:
    """Terms in the order of `names`: fitted ones (`kept`) with `ci` = (lower, upper, P) per coefficient
    (Wald or profile likelihood for ML, profile penalised likelihood for Firth; `ci_method` names it, by
    default from `firth`), dropped ones NaN with their reason."""
    or_note = FIRTH_NOTE if firth else ""
    rows = []
    for name in names:
        if name not in kept:
            rows.append(_nan_term(name, dropped[name]))
            continue
        i = kept.index(name)
        b, s = float(beta[i]), float(se[i])
        lo, hi, p = ci[i]
        zval = b / s
        wald = Estimate(math.exp(b), math.exp(b - z * s), math.exp(b + z * s), FIRTH_WALD_NOTE if firth else "")
        wald_p = float(2 * dist.norm_sf(abs(zval)))
        rows.append(LogisticTerm(name, b, s, Estimate(math.exp(b), math.exp(lo), math.exp(hi), or_note), zval, p,
                                 wald, wald_p))
    return LogisticResult({t.term: t for t in rows[1:]}, rows[0], n, events, converged, method, float(ll),
                          float(lr), df, lr_p, firth, note, tuple(caught),
                          ci_method or (PROFILE_CI if firth else WALD_CI),
                          dict(dropped), dict(dropped), n_excluded, excluded)


def _nan_term(name: str, note: str) -> LogisticTerm:
    return LogisticTerm(name, math.nan, math.nan, Estimate(math.nan, note=note), math.nan, math.nan,
                        Estimate(math.nan, note=note))


def _nan_result(names: list[str], n: int, events: int, note: str, *, caught: tuple[str, ...] = (),
                dropped: dict[str, str] | None = None, n_excluded: int = 0,
                excluded: dict[str, int] | None = None) -> LogisticResult:
    dropped = dict(dropped or {})
    rows = [_nan_term(c, dropped.get(c, note)) for c in names]
    why = {c: dropped.get(c, note) for c in names[1:]}
    return LogisticResult({t.term: t for t in rows[1:]}, rows[0], n, events, False, ML_METHOD,
                          lr_df=len(names) - 1, note=note, warnings=tuple(caught), dropped=dropped,
                          not_estimable=why, n_excluded=n_excluded, excluded=dict(excluded or {}))


def _zero_cell(x: np.ndarray, y: np.ndarray, f: np.ndarray, names: list[str]) -> str | None:
    """The cheap, certain signs of separation: a constant outcome, or a 0/1 covariate with a zero cell.
    Rows are distinct patterns with frequencies `f`, so counts are sums of `f`."""
    n, events = f.sum(), f @ y
    if events == 0:
        return "no subject had the outcome"
    if events == n:
        return "every subject had the outcome"
    for j in range(1, x.shape[1]):
        col = x[:, j]
        if not np.isin(col, (0.0, 1.0)).all():
            continue
        for level in (0.0, 1.0):
            at = col == level
            k, m = f[at] @ y[at], f[at].sum()
            if 0 < m < n and (k == 0 or k == m):
                return f"zero cell: {'none' if k == 0 else 'all'} of {names[j]}={int(level)} had the outcome"
    return None


def _separation_lp(x: np.ndarray, y: np.ndarray, f: np.ndarray) -> str | None:
    """Konis (2007): separation iff some b != 0 has s_i x_i'b >= 0 for all i (s = 2y - 1), strictly
    for at least one i. Maximise the sum over the box [-1, 1]; an optimum of 0 means the MLE exists.

    Separation is a property of the distinct points, so the constraints are one per pattern (a repeated
    row adds only a copy of its constraint); the objective weights each by its frequency `f`, which
    makes this the same LP, optimum and threshold as on the repeated rows."""
    scale = np.abs(x).max(axis=0)
    scale[scale == 0] = 1.0
    a = (2 * y - 1)[:, None] * (x / scale)
    from scipy.optimize import linprog   # here: only a fit that shows signs of separation needs it

    res = linprog(-(f @ a), A_ub=-a, b_ub=np.zeros(len(y)), bounds=(-1, 1), method="highs")
    if res.status == 0 and -res.fun > 1e-7 * f.sum():
        return "outcome separated by a linear combination of covariates"
    return None


ML_MAXIT = 25        # R glm.control(maxit = 25)
ML_EPSILON = 1e-8    # R glm.control(epsilon = 1e-8): converged when |dev - dev_old| / (|dev| + 0.1) < epsilon
ML_POLISH = 8        # at most this many Newton steps after R's rule is met (2-3 reach the MLE)
NUMERICALLY_01 = 10 * np.finfo(float).eps  # R binomial: "fitted probabilities numerically 0 or 1 occurred"


def _ml_fit(x: np.ndarray, y: np.ndarray, f: np.ndarray, caught: list[str]
            ) -> tuple[np.ndarray, np.ndarray, bool, float, float, np.ndarray] | None:
    """MLE by Newton–Raphson (IRLS: the logit link is canonical, so both take the same steps): coef,
    covariance, converged, loglik, null loglik (closed form), linear predictor (per pattern); None if the
    information matrix is singular. R's warnings are appended to `caught` in R's words.

    Written here rather than called from statsmodels' GLM because importing that costs ~1.4 s of every
    cold run (statsmodels then imports the whole of scipy.stats), against < 1 ms for the fit itself on
    the distinct patterns. R glm.fit's start (mu = (y + 1/2) / 2 per subject), iteration limit and
    convergence rule decide `converged`; further Newton steps after convergence, until a step no longer
    changes the estimate, then give the estimate, and the covariance I(b)^-1 evaluated at it, at the MLE
    (R with epsilon 1e-14; R's and statsmodels' defaults stop up to ~1e-5 short of it in the SE).
    Checked against R glm and statsmodels on the repeated rows (tests/test_response_reference.py).

    Rows are distinct patterns with frequencies `f`: l = Σ f_i ll_i and I = X'diag(f w)X are the
    repeated rows' log-likelihood and information, so estimates, SEs and loglik equal theirs."""
    mu = (y + 0.5) / 2
    w = f * mu * (1 - mu)
    dev = -2 * float(f @ (y * np.log(mu) + (1 - y) * np.log(1 - mu)))
    converged = False
    try:
        beta = np.linalg.solve(_information(x, w), x.T @ (w * np.log(mu / (1 - mu)) + f * (y - mu)))
        for iteration in range(1, ML_MAXIT + 1):
            step = _newton_step(x, y, f, beta) if iteration > 1 else np.zeros_like(beta)
            for _half in range(30):   # R glm.fit: "step size truncated due to divergence"
                new_dev = -2 * _loglik(x, y, f, beta + step)
                if math.isfinite(new_dev):
                    break
                step = step / 2
            beta = beta + step
            dev_old, dev = dev, new_dev
            if abs(dev - dev_old) / (abs(dev) + 0.1) < ML_EPSILON:
                converged = True
                for _polish in range(ML_POLISH):  # on to the MLE: Newton's error squares with each step
                    step = _newton_step(x, y, f, beta)
                    beta = beta + step
                    if np.max(np.abs(step)) <= 1e-13 * (1 + np.max(np.abs(beta))):
                        break
                break
        eta = x @ beta
        p = special.expit(eta)
        cov = np.linalg.inv(_information(x, f * p * (1 - p)))
    except np.linalg.LinAlgError as exc:
        caught.append(f"singular information matrix ({exc})")
        return None
    if not converged:
        caught.append("glm.fit: algorithm did not converge")
    if np.any((p < NUMERICALLY_01) | (p > 1 - NUMERICALLY_01)):
        caught.append("glm.fit: fitted probabilities numerically 0 or 1 occurred")
    n = f.sum()
    p0 = (f @ y) / n
    ll0 = float(n * (p0 * math.log(p0) + (1 - p0) * math.log(1 - p0)))
    return beta, cov, converged, _loglik(x, y, f, beta), ll0, eta


def _loglik(x: np.ndarray, y: np.ndarray, f: np.ndarray, beta: np.ndarray) -> float:
    """l(b) = Σ f_i (y_i η_i − log(1 + e^η_i)), stable for large |η|."""
    eta = x @ beta
    return float(np.dot(f, y * eta - np.logaddexp(0.0, eta)))


def _information(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """X'diag(w)X: the Fisher information of a logistic fit for weights w = f p (1 − p)."""
    return (x * w[:, None]).T @ x


def _newton_step(x: np.ndarray, y: np.ndarray, f: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """I(b)^-1 U(b), with U = X'(f(y − p)) and I = X'diag(f p(1 − p))X."""
    p = special.expit(x @ beta)
    return np.linalg.solve(_information(x, f * p * (1 - p)), x.T @ (f * (y - p)))


def _penalised_loglik(x: np.ndarray, y: np.ndarray, f: np.ndarray, beta: np.ndarray) -> float:
    """l(b) + ½ log|I(b)| with l = Σ f_i ll_i and I = X'diag(f w)X: the repeated rows' value."""
    ll = _loglik(x, y, f, beta)
    p = special.expit(x @ beta)
    sign, logdet = np.linalg.slogdet(_information(x, f * p * (1 - p)))
    return ll + 0.5 * logdet if sign > 0 else -math.inf


def _damped_step(x: np.ndarray, y: np.ndarray, f: np.ndarray, beta: np.ndarray, delta: np.ndarray, pll: float,
                 maxstep: float, penalised: bool = True) -> tuple[np.ndarray, float, bool]:
    """The Newton step as logistf takes it: capped at `maxstep`, then halved (up to 30 times) while the
    (penalised) log-likelihood falls. Returns the step, the new l*, and whether the step was taken whole."""
    objective = _penalised_loglik if penalised else _loglik
    big = np.max(np.abs(delta)) / maxstep
    if big > 1:
        delta = delta / big
    full_step = big <= 1
    for _half in range(30):
        new = objective(x, y, f, beta + delta)
        if new >= pll - 1e-12:
            break
        delta = delta / 2
        full_step = False
    return delta, new, full_step


def _firth_fit(x: np.ndarray, y: np.ndarray, f: np.ndarray, maxit: int = 100, tol: float = 1e-10,
               maxstep: float = 5.0) -> tuple[np.ndarray, np.ndarray, bool, float]:
    """Firth (1993) logistic regression: Newton–Raphson on l(b) + ½ log|I(b)| (as logistf).

    Modified score U*_j = Σ (y_i − p_i + h_i(½ − p_i)) x_ij over rows, h the hat diagonal; step by
    I(b)⁻¹U*, capped at `maxstep` and halved while the penalised log-likelihood falls.
    Covariance is I(b̂)⁻¹ at the penalised estimate.

    Rows here are distinct patterns with frequencies f: I = X'diag(f w)X, and each of the f_i copies
    of pattern i has hat value w_i x_i'I⁻¹x_i, so U* = Σ [f_i(y_i − p_i) + H_i(½ − p_i)] x_i with
    H_i = f_i w_i x_i'I⁻¹x_i — the same score, step and iterates as on the repeated rows.
    """
    beta = np.zeros(x.shape[1])
    pll = _penalised_loglik(x, y, f, beta)
    converged = False
    for _ in range(maxit):
        p = special.expit(x @ beta)
        fw = f * p * (1 - p)
        info_inv = np.linalg.inv(_information(x, fw))
        h = fw * np.einsum("ij,ij->i", x @ info_inv, x)
        score = x.T @ (f * (y - p) + h * (0.5 - p))
        delta, pll, full_step = _damped_step(x, y, f, beta, info_inv @ score, pll, maxstep)
        beta = beta + delta
        if np.max(np.abs(score)) < tol or (full_step and np.max(np.abs(delta)) < tol):
            converged = True
            break
    p = special.expit(x @ beta)
    cov = np.linalg.inv(_information(x, f * p * (1 - p)))
    return beta, cov, converged, _penalised_loglik(x, y, f, beta)


def _constrained(x: np.ndarray, y: np.ndarray, f: np.ndarray, a: np.ndarray, c: float, start: np.ndarray,
                 penalised: bool = True, maxit: int = 100, tol: float = 1e-10, maxstep: float = 5.0
                 ) -> tuple[np.ndarray, float]:
    """max l*(b) = l(b) + ½ log|I(b)| (or, not `penalised`, l(b)) subject to a'b = c, with the FULL model's
    penalty (as logistf's constrained fits, which keep the whole design in the Fisher information and fit the
    other columns).

    b = b0 + N g with N an orthonormal basis of a's null space: Newton–Raphson on g with score N'U*(b)
    and information N'I(b)N, the step capped at `maxstep` and halved while l* falls (as `_firth_fit`).
    """
    from scipy.linalg import null_space

    b0 = a * (c / (a @ a))
    basis = null_space(a[None, :])
    beta = b0 + basis @ (basis.T @ (start - b0))
    pll = (_penalised_loglik if penalised else _loglik)(x, y, f, beta)
    if basis.shape[1] == 0:
        return beta, pll
    for _ in range(maxit):
        p = special.expit(x @ beta)
        fw = f * p * (1 - p)
        info = _information(x, fw)
        if penalised:
            h = fw * np.einsum("ij,ij->i", x @ np.linalg.inv(info), x)
            score = basis.T @ (x.T @ (f * (y - p) + h * (0.5 - p)))
        else:
            score = basis.T @ (x.T @ (f * (y - p)))
        if np.max(np.abs(score)) < tol:
            break
        delta, pll, full_step = _damped_step(x, y, f, beta, basis @ np.linalg.solve(basis.T @ info @ basis, score),
                                             pll, maxstep, penalised)
        beta = beta + delta
        if full_step and np.max(np.abs(delta)) < tol:
            break
    return beta, pll


def _profile(x: np.ndarray, y: np.ndarray, f: np.ndarray, beta_s: np.ndarray, pll_max: float, t: np.ndarray,
             se: np.ndarray, conf_level: float, penalised: bool = True) -> list[tuple[float, float, float]]:
    """Profile penalised-likelihood CI and penalised likelihood-ratio P for each coefficient (logistf's
    defaults, Heinze & Schemper 2002), as (lower, upper, P) on the log-odds scale; not `penalised`, the
    profile-likelihood CI and likelihood-ratio P of a maximum-likelihood fit (R confint.glm's intervals,
    here found exactly rather than interpolated, and drop-one-term LR tests).

    With D(c) = 2 [l*(b̂) − max{l*(b) : b_j = c}] (the full model's penalty throughout), the CI is
    {c : D(c) ≤ χ²₁(conf_level)} and P = P(χ²₁ ≥ D(0)). The fit runs on centred and scaled covariates
    (`x` = scaled design, b = t b*), so b_j = c is the linear constraint t[j]·b* = c; l* differs from the
    original scale's only by a constant, which D does not see. Each limit is bracketed by doubling steps
    of the Wald SE from b̂_j and found by Brent's method; a limit that D never reaches (within 2^40 SE)
    is infinite.
    """
    from scipy.optimize import brentq   # here: only profiled fits need it

    q = dist.chi2_ppf(conf_level, 1)
    beta = t @ beta_s
    out = []
    for j in range(len(beta_s)):
        a = t[j]
        last = [beta_s]

        def dev(c: float, a: np.ndarray = a, last: list[np.ndarray] = last) -> float:
            try:
                b, pll = _constrained(x, y, f, a, c, last[0], penalised)
            except np.linalg.LinAlgError:
                return math.inf
            if math.isfinite(pll):
                last[0] = b
            return 2 * (pll_max - pll) if math.isfinite(pll) else math.inf

        def limit(direction: float, j: int = j, dev=dev) -> float:  # type: ignore[no-untyped-def]
            step = se[j] if math.isfinite(se[j]) and se[j] > 0 else 1.0
            inner, outer = beta[j], beta[j] + direction * step
            for _ in range(40):
                d = dev(outer)
                while not math.isfinite(d) and abs(outer - inner) > 1e-12 * step:  # pull in from a singular fit
                    outer = (inner + outer) / 2
                    d = dev(outer)
                if d >= q:
                    lo, hi = sorted((inner, outer))
                    return float(brentq(lambda c: dev(c) - q, lo, hi, xtol=1e-12 * max(step, abs(beta[j])),
                                                 rtol=1e-14, maxiter=200))
                inner, step = outer, 2 * step
                outer = beta[j] + direction * step
            return direction * math.inf

        lower, upper = limit(-1.0), limit(1.0)
        last[0] = beta_s
        d0 = dev(0.0)
        out.append((lower, upper, dist.chi2_sf(max(d0, 0.0), 1)))
    return out

"""MMRM: outcome ~ group × visit + covariates + factors, fitted by REML with a within-subject covariance.

Conventions (stated in every report's methods):
- Mixed model for repeated measures (marginal model, no random effects) fitted by REML: mean model
  group-by-visit cell means + numeric covariates + categorical factors (+ covariate-by-visit terms
  when asked), each subject's observed visits multivariate normal with the visit-by-visit
  covariance matrix restricted to those visits. Subjects contribute whatever visits they have
  (missing visits are assumed missing at random); rows with a missing outcome or covariate are left out.
- Covariance structures over the visit index 1..T (the order of `visits`, not their values):
  "us" unstructured (T(T+1)/2 parameters, SAS TYPE=UN); "toeplitz" homogeneous Toeplitz (one
  variance, a correlation per lag; SAS TYPE=TOEP); "ar1" homogeneous first-order autoregressive
  (SAS TYPE=AR(1)); "cs" homogeneous compound symmetry (one variance, one correlation, which may be
  negative down to −1/(T−1); SAS TYPE=CS). The heterogeneous variants are not offered.
- When a structure does not converge the next one of the fallback order (default us → toeplitz →
  ar1 → cs) is fitted; the result names the structure used and why the others were not.
  Convergence means: the optimizer stopped at a point where the REML gradient is ~0 and the REML
  Hessian is positive definite (every covariance parameter identified); e.g. an unstructured
  covariance cannot be estimated when a visit has a single subject.
- LS means per group and visit with numeric covariates at their mean over the analysed observations
  and factor levels weighted by their observed share of those observations ("observed"; the same
  weights for every group and visit, as SAS LSMEANS / OM, though SAS takes the margins over all input
  rows, including those with a missing outcome; in R, emmeans with these shares as numeric weights:
  its "proportional" option on an nlme::gls fit with varIdent weights the cells by the variance
  weights) or equally ("equal"); differences of each group vs the reference at each visit (the same
  under both weightings).
- Denominator degrees of freedom: "satterthwaite" (default; as R mmrm, SAS DDFM=SATTERTHWAITE, with
  the observed REML information), "kenward-roger" (SAS DDFM=KR: Kenward–Roger adjusted covariance of
  the fixed effects, second-order terms in SAS's own covariance parametrisation, i.e. none for UN,
  CS and TOEP, which are linear in their parameters, and the AR(1) ones; for a single contrast the
  df is the Satterthwaite one computed from the unadjusted covariance, as in SAS and mmrm) and
  "residual" (n observations − rank of X, as nlme::gls).
- REML log-likelihood in SAS's convention (−2 Res Log Likelihood / −2, also nlme's); AIC = −2 logL + 2
  × the number of covariance parameters (SAS, mmrm).
Numbers only: nothing here formats.

Computation. Subjects are grouped by their pattern of observed visits; for each pattern the
cross-products of the design and outcome over its subjects are formed once, so one evaluation of the
REML criterion and its analytic gradient costs O(patterns · m² · p²), independent of the number of
subjects (10^4 subjects × 8 visits in a few seconds). Covariance parameters are unconstrained
(log-Cholesky for UN, as SAS and mmrm; Fisher-z / partial-autocorrelation transforms otherwise),
optimised by L-BFGS with the analytic gradient and polished by Newton steps on the Hessian, which is
the central difference of the analytic gradient.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trialpress.analysis.ancova import (
    Difference,
    LSMean,
    factor_weights,
    factorize,
    independent_columns,
    is_estimable,
    null_basis,
    require_columns,
    require_conf_level,
    t_inference,
)

STRUCTURES = ("us", "toeplitz", "ar1", "cs")
DEFAULT_COVARIANCE = ("us", "toeplitz", "ar1", "cs")
DF_METHODS = ("satterthwaite", "kenward-roger", "residual")
LOG_2PI = math.log(2 * math.pi)
_CSTEP = 1e-30


@dataclass(frozen=True)
class MMRMResult:
    lsmeans_observed: tuple[LSMean, ...]
    lsmeans_equal: tuple[LSMean, ...]
    differences: tuple[Difference, ...]
    covariance: str                      # structure used; "" when none converged
    covariance_matrix: np.ndarray        # visits × visits (NaN for a visit without observations)
    visits: tuple[Hashable, ...]
    groups: tuple[Hashable, ...]
    reference: Hashable
    df_method: str
    reml_loglik: float
    aic: float
    n_cov_params: int
    converged: bool
    iterations: int
    n_subjects: int
    n_obs: int
    n_dropped: int
    conf_level: float
    attempts: tuple[tuple[str, str], ...] = field(default=())   # (structure, "converged" or why not)
    note: str = ""


# ------------------------------------------------------------------------------ covariance structures
def _n_params(structure: str, t: int) -> int:
    if structure == "us":
        return t * (t + 1) // 2
    if structure == "toeplitz":
        return t
    return 1 if t == 1 else 2


_TRIL: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _tril(t: int) -> tuple[np.ndarray, np.ndarray]:
    if t not in _TRIL:
        _TRIL[t] = np.tril_indices(t)
    return _TRIL[t]


def _cholesky_factor(theta: np.ndarray, t: int) -> np.ndarray:
    low = np.zeros((t, t), dtype=np.result_type(theta, float))
    low[_tril(t)] = theta
    d = np.arange(t)
    low[d, d] = np.exp(low[d, d])
    return low


def _sigma(structure: str, theta: np.ndarray, t: int) -> np.ndarray:
    """Covariance matrix from the unconstrained parameters; written with arithmetic only so that a
    complex step through it gives exact derivatives."""
    dtype = np.result_type(theta, float)
    if structure == "us":
        low = _cholesky_factor(theta, t)
        return low @ low.T
    var = np.exp(theta[0])
    if t == 1:
        return np.full((1, 1), var, dtype=dtype)
    lag = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
    if structure == "cs":
        rmin = -1.0 / (t - 1)
        rho = rmin + (1 - rmin) / (1 + np.exp(-theta[1]))
        return var * np.where(lag == 0, 1.0, rho)
    if structure == "ar1":
        rho = np.tanh(theta[1])
        return var * rho ** lag
    r = _durbin_levinson(np.tanh(theta[1:]))
    return var * np.asarray(r, dtype=dtype)[lag]


def _durbin_levinson(pacf: np.ndarray) -> list:
    """Autocorrelations r_0..r_k of the stationary process with partial autocorrelations `pacf`."""
    r: list = [1.0]
    phi: list = []
    for k in range(1, pacf.size + 1):
        pk = pacf[k - 1]
        if k == 1:
            rk = pk
            phi = [pk]
        else:
            s1 = sum(phi[j] * r[k - 1 - j] for j in range(k - 1))
            s2 = sum(phi[j] * r[j + 1] for j in range(k - 1))
            rk = s1 + pk * (1 - s2)
            phi = [phi[j] - pk * phi[k - 2 - j] for j in range(k - 1)] + [pk]
        r.append(rk)
    return r


def _jacobian(structure: str, theta: np.ndarray, t: int) -> np.ndarray:
    """dΣ/dθ_h (q × T × T): analytic for UN (Σ = LL', dΣ/dL_ij = E_ij L' + L E_ji), else by complex step
    (exact to rounding)."""
    q = theta.size
    if structure == "us":
        low = _cholesky_factor(theta, t)
        rows, cols = _tril(t)
        scale = np.where(rows == cols, np.diag(low)[rows], 1.0)  # d L_ii / d θ = L_ii (log scale)
        out = np.zeros((q, t, t))
        h = np.arange(q)
        contrib = scale[:, None] * low[:, cols].T  # q × T: column j of L
        out[h, rows, :] += contrib
        out[h, :, rows] += contrib
        return out
    out = np.empty((q, t, t))
    for h in range(q):
        z = theta.astype(complex)
        z[h] += 1j * _CSTEP
        out[h] = _sigma(structure, z, t).imag / _CSTEP
    return out


def _start(structure: str, emp: np.ndarray) -> np.ndarray:
    """Starting values from the visit-by-visit covariance of OLS residuals (made positive definite)."""
    t = emp.shape[0]
    var = float(np.mean(np.diag(emp)))
    if structure == "us":
        low = np.linalg.cholesky(emp)
        theta = low[np.tril_indices(t)].copy()
        diag_pos = [i * (i + 1) // 2 + i for i in range(t)]
        theta[diag_pos] = np.log(np.diag(low))
        return theta
    if t == 1:
        return np.array([math.log(var)])
    sd = np.sqrt(np.diag(emp))
    corr = emp / np.outer(sd, sd)
    lag = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
    if structure == "cs":
        rmin = -1.0 / (t - 1)
        rho = float(np.clip(corr[lag > 0].mean(), rmin + 0.05 * (1 - rmin), 0.95))
        u = (rho - rmin) / (1 - rmin)
        return np.array([math.log(var), math.log(u / (1 - u))])
    rho1 = float(np.clip(corr[lag == 1].mean(), -0.9, 0.9))
    if structure == "ar1":
        return np.array([math.log(var), math.atanh(rho1)])
    return np.concatenate([[math.log(var), math.atanh(rho1)], np.zeros(t - 2)])


def _kr_second_order(structure: str, theta: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray] | None:
    """For Kenward–Roger: ∂φ/∂θ and ∂²Σ/∂φ∂φ in SAS's parametrisation φ of the structure, or None
    where Σ is linear in φ (UN: the covariances; CS: CS and residual; TOEP: the lag covariances)."""
    if structure != "ar1" or t == 1:
        return None
    var, rho = math.exp(theta[0]), math.tanh(theta[1])
    jac = np.diag([var, 1 - rho ** 2])  # φ = (σ², ρ)
    lag = np.abs(np.subtract.outer(np.arange(t), np.arange(t))).astype(float)
    second = np.zeros((2, 2, t, t))
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = np.where(lag >= 1, lag * rho ** np.maximum(lag - 1, 0), 0.0)
        d2 = np.where(lag >= 2, var * lag * (lag - 1) * rho ** np.maximum(lag - 2, 0), 0.0)
    second[0, 1] = second[1, 0] = d1
    second[1, 1] = d2
    return jac, second


# -------------------------------------------------------------------------------- pattern statistics
class _Block:
    """Patterns with m observed visits: visit indices (K × m), subjects per pattern and cross-products.

    Σ_i x_ia x_ib' is kept for a ≤ b only (the (b, a) block is its transpose), flattened to
    (K · pairs) × p² so that each contraction with a symmetric m × m weight is one matrix-vector product:
    the criterion is bound by reading these cross-products, so they are read once per use and no more."""

    def __init__(self, idx: np.ndarray, n: np.ndarray, gxx: np.ndarray, gxy: np.ndarray, gyy: np.ndarray) -> None:
        self.idx, self.n, self.gxy, self.gyy = idx, n, gxy, gyy  # gxy: K × m × m × p (Σ_i x_ia y_ib)
        _, m, _, p, _ = gxx.shape
        self.pa, self.pb = np.triu_indices(m)
        self.half = np.where(self.pa == self.pb, 0.5, 1.0)
        self.p = p
        self.gxx_u = np.ascontiguousarray(gxx[:, self.pa, self.pb].reshape(-1, p * p))

    def contract(self, w: np.ndarray) -> np.ndarray:
        """Σ_k Σ_ab w_kab Σ_i x_ia x_ib' for symmetric weights w (K × m × m, or h × K × m × m)."""
        lead = w.shape[:-3]
        c = (w[..., self.pa, self.pb] * self.half).reshape(*lead, -1) @ self.gxx_u
        c = c.reshape(*lead, self.p, self.p)
        return c + np.swapaxes(c, -1, -2)

    def apply(self, mat: np.ndarray) -> np.ndarray:
        """[Σ_i x_ia' M x_ib]_ab (K × m × m) for a symmetric p × p matrix M."""
        vals = (self.gxx_u @ mat.reshape(-1)).reshape(self.idx.shape[0], -1)
        out = np.empty((self.idx.shape[0], self.idx.shape[1], self.idx.shape[1]))
        out[:, self.pa, self.pb] = vals
        out[:, self.pb, self.pa] = vals
        return out


class _Problem:
    """The REML criterion −2 log L_R(θ) and its gradient on pattern-level cross-products."""

    def __init__(self, blocks: list[_Block], t: int, p: int, n_obs: int, structure: str) -> None:
        self.blocks, self.t, self.p, self.n_obs, self.structure = blocks, t, p, n_obs, structure
        self.q = _n_params(structure, t)
        self.evaluations = 0

    def _inverses(self, sigma: np.ndarray) -> tuple[list[np.ndarray], float] | None:
        sinvs, logdet = [], 0.0
        for b in self.blocks:
            s = sigma[b.idx[:, :, None], b.idx[:, None, :]]
            try:
                low = np.linalg.cholesky(s)
            except np.linalg.LinAlgError:
                return None
            inv_low = np.linalg.inv(low)
            sinvs.append(np.swapaxes(inv_low, 1, 2) @ inv_low)
            logdet += float(2 * (b.n * np.log(np.diagonal(low, axis1=1, axis2=2)).sum(axis=1)).sum())
        return sinvs, logdet

    def fixed(self, sigma: np.ndarray) -> dict | None:
        """GLS pieces at Σ: A = X'V⁻¹X, β, −2 log L_R, and the per-block Σ_i⁻¹."""
        inv = self._inverses(sigma)
        if inv is None:
            return None
        sinvs, logdet = inv
        p = self.p
        a, bvec, c = np.zeros((p, p)), np.zeros(p), 0.0
        for blk, si in zip(self.blocks, sinvs):
            a += blk.contract(si)
            bvec += np.tensordot(si, blk.gxy, axes=3)
            c += float(np.tensordot(si, blk.gyy, axes=3))
        try:
            la = np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            return None
        beta = np.linalg.solve(la.T, np.linalg.solve(la, bvec))
        rss = c - float(bvec @ beta)
        f = logdet + 2 * float(np.log(np.diag(la)).sum()) + rss + (self.n_obs - p) * LOG_2PI
        return {"a": a, "la": la, "beta": beta, "f": f, "sinvs": sinvs}

    def value_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        self.evaluations += 1
        sigma = _sigma(self.structure, theta, self.t)
        fx = self.fixed(sigma) if np.all(np.isfinite(sigma)) else None
        if fx is None or not math.isfinite(fx["f"]):
            return 1e300, np.zeros(theta.size)
        la, beta = fx["la"], fx["beta"]
        phi = np.linalg.solve(la.T, np.linalg.solve(la, np.eye(self.p)))
        both = phi + np.outer(beta, beta)  # Σ_i X_i Φ X_i' and the β'G β part of the residual cross-products
        d = np.zeros((self.t, self.t))
        for blk, si in zip(self.blocks, fx["sinvs"]):
            mu_y = blk.gxy @ beta
            cr = blk.apply(both) + blk.gyy - mu_y - np.swapaxes(mu_y, 1, 2)
            dk = blk.n[:, None, None] * si - si @ cr @ si
            np.add.at(d, (blk.idx[:, :, None], blk.idx[:, None, :]), dk)
        jac = _jacobian(self.structure, theta, self.t)
        return fx["f"], np.tensordot(jac, d, axes=([1, 2], [0, 1]))

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """Central difference of the analytic gradient (symmetrised)."""
        q = theta.size
        h = 1e-4 * np.maximum(1.0, np.abs(theta))
        out = np.empty((q, q))
        for j in range(q):
            e = np.zeros(q)
            e[j] = h[j]
            out[:, j] = (self.value_grad(theta + e)[1] - self.value_grad(theta - e)[1]) / (2 * h[j])
        return (out + out.T) / 2


def _optimise(problem: _Problem, theta0: np.ndarray, max_iter: int) -> tuple[np.ndarray, dict]:
    from scipy import optimize   # here: 0.2-0.3 s of import a study without repeated measures skips

    res = optimize.minimize(problem.value_grad, theta0, jac=True, method="L-BFGS-B",
                            options={"maxiter": max_iter, "maxcor": 30, "ftol": 1e-15, "gtol": 1e-7})
    theta, iterations = res.x, int(res.nit)
    f, g = problem.value_grad(theta)
    hess = problem.hessian(theta)
    for _ in range(8):  # Newton polish: quadratic convergence from where L-BFGS stopped
        if not np.all(np.isfinite(hess)) or np.max(np.abs(g)) < 1e-9 * max(1.0, abs(f)):
            break
        try:
            step = -np.linalg.solve(hess, g)
        except np.linalg.LinAlgError:
            break
        for _half in range(20):
            f_new, g_new = problem.value_grad(theta + step)
            if f_new <= f + 1e-12 * abs(f):
                break
            step = step / 2
        else:
            break
        moved = float(np.max(np.abs(step)))
        theta, f, g = theta + step, f_new, g_new
        iterations += 1
        if moved > 1e-5:  # else the Hessian at the start of the step is the one at θ̂ to O(step)
            hess = problem.hessian(theta)
    return theta, {"f": f, "grad": g, "hess": hess, "iterations": iterations}


def _convergence_problem(problem: _Problem, theta: np.ndarray, info: dict) -> str:
    """Why a fit is not acceptable ('' if it is)."""
    f, g, hess = info["f"], info["grad"], info["hess"]
    if not math.isfinite(f) or f >= 1e299:
        return "REML criterion not finite"
    if not np.all(np.isfinite(hess)):
        return "Hessian not finite"
    if np.max(np.abs(g)) > 1e-4 * max(1.0, abs(f)) ** 0.5:
        return f"REML gradient not zero (max |g| = {np.max(np.abs(g)):.2g})"
    ev = np.linalg.eigvalsh(hess)
    if ev[0] <= 1e-6 * max(1.0, ev[-1]):
        return "REML Hessian not positive definite (covariance parameters not identified)"
    sigma = _sigma(problem.structure, theta, problem.t)
    sev = np.linalg.eigvalsh(sigma)
    if not np.all(np.isfinite(sev)) or sev[0] <= 1e-10 * sev[-1]:
        return "fitted covariance matrix singular"
    return ""


# ------------------------------------------------------------------------------------- REML engine
@dataclass(frozen=True)
class Contrast:
    """A linear combination l'β of the fixed effects; NaN with a `note` when not estimable."""

    estimate: float
    se: float
    df: float
    lower: float
    upper: float
    t: float
    p: float
    note: str = ""


@dataclass(frozen=True)
class GLSFit:
    """REML fit of y = Xβ + ε with ε correlated within subject over visits, and the asked contrasts."""

    contrasts: tuple[Contrast, ...]
    covariance: str                  # structure used; "" when none converged
    covariance_matrix: np.ndarray    # n_visits × n_visits (NaN for a visit without observations)
    beta: np.ndarray                 # per column of X (NaN for a column dropped as aliased)
    reml_loglik: float
    aic: float
    n_cov_params: int
    converged: bool
    iterations: int
    n_subjects: int
    n_obs: int
    df_method: str
    attempts: tuple[tuple[str, str], ...] = field(default=())
    aliased: tuple[int, ...] = field(default=())   # columns of X dropped as linear combinations of others
    note: str = ""


def gls_reml(y: np.ndarray, x: np.ndarray, subject: np.ndarray, visit: np.ndarray, n_visits: int, *,
             contrasts: np.ndarray, covariance: str | Sequence[str] = DEFAULT_COVARIANCE,
             df_method: str = "satterthwaite", conf_level: float = 0.95, max_iter: int = 500) -> GLSFit:
    """The engine under `mmrm`, for any mean model: REML fit of `y` on the design `x` (one row per
    subject and visit; `visit` = visit index 0..n_visits−1, `subject` any labels), then inference on
    each row l of `contrasts` (l'β: estimate, SE, df by `df_method`, CI, t, P)."""
    y, x, lmat, visit, order = _gls_inputs(y, x, visit, n_visits, contrasts, covariance, df_method, conf_level)
    n_obs, p_full = x.shape
    subj_codes, subj = np.unique(pd.factorize(pd.Series(np.asarray(subject)))[0], return_inverse=True)
    n_subjects = int(subj_codes.size)
    ctx = _FitContext(lmat.shape[0] if lmat.size else 0, n_visits, p_full, n_subjects, n_obs, df_method)
    if n_obs == 0:
        return ctx.failed("no observations")
    vpresent, tv = _visit_index(visit, n_visits, subj)
    t = int(vpresent.size)

    xtx = x.T @ x
    keep = independent_columns(xtx)
    basis = null_basis(xtx, keep)
    aliased = tuple(int(j) for j in np.setdiff1d(np.arange(p_full), keep))
    p = int(keep.size)
    if n_obs - p <= 0:
        return ctx.failed("no residual degrees of freedom", aliased=aliased)
    cols = _mean_columns(y, x, xtx, keep, basis)

    present = np.zeros((n_subjects, t), dtype=bool)
    present[subj, tv] = True
    blocks = _pattern_blocks(cols.xk, cols.yc, subj, tv, present)
    emp = _start_covariance(cols, subj, tv, present)
    attempts, fit = _fit_structures(blocks, t, p, n_obs, order, emp, max_iter)
    if fit is None:
        detail = "; ".join(f"{s}: {w}" for s, w in attempts)
        return ctx.failed(f"did not converge with any covariance structure ({detail})", tuple(attempts), aliased)
    problem, theta, info = fit
    est = _reml_estimate(problem, theta, info, df_method)

    out = [_contrast(l_full, cols, est, df_method, n_obs, conf_level)
           for l_full in (lmat if lmat.size else np.zeros((0, p_full)))]
    beta = np.full(p_full, math.nan)
    beta[keep] = est.beta_k + cols.ybar * cols.ones_coef
    cov_out = np.full((n_visits, n_visits), math.nan)
    cov_out[np.ix_(vpresent, vpresent)] = est.sigma
    loglik = -est.f / 2
    q = theta.size
    structure = problem.structure
    note = ""
    if structure != order[0]:
        note = f"covariance {structure} used: " + "; ".join(f"{s}: {w_}" for s, w_ in attempts[:-1])
    return GLSFit(tuple(out), structure, cov_out, beta, loglik, -2 * loglik + 2 * q, q, True, info["iterations"],
                  n_subjects, n_obs, df_method, tuple(attempts), aliased, note)


@dataclass(frozen=True)
class _FitContext:
    """What a GLS fit reports whatever happens to it, so that any stage can return the all-NaN failure."""

    n_contrasts: int
    n_visits: int
    p_full: int
    n_subjects: int
    n_obs: int
    df_method: str

    def failed(self, note: str, attempts: tuple = (), aliased: tuple = ()) -> GLSFit:
        """The result of a fit that could not be made: every number NaN, each contrast with the reason."""
        nan = math.nan
        cs = tuple(Contrast(*([nan] * 7), note=note) for _ in range(self.n_contrasts))
        return GLSFit(cs, "", np.full((self.n_visits, self.n_visits), nan), np.full(self.p_full, nan), nan, nan, 0,
                      False, 0, self.n_subjects, self.n_obs, self.df_method, attempts, aliased, note)


@dataclass(frozen=True)
class _MeanColumns:
    """The independent columns of the design, and the outcome centred when the constant is in their span."""

    keep: np.ndarray
    basis: np.ndarray        # null space of X: decides which contrasts are estimable
    xk: np.ndarray
    xtx_k: np.ndarray
    ones_coef: np.ndarray    # coefficients of the constant on the kept columns
    ybar: float
    yc: np.ndarray


@dataclass(frozen=True)
class _REMLEstimate:
    """What inference on a contrast needs at θ̂: β̂, its covariance, and the Satterthwaite ingredients."""

    sigma: np.ndarray
    f: float                 # −2 log L_R
    beta_k: np.ndarray
    phi: np.ndarray          # (X'V⁻¹X)⁻¹
    vcov: np.ndarray         # phi, or its Kenward–Roger adjustment
    w: np.ndarray            # covariance of θ̂
    pmat: np.ndarray         # P_h = X' ∂V⁻¹/∂θ_h X


def _gls_inputs(y: np.ndarray, x: np.ndarray, visit: np.ndarray, n_visits: int, contrasts: np.ndarray,
                covariance: str | Sequence[str], df_method: str,
                conf_level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The inputs as arrays and the covariance structures to try, after rejecting unusable ones up front."""
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[0] != y.size:
        raise ValueError("x must be a matrix with one row per element of y")
    lmat = np.atleast_2d(np.asarray(contrasts, dtype=float))
    if lmat.size and lmat.shape[1] != x.shape[1]:
        raise ValueError("contrasts must have one column per column of x")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(x))):
        raise ValueError("y and x must be finite (leave rows with missing values out before the fit)")
    visit = np.asarray(visit)
    if visit.size != y.size or (visit.size and (visit.min() < 0 or visit.max() >= n_visits)):
        raise ValueError("visit must hold one index in 0..n_visits-1 per row")
    require_conf_level(conf_level)
    order = [covariance] if isinstance(covariance, str) else list(covariance)
    bad = [s for s in order if s not in STRUCTURES]
    if not order or bad:
        raise ValueError(f"covariance must be among {STRUCTURES}, got {order}")
    if df_method not in DF_METHODS:
        raise ValueError(f"df_method must be one of {DF_METHODS}, got {df_method!r}")
    return y, x, lmat, visit, order


def _visit_index(visit: np.ndarray, n_visits: int, subj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Visits with observations and each row's index among them: the covariance is over observed visits only."""
    vcount = np.bincount(visit, minlength=n_visits)
    vpresent = np.flatnonzero(vcount > 0)
    t = int(vpresent.size)
    vindex = np.full(n_visits, -1)
    vindex[vpresent] = np.arange(t)
    tv = vindex[visit]
    key = subj.astype(np.int64) * t + tv
    if np.unique(key).size != key.size:
        raise ValueError("a subject has more than one row at the same visit")
    return vpresent, tv


def _mean_columns(y: np.ndarray, x: np.ndarray, xtx: np.ndarray, keep: np.ndarray,
                  basis: np.ndarray) -> _MeanColumns:
    """Kept columns, with y centred when the constant is in the column space (better conditioned cross-products)."""
    xk = x[:, keep]
    xtx_k = xtx[np.ix_(keep, keep)]
    ones_coef = np.linalg.solve(xtx_k, xk.sum(axis=0))
    has_const = bool(np.max(np.abs(xk @ ones_coef - 1.0)) < 1e-8)
    ybar = float(y.mean()) if has_const else 0.0
    return _MeanColumns(keep, basis, xk, xtx_k, ones_coef, ybar, y - ybar)


def _pattern_blocks(xk: np.ndarray, yc: np.ndarray, subj: np.ndarray, tv: np.ndarray,
                    present: np.ndarray) -> list[_Block]:
    """Cross-products per pattern of observed visits, so a criterion evaluation ignores the subject count."""
    p = xk.shape[1]
    patterns, pat_of_subj = np.unique(present, axis=0, return_inverse=True)
    pat_of_subj = pat_of_subj.ravel()
    row_order = np.lexsort((tv, subj, pat_of_subj[subj]))
    xs, ys, pats = xk[row_order], yc[row_order], pat_of_subj[subj[row_order]]
    bounds = np.searchsorted(pats, np.arange(patterns.shape[0] + 1))
    by_m: dict[int, list] = {}
    for k in range(patterns.shape[0]):
        vis = np.flatnonzero(patterns[k])
        m = vis.size
        xb = xs[bounds[k]:bounds[k + 1]].reshape(-1, m, p)
        yb = ys[bounds[k]:bounds[k + 1]].reshape(-1, m)
        nk = xb.shape[0]
        xf = xb.reshape(nk, m * p)
        gxx = (xf.T @ xf).reshape(m, p, m, p).transpose(0, 2, 1, 3)
        by_m.setdefault(m, []).append((vis, nk, gxx, np.einsum("iap,ib->abp", xb, yb), yb.T @ yb))
    return [_Block(np.array([e[0] for e in lst]), np.array([e[1] for e in lst], dtype=float),
                   np.stack([e[2] for e in lst]), np.stack([e[3] for e in lst]), np.stack([e[4] for e in lst]))
            for _, lst in sorted(by_m.items())]


def _start_covariance(cols: _MeanColumns, subj: np.ndarray, tv: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Covariance of OLS residuals by visit (pairwise), made positive definite: where every structure starts."""
    resid = cols.yc - cols.xk @ np.linalg.solve(cols.xtx_k, cols.xk.T @ cols.yc)
    rw = np.zeros(present.shape)
    rw[subj, tv] = resid
    cnt = present.astype(float).T @ present.astype(float)
    emp = (rw.T @ rw) / np.maximum(cnt, 1.0)
    ev, evec = np.linalg.eigh((emp + emp.T) / 2)
    floor = max(1e-2 * float(np.mean(np.diag(emp))), 1e-8)
    return (evec * np.maximum(ev, floor)) @ evec.T


def _fit_structures(blocks: list[_Block], t: int, p: int, n_obs: int, order: list[str], emp: np.ndarray,
                    max_iter: int) -> tuple[list[tuple[str, str]], tuple[_Problem, np.ndarray, dict] | None]:
    """Each structure in turn until one converges, recording why the others did not (the fallback order)."""
    attempts: list[tuple[str, str]] = []
    for structure in order:
        problem = _Problem(blocks, t, p, n_obs, structure)
        try:
            with np.errstate(over="ignore", under="ignore"):
                theta, info = _optimise(problem, _start(structure, emp), max_iter)
                why = _convergence_problem(problem, theta, info)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:  # numerical breakdown
            why = f"numerical failure ({exc})"
        if why:
            attempts.append((structure, why))
            continue
        attempts.append((structure, "converged"))
        return attempts, (problem, theta, info)
    return attempts, None


def _reml_estimate(problem: _Problem, theta: np.ndarray, info: dict, df_method: str) -> _REMLEstimate:
    """β̂ and its covariance at θ̂, with the pieces of the Satterthwaite df, computed once for all contrasts."""
    structure, t, p = problem.structure, problem.t, problem.p
    sigma = _sigma(structure, theta, t)
    fx = problem.fixed(sigma)
    assert fx is not None
    la, beta_k = fx["la"], fx["beta"]
    phi = np.linalg.solve(la.T, np.linalg.solve(la, np.eye(p)))
    w = 2 * np.linalg.inv(info["hess"])  # covariance of θ̂: inverse observed information of log L_R
    jac = _jacobian(structure, theta, t)
    q = theta.size
    pmat = np.zeros((q, p, p))  # P_h = X' ∂V⁻¹/∂θ_h X
    for blk, si in zip(problem.blocks, fx["sinvs"]):
        jk = jac[:, blk.idx[:, :, None], blk.idx[:, None, :]]
        mk = si[None] @ jk @ si[None]
        pmat -= blk.contract(mk)
    vcov = phi
    if df_method == "kenward-roger":
        vcov = _kenward_roger_vcov(problem, fx["sinvs"], structure, theta, jac, w, phi, pmat)
    return _REMLEstimate(sigma, fx["f"], beta_k, phi, vcov, w, pmat)


def _contrast(l_full: np.ndarray, cols: _MeanColumns, est: _REMLEstimate, df_method: str, n_obs: int,
              conf_level: float) -> Contrast:
    """Inference on one l'β (l over all columns of X), NaN with a note when it is not estimable."""
    if not is_estimable(l_full, cols.basis):
        return Contrast(*([math.nan] * 7), note="not estimable")
    l = l_full[cols.keep]
    value = float(l @ est.beta_k) + cols.ybar * float(l @ cols.ones_coef)
    se = math.sqrt(max(float(l @ est.vcov @ l), 0.0))
    if df_method == "residual":
        df = float(n_obs - cols.keep.size)
    else:
        u = est.phi @ l
        g = -np.einsum("p,hpq,q->h", u, est.pmat, u)
        denom = float(g @ est.w @ g)
        df = 2 * float(l @ u) ** 2 / denom if denom > 0 else math.inf
    lo, hi, tval, pval = t_inference(value, se, df, conf_level)
    return Contrast(value, se, df, lo, hi, tval, pval)


# ---------------------------------------------------------------------------------------------- MMRM
def mmrm(frame: pd.DataFrame, outcome: str, group: str, visit: str, subject: str, *,
         covariates: Sequence[str] = (), factors: Sequence[str] = (), covariate_by_visit: Sequence[str] = (),
         covariance: str | Sequence[str] = DEFAULT_COVARIANCE, df_method: str = "satterthwaite",
         reference: Hashable | None = None, groups: Sequence[Hashable] | None = None,
         visits: Sequence[Hashable] | None = None, conf_level: float = 0.95, max_iter: int = 500) -> MMRMResult:
    """Fit the MMRM of `outcome` (long format: one row per subject and visit) and return LS means and
    differences vs `reference` at each visit.

    `covariance` is one structure or an ordered list tried until one converges. `covariate_by_visit`
    names covariates (also fitted as main effects) that get a covariate-by-visit interaction, e.g.
    BASE. `groups` / `visits` fix levels and order (a listed group without subjects is reported with
    NaN and a note); by default the categorical order or the sorted values, reference = first group.
    `max_iter` bounds the L-BFGS iterations of each structure (Newton polishing steps come on top).
    """
    covariates, factors, cbv = list(covariates), list(factors), list(covariate_by_visit)
    for c in cbv:
        if c not in covariates:
            covariates.append(c)
    order = _mmrm_inputs(frame, [outcome, group, visit, subject], covariates, factors, covariance, df_method,
                         conf_level)
    data = _long_data(frame, outcome, group, visit, subject, covariates, factors, reference, groups, visits)
    glevels, vlevels, n_obs = data.glevels, data.vlevels, int(data.y.size)
    G, V = len(glevels), len(vlevels)
    notes = [f"no subjects in group {glevels[i]}" for i in range(G) if data.gcount[i] == 0]
    notes += [f"no observations at visit {vlevels[j]}" for j in range(V) if data.vcount[j] == 0]
    design = _mmrm_design(data, covariates, cbv)
    p_full = design.x.shape[1]
    rows, slots, notes_for = _mmrm_contrasts(data, design)
    fit = gls_reml(data.y, design.x, data.scode, data.vcode, V,
                   contrasts=np.array(rows) if rows else np.zeros((0, p_full)),
                   covariance=order, df_method=df_method, conf_level=conf_level, max_iter=max_iter)
    lsm, diffs = _mmrm_estimates(data, dict(zip(slots, fit.contrasts)), notes_for)
    empty_cells = {j for j in range(G * V) if data.cell_count.ravel()[j] == 0}
    aliased = [design.names[j] for j in fit.aliased if j not in empty_cells]
    if aliased:
        notes.append("aliased terms dropped: " + ", ".join(aliased))
    if fit.note:
        notes.append(fit.note)
    return MMRMResult(tuple(lsm["observed"]), tuple(lsm["equal"]), tuple(diffs), fit.covariance,
                      fit.covariance_matrix, tuple(vlevels), tuple(glevels), data.reference, df_method,
                      fit.reml_loglik, fit.aic, fit.n_cov_params, fit.converged, fit.iterations,
                      int(np.unique(data.scode).size) if n_obs else 0, n_obs, data.n_dropped, conf_level,
                      fit.attempts, "; ".join(notes))


@dataclass(frozen=True)
class _LongData:
    """The coded complete cases of the long frame, with the counts that decide which cells are estimable."""

    glevels: list[Hashable]
    vlevels: list[Hashable]
    reference: Hashable
    y: np.ndarray
    gcode: np.ndarray
    vcode: np.ndarray
    scode: np.ndarray
    covs: list[np.ndarray]                                  # values of the analysed rows
    facs: list[tuple[str, list[Hashable], np.ndarray]]      # (column, levels, codes of every input row)
    ok: np.ndarray                                          # which input rows are analysed
    n_dropped: int
    gcount: np.ndarray
    vcount: np.ndarray
    cell_count: np.ndarray                                  # groups × visits


@dataclass(frozen=True)
class _MMRMDesign:
    """The MMRM design matrix and where each term sits in it, so that the LS means can be written against it."""

    x: np.ndarray
    names: list[str]
    cell_col: np.ndarray                            # column of each group × visit cell mean
    fac_info: list[tuple[int, np.ndarray, int]]     # (first column, level codes, levels with observations)


def _mmrm_inputs(frame: pd.DataFrame, columns: list[str], covariates: list[str], factors: list[str],
                 covariance: str | Sequence[str], df_method: str, conf_level: float) -> list[str]:
    """The covariance structures to try, after rejecting unusable arguments before touching the data."""
    require_columns(frame, [*columns, *covariates, *factors])  # columns: outcome, group, visit, subject
    require_conf_level(conf_level)
    if len({*columns, *covariates, *factors}) != 4 + len(covariates) + len(factors):
        raise ValueError("outcome, group, visit, subject, covariates and factors must be distinct columns")
    order = [covariance] if isinstance(covariance, str) else list(covariance)
    if not order or any(s not in STRUCTURES for s in order):
        raise ValueError(f"covariance must be among {STRUCTURES}, got {order}")
    if df_method not in DF_METHODS:
        raise ValueError(f"df_method must be one of {DF_METHODS}, got {df_method!r}")
    return order


def _long_data(frame: pd.DataFrame, outcome: str, group: str, visit: str, subject: str, covariates: list[str],
               factors: list[str], reference: Hashable | None, groups: Sequence[Hashable] | None,
               visits: Sequence[Hashable] | None) -> _LongData:
    """Levels, codes and counts of the complete cases; a subject with two rows at one visit is an error."""
    glevels, gcode = factorize(frame[group], groups)
    vlevels, vcode = factorize(frame[visit], visits)
    if not glevels or not vlevels:
        raise ValueError("no group or visit levels")
    ref = glevels[0] if reference is None else reference
    if ref not in glevels:
        raise ValueError(f"reference {ref!r} is not among the groups {glevels}")
    _, scode = factorize(frame[subject])
    y = pd.to_numeric(frame[outcome], errors="coerce").to_numpy(float)
    ok = (gcode >= 0) & (vcode >= 0) & (scode >= 0) & np.isfinite(y)
    covs = []
    for c in covariates:
        v = pd.to_numeric(frame[c], errors="coerce").to_numpy(float)
        ok &= np.isfinite(v)
        covs.append(v)
    facs = []
    for f in factors:
        fl, fc = factorize(frame[f])
        ok &= fc >= 0
        facs.append((f, fl, fc))
    n_dropped = int((~ok).sum())
    y, gcode, vcode, scode = y[ok], gcode[ok], vcode[ok], scode[ok]
    G, V = len(glevels), len(vlevels)
    if len(np.unique(scode.astype(np.int64) * V + vcode)) != y.size:
        dup = pd.Series(scode.astype(np.int64) * V + vcode).duplicated().to_numpy()
        i = int(np.flatnonzero(dup)[0])
        raise ValueError(f"subject {frame.loc[ok, subject].iloc[i]!r} has more than one row at visit "
                         f"{vlevels[vcode[i]]!r}")
    return _LongData(glevels, vlevels, ref, y, gcode, vcode, scode, [v[ok] for v in covs], facs, ok, n_dropped,
                     np.bincount(gcode, minlength=G), np.bincount(vcode, minlength=V),
                     np.bincount(gcode * V + vcode, minlength=G * V).reshape(G, V))


def _mmrm_design(data: _LongData, covariates: list[str], cbv: list[str]) -> _MMRMDesign:
    """Cell means, centred covariates, factor dummies and covariate × visit terms: the model the LS means use."""
    G, V, n_obs, vcode = len(data.glevels), len(data.vlevels), int(data.y.size), data.vcode
    x = np.zeros((n_obs, G * V))
    x[np.arange(n_obs), data.gcode * V + vcode] = 1.0
    names = [f"{data.glevels[g]}:{data.vlevels[v]}" for g in range(G) for v in range(V)]
    extra: list[np.ndarray] = []
    centred = {}
    for c, v in zip(covariates, data.covs):
        centred[c] = v - v.mean() if n_obs else v
        extra.append(centred[c])
        names.append(c)
    fac_info = []
    for f, fl, fc in data.facs:
        fc = fc[data.ok]
        used = np.flatnonzero(np.bincount(fc, minlength=len(fl)))
        remap = np.full(len(fl), -1)
        remap[used] = np.arange(used.size)
        fcu = remap[fc]
        fac_info.append((G * V + len(extra), fcu, used.size))
        for lv in range(1, used.size):
            extra.append((fcu == lv).astype(float))
            names.append(f"{f}[{fl[used[lv]]}]")
    vpresent = np.flatnonzero(data.vcount > 0)
    for c in cbv:
        for j in vpresent[1:]:
            extra.append(centred[c] * (vcode == j))
            names.append(f"{c}:{data.vlevels[j]}")
    if extra:
        x = np.hstack([x, np.column_stack(extra)])
    return _MMRMDesign(x, names, np.arange(G * V).reshape(G, V), fac_info)


def _mmrm_lvec(design: _MMRMDesign, gi: int, vj: int, weighting: str) -> np.ndarray:
    """Contrast of group `gi`'s LS mean at visit `vj`: covariates at their mean (0), factor levels weighted."""
    l = np.zeros(design.x.shape[1])
    l[design.cell_col[gi, vj]] = 1.0
    for start, fcu, nl in design.fac_info:
        l[start:start + nl - 1] = factor_weights(fcu, nl, weighting)
    return l


def _mmrm_contrasts(data: _LongData,
                    design: _MMRMDesign) -> tuple[list[np.ndarray], list[tuple], dict[tuple, str]]:
    """The contrasts to fit and where each result goes, with the reason for each one left out (an empty cell)."""
    glevels, vlevels, ref = data.glevels, data.vlevels, data.reference
    gcount, vcount, cell_count = data.gcount, data.vcount, data.cell_count
    iref = glevels.index(ref)
    rows, slots = [], []   # contrasts to estimate and where their results go
    notes_for: dict[tuple, str] = {}
    for kind in ("observed", "equal", "diff"):
        for vj in range(len(vlevels)):
            for gi in range(len(glevels)):
                if kind == "diff" and gi == iref:
                    continue
                why = _cell_note(gcount[gi], vcount[vj], cell_count[gi, vj], glevels[gi], vlevels[vj])
                if kind == "diff" and not why:
                    why = _cell_note(gcount[iref], vcount[vj], cell_count[iref, vj], ref, vlevels[vj], True)
                if why:
                    notes_for[(kind, vj, gi)] = why
                    continue
                slots.append((kind, vj, gi))
                rows.append(_mmrm_lvec(design, gi, vj, "equal") - _mmrm_lvec(design, iref, vj, "equal")
                            if kind == "diff" else _mmrm_lvec(design, gi, vj, kind))
    return rows, slots, notes_for


def _mmrm_estimates(data: _LongData, results: dict[tuple, Contrast],
                    notes_for: dict[tuple, str]) -> tuple[dict[str, list[LSMean]], list[Difference]]:
    """LS means and differences by visit then group from the fitted contrasts, NaN with the reason if left out."""
    ref = data.reference
    iref = data.glevels.index(ref)
    lsm: dict[str, list[LSMean]] = {"observed": [], "equal": []}
    diffs: list[Difference] = []
    for kind in ("observed", "equal", "diff"):
        for vj, v in enumerate(data.vlevels):
            for gi, g in enumerate(data.glevels):
                if kind == "diff" and gi == iref:
                    continue
                c = results.get((kind, vj, gi))
                note = notes_for.get((kind, vj, gi), "") if c is None else c.note
                if c is None:
                    c = Contrast(*([math.nan] * 7), note=note)
                if kind == "diff":
                    diffs.append(Difference(g, ref, c.estimate, c.se, c.df, c.lower, c.upper, c.t, c.p, visit=v,
                                            note=note))
                else:
                    lsm[kind].append(LSMean(g, c.estimate, c.se, c.df, c.lower, c.upper, visit=v, note=note))
    return lsm, diffs


def _cell_note(n_group: int, n_visit: int, n_cell: int, g: Hashable, v: Hashable, reference: bool = False) -> str:
    if n_group == 0:
        return f"no subjects in {'reference ' if reference else ''}group {g}"
    if n_visit == 0:
        return f"no observations at visit {v}"
    if n_cell == 0:
        return f"no observations in {'reference ' if reference else ''}group {g} at visit {v}"
    return ""


def _kenward_roger_vcov(problem: _Problem, sinvs: list[np.ndarray], structure: str, theta: np.ndarray,
                        jac: np.ndarray, w: np.ndarray, phi: np.ndarray, pmat: np.ndarray) -> np.ndarray:
    """Φ_A = Φ + 2Φ [Σ_hj W_hj (Q_hj − P_h Φ P_j − R_hj / 4)] Φ (Kenward & Roger 1997).

    Σ W Q and Σ W PΦP are invariant to the parametrisation; R (second derivatives of Σ) is taken in
    SAS's parametrisation, where it vanishes except for AR(1)."""
    p, t = phi.shape[0], problem.t
    u = np.einsum("hj,jab->hab", w, jac)
    sum_q = np.zeros((p, p))
    second = _kr_second_order(structure, theta, t)
    e_mat = None
    if second is not None:
        jn, d2 = second
        wn = jn @ w @ jn.T
        e_mat = np.einsum("hj,hjab->ab", wn, d2)
    sum_r = np.zeros((p, p))
    for blk, si in zip(problem.blocks, sinvs):
        ix = (blk.idx[:, :, None], blk.idx[:, None, :])
        jk = jac[:, ix[0], ix[1]]
        uk = u[:, ix[0], ix[1]]
        bk = np.einsum("hkac,hkcd->kad", jk @ si[None], uk)
        mk = si @ bk @ si
        sum_q += blk.contract(mk)
        if e_mat is not None:
            mr = si @ e_mat[ix] @ si
            sum_r += blk.contract(mr)
    sum_ppp = np.einsum("hj,hpq,qr,jrs->ps", w, pmat, phi, pmat)
    adj = phi + 2 * phi @ (sum_q - sum_ppp - sum_r / 4) @ phi
    return (adj + adj.T) / 2

"""ANCOVA at one visit: outcome ~ group + numeric covariates + categorical factors (OLS).

Conventions (stated in every report's methods):
- LS means per group with continuous covariates at their mean over the analysed subjects, under two
  weightings of the factor levels: "observed" margins (each level weighted by its share of the
  analysed subjects; SAS LSMEANS / OM and R emmeans `weights = "proportional"`, which for factors
  entering additively equals emmeans `"outer"`) and "equal" weights (SAS LSMEANS without OM, the
  emmeans default). SAS computes OM margins over rows that also include subjects whose outcome is
  missing; here, as in emmeans, they are the margins of the subjects in the model.
- Differences of each group vs the reference group (identical under both weightings, as the model
  has no group-by-factor interaction): estimate, SE, t with the residual df, two-sided P, CI.
- Optional dose-response: the one-df linear contrast over the group LS means with coefficients
  (d_g − mean d) / Σ (d_g − mean d)², i.e. the least-squares slope of the LS means on dose per unit
  of dose (unweighted over groups), with its t test.
- Subjects with a missing outcome, covariate, factor or group are left out (complete cases) and counted.
Numbers only: nothing here formats.

The fit is statsmodels OLS on the Cholesky factor of the cross-product matrix of the centred design:
the same normal equations and residual sum of squares as the n rows, built in one O(n·p²) pass, so
10^6 subjects take a fraction of a second. Columns that are linear combinations of earlier ones (a
constant covariate, a factor level that coincides with a group) are dropped as R `lm` does, and an LS
mean that depends on them is reported as not estimable.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialpress.analysis import distributions as dist

WEIGHTINGS = ("observed", "equal")


@dataclass(frozen=True)
class LSMean:
    """An LS mean (of a group, at a visit for repeated measures); NaN with a `note` when not estimable."""

    group: Hashable
    estimate: float
    se: float
    df: float
    lower: float
    upper: float
    visit: Hashable | None = None
    note: str = ""


@dataclass(frozen=True)
class Difference:
    """LS-mean difference group − reference, with a two-sided t test; NaN with a `note` when not estimable."""

    group: Hashable
    reference: Hashable
    estimate: float
    se: float
    df: float
    lower: float
    upper: float
    t: float
    p: float
    visit: Hashable | None = None
    note: str = ""


@dataclass(frozen=True)
class DoseResponse:
    """One-df linear trend over the group LS means: the slope per unit of dose, its SE, t and P."""

    doses: dict[Hashable, float]
    coefficients: dict[Hashable, float]
    estimate: float
    se: float
    df: float
    lower: float
    upper: float
    t: float
    p: float
    note: str = ""


@dataclass(frozen=True)
class AncovaResult:
    lsmeans_observed: tuple[LSMean, ...]
    lsmeans_equal: tuple[LSMean, ...]
    differences: tuple[Difference, ...]
    residual_sd: float
    df_resid: float
    n_used: int
    n_dropped: int
    groups: tuple[Hashable, ...]
    reference: Hashable
    conf_level: float
    dose_response: DoseResponse | None = None
    note: str = ""


# ------------------------------------------------------------------------------------ shared helpers
def factorize(series: pd.Series, given: Sequence[Hashable] | None = None) -> tuple[list[Hashable], np.ndarray]:
    """Levels and the code of each value (−1 = missing). Levels are `given` (in that order), else the
    categorical order, else the sorted distinct values; a value outside `given` is an error."""
    if isinstance(series.dtype, pd.CategoricalDtype) and given is None:
        return list(series.cat.categories), series.cat.codes.to_numpy().astype(np.intp)
    codes, uniques = pd.factorize(series, sort=given is None)
    codes = codes.astype(np.intp)
    if given is None:
        return list(uniques), codes
    levels = list(given)
    index = pd.Index(levels)
    if not index.is_unique:
        raise ValueError(f"levels of {series.name!r} repeat a value: {levels}")
    pos = index.get_indexer(pd.Index(uniques))
    if (pos < 0).any():
        bad = sorted(map(str, np.asarray(uniques)[pos < 0]))[:5]
        raise ValueError(f"values of {series.name!r} not among its levels {levels}: {bad}")
    return levels, np.where(codes >= 0, pos[codes] if pos.size else codes, -1)


def require_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"columns not in the data: {missing}")


def require_conf_level(conf_level: float) -> None:
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be between 0 and 1, got {conf_level}")


def independent_columns(xtx: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """Indices of the columns kept when each column that is (numerically) a linear combination of the
    earlier ones is dropped, as R `lm` does: a sequential Cholesky on the unit-diagonal cross-products."""
    p = xtx.shape[0]
    d = np.sqrt(np.clip(np.diag(xtx), 0, None))
    keep: list[int] = []
    chol = np.zeros((p, p))
    for j in range(p):
        if d[j] == 0:
            continue
        col = xtx[keep, j] / (d[keep] * d[j]) if keep else np.zeros(0)
        k = len(keep)
        v = np.linalg.solve(chol[:k, :k], col) if k else col
        resid = 1.0 - float(v @ v)
        if resid > tol:
            chol[k, :k] = v
            chol[k, k] = math.sqrt(resid)
            keep.append(j)
    return np.array(keep, dtype=int)


def null_basis(xtx: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Basis (columns) of the null space of X given X'X and its independent columns: a contrast l is
    estimable iff l' N = 0. For each dropped column j, (−b, e_j) with X_keep b = x_j."""
    p = xtx.shape[0]
    dropped = np.setdiff1d(np.arange(p), keep)
    if dropped.size == 0:
        return np.zeros((p, 0))
    a = xtx[np.ix_(keep, keep)]
    basis = np.zeros((p, dropped.size))
    for i, j in enumerate(dropped):
        basis[keep, i] = -np.linalg.solve(a, xtx[keep, j]) if keep.size else 0.0
        basis[j, i] = 1.0
    return basis


def is_estimable(l: np.ndarray, basis: np.ndarray, tol: float = 1e-6) -> bool:
    if basis.shape[1] == 0:
        return True
    scale = max(1.0, float(np.abs(l).max()))
    b = basis / np.maximum(np.linalg.norm(basis, axis=0), 1e-300)
    return bool(np.abs(l @ b).max() <= tol * scale)


def t_inference(estimate: float, se: float, df: float, conf_level: float) -> tuple[float, float, float, float]:
    """CI lower, upper, t and two-sided P for estimate/SE with `df` degrees of freedom (NaN if unusable)."""
    if not (math.isfinite(estimate) and math.isfinite(se) and se > 0 and df > 0 and not math.isnan(df)):
        nan = math.nan
        return nan, nan, nan, nan
    q = dist.t_two_sided(conf_level, df)
    t = estimate / se
    return estimate - q * se, estimate + q * se, t, float(2 * dist.t_sf(abs(t), df))


def factor_weights(codes: np.ndarray, n_levels: int, weighting: str) -> np.ndarray:
    """Weights of a factor's levels 2..L in an LS mean (level 1 is the reference of the dummy coding)."""
    if weighting == "equal":
        w = np.full(n_levels, 1.0 / n_levels)
    else:
        w = np.bincount(codes, minlength=n_levels) / codes.size
    return w[1:]


def dose_coefficients(doses: Mapping[Hashable, float], groups: Sequence[Hashable]) -> dict[Hashable, float]:
    """(d_g − mean d) / Σ (d_g − mean d)² over `groups`: the least-squares slope of the group means on dose."""
    d = np.array([float(doses[g]) for g in groups])
    c = d - d.mean()
    ss = float(c @ c)
    return {g: float(ci / ss) for g, ci in zip(groups, c)} if ss > 0 else {}


# ------------------------------------------------------------------------------------------ ANCOVA
def ancova(frame: pd.DataFrame, outcome: str, group: str, *, covariates: Sequence[str] = (),
           factors: Sequence[str] = (), reference: Hashable | None = None,
           groups: Sequence[Hashable] | None = None, doses: Mapping[Hashable, float] | None = None,
           conf_level: float = 0.95) -> AncovaResult:
    """ANCOVA of `outcome` (one row per subject) on `group`, numeric `covariates` and categorical `factors`.

    `groups` fixes the group levels and their order (a listed group without subjects is reported
    with NaN and a note); by default the levels are the categorical order or sorted values and the
    reference is the first one. `doses` (group → numeric dose) adds the linear dose-response test.
    """
    covariates, factors = list(covariates), list(factors)
    levels, gcode, ref = _ancova_levels(frame, outcome, group, covariates, factors, reference, groups, doses,
                                        conf_level)
    design = _ancova_design(frame, outcome, group, covariates, factors, levels, gcode, ref)
    notes = [f"no subjects in group {levels[i]}" for i in range(len(levels)) if design.counts[i] == 0]
    if design.n == 0:
        return _empty_result(design, notes, "no subjects with complete data", doses, conf_level)
    fit = _fit_ols(design)
    if fit is None:
        return _empty_result(design, notes, "no residual degrees of freedom", doses, conf_level)
    lsmeans = {weighting: _lsmeans(design, fit, weighting, conf_level) for weighting in WEIGHTINGS}
    diffs = _differences(design, fit, conf_level)
    dose_result = None if doses is None else _dose_response(design, fit, doses, conf_level)
    aliased = [design.names[j] for j in range(len(design.names)) if j not in set(fit.keep.tolist())]
    if aliased:
        notes.append("aliased terms dropped: " + ", ".join(aliased))
    return AncovaResult(lsmeans["observed"], lsmeans["equal"], diffs, math.sqrt(fit.scale), float(fit.df_resid),
                        design.n, design.n_dropped, tuple(levels), ref, conf_level, dose_result, "; ".join(notes))


@dataclass(frozen=True)
class _Design:
    """The complete-case design with where each group and factor sits, so LS means can be written against it."""

    levels: list[Hashable]
    reference: Hashable
    counts: np.ndarray                              # subjects per group level
    present: list[int]                              # group levels with subjects
    names: list[str]                                # one per column of x
    gpos: dict[int, int | None]                     # column of each present group's dummy (None: first group)
    fac_info: list[tuple[int, np.ndarray, int]]     # (first column, level codes, levels with subjects)
    x: np.ndarray
    yc: np.ndarray                                  # outcome centred at ybar
    ybar: float
    n: int
    n_dropped: int


@dataclass(frozen=True)
class _OLSFit:
    """β̂ and its covariance over all columns (aliased ones zero), with what decides estimability."""

    beta: np.ndarray
    cov: np.ndarray
    keep: np.ndarray
    basis: np.ndarray
    df_resid: int
    scale: float

    def linear(self, l: np.ndarray) -> tuple[float, float]:
        """Estimate and SE of l'β, NaN when l'β is not estimable, so aliasing shows as a note, not a number."""
        if not is_estimable(l, self.basis):
            return math.nan, math.nan
        return float(l @ self.beta), math.sqrt(max(float(l @ self.cov @ l), 0.0))


def _ancova_levels(frame: pd.DataFrame, outcome: str, group: str, covariates: list[str], factors: list[str],
                   reference: Hashable | None, groups: Sequence[Hashable] | None,
                   doses: Mapping[Hashable, float] | None,
                   conf_level: float) -> tuple[list[Hashable], np.ndarray, Hashable]:
    """Group levels, group codes and reference, after rejecting unusable input before any computing."""
    require_columns(frame, [outcome, group, *covariates, *factors])
    require_conf_level(conf_level)
    if set(covariates) & set(factors) or group in covariates + factors or outcome in covariates + factors:
        raise ValueError("outcome, group, covariates and factors must be distinct columns")
    levels, gcode = factorize(frame[group], groups)
    if not levels:
        raise ValueError(f"no levels for group column {group!r}")
    ref = levels[0] if reference is None else reference
    if ref not in levels:
        raise ValueError(f"reference {ref!r} is not among the groups {levels}")
    if doses is not None:
        unknown = [g for g in doses if g not in levels]
        if unknown:
            raise ValueError(f"doses given for groups not in the data's levels: {unknown}")
    return levels, gcode, ref


def _complete_cases(frame: pd.DataFrame, outcome: str, gcode: np.ndarray, covariates: list[str],
                    factors: list[str]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray],
                                                 list[tuple[list[Hashable], np.ndarray]]]:
    """Which rows are analysed (no missing outcome, group, covariate or factor), with their raw values."""
    y = pd.to_numeric(frame[outcome], errors="coerce").to_numpy(float)
    ok = (gcode >= 0) & np.isfinite(y)
    cov_values = []
    for c in covariates:
        v = pd.to_numeric(frame[c], errors="coerce").to_numpy(float)
        ok &= np.isfinite(v)
        cov_values.append(v)
    fac_codes = []
    for f in factors:
        fl, fc = factorize(frame[f])
        ok &= fc >= 0
        fac_codes.append((fl, fc))
    return ok, y, cov_values, fac_codes


def _ancova_design(frame: pd.DataFrame, outcome: str, group: str, covariates: list[str], factors: list[str],
                   levels: list[Hashable], gcode: np.ndarray, ref: Hashable) -> _Design:
    """Intercept, present-group dummies, centred covariates and factor dummies: the model the LS means use."""
    ok, y, cov_values, fac_codes = _complete_cases(frame, outcome, gcode, covariates, factors)
    n_dropped = int((~ok).sum())
    n = int(ok.sum())
    y, gcode = y[ok], gcode[ok]
    counts = np.bincount(gcode, minlength=len(levels))
    present = [i for i in range(len(levels)) if counts[i] > 0]
    names = ["(Intercept)"]
    gpos: dict[int, int | None] = {i: None for i in present}
    for i in present[1:]:
        gpos[i] = len(names)
        names.append(f"{group}[{levels[i]}]")
    names += covariates
    fac_info = []
    for f, (fl, fc) in zip(factors, fac_codes):
        fc = fc[ok]
        used = np.flatnonzero(np.bincount(fc, minlength=len(fl)))  # levels with subjects, in order
        remap = np.full(len(fl), -1)
        remap[used] = np.arange(used.size)
        fac_info.append((len(names), remap[fc], used.size))
        names += [f"{f}[{fl[lv]}]" for lv in used[1:]]
    x = np.zeros((n, len(names)), order="F")
    x[:, 0] = 1.0
    for i in present[1:]:
        x[:, gpos[i]] = gcode == i
    for j, v in enumerate(cov_values, start=len(present)):
        v = v[ok]
        x[:, j] = v - v.mean() if n else v
    for start, fc, nl in fac_info:
        for lv in range(1, nl):
            x[:, start + lv - 1] = fc == lv
    ybar = float(y.mean()) if n else 0.0
    return _Design(levels, ref, counts, present, names, gpos, fac_info, x, y - ybar, ybar, n, n_dropped)


def _empty_result(design: _Design, notes: list[str], note: str, doses: Mapping[Hashable, float] | None,
                  conf_level: float) -> AncovaResult:
    """The result when no model can be fitted: every number NaN, each with the reason."""
    levels, ref, counts = design.levels, design.reference, design.counts
    lsm = tuple(LSMean(g, math.nan, math.nan, math.nan, math.nan, math.nan,
                       note=(f"no subjects in group {g}" if counts[i] == 0 else note))
                for i, g in enumerate(levels))
    diffs = tuple(Difference(g, ref, *([math.nan] * 7), note=note) for g in levels if g != ref)
    return AncovaResult(lsm, lsm, diffs, math.nan, math.nan, design.n, design.n_dropped, tuple(levels), ref,
                        conf_level,
                        None if doses is None else DoseResponse(dict(doses), {}, *([math.nan] * 7), note=note),
                        "; ".join([*notes, note]))


def _fit_ols(design: _Design) -> _OLSFit | None:
    """OLS on the Cholesky factor of X'X (the n rows' normal equations, cheaply); None without residual df."""
    x, yc, p = design.x, design.yc, design.x.shape[1]
    xtx = x.T @ x
    keep = independent_columns(xtx)
    basis = null_basis(xtx, keep)
    df_resid = design.n - keep.size
    if df_resid <= 0:
        return None
    xk = x[:, keep]
    a = xtx[np.ix_(keep, keep)]
    r = np.linalg.cholesky(a).T  # upper: R'R = X'X
    xty = xk.T @ yc
    c = np.linalg.solve(r.T, xty)
    from statsmodels.regression.linear_model import OLS   # here: 0.26 s of import a study without ANCOVA skips

    fit = OLS(c, r).fit()  # square system with the same normal equations as the n rows
    beta_k = np.asarray(fit.params)
    rss = max(float(yc @ yc - c @ c), 0.0)
    scale = rss / df_resid
    beta = np.zeros(p)
    beta[keep] = beta_k
    beta[0] += design.ybar
    cov = np.zeros((p, p))
    cov[np.ix_(keep, keep)] = np.asarray(fit.normalized_cov_params) * scale
    return _OLSFit(beta, cov, keep, basis, df_resid, scale)


def _lvec(design: _Design, i: int, weighting: str) -> np.ndarray:
    """Contrast of group `i`'s LS mean: covariates at their mean (0 when centred), factor levels weighted."""
    l = np.zeros(len(design.names))
    l[0] = 1.0
    gpos = design.gpos[i]
    if gpos is not None:
        l[gpos] = 1.0
    for start, fc, nl in design.fac_info:
        l[start:start + nl - 1] = factor_weights(fc, nl, weighting)
    return l


def _lsmeans(design: _Design, fit: _OLSFit, weighting: str, conf_level: float) -> tuple[LSMean, ...]:
    """LS means of every group level under one weighting, NaN with a note for a group without subjects."""
    out = []
    for i, g in enumerate(design.levels):
        if design.counts[i] == 0:
            out.append(LSMean(g, *([math.nan] * 5), note=f"no subjects in group {g}"))
            continue
        est, se = fit.linear(_lvec(design, i, weighting))
        lo, hi, _, _ = t_inference(est, se, fit.df_resid, conf_level)
        out.append(LSMean(g, est, se, float(fit.df_resid), lo, hi, note="" if math.isfinite(est) else "not estimable"))
    return tuple(out)


def _differences(design: _Design, fit: _OLSFit, conf_level: float) -> tuple[Difference, ...]:
    """Each group vs the reference (the same under both weightings: no group-by-factor interaction)."""
    levels, ref, counts = design.levels, design.reference, design.counts
    iref = levels.index(ref)
    diffs = []
    for i, g in enumerate(levels):
        if g == ref:
            continue
        if counts[i] == 0 or counts[iref] == 0:
            why = f"no subjects in group {g}" if counts[i] == 0 else f"no subjects in reference group {ref}"
            diffs.append(Difference(g, ref, *([math.nan] * 7), note=why))
            continue
        est, se = fit.linear(_lvec(design, i, "equal") - _lvec(design, iref, "equal"))
        lo, hi, t, pval = t_inference(est, se, fit.df_resid, conf_level)
        diffs.append(Difference(g, ref, est, se, float(fit.df_resid), lo, hi, t, pval,
                                note="" if math.isfinite(est) else "not estimable"))
    return tuple(diffs)


def _dose_response(design: _Design, fit: _OLSFit, doses: Mapping[Hashable, float],
                   conf_level: float) -> DoseResponse:
    """The linear trend over the LS means of the groups with subjects and a dose, noting those left out."""
    levels, counts = design.levels, design.counts
    with_dose = [i for i in design.present if levels[i] in doses]
    skipped = [levels[i] for i in range(len(levels)) if levels[i] in doses and counts[i] == 0]
    coefs = dose_coefficients(doses, [levels[i] for i in with_dose])
    if len(with_dose) < 2 or not coefs:
        return DoseResponse(dict(doses), {}, *([math.nan] * 7),
                            note="fewer than two groups with subjects and distinct doses")
    l = sum(coefs[levels[i]] * _lvec(design, i, "equal") for i in with_dose)
    est, se = fit.linear(l)
    lo, hi, t, pval = t_inference(est, se, fit.df_resid, conf_level)
    note = "; ".join(f"group {g} has no subjects and is left out" for g in skipped)
    return DoseResponse(dict(doses), coefs, est, se, float(fit.df_resid), lo, hi, t, pval, note)

"""The quantiles and tail probabilities the analyses need, from `scipy.special`.

Why not `scipy.stats`: importing it costs ~0.75 s of every cold run (it loads the whole distribution
catalogue and its test suite), while the analyses use eight functions of five distributions. Each
function below calls the very `scipy.special` routine that `scipy.stats` calls for it (checked against
scipy's source: `_continuous_distns.py`, scipy 1.17), so the values are the same bits
(`tests/test_distributions.py` compares them with `scipy.stats` on grids), without the import.
Arguments are plain floats inside the support; nothing here broadcasts or validates like `rv_continuous`.

`scipy.special` itself is imported without numpy.f2py and numpy.testing, which scipy's array-API layer
imports only by cloning numpy's namespace and which no routine used here touches (`lazy_imports`: 0.06-0.1 s
of every cold run). The analyses import `special` from here, so that this holds whichever comes first.
"""

from __future__ import annotations

from trialpress.lazy_imports import deferred

with deferred("numpy.f2py", "numpy.testing"):
    from scipy import special


def norm_ppf(q: float) -> float:
    """Standard normal quantile (`stats.norm.ppf`)."""
    return float(special.ndtri(q))


def norm_sf(x: float) -> float:
    """Standard normal upper tail P(Z > x) (`stats.norm.sf`)."""
    return float(special.ndtr(-x))


def z_two_sided(conf_level: float) -> float:
    """The normal quantile of a two-sided interval at `conf_level` (1.959964… at 0.95)."""
    return norm_ppf(1 - (1 - conf_level) / 2)


def chi2_sf(x: float, df: float) -> float:
    """Chi-square upper tail (`stats.chi2.sf`)."""
    return float(special.chdtrc(df, x))


def chi2_ppf(q: float, df: float) -> float:
    """Chi-square quantile (`stats.chi2.ppf`: twice the inverse regularised lower gamma at df/2)."""
    return float(2 * special.gammaincinv(df / 2, q))


def t_ppf(q: float, df: float) -> float:
    """Student t quantile (`stats.t.ppf`)."""
    return float(special.stdtrit(df, q))


def t_two_sided(conf_level: float, df: float) -> float:
    """The t quantile of a two-sided interval at `conf_level` with `df` degrees of freedom."""
    return t_ppf(1 - (1 - conf_level) / 2, df)


def t_sf(x: float, df: float) -> float:
    """Student t upper tail (`stats.t.sf`)."""
    return float(special.stdtr(df, -x))


def beta_ppf(q: float, a: float, b: float) -> float:
    """Beta quantile (`stats.beta.ppf`; both are Boost's inverse regularised incomplete beta)."""
    return float(special.betaincinv(a, b, q))


def gamma_ppf(q: float, a: float) -> float:
    """Gamma quantile, unit scale (`stats.gamma.ppf`)."""
    return float(special.gammaincinv(a, q))

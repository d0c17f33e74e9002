"""The analyses' quantiles and tails (`analysis.distributions`, from scipy.special) are scipy.stats's, bit
for bit; and a render of a study with time-to-event and logistic analyses imports neither scipy.stats nor
statsmodels (the ~2 s of imports that module and the own logistic fit remove from a cold run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from trialpress.analysis import distributions as dist

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(20261202)
Q = np.concatenate([[1e-12, 1e-6, 0.0005, 0.005, 0.025, 0.05, 0.5, 0.95, 0.975, 0.995, 0.9995, 1 - 1e-9],
                    RNG.uniform(0, 1, 300)])
X = np.concatenate([[0.0, 1e-8, 0.5, 1.96, 3.84, 10.0, 40.0, 1e3], RNG.exponential(5, 300)])
DF = [1, 2, 3, 4.5, 7, 12.25, 30, 99, 1000]


def _same(ours: list[float], theirs: np.ndarray) -> None:
    np.testing.assert_array_equal(np.array(ours), np.asarray(theirs, float))


def test_normal() -> None:
    _same([dist.norm_ppf(q) for q in Q], stats.norm.ppf(Q))
    _same([dist.norm_sf(x) for x in np.concatenate([X, -X])], stats.norm.sf(np.concatenate([X, -X])))
    assert dist.z_two_sided(0.95) == float(stats.norm.ppf(0.975))
    assert dist.z_two_sided(0.90) == pytest.approx(1.6448536269514722, rel=1e-15)


@pytest.mark.parametrize("df", DF)
def test_chi_square_and_t(df: float) -> None:
    _same([dist.chi2_sf(x, df) for x in X], stats.chi2.sf(X, df))
    _same([dist.chi2_ppf(q, df) for q in Q], stats.chi2.ppf(Q, df))
    _same([dist.t_ppf(q, df) for q in Q], stats.t.ppf(Q, df))
    assert dist.t_two_sided(0.95, df) == float(stats.t.ppf(0.975, df))
    _same([dist.t_sf(x, df) for x in np.concatenate([X, -X])], stats.t.sf(np.concatenate([X, -X]), df))


def test_against_r() -> None:
    """R 4.2 (options(digits = 17)): qnorm(0.975), pnorm(2.5, lower.tail = FALSE), qchisq(0.95, 1),
    pchisq(10, 3, lower.tail = FALSE), qt(0.975, 7), pt(2.2, 12.25, lower.tail = FALSE)."""
    assert dist.z_two_sided(0.95) == pytest.approx(1.9599639845400536, rel=1e-14)
    assert dist.norm_sf(2.5) == pytest.approx(0.0062096653257761349, rel=1e-13)
    assert dist.chi2_ppf(0.95, 1) == pytest.approx(3.841458820694124, rel=1e-13)
    assert dist.chi2_sf(10, 3) == pytest.approx(0.018566135463043233, rel=1e-13)
    assert dist.t_two_sided(0.95, 7) == pytest.approx(2.3646242515927844, rel=1e-13)
    assert dist.t_sf(2.2, 12.25) == pytest.approx(0.023850483912754305, rel=1e-12)


def test_beta_and_gamma() -> None:
    a, b = RNG.integers(1, 600, 400).astype(float), RNG.integers(1, 600, 400).astype(float)
    q = RNG.uniform(0, 1, 400)
    _same([dist.beta_ppf(*v) for v in zip(q, a, b)], stats.beta.ppf(q, a, b))
    _same([dist.gamma_ppf(*v) for v in zip(q, a)], stats.gamma.ppf(q, a))
    # the Clopper-Pearson and Garwood limits R 4.2 prints (binom.test(3, 10)$conf.int, poisson.test(3)$conf.int,
    # print(..., digits = 16))
    assert dist.beta_ppf(0.025, 3, 8) == pytest.approx(0.0667395111777345, rel=1e-13)
    assert dist.beta_ppf(0.975, 4, 7) == pytest.approx(0.6524528500599973, rel=1e-13)
    assert dist.gamma_ppf(0.025, 3) == pytest.approx(0.6186721228956016, rel=1e-13)
    assert dist.gamma_ppf(0.975, 4) == pytest.approx(8.7672730697423233, rel=1e-13)


def test_rendering_a_study_imports_no_scipy_stats_nor_statsmodels(tmp_path: Path) -> None:
    code = ("import sys; from trialpress import cli; "
            f"rc = cli.main(['render', {str(ROOT / 'analysis' / 'blinatumomab-salvage.yml')!r}, '--out', "
            f"{str(tmp_path)!r}, '--format', 'html', '--quiet', '--no-cache']); "
            "print(rc, sorted(m for m in ('scipy.stats', 'statsmodels', 'lifelines') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "0 []", out.stderr[-2000:]

"""Reusable building blocks for calibrated synthetic ADaM studies.

Everything here is deterministic given its inputs: random numbers come from
:func:`rng_for`, which derives an independent, reproducible stream for each named
component of a generator, so adding a component does not shift the others.

Time conventions used by all generators
---------------------------------------
* Internally an event is stored as a day *offset* from an anchor date
  (offset 0 = the anchor itself, e.g. the first dose).
* A duration in days counts both ends: ``ADT - STARTDT + 1`` (an event on the
  start date lasts 1 day). ADTTE ``AVAL`` in months is ``days / 30.4375``
  rounded to 4 decimals (:func:`months`).

The survival helpers :func:`km_median` and :func:`cox_binary` reproduce
lifelines' ``KaplanMeierFitter().median_survival_time_`` and ``CoxPHFitter``
(Efron ties, Wald CI) for the two-group case; generators use them inside their
calibration loops because they are ~100x faster than fitting lifelines models.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "DAYS_PER_MONTH",
    "AETerm",
    "CoxResult",
    "CureWeibull",
    "PiecewiseExponential",
    "Weibull",
    "add_days",
    "assign_by_rank",
    "balanced_flag",
    "calibrate",
    "cox_binary",
    "draw_ae_events",
    "km_median",
    "months",
    "rng_for",
    "stratified_uniforms",
    "top_k",
    "write_datasets",
]

DAYS_PER_MONTH = 30.4375


# --------------------------------------------------------------------------- RNG
def rng_for(seed: int, *keys: str | int) -> np.random.Generator:
    """An independent generator for component ``keys`` of a study generated with ``seed``.

    Keys are hashed with CRC-32 (stable across runs and platforms, unlike ``hash``).
    """
    words = [int(seed) & 0xFFFFFFFF]
    for key in keys:
        words.append(zlib.crc32(str(key).encode("utf-8")) if isinstance(key, str) else int(key) & 0xFFFFFFFF)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))


# --------------------------------------------------------------------- dates, units
def add_days(dates: pd.Series | np.ndarray, days: np.ndarray | pd.Series | int) -> pd.Series:
    """``dates + days`` (days may be NaN → NaT), as a datetime64 Series."""
    dates = pd.to_datetime(pd.Series(dates)).reset_index(drop=True)
    offset = pd.to_timedelta(pd.Series(np.asarray(days, dtype=float)), unit="D")
    return (dates + offset).reset_index(drop=True)


def months(days: np.ndarray | pd.Series) -> np.ndarray:
    """Days → months (``days / 30.4375``), rounded to 4 decimals as stored in ADTTE.AVAL."""
    return np.round(np.asarray(days, dtype=float) / DAYS_PER_MONTH, 4)


# ------------------------------------------------------------- time distributions
@dataclass(frozen=True)
class Weibull:
    """Weibull time distribution parametrised by its median (months) and shape."""

    median: float
    shape: float

    @property
    def scale(self) -> float:
        return self.median / np.log(2.0) ** (1.0 / self.shape)

    def ppf(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        return self.scale * (-np.log1p(-p)) ** (1.0 / self.shape)

    def sf(self, t: np.ndarray) -> np.ndarray:
        return np.exp(-((np.asarray(t, dtype=float) / self.scale) ** self.shape))


@dataclass(frozen=True)
class CureWeibull:
    """Mixture cure model: a fraction ``cure`` never has the event (time = inf);
    the others follow a Weibull with the given *uncured* median and shape."""

    cure: float
    median: float
    shape: float

    def ppf(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        out = np.full(p.shape, np.inf)
        uncured = p < 1.0 - self.cure
        out[uncured] = Weibull(self.median, self.shape).ppf(p[uncured] / (1.0 - self.cure))
        return out

    def sf(self, t: np.ndarray) -> np.ndarray:
        return self.cure + (1.0 - self.cure) * Weibull(self.median, self.shape).sf(t)


@dataclass(frozen=True)
class PiecewiseExponential:
    """Piecewise-constant hazard: ``hazards[i]`` (per month) on ``[breaks[i-1], breaks[i])``,
    with ``breaks`` the interior cut points (months, increasing); the last hazard runs to inf."""

    breaks: tuple[float, ...]
    hazards: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.hazards) != len(self.breaks) + 1:
            raise ValueError("PiecewiseExponential needs len(hazards) == len(breaks) + 1")

    def _cumhaz_at_breaks(self) -> np.ndarray:
        edges = np.concatenate([[0.0], self.breaks])
        widths = np.diff(edges)
        return np.concatenate([[0.0], np.cumsum(np.asarray(self.hazards[:-1]) * widths)])

    def ppf(self, p: np.ndarray) -> np.ndarray:
        target = -np.log1p(-np.asarray(p, dtype=float))
        edges = np.concatenate([[0.0], self.breaks])
        cum = self._cumhaz_at_breaks()
        idx = np.searchsorted(cum, target, side="right") - 1
        hz = np.asarray(self.hazards)[idx]
        with np.errstate(divide="ignore"):
            return np.where(hz > 0, edges[idx] + (target - cum[idx]) / np.where(hz > 0, hz, 1.0), np.inf)

    def sf(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        edges = np.concatenate([[0.0], self.breaks])
        cum = self._cumhaz_at_breaks()
        idx = np.searchsorted(edges, t, side="right") - 1
        return np.exp(-(cum[idx] + np.asarray(self.hazards)[idx] * (t - edges[idx])))


def stratified_uniforms(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` sorted uniforms, one in each of the strata ``[i/n, (i+1)/n)``.

    Quantile-matched sampling: the empirical distribution of ``ppf(u)`` follows
    the target closely, so calibration only has to correct small deviations.
    """
    return (np.arange(n) + rng.random(n)) / n


def assign_by_rank(score: np.ndarray, values_sorted: np.ndarray) -> np.ndarray:
    """Give the largest value to the highest score, and so on (ties broken by position)."""
    score = np.asarray(score, dtype=float)
    order = np.argsort(score, kind="stable")
    out = np.empty(len(score), dtype=np.asarray(values_sorted).dtype)
    out[order] = np.sort(values_sorted, kind="stable")
    return out


def top_k(score: np.ndarray, k: int, eligible: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask of the ``k`` eligible elements with the highest score (exact count)."""
    score = np.asarray(score, dtype=float)
    elig = np.ones(len(score), bool) if eligible is None else np.asarray(eligible, bool)
    if elig.sum() < k:
        raise ValueError(f"top_k: only {int(elig.sum())} eligible for {k} places")
    masked = np.where(elig, score, -np.inf)
    order = np.argsort(-masked, kind="stable")
    mask = np.zeros(len(score), bool)
    mask[order[:k]] = True
    return mask


def balanced_flag(rng: np.random.Generator, sort_key: np.ndarray, k: int) -> np.ndarray:
    """Choose exactly ``k`` of ``n`` items spread evenly along ``sort_key`` (systematic sampling
    with a random start and random tie order), so the chosen and unchosen items have nearly
    the same distribution of ``sort_key``. Used to make a covariate carry no prognostic signal.
    """
    n = len(sort_key)
    order = np.lexsort((rng.random(n), np.asarray(sort_key, dtype=float)))
    if k == 0:
        return np.zeros(n, bool)
    step = n / k
    picks = np.floor(rng.random() * step + step * np.arange(k)).astype(int)
    mask = np.zeros(n, bool)
    mask[order[np.clip(picks, 0, n - 1)]] = True
    return mask


# ------------------------------------------------------------------ estimators
def km_median(time: np.ndarray, event: np.ndarray) -> float:
    """Kaplan–Meier median as lifelines computes it: the first time with S(t) <= 0.5 (inf if none)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    uniq, inv = np.unique(time, return_inverse=True)
    deaths = np.bincount(inv, weights=event, minlength=len(uniq))
    removed = np.bincount(inv, minlength=len(uniq))
    at_risk = len(time) - np.concatenate([[0], np.cumsum(removed)[:-1]])
    with np.errstate(divide="ignore"):
        surv = np.exp(np.cumsum(np.log(1.0 - deaths / at_risk)))
    hit = np.nonzero(surv <= 0.5)[0]
    return float(uniq[hit[0]]) if len(hit) else float("inf")


def km_median_margin(time: np.ndarray, event: np.ndarray) -> float:
    """Distance of the KM curve from 0.5 on both sides of its median step.

    A tiny margin means S(t) == 0.5 on an interval, where SAS (midpoint) and lifelines
    (left end) disagree; generators reject such data.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    uniq, inv = np.unique(time, return_inverse=True)
    deaths = np.bincount(inv, weights=event, minlength=len(uniq))
    removed = np.bincount(inv, minlength=len(uniq))
    at_risk = len(time) - np.concatenate([[0], np.cumsum(removed)[:-1]])
    with np.errstate(divide="ignore"):
        surv = np.exp(np.cumsum(np.log(1.0 - deaths / at_risk)))
    return float(np.min(np.abs(surv - 0.5)))


@dataclass(frozen=True)
class CoxResult:
    hr: float
    se: float  # SE of log HR
    lower: float
    upper: float
    p: float

    def as_dict(self) -> dict[str, float]:
        return {"hr": self.hr, "se": self.se, "lower": self.lower, "upper": self.upper, "p": self.p}


def cox_binary(time: np.ndarray, event: np.ndarray, x: np.ndarray) -> CoxResult:
    """Cox model with one binary covariate, Efron ties, Wald 95% CI and P (as lifelines' CoxPHFitter)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    x = np.asarray(x, dtype=float)
    uniq, inv = np.unique(time, return_inverse=True)
    m = len(uniq)
    n1_at = np.bincount(inv, weights=x, minlength=m)
    n_at = np.bincount(inv, minlength=m).astype(float)
    n1_risk = n1_at[::-1].cumsum()[::-1]
    n0_risk = (n_at - n1_at)[::-1].cumsum()[::-1]
    d1 = np.bincount(inv, weights=event * x, minlength=m)
    d = np.bincount(inv, weights=event, minlength=m)
    d0 = d - d1
    keep = d > 0
    n1_risk, n0_risk, d1, d0, d = n1_risk[keep], n0_risk[keep], d1[keep], d0[keep], d[keep]
    # expand the Efron sums: one row per (event time, l = 0..d-1)
    rep = np.repeat(np.arange(len(d)), d.astype(int))
    frac = np.concatenate([np.arange(k) / k for k in d.astype(int)]) if len(d) else np.zeros(0)
    beta = 0.0
    for _ in range(50):
        eb = np.exp(beta)
        a = (n0_risk + n1_risk * eb)[rep] - frac * (d0 + d1 * eb)[rep]
        b = (n1_risk * eb)[rep] - frac * (d1 * eb)[rep]
        ratio = b / a
        score = d1.sum() - ratio.sum()
        info = (ratio - ratio**2).sum()
        step = score / info
        beta += step
        if abs(step) < 1e-12:
            break
    eb = np.exp(beta)
    a = (n0_risk + n1_risk * eb)[rep] - frac * (d0 + d1 * eb)[rep]
    b = (n1_risk * eb)[rep] - frac * (d1 * eb)[rep]
    ratio = b / a
    se = float(1.0 / np.sqrt((ratio - ratio**2).sum()))
    z = stats.norm.ppf(0.975)
    return CoxResult(
        hr=float(np.exp(beta)),
        se=se,
        lower=float(np.exp(beta - z * se)),
        upper=float(np.exp(beta + z * se)),
        p=float(2 * stats.norm.sf(abs(beta / se))),
    )


# ------------------------------------------------------------------ calibration
def calibrate(
    params: dict[str, float],
    measure: Callable[[dict[str, float]], dict[str, float]],
    update: Callable[[dict[str, float], dict[str, float]], dict[str, float]],
    done: Callable[[dict[str, float]], bool],
    max_iter: int = 40,
) -> tuple[dict[str, float], dict[str, float], bool]:
    """Deterministic fixed-point calibration.

    ``measure(params)`` builds the data with ``params`` (always from the same random
    numbers) and returns the statistics; ``update(params, stats)`` returns new params
    moved towards the targets; stops when ``done(stats)``. Returns the last params,
    their statistics and whether the targets were met.
    """
    stats_ = measure(params)
    for _ in range(max_iter):
        if done(stats_):
            return params, stats_, True
        params = update(params, stats_)
        stats_ = measure(params)
    return params, stats_, done(stats_)


# --------------------------------------------------------------------- adverse events
@dataclass(frozen=True)
class AETerm:
    """One row of an AE incidence table.

    ``incidence`` maps a group label to the proportion of subjects with at least one
    event; ``grades`` are the probabilities of CTCAE grades 1-4 (grade 5 is added
    separately where a death is attributed to an AE); ``onset`` is ``"early"`` (first
    days of a cycle, e.g. cytokine release syndrome), ``"first_weeks"`` (first two
    weeks of a cycle, e.g. neurologic events) or ``"any"`` (uniform over the window);
    ``recur`` is the mean number of additional episodes in subjects who have one.
    """

    decod: str
    bodsys: str
    incidence: Mapping[str, float]
    grades: tuple[float, float, float, float]
    related: float = 0.3
    onset: str = "any"
    recur: float = 0.0
    verbatim: tuple[str, ...] = ()
    serious_boost: float = 0.0


def draw_ae_events(
    rng: np.random.Generator,
    terms: Sequence[AETerm],
    group: np.ndarray,
    window_start: np.ndarray,
    window_end: np.ndarray,
    cycle_len: int,
    n_cycles: np.ndarray,
) -> pd.DataFrame:
    """Draw AE episodes from an incidence table.

    For each term and group exactly ``round(incidence * n_group)`` subjects get the
    term (so the table's incidences are reproduced exactly), drawn without replacement
    with weights proportional to the subject's exposure window. Onset offsets (days
    from the first dose, 0-based) fall inside ``[window_start, window_end]``.
    Returns one row per episode: ``subject`` (index), ``term`` (index into ``terms``),
    ``onset`` (offset), ``grade``.
    """
    group = np.asarray(group)
    win_len = np.asarray(window_end) - np.asarray(window_start) + 1
    rows: list[tuple[int, int, int, int]] = []
    for t_idx, term in enumerate(terms):
        for g, inc in sorted(term.incidence.items()):
            members = np.nonzero((group == g) & (win_len > 0))[0]
            k = int(round(inc * np.sum(group == g)))
            k = min(k, len(members))
            if k == 0:
                continue
            w = np.sqrt(win_len[members].astype(float))
            chosen = rng.choice(members, size=k, replace=False, p=w / w.sum())
            for subj in np.sort(chosen):
                n_ep = 1 + rng.poisson(term.recur)
                for _ in range(n_ep):
                    onset = _ae_onset(rng, term.onset, window_start[subj], window_end[subj], cycle_len, n_cycles[subj])
                    grade = 1 + int(rng.choice(4, p=np.asarray(term.grades) / np.sum(term.grades)))
                    rows.append((int(subj), t_idx, int(onset), grade))
    out = pd.DataFrame(rows, columns=["subject", "term", "onset", "grade"])
    return out.drop_duplicates(["subject", "term", "onset"]).reset_index(drop=True)


def _ae_onset(rng: np.random.Generator, kind: str, lo: int, hi: int, cycle_len: int, n_cycles: int) -> int:
    if kind in ("early", "first_weeks"):
        # mostly cycle 1, sometimes a later cycle
        cyc = 0 if rng.random() < 0.8 or n_cycles <= 1 else int(rng.integers(1, n_cycles))
        base = lo + cyc * cycle_len
        day = base + (int(rng.integers(0, 3)) if kind == "early" else int(rng.integers(0, 15)))
        if lo <= day <= hi:
            return day
    return int(rng.integers(lo, hi + 1))


# ---------------------------------------------------------------------- writing
def write_datasets(
    datasets: Mapping[str, pd.DataFrame],
    folder: Path,
    keys: Mapping[str, Sequence[str]],
    float_format: str = "%.10g",
) -> list[Path]:
    """Write each dataset to ``<folder>/<name lowercase>.csv`` deterministically.

    Rows sorted by ``keys[name]``, columns as given in the frame, ``\\n`` line ends,
    floats with ``float_format`` (values should already be rounded), dates as ISO
    ``YYYY-MM-DD``, missing values as empty fields.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for name in sorted(datasets):
        df = datasets[name].sort_values(list(keys[name]), kind="stable").reset_index(drop=True)
        path = folder / f"{name.lower()}.csv"
        text = df.to_csv(index=False, lineterminator="\n", float_format=float_format, date_format="%Y-%m-%d")
        path.write_bytes(text.encode("utf-8"))
        paths.append(path)
    return paths


def choose(rng: np.random.Generator, options: Iterable[str], probs: Sequence[float], size: int) -> np.ndarray:
    """Categorical draw with explicit probabilities (normalised)."""
    opts = list(options)
    p = np.asarray(probs, dtype=float)
    return np.asarray(opts, dtype=object)[rng.choice(len(opts), size=size, p=p / p.sum())]

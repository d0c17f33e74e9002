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

The survival measures :func:`km_median` and :func:`cox_binary` are thin adapters over the analysis
engine (``trialpress.analysis.survival.kaplan_meier``, ``km_quantile``, ``cox``): the generators
calibrate against exactly the numbers the engine reports. This package imports the engine; the
engine never imports it.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy import stats

from trialpress.analysis.survival import cox, kaplan_meier, km_quantile

__all__ = [
    "DAYS_PER_MONTH",
    "DIGITS_ACCEPT",
    "AETerm",
    "Bisection",
    "CoxResult",
    "CureWeibull",
    "PiecewiseExponential",
    "TwoGroupFit",
    "Weibull",
    "add_days",
    "assign_by_rank",
    "balanced_flag",
    "bisect_increasing",
    "calibrate_two_groups",
    "censor",
    "choose",
    "choose_moves",
    "cox_binary",
    "deviation",
    "draw_ae_events",
    "km_median",
    "km_median_margin",
    "months",
    "norm_rank",
    "nudge_earlier_to_median",
    "nudge_to_median",
    "rng_for",
    "stratified_uniforms",
    "top_k",
    "wald_deviation",
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
    """``dates + days`` (days may be NaN or infinite → NaT), as a datetime64 Series."""
    dates = pd.to_datetime(pd.Series(dates)).reset_index(drop=True)
    d = np.broadcast_to(np.asarray(days, dtype=float), (len(dates),))
    known = np.isfinite(d)
    # NaN never reaches pandas' unit conversion (it may warn about the garbage it computes for them)
    out = dates + pd.to_timedelta(pd.Series(np.where(known, d, 0.0)), unit="D")
    out[~known] = pd.NaT
    return out.reset_index(drop=True)


def censor(event_offset: np.ndarray, last_contact: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Right-censoring: the observed offset ``min(event, last contact)`` and whether the event
    was observed (``event <= last contact``; an event on the cut-off day counts)."""
    event_offset = np.asarray(event_offset, dtype=float)
    last_contact = np.asarray(last_contact, dtype=float)
    observed = event_offset <= last_contact
    return np.where(observed, event_offset, last_contact), observed


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


def norm_rank(x: np.ndarray) -> np.ndarray:
    """Normal scores of the ranks of ``x`` (ties broken by position)."""
    r = np.argsort(np.argsort(np.asarray(x, dtype=float), kind="stable"), kind="stable")
    return stats.norm.ppf((r + 0.5) / len(r))


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
# The generators measure their data with the analysis engine's own estimators (trialpress.analysis.survival),
# so the calibration targets exactly what `trialpress analyze` reports; nothing here re-implements them.
def km_median(time: np.ndarray, event: np.ndarray) -> float:
    """The engine's Kaplan–Meier median (:func:`km_quantile` of :func:`kaplan_meier`); ``inf`` if not reached."""
    est = km_quantile(kaplan_meier(np.asarray(time, dtype=float), np.asarray(event, dtype=bool)), 0.5).value
    return float("inf") if math.isnan(est) else float(est)


def km_median_margin(time: np.ndarray, event: np.ndarray) -> float:
    """Distance of the engine's KM curve from 0.5 at its closest step.

    A tiny margin means S(t) == 0.5 on an interval, where conventions disagree (R and the engine take the
    midpoint of the flat stretch, SAS and lifelines other points); generators reject such data.
    """
    curve = kaplan_meier(np.asarray(time, dtype=float), np.asarray(event, dtype=bool))
    return float(np.min(np.abs(curve.surv - 0.5))) if curve.n else float("inf")


@dataclass(frozen=True)
class CoxResult:
    """The group term of a one-covariate Cox fit by the engine."""

    hr: float
    se: float  # SE of log HR
    lower: float
    upper: float
    p: float

    def as_dict(self) -> dict[str, float]:
        return {"hr": self.hr, "se": self.se, "lower": self.lower, "upper": self.upper, "p": self.p}


def cox_binary(time: np.ndarray, event: np.ndarray, x: np.ndarray, ties: str = "efron") -> CoxResult:
    """The engine's Cox model (:func:`trialpress.analysis.survival.cox`) with one 0/1 covariate: HR of
    ``x = 1`` vs ``x = 0``, Wald 95% CI and Wald P, Efron ties (the bundled plans' convention)."""
    frame = pd.DataFrame({"time": np.asarray(time, dtype=float), "event": np.asarray(event, dtype=bool).astype(int),
                          "x": np.asarray(x, dtype=float)})
    term = cox(frame, "time", "event", ["x"], ties=ties).terms["x"]
    return CoxResult(hr=term.hr.value, se=term.se, lower=term.hr.lower, upper=term.hr.upper, p=term.p)


# ------------------------------------------------------------------ calibration
@dataclass(frozen=True)
class Bisection:
    """Outcome of :func:`bisect_increasing`: ``hit`` says whether ``value`` is within tolerance;
    otherwise ``lo``/``hi`` is the final bracket (``f(lo) < target < f(hi)``), or ``bracketed``
    is False when the target lies outside ``[f(lo), f(hi)]``."""

    x: float
    value: float
    hit: bool
    bracketed: bool
    lo: float
    hi: float


def bisect_increasing(
    f: Callable[[float], float],
    target: float,
    lo: float,
    hi: float,
    tol: float,
    max_iter: int = 40,
    log_scale: bool = True,
) -> Bisection:
    """Bisection for ``f(x) ≈ target`` with ``f`` non-decreasing (it may be a step function).

    Stops at the first ``x`` with ``|f(x) - target| <= tol``. A step function can jump over
    the tolerance window; then ``hit`` is False and ``lo`` is the largest ``x`` tried with
    ``f(x) < target`` (callers may nudge the data there). NaN counts as "above target".
    """
    f_lo, f_hi = f(lo), f(hi)
    for x, fx in ((lo, f_lo), (hi, f_hi)):
        if abs(fx - target) <= tol:
            return Bisection(x, fx, True, True, lo, hi)
    if not (f_lo < target < f_hi):
        return Bisection(lo, f_lo, False, False, lo, hi)
    for _ in range(max_iter):
        mid = float(np.sqrt(lo * hi)) if log_scale else 0.5 * (lo + hi)
        fm = f(mid)
        if abs(fm - target) <= tol:
            return Bisection(mid, fm, True, True, lo, hi)
        if fm < target:
            lo = mid
        else:
            hi = mid
    return Bisection(lo, f(lo), False, True, lo, hi)


def nudge_to_median(
    time: np.ndarray, event: np.ndarray, latest: np.ndarray, target: float, tol: float
) -> tuple[int, float] | None:
    """Move one event so that the KM median lands on ``target``.

    Used when the median jumps over the target between two consecutive event times: the
    event at which S(t) first drops to <= 0.5 is moved later, to the day closest to
    ``target`` (still before the next event, and not after ``latest`` of that subject, e.g.
    the cut-off). Moving it later only deepens its own drop, so it stays the median.
    Returns ``(position, new time in months)`` or ``None`` if no valid move exists.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    med = km_median(time, event)
    new_t = round(round(target * DAYS_PER_MONTH) / DAYS_PER_MONTH, 4)
    if not np.isfinite(med) or med >= new_t:
        return None
    later_events = time[event & (time > med)]
    if len(later_events) and later_events.min() <= new_t:
        return None
    for i in np.nonzero(event & (time == med))[0][::-1]:
        if latest[i] < new_t:
            continue
        trial = time.copy()
        trial[i] = new_t
        if abs(km_median(trial, event) - target) <= tol and km_median_margin(trial, event) > 1e-6:
            return int(i), new_t
    return None


# ------------------------------------------------------------- printed digits
#: A calibrated number is accepted when it is at least this far inside its rounding interval
#: (deviation < 0.999 half-units of the last printed digit), so that no platform's last-bit
#: difference can flip a printed digit.
DIGITS_ACCEPT = 0.999


def deviation(value: Any, printed: str) -> Any:
    """How far ``value`` (a number or an array) is from being printed as ``printed``, in half-units of
    its last digit.

    Below 1 the report prints ``value`` as ``printed`` (it rounds half away from zero,
    ``trialpress.report.formatting.fixed``). For a bound such as ``"< .001"`` it is
    ``value / bound`` (below 1: printed as the bound). NaN counts as infinitely far.
    """
    s = printed.strip()
    x = np.asarray(value, dtype=float)
    if s.startswith("<"):
        out = x / float(s[1:].strip())
    else:
        decimals = len(s.split(".")[1]) if "." in s else 0
        out = np.abs(x - float(s)) / (0.5 * 10.0**-decimals)
    out = np.where(np.isnan(out), np.inf, out)
    return float(out) if out.ndim == 0 else out


def wald_deviation(log_hr: np.ndarray, se: np.ndarray, printed: Mapping[str, str]) -> np.ndarray:
    """:func:`deviation` of the HR, its Wald 95% CI and Wald P implied by ``log_hr`` and its ``se``, from the
    printed ``{"hr", "lower", "upper", "p"}`` (the largest of the four)."""
    z = stats.norm.ppf(0.975)
    b, se = np.asarray(log_hr, dtype=float), np.asarray(se, dtype=float)
    return np.maximum.reduce([deviation(np.exp(b), printed["hr"]), deviation(np.exp(b - z * se), printed["lower"]),
                              deviation(np.exp(b + z * se), printed["upper"]),
                              deviation(2 * stats.norm.sf(np.abs(b) / se), printed["p"])])


Move = TypeVar("Move")


def choose_moves(
    fit: Callable[[list[Move]], tuple[float, float]],
    exact: Callable[[list[Move]], float],
    options: Sequence[Move],
    subject: Callable[[Move], int],
    printed: Mapping[str, str],
    max_moves: int,
    beam: int = 3000,
    verify: int = 40,
    accept: float = DIGITS_ACCEPT,
) -> list[Move] | None:
    """The fewest ``options`` (at most one per subject) after which the numbers print as ``printed``.

    ``fit(chosen)`` fits the Cox model with the moves ``chosen`` applied and returns ``(log HR, SE of log
    HR)``; ``exact(chosen)`` is the acceptance criterion, the largest :func:`deviation` of every printed
    number (< ``accept``: all print as published). Each option is fitted alone once; sets of options are
    then searched level by level (1, 2, ... moves) with their effects on log HR and SE added up: a beam of
    the ``beam`` sets whose predicted :func:`wald_deviation` is smallest. At each level the sets predicted
    to print as published are checked with ``exact``, best first (at most ``verify``), and the first that
    passes is returned. Deterministic (stable orders, ties to the earlier option). ``None`` if nothing
    passes within ``max_moves``.
    """
    if exact([]) < accept:
        return []
    b0, se0 = fit([])
    n_opt = len(options)
    if n_opt == 0:
        return None
    effect = np.array([fit([m]) for m in options], dtype=float) - np.array([b0, se0])
    subjects = {s: i for i, s in enumerate(dict.fromkeys(subject(m) for m in options))}
    subj = np.array([subjects[subject(m)] for m in options])
    # a set of options is identified by the sum of fixed random 64-bit codes of its members (dedup)
    codes = np.random.Generator(np.random.PCG64(0)).integers(0, 2**63, n_opt, dtype=np.uint64)
    paths = np.zeros((1, 0), int)
    keys = np.zeros(1, np.uint64)
    used = np.zeros((1, len(subjects)), bool)
    sums = np.zeros((1, 2))
    for _ in range(max_moves):
        parent = np.repeat(np.arange(len(paths)), n_opt)
        opt = np.tile(np.arange(n_opt), len(paths))
        fresh = ~used[parent, subj[opt]]
        parent, opt = parent[fresh], opt[fresh]
        key = keys[parent] + codes[opt]
        first = np.sort(np.unique(key, return_index=True)[1])
        parent, opt, key = parent[first], opt[first], key[first]
        total = sums[parent] + effect[opt]
        predicted = wald_deviation(b0 + total[:, 0], se0 + total[:, 1], printed)
        order = np.argsort(predicted, kind="stable")
        for k in order[:verify]:
            if predicted[k] >= accept:
                break
            chosen = [options[i] for i in sorted([*paths[parent[k]], opt[k]])]
            if exact(chosen) < accept:
                return chosen
        keep = order[:beam]
        paths = np.column_stack([paths[parent[keep]], opt[keep]])
        keys, sums = key[keep], total[keep]
        used = used[parent[keep]]
        used[np.arange(len(keep)), subj[opt[keep]]] = True
    return None


def nudge_earlier_to_median(
    time: np.ndarray, event: np.ndarray, earliest: np.ndarray, target: float, tol: float, tries: int = 20
) -> tuple[int, float] | None:
    """Move one event earlier so that the KM median lands on ``target`` (the mirror of :func:`nudge_to_median`).

    Used when the median lies above ``target`` with no event near it: one of the first events after
    ``target`` (nearest first, at most ``tries``) is moved to the day closest to ``target``, if not
    before ``earliest`` of that subject. Returns ``(position, new time in months)`` or ``None``.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    new_t = round(round(target * DAYS_PER_MONTH) / DAYS_PER_MONTH, 4)
    if km_median(time, event) <= new_t:
        return None
    after = np.nonzero(event & (time > new_t))[0]
    for i in after[np.argsort(time[after], kind="stable")][:tries]:
        if earliest[i] > new_t:
            continue
        trial = time.copy()
        trial[i] = new_t
        if abs(km_median(trial, event) - target) <= tol and km_median_margin(trial, event) > 1e-6:
            return int(i), new_t
    return None


@dataclass(frozen=True)
class TwoGroupFit:
    """Result of :func:`calibrate_two_groups`: per-group scale, the common lever, nudged
    events ``{group: (position, new time in months)}``, the achieved medians and Cox fit."""

    scale: dict[str, float]
    lever: float
    nudges: dict[str, tuple[int, float]]
    median: dict[str, float]
    cox: CoxResult


GroupMeasure = Callable[[str, float, float], tuple[np.ndarray, np.ndarray, np.ndarray]]


def calibrate_two_groups(
    measure_group: GroupMeasure,
    reference: str,
    comparator: str,
    median_target: Mapping[str, float],
    hr_target: float,
    scale_range: Mapping[str, tuple[float, float]],
    lever_range: tuple[float, float],
    median_tol: float,
    hr_tol: float,
) -> TwoGroupFit | None:
    """Calibrate a two-group time-to-event dataset to target KM medians and a Cox HR.

    ``measure_group(group, scale, lever)`` returns ``(time, event, latest)`` (months) for one
    group's subjects, built from *fixed* random numbers with a group-specific ``scale`` (the
    KM median must be non-decreasing in it) and a common ``lever`` (e.g. a Weibull shape)
    that raises the HR of ``comparator`` vs ``reference`` once the medians are fixed;
    ``latest`` is how late each subject's event may be moved (``-inf``: not movable).

    Nested bisection: for each lever value the scales are solved for the medians (if the
    KM median jumps over the target, one event is nudged, see :func:`nudge_to_median`);
    the lever is solved for the HR. Returns ``None`` if the targets cannot be met with these
    random numbers (callers then try another sub-seed).
    """
    groups = (reference, comparator)

    def group_data(g: str, scale: float, lever: float, nudge: tuple[int, float] | None):
        t, e, latest = measure_group(g, scale, lever)
        if nudge is not None:
            t = t.copy()
            t[nudge[0]] = nudge[1]
        return t, e, latest

    def fit(lever: float) -> tuple[dict[str, float], dict[str, tuple[int, float]]] | None:
        scales: dict[str, float] = {}
        nudges: dict[str, tuple[int, float]] = {}
        for g in groups:
            res = bisect_increasing(lambda s, g=g: km_median(*measure_group(g, s, lever)[:2]), median_target[g],
                                    *scale_range[g], median_tol)
            if res.hit:
                scales[g] = res.x
                continue
            if not res.bracketed:
                return None
            nudge = nudge_to_median(*measure_group(g, res.lo, lever), median_target[g], median_tol)
            if nudge is None:
                return None
            scales[g], nudges[g] = res.lo, nudge
        return scales, nudges

    def cox_at(lever: float, scales: dict[str, float], nudges: dict[str, tuple[int, float]]) -> CoxResult:
        (t0, e0, _), (t1, e1, _) = (group_data(g, scales[g], lever, nudges.get(g)) for g in groups)
        x = np.concatenate([np.zeros(len(t0)), np.ones(len(t1))])
        return cox_binary(np.concatenate([t0, t1]), np.concatenate([e0, e1]), x)

    def hr_of(lever: float) -> float:
        fitted = fit(lever)
        return float("nan") if fitted is None else cox_at(lever, *fitted).hr

    res = bisect_increasing(hr_of, hr_target, *lever_range, hr_tol, log_scale=False)
    if not res.hit:
        return None
    fitted = fit(res.x)
    if fitted is None:
        return None
    scales, nudges = fitted
    medians = {g: km_median(*group_data(g, scales[g], res.x, nudges.get(g))[:2]) for g in groups}
    return TwoGroupFit(scales, res.x, nudges, medians, cox_at(res.x, scales, nudges))


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

    For each term and group exactly ``round(incidence * n_group)`` subjects get the term
    (so the table's incidences are reproduced exactly), drawn without replacement with
    weights proportional to the square root of the subject's exposure window; each has
    ``1 + Poisson(recur)`` episodes. Onset offsets (days from the first dose, 0-based) fall
    inside ``[window_start, window_end]``. Returns one row per episode: ``subject`` (index),
    ``term`` (index into ``terms``), ``onset`` (offset), ``grade`` (1-4).
    """
    group = np.asarray(group)
    lo_all = np.asarray(window_start, dtype=int)
    hi_all = np.asarray(window_end, dtype=int)
    cyc_all = np.asarray(n_cycles, dtype=int)
    win_len = hi_all - lo_all + 1
    parts = []
    for t_idx, term in enumerate(terms):
        for g, inc in sorted(term.incidence.items()):
            members = np.nonzero((group == g) & (win_len > 0))[0]
            k = min(int(round(inc * np.sum(group == g))), len(members))
            if k == 0:
                continue
            w = np.sqrt(win_len[members].astype(float))
            chosen = np.sort(rng.choice(members, size=k, replace=False, p=w / w.sum()))
            subj = np.repeat(chosen, 1 + rng.poisson(term.recur, k))
            m = len(subj)
            lo, hi, ncyc = lo_all[subj], hi_all[subj], cyc_all[subj]
            uniform_day = lo + np.floor(rng.random(m) * (hi - lo + 1)).astype(int)
            if term.onset in ("early", "first_weeks"):
                later_cycle = (rng.random(m) >= 0.8) & (ncyc > 1)
                cyc = np.where(later_cycle, 1 + np.floor(rng.random(m) * np.maximum(ncyc - 1, 1)).astype(int), 0)
                width = 3 if term.onset == "early" else 15
                day = lo + cyc * cycle_len + np.floor(rng.random(m) * width).astype(int)
                onset = np.where(day <= hi, day, uniform_day)
            else:
                onset = uniform_day
            p = np.asarray(term.grades, dtype=float)
            grade = 1 + rng.choice(4, size=m, p=p / p.sum())
            parts.append(pd.DataFrame({"subject": subj, "term": t_idx, "onset": onset, "grade": grade}))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["subject", "term", "onset", "grade"])
    return out.drop_duplicates(["subject", "term", "onset"]).reset_index(drop=True)


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

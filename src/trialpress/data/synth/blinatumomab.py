"""Calibrated synthetic pooled ADaM data: blinatumomab as first vs second-or-later salvage.

Models the pooled analysis of Topp et al., Cancer Med 2021;10(8):2601-2610 (532 adults with
relapsed/refractory B-cell precursor ALL from four blinatumomab studies). No patient data
is used: every record is invented. The generator is built so that the published figures
come out of standard analyses of the data:

* counts (groups, remission, MRD response, alloHSCT, alloHSCT in continuous remission)
  are exact by construction (top-k selection on latent scores);
* KM medians, Cox hazard ratios and their Wald CIs for OS and RFS are hit by
  quantile-matched time generation followed by a deterministic calibration of a few
  distribution parameters, using the same random numbers at every step;
* if a calibration does not converge the generator moves to the next sub-seed (bounded).

See ``data/blinatumomab-salvage/README.md`` for the model, and :data:`TARGETS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trialpress.data.synth._common import (
    AETerm,
    CureWeibull,
    Weibull,
    add_days,
    assign_by_rank,
    balanced_flag,
    calibrate,
    choose,
    cox_binary,
    draw_ae_events,
    km_median,
    km_median_margin,
    months,
    rng_for,
    stratified_uniforms,
    top_k,
)

__all__ = ["DEFAULT_SEED", "NAME", "STUDIES", "TARGETS", "KEYS", "COLUMNS", "generate", "check_calibration"]

NAME = "blinatumomab-salvage"
DEFAULT_SEED = 20210318  # Epub date of the seed publication
MAX_ATTEMPTS = 25

CYCLE_DAYS = 42  # 4 weeks continuous infusion + 2 weeks treatment-free
INFUSION_DAYS = 28
GROUPS = ("FIRST", "LATER")


# ------------------------------------------------------------------ published targets
TARGETS: dict[str, Any] = {
    "n": {"FIRST": 165, "LATER": 367},
    "remission": {"FIRST": 89, "LATER": 150},
    "mrd_response": {"FIRST": 68, "LATER": 118},
    "allo_hsct": {"FIRST": 60, "LATER": 88},
    "allo_hsct_ccr": {"FIRST": 33, "LATER": 52},
    "os": {"median": {"FIRST": 10.4, "LATER": 5.7}, "hr": 1.58, "ci": (1.26, 1.97)},
    "rfs": {"median": {"FIRST": 10.1, "LATER": 7.3}, "hr": 1.38, "ci": (0.98, 1.93), "p": 0.061},
}

# Acceptance used inside the generator: tighter than the tolerances promised to users
# (medians ±0.2 months, HR ±0.03, CI bounds ±0.04, RFS P ±0.01).
_TOL = {"median": 0.1, "hr": 0.01, "ci": 0.025, "p": 0.006, "median_margin": 1e-6}


# ------------------------------------------------------------------------ the studies
@dataclass(frozen=True)
class StudySpec:
    studyid: str
    description: str
    phstat: str
    n: int
    n_first: int
    accrual: tuple[str, str]
    dcut: str
    site_base: int
    n_sites: int
    regions: dict[str, float]
    age: tuple[float, float]  # mean, sd of the age distribution (years), truncated to 18-80


STUDIES: tuple[StudySpec, ...] = (
    StudySpec("MT103-206", "Phase 2 dose-finding, Ph-negative", "Ph-negative", 36, 8,
              ("2010-10-01", "2012-06-30"), "2014-01-31", 100, 9, {"Europe": 1.0}, (40, 15)),
    StudySpec("MT103-211", "Phase 2 single-arm, Ph-negative", "Ph-negative", 189, 35,
              ("2012-01-15", "2013-10-15"), "2015-01-31", 200, 37,
              {"North America": 0.35, "Europe": 0.65}, (40, 15)),
    StudySpec("00103311", "Phase 3 randomised (TOWER), blinatumomab arm, Ph-negative", "Ph-negative",
              262, 110, ("2014-01-15", "2015-09-30"), "2016-01-04", 300, 100,
              {"North America": 0.2, "Europe": 0.6, "Rest of World": 0.2}, (40, 15)),
    StudySpec("20120216", "Phase 2 single-arm (ALCANTARA), Ph-positive", "Ph-positive", 45, 12,
              ("2014-01-15", "2015-02-28"), "2016-04-30", 500, 31,
              {"North America": 0.3, "Europe": 0.7}, (53, 13)),
)

# ---------------------------------------------------------------------- dataset layout
COLUMNS: dict[str, list[str]] = {
    "ADSL": ["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEGR1", "SEX", "RACE", "REGION1",
             "PHSTAT", "PRHSCT", "NPRSALV", "SALVGRP", "SALVGRPN", "BMBLAST", "BMBLGR1", "ECOG",
             "TRTSDT", "TRTEDT", "CYCLES", "TRTDURD", "SAFFL", "FASFL", "DCUTDT", "DTHFL", "DTHDT",
             "HSCTFL", "HSCTDT", "HSCTCRFL", "CRFL", "RSPDT", "RELFL", "RELDT"],
    "ADTTE": ["STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVAL", "AVALU", "CNSR", "STARTDT", "ADT",
              "EVNTDESC", "CNSDTDSC"],
    "ADRS": ["STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVALC", "ADT"],
    "ADAE": ["STUDYID", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AETOXGR", "AESER",
             "AEREL", "AEACN", "AEOUT", "AESDTH", "TRTEMFL", "ASTDT", "ASTDY", "ACYCLE"],
}
KEYS: dict[str, list[str]] = {
    "ADSL": ["USUBJID"],
    "ADTTE": ["USUBJID", "PARAMCD"],
    "ADRS": ["USUBJID", "PARAMCD"],
    "ADAE": ["USUBJID", "AESEQ"],
}
TTE_PARAMS = {
    "OS": "Overall Survival (Months)",
    "RFS": "Relapse-Free Survival (Months)",
    "OSHSCT": "Overall Survival from alloHSCT (Months)",
}
RS_PARAMS = {
    "BESTRSP": "Best Overall Response Within First Two Cycles",
    "MRDRESP": "MRD Response (<10^-4) Within First Two Cycles",
}

# ------------------------------------------------------------- adverse-event incidences
_GEN = "General disorders and administration site conditions"
_IMM = "Immune system disorders"
_NER = "Nervous system disorders"
_PSY = "Psychiatric disorders"
_BLD = "Blood and lymphatic system disorders"
_INF = "Infections and infestations"
_GI = "Gastrointestinal disorders"
_MET = "Metabolism and nutrition disorders"
_INV = "Investigations"
_RES = "Respiratory, thoracic and mediastinal disorders"
_MSK = "Musculoskeletal and connective tissue disorders"
_VAS = "Vascular disorders"
_SKN = "Skin and subcutaneous tissue disorders"
_CAR = "Cardiac disorders"


def _t(decod: str, soc: str, first: float, later: float, grades: tuple[float, float, float, float],
       related: float = 0.3, onset: str = "any", recur: float = 0.0, verbatim: tuple[str, ...] = (),
       serious_boost: float = 0.0) -> AETerm:
    return AETerm(decod, soc, {"FIRST": first, "LATER": later}, grades, related, onset, recur,
                  verbatim or (decod.upper(),), serious_boost)


# Any-grade incidences (proportion of subjects), informed by the blinatumomab arm of
# TOWER and the phase 2 studies; CRS, febrile neutropenia and infections are more
# frequent in LATER, as the publication reports. Recurrences add ~15% more episodes.
AE_TERMS: tuple[AETerm, ...] = (
    _t("Pyrexia", _GEN, 0.58, 0.61, (0.55, 0.35, 0.09, 0.01), 0.7, "early", 0.5, ("FEVER", "PYREXIA")),
    _t("Cytokine release syndrome", _IMM, 0.09, 0.17, (0.45, 0.38, 0.14, 0.03), 1.0, "early", 0.05,
       ("CYTOKINE RELEASE SYNDROME", "CRS"), 0.3),
    _t("Headache", _NER, 0.31, 0.29, (0.65, 0.30, 0.05, 0.0), 0.5, "first_weeks", 0.3, ("HEADACHE",)),
    _t("Tremor", _NER, 0.18, 0.17, (0.7, 0.22, 0.08, 0.0), 0.8, "first_weeks", 0.1, ("TREMOR", "HAND TREMOR")),
    _t("Dizziness", _NER, 0.10, 0.10, (0.75, 0.22, 0.03, 0.0), 0.4, "first_weeks"),
    _t("Encephalopathy", _NER, 0.04, 0.05, (0.25, 0.35, 0.35, 0.05), 0.9, "first_weeks", 0.0,
       ("ENCEPHALOPATHY",), 0.3),
    _t("Seizure", _NER, 0.02, 0.03, (0.05, 0.40, 0.45, 0.10), 0.7, "first_weeks", 0.0, ("SEIZURE",), 0.4),
    _t("Aphasia", _NER, 0.03, 0.03, (0.4, 0.35, 0.25, 0.0), 0.9, "first_weeks", 0.0, ("APHASIA",), 0.2),
    _t("Paraesthesia", _NER, 0.05, 0.05, (0.8, 0.2, 0.0, 0.0), 0.4),
    _t("Confusional state", _PSY, 0.08, 0.09, (0.45, 0.35, 0.20, 0.0), 0.7, "first_weeks", 0.0,
       ("CONFUSION", "CONFUSIONAL STATE"), 0.2),
    _t("Insomnia", _PSY, 0.10, 0.10, (0.8, 0.2, 0.0, 0.0), 0.2),
    _t("Febrile neutropenia", _BLD, 0.18, 0.27, (0.0, 0.0, 0.85, 0.15), 0.3, "any", 0.1,
       ("FEBRILE NEUTROPENIA",), 0.3),
    _t("Neutropenia", _BLD, 0.27, 0.29, (0.03, 0.12, 0.40, 0.45), 0.4, "any", 0.3),
    _t("Anaemia", _BLD, 0.26, 0.29, (0.15, 0.35, 0.45, 0.05), 0.2, "any", 0.3, ("ANEMIA", "ANAEMIA")),
    _t("Thrombocytopenia", _BLD, 0.19, 0.22, (0.1, 0.2, 0.35, 0.35), 0.3, "any", 0.2,
       ("THROMBOCYTOPENIA", "LOW PLATELETS")),
    _t("Leukopenia", _BLD, 0.08, 0.09, (0.1, 0.25, 0.4, 0.25), 0.4),
    _t("Pneumonia", _INF, 0.07, 0.12, (0.05, 0.30, 0.55, 0.10), 0.1, "any", 0.0, ("PNEUMONIA",), 0.4),
    _t("Sepsis", _INF, 0.04, 0.08, (0.0, 0.0, 0.60, 0.40), 0.1, "any", 0.0, ("SEPSIS",), 0.5),
    _t("Device related infection", _INF, 0.05, 0.08, (0.1, 0.4, 0.45, 0.05), 0.1, "any", 0.0,
       ("CATHETER INFECTION", "PORT INFECTION")),
    _t("Upper respiratory tract infection", _INF, 0.06, 0.09, (0.5, 0.45, 0.05, 0.0), 0.05),
    _t("Bacteraemia", _INF, 0.03, 0.06, (0.0, 0.3, 0.6, 0.1), 0.1, "any", 0.0, ("BACTEREMIA",), 0.3),
    _t("Urinary tract infection", _INF, 0.04, 0.06, (0.3, 0.5, 0.2, 0.0), 0.05),
    _t("Fungal infection", _INF, 0.03, 0.05, (0.1, 0.4, 0.45, 0.05), 0.1, "any", 0.0, ("FUNGAL INFECTION",), 0.3),
    _t("Oral herpes", _INF, 0.03, 0.04, (0.6, 0.4, 0.0, 0.0), 0.05),
    _t("Nausea", _GI, 0.22, 0.23, (0.7, 0.27, 0.03, 0.0), 0.3, "any", 0.2),
    _t("Diarrhoea", _GI, 0.20, 0.20, (0.7, 0.25, 0.05, 0.0), 0.2, "any", 0.2, ("DIARRHEA", "DIARRHOEA")),
    _t("Vomiting", _GI, 0.12, 0.13, (0.7, 0.27, 0.03, 0.0), 0.2),
    _t("Constipation", _GI, 0.15, 0.15, (0.8, 0.2, 0.0, 0.0), 0.1),
    _t("Abdominal pain", _GI, 0.08, 0.09, (0.6, 0.3, 0.1, 0.0), 0.1),
    _t("Hypokalaemia", _MET, 0.20, 0.22, (0.45, 0.30, 0.20, 0.05), 0.2, "any", 0.3, ("HYPOKALEMIA", "LOW POTASSIUM")),
    _t("Hypomagnesaemia", _MET, 0.08, 0.09, (0.8, 0.15, 0.05, 0.0), 0.1),
    _t("Decreased appetite", _MET, 0.10, 0.10, (0.7, 0.25, 0.05, 0.0), 0.2),
    _t("Hyperglycaemia", _MET, 0.08, 0.08, (0.4, 0.35, 0.23, 0.02), 0.1),
    _t("Alanine aminotransferase increased", _INV, 0.12, 0.12, (0.4, 0.25, 0.30, 0.05), 0.6, "any", 0.1,
       ("ALT INCREASED", "ELEVATED ALT")),
    _t("Aspartate aminotransferase increased", _INV, 0.09, 0.10, (0.45, 0.25, 0.25, 0.05), 0.6, "any", 0.0,
       ("AST INCREASED",)),
    _t("Blood bilirubin increased", _INV, 0.05, 0.05, (0.4, 0.3, 0.25, 0.05), 0.3),
    _t("Oedema peripheral", _GEN, 0.15, 0.15, (0.75, 0.23, 0.02, 0.0), 0.2, "any", 0.0, ("PERIPHERAL EDEMA",)),
    _t("Fatigue", _GEN, 0.15, 0.16, (0.6, 0.3, 0.1, 0.0), 0.4),
    _t("Chills", _GEN, 0.10, 0.10, (0.8, 0.2, 0.0, 0.0), 0.5, "early"),
    _t("Cough", _RES, 0.12, 0.12, (0.8, 0.2, 0.0, 0.0), 0.05),
    _t("Back pain", _MSK, 0.10, 0.10, (0.65, 0.3, 0.05, 0.0), 0.1),
    _t("Hypotension", _VAS, 0.10, 0.11, (0.3, 0.45, 0.23, 0.02), 0.5, "early"),
    _t("Rash", _SKN, 0.08, 0.08, (0.7, 0.25, 0.05, 0.0), 0.3),
)

# Fatal AEs (grade 5), given to some subjects who die within 30 days of their last dose.
FATAL_TERMS: tuple[tuple[str, str, float], ...] = (
    ("Sepsis", _INF, 0.24),
    ("Septic shock", _INF, 0.12),
    ("Pneumonia", _INF, 0.16),
    ("Fungal infection", _INF, 0.08),
    ("Multiple organ dysfunction syndrome", _GEN, 0.12),
    ("Respiratory failure", _RES, 0.12),
    ("Cerebral haemorrhage", _NER, 0.08),
    ("Cardiac arrest", _CAR, 0.08),
)
_NEURO_CRS = {"Cytokine release syndrome", "Encephalopathy", "Seizure", "Aphasia", "Confusional state", "Tremor"}


# =============================================================================== API
def generate(seed: int = DEFAULT_SEED) -> dict[str, pd.DataFrame]:
    """Generate the pooled ADaM datasets ``{"ADSL", "ADTTE", "ADRS", "ADAE"}`` for ``seed``.

    Deterministic: the same seed gives equal frames. Tries sub-seeds ``0, 1, ...`` until
    every calibration target is met (raises ``RuntimeError`` after ``MAX_ATTEMPTS``).
    """
    for attempt in range(MAX_ATTEMPTS):
        result = _attempt(int(seed), attempt)
        if result is not None:
            return result
    raise RuntimeError(f"{NAME}: calibration failed for seed {seed} after {MAX_ATTEMPTS} sub-seeds")


def check_calibration(adsl: pd.DataFrame, adtte: pd.DataFrame) -> dict[str, Any]:
    """The calibrated statistics measured on finished datasets (for README tables and checks)."""
    grp = adsl.set_index("USUBJID")["SALVGRP"]
    out: dict[str, Any] = {}
    for pc in ("OS", "RFS"):
        d = adtte[adtte["PARAMCD"] == pc]
        later = (d["USUBJID"].map(grp) == "LATER").to_numpy()
        t, e = d["AVAL"].to_numpy(float), (d["CNSR"] == 0).to_numpy()
        out[pc] = {
            "n": {"FIRST": int((~later).sum()), "LATER": int(later.sum())},
            "events": {"FIRST": int(e[~later].sum()), "LATER": int(e[later].sum())},
            "median": {"FIRST": km_median(t[~later], e[~later]), "LATER": km_median(t[later], e[later])},
            **cox_binary(t, e, later).as_dict(),
        }
    return out


def prior_hsct_effect(adsl: pd.DataFrame, adtte: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Within each salvage group: OS medians for prior alloHSCT Y and N, and the Cox HR (Y vs N).

    The publication reports "no apparent effect of prior alloHSCT on median OS in either
    salvage group"; the generator requires, per group, |median Y - median N| < 1.5 months
    and a 95% CI of the HR that contains 1.
    """
    os_ = adtte[adtte["PARAMCD"] == "OS"].merge(adsl[["USUBJID", "SALVGRP", "PRHSCT"]], on="USUBJID")
    out: dict[str, dict[str, float]] = {}
    for g in GROUPS:
        d = os_[os_["SALVGRP"] == g]
        y = (d["PRHSCT"] == "Y").to_numpy()
        t, e = d["AVAL"].to_numpy(float), (d["CNSR"] == 0).to_numpy()
        res = cox_binary(t, e, y)
        out[g] = {"n_Y": int(y.sum()), "n_N": int((~y).sum()),
                  "median_Y": km_median(t[y], e[y]), "median_N": km_median(t[~y], e[~y]), **res.as_dict()}
    return out


def _prior_hsct_ok(effect: dict[str, dict[str, float]]) -> bool:
    return all(abs(v["median_Y"] - v["median_N"]) < 1.5 and v["lower"] < 1.0 < v["upper"] for v in effect.values())


# ========================================================================= pipeline
def _attempt(seed: int, attempt: int) -> dict[str, pd.DataFrame] | None:
    base = _baseline(seed, attempt)
    death_off = _calibrate_os(seed, attempt, base)
    if death_off is None:
        return None
    resp = _response(seed, attempt, base, death_off)
    rfs = _calibrate_rfs(seed, attempt, base, resp, death_off)
    if rfs is None:
        return None
    prhsct = _prior_hsct(seed, attempt, base, death_off)
    hsct_cr = _transplant_in_remission(seed, attempt, base, resp, rfs, death_off, prhsct)
    if hsct_cr is None:
        return None
    trt = _treatment(seed, attempt, base, resp, rfs, hsct_cr, death_off)
    hsct = _transplant_other(seed, attempt, base, resp, rfs, hsct_cr, death_off, prhsct, trt)
    if hsct is None:
        return None
    out = _assemble(seed, attempt, base, resp, rfs, hsct, death_off, prhsct, trt)
    # final guard on the finished datasets (the same estimators the calibration used)
    if not (_calibration_ok(check_calibration(out["ADSL"], out["ADTTE"]))
            and _prior_hsct_ok(prior_hsct_effect(out["ADSL"], out["ADTTE"]))):
        return None
    return out


def _calibration_ok(measured: dict[str, Any]) -> bool:
    ok = True
    for pc, key in (("OS", "os"), ("RFS", "rfs")):
        m, tgt = measured[pc], TARGETS[key]
        ok &= all(abs(m["median"][g] - tgt["median"][g]) <= _TOL["median"] for g in GROUPS)
        ok &= abs(m["hr"] - tgt["hr"]) <= _TOL["hr"]
        ok &= abs(m["lower"] - tgt["ci"][0]) <= _TOL["ci"] and abs(m["upper"] - tgt["ci"][1]) <= _TOL["ci"]
    ok &= measured["OS"]["p"] < 0.001 and abs(measured["RFS"]["p"] - TARGETS["rfs"]["p"]) <= _TOL["p"]
    return bool(ok)


def _norm_rank(x: np.ndarray) -> np.ndarray:
    """Normal scores of the ranks of ``x`` (ties by position)."""
    from scipy.stats import norm

    r = np.argsort(np.argsort(np.asarray(x, dtype=float), kind="stable"), kind="stable")
    return norm.ppf((r + 0.5) / len(r))


def _group_index(base: pd.DataFrame, mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
    grp = base["SALVGRP"].to_numpy()
    m = np.ones(len(base), bool) if mask is None else mask
    return {g: np.nonzero(m & (grp == g))[0] for g in GROUPS}


# ------------------------------------------------------------------------- baseline
def _baseline(seed: int, attempt: int) -> pd.DataFrame:
    frames = []
    for spec in STUDIES:
        rng = rng_for(seed, "baseline", attempt, spec.studyid)
        n = spec.n
        start, end = np.datetime64(spec.accrual[0]), np.datetime64(spec.accrual[1])
        span = int((end - start).astype(int))
        trtsdt = np.sort(start + rng.integers(0, span + 1, n).astype("timedelta64[D]"))
        first = np.zeros(n, bool)
        first[rng.choice(n, spec.n_first, replace=False)] = True
        # sites: a few large centres, many small ones; each site in one region
        site_w = 1.0 / np.arange(1, spec.n_sites + 1) ** 0.8
        site_idx = rng.choice(spec.n_sites, n, p=site_w / site_w.sum())
        region_names = list(spec.regions)
        site_region = choose(rng, region_names, [spec.regions[r] for r in region_names], spec.n_sites)
        siteid = np.array([f"{spec.site_base + i + 1:03d}" for i in site_idx])
        subjid = np.array([f"{i + 1:04d}" for i in range(n)])
        age = np.clip(np.round(rng.normal(spec.age[0], spec.age[1], n)), 18, 80).astype(int)
        region = site_region[site_idx]
        race = np.empty(n, dtype=object)
        race_opts = ["WHITE", "ASIAN", "BLACK OR AFRICAN AMERICAN", "OTHER"]
        race_p = {"North America": [0.76, 0.07, 0.08, 0.09], "Europe": [0.92, 0.02, 0.02, 0.04],
                  "Rest of World": [0.42, 0.43, 0.02, 0.13]}
        for r in region_names:
            m = region == r
            race[m] = choose(rng, race_opts, race_p[r], int(m.sum()))
        sex = np.where(rng.random(n) < 0.58, "M", "F")
        nprsalv = np.where(first, 0, choose(rng, ["1", "2", "3", "4"], [0.56, 0.27, 0.11, 0.06], n).astype(int))
        bmblast = np.clip(np.round(100 * rng.beta(np.where(first, 2.0, 2.5), 1.0), 1), 5.0, 99.0)
        ecog = choose(rng, ["0", "1", "2"], [0.36, 0.51, 0.13], n).astype(int)
        dcut = np.datetime64(spec.dcut)
        c_off = (dcut - trtsdt).astype(int)
        # lost to follow-up: ~3% of subjects, last contact between day 120 and 30 days before cut-off
        ltfu = np.full(n, np.nan)
        cand = (rng.random(n) < 0.03) & (c_off > 180)
        ltfu[cand] = np.floor(120 + rng.random(int(cand.sum())) * (c_off[cand] - 150))
        frames.append(pd.DataFrame({
            "STUDYID": spec.studyid,
            "USUBJID": [f"{spec.studyid}-{s}-{j}" for s, j in zip(siteid, subjid)],
            "SUBJID": subjid,
            "SITEID": siteid,
            "AGE": age,
            "SEX": sex,
            "RACE": race.astype(str),
            "REGION1": region,
            "PHSTAT": spec.phstat,
            "NPRSALV": nprsalv,
            "SALVGRP": np.where(first, "FIRST", "LATER"),
            "BMBLAST": bmblast,
            "ECOG": ecog,
            "TRTSDT": pd.to_datetime(trtsdt),
            "DCUTDT": pd.to_datetime(np.full(n, dcut)),
            "_c_off": c_off,
            "_ltfu_off": ltfu,
        }))
    base = pd.concat(frames, ignore_index=True)
    base["_fu_off"] = np.fmin(base["_c_off"].to_numpy(float), base["_ltfu_off"].to_numpy(float))
    rng = rng_for(seed, "score", attempt)
    z = lambda v: (v - v.mean()) / v.std()  # noqa: E731
    # latent prognosis (higher = better). The salvage-group effect is not in it: it comes from
    # the group-specific target distributions.
    base["_score"] = (-0.45 * z(base["BMBLAST"].to_numpy(float)) - 0.35 * (base["ECOG"].to_numpy() - 0.8)
                      - 0.25 * z(base["AGE"].to_numpy(float)) + rng.normal(0, 1.0, len(base)))
    return base


# ------------------------------------------------------------------- overall survival
def _calibrate_os(seed: int, attempt: int, base: pd.DataFrame) -> np.ndarray | None:
    """Death offsets (days from the first dose, uncensored) for every subject.

    OS follows a Weibull per group with a common shape (proportional hazards); times are
    quantile-matched (stratified uniforms) and given to subjects in order of their latent
    prognosis. The two medians and the shape are calibrated until the KM medians and the
    Cox HR of the censored data hit the targets.
    """
    rng = rng_for(seed, "os", attempt)
    later = (base["SALVGRP"] == "LATER").to_numpy()
    fu = base["_fu_off"].to_numpy()
    idx = _group_index(base)
    order = {g: base["_score"].to_numpy()[idx[g]] + rng.normal(0, 0.5, len(idx[g])) for g in GROUPS}
    u = {g: stratified_uniforms(rng, len(idx[g])) for g in GROUPS}
    tgt = TARGETS["os"]

    def build(p: dict[str, float]) -> np.ndarray:
        death = np.empty(len(base))
        for g in GROUPS:
            days = np.maximum(1, np.round(Weibull(p[f"med_{g}"], p["shape"]).ppf(u[g]) * 30.4375))
            death[idx[g]] = assign_by_rank(order[g], days - 1)
        return death

    def measure(p: dict[str, float]) -> dict[str, float]:
        death = build(p)
        event = death <= fu
        t = months(np.where(event, death, fu) + 1)
        return {
            "med_FIRST": km_median(t[~later], event[~later]), "med_LATER": km_median(t[later], event[later]),
            "margin": min(km_median_margin(t[~later], event[~later]), km_median_margin(t[later], event[later])),
            **cox_binary(t, event, later).as_dict(),
        }

    def update(p: dict[str, float], s: dict[str, float]) -> dict[str, float]:
        q = dict(p)
        for g in GROUPS:
            q[f"med_{g}"] = p[f"med_{g}"] * tgt["median"][g] / min(s[f"med_{g}"], 3 * tgt["median"][g])
        if s["hr"] > 1.0:
            q["shape"] = float(np.clip(p["shape"] * (np.log(tgt["hr"]) / np.log(s["hr"])) ** 0.8, 0.3, 3.0))
        return q

    def done(s: dict[str, float]) -> bool:
        return (all(abs(s[f"med_{g}"] - tgt["median"][g]) <= _TOL["median"] for g in GROUPS)
                and abs(s["hr"] - tgt["hr"]) <= _TOL["hr"]
                and abs(s["lower"] - tgt["ci"][0]) <= _TOL["ci"] and abs(s["upper"] - tgt["ci"][1]) <= _TOL["ci"]
                and s["p"] < 0.001 and s["margin"] > _TOL["median_margin"])

    shape0 = np.log(tgt["hr"]) / np.log(tgt["median"]["FIRST"] / tgt["median"]["LATER"])
    start = {"med_FIRST": tgt["median"]["FIRST"], "med_LATER": tgt["median"]["LATER"], "shape": float(shape0)}
    params, _, ok = calibrate(start, measure, update, done, max_iter=40)
    return build(params) if ok else None


# ------------------------------------------------------------------------- response
def _response(seed: int, attempt: int, base: pd.DataFrame, death_off: np.ndarray) -> dict[str, np.ndarray]:
    """Remission (CR/CRh/CRi) within two cycles: exactly the published counts, chosen mostly
    among the longer survivors of each group (remission is the main driver of survival)."""
    rng = rng_for(seed, "response", attempt)
    n = len(base)
    # remission seen at the end of cycle 1 (day ~29) for ~3/4, else at the end of cycle 2 (day ~71)
    rsp_cycle = np.where(rng.random(n) < 0.76, 1, 2)
    rsp_off = (rsp_cycle - 1) * CYCLE_DAYS + INFUSION_DAYS + rng.integers(-2, 4, n)
    noise = rng.normal(0, 0.55, n)
    z_blast = (base["BMBLAST"].to_numpy() - 70.0) / 25.0
    responder = np.zeros(n, bool)
    for g, ix in _group_index(base).items():
        score = _norm_rank(death_off[ix]) - 0.2 * z_blast[ix] + noise[ix]
        eligible = death_off[ix] > rsp_off[ix] + 30
        responder[ix[top_k(score, TARGETS["remission"][g], eligible)]] = True
    category = np.where(responder, choose(rng, ["CR", "CRh", "CRi"], [0.66, 0.18, 0.16], n), "")
    # first and second marrow assessments (end of cycles 1 and 2)
    assess = np.stack([INFUSION_DAYS + rng.integers(-2, 4, n), CYCLE_DAYS + INFUSION_DAYS + rng.integers(-2, 4, n)], 1)
    ne = ~responder & (death_off < assess[:, 0])
    nonresp_cat = np.where(ne, "NE", np.where(rng.random(n) < 0.11, "BFHM", "NR"))
    return {
        "responder": responder,
        "rsp_cycle": np.where(responder, rsp_cycle, 0),
        "rsp_off": np.where(responder, rsp_off, np.nan),
        "bestrsp": np.where(responder, category, nonresp_cat),
        "assess": assess,
    }


# ---------------------------------------------------------------- relapse-free survival
def _calibrate_rfs(seed: int, attempt: int, base: pd.DataFrame, resp: dict[str, np.ndarray],
                   death_off: np.ndarray) -> dict[str, np.ndarray] | None:
    """Relapse among responders.

    A latent remission duration follows a mixture-cure Weibull per group (a fraction never
    relapses, mainly transplanted patients), quantile-matched and given to responders in
    order of their survival (rank correlation with noise). Relapse happens at remission +
    duration if that is at least 7 days before death; otherwise the remission ends with
    death (death in remission). The medians, shape and cure fractions are calibrated until
    RFS (relapse or death, censored at last contact) hits the targets.
    """
    rng = rng_for(seed, "rfs", attempt)
    fu = base["_fu_off"].to_numpy()
    rsp = resp["rsp_off"]
    idx = _group_index(base, resp["responder"])
    order = {g: _norm_rank(death_off[idx[g]]) + rng.normal(0, 0.8, len(idx[g])) for g in GROUPS}
    u = {g: stratified_uniforms(rng, len(idx[g])) for g in GROUPS}
    all_idx = np.concatenate([idx[g] for g in GROUPS])
    x_later = np.concatenate([np.full(len(idx[g]), g == "LATER", dtype=float) for g in GROUPS])
    tgt = TARGETS["rfs"]

    def build(p: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        relapse = np.full(len(base), np.inf)
        for g in GROUPS:
            dist = CureWeibull(cure=p[f"cure_{g}"], median=p[f"med_{g}"], shape=p["shape"])
            m = dist.ppf(u[g])
            dur = np.where(np.isfinite(m), np.maximum(14, np.round(m * 30.4375)), np.inf)
            relapse[idx[g]] = rsp[idx[g]] + assign_by_rank(order[g], dur)
        relapse = np.where(relapse <= death_off - 7, relapse, np.inf)
        end = np.where(resp["responder"], np.fmin(relapse, death_off), np.nan)
        return relapse, end

    def measure(p: dict[str, float]) -> dict[str, float]:
        _, end = build(p)
        e, f, r = end[all_idx], fu[all_idx], rsp[all_idx]
        event = e <= f
        t = months(np.where(event, e, f) - r + 1)
        first = x_later == 0
        return {
            "med_FIRST": km_median(t[first], event[first]), "med_LATER": km_median(t[~first], event[~first]),
            "margin": min(km_median_margin(t[first], event[first]), km_median_margin(t[~first], event[~first])),
            **cox_binary(t, event, x_later).as_dict(),
        }

    se_target = (np.log(tgt["ci"][1]) - np.log(tgt["ci"][0])) / (2 * 1.959964)

    def update(p: dict[str, float], s: dict[str, float]) -> dict[str, float]:
        q = dict(p)
        for g in GROUPS:
            q[f"med_{g}"] = p[f"med_{g}"] * (tgt["median"][g] / min(s[f"med_{g}"], 3 * tgt["median"][g])) ** 1.2
        if s["hr"] > 1.0:
            q["shape"] = float(np.clip(p["shape"] * (np.log(tgt["hr"]) / np.log(s["hr"])) ** 0.7, 0.3, 3.0))
        shift = float(np.clip((se_target - s["se"]) / 0.12, -0.05, 0.05))
        for g in GROUPS:
            q[f"cure_{g}"] = float(np.clip(p[f"cure_{g}"] + shift, 0.0, 0.6))
        return q

    def done(s: dict[str, float]) -> bool:
        return (all(abs(s[f"med_{g}"] - tgt["median"][g]) <= _TOL["median"] for g in GROUPS)
                and abs(s["hr"] - tgt["hr"]) <= _TOL["hr"]
                and abs(s["lower"] - tgt["ci"][0]) <= _TOL["ci"] and abs(s["upper"] - tgt["ci"][1]) <= _TOL["ci"]
                and abs(s["p"] - tgt["p"]) <= _TOL["p"] and s["margin"] > _TOL["median_margin"])

    start = {"med_FIRST": 9.0, "med_LATER": 6.5, "shape": 1.0, "cure_FIRST": 0.15, "cure_LATER": 0.08}
    params, _, ok = calibrate(start, measure, update, done, max_iter=60)
    if not ok:
        return None
    relapse, end = build(params)
    return {"relapse_off": relapse, "end_off": end}

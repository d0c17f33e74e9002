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

from trialpress.report.formatting import fixed, pvalue
from trialpress_synth._common import (
    DAYS_PER_MONTH,
    DIGITS_ACCEPT,
    AETerm,
    CoxResult,
    CureWeibull,
    Weibull,
    add_days,
    assign_by_rank,
    balanced_flag,
    calibrate_two_groups,
    censor,
    choose,
    choose_moves,
    cox_binary,
    deviation,
    draw_ae_events,
    km_median,
    km_median_margin,
    months,
    norm_rank,
    nudge_earlier_to_median,
    nudge_to_median,
    rng_for,
    stratified_uniforms,
    top_k,
)

__all__ = [
    "COLUMNS",
    "DEFAULT_SEED",
    "KEYS",
    "NAME",
    "PRINTED",
    "STUDIES",
    "TARGETS",
    "check_calibration",
    "generate",
    "generate_with_log",
    "printed",
    "prior_hsct_effect",
]

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
    "os": {"median": {"FIRST": 10.4, "LATER": 5.7}, "hr": 1.58, "ci": (1.26, 1.97), "p": "< .001"},
    "rfs": {"median": {"FIRST": 10.1, "LATER": 7.3}, "hr": 1.38, "ci": (0.98, 1.93), "p": 0.061},
}



def _printed_targets(tgt: dict[str, Any]) -> dict[str, Any]:
    p = tgt["p"] if isinstance(tgt["p"], str) else pvalue(tgt["p"])
    return {"median": {g: fixed(v, 1) for g, v in tgt["median"].items()}, "hr": fixed(tgt["hr"], 2),
            "lower": fixed(tgt["ci"][0], 2), "upper": fixed(tgt["ci"][1], 2), "p": p}


# The abstract's numbers as it prints them (medians to 1 decimal, HR and CI to 2, P as '.061' / '< .001'),
# which the engine's report must print digit for digit (see _published_digits).
PRINTED: dict[str, dict[str, Any]] = {"OS": _printed_targets(TARGETS["os"]), "RFS": _printed_targets(TARGETS["rfs"])}
MAX_DIGIT_MOVES = 12   # bound on the subjects the last step may change, per endpoint

# Acceptance used inside the generator: tighter than the tolerances promised to users
# (medians ±0.2 months, HR ±0.03, CI bounds ±0.04, RFS P ±0.01).
_TOL = {"median": 0.1, "hr": 0.01, "ci": 0.02, "p": 0.005, "median_margin": 1e-6}


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
              ("2010-10-01", "2012-06-30"), "2014-09-30", 100, 9, {"Europe": 1.0}, (40, 15)),
    StudySpec("MT103-211", "Phase 2 single-arm, Ph-negative", "Ph-negative", 189, 35,
              ("2012-01-15", "2013-10-15"), "2015-10-31", 200, 37,
              {"North America": 0.35, "Europe": 0.65}, (40, 15)),
    StudySpec("TOWER-00103311", "Phase 3 randomised (TOWER), blinatumomab arm, Ph-negative", "Ph-negative",
              262, 110, ("2014-01-15", "2015-09-30"), "2016-01-04", 300, 100,
              {"North America": 0.2, "Europe": 0.6, "Rest of World": 0.2}, (40, 15)),
    StudySpec("ALCANTARA-20120216", "Phase 2 single-arm (ALCANTARA), Ph-positive", "Ph-positive", 45, 12,
              ("2014-01-15", "2015-02-28"), "2016-10-31", 500, 31,
              {"North America": 0.3, "Europe": 0.7}, (53, 13)),
)

# ---------------------------------------------------------------------- dataset layout
COLUMNS: dict[str, list[str]] = {
    "ADSL": ["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEGR1", "SEX", "RACE", "REGION1",
             "PHSTAT", "PRHSCT", "NPRSALV", "SALVGRP", "SALVGRPN", "BMBLAST", "BMBLGR1", "ECOG",
             "TRTSDT", "TRTEDT", "CYCLES", "TRTDURD", "SAFFL", "FASFL", "DCUTDT", "DTHFL", "DTHDT",
             "HSCTFL", "HSCTDT", "HSCTCRFL", "CRFL", "RSPDT", "RELFL", "RELDT", "NALTDT"],
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
    _t("Pyrexia", _GEN, 0.58, 0.61, (0.55, 0.35, 0.09, 0.01), 0.7, "early", 0.8, ("FEVER", "PYREXIA")),
    _t("Cytokine release syndrome", _IMM, 0.09, 0.17, (0.45, 0.38, 0.14, 0.03), 1.0, "early", 0.05,
       ("CYTOKINE RELEASE SYNDROME", "CRS"), 0.3),
    _t("Headache", _NER, 0.31, 0.29, (0.65, 0.30, 0.05, 0.0), 0.5, "first_weeks", 0.5, ("HEADACHE",)),
    _t("Tremor", _NER, 0.18, 0.17, (0.7, 0.22, 0.08, 0.0), 0.8, "first_weeks", 0.3, ("TREMOR", "HAND TREMOR")),
    _t("Dizziness", _NER, 0.10, 0.10, (0.75, 0.22, 0.03, 0.0), 0.4, "first_weeks", 0.2),
    _t("Encephalopathy", _NER, 0.04, 0.05, (0.25, 0.35, 0.35, 0.05), 0.9, "first_weeks", 0.0,
       ("ENCEPHALOPATHY",), 0.3),
    _t("Seizure", _NER, 0.02, 0.03, (0.05, 0.40, 0.45, 0.10), 0.7, "first_weeks", 0.0, ("SEIZURE",), 0.4),
    _t("Aphasia", _NER, 0.03, 0.03, (0.4, 0.35, 0.25, 0.0), 0.9, "first_weeks", 0.0, ("APHASIA",), 0.2),
    _t("Paraesthesia", _NER, 0.05, 0.05, (0.8, 0.2, 0.0, 0.0), 0.4),
    _t("Somnolence", _NER, 0.05, 0.05, (0.7, 0.25, 0.05, 0.0), 0.5, "first_weeks"),
    _t("Confusional state", _PSY, 0.08, 0.09, (0.45, 0.35, 0.20, 0.0), 0.7, "first_weeks", 0.0,
       ("CONFUSION", "CONFUSIONAL STATE"), 0.2),
    _t("Insomnia", _PSY, 0.10, 0.10, (0.8, 0.2, 0.0, 0.0), 0.2, "any", 0.2),
    _t("Anxiety", _PSY, 0.06, 0.06, (0.75, 0.25, 0.0, 0.0), 0.1),
    _t("Febrile neutropenia", _BLD, 0.18, 0.27, (0.0, 0.0, 0.85, 0.15), 0.3, "any", 0.3,
       ("FEBRILE NEUTROPENIA",), 0.3),
    _t("Neutropenia", _BLD, 0.27, 0.29, (0.03, 0.12, 0.40, 0.45), 0.4, "any", 0.8),
    _t("Anaemia", _BLD, 0.26, 0.29, (0.15, 0.35, 0.45, 0.05), 0.2, "any", 0.8, ("ANEMIA", "ANAEMIA")),
    _t("Thrombocytopenia", _BLD, 0.19, 0.22, (0.1, 0.2, 0.35, 0.35), 0.3, "any", 0.7,
       ("THROMBOCYTOPENIA", "LOW PLATELETS")),
    _t("Leukopenia", _BLD, 0.08, 0.09, (0.1, 0.25, 0.4, 0.25), 0.4, "any", 0.5),
    _t("Lymphopenia", _BLD, 0.08, 0.09, (0.05, 0.2, 0.45, 0.3), 0.5, "any", 0.5),
    _t("Pneumonia", _INF, 0.07, 0.12, (0.05, 0.30, 0.55, 0.10), 0.1, "any", 0.0, ("PNEUMONIA",), 0.4),
    _t("Sepsis", _INF, 0.04, 0.08, (0.0, 0.0, 0.60, 0.40), 0.1, "any", 0.0, ("SEPSIS",), 0.5),
    _t("Device related infection", _INF, 0.05, 0.08, (0.1, 0.4, 0.45, 0.05), 0.1, "any", 0.1,
       ("CATHETER INFECTION", "PORT INFECTION")),
    _t("Upper respiratory tract infection", _INF, 0.06, 0.09, (0.5, 0.45, 0.05, 0.0), 0.05, "any", 0.2),
    _t("Bacteraemia", _INF, 0.03, 0.06, (0.0, 0.3, 0.6, 0.1), 0.1, "any", 0.0, ("BACTEREMIA",), 0.3),
    _t("Urinary tract infection", _INF, 0.04, 0.06, (0.3, 0.5, 0.2, 0.0), 0.05),
    _t("Fungal infection", _INF, 0.03, 0.05, (0.1, 0.4, 0.45, 0.05), 0.1, "any", 0.0, ("FUNGAL INFECTION",), 0.3),
    _t("Oral herpes", _INF, 0.03, 0.04, (0.6, 0.4, 0.0, 0.0), 0.05),
    _t("Nausea", _GI, 0.22, 0.23, (0.7, 0.27, 0.03, 0.0), 0.3, "any", 0.5),
    _t("Diarrhoea", _GI, 0.20, 0.20, (0.7, 0.25, 0.05, 0.0), 0.2, "any", 0.5, ("DIARRHEA", "DIARRHOEA")),
    _t("Vomiting", _GI, 0.12, 0.13, (0.7, 0.27, 0.03, 0.0), 0.2, "any", 0.3),
    _t("Constipation", _GI, 0.15, 0.15, (0.8, 0.2, 0.0, 0.0), 0.1, "any", 0.3),
    _t("Abdominal pain", _GI, 0.08, 0.09, (0.6, 0.3, 0.1, 0.0), 0.1, "any", 0.2),
    _t("Stomatitis", _GI, 0.06, 0.07, (0.6, 0.3, 0.1, 0.0), 0.2),
    _t("Hypokalaemia", _MET, 0.20, 0.22, (0.45, 0.30, 0.20, 0.05), 0.2, "any", 0.8,
       ("HYPOKALEMIA", "LOW POTASSIUM")),
    _t("Hypomagnesaemia", _MET, 0.08, 0.09, (0.8, 0.15, 0.05, 0.0), 0.1, "any", 0.4),
    _t("Hypophosphataemia", _MET, 0.08, 0.09, (0.4, 0.35, 0.25, 0.0), 0.1, "any", 0.4),
    _t("Hypocalcaemia", _MET, 0.07, 0.08, (0.6, 0.3, 0.1, 0.0), 0.1, "any", 0.3),
    _t("Hypoalbuminaemia", _MET, 0.07, 0.08, (0.5, 0.4, 0.1, 0.0), 0.1, "any", 0.2),
    _t("Decreased appetite", _MET, 0.10, 0.10, (0.7, 0.25, 0.05, 0.0), 0.2, "any", 0.2),
    _t("Hyperglycaemia", _MET, 0.08, 0.08, (0.4, 0.35, 0.23, 0.02), 0.1, "any", 0.3),
    _t("Alanine aminotransferase increased", _INV, 0.12, 0.12, (0.4, 0.25, 0.30, 0.05), 0.6, "any", 0.4,
       ("ALT INCREASED", "ELEVATED ALT")),
    _t("Aspartate aminotransferase increased", _INV, 0.09, 0.10, (0.45, 0.25, 0.25, 0.05), 0.6, "any", 0.3,
       ("AST INCREASED",)),
    _t("Gamma-glutamyltransferase increased", _INV, 0.07, 0.07, (0.4, 0.3, 0.25, 0.05), 0.4, "any", 0.2,
       ("GGT INCREASED",)),
    _t("Blood bilirubin increased", _INV, 0.05, 0.05, (0.4, 0.3, 0.25, 0.05), 0.3),
    _t("Blood immunoglobulin G decreased", _INV, 0.10, 0.10, (0.4, 0.45, 0.15, 0.0), 0.6, "any", 0.3,
       ("HYPOGAMMAGLOBULINEMIA", "LOW IGG")),
    _t("C-reactive protein increased", _INV, 0.06, 0.07, (0.6, 0.3, 0.1, 0.0), 0.4, "early", 0.2),
    _t("Weight increased", _INV, 0.06, 0.06, (0.8, 0.2, 0.0, 0.0), 0.2),
    _t("Oedema peripheral", _GEN, 0.15, 0.15, (0.75, 0.23, 0.02, 0.0), 0.2, "any", 0.3, ("PERIPHERAL EDEMA",)),
    _t("Fatigue", _GEN, 0.15, 0.16, (0.6, 0.3, 0.1, 0.0), 0.4, "any", 0.3),
    _t("Chills", _GEN, 0.10, 0.10, (0.8, 0.2, 0.0, 0.0), 0.5, "early", 0.3),
    _t("Cough", _RES, 0.12, 0.12, (0.8, 0.2, 0.0, 0.0), 0.05, "any", 0.3),
    _t("Dyspnoea", _RES, 0.09, 0.10, (0.5, 0.35, 0.15, 0.0), 0.1, "any", 0.2, ("DYSPNEA", "SHORTNESS OF BREATH")),
    _t("Epistaxis", _RES, 0.06, 0.07, (0.8, 0.2, 0.0, 0.0), 0.05, "any", 0.2),
    _t("Back pain", _MSK, 0.10, 0.10, (0.65, 0.3, 0.05, 0.0), 0.1, "any", 0.2),
    _t("Arthralgia", _MSK, 0.08, 0.08, (0.7, 0.27, 0.03, 0.0), 0.1, "any", 0.2),
    _t("Pain in extremity", _MSK, 0.07, 0.07, (0.7, 0.27, 0.03, 0.0), 0.1, "any", 0.2),
    _t("Hypotension", _VAS, 0.10, 0.11, (0.3, 0.45, 0.23, 0.02), 0.5, "early", 0.2),
    _t("Hypertension", _VAS, 0.07, 0.07, (0.4, 0.4, 0.2, 0.0), 0.2, "any", 0.2),
    _t("Tachycardia", _CAR, 0.08, 0.09, (0.6, 0.35, 0.05, 0.0), 0.3, "early", 0.2,
       ("TACHYCARDIA", "SINUS TACHYCARDIA")),
    _t("Rash", _SKN, 0.08, 0.08, (0.7, 0.25, 0.05, 0.0), 0.3, "any", 0.2),
    _t("Pruritus", _SKN, 0.06, 0.06, (0.8, 0.2, 0.0, 0.0), 0.2),
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


_DISC_TERMS = ("Encephalopathy", "Cytokine release syndrome", "Seizure", "Confusional state", "Aphasia", "Tremor")
_DISC_WEIGHTS = (0.25, 0.25, 0.15, 0.15, 0.10, 0.10)

# --------------------------------------------------------------- design of the model
# Values below are modelling choices (not calibrated); see the README for their rationale.
PRIOR_HSCT_RATE = {"FIRST": 0.20, "LATER": 0.42}
RFS_CURE = {"FIRST": 0.10, "LATER": 0.05}  # latent never-relapse fractions
RFS_COUPLING_NOISE = 0.3  # noise on the survival ranks that order remission durations
RFS_DEATH_IN_REMISSION = 0.12  # share of responders whose remission can only end by death
RFS_NEW_THERAPY = {"Ph-negative": 0.10, "Ph-positive": 0.50}  # P(new therapy started in remission)
RFS_NEW_THERAPY_STEPS = (1.0, 0.8, 1.2, 0.6, 1.4, 0.4, 1.6)  # multipliers tried to hit the RFS P value
AE_DISCONTINUATION_RATE = 0.06
FATAL_AE_SHARE = 0.55  # share of deaths within 30 days of the last dose attributed to a grade 5 AE


# =============================================================================== API
def generate(seed: int = DEFAULT_SEED) -> dict[str, pd.DataFrame]:
    """Generate the pooled ADaM datasets ``{"ADSL", "ADTTE", "ADRS", "ADAE"}`` for ``seed``.

    Deterministic: the same seed gives equal frames. Tries sub-seeds ``0, 1, ...`` until
    every calibration target is met (raises ``RuntimeError`` after ``MAX_ATTEMPTS``).
    """
    return generate_with_log(seed)[0]


def generate_with_log(seed: int = DEFAULT_SEED) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """:func:`generate`, and what it did: the accepted sub-seed (``attempt``) and the subjects (USUBJID)
    whose event times the last step changed to print the published digits (``digit_moves``)."""
    for attempt in range(MAX_ATTEMPTS):
        result = _attempt(int(seed), attempt)
        if result is not None:
            sim, datasets = result
            ids = sim.base["USUBJID"].to_numpy()
            moves = {what: [str(ids[j]) for j in ix] for what, ix in sim.digit_moves.items()}
            return datasets, {"seed": int(seed), "attempt": attempt, "digit_moves": moves}
    raise RuntimeError(f"{NAME}: calibration failed for seed {seed} after {MAX_ATTEMPTS} sub-seeds")


def check_calibration(adsl: pd.DataFrame, adtte: pd.DataFrame) -> dict[str, Any]:
    """The calibrated statistics measured on finished datasets: per endpoint (OS, RFS) the
    subjects and events per group, KM medians and the Cox fit of LATER vs FIRST (Efron ties, Wald CI and
    P), all by the analysis engine (trialpress.analysis.survival)."""
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
            # distance of S(t) from 0.5 at the median step (0 = the median is ambiguous)
            "median_margin": min(km_median_margin(t[~later], e[~later]), km_median_margin(t[later], e[later])),
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
        out[g] = {"n_Y": int(y.sum()), "n_N": int((~y).sum()),
                  "median_Y": km_median(t[y], e[y]), "median_N": km_median(t[~y], e[~y]),
                  **cox_binary(t, e, y).as_dict()}
    return out


def prior_hsct_ok(effect: dict[str, dict[str, float]]) -> bool:
    return all(abs(v["median_Y"] - v["median_N"]) < 1.5 and v["lower"] < 1.0 < v["upper"] for v in effect.values())


def calibration_ok(measured: dict[str, Any]) -> bool:
    """Whether :func:`check_calibration` output meets the generator's (internal) tolerances."""
    ok = True
    for pc, key in (("OS", "os"), ("RFS", "rfs")):
        m, tgt = measured[pc], TARGETS[key]
        ok &= all(abs(m["median"][g] - tgt["median"][g]) <= _TOL["median"] for g in GROUPS)
        ok &= abs(m["hr"] - tgt["hr"]) <= _TOL["hr"]
        ok &= abs(m["lower"] - tgt["ci"][0]) <= _TOL["ci"] and abs(m["upper"] - tgt["ci"][1]) <= _TOL["ci"]
        ok &= m["median_margin"] > _TOL["median_margin"]
    ok &= measured["OS"]["p"] < 0.001 and abs(measured["RFS"]["p"] - TARGETS["rfs"]["p"]) <= _TOL["p"]
    return bool(ok)


def printed(measured: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The numbers of :func:`check_calibration` output as the report prints them (``PRINTED`` layout)."""
    out: dict[str, dict[str, Any]] = {}
    for pc in ("OS", "RFS"):
        m = measured[pc]
        out[pc] = {"median": {g: fixed(m["median"][g], 1) for g in GROUPS}, "hr": fixed(m["hr"], 2),
                   "lower": fixed(m["lower"], 2), "upper": fixed(m["upper"], 2), "p": pvalue(m["p"])}
    return out


def digits_ok(measured: dict[str, Any]) -> bool:
    """Whether every OS and RFS number prints as published, each clear of its rounding boundary."""
    if printed(measured) != PRINTED:
        return False
    return all(deviation(measured[pc][k], PRINTED[pc][k]) < DIGITS_ACCEPT for pc in PRINTED
               for k in ("hr", "lower", "upper", "p")) and all(
        deviation(measured[pc]["median"][g], PRINTED[pc]["median"][g]) < DIGITS_ACCEPT for pc in PRINTED for g in GROUPS)


# ========================================================================= pipeline
class _Sim:
    """The arrays of one generation attempt, filled step by step (one entry per subject, in
    ``base`` order). Offsets are days from the first dose (0 = TRTSDT); ``inf`` = never,
    ``nan`` = not applicable.

    Set by the steps: ``death`` (OS), ``responder``, ``rsp``, ``rsp_cycle``, ``bestrsp``,
    ``assess`` (response), ``relapse``, ``nalt`` (relapse), ``prhsct``, ``hsct_cr``, ``hsct``,
    ``hsct_cr_cycles`` (transplant in remission), ``last_dose``, ``cycles``, ``ae_disc``
    (treatment), ``hsct_any`` (other transplants), ``mrd``; the last step (printed digits) may change
    ``death``, ``relapse`` and ``nalt`` and records what it changed in ``digit_moves``.
    """

    def __init__(self, seed: int, attempt: int, base: pd.DataFrame) -> None:
        self.seed, self.attempt, self.base = seed, attempt, base
        self.n = len(base)
        self.group = base["SALVGRP"].to_numpy()
        self.fu = base["_fu_off"].to_numpy()  # last contact: cut-off, or lost to follow-up
        self.score = base["_score"].to_numpy()
        self.digit_moves: dict[str, list[int]] = {}

    def rng(self, step: str) -> np.random.Generator:
        return rng_for(self.seed, step, self.attempt)

    def index(self, mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
        m = np.ones(self.n, bool) if mask is None else mask
        return {g: np.nonzero(m & (self.group == g))[0] for g in GROUPS}


def _attempt(seed: int, attempt: int, digits: bool = True) -> tuple[_Sim, dict[str, pd.DataFrame]] | None:
    """One sub-seed: the steps, then the final guard. ``digits=False`` leaves out the last step (printed
    digits) and its check: the data as the calibration alone makes them (for tests)."""
    sim = _Sim(seed, attempt, _baseline(seed, attempt))
    steps = (_overall_survival, _response, _relapse, _prior_hsct, _transplant_in_remission, _treatment,
             _transplant_other, _mrd) + ((_published_digits,) if digits else ())
    for step in steps:
        if step(sim) is False:
            return None
    adsl, adtte = _adsl(sim), _adtte(sim)
    # final guard on the finished datasets (the engine's estimators, as the calibration used them)
    measured = check_calibration(adsl, adtte)
    if not (calibration_ok(measured) and (digits_ok(measured) or not digits)
            and prior_hsct_ok(prior_hsct_effect(adsl, adtte))):
        return None
    out = {"ADSL": adsl, "ADTTE": adtte, "ADRS": _adrs(sim), "ADAE": _adae(sim)}
    return sim, {k: v.sort_values(KEYS[k], kind="stable").reset_index(drop=True) for k, v in out.items()}


# ------------------------------------------------------------------------- baseline
def _baseline(seed: int, attempt: int) -> pd.DataFrame:
    """Demographics, disease characteristics, first-dose dates and follow-up limits."""
    frames = []
    for spec in STUDIES:
        rng = rng_for(seed, "baseline", attempt, spec.studyid)
        n = spec.n
        start, end = np.datetime64(spec.accrual[0]), np.datetime64(spec.accrual[1])
        span = int((end - start).astype(int))
        trtsdt = np.sort(start + rng.integers(0, span + 1, n).astype("timedelta64[D]"))  # enrolment order
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
        ltfu = np.full(n, np.inf)
        cand = (rng.random(n) < 0.03) & (c_off > 180)
        ltfu[cand] = np.floor(120 + rng.random(int(cand.sum())) * (c_off[cand] - 150))
        frames.append(pd.DataFrame({
            "STUDYID": spec.studyid,
            "USUBJID": [f"{spec.studyid}-{s}-{j}" for s, j in zip(siteid, subjid, strict=True)],
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
            "_c_off": c_off.astype(float),
            "_ltfu_off": ltfu,
        }))
    base = pd.concat(frames, ignore_index=True)
    base["_fu_off"] = np.fmin(base["_c_off"].to_numpy(), base["_ltfu_off"].to_numpy())
    rng = rng_for(seed, "score", attempt)
    z = lambda v: (v - v.mean()) / v.std()  # noqa: E731
    # latent prognosis (higher = better). The salvage-group effect is not in it: it comes from
    # the group-specific target distributions.
    base["_score"] = (-0.45 * z(base["BMBLAST"].to_numpy(float)) - 0.35 * (base["ECOG"].to_numpy() - 0.8)
                      - 0.25 * z(base["AGE"].to_numpy(float)) + rng.normal(0, 1.0, len(base)))
    return base


def _cox_ok(res: CoxResult, tgt: dict[str, Any]) -> bool:
    return (abs(res.hr - tgt["hr"]) <= _TOL["hr"] and abs(res.lower - tgt["ci"][0]) <= _TOL["ci"]
            and abs(res.upper - tgt["ci"][1]) <= _TOL["ci"])


# ------------------------------------------------------------------- overall survival
def _overall_survival(sim: _Sim) -> bool:
    """``sim.death``: death offset of every subject (uncensored; observed if <= ``sim.fu``).

    OS follows a Weibull per group with a common shape (proportional hazards); times are
    quantile-matched (stratified uniforms) and given to subjects in order of their latent
    prognosis. The two medians and the shape are calibrated (nested bisection) until the
    KM medians and the Cox HR of the censored data hit the targets.
    """
    rng = sim.rng("os")
    idx = sim.index()
    order = {g: sim.score[idx[g]] + rng.normal(0, 0.5, len(idx[g])) for g in GROUPS}
    u = {g: stratified_uniforms(rng, len(idx[g])) for g in GROUPS}
    tgt = TARGETS["os"]

    def offsets(g: str, median: float, shape: float) -> np.ndarray:
        days = np.maximum(1, np.round(Weibull(median, shape).ppf(u[g]) * 30.4375))
        return assign_by_rank(order[g], days - 1)

    def measure(g: str, median: float, shape: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        last_contact = sim.fu[idx[g]]
        end, event = censor(offsets(g, median, shape), last_contact)
        return months(end + 1), event, months(last_contact + 1)

    fit = calibrate_two_groups(
        measure, "FIRST", "LATER", tgt["median"], tgt["hr"],
        scale_range={g: (0.5 * m, 2.0 * m) for g, m in tgt["median"].items()},
        lever_range=(0.4, 1.4), median_tol=_TOL["median"], hr_tol=_TOL["hr"])
    if fit is None or not _cox_ok(fit.cox, tgt) or fit.cox.p >= 0.001:
        return False
    sim.death = np.empty(sim.n)
    for g in GROUPS:
        d = offsets(g, fit.scale[g], fit.lever)
        if g in fit.nudges:
            pos, t_new = fit.nudges[g]
            d[pos] = round(t_new * 30.4375) - 1
        sim.death[idx[g]] = d
    sim.os_fit = fit
    return True


# ------------------------------------------------------------------------- response
def _response(sim: _Sim) -> bool:
    """Remission (CR/CRh/CRi) within two cycles: exactly the published counts per group,
    chosen among subjects alive 30 days after the remission assessment, mostly the longer
    survivors (remission is the main driver of survival); fewer blasts help a little."""
    rng = sim.rng("response")
    n = sim.n
    # remission seen at the end of cycle 1 (day ~29) for ~3/4, else at the end of cycle 2 (day ~71)
    rsp_cycle = np.where(rng.random(n) < 0.76, 1, 2)
    rsp_off = (rsp_cycle - 1) * CYCLE_DAYS + INFUSION_DAYS + rng.integers(-2, 4, n)
    noise = rng.normal(0, 0.55, n)
    z_blast = (sim.base["BMBLAST"].to_numpy() - 70.0) / 25.0
    responder = np.zeros(n, bool)
    for g, ix in sim.index().items():
        score = norm_rank(sim.death[ix]) - 0.2 * z_blast[ix] + noise[ix]
        eligible = sim.death[ix] > rsp_off[ix] + 30
        responder[ix[top_k(score, TARGETS["remission"][g], eligible)]] = True
    category = choose(rng, ["CR", "CRh", "CRi"], [0.66, 0.18, 0.16], n)
    # marrow assessments at the end of cycles 1 and 2
    assess = np.stack([INFUSION_DAYS + rng.integers(-2, 4, n),
                       CYCLE_DAYS + INFUSION_DAYS + rng.integers(-2, 4, n)], 1)
    died_before_assessment = sim.death < assess[:, 0]
    nonresp = np.where(died_before_assessment, "NE", np.where(rng.random(n) < 0.11, "BFHM", "NR"))
    sim.responder = responder
    sim.rsp_cycle = np.where(responder, rsp_cycle, 0)
    sim.rsp = np.where(responder, rsp_off, np.nan)
    sim.bestrsp = np.where(responder, category, nonresp)
    sim.assess = assess
    return True


# ---------------------------------------------------------------- relapse-free survival
def _relapse(sim: _Sim) -> bool:
    """``sim.relapse`` (relapse offset, ``inf`` if none before death) and ``sim.nalt`` (start of
    another anti-leukaemic therapy while in remission, ``inf`` if none).

    A latent remission duration follows a mixture-cure Weibull per group, quantile-matched
    and given to responders in order of their survival (rank correlation with noise). Relapse
    happens at remission + duration if that is at least 7 days before death; otherwise (and
    for a fixed share of responders who die in remission) the remission ends with death.
    RFS (relapse or death) is censored at last contact or at the start of a new
    anti-leukaemic therapy in remission (TKI for Ph-positive disease, consolidation
    chemotherapy, donor lymphocytes). The medians and the common shape are
    calibrated for the target medians and HR; the share of new therapies is stepped until
    the Wald P is met.
    """
    rng = sim.rng("rfs")
    rsp = sim.rsp
    idx = sim.index(sim.responder)
    order = {g: norm_rank(sim.death[idx[g]]) + rng.normal(0, RFS_COUPLING_NOISE, len(idx[g])) for g in GROUPS}
    u = {g: stratified_uniforms(rng, len(idx[g])) for g in GROUPS}
    nrm = rng.random(sim.n) < RFS_DEATH_IN_REMISSION  # these responders die without relapse
    u_nalt = rng.random(sim.n)
    nalt_day = np.nan_to_num(rsp, nan=0) + rng.integers(45, 181, sim.n)
    ph_pos = (sim.base["PHSTAT"] == "Ph-positive").to_numpy()
    nalt_p = np.where(ph_pos, RFS_NEW_THERAPY["Ph-positive"], RFS_NEW_THERAPY["Ph-negative"])
    tgt = TARGETS["rfs"]

    for step in RFS_NEW_THERAPY_STEPS:
        nalt = np.where(sim.responder & (u_nalt < nalt_p * step), nalt_day, np.inf)

        def relapse_offsets(g: str, median: float, shape: float) -> np.ndarray:
            m = CureWeibull(cure=RFS_CURE[g], median=median, shape=shape).ppf(u[g])
            dur = np.where(np.isfinite(m), np.maximum(14, np.round(m * 30.4375)), np.inf)
            rel = rsp[idx[g]] + assign_by_rank(order[g], dur)
            return np.where((rel <= sim.death[idx[g]] - 7) & ~nrm[idx[g]], rel, np.inf)

        def measure(g: str, median: float, shape: float, nalt: np.ndarray = nalt):
            rel = relapse_offsets(g, median, shape)
            death, r = sim.death[idx[g]], rsp[idx[g]]
            limit = np.fmin(sim.fu[idx[g]], nalt[idx[g]])  # RFS censoring: last contact or new therapy
            end, event = censor(np.fmin(rel, death), limit)
            # only an observed relapse may be nudged, up to 7 days before death / censoring
            latest = np.where(event & np.isfinite(rel), months(np.fmin(limit, death - 7) - r + 1), -np.inf)
            return months(end - r + 1), event, latest

        fit = calibrate_two_groups(
            measure, "FIRST", "LATER", tgt["median"], tgt["hr"],
            scale_range={g: (0.3 * m, 4.0 * m) for g, m in tgt["median"].items()},
            lever_range=(0.4, 2.0), median_tol=_TOL["median"], hr_tol=_TOL["hr"])
        if fit is not None and _cox_ok(fit.cox, tgt) and abs(fit.cox.p - tgt["p"]) <= _TOL["p"]:
            break
    else:
        return False
    relapse = np.full(sim.n, np.inf)
    for g in GROUPS:
        rel = relapse_offsets(g, fit.scale[g], fit.lever)
        if g in fit.nudges:
            pos, t_new = fit.nudges[g]
            rel[pos] = rsp[idx[g]][pos] + round(t_new * 30.4375) - 1
        relapse[idx[g]] = rel
    sim.relapse = relapse
    # a new therapy only happens if it starts in remission, before the last contact
    sim.nalt = np.where(nalt < np.fmin(np.fmin(relapse, sim.death), sim.fu), nalt, np.inf)
    sim.rfs_fit = fit
    return True


# ---------------------------------------------------------------------- prior alloHSCT
def _prior_hsct(sim: _Sim) -> bool:
    """Prior alloHSCT with no prognostic effect: exactly ``PRIOR_HSCT_RATE`` of each group,
    spread evenly along the observed OS times (systematic sampling with a random start);
    redrawn (bounded) until the "no apparent effect" criterion of :func:`prior_hsct_ok` holds."""
    rng = sim.rng("prior_hsct")
    event = sim.death <= sim.fu
    observed = np.fmin(sim.death, sim.fu)
    t = months(observed + 1)
    prhsct = np.zeros(sim.n, bool)
    for g, ix in sim.index().items():
        k = int(round(PRIOR_HSCT_RATE[g] * len(ix)))
        for _ in range(50):
            y = balanced_flag(rng, observed[ix], k)
            tg, eg = t[ix], event[ix]
            res = cox_binary(tg, eg, y)
            if abs(km_median(tg[y], eg[y]) - km_median(tg[~y], eg[~y])) < 1.0 and res.lower < 1.0 < res.upper:
                break
        else:
            return False
        prhsct[ix] = y
    sim.prhsct = prhsct
    return True


# ---------------------------------------------------------------------- transplants
def _transplant_in_remission(sim: _Sim) -> bool:
    """alloHSCT in continuous remission (no relapse, no other therapy before it): exactly
    the published counts; planned after 0-2 further blinatumomab cycles, 3-8 weeks after the
    last infusion, at least 14 days before relapse or death and before the cut-off."""
    rng = sim.rng("hsct_cr")
    n = sim.n
    extra = choose(rng, ["0", "1", "2"], [0.5, 0.35, 0.15], n).astype(int)
    last_cycle = sim.rsp_cycle + extra
    hsct = ((last_cycle - 1) * CYCLE_DAYS + INFUSION_DAYS - 1 + rng.integers(21, 57, n)).astype(float)
    rfs_end = np.fmin(sim.relapse, sim.death)
    eligible = (sim.responder & (hsct + 14 <= rfs_end) & (hsct <= sim.fu - 14) & ~np.isfinite(sim.nalt)
                & (sim.base["AGE"].to_numpy() <= 72))
    score = (norm_rank(np.where(np.isfinite(rfs_end), rfs_end, 1e6)) + rng.normal(0, 0.8, n)
             - 0.6 * sim.prhsct - 0.03 * (sim.base["AGE"].to_numpy() - 40))
    flag = np.zeros(n, bool)
    for g, ix in sim.index().items():
        if eligible[ix].sum() < TARGETS["allo_hsct_ccr"][g]:
            return False
        flag[ix[top_k(score[ix], TARGETS["allo_hsct_ccr"][g], eligible[ix])]] = True
    sim.hsct_cr = flag
    sim.hsct = np.where(flag, hsct, np.nan)
    sim.hsct_cr_cycles = np.where(flag, last_cycle, 0)
    return True


def _transplant_other(sim: _Sim) -> bool:
    """alloHSCT not in continuous remission: after another salvage (non-responders), after
    relapse, or after another therapy started in remission. Exactly the published totals."""
    rng = sim.rng("hsct_other")
    n = sim.n
    relapse_seen = np.isfinite(sim.relapse) & (sim.relapse <= sim.fu)
    evaluable_nonresp = ~sim.responder & (sim.bestrsp != "NE")
    hsct = np.select(
        [evaluable_nonresp, sim.responder & np.isfinite(sim.nalt), sim.responder & relapse_seen],
        [np.maximum(sim.last_dose + rng.integers(45, 121, n), 90),
         sim.nalt + rng.integers(30, 91, n),
         sim.relapse + rng.integers(35, 101, n)],
        default=np.inf).astype(float)
    eligible = (~sim.hsct_cr & np.isfinite(hsct) & (hsct + 14 <= sim.death) & (hsct <= sim.fu - 7)
                & (sim.base["AGE"].to_numpy() <= 72))
    score = (norm_rank(sim.death) + rng.normal(0, 0.8, n) - 0.6 * sim.prhsct
             - 0.03 * (sim.base["AGE"].to_numpy() - 40))
    flag = np.zeros(n, bool)
    for g, ix in sim.index().items():
        k = TARGETS["allo_hsct"][g] - TARGETS["allo_hsct_ccr"][g]
        if eligible[ix].sum() < k:
            return False
        flag[ix[top_k(score[ix], k, eligible[ix])]] = True
    sim.hsct = np.where(flag, hsct, sim.hsct)
    sim.hsct_any = flag | sim.hsct_cr
    return True


# ------------------------------------------------------------------------- treatment
def _treatment(sim: _Sim) -> bool:
    """Blinatumomab exposure: 28-day infusions every 42 days; two induction cycles and up to
    three consolidation cycles for responders (fewer before a transplant); non-responders stop
    after one or two cycles. Treatment stops at death, relapse, a new therapy, the cut-off or
    last contact, and in ~6% of subjects for an adverse event."""
    rng = sim.rng("treatment")
    n = sim.n
    planned = np.where(sim.responder, 2 + choose(rng, ["0", "1", "2", "3"], [0.25, 0.2, 0.15, 0.4], n).astype(int),
                       np.where(rng.random(n) < 0.6, 2, 1))
    planned = np.where(sim.hsct_cr, sim.hsct_cr_cycles, planned)
    planned_end = (planned - 1) * CYCLE_DAYS + INFUSION_DAYS - 1
    disc_cycle = np.where(sim.responder, np.maximum(sim.rsp_cycle + 1, 2), rng.integers(1, 3, n))
    disc = (disc_cycle - 1) * CYCLE_DAYS + rng.integers(1, INFUSION_DAYS - 1, n)
    disc = np.where((rng.random(n) < AE_DISCONTINUATION_RATE) & (disc < planned_end), disc, np.inf)
    stop = np.fmin.reduce([sim.death, sim.relapse - 1, sim.nalt - 1, sim.fu, disc])
    last = np.fmin(planned_end, stop)
    in_break = (last % CYCLE_DAYS) >= INFUSION_DAYS
    last = np.where(in_break, (last // CYCLE_DAYS) * CYCLE_DAYS + INFUSION_DAYS - 1, last)
    sim.last_dose = last.astype(int)
    sim.cycles = (sim.last_dose // CYCLE_DAYS + 1).astype(int)
    sim.ae_disc = np.isfinite(disc) & (disc == stop) & (sim.last_dose == disc)
    return True


def _mrd(sim: _Sim) -> bool:
    """MRD response (< 1e-4) among responders: exactly the published counts, mostly the
    responders with the longest remissions."""
    rng = sim.rng("mrd")
    rfs_end = np.fmin(sim.relapse, sim.death) - np.nan_to_num(sim.rsp, nan=0)
    score = norm_rank(np.where(np.isfinite(rfs_end), rfs_end, 1e6)) + rng.normal(0, 1.0, sim.n)
    mrd = np.zeros(sim.n, bool)
    for g, ix in sim.index(sim.responder).items():
        mrd[ix[top_k(score[ix], TARGETS["mrd_response"][g])]] = True
    sim.mrd = mrd
    return True


# ------------------------------------------------------------------- printed digits
def _published_digits(sim: _Sim) -> bool:
    """Last step: the abstract's OS and RFS numbers, digit for digit (``PRINTED``).

    The calibration above hits the targets within tolerances; printing them needs a little more (an upper
    CI bound of 1.959 prints 1.96, not the published 1.97). This step changes a few event times, each
    chosen so that no other record depends on it (no AE window, response date or transplant moves):

    1. a KM median that does not print as published is nudged: the event at which S(t) first reaches
       0.5 moves later, to the published value (:func:`nudge_to_median`; OS: a death, RFS: a relapse);
    2. OS: some deaths after the group's median are moved past the subject's last contact (the subject
       is alive at the cut-off, or censored when lost to follow-up); only deaths more than 37 days after
       the last dose (outside the AE window and its 'died within 7 days' rule), after the second marrow
       assessment and not ending a remission (not an RFS event) may move;
    3. RFS: for some RFS events after the group's median, another anti-leukaemic therapy in remission
       starts before the event (RFS is censored at it; a later relapse is still recorded): after the
       median, > 30 days after the last dose, >= 45 days into remission, >= 7 days before the event;
       three start days are offered per subject (the earliest, the latest and the middle one).

    Events after the median leave the medians as they are; each one removed widens the CI and moves the
    HR up (a first-salvage event) or down (later salvage). The fewest such changes that make every
    number print as published are found by :func:`choose_moves` (each change's effect on the log HR and
    its SE is measured once with the engine's Cox model, combinations are searched with the effects
    added up, and the candidates are checked exactly with the engine's KM and Cox). Only if no set of
    removals works are events also added (which narrow the CI): OS, a death after the group's median
    and before the last contact of a subject alive then (not one in a remission that RFS follows);
    RFS, a relapse after the median of a responder in remission at the last contact (not transplanted,
    after the last dose). Returns False (next sub-seed) if nothing works within ``MAX_DIGIT_MOVES``
    changes per endpoint.
    """
    return _os_digits(sim) and _rfs_digits(sim)


def _log_hr(t: np.ndarray, e: np.ndarray, later: np.ndarray) -> tuple[float, float]:
    """Log HR (LATER vs FIRST) and its SE, by the engine's Cox model."""
    fit = cox_binary(t, e, later)
    return float(np.log(fit.hr)), fit.se


def _digits_deviation(t: np.ndarray, e: np.ndarray, later: np.ndarray, target: dict[str, Any]) -> float:
    """The largest deviation (half-units of the last printed digit) of the medians, HR, CI and P from
    ``target``, by the engine's KM and Cox."""
    dev = [deviation(km_median(t[later == (g == "LATER")], e[later == (g == "LATER")]), target["median"][g])
           for g in GROUPS]
    fit = cox_binary(t, e, later)
    return max(*dev, *(deviation(getattr(fit, k), target[k]) for k in ("hr", "lower", "upper", "p")))


def _nudged_median(t: np.ndarray, e: np.ndarray, earliest: np.ndarray, latest: np.ndarray,
                   printed_median: str) -> tuple[int, float] | None:
    """``None`` if the median already prints as published, else the nudge that makes it do so: one event
    moved later (median too short) or earlier (too long), as (position, new months); (-1, nan) if none."""
    median = km_median(t, e)
    if deviation(median, printed_median) < DIGITS_ACCEPT:
        return None
    target, tol = float(printed_median), 0.05 * DIGITS_ACCEPT
    nudge = (nudge_to_median(t, e, latest, target, tol) if median < target
             else nudge_earlier_to_median(t, e, earliest, target, tol))
    return nudge or (-1, float("nan"))


def _first_day_after(median: float) -> int:
    """The smallest duration in days (both ends counted) whose AVAL in months exceeds ``median``."""
    k = int(np.floor(median * DAYS_PER_MONTH))
    while months(np.array([k]))[0] <= median:
        k += 1
    return k


def _three_days(lo: float, hi: float) -> list[int]:
    """The days offered for a move in ``[lo, hi]``: the latest, the middle and the earliest."""
    return sorted({int(hi), int((lo + hi) // 2), int(lo)}, reverse=True)


def _choose(fit: Any, exact: Any, removals: list[Any], additions: list[Any], subject: Any,
            target: dict[str, Any]) -> list[Any] | None:
    """:func:`choose_moves` among the removals of events first, then (if that fails) with additions too."""
    chosen = choose_moves(fit, exact, removals, subject, target, MAX_DIGIT_MOVES)
    if chosen is None and additions:
        chosen = choose_moves(fit, exact, removals + additions, subject, target, MAX_DIGIT_MOVES)
    return chosen


def _os_digits(sim: _Sim) -> bool:
    later = sim.group == "LATER"
    target = PRINTED["OS"]
    death = sim.death.copy()
    observed = death <= sim.fu
    rfs_end, rfs_event = _rfs_end(sim.responder, sim.relapse, sim.death, sim.fu, sim.nalt)
    ends_remission = rfs_event & (sim.death <= sim.relapse) & (sim.death < sim.nalt)
    in_remission_at_last_contact = sim.responder & ~rfs_event & (rfs_end == sim.fu)
    # a death may be placed from this day on: after the AE window (last dose + 30 days, + 7 for 'died soon'),
    # the second marrow assessment, 30 days into remission, 7 days after a relapse, 14 after a transplant,
    # after a new therapy
    after_day = np.fmax.reduce([sim.last_dose + 38.0, sim.assess[:, 1] + 1.0, np.nan_to_num(sim.rsp, nan=-1) + 31,
                                np.where(sim.relapse <= sim.fu, sim.relapse + 7, -1),
                                np.nan_to_num(sim.hsct, nan=-1) + 14, np.where(np.isfinite(sim.nalt), sim.nalt + 1, -1)])
    # deaths that may move: from that day on, and not ending a remission (RFS would change)
    free = observed & (death >= after_day) & ~ends_remission
    # subjects alive at their last contact who may die before it: not in a remission that RFS follows
    may_die = ~observed & ~in_remission_at_last_contact & (after_day <= sim.fu)

    def tte(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return months(np.fmin(d, sim.fu) + 1), d <= sim.fu

    earliest = np.where(free, months(after_day + 1), np.inf)
    latest = np.where(free, months(sim.fu + 1), -np.inf)
    for g, ix in sim.index().items():
        t, e = tte(death)
        nudge = _nudged_median(t[ix], e[ix], earliest[ix], latest[ix], target["median"][g])
        if nudge is not None:
            if nudge[0] < 0:
                return False
            death[ix[nudge[0]]] = round(nudge[1] * DAYS_PER_MONTH) - 1
    t, e = tte(death)
    first_after = {g: _first_day_after(km_median(t[ix], e[ix])) for g, ix in sim.index().items()}
    after_median = np.array([first_after[g] - 1 for g in sim.group], dtype=float)   # as a death offset
    removals: list[tuple[int, float]] = [(int(j), np.inf) for j in np.nonzero(free & (death >= after_median))[0]]
    additions: list[tuple[int, float]] = []
    for j in np.nonzero(may_die)[0]:
        lo = max(after_day[j], after_median[j])
        if lo <= sim.fu[j]:
            additions += [(int(j), float(day)) for day in _three_days(lo, sim.fu[j])]

    def data(chosen: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        d = death.copy()
        for j, day in chosen:
            d[j] = day
        return (*tte(d), later)

    chosen = _choose(lambda c: _log_hr(*data(c)), lambda c: _digits_deviation(*data(c), target), removals, additions,
                     lambda m: m[0], target)
    if chosen is None:
        return False
    sim.digit_moves["OS death nudged"] = [int(j) for j in np.nonzero(np.isfinite(death) & (death != sim.death))[0]]
    for j, day in chosen:
        death[j] = day
    sim.digit_moves["OS death after last contact"] = sorted(j for j, day in chosen if not np.isfinite(day))
    sim.digit_moves["OS death before last contact"] = sorted(j for j, day in chosen if np.isfinite(day))
    sim.death = death
    return True


def _rfs_digits(sim: _Sim) -> bool:
    r = sim.responder
    later = (sim.group == "LATER")[r]
    rsp = np.nan_to_num(sim.rsp, nan=0.0)
    target = PRINTED["RFS"]
    relapse, nalt = sim.relapse.copy(), sim.nalt.copy()

    def tte(rel: np.ndarray, na: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        end, event = _rfs_end(r, rel, sim.death, sim.fu, na)
        return months(end - rsp + 1), event

    transplanted = np.isfinite(sim.hsct)
    for g, ix in sim.index(r).items():
        t, e = tte(relapse, nalt)
        # an observed relapse (not of a transplanted subject) may move later, up to 7 days before death,
        # last contact or a new therapy, or earlier, to 14 days into remission and after the last dose
        limit = np.fmin.reduce([sim.death - 7, sim.fu, nalt - 1])
        movable = e & (relapse <= sim.death) & ~transplanted
        earliest = np.where(movable, months(np.fmax(rsp + 14, sim.last_dose + 2.0) - rsp + 1), np.inf)
        nudge = _nudged_median(t[ix], e[ix], earliest[ix], np.where(movable, months(limit - rsp + 1), -np.inf)[ix],
                               target["median"][g])
        if nudge is not None:
            if nudge[0] < 0:
                return False
            j = ix[nudge[0]]
            relapse[j] = rsp[j] + round(nudge[1] * DAYS_PER_MONTH) - 1
    t, e = tte(relapse, nalt)
    first_after = {g: _first_day_after(km_median(t[ix], e[ix])) for g, ix in sim.index(r).items()}
    after_median = rsp + np.array([first_after.get(g, 0) - 1 for g in sim.group], dtype=float)   # as an offset
    event_off = np.fmin(relapse, sim.death)
    removals: list[tuple[str, int, int]] = []
    additions: list[tuple[str, int, int]] = []
    # an RFS event after the median is censored: another therapy in remission starts before it, after the
    # median, > 30 days after the last dose, >= 45 days into remission and >= 7 days before the event
    for j in np.nonzero(e & ~sim.hsct_cr & ~np.isfinite(nalt))[0]:
        lo, hi = max(after_median[j], sim.last_dose[j] + 31, rsp[j] + 45), event_off[j] - 7
        if lo <= hi:
            removals += [("nalt", int(j), day) for day in _three_days(lo, hi)]
    # a responder in remission at the last contact (not transplanted) relapses after the median, >= 14 days
    # into remission, after the last dose and before the last contact
    for j in np.nonzero(r & ~e & (relapse > sim.fu) & ~(nalt <= sim.fu) & ~transplanted)[0]:
        lo, hi = max(after_median[j], rsp[j] + 14, sim.last_dose[j] + 2), min(sim.fu[j], sim.death[j] - 7)
        if lo <= hi:
            additions += [("relapse", int(j), day) for day in _three_days(lo, hi)]

    def apply(chosen: list[tuple[str, int, int]]) -> tuple[np.ndarray, np.ndarray]:
        rel, na = relapse.copy(), nalt.copy()
        for what, j, day in chosen:
            (na if what == "nalt" else rel)[j] = day
        return rel, na

    def data(chosen: list[tuple[str, int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t, e = tte(*apply(chosen))
        return t[r], e[r], later

    chosen = _choose(lambda c: _log_hr(*data(c)), lambda c: _digits_deviation(*data(c), target), removals, additions,
                     lambda m: m[1], target)
    if chosen is None:
        return False
    sim.digit_moves["RFS relapse nudged"] = [int(j) for j in np.nonzero(relapse != sim.relapse)[0]]
    sim.digit_moves["RFS new therapy in remission"] = sorted(j for what, j, _ in chosen if what == "nalt")
    sim.digit_moves["RFS relapse added"] = sorted(j for what, j, _ in chosen if what == "relapse")
    sim.relapse, sim.nalt = apply(chosen)
    return True


# ------------------------------------------------------------------------- datasets
def _dates(start: pd.Series, offsets: np.ndarray) -> pd.Series:
    """``start + offset`` days; non-finite offsets give NaT."""
    off = np.where(np.isfinite(offsets), offsets, np.nan)
    return add_days(start, off)


def _adsl(sim: _Sim) -> pd.DataFrame:
    base = sim.base
    trtsdt = base["TRTSDT"]
    died = sim.death <= sim.fu
    relapsed = np.isfinite(sim.relapse) & (sim.relapse <= sim.fu)
    adsl = pd.DataFrame({
        "STUDYID": base["STUDYID"],
        "USUBJID": base["USUBJID"],
        "SUBJID": base["SUBJID"],
        "SITEID": base["SITEID"],
        "AGE": base["AGE"].astype(int),
        "AGEGR1": pd.cut(base["AGE"], [0, 34, 54, 200], labels=["<35", "35-54", ">=55"]).astype(str),
        "SEX": base["SEX"],
        "RACE": base["RACE"],
        "REGION1": base["REGION1"],
        "PHSTAT": base["PHSTAT"],
        "PRHSCT": np.where(sim.prhsct, "Y", "N"),
        "NPRSALV": base["NPRSALV"].astype(int),
        "SALVGRP": base["SALVGRP"],
        "SALVGRPN": np.where(base["SALVGRP"] == "FIRST", 1, 2),
        "BMBLAST": base["BMBLAST"].round(1),
        "BMBLGR1": np.where(base["BMBLAST"] >= 50, ">=50%", "<50%"),
        "ECOG": base["ECOG"].astype(int),
        "TRTSDT": trtsdt,
        "TRTEDT": _dates(trtsdt, sim.last_dose.astype(float)),
        "CYCLES": sim.cycles,
        "TRTDURD": sim.last_dose + 1,
        "SAFFL": "Y",
        "FASFL": "Y",
        "DCUTDT": base["DCUTDT"],
        "DTHFL": np.where(died, "Y", "N"),
        "DTHDT": _dates(trtsdt, np.where(died, sim.death, np.nan)),
        "HSCTFL": np.where(sim.hsct_any, "Y", "N"),
        "HSCTDT": _dates(trtsdt, sim.hsct),
        "HSCTCRFL": np.where(sim.hsct_cr, "Y", "N"),
        "CRFL": np.where(sim.responder, "Y", "N"),
        "RSPDT": _dates(trtsdt, sim.rsp),
        "RELFL": np.where(relapsed, "Y", "N"),
        "RELDT": _dates(trtsdt, np.where(relapsed, sim.relapse, np.nan)),
        "NALTDT": _dates(trtsdt, sim.nalt),
    })
    return adsl[COLUMNS["ADSL"]]


def _tte_rows(base: pd.DataFrame, mask: np.ndarray, paramcd: str, start_off: np.ndarray, end_off: np.ndarray,
              event: np.ndarray, evntdesc: np.ndarray, cnsdtdsc: np.ndarray) -> pd.DataFrame:
    trtsdt = base["TRTSDT"][mask].reset_index(drop=True)
    s, e = start_off[mask], end_off[mask]
    return pd.DataFrame({
        "STUDYID": base["STUDYID"][mask].to_numpy(),
        "USUBJID": base["USUBJID"][mask].to_numpy(),
        "PARAMCD": paramcd,
        "PARAM": TTE_PARAMS[paramcd],
        "AVAL": months(e - s + 1),
        "AVALU": "MONTHS",
        "CNSR": np.where(event[mask], 0, 1),
        "STARTDT": _dates(trtsdt, s),
        "ADT": _dates(trtsdt, e),
        "EVNTDESC": np.where(event[mask], evntdesc[mask], ""),
        "CNSDTDSC": np.where(event[mask], "", cnsdtdsc[mask]),
    })


def _rfs_end(responder: np.ndarray, relapse: np.ndarray, death: np.ndarray, fu: np.ndarray,
             nalt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RFS end (offset) and event: relapse or death, censored at last contact or a new therapy in remission."""
    event_off = np.fmin(relapse, death)
    cens_off = np.fmin(fu, nalt)
    event = responder & (event_off <= cens_off)
    return np.where(event, event_off, cens_off), event


def _adtte(sim: _Sim) -> pd.DataFrame:
    base, n = sim.base, sim.n
    died = sim.death <= sim.fu
    os_end = np.fmin(sim.death, sim.fu)
    lost = np.isfinite(base["_ltfu_off"].to_numpy())
    os_reason = np.where(lost, "LOST TO FOLLOW-UP", "DATA CUT-OFF")
    zero = np.zeros(n)
    rows = [_tte_rows(base, np.ones(n, bool), "OS", zero, os_end, died, np.full(n, "DEATH"), os_reason)]
    # RFS: from remission to relapse or death; censored at last contact or a new therapy in remission
    rfs_end, rfs_event = _rfs_end(sim.responder, sim.relapse, sim.death, sim.fu, sim.nalt)
    rfs_desc = np.where(sim.relapse <= sim.death, "RELAPSE", "DEATH")
    rfs_reason = np.where(sim.nalt <= sim.fu, "NEW ANTI-LEUKAEMIC THERAPY", os_reason)
    rows.append(_tte_rows(base, sim.responder, "RFS", sim.rsp, rfs_end, rfs_event, rfs_desc, rfs_reason))
    rows.append(_tte_rows(base, sim.hsct_any, "OSHSCT", sim.hsct, os_end, died, np.full(n, "DEATH"), os_reason))
    return pd.concat(rows, ignore_index=True)[COLUMNS["ADTTE"]]


def _adrs(sim: _Sim) -> pd.DataFrame:
    base = sim.base
    trtsdt = base["TRTSDT"]
    # date of the best response: remission date, else the last assessment the subject lived to
    second = (sim.cycles >= 2) & (sim.death >= sim.assess[:, 1]) & (sim.fu >= sim.assess[:, 1])
    assess = np.where(second, sim.assess[:, 1], sim.assess[:, 0]).astype(float)
    best_off = np.where(sim.responder, sim.rsp, np.where(sim.bestrsp == "NE", np.nan, assess))
    best = pd.DataFrame({
        "STUDYID": base["STUDYID"], "USUBJID": base["USUBJID"], "PARAMCD": "BESTRSP",
        "PARAM": RS_PARAMS["BESTRSP"], "AVALC": sim.bestrsp, "ADT": _dates(trtsdt, best_off),
    })
    r = sim.responder
    mrd = pd.DataFrame({
        "STUDYID": base["STUDYID"][r].to_numpy(), "USUBJID": base["USUBJID"][r].to_numpy(), "PARAMCD": "MRDRESP",
        "PARAM": RS_PARAMS["MRDRESP"], "AVALC": np.where(sim.mrd[r], "Y", "N"),
        "ADT": _dates(trtsdt[r].reset_index(drop=True), sim.rsp[r]),
    })
    return pd.concat([best, mrd], ignore_index=True)[COLUMNS["ADRS"]]


def _adae(sim: _Sim) -> pd.DataFrame:
    """Treatment-emergent AEs: onset from the first dose to 30 days after the last dose (and
    not after death, last contact, a transplant or a new therapy)."""
    base = sim.base
    rng = sim.rng("adae")
    n = sim.n
    end = np.fmin.reduce([sim.last_dose + 30.0, sim.death, sim.fu, np.nan_to_num(sim.hsct, nan=np.inf) - 1,
                          sim.nalt - 1]).astype(int)
    start = np.zeros(n, int)
    ev = draw_ae_events(rng, AE_TERMS, sim.group, start, end, CYCLE_DAYS, sim.cycles)
    terms = [AE_TERMS[i] for i in ev["term"]]
    recs = pd.DataFrame({
        "subject": ev["subject"].to_numpy(),
        "onset": ev["onset"].to_numpy(),
        "grade": ev["grade"].to_numpy(),
        "decod": [t.decod for t in terms],
        "bodsys": [t.bodsys for t in terms],
        "related_p": [t.related for t in terms],
        "serious_boost": [t.serious_boost for t in terms],
        "verbatim": [t.verbatim[int(rng.integers(len(t.verbatim)))] for t in terms],
        "kind": "regular",
    })
    # an AE that led to permanent discontinuation, on the day of the last dose
    disc_idx = np.nonzero(sim.ae_disc)[0]
    disc_terms = choose(rng, _DISC_TERMS, _DISC_WEIGHTS, len(disc_idx))
    term_by_name = {t.decod: t for t in AE_TERMS}
    recs_disc = pd.DataFrame({
        "subject": disc_idx,
        "onset": sim.last_dose[disc_idx],
        "grade": rng.choice([3, 4], len(disc_idx), p=[0.75, 0.25]),
        "decod": disc_terms,
        "bodsys": [term_by_name[t].bodsys for t in disc_terms],
        "related_p": 1.0,
        "serious_boost": 0.3,
        "verbatim": [term_by_name[t].verbatim[0] for t in disc_terms],
        "kind": "withdrawn",
    })
    # fatal AEs: some deaths within the treatment-emergent window
    died_in_window = (sim.death <= sim.fu) & (sim.death <= end)
    fatal_idx = np.nonzero(died_in_window & (rng.random(n) < FATAL_AE_SHARE))[0]
    f_terms = choose(rng, [t[0] for t in FATAL_TERMS], [t[2] for t in FATAL_TERMS], len(fatal_idx))
    f_soc = {t[0]: t[1] for t in FATAL_TERMS}
    recs_fatal = pd.DataFrame({
        "subject": fatal_idx,
        "onset": np.maximum(0, sim.death[fatal_idx] - rng.integers(0, 6, len(fatal_idx))).astype(int),
        "grade": 5,
        "decod": f_terms,
        "bodsys": [f_soc[t] for t in f_terms],
        "related_p": 0.1,
        "serious_boost": 1.0,
        "verbatim": [t.upper() for t in f_terms],
        "kind": "fatal",
    })
    ae = pd.concat([recs, recs_disc, recs_fatal], ignore_index=True)
    m = len(ae)
    subj = ae["subject"].to_numpy()
    onset = ae["onset"].to_numpy().astype(int)
    grade = ae["grade"].to_numpy().astype(int)
    last = sim.last_dose[subj]
    on_treatment = onset <= last
    neuro_crs = ae["decod"].isin(_NEURO_CRS).to_numpy()
    u = rng.random((m, 4))
    p_ser = np.clip(np.select([grade == 1, grade == 2, grade == 3, grade == 4], [0.01, 0.04, 0.18, 0.40], 1.0)
                    + ae["serious_boost"].to_numpy(), 0, 1)
    interrupted = on_treatment & (grade >= 3) & (u[:, 2] < np.where(neuro_crs, 0.45, 0.08))
    acn = np.where(~on_treatment, "NOT APPLICABLE", np.where(interrupted, "DRUG INTERRUPTED", "DOSE NOT CHANGED"))
    acn = np.where((ae["kind"] == "withdrawn").to_numpy() | ((ae["kind"] == "fatal").to_numpy() & on_treatment),
                   "DRUG WITHDRAWN", acn)
    outcome = choose(rng, ["RECOVERED/RESOLVED", "RECOVERING/RESOLVING", "NOT RECOVERED/NOT RESOLVED",
                           "RECOVERED/RESOLVED WITH SEQUELAE"], [0.82, 0.06, 0.10, 0.02], m)
    died_soon = (sim.death[subj] <= sim.fu[subj]) & (sim.death[subj] - onset <= 7)
    outcome = np.where(died_soon, "NOT RECOVERED/NOT RESOLVED", outcome)
    outcome = np.where(grade == 5, "FATAL", outcome)
    trtsdt = base["TRTSDT"].to_numpy()[subj]
    adae = pd.DataFrame({
        "STUDYID": base["STUDYID"].to_numpy()[subj],
        "USUBJID": base["USUBJID"].to_numpy()[subj],
        "AETERM": ae["verbatim"].to_numpy(),
        "AEDECOD": ae["decod"].to_numpy(),
        "AEBODSYS": ae["bodsys"].to_numpy(),
        "AETOXGR": grade,
        "AESER": np.where(u[:, 0] < p_ser, "Y", "N"),
        "AEREL": np.where(u[:, 1] < ae["related_p"].to_numpy(), "RELATED", "NOT RELATED"),
        "AEACN": acn,
        "AEOUT": outcome,
        "AESDTH": np.where(grade == 5, "Y", "N"),
        "TRTEMFL": "Y",
        "ASTDT": pd.to_datetime(trtsdt) + pd.to_timedelta(onset, unit="D"),
        "ASTDY": onset + 1,
        "ACYCLE": np.minimum(onset // CYCLE_DAYS + 1, sim.cycles[subj]),
    })
    adae = adae.sort_values(["USUBJID", "ASTDT", "AEDECOD", "AETOXGR"], kind="stable").reset_index(drop=True)
    adae["AESEQ"] = adae.groupby("USUBJID").cumcount() + 1
    return adae[COLUMNS["ADAE"]]

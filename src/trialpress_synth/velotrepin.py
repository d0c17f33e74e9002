"""Synthetic ADaM data of an invented three-arm trial: velotrepin in COPD with frequent exacerbations.

**Everything here is invented**: the compound (velotrepin, a hypothetical anti-IL-33 monoclonal
antibody given subcutaneously every 4 weeks), the study (VLT-301) and every record. The trial is
the second bundled example of trialpress and differs from the flagship on every axis:

* randomised 1:1:1 to placebo, velotrepin 100 mg or velotrepin 300 mg (``TRT01P``), stratified by
  the number of moderate or severe exacerbations in the prior year (``EXACGR1``) and region;
* times in **days** from randomisation (``AVALU = DAYS``), 52 weeks of treatment and follow-up;
* time-to-event endpoints under their own PARAMCDs: ``TTFE`` (time to first moderate or severe
  exacerbation) and ``TTSE`` (time to first severe exacerbation, i.e. hospitalisation or death);
* adverse-event severity as ``AESEV`` MILD / MODERATE / SEVERE;
* intention-to-treat (``ITTFL``: all randomised) and safety (``SAFFL``: at least one dose)
  populations, with a few randomised-but-untreated subjects (``SAFFL = N``);
* no response data (no ADRS).

The generator is deterministic: a seed gives equal frames. The arm scales of the exacerbation
times are calibrated (bisection on fixed random numbers) so that the placebo Kaplan–Meier median
and the Cox hazard ratio of each dose vs placebo of TTFE hit :data:`TARGETS`; everything else
follows from the model (realised values in ``data/velotrepin-copd/README.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from trialpress_synth._common import (
    AETerm,
    add_days,
    bisect_increasing,
    choose,
    cox_binary,
    draw_ae_events,
    km_median,
    km_median_margin,
    rng_for,
)

__all__ = ["ARMS", "COLUMNS", "DEFAULT_SEED", "KEYS", "NAME", "TARGETS", "check_calibration", "generate"]

NAME = "velotrepin-copd"
DEFAULT_SEED = 20240301
MAX_ATTEMPTS = 20
STUDYID = "VLT-301"

# planned treatment (TRT01P values; TRT01PN = 1, 2, 3)
PLACEBO, LOW, HIGH = "PLACEBO", "VLT100", "VLT300"
ARMS: tuple[str, ...] = (PLACEBO, LOW, HIGH)
ARM_N = {PLACEBO: 1, LOW: 2, HIGH: 3}
N_RANDOMISED = 456
UNTREATED = {PLACEBO: 2, LOW: 2, HIGH: 3}   # randomised, never dosed (SAFFL = N)

DOSE_INTERVAL = 28          # subcutaneous injection every 4 weeks
N_DOSES = 13                # days 1, 29, ..., 337
PLANNED_END = 364           # week-52 visit (offset from randomisation, day 365)
TEAE_DAYS = 84              # treatment-emergent: onset up to 84 days after the last dose
ACCRUAL = ("2021-03-01", "2022-08-31")
DCUT = "2023-09-29"

TARGETS: dict[str, Any] = {
    # KM median of TTFE in the placebo arm (days), calibrated to +-2 days
    "ttfe_median": 176.0,
    # Cox HR of TTFE, each dose vs placebo (ITT, unstratified, Efron ties), calibrated to +-0.005
    # (1/HR within 0.01); the dose arms' medians and everything about TTSE follow from the model
    "hr": {LOW: 0.83, HIGH: 0.64},
}
_MEDIAN_TOL = 2.0
_HR_TOL = 0.01

WEIBULL_SHAPE = 0.95                 # slightly decreasing hazard of a first exacerbation
SEVERE_SCALE_RATIO = 5.5             # severe exacerbations come ~5.5x later than any exacerbation
EOSINOPHIL_EFFECT = {PLACEBO: 1.0, LOW: 0.80, HIGH: 0.62}  # extra effect in BLEOS >= 300 (hazard multiplier)
STUDY_WITHDRAWAL_1Y = 0.08           # P(withdraw from the study within a year)
TREATMENT_STOP_1Y = 0.07             # P(stop treatment, stay in follow-up) apart from AEs
AE_DISCONTINUATION = {PLACEBO: 0.025, LOW: 0.035, HIGH: 0.05}
DEATH_1Y = 0.012
FATAL_AE_SHARE = 0.8

COLUMNS: dict[str, list[str]] = {
    "ADSL": ["STUDYID", "USUBJID", "SUBJID", "SITEID", "REGION1", "AGE", "AGEU", "AGEGR1", "SEX", "RACE",
             "SMOKSTAT", "FEV1PP", "BLEOS", "BLEOSGR1", "NEXACPY", "EXACGR1", "BTHERAPY", "RANDDT", "TRT01P",
             "TRT01PN", "TRT01A", "TRT01AN", "TRTSDT", "TRTEDT", "TRTDURD", "NDOSE", "ITTFL", "SAFFL",
             "EOSSTT", "DCSREAS", "EOSDT", "DTHFL", "DTHDT", "DCUTDT"],
    "ADTTE": ["STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVAL", "AVALU", "CNSR", "STARTDT", "ADT",
              "EVNTDESC", "CNSDTDSC"],
    "ADAE": ["STUDYID", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESEV", "AESER", "AEREL",
             "AEACN", "AEOUT", "AESDTH", "TRTEMFL", "ASTDT", "ASTDY"],
}
KEYS: dict[str, list[str]] = {
    "ADSL": ["USUBJID"],
    "ADTTE": ["USUBJID", "PARAMCD"],
    "ADAE": ["USUBJID", "AESEQ"],
}
TTE_PARAMS = {
    "TTFE": "Time to First Moderate or Severe COPD Exacerbation (Days)",
    "TTSE": "Time to First Severe COPD Exacerbation (Days)",
}
REGIONS = {"Europe": 0.45, "North America": 0.25, "Asia": 0.15, "Latin America": 0.15}

# ----------------------------------------------------------------------- adverse events
_RES = "Respiratory, thoracic and mediastinal disorders"
_INF = "Infections and infestations"
_GEN = "General disorders and administration site conditions"
_IMM = "Immune system disorders"
_SKN = "Skin and subcutaneous tissue disorders"
_NER = "Nervous system disorders"
_MSK = "Musculoskeletal and connective tissue disorders"
_VAS = "Vascular disorders"
_CAR = "Cardiac disorders"
_GI = "Gastrointestinal disorders"
_PSY = "Psychiatric disorders"


def _t(decod: str, soc: str, pbo: float, low: float, high: float, sev: tuple[float, float, float],
       related: float = 0.05, onset: str = "any", recur: float = 0.0, verbatim: tuple[str, ...] = (),
       serious_boost: float = 0.0) -> AETerm:
    """An AE term; ``sev`` = P(mild, moderate, severe), stored as the first three 'grades'."""
    return AETerm(decod, soc, {PLACEBO: pbo, LOW: low, HIGH: high}, (*sev, 0.0), related, onset, recur,
                  verbatim or (decod.upper(),), serious_boost)


AE_TERMS: tuple[AETerm, ...] = (
    _t("Chronic obstructive pulmonary disease", _RES, 0.31, 0.27, 0.22, (0.25, 0.55, 0.20), 0.0, "any", 0.5,
       ("COPD EXACERBATION", "WORSENING OF COPD"), 0.1),
    _t("Dyspnoea", _RES, 0.06, 0.06, 0.05, (0.5, 0.4, 0.1), 0.02, "any", 0.2, ("DYSPNEA", "SHORTNESS OF BREATH")),
    _t("Cough", _RES, 0.05, 0.05, 0.05, (0.7, 0.3, 0.0), 0.02),
    _t("Nasopharyngitis", _INF, 0.12, 0.13, 0.14, (0.75, 0.25, 0.0), 0.02, "any", 0.3, ("COMMON COLD",)),
    _t("Upper respiratory tract infection", _INF, 0.08, 0.09, 0.09, (0.6, 0.38, 0.02), 0.02, "any", 0.2),
    _t("Bronchitis", _INF, 0.06, 0.06, 0.07, (0.4, 0.5, 0.1), 0.02, "any", 0.1),
    _t("Pneumonia", _INF, 0.04, 0.05, 0.06, (0.1, 0.45, 0.45), 0.03, "any", 0.0, ("PNEUMONIA",), 0.3),
    _t("Influenza", _INF, 0.03, 0.03, 0.03, (0.4, 0.5, 0.1), 0.0),
    _t("Urinary tract infection", _INF, 0.03, 0.03, 0.03, (0.5, 0.45, 0.05), 0.0),
    _t("Injection site reaction", _GEN, 0.03, 0.07, 0.12, (0.85, 0.15, 0.0), 0.9, "early", 0.6,
       ("INJECTION SITE REACTION",)),
    _t("Injection site erythema", _GEN, 0.01, 0.03, 0.05, (0.9, 0.1, 0.0), 0.9, "early", 0.4),
    _t("Injection site pain", _GEN, 0.02, 0.03, 0.05, (0.85, 0.15, 0.0), 0.8, "early", 0.3),
    _t("Fatigue", _GEN, 0.04, 0.04, 0.05, (0.7, 0.28, 0.02), 0.1),
    _t("Oedema peripheral", _GEN, 0.03, 0.03, 0.03, (0.7, 0.3, 0.0), 0.02, "any", 0.0, ("PERIPHERAL EDEMA",)),
    _t("Hypersensitivity", _IMM, 0.01, 0.02, 0.04, (0.5, 0.4, 0.1), 0.7, "early", 0.0, ("ALLERGIC REACTION",), 0.1),
    _t("Urticaria", _SKN, 0.01, 0.02, 0.03, (0.6, 0.35, 0.05), 0.6, "early"),
    _t("Rash", _SKN, 0.02, 0.03, 0.03, (0.7, 0.3, 0.0), 0.3),
    _t("Headache", _NER, 0.07, 0.08, 0.09, (0.7, 0.28, 0.02), 0.2, "any", 0.3),
    _t("Dizziness", _NER, 0.03, 0.03, 0.03, (0.8, 0.2, 0.0), 0.05),
    _t("Back pain", _MSK, 0.05, 0.05, 0.05, (0.6, 0.37, 0.03), 0.02, "any", 0.1),
    _t("Arthralgia", _MSK, 0.04, 0.04, 0.05, (0.7, 0.3, 0.0), 0.05, "any", 0.1),
    _t("Hypertension", _VAS, 0.05, 0.05, 0.05, (0.5, 0.45, 0.05), 0.0),
    _t("Atrial fibrillation", _CAR, 0.02, 0.02, 0.02, (0.3, 0.5, 0.2), 0.0, "any", 0.0, (), 0.2),
    _t("Diarrhoea", _GI, 0.04, 0.04, 0.04, (0.8, 0.2, 0.0), 0.05, "any", 0.0, ("DIARRHEA",)),
    _t("Nausea", _GI, 0.03, 0.03, 0.03, (0.8, 0.2, 0.0), 0.05),
    _t("Insomnia", _PSY, 0.02, 0.02, 0.02, (0.8, 0.2, 0.0), 0.0),
)
FATAL_TERMS: tuple[tuple[str, str, float], ...] = (
    ("Chronic obstructive pulmonary disease", _RES, 0.35),
    ("Pneumonia", _INF, 0.25),
    ("Cardiac arrest", _CAR, 0.15),
    ("Myocardial infarction", _CAR, 0.15),
    ("Respiratory failure", _RES, 0.10),
)
DISC_TERMS = ("Injection site reaction", "Hypersensitivity", "Chronic obstructive pulmonary disease", "Urticaria",
              "Dyspnoea", "Headache")
DISC_WEIGHTS = {PLACEBO: (0.1, 0.05, 0.5, 0.05, 0.2, 0.1), LOW: (0.25, 0.15, 0.3, 0.1, 0.1, 0.1),
                HIGH: (0.35, 0.2, 0.2, 0.15, 0.05, 0.05)}
SEVERITY = np.array(["", "MILD", "MODERATE", "SEVERE", "SEVERE"], dtype=object)


# ================================================================================ API
def generate(seed: int = DEFAULT_SEED) -> dict[str, pd.DataFrame]:
    """The datasets ``{"ADSL", "ADTTE", "ADAE"}`` for ``seed`` (deterministic; sub-seeds are tried
    until the TTFE medians are calibrated, at most ``MAX_ATTEMPTS``)."""
    for attempt in range(MAX_ATTEMPTS):
        result = _attempt(int(seed), attempt)
        if result is not None:
            return result
    raise RuntimeError(f"{NAME}: calibration failed for seed {seed} after {MAX_ATTEMPTS} sub-seeds")


def check_calibration(adsl: pd.DataFrame, adtte: pd.DataFrame) -> dict[str, Any]:
    """Per endpoint (ITT): subjects, events and KM medians per arm, Cox HR of each dose vs placebo."""
    arm = adsl.set_index("USUBJID")["TRT01P"]
    out: dict[str, Any] = {}
    for pc in TTE_PARAMS:
        d = adtte[adtte["PARAMCD"] == pc]
        g = d["USUBJID"].map(arm).to_numpy()
        t, e = d["AVAL"].to_numpy(float), (d["CNSR"] == 0).to_numpy()
        res: dict[str, Any] = {"n": {}, "events": {}, "median": {}, "hr": {}}
        for a in ARMS:
            m = g == a
            res["n"][a], res["events"][a] = int(m.sum()), int(e[m].sum())
            res["median"][a] = km_median(t[m], e[m])
        for a in (LOW, HIGH):
            m = (g == a) | (g == PLACEBO)
            res["hr"][a] = cox_binary(t[m], e[m], g[m] == a).as_dict()
        out[pc] = res
    return out


# =========================================================================== pipeline
def _attempt(seed: int, attempt: int) -> dict[str, pd.DataFrame] | None:
    def rng(step: str) -> np.random.Generator:
        return rng_for(seed, step, attempt)

    base = _baseline(rng("baseline"))
    n = len(base)
    arm = base["TRT01P"].to_numpy()
    eos_high = (base["BLEOS"].to_numpy() >= 300)

    # ---- follow-up: study withdrawal, death, untreated subjects -------------------------------
    r = rng("followup")
    withdraw = np.floor(r.exponential(365.0 / -np.log1p(-STUDY_WITHDRAWAL_1Y), n)).astype(float)
    withdraw = np.where(withdraw < PLANNED_END - 7, withdraw, np.inf)
    death = np.floor(r.exponential(365.0 / -np.log1p(-DEATH_1Y), n)).astype(float)
    eos_visit = PLANNED_END + r.integers(-7, 8, n)
    untreated = base["_untreated"].to_numpy()
    withdraw = np.where(untreated, 0.0, withdraw)     # withdrew consent before the first dose
    death = np.where(untreated, np.inf, death)
    last_contact = np.fmin.reduce([withdraw, eos_visit.astype(float), death])

    # ---- exacerbations: proportional hazards, arm scale calibrated to the TTFE medians ---------
    r = rng("exacerbation")
    lp = (0.45 * (base["NEXACPY"].to_numpy() >= 3) - 0.015 * (base["FEV1PP"].to_numpy() - 45)
          + 0.15 * (base["SMOKSTAT"].to_numpy() == "CURRENT") + r.normal(0, 0.35, n))
    lp = lp + np.log(np.where(eos_high, [EOSINOPHIL_EFFECT[a] for a in arm], 1.0))
    u_any, u_sev = r.random(n), r.random(n)
    base_any = (-np.log(u_any) / np.exp(lp)) ** (1 / WEIBULL_SHAPE)
    base_sev = SEVERE_SCALE_RATIO * (-np.log(u_sev) / np.exp(lp)) ** (1 / WEIBULL_SHAPE)
    base_first = np.fmin(base_any, base_sev)

    def observed(scale: float, ix: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.floor(scale * b[ix])               # offset (days) of the event
        event = t <= last_contact[ix]
        return np.where(event, t, last_contact[ix]) + 1, event

    # placebo: the scale that gives the target median; each dose: the scale that gives the design HR
    ix_p = np.nonzero(arm == PLACEBO)[0]
    res = bisect_increasing(lambda s: km_median(*observed(s, ix_p, base_first)), TARGETS["ttfe_median"],
                            20.0, 5000.0, _MEDIAN_TOL)
    if not res.hit or km_median_margin(*observed(res.x, ix_p, base_first)) < 1e-6:
        return None
    scale: dict[str, float] = {PLACEBO: res.x}
    t_p, e_p = observed(res.x, ix_p, base_first)
    for a in (LOW, HIGH):
        ix = np.nonzero(arm == a)[0]

        def inverse_hr(s: float, ix: np.ndarray = ix) -> float:
            t, e = observed(s, ix, base_first)
            x = np.concatenate([np.zeros(len(t_p)), np.ones(len(t))])
            return 1.0 / cox_binary(np.concatenate([t_p, t]), np.concatenate([e_p, e]), x).hr

        res = bisect_increasing(inverse_hr, 1.0 / TARGETS["hr"][a], 20.0, 5000.0, _HR_TOL)
        if not res.hit:
            return None
        scale[a] = res.x
    s = np.array([scale[a] for a in arm])
    t_sev = np.floor(s * base_sev)
    t_first = np.floor(s * base_first)

    # ---- treatment --------------------------------------------------------------------------
    r = rng("treatment")
    stop = np.floor(r.exponential(365.0 / -np.log1p(-TREATMENT_STOP_1Y), n)).astype(float)
    ae_disc = r.random(n) < np.array([AE_DISCONTINUATION[a] for a in arm])
    ae_disc_day = np.where(ae_disc, r.integers(1, PLANNED_END - 28, n), np.inf).astype(float)
    stop = np.fmin(stop, ae_disc_day)
    last_possible = np.fmin.reduce([stop, last_contact, np.full(n, (N_DOSES - 1) * DOSE_INTERVAL)])
    last_dose = np.where(untreated, np.nan, np.floor(last_possible / DOSE_INTERVAL) * DOSE_INTERVAL)
    ndose = np.where(untreated, 0, np.floor(np.nan_to_num(last_dose) / DOSE_INTERVAL) + 1).astype(int)
    # an AE discontinuation counts only if it is what ended treatment
    ae_disc = (ae_disc & ~untreated & (ae_disc_day == stop) & (stop < last_contact)
               & (stop < (N_DOSES - 1) * DOSE_INTERVAL))

    datasets = {
        "ADSL": _adsl(base, withdraw, death, eos_visit, last_contact, last_dose, ndose, ae_disc),
        "ADTTE": _adtte(base, t_first, t_sev, death, withdraw, last_contact),
    }
    datasets["ADAE"] = _adae(rng("adae"), base, arm, untreated, last_dose, ndose, last_contact, death, ae_disc,
                             ae_disc_day)
    measured = check_calibration(datasets["ADSL"], datasets["ADTTE"])
    ttfe = measured["TTFE"]
    ok = abs(ttfe["median"][PLACEBO] - TARGETS["ttfe_median"]) <= _MEDIAN_TOL and all(
        abs(1.0 / ttfe["hr"][a]["hr"] - 1.0 / TARGETS["hr"][a]) <= _HR_TOL for a in (LOW, HIGH))
    return datasets if ok else None


def _baseline(rng: np.random.Generator) -> pd.DataFrame:
    n = N_RANDOMISED
    region = choose(rng, list(REGIONS), list(REGIONS.values()), n)
    nexac = np.minimum(2 + rng.poisson(0.75, n), 8)
    exacgr = np.where(nexac >= 3, ">=3", "2")
    # stratified permuted blocks of 6 (2 per arm) within region x exacerbation history
    arm = np.empty(n, dtype=object)
    for key in sorted({(a, b) for a, b in zip(region, exacgr)}):
        ix = np.nonzero((region == key[0]) & (exacgr == key[1]))[0]
        blocks = np.concatenate([rng.permutation(np.repeat(np.array(ARMS, dtype=object), 2))
                                 for _ in range(-(-len(ix) // 6))])
        arm[ix] = blocks[: len(ix)]
    age = np.clip(np.round(rng.normal(65.5, 8.0, n)), 40, 85).astype(int)
    sex = choose(rng, ["M", "F"], [0.62, 0.38], n)
    race = np.where(region == "Asia", "ASIAN",
                    choose(rng, ["WHITE", "BLACK OR AFRICAN AMERICAN", "ASIAN", "OTHER"], [0.86, 0.07, 0.03, 0.04], n))
    smok = choose(rng, ["CURRENT", "FORMER"], [0.33, 0.67], n)
    fev1 = np.round(np.clip(rng.normal(46.0, 12.0, n), 20, 79), 1)
    # blood eosinophils (cells/uL): log-normal, ~40% >= 300; two missing values
    eos = np.round(np.exp(rng.normal(np.log(240), 0.65, n)) / 10) * 10
    eos[rng.choice(n, 2, replace=False)] = np.nan
    eosgr = np.where(np.isnan(eos), "", np.where(eos >= 300, ">=300", "<300"))
    therapy = choose(rng, ["ICS/LABA/LAMA", "LABA/LAMA", "ICS/LABA"], [0.68, 0.20, 0.12], n)
    start, end = pd.Timestamp(ACCRUAL[0]), pd.Timestamp(ACCRUAL[1])
    randdt = start + pd.to_timedelta(np.sort(rng.integers(0, (end - start).days + 1, n)), unit="D")
    site = np.array([{"Europe": 100, "North America": 200, "Asia": 300, "Latin America": 400}[x] for x in region])
    site = site + rng.integers(1, 16, n)
    untreated = np.zeros(n, bool)
    for a, k in UNTREATED.items():
        untreated[rng.choice(np.nonzero(arm == a)[0], k, replace=False)] = True
    subjid = np.array([f"{i + 1:04d}" for i in range(n)])
    return pd.DataFrame({
        "USUBJID": [f"{STUDYID}-{s:03d}-{j}" for s, j in zip(site, subjid)],
        "SUBJID": subjid, "SITEID": [f"{s:03d}" for s in site], "REGION1": region,
        "AGE": age, "SEX": sex, "RACE": race, "SMOKSTAT": smok, "FEV1PP": fev1, "BLEOS": eos,
        "BLEOSGR1": eosgr, "NEXACPY": nexac, "EXACGR1": exacgr, "BTHERAPY": therapy, "RANDDT": randdt,
        "TRT01P": arm.astype(str), "_untreated": untreated,
    })


def _dates(start: pd.Series, offsets: np.ndarray) -> pd.Series:
    off = np.where(np.isfinite(offsets), offsets, np.nan)
    return add_days(start, off)


def _adsl(base: pd.DataFrame, withdraw: np.ndarray, death: np.ndarray, eos_visit: np.ndarray,
          last_contact: np.ndarray, last_dose: np.ndarray, ndose: np.ndarray, ae_disc: np.ndarray) -> pd.DataFrame:
    randdt = base["RANDDT"]
    untreated = base["_untreated"].to_numpy()
    died = death <= last_contact
    completed = ~died & (last_contact == eos_visit)
    reason = np.select([completed, died, untreated, ae_disc], ["", "DEATH", "WITHDRAWAL BY SUBJECT", "ADVERSE EVENT"],
                       default="")
    reason = np.where(~completed & (reason == ""),
                      np.where(np.arange(len(base)) % 3 == 0, "LOST TO FOLLOW-UP", "WITHDRAWAL BY SUBJECT"), reason)
    arm = base["TRT01P"].to_numpy()
    adsl = pd.DataFrame({
        "STUDYID": STUDYID,
        "USUBJID": base["USUBJID"],
        "SUBJID": base["SUBJID"],
        "SITEID": base["SITEID"],
        "REGION1": base["REGION1"],
        "AGE": base["AGE"],
        "AGEU": "YEARS",
        "AGEGR1": np.where(base["AGE"] >= 65, ">=65", "<65"),
        "SEX": base["SEX"],
        "RACE": base["RACE"],
        "SMOKSTAT": base["SMOKSTAT"],
        "FEV1PP": base["FEV1PP"],
        "BLEOS": base["BLEOS"],
        "BLEOSGR1": base["BLEOSGR1"].replace("", np.nan),
        "NEXACPY": base["NEXACPY"],
        "EXACGR1": base["EXACGR1"],
        "BTHERAPY": base["BTHERAPY"],
        "RANDDT": randdt,
        "TRT01P": arm,
        "TRT01PN": [ARM_N[a] for a in arm],
        "TRT01A": np.where(untreated, "", arm),
        "TRT01AN": np.where(untreated, np.nan, [ARM_N[a] for a in arm]),
        "TRTSDT": _dates(randdt, np.where(untreated, np.nan, 0.0)),
        "TRTEDT": _dates(randdt, last_dose),
        "TRTDURD": np.where(untreated, np.nan, np.nan_to_num(last_dose) + 1),
        "NDOSE": ndose,
        "ITTFL": "Y",
        "SAFFL": np.where(untreated, "N", "Y"),
        "EOSSTT": np.where(completed, "COMPLETED", "DISCONTINUED"),
        "DCSREAS": reason,
        "EOSDT": _dates(randdt, last_contact),
        "DTHFL": np.where(died, "Y", "N"),
        "DTHDT": _dates(randdt, np.where(died, death, np.nan)),
        "DCUTDT": pd.Timestamp(DCUT),
    })
    adsl["TRT01A"] = adsl["TRT01A"].replace("", np.nan)
    adsl["DCSREAS"] = adsl["DCSREAS"].replace("", np.nan)
    return adsl[COLUMNS["ADSL"]]


def _adtte(base: pd.DataFrame, t_first: np.ndarray, t_sev: np.ndarray, death: np.ndarray, withdraw: np.ndarray,
           last_contact: np.ndarray) -> pd.DataFrame:
    randdt = base["RANDDT"]
    untreated = base["_untreated"].to_numpy()
    why = np.select([untreated, death <= last_contact, withdraw <= last_contact],
                    ["NO POST-RANDOMISATION FOLLOW-UP", "DEATH", "WITHDRAWAL FROM STUDY"], default="END OF STUDY")
    rows = []
    for pc, t, desc in (("TTFE", t_first, "MODERATE OR SEVERE EXACERBATION"),
                        ("TTSE", t_sev, "SEVERE EXACERBATION")):
        event = t <= last_contact
        end = np.where(event, t, last_contact)
        rows.append(pd.DataFrame({
            "STUDYID": STUDYID,
            "USUBJID": base["USUBJID"],
            "PARAMCD": pc,
            "PARAM": TTE_PARAMS[pc],
            "AVAL": (end + 1).astype(int),
            "AVALU": "DAYS",
            "CNSR": np.where(event, 0, 1),
            "STARTDT": randdt,
            "ADT": _dates(randdt, end),
            "EVNTDESC": np.where(event, desc, ""),
            "CNSDTDSC": np.where(event, "", why),
        }))
    return pd.concat(rows, ignore_index=True)[COLUMNS["ADTTE"]]


def _adae(rng: np.random.Generator, base: pd.DataFrame, arm: np.ndarray, untreated: np.ndarray,
          last_dose: np.ndarray, ndose: np.ndarray, last_contact: np.ndarray, death: np.ndarray,
          ae_disc: np.ndarray, ae_disc_day: np.ndarray) -> pd.DataFrame:
    """AEs of treated subjects from the first dose to the end of follow-up; treatment-emergent
    (``TRTEMFL = Y``) up to ``TEAE_DAYS`` after the last dose."""
    treated = np.nonzero(~untreated)[0]
    end = last_contact[treated].astype(int)
    ev = draw_ae_events(rng, AE_TERMS, arm[treated], np.zeros(len(treated), int), end, DOSE_INTERVAL, ndose[treated])
    ev["subject"] = treated[ev["subject"].to_numpy()]
    terms = [AE_TERMS[i] for i in ev["term"]]
    recs = pd.DataFrame({
        "subject": ev["subject"].to_numpy(), "onset": ev["onset"].to_numpy(), "grade": ev["grade"].to_numpy(),
        "decod": [t.decod for t in terms], "bodsys": [t.bodsys for t in terms],
        "related_p": [t.related for t in terms], "serious_boost": [t.serious_boost for t in terms],
        "verbatim": [t.verbatim[int(rng.integers(len(t.verbatim)))] for t in terms], "kind": "regular",
    })
    by_name = {t.decod: t for t in AE_TERMS}
    disc_idx = np.nonzero(ae_disc)[0]
    disc_terms = np.array([choose(rng, DISC_TERMS, DISC_WEIGHTS[arm[i]], 1)[0] for i in disc_idx], dtype=object)
    recs_disc = pd.DataFrame({
        "subject": disc_idx, "onset": ae_disc_day[disc_idx].astype(int),
        "grade": rng.choice([2, 3], len(disc_idx), p=[0.6, 0.4]), "decod": disc_terms,
        "bodsys": [by_name[t].bodsys for t in disc_terms], "related_p": 0.6, "serious_boost": 0.1,
        "verbatim": [by_name[t].verbatim[0] for t in disc_terms], "kind": "withdrawn",
    })
    died = np.nonzero((death <= last_contact) & ~untreated & (rng.random(len(death)) < FATAL_AE_SHARE))[0]
    f_terms = choose(rng, [t[0] for t in FATAL_TERMS], [t[2] for t in FATAL_TERMS], len(died))
    f_soc = {t[0]: t[1] for t in FATAL_TERMS}
    recs_fatal = pd.DataFrame({
        "subject": died, "onset": np.maximum(0, death[died] - rng.integers(0, 8, len(died))).astype(int),
        "grade": 3, "decod": f_terms, "bodsys": [f_soc[t] for t in f_terms], "related_p": 0.02,
        "serious_boost": 1.0, "verbatim": [t.upper() for t in f_terms], "kind": "fatal",
    })
    ae = pd.concat([recs, recs_disc, recs_fatal], ignore_index=True)
    m = len(ae)
    subj = ae["subject"].to_numpy()
    onset = ae["onset"].to_numpy().astype(int)
    grade = ae["grade"].to_numpy().astype(int)
    kind = ae["kind"].to_numpy()
    on_treatment = onset <= last_dose[subj]
    u = rng.random((m, 3))
    p_ser = np.clip(np.select([grade == 1, grade == 2], [0.005, 0.03], 0.35) + ae["serious_boost"].to_numpy(), 0, 1)
    acn = np.where(~on_treatment, "NOT APPLICABLE",
                   np.where((grade >= 3) & (u[:, 2] < 0.2), "DRUG INTERRUPTED", "DOSE NOT CHANGED"))
    acn = np.where(kind == "withdrawn", "DRUG WITHDRAWN", acn)
    outcome = choose(rng, ["RECOVERED/RESOLVED", "RECOVERING/RESOLVING", "NOT RECOVERED/NOT RESOLVED",
                           "RECOVERED/RESOLVED WITH SEQUELAE"], [0.85, 0.05, 0.08, 0.02], m)
    outcome = np.where(kind == "fatal", "FATAL", outcome)
    randdt = pd.to_datetime(base["RANDDT"]).to_numpy()[subj]
    adae = pd.DataFrame({
        "STUDYID": STUDYID,
        "USUBJID": base["USUBJID"].to_numpy()[subj],
        "AETERM": ae["verbatim"].to_numpy(),
        "AEDECOD": ae["decod"].to_numpy(),
        "AEBODSYS": ae["bodsys"].to_numpy(),
        "AESEV": SEVERITY[grade],
        "AESER": np.where((u[:, 0] < p_ser) | (kind == "fatal"), "Y", "N"),
        "AEREL": np.where(u[:, 1] < ae["related_p"].to_numpy(), "RELATED", "NOT RELATED"),
        "AEACN": acn,
        "AEOUT": outcome,
        "AESDTH": np.where(kind == "fatal", "Y", "N"),
        "TRTEMFL": np.where(onset <= last_dose[subj] + TEAE_DAYS, "Y", "N"),
        "ASTDT": pd.to_datetime(randdt) + pd.to_timedelta(onset, unit="D"),
        "ASTDY": onset + 1,
    })
    adae = adae.sort_values(["USUBJID", "ASTDT", "AEDECOD", "AESEV"], kind="stable").reset_index(drop=True)
    adae["AESEQ"] = adae.groupby("USUBJID").cumcount() + 1
    return adae[COLUMNS["ADAE"]]

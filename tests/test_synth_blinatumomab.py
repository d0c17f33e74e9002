"""The bundled synthetic pooled ADaM study (blinatumomab, first vs later salvage).

Determinism (same seed -> equal frames and byte-identical CSVs; the bundled CSVs are what
`write_study` writes now) and the structural invariants a statistician would check. The
reproduction of the published HRs by the analysis engine is tested in
test_seed_reproduction.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialpress.data.synth import DEFAULT_SEEDS, GENERATORS, write_study
from trialpress.data.synth import _common as common
from trialpress.data.synth import blinatumomab as blin

NAME = "blinatumomab-salvage"
ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / NAME
REMISSION = ["CR", "CRh", "CRi"]
INFECTIONS = "Infections and infestations"


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return GENERATORS[NAME](DEFAULT_SEEDS[NAME])


@pytest.fixture(scope="module")
def adsl(data: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return data["ADSL"].set_index("USUBJID", drop=False)


# ------------------------------------------------------------------ determinism
def test_registry_and_default_seed() -> None:
    assert NAME in GENERATORS and NAME in DEFAULT_SEEDS
    assert DEFAULT_SEEDS[NAME] == blin.DEFAULT_SEED


def test_generate_is_deterministic(data: dict[str, pd.DataFrame]) -> None:
    again = blin.generate(blin.DEFAULT_SEED)
    assert sorted(again) == ["ADAE", "ADRS", "ADSL", "ADTTE"]
    for name, frame in data.items():
        pd.testing.assert_frame_equal(frame, again[name])


def test_write_study_is_byte_identical(tmp_path: Path) -> None:
    first = write_study(NAME, tmp_path / "a")
    second = write_study(NAME, tmp_path / "b")
    assert [p.name for p in first] == ["adae.csv", "adrs.csv", "adsl.csv", "adtte.csv"]
    for p, q in zip(first, second, strict=True):
        assert p.read_bytes() == q.read_bytes(), p.name


def test_bundled_csvs_are_what_write_study_writes(tmp_path: Path) -> None:
    for path in write_study(NAME, tmp_path):
        bundled = BUNDLED / path.name
        assert bundled.is_file(), f"missing {bundled}; regenerate with `trialpress synth {NAME}`"
        assert bundled.read_bytes() == path.read_bytes(), (
            f"{bundled} differs from the generator's output; regenerate with `trialpress synth {NAME}`")


def test_csv_format(tmp_path: Path) -> None:
    paths = {p.stem: p for p in write_study(NAME, tmp_path)}
    text = paths["adsl"].read_bytes()
    assert b"\r" not in text and text.endswith(b"\n")
    header = text.split(b"\n", 1)[0].decode().split(",")
    assert header == blin.COLUMNS["ADSL"]
    adsl = pd.read_csv(paths["adsl"], dtype=str, keep_default_na=False)
    assert adsl["TRTSDT"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert (adsl.loc[adsl["DTHFL"] == "N", "DTHDT"] == "").all()
    adtte = pd.read_csv(paths["adtte"], dtype=str, keep_default_na=False)
    assert adtte["AVAL"].str.fullmatch(r"\d+(\.\d{1,4})?").all()


def test_another_seed_also_meets_the_counts() -> None:
    other = blin.generate(7)
    assert not other["ADSL"].equals(blin.generate(blin.DEFAULT_SEED)["ADSL"])
    _assert_counts(other["ADSL"], other["ADRS"])


# --------------------------------------------------------------------- ADSL
def test_population_and_studies(adsl: pd.DataFrame) -> None:
    assert len(adsl) == 532 and adsl["USUBJID"].is_unique
    assert adsl["SALVGRP"].value_counts().to_dict() == {"LATER": 367, "FIRST": 165}
    assert ((adsl["NPRSALV"] == 0) == (adsl["SALVGRP"] == "FIRST")).all()
    assert (adsl["SALVGRPN"] == np.where(adsl["SALVGRP"] == "FIRST", 1, 2)).all()
    sizes = adsl["STUDYID"].value_counts().to_dict()
    assert sizes == {s.studyid: s.n for s in blin.STUDIES} and sum(sizes.values()) == 532
    first = adsl[adsl["SALVGRP"] == "FIRST"]["STUDYID"].value_counts().to_dict()
    assert first == {s.studyid: s.n_first for s in blin.STUDIES}
    expected = adsl["STUDYID"] + "-" + adsl["SITEID"] + "-" + adsl["SUBJID"]
    assert (adsl["USUBJID"] == expected).all()
    assert (adsl.loc[adsl["STUDYID"] == "ALCANTARA-20120216", "PHSTAT"] == "Ph-positive").all()
    assert (adsl.loc[adsl["STUDYID"] != "ALCANTARA-20120216", "PHSTAT"] == "Ph-negative").all()
    assert (adsl["SAFFL"] == "Y").all() and (adsl["FASFL"] == "Y").all()


def test_baseline_values(adsl: pd.DataFrame) -> None:
    assert adsl["AGE"].between(18, 80).all()
    agegr = pd.cut(adsl["AGE"], [0, 34, 54, 200], labels=["<35", "35-54", ">=55"]).astype(str)
    assert (adsl["AGEGR1"] == agegr).all()
    assert set(adsl["SEX"]) == {"M", "F"}
    assert set(adsl["RACE"]) <= {"WHITE", "ASIAN", "BLACK OR AFRICAN AMERICAN", "OTHER"}
    assert set(adsl["REGION1"]) <= {"North America", "Europe", "Rest of World"}
    assert adsl["BMBLAST"].between(0, 100).all()
    assert (adsl["BMBLGR1"] == np.where(adsl["BMBLAST"] >= 50, ">=50%", "<50%")).all()
    assert set(adsl["ECOG"]) <= {0, 1, 2}
    for flag in ("PRHSCT", "DTHFL", "HSCTFL", "HSCTCRFL", "CRFL", "RELFL"):
        assert set(adsl[flag]) <= {"Y", "N"}, flag


def _assert_counts(adsl: pd.DataFrame, adrs: pd.DataFrame) -> None:
    by_group = lambda mask: adsl[mask].groupby("SALVGRP").size().to_dict()  # noqa: E731
    best = adrs[adrs["PARAMCD"] == "BESTRSP"].merge(adsl[["USUBJID", "SALVGRP"]].reset_index(drop=True))
    assert best[best["AVALC"].isin(REMISSION)].groupby("SALVGRP").size().to_dict() == {"FIRST": 89, "LATER": 150}
    assert by_group(adsl["CRFL"] == "Y") == {"FIRST": 89, "LATER": 150}
    mrd = adrs[(adrs["PARAMCD"] == "MRDRESP") & (adrs["AVALC"] == "Y")].merge(
        adsl[["USUBJID", "SALVGRP"]].reset_index(drop=True))
    assert mrd.groupby("SALVGRP").size().to_dict() == {"FIRST": 68, "LATER": 118}
    assert by_group(adsl["HSCTFL"] == "Y") == {"FIRST": 60, "LATER": 88}
    assert by_group(adsl["HSCTCRFL"] == "Y") == {"FIRST": 33, "LATER": 52}


def test_published_counts_are_exact(adsl: pd.DataFrame, data: dict[str, pd.DataFrame]) -> None:
    _assert_counts(adsl, data["ADRS"])


def test_dates_are_in_clinical_order(adsl: pd.DataFrame) -> None:
    d = adsl
    assert (d["TRTSDT"] <= d["TRTEDT"]).all() and (d["TRTEDT"] <= d["DCUTDT"]).all()
    assert ((d["TRTEDT"] - d["TRTSDT"]).dt.days + 1 == d["TRTDURD"]).all()
    assert ((d["TRTEDT"] - d["TRTSDT"]).dt.days // blin.CYCLE_DAYS + 1 == d["CYCLES"]).all()
    assert (d["CYCLES"] >= 1).all()
    # nothing after the data cut-off
    for col in ("TRTEDT", "DTHDT", "HSCTDT", "RSPDT", "RELDT", "NALTDT"):
        assert (d[col].dropna() <= d.loc[d[col].notna(), "DCUTDT"]).all(), col
    # remission within the first two cycles; relapse after remission
    rsp_day = (d["RSPDT"] - d["TRTSDT"]).dt.days + 1
    assert ((d["CRFL"] == "Y") == d["RSPDT"].notna()).all()
    assert rsp_day.dropna().between(15, 2 * blin.CYCLE_DAYS).all()
    assert ((d["RELFL"] == "Y") == d["RELDT"].notna()).all()
    assert (d.loc[d["RELFL"] == "Y", "CRFL"] == "Y").all()
    assert (d["RELDT"].dropna() > d.loc[d["RELDT"].notna(), "RSPDT"]).all()
    # death is the last event
    dead = d[d["DTHFL"] == "Y"]
    assert ((d["DTHFL"] == "Y") == d["DTHDT"].notna()).all()
    for col in ("TRTEDT", "RSPDT", "RELDT", "HSCTDT", "NALTDT"):
        sub = dead[dead[col].notna()]
        assert (sub[col] <= sub["DTHDT"]).all(), col
    for col in ("RSPDT", "RELDT", "HSCTDT"):
        sub = dead[dead[col].notna()]
        assert (sub[col] < sub["DTHDT"]).all(), col
    # treatment stops before relapse, a new therapy or a transplant
    for col in ("RELDT", "NALTDT", "HSCTDT"):
        sub = d[d[col].notna()]
        assert (sub["TRTEDT"] < sub[col]).all(), col


def test_transplants(adsl: pd.DataFrame) -> None:
    d = adsl
    assert ((d["HSCTFL"] == "Y") == d["HSCTDT"].notna()).all()
    assert (d.loc[d["HSCTCRFL"] == "Y", "HSCTFL"] == "Y").all()
    ccr = d[d["HSCTCRFL"] == "Y"]
    assert (ccr["CRFL"] == "Y").all() and (ccr["HSCTDT"] > ccr["RSPDT"]).all()
    assert ccr["NALTDT"].isna().all()  # no other anti-leukaemic therapy before the transplant
    relapsed = ccr[ccr["RELDT"].notna()]
    assert (relapsed["HSCTDT"] < relapsed["RELDT"]).all()
    # a transplant not in continuous remission follows no remission, a relapse or another therapy
    other = d[(d["HSCTFL"] == "Y") & (d["HSCTCRFL"] == "N")]
    assert ((other["CRFL"] == "N") | (other["RELDT"] < other["HSCTDT"]) | (other["NALTDT"] < other["HSCTDT"])).all()
    assert (other["HSCTDT"] > other["TRTEDT"]).all()


def test_prior_transplant_has_no_apparent_effect(data: dict[str, pd.DataFrame]) -> None:
    effect = blin.prior_hsct_effect(data["ADSL"], data["ADTTE"])
    for group, v in effect.items():
        assert abs(v["median_Y"] - v["median_N"]) < 1.5, group
        assert v["lower"] < 1.0 < v["upper"], group
    assert effect["LATER"]["n_Y"] / 367 > effect["FIRST"]["n_Y"] / 165  # prior HSCT more common later


# --------------------------------------------------------------------- ADTTE
def test_adtte_parameters(adsl: pd.DataFrame, data: dict[str, pd.DataFrame]) -> None:
    tte = data["ADTTE"]
    assert not tte.duplicated(["USUBJID", "PARAMCD"]).any()
    assert "SALVGRP" not in tte.columns
    subjects = lambda pc: set(tte.loc[tte["PARAMCD"] == pc, "USUBJID"])  # noqa: E731
    assert subjects("OS") == set(adsl["USUBJID"])
    assert subjects("RFS") == set(adsl.loc[adsl["CRFL"] == "Y", "USUBJID"])
    assert subjects("OSHSCT") == set(adsl.loc[adsl["HSCTFL"] == "Y", "USUBJID"])
    assert set(tte["CNSR"]) == {0, 1} and (tte["AVALU"] == "MONTHS").all()
    assert (tte["PARAM"] == tte["PARAMCD"].map(blin.TTE_PARAMS)).all()
    days = (tte["ADT"] - tte["STARTDT"]).dt.days + 1
    assert (days >= 1).all()
    assert np.allclose(tte["AVAL"], np.round(days / 30.4375, 4), atol=0, rtol=0)
    s = adsl.loc[tte["USUBJID"]]
    start = {"OS": s["TRTSDT"], "RFS": s["RSPDT"], "OSHSCT": s["HSCTDT"]}
    for pc, col in start.items():
        m = (tte["PARAMCD"] == pc).to_numpy()
        assert (tte.loc[m, "STARTDT"].to_numpy() == col.to_numpy()[m]).all(), pc
    assert (tte["ADT"].to_numpy() <= s["DCUTDT"].to_numpy()).all()
    event = tte["CNSR"] == 0
    assert (tte.loc[event, "CNSDTDSC"] == "").all() and (tte.loc[~event, "EVNTDESC"] == "").all()
    assert set(tte.loc[~event, "CNSDTDSC"]) <= {"DATA CUT-OFF", "LOST TO FOLLOW-UP", "NEW ANTI-LEUKAEMIC THERAPY"}
    assert (tte.loc[tte["CNSDTDSC"] == "DATA CUT-OFF", "ADT"].to_numpy()
            == s.loc[(tte["CNSDTDSC"] == "DATA CUT-OFF").to_numpy(), "DCUTDT"].to_numpy()).all()


def test_adtte_agrees_with_adsl(adsl: pd.DataFrame, data: dict[str, pd.DataFrame]) -> None:
    tte = data["ADTTE"]
    for pc in ("OS", "OSHSCT"):
        x = tte[tte["PARAMCD"] == pc]
        s = adsl.loc[x["USUBJID"]]
        assert ((x["CNSR"] == 0).to_numpy() == (s["DTHFL"] == "Y").to_numpy()).all(), pc
        dead = (x["CNSR"] == 0).to_numpy()
        assert (x["ADT"].to_numpy()[dead] == s["DTHDT"].to_numpy()[dead]).all(), pc
        assert set(x.loc[x["CNSR"] == 0, "EVNTDESC"]) == {"DEATH"}
    rfs = tte[tte["PARAMCD"] == "RFS"]
    s = adsl.loc[rfs["USUBJID"]]
    rel = (rfs["EVNTDESC"] == "RELAPSE").to_numpy()
    assert (rfs["ADT"].to_numpy()[rel] == s["RELDT"].to_numpy()[rel]).all()
    died = (rfs["EVNTDESC"] == "DEATH").to_numpy()
    assert (rfs["ADT"].to_numpy()[died] == s["DTHDT"].to_numpy()[died]).all()
    assert (s["RELDT"].isna().to_numpy()[died] | (s["RELDT"].to_numpy()[died] > rfs["ADT"].to_numpy()[died])).all()
    new = (rfs["CNSDTDSC"] == "NEW ANTI-LEUKAEMIC THERAPY").to_numpy()
    assert (rfs["ADT"].to_numpy()[new] == s["NALTDT"].to_numpy()[new]).all()
    # every death of a responder is an RFS event unless RFS was censored before it
    cens = (rfs["CNSR"] == 1).to_numpy()
    assert (s["DTHDT"].isna().to_numpy()[cens] | (s["DTHDT"].to_numpy()[cens] > rfs["ADT"].to_numpy()[cens])).all()


# ---------------------------------------------------------------------- ADRS
def test_adrs(adsl: pd.DataFrame, data: dict[str, pd.DataFrame]) -> None:
    rs = data["ADRS"]
    assert not rs.duplicated(["USUBJID", "PARAMCD"]).any()
    best = rs[rs["PARAMCD"] == "BESTRSP"].set_index("USUBJID")
    assert set(best.index) == set(adsl["USUBJID"])
    assert set(best["AVALC"]) <= {"CR", "CRh", "CRi", "BFHM", "NR", "NE"}
    assert ((best["AVALC"].isin(REMISSION)) == (adsl.loc[best.index, "CRFL"] == "Y")).all()
    rem = best[best["AVALC"].isin(REMISSION)]
    assert (rem["ADT"] == adsl.loc[rem.index, "RSPDT"]).all()
    assert best.loc[best["AVALC"] == "NE", "ADT"].isna().all()
    assessed = best[best["AVALC"] != "NE"]
    assert (assessed["ADT"] >= adsl.loc[assessed.index, "TRTSDT"]).all()
    mrd = rs[rs["PARAMCD"] == "MRDRESP"]
    assert set(mrd["USUBJID"]) == set(adsl.loc[adsl["CRFL"] == "Y", "USUBJID"])
    assert set(mrd["AVALC"]) == {"Y", "N"}
    assert (rs["PARAM"] == rs["PARAMCD"].map(blin.RS_PARAMS)).all()


# ---------------------------------------------------------------------- ADAE
def test_adae_structure(adsl: pd.DataFrame, data: dict[str, pd.DataFrame]) -> None:
    ae = data["ADAE"]
    s = adsl.loc[ae["USUBJID"]]
    assert not ae.duplicated(["USUBJID", "AESEQ"]).any()
    assert (ae.groupby("USUBJID")["AESEQ"].apply(lambda x: sorted(x) == list(range(1, len(x) + 1)))).all()
    assert 8 <= len(ae) / len(adsl) <= 12  # ~10 AEs per subject
    assert (ae["TRTEMFL"] == "Y").all()
    assert ae["AETOXGR"].between(1, 5).all()
    assert set(ae["AESER"]) == {"Y", "N"} and set(ae["AEREL"]) == {"RELATED", "NOT RELATED"}
    assert set(ae["AEACN"]) <= {"DRUG WITHDRAWN", "DRUG INTERRUPTED", "DOSE NOT CHANGED", "NOT APPLICABLE"}
    onset, trtsdt, trtedt = ae["ASTDT"].to_numpy(), s["TRTSDT"].to_numpy(), s["TRTEDT"].to_numpy()
    assert (onset >= trtsdt).all()
    assert (onset <= trtedt + np.timedelta64(30, "D")).all()
    assert (onset <= s["DCUTDT"].to_numpy()).all()
    dead = s["DTHDT"].notna().to_numpy()
    assert (onset[dead] <= s["DTHDT"].to_numpy()[dead]).all()
    assert ((onset - trtsdt).astype("timedelta64[D]").astype(int) + 1 == ae["ASTDY"].to_numpy()).all()
    assert (ae["ACYCLE"].between(1, 5)).all() and (ae["ACYCLE"].to_numpy() <= s["CYCLES"].to_numpy()).all()
    after_last_dose = onset > trtedt
    assert (ae.loc[after_last_dose, "AEACN"] == "NOT APPLICABLE").all()
    assert (ae.loc[~after_last_dose, "AEACN"] != "NOT APPLICABLE").all()


def test_fatal_aes_match_deaths(adsl: pd.DataFrame, data: dict[str, pd.DataFrame]) -> None:
    ae = data["ADAE"]
    g5 = ae["AETOXGR"] == 5
    assert ((ae["AEOUT"] == "FATAL") == g5).all() and ((ae["AESDTH"] == "Y") == g5).all()
    fatal = ae[g5]
    assert fatal["USUBJID"].is_unique and len(fatal) > 0
    s = adsl.loc[fatal["USUBJID"]]
    assert (s["DTHFL"] == "Y").all()
    assert (fatal["ASTDT"].to_numpy() <= s["DTHDT"].to_numpy()).all()
    assert (fatal["AESER"] == "Y").all()


def test_safety_signals_of_the_publication(adsl: pd.DataFrame, data: dict[str, pd.DataFrame]) -> None:
    ae = data["ADAE"].merge(adsl[["USUBJID", "SALVGRP"]].reset_index(drop=True))
    n = adsl["SALVGRP"].value_counts()

    def incidence(mask: pd.Series) -> dict[str, float]:
        hit = ae[mask].groupby("SALVGRP")["USUBJID"].nunique()
        return {g: hit.get(g, 0) / n[g] for g in ("FIRST", "LATER")}

    for mask in (ae["AEDECOD"] == "Cytokine release syndrome", ae["AEDECOD"] == "Febrile neutropenia",
                 ae["AEBODSYS"] == INFECTIONS):
        inc = incidence(mask)
        assert inc["LATER"] > inc["FIRST"] + 0.04, inc
    neuro = incidence(ae["AEBODSYS"].isin(["Nervous system disorders", "Psychiatric disorders"]))
    assert abs(neuro["LATER"] - neuro["FIRST"]) < 0.1 and neuro["FIRST"] > 0.4
    assert (ae.loc[ae["AEDECOD"] == "Cytokine release syndrome", "AEBODSYS"] == "Immune system disorders").all()
    assert {"Neutropenia", "Febrile neutropenia", "Pneumonia", "Sepsis", "Headache", "Tremor", "Encephalopathy",
            "Seizure", "Confusional state", "Pyrexia", "Anaemia", "Thrombocytopenia", "Nausea", "Hypokalaemia",
            "Alanine aminotransferase increased"} <= set(ae["AEDECOD"])


# -------------------------------------------------------------- building blocks
def test_estimators_match_lifelines() -> None:
    lifelines = pytest.importorskip("lifelines")
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, 300)
    days = np.ceil(rng.exponential(200, 300) * (1 + 0.6 * x))
    t = common.months(days)  # ties on whole days, as in the data
    e = rng.random(300) < 0.7
    km = lifelines.KaplanMeierFitter().fit(t[x == 1], e[x == 1])
    assert common.km_median(t[x == 1], e[x == 1]) == km.median_survival_time_
    frame = pd.DataFrame({"T": t, "E": e.astype(int), "X": x})
    ref = lifelines.CoxPHFitter().fit(frame, "T", "E").summary.loc["X"]
    res = common.cox_binary(t, e, x)
    assert res.hr == pytest.approx(ref["exp(coef)"], rel=1e-6)
    assert res.lower == pytest.approx(ref["exp(coef) lower 95%"], rel=1e-6)
    assert res.upper == pytest.approx(ref["exp(coef) upper 95%"], rel=1e-6)
    assert res.p == pytest.approx(ref["p"], rel=1e-5)


def test_rng_streams_are_stable_and_independent() -> None:
    a = common.rng_for(1, "os", 0).random(3)
    assert np.array_equal(a, common.rng_for(1, "os", 0).random(3))
    assert not np.array_equal(a, common.rng_for(1, "rfs", 0).random(3))
    assert not np.array_equal(a, common.rng_for(1, "os", 1).random(3))


def test_time_distributions_invert() -> None:
    p = np.array([0.1, 0.5, 0.9])
    w = common.Weibull(median=6.0, shape=0.8)
    assert w.ppf(np.array([0.5]))[0] == pytest.approx(6.0)
    assert np.allclose(1 - w.sf(w.ppf(p)), p)
    pe = common.PiecewiseExponential(breaks=(3.0, 12.0), hazards=(0.2, 0.1, 0.05))
    assert np.allclose(1 - pe.sf(pe.ppf(p)), p)
    cw = common.CureWeibull(cure=0.2, median=5.0, shape=1.0)
    assert np.isinf(cw.ppf(np.array([0.85]))[0]) and np.isfinite(cw.ppf(np.array([0.75]))[0])


def test_top_k_and_balanced_flag() -> None:
    score = np.array([0.3, 0.9, 0.1, 0.5, 0.7])
    assert common.top_k(score, 2).tolist() == [False, True, False, False, True]
    assert common.top_k(score, 1, eligible=score < 0.8).tolist() == [False, False, False, False, True]
    with pytest.raises(ValueError):
        common.top_k(score, 3, eligible=score > 0.6)
    flag = common.balanced_flag(np.random.default_rng(0), np.arange(100.0), 25)
    assert flag.sum() == 25
    assert abs(np.arange(100.0)[flag].mean() - 49.5) < 5

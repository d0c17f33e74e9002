"""The bundled synthetic pooled ADaM study (blinatumomab, first vs later salvage).

Determinism (same seed -> equal frames and byte-identical CSVs; the bundled CSVs are what
`write_study` writes now), the structural invariants a statistician would check, the last
calibration step (printed digits) changing event times only, and the generator package standing
apart from the engine. The reproduction of the published numbers by the analysis engine is tested
in test_seed_reproduction.py.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from trialpress.analysis.survival import cox, kaplan_meier, km_quantile
from trialpress_synth import DEFAULT_SEEDS, GENERATORS, write_frames, write_study
from trialpress_synth import _common as common
from trialpress_synth import blinatumomab as blin

NAME = "blinatumomab-salvage"
ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / NAME
REMISSION = ["CR", "CRh", "CRi"]
INFECTIONS = "Infections and infestations"


@pytest.fixture(scope="module")
def generated() -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    return blin.generate_with_log(DEFAULT_SEEDS[NAME])


@pytest.fixture(scope="module")
def data(generated: tuple[dict[str, pd.DataFrame], dict[str, Any]]) -> dict[str, pd.DataFrame]:
    return generated[0]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The CSVs as `write_study` (what `trialpress synth` calls) writes them, from a generation of their own."""
    return write_study(NAME, tmp_path_factory.mktemp("written"))


@pytest.fixture(scope="module")
def adsl(data: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return data["ADSL"].set_index("USUBJID", drop=False)


# ------------------------------------------------------------------ determinism
def test_registry_and_default_seed() -> None:
    assert NAME in GENERATORS and NAME in DEFAULT_SEEDS
    assert DEFAULT_SEEDS[NAME] == blin.DEFAULT_SEED


def test_generate_is_deterministic(data: dict[str, pd.DataFrame]) -> None:
    again = GENERATORS[NAME](DEFAULT_SEEDS[NAME])
    assert sorted(again) == ["ADAE", "ADRS", "ADSL", "ADTTE"]
    for name, frame in data.items():
        pd.testing.assert_frame_equal(frame, again[name])


def test_write_study_is_byte_identical(data: dict[str, pd.DataFrame], written: list[Path], tmp_path: Path) -> None:
    """Two generations (the fixture's and write_study's own) write the same bytes."""
    assert [p.name for p in written] == ["adae.csv", "adrs.csv", "adsl.csv", "adtte.csv"]
    for p, q in zip(written, write_frames(NAME, data, tmp_path), strict=True):
        assert p.read_bytes() == q.read_bytes(), p.name


def test_bundled_csvs_are_what_write_study_writes(written: list[Path]) -> None:
    for path in written:
        bundled = BUNDLED / path.name
        assert bundled.is_file(), f"missing {bundled}; regenerate with `trialpress synth {NAME}`"
        assert bundled.read_bytes() == path.read_bytes(), (
            f"{bundled} differs from the generator's output; regenerate with `trialpress synth {NAME}`")


def test_csv_format(written: list[Path]) -> None:
    paths = {p.stem: p for p in written}
    text = paths["adsl"].read_bytes()
    assert b"\r" not in text and text.endswith(b"\n")
    header = text.split(b"\n", 1)[0].decode().split(",")
    assert header == blin.COLUMNS["ADSL"]
    adsl = pd.read_csv(paths["adsl"], dtype=str, keep_default_na=False)
    assert adsl["TRTSDT"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert (adsl.loc[adsl["DTHFL"] == "N", "DTHDT"] == "").all()
    adtte = pd.read_csv(paths["adtte"], dtype=str, keep_default_na=False)
    assert adtte["AVAL"].str.fullmatch(r"\d+(\.\d{1,4})?").all()


def test_another_seed_also_meets_the_counts_and_digits(data: dict[str, pd.DataFrame]) -> None:
    other = blin.generate(7)
    assert not other["ADSL"].equals(data["ADSL"])
    _assert_counts(other["ADSL"], other["ADRS"])
    assert blin.printed(blin.check_calibration(other["ADSL"], other["ADTTE"])) == blin.PRINTED


# ------------------------------------------------------------ calibration: printed digits
def test_generator_prints_the_published_digits(data: dict[str, pd.DataFrame]) -> None:
    measured = blin.check_calibration(data["ADSL"], data["ADTTE"])
    assert blin.printed(measured) == blin.PRINTED
    assert blin.digits_ok(measured) and blin.calibration_ok(measured)
    assert blin.PRINTED == {
        "OS": {"median": {"FIRST": "10.4", "LATER": "5.7"}, "hr": "1.58", "lower": "1.26", "upper": "1.97",
               "p": "< .001"},
        "RFS": {"median": {"FIRST": "10.1", "LATER": "7.3"}, "hr": "1.38", "lower": "0.98", "upper": "1.93",
                "p": ".061"}}


def test_last_step_changes_event_times_only(generated: tuple[dict[str, pd.DataFrame], dict[str, Any]]) -> None:
    """The printed-digits step changes a few subjects' OS/RFS event times (and the ADSL dates they come from),
    nothing else: ADRS and ADAE are what the calibration alone gives."""
    data, log = generated
    before = blin._attempt(log["seed"], log["attempt"], digits=False)
    assert before is not None
    before = before[1]
    for ds in ("ADRS", "ADAE"):
        pd.testing.assert_frame_equal(data[ds], before[ds])
    moved = {u for ids in log["digit_moves"].values() for u in ids}
    assert 0 < len(moved) <= 2 * blin.MAX_DIGIT_MOVES
    a, b = data["ADSL"].set_index("USUBJID"), before["ADSL"].set_index("USUBJID")
    changed = (a != b) & ~(a.isna() & b.isna())
    assert set(changed.columns[changed.any()]) <= {"DTHFL", "DTHDT", "RELFL", "RELDT", "NALTDT"}
    assert set(changed.index[changed.any(axis=1)]) <= moved
    keys = ["USUBJID", "PARAMCD"]
    a, b = data["ADTTE"].set_index(keys), before["ADTTE"].set_index(keys)
    assert a.index.equals(b.index)
    changed = (a != b) & ~(a.isna() & b.isna())
    assert set(changed.columns[changed.any()]) <= {"AVAL", "CNSR", "ADT", "EVNTDESC", "CNSDTDSC"}
    assert set(changed.index[changed.any(axis=1)].get_level_values("USUBJID")) <= moved
    # the moves are what they say: deaths after the last contact, relapses nudged, new therapies in remission
    adsl = data["ADSL"].set_index("USUBJID")
    assert (adsl.loc[log["digit_moves"]["OS death after last contact"], "DTHFL"] == "N").all()
    assert adsl.loc[log["digit_moves"]["RFS new therapy in remission"], "NALTDT"].notna().all()


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
def test_estimators_are_the_engines() -> None:
    """The generators measure their data with the engine's KM and Cox (no copies of their own)."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, 300)
    days = np.ceil(rng.exponential(200, 300) * (1 + 0.6 * x))
    t = common.months(days)  # ties on whole days, as in the data
    e = rng.random(300) < 0.7
    m = x == 1
    assert common.km_median(t[m], e[m]) == km_quantile(kaplan_meier(t[m], e[m])).value
    assert common.km_median(t[m], np.zeros(m.sum(), bool)) == np.inf  # not reached
    term = cox(pd.DataFrame({"T": t, "E": e.astype(int), "X": x.astype(float)}), "T", "E", ["X"]).terms["X"]
    res = common.cox_binary(t, e, x)
    assert (res.hr, res.lower, res.upper, res.p, res.se) == (term.hr.value, term.hr.lower, term.hr.upper, term.p,
                                                             term.se)
    for name in ("km_median", "cox_binary"):
        calls = {n.func.id for n in ast.walk(ast.parse(_source(getattr(common, name))))
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert calls & {"kaplan_meier", "km_quantile", "cox"}, name


def _source(fn: Any) -> str:
    import inspect
    import textwrap

    return textwrap.dedent(inspect.getsource(fn))


def test_engine_does_not_import_the_generators() -> None:
    """The generators live outside the engine package; the engine imports them nowhere (the command line
    may load them inside the `synth` command only)."""
    engine = ROOT / "src" / "trialpress"
    assert not (engine / "data" / "synth").exists()
    bad = []
    for path in sorted(engine.rglob("*.py")):
        tree = ast.parse(path.read_text())
        top_level = set(map(id, tree.body))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            imports_it = any(n == "trialpress_synth" or n.startswith("trialpress_synth.") for n in names)
            if imports_it and (path.name != "cli.py" or id(node) in top_level):
                bad.append(f"{path.relative_to(engine)}:{node.lineno}")
    assert not bad, bad


def test_deviation_and_wald_deviation() -> None:
    assert common.deviation(1.5765, "1.58") == pytest.approx(0.7)
    assert common.deviation(0.0614, ".061") == pytest.approx(0.8)
    assert common.deviation(5e-5, "< .001") == pytest.approx(0.05)
    assert common.deviation(float("nan"), "1.58") == np.inf
    z = 1.959963984540054
    b, se = np.log(1.3786), 0.1717
    want = max(common.deviation(np.exp(b), "1.38"), common.deviation(np.exp(b - z * se), "0.98"),
               common.deviation(np.exp(b + z * se), "1.93"))
    got = common.wald_deviation(np.array([b]), np.array([se]), {"hr": "1.38", "lower": "0.98", "upper": "1.93",
                                                               "p": "< 1"})
    assert got[0] == pytest.approx(want)


def test_choose_moves_finds_the_fewest() -> None:
    """Toy problem: each option adds to log HR and SE; the fewest options reaching the printed window win."""
    effects = {0: (0.03, 0.003), 1: (0.022, 0.0034), 2: (-0.01, 0.001), 3: (0.2, 0.0)}
    base = (np.log(1.50), 0.105)

    def fit(chosen: list[int]) -> tuple[float, float]:
        return base[0] + sum(effects[c][0] for c in chosen), base[1] + sum(effects[c][1] for c in chosen)

    printed = {"hr": "1.58", "lower": "1.27", "upper": "1.97", "p": "< .001"}

    def exact(chosen: list[int]) -> float:
        return float(common.wald_deviation(*map(np.array, fit(chosen)), printed))

    chosen = common.choose_moves(fit, exact, list(effects), int, printed, 4)
    assert chosen is not None and exact(chosen) < common.DIGITS_ACCEPT
    assert chosen == [0, 1]   # HR 1.58 (1.27-1.97); no single option and no other pair prints so
    assert common.choose_moves(fit, exact, [3, 2], int, printed, 4) is None


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

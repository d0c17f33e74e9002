"""The safety suite where the bundled data do not reach: liver tests (eDISH), both reference-range
abnormalities, missing baselines, the date rule for post-baseline records, time at risk by hand, sections left
out when their data are absent, every table reachable by the RTF package, the methods sentences.

Expected values are computed here with plain pandas and numpy (and scipy's chi-square for the exact Poisson
limits), written from the definitions, not by calling the engine."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from trialpress.errors import DataError
from trialpress.pipeline import _load
from trialpress.plan import load_plan
from trialpress.report.context import ContextBuilder
from trialpress.report.safety_view import safety_context, safety_methods
from trialpress.results import keys
from trialpress.results import safety_keys as sk
from trialpress.results.ae_tables import eair_rows
from trialpress.results.ard import ARD, ARDBuilder, row
from trialpress.results.collect import analyse
from trialpress.results.exposure import Exposure
from trialpress.results.safety_subjects import as_days

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = "random-cdisc-data"
ARMS = ("B: Placebo", "A: Drug X", "C: Combination")
ULN = {"ALT": 40.0, "AST": 35.0, "BILI": 1.2}
LABS_LINE = re.compile(r"^  labs: .*$", re.MULTILINE)


def _copy(tmp_path: Path, study: str) -> Path:
    dst = tmp_path / "project"
    dst.mkdir()
    shutil.copy(ROOT / "_quarto.yml", dst / "_quarto.yml")
    shutil.copytree(ROOT / "analysis", dst / "analysis")
    shutil.copytree(ROOT / "templates", dst / "templates")
    (dst / "data").mkdir()
    shutil.copytree(ROOT / "data" / study, dst / "data" / study)
    return dst


def _analyse(plan_path: Path) -> tuple[object, ARD]:
    lplan = load_plan(plan_path)
    return lplan.plan, analyse(lplan.plan, _load(lplan)).ard


# ------------------------------------------------------------------ a liver panel on the public package
def _liver_adlb(adsl: pd.DataFrame) -> pd.DataFrame:
    """ALT, AST and total bilirubin at baseline and three on-treatment visits for 90 safety subjects, with values
    spread across the eDISH thresholds; subjects 0-9 have no baseline record, 10-14 no post-baseline one, and
    20-24 are low at one visit and high at another (ALT)."""
    rng = np.random.default_rng(20261201)
    subjects = adsl.loc[adsl["SAFFL"] == "Y"].iloc[:90]
    start = pd.to_datetime(subjects["TRTSDTM"].astype(float), unit="s", origin="1960-01-01").dt.normalize()
    out = []
    for i, (sid, day1) in enumerate(zip(subjects["USUBJID"], start)):
        for test, uln in ULN.items():
            visits = [("BASELINE", 0, -2)] if i >= 10 else []
            visits += [] if 10 <= i < 15 else [(f"WEEK {k}", k, 7 * k) for k in (1, 2, 3)]
            for visit, number, offset in visits:
                x = uln * float(np.exp(rng.normal(0.0, 0.9)))
                if test == "ALT" and 20 <= i < 25 and number in (1, 2):
                    x = uln * (0.1 if number == 1 else 1.5)
                low = uln / 8
                out.append({"STUDYID": "AB12345", "USUBJID": sid, "PARAMCD": test, "LBTESTCD": test,
                            "PARAM": f"{test} test", "AVALU": "U/L", "AVAL": round(x, 3), "AVISIT": visit,
                            "AVISITN": number, "ABLFL": "Y" if number == 0 else "", "ONTRTFL": "Y" if number else "",
                            "ADT": (day1 + pd.Timedelta(days=offset)).date().isoformat(), "ANRHI": uln,
                            "ANRIND": "HIGH" if x > uln else "LOW" if x < low else "NORMAL"})
    frame = pd.DataFrame(out)
    base = frame[frame["ABLFL"] == "Y"].set_index(["USUBJID", "PARAMCD"])
    key = pd.MultiIndex.from_frame(frame[["USUBJID", "PARAMCD"]])
    frame["BNRIND"] = base["ANRIND"].reindex(key).to_numpy()
    frame["CHG"] = (frame["AVAL"].to_numpy() - base["AVAL"].reindex(key).to_numpy()).round(6)
    frame.loc[frame["ABLFL"] == "Y", "CHG"] = np.nan
    return frame


@pytest.fixture(scope="module")
def liver(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = _copy(tmp_path_factory.mktemp("liver"), PUBLIC)
    folder = root / "data" / PUBLIC
    adsl = pd.read_sas(folder / "adsl.xpt", encoding="utf-8")
    adlb = _liver_adlb(adsl)
    (folder / "adlb.xpt").unlink()
    adlb.to_csv(folder / "adlb.csv", index=False)
    plan_path = root / "analysis" / f"{PUBLIC}.yml"
    text = plan_path.read_text()
    assert LABS_LINE.search(text)
    plan_path.write_text(LABS_LINE.sub("  labs: {dataset: ADLB, unit: AVALU, upper_limit: ANRHI, test_code: LBTESTCD}",
                                       text))
    by_date = root / "analysis" / "by-date.yml"
    by_date.write_text(LABS_LINE.sub("  labs: {dataset: ADLB, unit: AVALU, upper_limit: ANRHI, test_code: LBTESTCD, "
                                     "on_treatment_flag: null, date: ADT}", text))
    plan, ard = _analyse(plan_path)
    _, ard_by_date = _analyse(by_date)
    return {"adsl": adsl, "adlb": adlb, "plan": plan, "ard": ard, "ard_by_date": ard_by_date}


def _arm_of(adsl: pd.DataFrame) -> pd.Series:
    return adsl.set_index("USUBJID")["TRT01A"]


def test_edish_counts_equal_plain_pandas(liver: dict[str, object]) -> None:
    adlb, ard = liver["adlb"], liver["ard"]
    post = adlb[(adlb["ONTRTFL"] == "Y") & (adlb["ABLFL"] != "Y")]
    top = (post["AVAL"] / post["ANRHI"]).groupby([post["USUBJID"], post["PARAMCD"]]).max().unstack()
    arm = _arm_of(liver["adsl"]).reindex(top.index)
    trans = top[["ALT", "AST"]].max(axis=1)
    both = trans.notna() & top["BILI"].notna()
    expected = {
        "alt_3": top["ALT"] > 3, "ast_3": top["AST"] > 3, "alt_or_ast_3": trans > 3, "alt_or_ast_5": trans > 5,
        "alt_or_ast_10": trans > 10, "alt_or_ast_20": trans > 20, "bili_2": top["BILI"] > 2,
        "normal": both & (trans <= 3) & (top["BILI"] <= 2),
        "hyperbilirubinaemia": both & (trans <= 3) & (top["BILI"] > 2),
        "temple": both & (trans > 3) & (top["BILI"] <= 2),
        "potential_hys_law": both & (trans > 3) & (top["BILI"] > 2),
    }
    assert expected["potential_hys_law"].sum() > 0 and expected["temple"].sum() > 0, "the data reach every quadrant"
    denominators = {"alt_3": top["ALT"].notna(), "ast_3": top["AST"].notna(), "bili_2": top["BILI"].notna()}
    for term, hit in expected.items():
        base = denominators.get(term, trans.notna() if term.startswith("alt_or_ast") else both)
        for g in (*ARMS, ""):
            inside = arm.notna() if not g else arm == g
            r = ard[sk.liver("n", g, term=term)]
            assert (r.value, r.n) == (int((hit & inside).sum()), int((base & inside).sum())), (term, g)
    assert ard[sk.liver("subjects")].value == int(both.sum())
    quadrants = sum(ard[sk.liver("n", term=t)].value for t in ("normal", "hyperbilirubinaemia", "temple",
                                                                "potential_hys_law"))
    assert quadrants == both.sum(), "each subject in one quadrant"


def test_range_shift_with_missing_baseline_and_both_abnormalities(liver: dict[str, object]) -> None:
    adlb, ard = liver["adlb"], liver["ard"]
    arm = _arm_of(liver["adsl"])
    x = adlb[adlb["PARAMCD"] == "ALT"]
    post = x[(x["ONTRTFL"] == "Y") & (x["ABLFL"] != "Y")]
    base = x[x["ABLFL"] == "Y"].set_index("USUBJID")["BNRIND"]
    subjects = pd.Index(x["USUBJID"].unique())
    baseline = base.reindex(subjects).fillna(sk.MISSING)

    def worst(values: pd.Series) -> str:
        found = set(values)
        return "LOW+HIGH" if {"LOW", "HIGH"} <= found else "HIGH" if "HIGH" in found else \
            "LOW" if "LOW" in found else "NORMAL"

    w = post.groupby("USUBJID")["ANRIND"].agg(worst).reindex(subjects).fillna(sk.MISSING)
    assert (w == "LOW+HIGH").sum() >= 5 and (baseline == sk.MISSING).sum() == 10 and (w == sk.MISSING).sum() == 5
    table = pd.crosstab([arm.reindex(subjects), baseline], w)
    for (g, b), counts in table.iterrows():
        for c, n in counts.items():
            assert ard[sk.shift("lab", "n", g, parameter="ALT", baseline=b, worst=c)].value == n, (g, b, c)
        assert ard[sk.shift("lab", "n", g, parameter="ALT", baseline=b)].value == counts.sum()
    for g in ARMS:
        assert ard[sk.shift("lab", "subjects", g, parameter="ALT")].value == (arm.reindex(subjects) == g).sum()


def test_change_from_baseline_by_visit(liver: dict[str, object]) -> None:
    adlb, ard = liver["adlb"], liver["ard"]
    arm = _arm_of(liver["adsl"])
    x = adlb[(adlb["PARAMCD"] == "BILI") & (adlb["AVISIT"] == "WEEK 2")].assign(g=lambda d: d["USUBJID"].map(arm))
    for g in ARMS:
        part = x[x["g"] == g]
        for what, column in (("value", "AVAL"), ("change", "CHG")):
            v = part[column].dropna()
            for stat, value in (("n", len(v)), ("mean", v.mean()), ("sd", v.std()), ("median", v.median()),
                                ("min", v.min()), ("max", v.max())):
                got = ard[sk.visit("lab", stat, g, parameter="BILI", what=what, visit="WEEK 2")].value
                assert got == pytest.approx(value, rel=1e-12), (g, what, stat)


def test_post_baseline_by_date_equals_the_flag(liver: dict[str, object]) -> None:
    """Without ONTRTFL, records dated after the first dose (and not baseline) are post-baseline: here the same
    records, so every number is the same (only the method's words differ)."""
    a, b = liver["ard"], liver["ard_by_date"]
    lab = [r for r in a if r.analysis.startswith("lab_")]
    assert len(lab) > 300
    assert all(b[r.id].value == r.value or (math.isnan(r.value) and math.isnan(b[r.id].value)) for r in lab)
    assert "ADT after the first dose" in b[sk.visit("lab", "n", ARMS[0], parameter="ALT", what="value",
                                                    visit="WEEK 1")].method


def test_liver_table_and_methods(liver: dict[str, object]) -> None:
    plan, ard = liver["plan"], liver["ard"]
    cb = ContextBuilder(plan, ard)
    section = safety_context(cb, plan, [])["safety"]
    ids = [t.model.id for t in section.labs]
    assert ids == ["table-safety-lab-visit", "table-safety-lab-shift", "table-safety-lab-liver"]
    text = " ".join(safety_methods(plan, ard))
    assert "potential Hy's law" in text and "not necessarily on the same day" in text


# ------------------------------------------------------------------ time at risk, by hand
def test_time_at_risk_runs_to_the_first_event_or_the_end_of_exposure() -> None:
    """Group A: durations 100, 200, unknown, 50; events of subject 0 on days 10 and 5 (first: 5), subject 2 on day
    30 (no duration: its time at risk is known), subject 3 on an unknown day (counts to the end of exposure).
    Time at risk 5 + 200 + 30 + 50 = 285 days, 3 subjects with the event. Group B: one subject, no event, 365 days."""
    events = SimpleNamespace(subject=np.array([0, 0, 2, 3]), group_of=np.array([0, 0, 0, 0, 1]), groups=["A", "B"],
                             subject_order=None,
                             n_subjects=5)
    onset = np.array([10.0, 5.0, 30.0, np.nan])
    exposure = Exposure(np.array([100.0, 200.0, np.nan, 50.0, 365.0]), "test durations")
    builder = ARDBuilder()

    def add(key, value=math.nan, **kw):  # type: ignore[no-untyped-def]
        builder.add(row(key, population="SAF", value=value, **kw))

    eair_rows(events, exposure, onset, np.ones(4, dtype=bool), add, conf_level=0.95, category="any")
    ard = builder.build()
    years = 285 / 365.25
    assert ard[sk.eair("events", "A", term="any")].value == 3
    assert ard[sk.eair("patient_years", "A", term="any")].value == pytest.approx(years, rel=1e-12)
    rate = ard[sk.eair("rate", "A", term="any")]
    assert rate.value == pytest.approx(100 * 3 / years, rel=1e-12)
    assert rate.lower == pytest.approx(100 * stats.chi2.ppf(0.025, 6) / 2 / years, rel=1e-9)
    assert rate.upper == pytest.approx(100 * stats.chi2.ppf(0.975, 8) / 2 / years, rel=1e-9)
    assert "1 event(s) with no onset day" in rate.note
    b = ard[sk.eair("rate", "B", term="any")]
    assert b.value == 0 and b.lower == 0
    assert b.upper == pytest.approx(100 * stats.chi2.ppf(0.975, 2) / 2 / (365 / 365.25), rel=1e-9)
    assert ard[sk.eair("patient_years", "", term="any")].value == pytest.approx((285 + 365) / 365.25, rel=1e-12)


@pytest.mark.parametrize("study, term, pts", [
    ("blinatumomab-salvage", "CRS", ["Cytokine release syndrome"]),
    ("velotrepin-copd", "ISR", ["Injection site reaction", "Injection site erythema", "Injection site pain"]),
])
def test_interest_rates_use_the_time_to_the_first_event(study: str, term: str, pts: list[str]) -> None:
    """The AE-of-interest rate divides by the time at risk (to the first event), not by the whole exposure."""
    plan, ard = _analyse(ROOT / "analysis" / f"{study}.yml")
    gvar = plan.group_variable(plan.safety.population)
    adsl = pd.read_csv(ROOT / "data" / study / "adsl.csv", dtype=str)
    adsl = adsl[adsl["SAFFL"] == "Y"]
    ae = pd.read_csv(ROOT / "data" / study / "adae.csv", dtype=str)
    ae = ae[(ae["TRTEMFL"] == "Y") & ae["AEDECOD"].isin(pts) & ae["USUBJID"].isin(adsl["USUBJID"])]
    first = ae.assign(day=ae["ASTDY"].astype(float).clip(lower=1)).groupby("USUBJID")["day"].min()
    risk = first.reindex(adsl["USUBJID"]).fillna(pd.Series(adsl["TRTDURD"].astype(float).to_numpy(),
                                                             index=adsl["USUBJID"]))
    for g in plan.group_values:
        ids = adsl.loc[adsl[gvar] == g, "USUBJID"]
        years = risk.reindex(ids).sum() / 365.25
        events = ids.isin(first.index).sum()
        assert ard[keys.safety("interest_eair", "patient_years", g, term=term)].value == pytest.approx(years)
        assert ard[keys.safety("interest_eair", "rate", g, term=term)].value == pytest.approx(100 * events / years)
        whole = adsl.loc[adsl[gvar] == g, "TRTDURD"].astype(float).sum() / 365.25
        assert years < whole


# ------------------------------------------------------------------ sections left out when the data are absent
def test_sections_follow_the_data_the_study_has() -> None:
    plan, ard = _analyse(ROOT / "analysis" / "velotrepin-copd.yml")
    section = safety_context(ContextBuilder(plan, ard), plan, [])["safety"]
    assert section.labs == [] and section.vitals == []
    assert not [r for r in ard if r.analysis.startswith(("lab_", "vs_"))]
    assert section.disposition is not None and section.exposure is not None and section.deaths is not None
    assert not [r for r in ard.select(analysis="deaths") if r.term], "no DTHCAUS: no cause rows"
    assert not ard.select(analysis="exposure_summary", parameter="intensity"), "no ADEX: no dose intensity"
    deaths_text = " ".join(c.text for r in section.deaths.model.body for c in r)
    assert "Cause" not in deaths_text and "not recorded" not in deaths_text.lower()


def test_no_death_and_no_status_variables_no_tables(tmp_path: Path) -> None:
    root = _copy(tmp_path, "velotrepin-copd")
    adsl_path = root / "data" / "velotrepin-copd" / "adsl.csv"
    adsl = pd.read_csv(adsl_path, dtype=str, keep_default_na=False)
    adsl.drop(columns=["DTHFL", "DTHDT", "EOSSTT", "DCSREAS"]).to_csv(adsl_path, index=False)
    plan, ard = _analyse(root / "analysis" / "velotrepin-copd.yml")
    assert not ard.select(analysis="deaths") and not ard.select(analysis="death_listing")
    section = safety_context(ContextBuilder(plan, ard), plan, [])["safety"]
    assert section.deaths is None
    labels = [r[0].text for r in section.disposition.model.body]
    assert "Randomized" in labels and not any("End of study" in t for t in labels)


def test_too_many_deaths_are_counted_not_listed(tmp_path: Path) -> None:
    root = _copy(tmp_path, "velotrepin-copd")
    plan_path = root / "analysis" / "velotrepin-copd.yml"
    plan_path.write_text(plan_path.read_text().replace("  pt_threshold_percent: 5\n",
                                                       "  pt_threshold_percent: 5\n  death_listing_max: 3\n"))
    plan, ard = _analyse(plan_path)
    assert ard[sk.deaths("n")].value == 6 and not ard.select(analysis="death_listing")
    section = safety_context(ContextBuilder(plan, ard), plan, [])["safety"]
    assert all(t.model.id != "table-safety-death-listing" for t in section.supplementary)
    assert "not listed one by one" in section.deaths.note


# ------------------------------------------------------------------ the RTF package, numbering, methods
@pytest.mark.parametrize("study", ["blinatumomab-salvage", PUBLIC])
def test_every_safety_table_is_numbered_once_and_reaches_the_rtf_package(study: str) -> None:
    from trialpress.report.tlf import _tables

    plan, ard = _analyse(ROOT / "analysis" / f"{study}.yml")
    cb = ContextBuilder(plan, ard)
    context = safety_context(cb, plan, [])
    section = context["safety"]
    listed = [section.disposition, section.exposure, *section.adverse_events, section.deaths, *section.labs,
              *section.vitals, *section.supplementary]
    tables = [t for t in listed if t is not None]
    numbers = [t.number for t in tables]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "numbered in the template's order"
    assert [t.number for t in section.tables] == numbers
    found = _tables({"baseline": None, "efficacy": None, "safety": section, "safety_outcomes": None})
    assert [t.model.id for t in found] == [t.model.id for t in tables]
    for t in tables:
        assert t.population and "population" not in t.title.lower() and t.note.strip(), t.model.id
        width = sum(c.colspan for c in t.model.header[-1])
        assert all(sum(c.colspan for c in r) == width for r in t.model.body), t.model.id


def test_methods_state_the_conventions() -> None:
    plan, ard = _analyse(ROOT / "analysis" / f"{PUBLIC}.yml")
    text = " ".join(safety_methods(plan, ard))
    for phrase in ("ADEX: first ASTDTM to last AENDTM", "patient-years", "plus 30 days", "low and high",
                   "ONTRTFL = 'Y'", "ASTDY, day 1 being the day of the first dose", "'missing' when none",
                   "negative grades are the low direction", "MedDRA (version not recorded", "DTHCAUS",
                   "reasons counted for the subjects who discontinued (as percentages of all subjects in the group"):
        assert phrase in text, phrase
    versioned = plan.model_copy(update={"safety": plan.safety.model_copy(update={"meddra_version": "26.0",
                                                                                  "ctcae_version": "5.0"})})
    ard2 = analyse(versioned, _load(load_plan(ROOT / "analysis" / f"{PUBLIC}.yml"))).ard
    text2 = " ".join(safety_methods(versioned, ard2))
    assert "MedDRA version 26.0 (plan safety.meddra_version)" in text2 and "CTCAE version 5.0" in text2


# ------------------------------------------------------------------ dates as the data hold them
def test_dates_from_sas_numbers_text_and_datetimes() -> None:
    seconds = pd.Series([86_400.0 * 21_000 + 3_600, np.nan])   # 2017-06-30 01:00 as SAS datetime seconds
    assert as_days(seconds, "TRTSDTM").iloc[0] == pd.Timestamp("2017-06-30")
    assert as_days(pd.Series([21_000.0]), "TRTSDT").iloc[0] == pd.Timestamp("2017-06-30")
    text = pd.Series(["2017-06-30T23:59:59", "", None], dtype=object)
    days = as_days(text, "TRTEDTM")
    assert days.iloc[0] == pd.Timestamp("2017-06-30") and days.iloc[1:].isna().all()
    with pytest.raises(DataError, match="TRTEDTM"):
        as_days(pd.Series(["30/06/2017"]), "TRTEDTM")


# ------------------------------------------------------------------ AEs not yet coded
def test_uncoded_adverse_events_are_counted_under_their_own_row_and_shown_last(tmp_path: Path) -> None:
    """An AE without a preferred term (or a system organ class) is counted under the missing level, not left
    out: plain pandas counts of subjects per (SOC, PT), with blanks as their own level, equal the ARD, and the
    tables show it as 'Not coded' after the coded terms of its level."""
    root = _copy(tmp_path, PUBLIC)
    path = root / "data" / PUBLIC / "adae.xpt"
    import pyreadstat

    adae, meta = pyreadstat.read_xport(str(path))
    teae = adae.index[adae["TRTEMFL"] == "Y"]
    adae.loc[teae[:40], "AEDECOD"] = ""            # coded to a SOC, no PT yet
    adae.loc[teae[40:45], ["AEBODSYS", "AEDECOD"]] = ""
    pyreadstat.write_xport(adae, str(path), table_name="ADAE", file_format_version=5,
                           column_labels=dict(zip(meta.column_names, meta.column_labels)))
    plan, ard = _analyse(root / "analysis" / f"{PUBLIC}.yml")

    adsl, _ = pyreadstat.read_xport(str(root / "data" / PUBLIC / "adsl.xpt"))
    saf = adsl.loc[adsl["SAFFL"] == "Y", ["USUBJID", "TRT01A"]].rename(columns={"TRT01A": "ARM_SAF"})
    te = adae[adae["TRTEMFL"] == "Y"].merge(saf, on="USUBJID")
    te = te.assign(SOC=te["AEBODSYS"].replace("", sk.MISSING), PT=te["AEDECOD"].replace("", sk.MISSING))
    pairs = te.groupby(["SOC", "PT"])["USUBJID"].nunique()
    assert (pairs.index.get_level_values("PT") == sk.MISSING).sum() >= 2
    for (soc, pt), n in pairs.items():
        assert ard[keys.safety("pt_any", "n", term=pt, parent=soc)].value == n, (soc, pt)
    for arm, rows in te.groupby("ARM_SAF"):
        for (soc, pt), n in rows.groupby(["SOC", "PT"])["USUBJID"].nunique().items():
            assert ard[keys.safety("pt_any", "n", arm, term=pt, parent=soc)].value == n, (arm, soc, pt)
    assert ard[keys.safety("soc_any", "n", term=sk.MISSING)].value == te.loc[te["SOC"] == sk.MISSING, "USUBJID"].nunique()

    section = safety_context(ContextBuilder(plan, ard), plan, [])["safety"]
    everything = next(t for t in section.supplementary if t.model.id == "table-safety-all-terms")
    shown = [r[0].text for r in everything.model.body]
    assert "(missing)" not in shown and "Not coded" in shown
    soc_rows = [r[0].text for r in everything.model.body if r[0].bold]
    assert soc_rows[-1] == "Not coded"                       # the uncoded SOC after the coded ones
    first_soc = shown.index(soc_rows[0])
    inside = shown[first_soc + 1:shown.index(soc_rows[1])]
    assert "Not coded" not in inside[:-1]                    # within a SOC, 'Not coded' is its last PT

"""A real submission in CDISC Dataset-JSON, used as a new user would: the R Submission Pilot 5 package
(data/rconsortium-pilot5, the CDISC pilot study's ADSL and ADTTE as Dataset-JSON 1.1, as sent to the FDA; README
there), `trialpress init`, the CHECK lines set (analysis/rconsortium-pilot5.yml), then render.

* Every number against R (tests/reference/r/pilot5.R, which reads the files with jsonlite → expected/pilot5.json).
* The same study in Dataset-JSON 1.0 as CDISC published it (tests/reference/data/cdisc-lzzt-dataset-json-1.0: dates
  as SAS day numbers, a record counter, other number forms) reads to the same values and the same ARD.
* What this real package taught: R writes a missing decimal as the text "NA"; a time-to-event endpoint that is
  not a survival needs an axis saying what the curve shows; a safety time to event belongs in the abstract."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from trialpress.data.readers import read_dataset
from trialpress.plan import load_plan
from trialpress.quality.gate import reading_notes, run_gate
from trialpress.results import keys
from trialpress.scaffold import init

from public_packages import (ard_rows, close, differing, lines_init_wrote_but_the_plan_lacks, plan_on,
                             study_fixtures)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "rconsortium-pilot5"
LZZT = ROOT / "tests" / "reference" / "data" / "cdisc-lzzt-dataset-json-1.0"
PLAN = ROOT / "analysis" / "rconsortium-pilot5.yml"
R = json.loads((ROOT / "tests" / "reference" / "expected" / "pilot5.json").read_text())
ARMS = ("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")


loaded, ard = study_fixtures(PLAN)


def test_committed_plan_is_init_with_check_lines_set(tmp_path: Path) -> None:
    assert lines_init_wrote_but_the_plan_lacks(DATA, PLAN, tmp_path) == []


def test_init_reads_the_pilots_own_coding(tmp_path: Path) -> None:
    plan = load_plan(init(DATA, tmp_path / "p.yml")).plan
    assert plan.groups.variable == "TRT01P" and plan.groups.reference == "Placebo"
    assert [lv.value for lv in plan.groups.levels] == list(ARMS)            # by TRT01PN: 0, 54, 81
    (ttde,) = plan.time_to_event
    assert (ttde.paramcd, ttde.role, ttde.population, ttde.origin) == ("TTDE", "safety", "SAF", "first dose")


def test_the_gate_passes_and_says_how_the_files_were_read(loaded) -> None:
    lplan, data = loaded
    report = run_gate(lplan.plan, data, parallel=False)
    assert report.errors == [] and report.warnings == [], [(r.id, r.examples[:2]) for r in report.errors]
    # the pilot's adsl.json writes BMIBL and WEIGHTBL of subject 01-702-1082 as "  NA" (R's sprintf)
    assert reading_notes(lplan.plan, data) == (
        "adsl.json: numbers written as the text NA read as missing values (R's missing value)",)


def test_kaplan_meier_equals_r(ard) -> None:
    for arm in ARMS:
        ref = R["tte"]["arms"][arm]
        assert ard[keys.km("TTDE", "n", arm)].value == ref["n"]
        assert ard[keys.km("TTDE", "events", arm)].value == ref["events"]
        for stat in ("median", "q25", "q75"):
            r = ard[keys.km("TTDE", stat, arm)]
            assert [close(a, b, 1e-9) for a, b in zip((r.value, r.lower, r.upper), ref[stat])] == [True] * 3, \
                (arm, stat)
        for t, n in ref["at_risk"].items():
            assert ard[keys.risk("TTDE", "at_risk", arm, float(t))].value == n, (arm, t)
        fu = ard[keys.followup("TTDE", arm)]
        assert [close(a, b, 1e-9) for a, b in zip((fu.value, fu.lower, fu.upper), ref["followup_reverse_km"])] \
            == [True] * 3


def test_cox_and_logrank_equal_r(ard) -> None:
    for arm in ARMS[1:]:
        hr, ref = ard[keys.model("TTDE", "cox", "hr", arm)], R["tte"]["cox"][arm]
        assert close(hr.value, ref["hr"], 1e-7) and close(hr.lower, ref["lower"], 1e-7)
        assert close(hr.upper, ref["upper"], 1e-7) and hr.reference == "Placebo"
        assert close(ard[keys.model("TTDE", "cox", "p", arm)].value, ref["p"], 1e-5)
        lr = R["tte"]["logrank"][arm]
        assert close(ard[keys.test("TTDE", "logrank", "chisq", arm)].value, lr["chisq"], 1e-7)
        assert close(ard[keys.test("TTDE", "logrank", "p", arm)].value, lr["p"], 1e-5)
    overall = R["tte"]["logrank_overall"]
    assert close(ard[keys.test("TTDE", "logrank", "chisq")].value, overall["chisq"], 1e-7)


def test_baseline_age_equals_r_and_plain_pandas(ard) -> None:
    records = json.loads((DATA / "adsl.json").read_text())
    names = [c["name"] for c in records["columns"]]
    adsl = pd.DataFrame(records["rows"], columns=names)
    itt = adsl[adsl["ITTFL"] == "Y"]
    for arm in ARMS:
        ref = R["age"][arm]
        ages = itt.loc[itt["TRT01P"] == arm, "AGE"].astype(float)
        assert len(ages) == ref["n"]
        for stat, plain in (("mean", ages.mean()), ("sd", ages.std()), ("median", ages.median()),
                            ("min", ages.min()), ("max", ages.max())):
            ours = ard[keys.baseline("AGE", stat, arm)].value
            assert close(ours, ref[stat], 1e-9) and close(ours, float(plain), 1e-9), (arm, stat)


def test_the_rendered_report_says_what_the_data_show(tmp_path: Path) -> None:
    from trialpress.pipeline import render

    version = render(PLAN, report_root=tmp_path / "out", formats=["html"], report_date="2026-01-01").folder
    qmd = (version / "report.qmd").read_text()
    text = " ".join(qmd.split())
    results = text[text.index("**Results**"):text.index("## Methods")]
    # a safety endpoint: the time each xanomeline dose makes shorter (HR > 1, R's 4.15 and 5.03), in the HR's
    # order, not a result "favoring placebo"
    assert "Time to first dermatologic event was shorter with Xanomeline Low Dose than with placebo (" in results
    assert "Time to first dermatologic event was shorter with Xanomeline High Dose than with placebo (" in results
    assert "favored" not in results
    words = re.sub(r"`</?a[^`]*>`\{=html\}", "", results)      # the numbers' links to their ARD rows
    assert r"median 33\.0 days vs. not reached" in words and R["tte"]["arms"]["Xanomeline Low Dose"]["median"][0] == 33
    assert "a number written as the text NA is a missing value" in text
    drawn = (version / "figures" / "km-ttde.svg").read_text()
    assert "Free of dermatologic event (%)" in drawn and "Time to first dermatologic event (%)" not in drawn


# ------------------------------------------------------------------------ the same study in Dataset-JSON 1.0
def test_dataset_json_1_0_reads_to_the_same_values() -> None:
    old, new = read_dataset(LZZT / "ADTTE.json"), read_dataset(DATA / "adtte.json")
    assert old.attrs["dataset_json_version"] == "1.0" and new.attrs["dataset_json_version"] == "1.1.0"
    assert list(old.columns) == list(new.columns) and "ITEMGROUPDATASEQ" not in old.attrs["all_columns"]
    for col in new.columns:
        a, b = old[col], new[col]
        if pd.api.types.is_datetime64_any_dtype(b):   # 1.0 keeps SAS day numbers without a date format
            a = pd.Timestamp("1960-01-01") + pd.to_timedelta(a, unit="D")
        same = np.array_equal(a.to_numpy(dtype=float), b.to_numpy(dtype=float), equal_nan=True) \
            if b.dtype == float else a.tolist() == b.tolist()
        assert same, col


def test_dataset_json_1_0_gives_the_same_ard(tmp_path: Path) -> None:
    ours, data = ard_rows(plan_on(PLAN, LZZT, tmp_path))
    assert data.files["ADSL"].name == "ADSL.json" and data.na_files == ()   # 1.0 writes null, not "NA"
    theirs, written_by_r = ard_rows(PLAN)
    assert written_by_r.na_files and {fmt for _, fmt in written_by_r.na_files} == {"dataset-json"}
    assert set(theirs) - set(ours) == {keys.na_missing(f).id for f, _ in written_by_r.na_files}
    assert set(ours) < set(theirs)
    assert differing(ours, theirs) == []


def test_the_copy_equals_an_independent_copy_of_the_study() -> None:
    """Provenance: adsl.json agrees with rtflite's copy of the PHUSE pilot ADSL (data/cdiscpilot01) on every
    shared variable but one value, BMIBLGR1 of the subject without a baseline BMI (blank here; '<25' there,
    as SAS compares a missing value below every number)."""
    ours = read_dataset(DATA / "adsl.json").set_index("USUBJID")
    theirs = pd.read_parquet(ROOT / "data" / "cdiscpilot01" / "adsl.parquet").set_index("USUBJID").loc[ours.index]
    shared = sorted(set(ours.columns) & set(theirs.columns))
    assert len(shared) == 45
    differ = {}
    for col in shared:
        a, b = ours[col], theirs[col]
        if a.dtype == float:
            bad = ~np.isclose(a.to_numpy(), pd.to_numeric(b).to_numpy(dtype=float), rtol=1e-12, equal_nan=True)
        elif pd.api.types.is_datetime64_any_dtype(a):
            bad = ~((a == pd.to_datetime(b)) | (a.isna() & pd.to_datetime(b).isna())).to_numpy()
        else:
            bad = (a.fillna("").astype(str).str.strip() != b.astype(object).fillna("").astype(str).str.strip()).to_numpy()
        if bad.any():
            differ[col] = {i: (ours.at[i, col], theirs.at[i, col]) for i in ours.index[bad]}
    assert differ == {"BMIBLGR1": {"01-702-1082": ("", "<25")}}
    assert np.isnan(ours.at["01-702-1082", "BMIBL"]) and np.isnan(ours.at["01-702-1082", "WEIGHTBL"])


def test_init_offers_baseline_variables_under_the_files_labels(tmp_path: Path) -> None:
    text = init(DATA, tmp_path / "p.yml").read_text()
    assert '# - {variable: BMIBL, label: "Baseline BMI (kg/m^2)", kind: continuous}' in text
    assert '# - {variable: WEIGHTBL, label: "Baseline Weight (kg)", kind: continuous}' in text


def test_the_methods_describe_a_safety_time_without_a_favored_group(tmp_path: Path) -> None:
    """The pilot's only comparison is a safety time to event: the methods say how it is described (longer or
    shorter, in the HR's order) and claim no 'group it favors' for it."""
    from trialpress.report.methods import _decisions

    (text,) = _decisions(load_plan(PLAN).plan, "95%")
    assert "names the group it favors" not in text
    assert "For time to first dermatologic event, a safety endpoint, the text states whether the time was longer " \
           "or shorter" in text

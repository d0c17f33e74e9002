"""An ADSL that also holds screen failures, as many sponsors' packages do: subjects who were never randomised,
with their treatment variables blank (or 'Screen Failure'), every population flag 'N' and no endpoint records.

Built from a real package (the R Submission Pilot 5's adsl.json and adtte.json, data/rconsortium-pilot5) with
30 such subjects added and written as SAS XPT. They are outside every population, so nothing the report states
may change: `init` writes the plan it writes for the package without them (before, it called the endpoint an
analysis of "patients with a TTDE record", as if part of the population lacked one), the gate passes, and the
analysis results equal those of the package without them, row for row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from trialpress.data.readers import read_dataset, variable_labels
from trialpress.plan import load_plan
from trialpress.quality.gate import run_gate
from trialpress.pipeline import _load
from trialpress.scaffold import init

from public_packages import ard_rows, differing, plan_on

ROOT = Path(__file__).resolve().parents[1]
PILOT5 = ROOT / "data" / "rconsortium-pilot5"
PLAN = ROOT / "analysis" / "rconsortium-pilot5.yml"
NEVER_TREATED = ("TRT01PN", "TRT01AN", "TRTDURD", "AVGDD", "CUMDOSE", "TRTSDT", "TRTEDT")
FLAGS = ("SAFFL", "ITTFL", "EFFFL", "COMP8FL", "COMP16FL", "COMP24FL")


def _with_screen_failures(folder: Path, treatment: str) -> Path:
    adsl = read_dataset(PILOT5 / "adsl.json")
    adtte = read_dataset(PILOT5 / "adtte.json")
    failures = adsl.sample(30, random_state=3).copy()
    failures["USUBJID"] = [f"01-999-{1000 + i}" for i in range(30)]
    failures["SUBJID"] = [str(1000 + i) for i in range(30)]
    failures["ARM"] = "Screen Failure"
    failures["TRT01P"], failures["TRT01A"] = treatment, ""
    for col in NEVER_TREATED:
        failures[col] = pd.NaT if col.endswith("DT") else np.nan
    for col in FLAGS:
        failures[col] = "N"
    failures[["EOSSTT", "DCDECOD"]] = ("DISCONTINUED", "SCREEN FAILURE")
    folder.mkdir(parents=True)
    both = pd.concat([adsl, failures], ignore_index=True).sort_values("USUBJID", kind="stable")
    for name, frame in (("adsl", both), ("adtte", adtte)):
        labels = variable_labels(PILOT5 / f"{name}.json")
        pyreadstat.write_xport(frame, folder / f"{name}.xpt", table_name=name.upper(), file_format_version=5,
                               column_labels=[labels.get(c, "") for c in frame.columns])
    return folder


@pytest.fixture(scope="module", params=["", "Screen Failure"], ids=["blank", "named"])
def package(request, tmp_path_factory) -> Path:
    return _with_screen_failures(tmp_path_factory.mktemp("sf") / PILOT5.name, request.param)


def test_init_writes_the_plan_of_the_package_without_them(package: Path, tmp_path: Path) -> None:
    ours = init(package, tmp_path / "with.yml").read_text()
    theirs = init(PILOT5, tmp_path / "without.yml").read_text()
    assert "subset" not in ours                       # every subject of SAF has a TTDE record
    plan = load_plan(tmp_path / "with.yml").plan
    assert [lv.value for lv in plan.groups.levels] == ["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"]
    def kept(text: str) -> list[str]:     # all but where the data are and the line naming the left-out group
        return [ln for ln in text.splitlines() if "folder:" not in ln and "trialpress init" not in ln
                and "# left out:" not in ln]

    assert kept(ours) == kept(theirs)


def test_init_still_sees_an_endpoint_recorded_for_part_of_its_population(package: Path, tmp_path: Path) -> None:
    adtte = read_dataset(package / "adtte.xpt")
    part = tmp_path / "part"
    part.mkdir()
    (part / "adsl.xpt").write_bytes((package / "adsl.xpt").read_bytes())
    kept = adtte[adtte["USUBJID"].isin(sorted(adtte["USUBJID"].unique())[:200])]     # 200 of SAF's 254
    pyreadstat.write_xport(kept, part / "adtte.xpt", table_name="ADTTE", file_format_version=5)
    assert 'subset: {label: "patients with a TTDE record"}' in init(part, tmp_path / "p.yml").read_text()


def test_the_gate_passes_and_every_analysis_result_is_unchanged(package: Path, tmp_path: Path) -> None:
    plan = plan_on(PLAN, package, tmp_path)
    lplan = load_plan(plan)
    report = run_gate(lplan.plan, _load(lplan), parallel=False)
    assert report.errors == [] and report.warnings == [], [(r.id, r.examples[:2]) for r in report.errors]
    ours, _ = ard_rows(plan)
    theirs, _ = ard_rows(PLAN)
    # the study-level rows say how the files were read (adsl.json's "NA" note has no XPT counterpart)
    def analysed(rows: dict) -> set[str]:
        return {k for k in rows if not k.startswith("STUDY.study.")}

    assert analysed(ours) == analysed(theirs) and len(analysed(ours)) > 100
    assert [k for k in differing(ours, theirs) if k in analysed(ours)] == []

"""A package exported to CSV by SAS carries its dates as DATE9. text (22FEB2019), by R or Python as ISO text.
`init` reads them with the data layer's date parser, as the loader does: time zero is found from STARTDT either
way, with no parser warning on the user's screen (before, pandas guessed at DATE9. text value by value and
printed a UserWarning), and the analysis equals that of the package the CSV was written from."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from trialpress.data.readers import read_dataset
from trialpress.plan import load_plan
from trialpress.scaffold import init

from public_packages import ard_rows, differing, plan_on

ROOT = Path(__file__).resolve().parents[1]
PILOT5 = ROOT / "data" / "rconsortium-pilot5"
PLAN = ROOT / "analysis" / "rconsortium-pilot5.yml"
FORMS = {"date9": lambda s: s.dt.strftime("%d%b%Y").str.upper(), "iso": lambda s: s.dt.strftime("%Y-%m-%d")}


@pytest.fixture(scope="module", params=sorted(FORMS))
def package(request, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp(request.param) / PILOT5.name
    folder.mkdir()
    for name in ("adsl", "adtte"):
        frame = read_dataset(PILOT5 / f"{name}.json")
        for col in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[col]):
                frame[col] = FORMS[request.param](frame[col])
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def test_init_finds_time_zero_from_text_dates_without_warnings(package: Path, tmp_path: Path) -> None:
    text = (package / "adtte.csv").read_text()
    assert "STARTDT" in text.splitlines()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan = load_plan(init(package, tmp_path / "p.yml")).plan
    (ttde,) = plan.time_to_event
    assert ttde.origin == "first dose"


def test_the_analysis_equals_the_packages(package: Path, tmp_path: Path) -> None:
    ours, _ = ard_rows(plan_on(PLAN, package, tmp_path))
    theirs, _ = ard_rows(PLAN)
    analysed = {k for k in theirs if not k.startswith("STUDY.study.")}
    assert analysed <= ours.keys() and len(analysed) > 100
    assert [k for k in differing(ours, theirs) if k in analysed] == []

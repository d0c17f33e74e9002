"""Issue 20.5: many plans as independent tasks (`trialpress render-all`), one summary of versions and failures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from trialpress import many
from trialpress.cli import main
from trialpress.errors import ExitCode

from conftest import ROOT

PLANS = [ROOT / "analysis" / "blinatumomab-salvage.yml", ROOT / "analysis" / "velotrepin-copd.yml"]
DATE = "2026-01-01"


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("many") / "report"


@pytest.mark.slow
def test_two_plans_in_a_process_pool(reports: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["render-all", *map(str, PLANS), "--out", str(reports), "--format", "html", "--date", DATE,
                 "--workers", "2", "--quiet"])
    out = capsys.readouterr().out
    assert code == ExitCode.OK, out
    assert "2 of 2 plan(s) rendered or up to date, 0 failed." in out and "Traceback" not in out
    for study in ("blinatumomab-salvage", "velotrepin-copd"):
        (folder,) = (reports / study).iterdir()
        assert (folder / "report.html").is_file() and (folder / "manifest.json").is_file()
        assert folder.name in out and str(folder) in out.replace("\n", "")


@pytest.mark.slow
def test_a_failing_plan_is_in_the_summary_and_sets_the_exit_status(reports: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "analysis" / "broken.yml"
    broken.parent.mkdir()
    broken.write_text("study: {id: x}\nnot_a_key: 1\n")
    (tmp_path / "_quarto.yml").write_text("project: {type: default}\n")
    outcomes = many.render_many([PLANS[0], broken], report_root=reports, formats=["html"], report_date=DATE)
    assert [o.code for o in outcomes] == [0, int(ExitCode.PLAN)]
    assert not outcomes[0].created and outcomes[0].version          # up to date from the test before
    assert outcomes[1].error.startswith("Analysis plan error") and outcomes[1].plan == str(broken)
    code = main(["render-all", str(PLANS[0]), str(broken), "--out", str(reports), "--format", "html",
                 "--date", DATE, "--quiet"])
    out = capsys.readouterr().out
    assert code == ExitCode.PLAN and "1 of 2 plan(s) rendered or up to date, 1 failed." in out
    assert "broken.yml" in out and "Traceback" not in out


def test_a_missing_plan_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render-all", "analysis/no-such-plan.yml"]) == ExitCode.USAGE
    assert "No plan file" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("dask") is not None, reason="dask is installed here")
def test_a_scheduler_without_dask_says_what_to_install(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render-all", str(PLANS[0]), "--scheduler", "tcp://127.0.0.1:1", "--quiet"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "dask[distributed]" in err and "Traceback" not in err

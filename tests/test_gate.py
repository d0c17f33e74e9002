"""A failing quality check stops the run: nothing is analysed or rendered, earlier versions stay."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from trialpress.cli import main
from trialpress.errors import ExitCode, QualityGateError
from trialpress.pipeline import render


def _corrupt(project: Path, dataset: str, change) -> None:  # type: ignore[no-untyped-def]
    path = project / "data" / "blinatumomab-salvage" / f"{dataset}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(frame)
    frame.to_csv(path, index=False)


def test_negative_time_stops_the_render(project_copy: Path, tmp_path: Path) -> None:
    def negative(frame: pd.DataFrame) -> None:
        frame.loc[3, "AVAL"] = "-1.5"

    _corrupt(project_copy, "adtte", negative)
    out = tmp_path / "report"
    with pytest.raises(QualityGateError) as err:
        render(project_copy / "analysis" / "blinatumomab-salvage.yml", report_root=out)
    report = err.value.report
    failed = {r.id: r for r in report.errors}  # type: ignore[attr-defined]
    assert "ADTTE.AVAL.non_negative" in failed
    assert failed["ADTTE.AVAL.non_negative"].examples[0]["value"] == -1.5
    study = out / "blinatumomab-salvage"
    assert [p.name for p in study.iterdir()] == ["_failed"], "no version folder may be created"
    (failed,) = (study / "_failed").iterdir()
    assert (failed / "quality.json").is_file() and (failed / "quality.html").is_file()


def test_unknown_subject_and_duplicate_id_exit_with_data_code(project_copy: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    def orphan(frame: pd.DataFrame) -> None:
        frame.loc[0, "USUBJID"] = "NOT-IN-ADSL"

    _corrupt(project_copy, "adtte", orphan)
    code = main(["render", str(project_copy / "analysis" / "blinatumomab-salvage.yml"), "--quiet",
                 "--out", str(project_copy / "report")])
    assert code == ExitCode.DATA
    err = capsys.readouterr().err
    assert "NOT-IN-ADSL" in err and "ADTTE" in err
    assert "Traceback" not in err


def test_background_gate_falls_back_inline_when_the_child_fails(monkeypatch) -> None:
    """If the forked gate dies, its verdict is not lost: the gate runs again in this process."""
    import os

    from trialpress.data.loading import load_study
    from trialpress.plan import load_plan
    from trialpress.quality import background

    from conftest import FLAGSHIP

    lp = load_plan(FLAGSHIP)
    data = load_study(lp)
    parent, real = os.getpid(), background.run_gate

    def only_here(*args, **kwargs):   # type: ignore[no-untyped-def]
        if os.getpid() != parent:
            raise RuntimeError("child crashed")
        return real(*args, **kwargs)

    monkeypatch.setattr(background, "run_gate", only_here)
    report = background.GateJob(lp.plan, data).wait()
    assert report.passed and len(report.results) > 50

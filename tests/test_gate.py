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


def _flagship_data():   # type: ignore[no-untyped-def]
    from trialpress.data.loading import load_study
    from trialpress.plan import load_plan

    from conftest import FLAGSHIP

    lp = load_plan(FLAGSHIP)
    return lp, load_study(lp)


def _gone(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="the early gate needs fork")
def test_early_gate_runs_in_its_child_on_the_data_sent(monkeypatch) -> None:   # type: ignore[no-untyped-def]
    """The early child gets the loaded frames through the pipe and gives the verdict the gate gives here."""
    import os

    from trialpress.quality import background
    from trialpress.quality.gate import run_gate

    lp, data = _flagship_data()
    inline = run_gate(lp.plan, data, parallel=False)
    parent, real = os.getpid(), background.run_gate

    def only_in_child(*args, **kwargs):   # type: ignore[no-untyped-def]
        if os.getpid() == parent:
            raise AssertionError("the gate ran in the parent")
        return real(*args, **kwargs)

    monkeypatch.setattr(background, "run_gate", only_in_child)
    job = background.GateJob.early(lp.plan)
    assert job is not None and job.send(data)
    report = job.wait(timeout=300)
    job.close()
    assert report.results == inline.results and report.files == inline.files
    assert report.passed and len(report.results) > 50


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="the early gate needs fork")
def test_early_gate_stops_for_large_data_and_when_not_needed(monkeypatch) -> None:   # type: ignore[no-untyped-def]
    from trialpress.quality import background

    lp, data = _flagship_data()
    monkeypatch.setattr(background, "EARLY_MAX_BYTES", 1000)   # the flagship's frames are ~1 MB
    job = background.GateJob.early(lp.plan)
    assert job is not None and job._pid is not None
    pid = job._pid
    assert job.send(data) is False and _gone(pid)   # the caller forks a child that shares the frames instead
    unused = background.GateJob.early(lp.plan)      # e.g. loading failed: never sent, closed without a hang
    assert unused is not None and unused._pid is not None
    pid = unused._pid
    unused.close()
    assert _gone(pid)


def test_a_load_failure_stops_the_early_gate(monkeypatch) -> None:   # type: ignore[no-untyped-def]
    from trialpress import pipeline
    from trialpress.errors import DataError
    from trialpress.quality import background

    lp, _ = _flagship_data()
    started: list[background.GateJob] = []
    real_early = background.GateJob.early

    def recorded(plan):   # type: ignore[no-untyped-def]
        job = real_early(plan)
        started.append(job)
        return job

    def broken(_lplan):   # type: ignore[no-untyped-def]
        raise DataError("unreadable")

    monkeypatch.setattr(background.GateJob, "early", staticmethod(recorded))
    monkeypatch.setattr(pipeline, "_load", broken)
    with pytest.raises(DataError, match="unreadable"):
        pipeline._load_early_gate(lp, pipeline.Progress(enabled=False))
    if hasattr(__import__("os"), "fork"):
        job = started[0]
        assert len(started) == 1 and job._pid is not None and _gone(job._pid) and job._data_fd is None


def test_early_gate_only_for_data_files_small_enough(tmp_path: Path) -> None:
    from trialpress.quality import background

    small, big, packed = tmp_path / "adsl.csv", tmp_path / "adae.xpt", tmp_path / "adae.parquet"
    small.write_bytes(b"x" * 1000)
    with open(big, "wb") as f:
        f.truncate(background.EARLY_MAX_FILE_BYTES + 1)
    with open(packed, "wb") as f:
        f.truncate(background.EARLY_MAX_FILE_BYTES // background.PARQUET_EXPANSION + 1)
    assert background.small_enough_to_send([small])
    assert not background.small_enough_to_send([small, big])
    assert not background.small_enough_to_send([packed])          # its frames would be ~16 times the file
    assert not background.small_enough_to_send([tmp_path / "missing.csv"])

"""Issue 15, "artefacts that cannot lie": each behaviour fails on the old code and passes now.

Every command-line case asserts the exit status, one readable message and no traceback. Renders are
shared (module fixture): one cold HTML-only render, then HTML + PDF and a new date, which reuse its work.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

from trialpress import pipeline, versions
from trialpress.cli import main
from trialpress.errors import ArtefactError, ExitCode, QualityGateError
from trialpress.store.folders import MANIFEST
from trialpress.store.staging import StagingArea

from conftest import ROOT

STUDY = "blinatumomab-salvage"
DATE, DATE2 = "2026-01-01", "2026-02-01"


def _copy_project(dst: Path) -> Path:
    dst.mkdir(parents=True)
    shutil.copy(ROOT / "_quarto.yml", dst / "_quarto.yml")
    for folder in ("analysis", "data", "templates"):
        shutil.copytree(ROOT / folder, dst / folder)
    return dst


def _plan(project: Path) -> Path:
    return project / "analysis" / f"{STUDY}.yml"


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text
    return out.err


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_project(tmp_path_factory.mktemp("lie") / "project")


@pytest.fixture(scope="module")
def renders(project: Path) -> dict[str, pipeline.RenderOutcome]:
    plan = _plan(project)
    html = pipeline.render(plan, formats=["html"], report_date=DATE)
    both = pipeline.render(plan, report_date=DATE)
    later = pipeline.render(plan, report_date=DATE2)
    return {"html": html, "both": both, "later": later}


# --- the version id covers formats, report date, figure style ---------------------------------------

@pytest.mark.slow
def test_a_new_format_is_a_new_version_with_its_file(renders: dict[str, pipeline.RenderOutcome]) -> None:
    html, both = renders["html"], renders["both"]
    assert html.created and both.created and html.version != both.version
    assert not (html.folder / "report.pdf").exists() and (both.folder / "report.pdf").is_file()
    assert json.loads((both.folder / MANIFEST).read_text())["formats"] == ["html", "pdf"]
    assert "analysis" in both.reused and "figures" in both.reused      # only the document was redone


@pytest.mark.slow
def test_a_new_report_date_is_a_new_version_with_that_date(renders: dict[str, pipeline.RenderOutcome]) -> None:
    both, later = renders["both"], renders["later"]
    assert later.created and later.version != both.version
    m = json.loads((later.folder / MANIFEST).read_text())
    assert m["report_date"] == DATE2 and re.search(r"2026\W+02\W+01", (later.folder / "report.qmd").read_text())


@pytest.mark.slow
def test_the_same_inputs_are_up_to_date(renders: dict[str, pipeline.RenderOutcome], project: Path) -> None:
    again = pipeline.render(_plan(project), report_date=DATE2)
    assert not again.created and again.folder == renders["later"].folder


def test_version_id_covers_formats_date_and_figure_style() -> None:
    from trialpress.store.hashing import Inputs

    base = Inputs({"plan:p.yml": {"sha256": "0" * 64, "size": 1}}, {"python": "3"}, {"pandoc": "1"},
                  formats=("html", "pdf"), report_date=DATE, style={"fonts": {"DejaVu Sans normal": "a"}})
    variants = [Inputs(base.files, base.packages, base.renderer, formats=("html",), report_date=DATE, style=base.style),
                Inputs(base.files, base.packages, base.renderer, formats=base.formats, report_date=DATE2,
                       style=base.style),
                Inputs(base.files, base.packages, base.renderer, formats=base.formats, report_date=DATE,
                       style={"fonts": {"DejaVu Sans normal": "b"}})]
    assert len({base.version_id, *(v.version_id for v in variants)}) == 4


def test_style_families_are_the_figures_families() -> None:
    from trialpress.report.figures import RC
    from trialpress.store.style import FAMILIES, figure_style

    family = RC["font.family"]
    assert list(FAMILIES) == ([family] if isinstance(family, str) else list(family))
    style = figure_style()
    assert all(v.endswith(tuple("0123456789abcdef")) and "/" not in v for v in style["fonts"].values())


# --- --date ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("date", ["2024-13-45", "2024-02-30", "2024-1-5", "tomorrow", "20240105"])
def test_a_date_that_is_not_an_iso_date_is_a_usage_error(date: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["render", str(_plan(ROOT)), "--date", date, "--quiet", "--out", "/nonexistent/never"])
    assert code == ExitCode.USAGE
    err = _err(capsys)
    assert err.count("Usage error") == 1 and date in err and "YYYY-MM-DD" in err


# --- an occupied version path ------------------------------------------------------------------------

@pytest.fixture()
def version_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(report root, the path the flagship's next version would take there; the inputs are hashed once)."""
    setup = pipeline.prepare(_plan(ROOT), report_date=DATE)
    monkeypatch.setattr(pipeline, "prepare", lambda *a, **k: setup)
    root = tmp_path / "reports"
    return root, root / STUDY / setup.version


@pytest.mark.parametrize("what", ["file", "half-copied", "empty"])
def test_an_occupied_version_path_is_an_artefact_error(what: str, version_path: tuple[Path, Path],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    root, path = version_path
    path.parent.mkdir(parents=True)
    if what == "file":
        path.write_text("not a version")
    else:
        path.mkdir()
        if what == "half-copied":
            (path / "report.html").write_text("<html>half")
    before = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    code = main(["render", str(_plan(ROOT)), "--out", str(root), "--date", DATE, "--quiet"])
    assert code == ExitCode.ARTEFACT
    err = _err(capsys)
    assert err.count("Artefact error") == 1 and str(path) in err.replace("\n", "") and "What to do" in err
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == before    # nothing written


def test_publishing_never_replaces_what_appeared_at_the_version_path(tmp_path: Path) -> None:
    final = tmp_path / STUDY / "abc"
    with pytest.raises(ArtefactError) as info:
        with StagingArea(final) as stage:
            (stage / "report.html").write_text("new")
            final.mkdir()                     # an empty folder appears meanwhile: rename would replace it
    assert "occupied" in info.value.message and final.is_dir() and not any(final.iterdir())
    assert [p.name for p in final.parent.iterdir()] == ["abc"]


# --- analyze --out -----------------------------------------------------------------------------------

def _fake_version(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "ard.csv").write_text("immutable\n")
    (folder / MANIFEST).write_text(json.dumps({"study": STUDY, "version": folder.name, "artefacts": {}}))
    return folder


@pytest.mark.parametrize("where", ["the version", "below it", "below report/<study>/<version>"])
def test_analyze_refuses_to_write_into_a_version_folder(where: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    project = _copy_project(tmp_path / "p")
    version = _fake_version(project / "report" / STUDY / "0123456789ab")
    out = {"the version": version, "below it": version / "sub",
           "below report/<study>/<version>": project / "report" / STUDY / "fedcba987654"}[where]
    code = main(["analyze", str(_plan(project)), "--out", str(out), "--quiet"])
    assert code == ExitCode.ARTEFACT
    err = _err(capsys)
    assert err.count("Artefact error") == 1 and "immutable" in err
    assert (version / "ard.csv").read_text() == "immutable\n" and not (version / "ard.json").exists()


def test_analyze_onto_a_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "ard.csv"
    target.write_text("keep")
    code = main(["analyze", str(_plan(ROOT)), "--out", str(target), "--quiet"])
    assert code == ExitCode.USAGE
    err = _err(capsys)
    assert err.count("Usage error") == 1 and "is a file" in err and target.read_text() == "keep"


# --- verify checks the project it runs in --------------------------------------------------------------

@pytest.mark.slow
def test_verify_in_a_copied_project_checks_the_copy(renders: dict[str, pipeline.RenderOutcome], project: Path,
                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    adtte = copy / "data" / STUDY / "adtte.csv"
    version = copy / "report" / STUDY / renders["later"].version
    monkeypatch.chdir(copy)
    assert main(["verify", str(version), "--no-recompute"]) == ExitCode.OK
    assert str(copy) in capsys.readouterr().out.replace("\n", "")
    with adtte.open("a") as fh:                                          # the copy's data change, not the original's
        fh.write(adtte.read_text().splitlines()[-1] + "\n")
    code = main(["verify", str(version), "--no-recompute"])
    out = capsys.readouterr().out
    assert code == ExitCode.ARTEFACT and f"data:data/{STUDY}/adtte.csv" in out and "Traceback" not in out
    monkeypatch.chdir(project)                                            # the original is untouched: it matches
    assert main(["verify", str(project / "report" / STUDY / renders["later"].version), "--no-recompute"]) == 0


# --- damaged manifests ---------------------------------------------------------------------------------

DAMAGE = {
    "not JSON": "{not json",
    "not an object": "[1, 2]",
    "artefacts not an object": json.dumps({"study": STUDY, "version": "x", "artefacts": ["report.html"]}),
    "artefact without hash": json.dumps({"study": STUDY, "version": "x", "artefacts": {"report.html": {"size": 1}}}),
    "inputs without hash": json.dumps({"study": STUDY, "version": "x", "artefacts": {},
                                       "inputs": {"data:a.csv": "abc"}}),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_manifest_is_listed_as_damaged_and_verify_says_why(damage: str, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "reports"
    folder = root / STUDY / "0123456789ab"
    folder.mkdir(parents=True)
    (folder / "report.html").write_text("<html>")
    (folder / MANIFEST).write_text(DAMAGE[damage])
    assert main(["list", "--reports", str(root)]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "Traceback" not in out and out.count("0123456789ab") == 1 and "damaged: " in out
    rows = versions.list_versions(root)
    assert len(rows) == 1 and rows[0].integrity.startswith("damaged: ")
    code = main(["verify", str(folder)])
    err = _err(capsys)
    assert code == ExitCode.ARTEFACT and err.count("Artefact error") == 1 and "damaged" in err


def test_a_version_folder_without_its_manifest_is_listed_as_damaged(tmp_path: Path) -> None:
    folder = tmp_path / STUDY / "0123456789ab"
    folder.mkdir(parents=True)
    (folder / "report.html").write_text("<html>")
    (rows,) = [versions.list_versions(tmp_path)]
    assert [r.integrity for r in rows] == [f"damaged: no {MANIFEST} (half-copied, or not a version)"]


# --- the gate's failure report cannot be written ------------------------------------------------------

def _corrupt(project: Path) -> None:
    adtte = project / "data" / STUDY / "adtte.csv"
    lines = adtte.read_text().splitlines()
    head = lines[0].split(",")
    row = lines[1].split(",")
    row[head.index("AVAL")] = "-1.5"
    lines[1] = ",".join(row)
    adtte.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def bad_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = _copy_project(tmp_path_factory.mktemp("bad") / "project")
    _corrupt(project)
    return project


@pytest.mark.parametrize("how", ["a file where the folder goes", "disk full"])
def test_an_unwritable_failure_report_keeps_the_findings(how: str, bad_project: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    study = bad_project / "report" / STUDY
    shutil.rmtree(bad_project / "report", ignore_errors=True)
    if how == "disk full":
        from trialpress.report import quality_view

        def full(*_: object) -> Path:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(study / "_failed"))

        monkeypatch.setattr(quality_view, "write_failure_folder", full)
    else:
        study.mkdir(parents=True)
        (study / "_failed").write_text("in the way")
    code = main(["check", str(_plan(bad_project)), "--quiet"])
    assert code == ExitCode.DATA
    err = _err(capsys)
    assert "ADTTE.AVAL.non_negative" in err                                    # the findings first
    assert "could not be written" in err and ("disk is full" if how == "disk full" else "file") in err
    assert err.index("ADTTE.AVAL.non_negative") < err.index("could not be written")


def test_failure_report_records_why_it_could_not_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    exc = QualityGateError("failed", report=type("R", (), {"to_json": lambda self: "{}", "results": [],
                                                           "files": {}, "summary": lambda self: {}})())
    pipeline.failure_report(exc, blocker / "_failed" / "v")
    assert exc.folder is None and "not a folder" in exc.folder_error  # type: ignore[attr-defined]


# --- terminal output ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_list_is_readable_in_80_columns(renders: dict[str, pipeline.RenderOutcome], project: Path,
                                        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["list", "--reports", str(project / "report")]) == ExitCode.OK
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(len(line) <= 80 for line in lines)
    assert sum(1 for line in lines if len(line.strip()) == 1) == 0            # no one-character lines
    for outcome in renders.values():
        assert any(line.startswith(outcome.version) and "intact" in line for line in lines)


def test_control_characters_in_messages_are_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "abc\x1b[31mred\x07"])
    assert code == ExitCode.USAGE
    err = _err(capsys)
    assert "\x1b" not in err and "\x07" not in err and "\\x1b" in err and err.count("Usage error") == 1


# --- the gate's time budget and fork safety -----------------------------------------------------------

def test_the_gate_is_not_forked_while_threads_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from trialpress.quality import background, gate

    def no_fork(*_: object, **__: object) -> None:
        raise AssertionError("forked from a threaded process")

    monkeypatch.setattr(background, "GateJob", no_fork)
    calls: list[bool] = []
    monkeypatch.setattr(gate, "run_gate", lambda plan, data, parallel=None: calls.append(parallel) or
                        type("G", (), {"passed": True, "errors": []})())
    monkeypatch.setattr(gate, "enforce", lambda report: None)
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait, daemon=True)
    worker.start()
    try:
        result, _ = pipeline._beside_gate(None, None, lambda: "work", pipeline.Progress(enabled=False))  # type: ignore[arg-type]
    finally:
        stop.set()
        worker.join()
    assert result == "work" and calls == [False]                 # inline, and not forking inside either


def test_a_gate_over_its_time_budget_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real GateJob, forked, with a gate that hangs: the render's wait gives up after the budget of
    TRIALPRESS_GATE_TIMEOUT, says so, and the child is killed and reaped (never left running)."""
    import os
    import time

    from trialpress.errors import DataError
    from trialpress.quality import background

    if not hasattr(os, "fork"):
        pytest.skip("GateJob runs the gate inline without fork")
    jobs: list[background.GateJob] = []

    class Recorded(background.GateJob):
        def _start(self, early: bool = False) -> None:
            super()._start(early)
            jobs.append(self)

    monkeypatch.setattr(background, "GateJob", Recorded)
    monkeypatch.setattr(background, "run_gate", lambda *_, **__: time.sleep(120))   # what the child runs
    monkeypatch.setattr(pipeline, "_fork_is_safe", lambda: True)
    monkeypatch.setenv(pipeline.GATE_BUDGET_ENV, "1")
    t0 = time.monotonic()
    with pytest.raises(DataError, match="did not finish within 1 s; it was stopped"):
        pipeline._beside_gate(None, None, lambda: "work", pipeline.Progress(enabled=False))  # type: ignore[arg-type]
    assert time.monotonic() - t0 < 30
    assert len(jobs) == 1 and jobs[0]._pid is not None
    with pytest.raises(ProcessLookupError):   # killed and reaped by the job's reader
        os.kill(jobs[0]._pid, 0)


def test_the_gate_budget_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pipeline.GATE_BUDGET_ENV, "12.5")
    assert pipeline.gate_budget() == 12.5
    monkeypatch.delenv(pipeline.GATE_BUDGET_ENV)
    assert pipeline.gate_budget() == pipeline.GATE_BUDGET_DEFAULT
    monkeypatch.setenv(pipeline.GATE_BUDGET_ENV, "soon")
    with pytest.raises(Exception, match="not a number of seconds"):
        pipeline.gate_budget()


def test_diff_html_is_never_written_into_a_version_folder(tmp_path: Path) -> None:
    from trialpress.versions.diff import DiffResult
    from trialpress.versions.page import write_diff_html

    version = _fake_version(tmp_path / STUDY / "0123456789ab")
    result = DiffResult(version, version, {}, {}, [], [], [], [], [], 0)
    with pytest.raises(ArtefactError, match="immutable"):
        write_diff_html(result, version / "diff.html")
    assert not (version / "diff.html").exists()


def test_render_refuses_a_report_folder_inside_a_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    version = _fake_version(tmp_path / "reports" / STUDY / "0123456789ab")
    code = main(["render", str(_plan(ROOT)), "--out", str(version / "nested"), "--date", DATE, "--quiet"])
    assert code == ExitCode.ARTEFACT
    err = _err(capsys)
    assert err.count("Artefact error") == 1 and "immutable" in err and not (version / "nested").exists()

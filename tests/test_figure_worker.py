"""Issue 20.4: a cold render draws its figures in a worker process, beside the document.

The worker runs the same drawing code, so its files are the bytes the report's own process draws; a worker
that cannot start, or fails, leaves the drawing to the report's process, with the same files. A cold render
from a process without matplotlib's drawing modules never imports them there, and gives the version an in-process render gives.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from trialpress import pipeline
from trialpress.report.context import ContextBuilder
from trialpress.report.figure_specs import plan_figures
from trialpress.report.figures.jobs import draw_all
from trialpress.report.figures.worker import FigureWorker
from trialpress.store.folders import MANIFEST

from conftest import ROOT

STUDY = "blinatumomab-salvage"
DATE = "2026-01-01"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def jobs_of() -> Any:
    from trialpress.plan import load_plan
    from trialpress.results.collect import analyse

    lplan = load_plan(ROOT / "analysis" / f"{STUDY}.yml")
    ard = analyse(lplan.plan, pipeline._load(lplan)).ard

    def make(folder: Path) -> list[Any]:
        folder.mkdir()
        _, jobs = plan_figures(lplan.plan, ContextBuilder(lplan.plan, ard), folder, raster=True)
        return jobs

    return make


def _drawn_by(worker: FigureWorker, jobs: list[Any]) -> float:
    with worker:
        worker.start()
        worker.submit(jobs)
        return worker.finish()


def test_the_worker_draws_the_bytes_this_process_draws(jobs_of: Any, tmp_path: Path) -> None:
    here = jobs_of(tmp_path / "here")
    draw_all(here)
    worker = FigureWorker()
    _drawn_by(worker, jobs_of(tmp_path / "worker"))
    assert worker.in_worker
    a, b = _files(tmp_path / "here"), _files(tmp_path / "worker")
    assert len(a) == 10 and sorted(a) == sorted(b)        # 5 figures, SVG and the PNG for Word and RTF
    assert all(a[name] == b[name] for name in a)


@pytest.mark.parametrize("command", [("/nonexistent/python",),
                                     (sys.executable, "-c", "import sys; sys.stdin.readline(); sys.exit(3)")],
                         ids=["cannot start", "fails"])
def test_without_a_working_worker_this_process_draws_the_same_files(jobs_of: Any, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    command: tuple[str, ...]) -> None:
    here = jobs_of(tmp_path / "here")
    draw_all(here)
    monkeypatch.setattr(FigureWorker, "command", command)
    worker = FigureWorker()
    _drawn_by(worker, jobs_of(tmp_path / "fallback"))
    assert not worker.in_worker
    assert _files(tmp_path / "here") == _files(tmp_path / "fallback")


def test_a_worker_never_given_jobs_is_stopped_with_the_render(tmp_path: Path) -> None:
    worker = FigureWorker()
    with worker:
        worker.start()
        proc = worker._proc
        assert proc is not None and proc.poll() is None
    assert proc.wait(timeout=10) is not None and worker._proc is None


@pytest.mark.slow
def test_a_cold_render_draws_beside_the_document_with_the_bytes_of_one_drawn_here(project_copy: Path,
                                                                                  tmp_path: Path) -> None:
    plan = project_copy / "analysis" / f"{STUDY}.yml"
    code = ("import json, sys; from pathlib import Path; from trialpress import pipeline; "
            f"o = pipeline.render(Path({str(plan)!r}), report_root=Path({str(tmp_path / 'beside')!r}), "
            f"report_date={DATE!r}, cache=False); "
            "print(json.dumps({'folder': str(o.folder), 'drawing': 'matplotlib.figure' in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=project_copy)
    beside = json.loads(out.stdout.strip().splitlines()[-1])
    assert beside["drawing"] is False       # the report's process never imported matplotlib's drawing modules

    import matplotlib.figure  # noqa: F401 - with matplotlib here, the render draws in this process

    here = pipeline.render(plan, report_root=tmp_path / "here", report_date=DATE, cache=False)
    assert Path(beside["folder"]).name == here.folder.name
    a, b = _files(Path(beside["folder"])), _files(here.folder)
    assert sorted(a) == sorted(b) and any(name.startswith("figures/") for name in a)
    assert [n for n in a if n != MANIFEST and a[n] != b[n]] == []
    ma, mb = json.loads(a[MANIFEST]), json.loads(b[MANIFEST])
    assert {k: v for k, v in ma.items() if k != "provenance"} == {k: v for k, v in mb.items() if k != "provenance"}


def test_the_engines_wait_for_the_figures_once_from_any_thread() -> None:
    """HTML and PDF are written side by side and each waits for the figures: the wait (drawing, caching)
    runs once, and a failure reaches every caller."""
    import threading

    calls: list[int] = []
    ready = pipeline._once(lambda: calls.append(1))
    threads = [threading.Thread(target=ready) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ready()
    assert calls == [1]

    def broken() -> None:
        calls.append(2)
        raise OSError("disk full")

    failing = pipeline._once(broken)
    for _ in range(2):
        with pytest.raises(OSError, match="disk full"):
            failing()
    assert calls == [1, 2]


def test_a_plan_with_no_figure_stops_the_worker_at_once(monkeypatch, tmp_path) -> None:
    """A safety study draws nothing: the worker that was importing matplotlib is stopped as soon as the plan
    is read, so the second core goes to the quality gate (the CDISC pilot: 3.00 → 2.66 s median)."""
    from conftest import ROOT

    from trialpress import pipeline
    from trialpress.report.figures import worker as worker_module

    closed_before_render = []
    real_render = pipeline._render

    def spy(setup, report_root, progress, cache, worker):  # type: ignore[no-untyped-def]
        closed_before_render.append(worker._proc is None)
        return real_render(setup, report_root, progress, cache, worker)

    monkeypatch.setattr(pipeline, "_render", spy)
    monkeypatch.setattr(pipeline, "_draw_beside", lambda: True)
    pipeline.render(ROOT / "analysis" / "cdiscpilot01.yml", report_root=tmp_path, formats=["html"],
                    report_date="2026-01-01", cache=False)
    assert closed_before_render == [True]
    assert pipeline._draws_figures(pipeline.load_plan(ROOT / "analysis" / "blinatumomab-salvage.yml").plan)
    assert worker_module.FigureWorker().finish() == 0.0   # nothing submitted: nothing to wait for

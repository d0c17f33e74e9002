"""Many plans as independent tasks: a local process pool, or an existing Dask cluster (`cluster`).

Each task is one `pipeline.render` of one plan; every error becomes part of its outcome, so one plan's
failure never hides the others' versions. The local pool spawns its workers (no fork of a process that may
hold threads); inside a worker the render forks its quality gate as usual, before starting any thread.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trialpress import pipeline


@dataclass(frozen=True)
class TaskOutcome:
    """One plan of `render_many`: its version, or why it failed."""

    plan: str
    study: str = ""
    version: str = ""
    folder: str = ""
    created: bool = False
    code: int = 0              # exit status of this plan alone (0: rendered or up to date)
    error: str = ""            # "<title>: <message>" when it failed
    seconds: float = 0.0


def render_task(plan: str, report_root: str | None, formats: list[str] | None, report_date: str | None,
                cache: bool = True) -> TaskOutcome:
    """Render one plan; every error becomes part of the outcome (a worker never raises)."""
    from trialpress.errors import ExitCode, TrialpressError

    t0 = time.perf_counter()
    try:
        # the pool keeps every core busy with renders: each draws its own figures
        outcome = pipeline.render(plan, report_root=Path(report_root) if report_root else None, formats=formats,
                                  report_date=report_date, cache=cache, draw_beside=False)
        study = outcome.folder.parent.name
        return TaskOutcome(plan, study, outcome.version, str(outcome.folder), outcome.created,
                           seconds=time.perf_counter() - t0)
    except TrialpressError as exc:
        return TaskOutcome(plan, code=int(exc.code), error=f"{exc.title}: {exc.message}",
                           seconds=time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - one plan's bug must not hide the other plans' results
        return TaskOutcome(plan, code=int(ExitCode.RENDER), error=f"Internal error (a bug in trialpress): "
                           f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - t0)


def render_many(plans: list[Path | str], *, report_root: Path | None = None, formats: list[str] | None = None,
                report_date: str | None = None, workers: int | None = None, scheduler: str | None = None,
                on_done: Callable[[TaskOutcome], None] | None = None, cache: bool = True) -> list[TaskOutcome]:
    """Render each plan as an independent task: a local process pool (spawned workers: no fork of a threaded
    process), or a Dask cluster when `scheduler` is an address (tcp://host:8786; needs `dask[distributed]`
    installed here and on the workers, and the same files at the same paths there). Outcomes in plan order."""
    if report_date:
        pipeline.iso_date(report_date)
    args = [(str(Path(p).resolve()), str(report_root.resolve()) if report_root else None, formats, report_date,
             cache) for p in plans]
    if scheduler:
        from trialpress.cluster import run_on_dask

        outcomes = run_on_dask(scheduler, render_task, args, on_done)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        n = workers or min(len(args), os.cpu_count() or 1)
        with ProcessPoolExecutor(max_workers=max(1, n), mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(render_task, *a): i for i, a in enumerate(args)}
            done: dict[int, TaskOutcome] = {}
            for fut in as_completed(futures):
                done[futures[fut]] = fut.result()
                if on_done is not None:
                    on_done(done[futures[fut]])
        outcomes = [done[i] for i in range(len(args))]
    return outcomes

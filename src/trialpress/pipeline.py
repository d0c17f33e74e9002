"""The one orchestrator: plan + data → gate → analysis → ARD → figures → .qmd → HTML/PDF → version folder.

The CLI is a thin shell over these functions; tests call them directly.

Order of a render, and why:
1. `prepare`: plan, input hashes, version id — nothing loaded; an intact existing version returns at once,
   an occupied version path is an error before any work.
2. The work cache (`store.cache`): the ARD and the passed gate of the same data and analysis settings, and
   the figures of the same ARD and figure settings, are reused (a template, title or format change
   re-renders only the document).
3. Otherwise: load; the quality gate is forked *before* any thread is started (a fork from a process that
   holds threads can deadlock in the child), and runs beside the analysis; its wait has a time budget.
   Where threads are already running (a Dask worker), the gate runs inline instead. Figures that must be
   drawn are drawn by a worker process (`report.figures.worker`, started with the render) from jobs settled
   from the ARD; the document's context but the gate's checks is built, and its templates compiled, while
   the gate still runs.
4. The document (templates, engines, once the figures are drawn), the abstract's sentences (recorded in the
   manifest), the ARD, the gate report and the manifest are written into the staging folder, which is
   published atomically only after the gate's verdict.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from trialpress.errors import QualityGateError, UsageError
from trialpress.plan import LoadedPlan, Plan, load_plan

if TYPE_CHECKING:
    from trialpress.data.loading import StudyData
    from trialpress.report.engines import Renderer
    from trialpress.report.figures.worker import FigureWorker
    from trialpress.store.cache import WorkCache
    from trialpress.store.hashing import Inputs


T = TypeVar("T")
GATE_BUDGET_ENV = "TRIALPRESS_GATE_TIMEOUT"
GATE_BUDGET_DEFAULT = 900.0      # seconds the forked gate may take (10^6 subjects: ~11 s)
ARD_FILES = ("ard.csv", "ard.json", "curves.csv", "ard-cards.csv")


class Progress:
    """Named steps with timings, shown on stderr (quiet in tests)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.timings: dict[str, float] = {}
        self._console = None
        if enabled:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False)

    @contextmanager
    def step(self, name: str, detail: str = "") -> Iterator[None]:
        from rich.markup import escape

        t0 = time.perf_counter()
        status = None
        if self._console is not None:
            status = self._console.status(f"[bold]{name}[/bold] {escape(detail)}")
            status.start()
        try:
            yield
        finally:
            if status is not None:
                status.stop()
        self.record(name, time.perf_counter() - t0, detail)

    def record(self, name: str, elapsed: float, detail: str = "") -> None:
        """A step timed elsewhere (e.g. in another process)."""
        from rich.markup import escape

        self.timings[name] = self.timings.get(name, 0.0) + elapsed
        if self._console is not None:
            self._console.print(f"[green]✓[/green] {name:<10} {elapsed:6.2f} s  {escape(detail)}")

    def say(self, text: str) -> None:
        if self._console is not None:
            from rich.text import Text

            self._console.print(Text(text), soft_wrap=True)


@dataclass(frozen=True)
class RenderOutcome:
    folder: Path
    version: str
    created: bool            # False: the same inputs were rendered before, nothing new was made
    timings: dict[str, float]
    reused: tuple[str, ...] = ()   # cached work reused: 'analysis' (ARD + gate), 'figures'


# --- arguments ----------------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_date(text: str) -> str:
    """A report date as given: YYYY-MM-DD and a real date, else a UsageError."""
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError("not in the form YYYY-MM-DD")
        dt.date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"--date {text!r} is not a date ({exc}).",
                         hint="Give the report date as YYYY-MM-DD, e.g. --date 2026-01-31.") from None
    return text


# --- loading and the gate -----------------------------------------------------------------------------

def _load(lplan: LoadedPlan) -> StudyData:
    """Read and type the datasets, then check the values the plan names (imports pandas only now)."""
    from trialpress.data.loading import load_study
    from trialpress.data.plan_values import check_plan_values

    data = load_study(lplan)
    check_plan_values(lplan, data)
    return data


def load_and_check(lplan: LoadedPlan, progress: Progress) -> tuple[StudyData, object]:
    """Load the datasets and run the quality gate; raise QualityGateError (with a report) on failure."""
    from trialpress.quality.gate import enforce, run_gate

    with progress.step("load", str(lplan.data_folder)):
        data = _load(lplan)
    with progress.step("check", "great_expectations suites"):
        report = run_gate(lplan.plan, data, parallel=None if _fork_is_safe() else False)
    enforce(report)
    return data, report


def _fork_is_safe() -> bool:
    """No other thread runs: a forked child cannot inherit a lock some thread held."""
    return threading.active_count() == 1


def gate_budget() -> float:
    try:
        return float(os.environ.get(GATE_BUDGET_ENV, GATE_BUDGET_DEFAULT))
    except ValueError:
        raise UsageError(f"{GATE_BUDGET_ENV}={os.environ[GATE_BUDGET_ENV]!r} is not a number of seconds.",
                         hint=f"e.g. {GATE_BUDGET_ENV}=1800") from None


def _load_early_gate(lplan: LoadedPlan, progress: Progress) -> tuple[StudyData, Any]:
    """Start the gate's process (`GateJob.early`: it imports great_expectations meanwhile), then load the
    data; the job is stopped if loading fails. No early job where forking is unsafe or unavailable."""
    from trialpress.quality.background import GateJob, small_enough_to_send

    early = GateJob.early(lplan.plan) if _fork_is_safe() and small_enough_to_send(_data_files(lplan)) else None
    try:
        with progress.step("load", str(lplan.data_folder)):
            data = _load(lplan)
    except BaseException:
        if early is not None:
            early.cancel()
        raise
    return data, early


def _beside_gate(plan: Plan, data: StudyData, work: Callable[[], T], progress: Progress,
                 early: Any = None) -> tuple[T, Any]:
    """Run `work` (analysis, figures) while the quality gate runs in a forked process; return both once the
    gate has passed. The gate's verdict wins over any error the work raised on the same bad data. The
    gate's process is `early`'s when the data could be handed to it, else forked now, before `work` starts
    any thread; if threads already run here, the gate runs inline after it."""
    from trialpress.quality.background import GateJob
    from trialpress.quality.gate import enforce, run_gate

    job = early if early is not None and early.send(data) else None
    if job is None and not _fork_is_safe():
        try:
            result = work()
        except Exception:
            enforce(run_gate(plan, data, parallel=False))
            raise
        with progress.step("check", "great_expectations suites"):
            gate = run_gate(plan, data, parallel=False)
        enforce(gate)
        return result, gate

    budget = gate_budget()
    job = job or GateJob(plan, data)
    try:
        try:
            result = work()
        except Exception:
            enforce(job.wait(timeout=budget))   # bad data explains the failure: report that instead
            raise
        with progress.step("check", "great_expectations suites (waited for)"):
            gate = job.wait(timeout=budget)
        enforce(gate)
        return result, gate
    finally:
        job.close()


def _portable(gate: Any, root: Path) -> Any:
    """The gate report with data paths relative to the project: same inputs, same bytes in any folder."""
    import dataclasses

    from trialpress.store.hashing import relative_to_root

    files = getattr(gate, "files", None)
    if not dataclasses.is_dataclass(gate) or not isinstance(files, dict):
        return gate
    return dataclasses.replace(gate, files={k: relative_to_root(v, root) for k, v in files.items()})


def failure_report(exc: QualityGateError, folder: Path) -> None:
    """Write the failed gate's report into `folder`; if that is impossible (read-only, disk full, a file in
    the way) the error keeps the findings and says why (`exc.folder_error`), never a traceback."""
    from trialpress.report.quality_view import write_failure_folder
    from trialpress.store.staging import why

    exc.folder = None  # type: ignore[attr-defined]
    exc.folder_error = None  # type: ignore[attr-defined]
    try:
        exc.folder = write_failure_folder(exc.report, folder)  # type: ignore[attr-defined]
    except OSError as err:
        exc.folder_error = f"{folder}: {why(err)}"  # type: ignore[attr-defined]


# --- setup: the version id before any work --------------------------------------------------------

@dataclass(frozen=True)
class Setup:
    """What a render depends on, resolved before any work: the version id is known from it alone."""

    lplan: LoadedPlan
    template_dir: Path
    formats: list[str]
    renderer: Renderer
    inputs: Inputs
    data_files: list[Path] = field(default_factory=list)

    @property
    def version(self) -> str:
        return self.inputs.version_id

    @property
    def report_date(self) -> str:
        return self.inputs.report_date


def prepare(plan_path: Path | str, formats: list[str] | None = None, report_date: str | None = None) -> Setup:
    """Load the plan and hash every input (no data loaded, nothing analysed)."""
    from trialpress.paths import template_folder
    from trialpress.report import engines
    from trialpress.store.hashing import collect_inputs
    from trialpress.store.style import figure_style

    report_date = iso_date(report_date) if report_date else dt.date.today().isoformat()
    lplan = load_plan(plan_path)
    plan = lplan.plan
    root = lplan.root
    template_dir = template_folder(root, plan.report.template)
    if template_dir is None:
        from trialpress.errors import PlanError

        missing = root / "templates" / plan.report.template
        raise PlanError(f"report.template {plan.report.template!r}: no folder {missing} (nor a bundled template set "
                        "of that name).",
                        hint="Name a template set that exists under templates/ (e.g. 'article').")
    formats = list(dict.fromkeys(formats or plan.report.formats))
    renderer = engines.detect()
    files = _data_files(lplan)
    inputs = collect_inputs(root, lplan.path, files, template_dir, renderer.versions, formats=formats,
                            report_date=report_date, style=figure_style())
    return Setup(lplan, template_dir, formats, renderer, inputs, files)


def _data_files(lplan: LoadedPlan) -> list[Path]:
    """The dataset files the plan reads (those that exist)."""
    from trialpress.data.files import find_dataset_file
    from trialpress.data.requirements import requirements

    plan = lplan.plan
    needed = sorted({r.dataset for r in requirements(plan)})
    return [f for f in (find_dataset_file(lplan.data_folder, n, plan.data.files.get(n), plan.data.format)
                        for n in needed) if f]


def _existing(final: Path) -> Path | None:
    """The complete, intact version at `final`, None if the path is free; anything else is an error."""
    from trialpress.errors import ArtefactError
    from trialpress.store.folders import occupied, occupied_error
    from trialpress.store.integrity import integrity_problems
    from trialpress.store.manifest import read_manifest

    reason = occupied(final)
    if reason is not None:
        raise occupied_error(final, reason)
    if not final.exists():
        return None
    problems = integrity_problems(final, read_manifest(final))
    if problems:
        name, what = problems[0]
        raise ArtefactError(f"Version {final.name} exists at {final} but does not match its manifest: {name}: "
                            f"{what}. It was not rendered again and nothing was written into it.",
                            hint=f"Run `trialpress verify {final}`; move the folder away to render it anew.")
    return final


# --- render -------------------------------------------------------------------------------------------

@dataclass
class Analysis:
    """What the document needs of the analysis and the gate (computed, or read from the work cache)."""

    ard: Any
    checks: list[Any]              # the gate's check results
    summary: dict[str, int]        # the gate's summary (manifest)
    quality_json: bytes            # the portable gate report
    ard_files: dict[str, bytes]    # ard.csv, ard.json, curves.csv, ard-cards.csv ({} until written)
    cache_key: str = ""            # the work-cache key to store it under once written ('' when read from it)


def render(plan_path: Path | str, *, report_root: Path | None = None, formats: list[str] | None = None,
           report_date: str | None = None, progress: Progress | None = None, cache: bool = True,
           draw_beside: bool | None = None) -> RenderOutcome:
    """Render the plan's report into a new version folder (nothing when that version exists already).
    `draw_beside`: draw the figures in a worker process (None: unless this process has matplotlib's drawing
    modules already; a pool of renders, which keeps every core busy itself, says False)."""
    from trialpress.report.figures.worker import FigureWorker

    with FigureWorker() as worker:
        if _draw_beside() if draw_beside is None else draw_beside:
            worker.start()    # it imports matplotlib on the second core while this process prepares
        setup = prepare(plan_path, formats, report_date)
        if not _draws_figures(setup.lplan.plan):
            worker.close()    # a study with no figure (a safety study): the second core goes to the gate
        return _render(setup, report_root, progress or Progress(enabled=False), cache, worker)


def _draws_figures(plan: Plan) -> bool:
    """Whether the plan has a figure to draw (`figure_specs.plan_figures`: time-to-event and continuous
    endpoints with their figure on)."""
    return any(ep.figure for ep in plan.time_to_event) or any(c.figure for c in plan.continuous)


def _render(setup: Setup, report_root: Path | None, progress: Progress, cache: bool, worker: FigureWorker
            ) -> RenderOutcome:
    from concurrent.futures import ThreadPoolExecutor

    from trialpress.store.folders import refuse_inside_version, version_dir
    from trialpress.store.manifest import git_state

    plan, root = setup.lplan.plan, setup.lplan.root
    report_root = report_root or root / "report"
    refuse_inside_version(report_root, root / "report", "The report folder")
    version = setup.version
    final = version_dir(report_root, plan.study.id, version)
    # inputs → version id, before any work: an unchanged study re-renders in well under a second
    done = _existing(final)
    if done is not None:
        progress.say(f"Up to date: {done} (same inputs as before; nothing rendered).")
        return RenderOutcome(done, version, False, progress.timings)

    from trialpress.store.cache import WorkCache
    from trialpress.store.staging import StagingArea, clean_stale_staging

    for stale in clean_stale_staging(report_root / plan.study.id):
        progress.say(f"Removed {stale.name}, left by an interrupted render.")
    wc = WorkCache(report_root, active=cache)
    reused: list[str] = []
    try:
        with StagingArea(final) as stage:
            analysis, cb, figures, draft = _analysis_and_figures(setup, stage, wc, progress, reused, worker)
            # git is asked while the document renders (after the gate's fork: no thread runs across a fork)
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="trialpress-git") as pool:
                git = pool.submit(git_state, root)
                abstract = _document(setup, analysis, cb, figures, draft, stage, progress,
                                     beside=lambda: _write_results(setup, analysis, stage, wc))
                _write_manifest(setup, analysis, cb, abstract, stage, git.result())
    except QualityGateError as exc:
        failure_report(exc, report_root / plan.study.id / "_failed" / version)
        raise
    progress.say(f"Rendered {final}" + (f" (reused: {', '.join(reused)})" if reused else ""))
    return RenderOutcome(final, version, True, progress.timings, tuple(reused))


def _analysis_and_figures(setup: Setup, stage: Path, wc: WorkCache, progress: Progress, reused: list[str],
                          worker: FigureWorker) -> tuple[Analysis, Any, PendingFigures, Draft]:
    """The analysis (computed, or from the work cache), the figures' views and the document's draft context;
    the figures themselves are being drawn (by `worker`, started when the render started) or were copied from
    the cache. A new analysis's draft is written while the quality gate still runs."""
    from trialpress.store import cache as store_cache

    plan, inputs = setup.lplan.plan, setup.inputs
    raster = bool({"docx", "rtf"} & set(setup.formats))
    akey = store_cache.analysis_key(plan, inputs)
    fkey = store_cache.figures_key(plan, inputs, akey, raster)
    analysis = _cached_analysis(wc, akey)
    fig_entry = wc.get("figures", fkey)
    (stage / "figures").mkdir()
    if fig_entry is not None:
        worker.close()          # nothing to draw
    if analysis is not None:
        reused.append("analysis")
        from trialpress.report.context import ContextBuilder

        cb = ContextBuilder(plan, analysis.ard)
        figures = _figures(plan, cb, stage, raster, wc, fkey, fig_entry, progress, worker)
        if fig_entry is not None:
            reused.append("figures")
        return analysis, cb, figures, _draft(setup, cb, figures)

    data, early = _load_early_gate(setup.lplan, progress)
    from trialpress.report.context import ContextBuilder
    from trialpress.results.collect import analyse

    def work() -> tuple[Any, Any, PendingFigures, Draft]:
        with progress.step("analyse", f"{len(plan.time_to_event)} time-to-event endpoint(s)"):
            results = analyse(plan, data)
        cb = ContextBuilder(plan, results.ard)
        figures = _figures(plan, cb, stage, raster, wc, fkey, fig_entry, progress, worker)
        return results.ard, cb, figures, _draft(setup, cb, figures)

    # nothing leaves the staging folder (and no version folder exists) before the gate's verdict
    (ard, cb, figures, draft), gate = _beside_gate(plan, data, work, progress, early)
    if fig_entry is not None:
        reused.append("figures")
    gate = _portable(gate, setup.lplan.root)
    # its files are written, and it is cached, while the document renders (`_write_results`)
    # (kept in this process at once: a watch whose document failed to render reuses it on the next save)
    analysis = _remember(akey, Analysis(ard, list(gate.results), gate.summary(), gate.to_json().encode("utf-8"), {},
                                        akey if wc.active else ""))
    return analysis, cb, figures, draft


def _ard_bytes(ard: Any, plan: Plan) -> dict[str, bytes]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="trialpress-ard-") as tmp:
        write_results(ard, plan, Path(tmp))
        return {name: (Path(tmp) / name).read_bytes() for name in ARD_FILES}


# the last analysis this process computed or read back, by its cache key: `render --watch` re-renders a
# template edit without decoding the ARD again (it is immutable, and the key covers all it depends on)
_IN_PROCESS: dict[str, Analysis] = {}


def _remember(key: str, analysis: Analysis) -> Analysis:
    _IN_PROCESS.clear()
    _IN_PROCESS[key] = analysis
    return analysis


def _cached_analysis(wc: WorkCache, key: str) -> Analysis | None:
    from trialpress.store import codec

    if wc.active and key in _IN_PROCESS:
        return _IN_PROCESS[key]
    entry = wc.get("analysis", key)
    if entry is None:
        return None
    try:
        ard = codec.decode_ard(codec.loads(entry.files["ard.lossless.json"]))
        checks = codec.decode_checks(codec.loads(entry.files["checks.json"]))
        return _remember(key, Analysis(ard, list(checks), dict(entry.meta["summary"]), entry.files["quality.json"],
                                       {name: entry.files[name] for name in ARD_FILES}))
    except (KeyError, ValueError, TypeError, AttributeError):
        return None


def _store_analysis(wc: WorkCache, key: str, a: Analysis) -> None:
    """Cache the ARD and the passed gate, only if they read back exactly as computed."""
    from trialpress.store import codec

    if not wc.active:
        return
    try:
        ard_raw = codec.dumps(codec.encode_ard(a.ard))
        checks_raw = codec.dumps(codec.encode_checks(a.checks))
    except codec.Unencodable:
        return
    if not (codec.same_ard(a.ard, codec.decode_ard(codec.loads(ard_raw)))
            and codec.same_checks(a.checks, codec.decode_checks(codec.loads(checks_raw)))):
        return
    if wc.put("analysis", key, {"ard.lossless.json": ard_raw, "checks.json": checks_raw,
                                "quality.json": a.quality_json, **a.ard_files}, {"summary": a.summary}):
        _remember(key, a)   # what a read-back would give (checked just above)


def _once(work: Callable[[], None]) -> Callable[[], None]:
    """`work` run by the first call only, from any thread; every call returns once it is done (or raises
    what it raised)."""
    lock, outcome = threading.Lock(), []

    def run() -> None:
        with lock:
            if not outcome:
                try:
                    work()
                    outcome.append(None)
                except BaseException as exc:
                    outcome.append(exc)
        if outcome[0] is not None:
            raise outcome[0]

    return run


def _draw_beside() -> bool:
    """Draw in a worker process unless this process has matplotlib's drawing modules already (a test, a
    program that drew before): then drawing here costs no import."""
    return "matplotlib.figure" not in sys.modules


@dataclass
class PendingFigures:
    """The figures' views (numbers, captions, files), known from the ARD; `finish` waits until their files
    are drawn and caches them. The document's text needs only the views; its engines need the files."""

    views: dict[str, list[Any]]
    finish: Callable[[], None] = lambda: None


def _figures(plan: Plan, cb: Any, stage: Path, raster: bool, wc: WorkCache, key: str, entry: Any,
             progress: Progress, worker: FigureWorker) -> PendingFigures:
    """The figures: copied from the cache with their views and numbering, or handed to `worker` to draw."""
    import dataclasses

    from trialpress.report.context import FigureView, Numbering

    figdir = stage / "figures"
    if entry is not None:
        for name, raw in entry.files.items():
            path = figdir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(raw)
        cb.numbering = Numbering(**entry.meta["numbering"])
        return PendingFigures({k: [FigureView(**v) for v in views] for k, views in entry.meta["views"].items()})
    from trialpress.report.figure_specs import plan_figures

    views, jobs = plan_figures(plan, cb, figdir, raster=raster)
    worker.submit(jobs)
    meta = {"views": {k: [dataclasses.asdict(v) for v in vs] for k, vs in views.items()},
            "numbering": dataclasses.asdict(cb.numbering)}

    def finish() -> None:
        seconds = worker.finish()
        where = " beside the document" if worker.in_worker else ""
        progress.record("figures", seconds, f"{len(jobs)} drawn{where}")
        files = {p.relative_to(figdir).as_posix(): p.read_bytes() for p in sorted(figdir.rglob("*")) if p.is_file()}
        wc.put("figures", key, files, meta)

    return PendingFigures(views, finish)


@dataclass(frozen=True)
class Draft:
    """The document's context but the gate's checks, and its templates compiled."""

    meta: Any
    context: dict[str, Any]


def _draft(setup: Setup, cb: Any, figures: PendingFigures) -> Draft:
    from trialpress.report.context import tables_for
    from trialpress.report.document import Meta, draft_context
    from trialpress.report.templating import compile_templates

    inputs = setup.inputs
    meta = Meta(version=setup.version, cutoff=cb.cutoff(), report_date=setup.report_date,
                software=inputs.packages, renderer=setup.renderer.versions, inputs=inputs.files)
    with tables_for(setup.formats):
        context = draft_context(setup.lplan.plan, cb, meta, figures.views)
    compile_templates(setup.template_dir)
    return Draft(meta, context)


def _document(setup: Setup, analysis: Analysis, cb: Any, figures: PendingFigures, draft: Draft, stage: Path,
              progress: Progress, beside: Callable[[], None] = lambda: None) -> list[dict[str, str]]:
    """report.qmd from the templates (the draft with the gate's checks; the figures are being drawn), then
    HTML/PDF/Word/RTF once they are; returns the abstract's sentences. The abstract is read with pandoc and
    `beside` runs (the ARD files and ars.json) while Typst sets the PDF, which needs one core and releases
    the GIL: started any earlier, they take the CPU the figures need, and Typst waits for those (paired
    cold renders, 16 pairs: 0.33 s shorter on average, benchmarks/README.md)."""
    import dataclasses
    from concurrent.futures import ThreadPoolExecutor

    from trialpress.report import engines
    from trialpress.report.context import tables_for
    from trialpress.report.document import with_quality, write_qmd
    from trialpress.store.abstract import read_abstract

    inputs, renderer, formats = setup.inputs, setup.renderer, setup.formats
    meta = dataclasses.replace(draft.meta, quality=analysis.checks)
    qmd = stage / "report.qmd"
    with tables_for(formats):
        context = with_quality(draft.context, meta)
        write_qmd(setup.template_dir, context, qmd)
    figures_ready = _once(figures.finish)

    def after_figures(work: Callable[[], T]) -> Callable[[], T]:
        def run() -> T:
            figures_ready()
            return work()
        return run

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="trialpress-beside") as pool:
        abstract = pool.submit(after_figures(lambda: read_abstract(qmd)))
        with progress.step("render", f"{' + '.join(formats).upper()} via {renderer.name}"):
            results = pool.submit(after_figures(beside))
            engines.render(qmd, setup.template_dir, [f for f in formats if f != "rtf"], renderer, figures_ready)
            figures_ready()    # cached, and complete before the version is published, whatever was rendered
            if "rtf" in formats:
                from trialpress.report.tlf import write_tlf

                datasets = ", ".join(sorted(p.name for p in setup.data_files))
                write_tlf(context, stage, f"Source: {datasets}; program: trialpress "
                                          f"{inputs.packages.get('trialpress', '')}; version {setup.version}")
            sentences = abstract.result()
            results.result()
    for leftover in stage.glob("report.typ"):
        leftover.unlink()
    return sentences


def _write_results(setup: Setup, analysis: Analysis, stage: Path, wc: WorkCache) -> None:
    """The ARD files, the gate's report and the ARS reporting event; a new analysis is then cached."""
    import dataclasses

    files = analysis.ard_files or _ard_bytes(analysis.ard, setup.lplan.plan)
    for name, raw in files.items():
        (stage / name).write_bytes(raw)
    (stage / "quality.json").write_bytes(analysis.quality_json)
    write_reporting_event(analysis.ard, setup.lplan.plan, stage, setup.version)
    if analysis.cache_key:
        _store_analysis(wc, analysis.cache_key, dataclasses.replace(analysis, ard_files=files, cache_key=""))


def _write_manifest(setup: Setup, analysis: Analysis, cb: Any, abstract: list[dict[str, str]], stage: Path,
                    git: dict[str, Any]) -> None:
    """manifest.json, last: it records every artefact's hash."""
    from trialpress.store.manifest import write_manifest

    renderer = setup.renderer
    write_manifest(stage, inputs=setup.inputs, study=setup.lplan.plan.study.id, version=setup.version,
                   git=git, renderer={"name": renderer.name, **renderer.versions},
                   quality=analysis.summary, created=dt.datetime.now(dt.timezone.utc), data_cutoff=cb.cutoff(),
                   abstract=abstract, project=setup.lplan.root)


def write_results(ard: Any, plan: Plan, folder: Path) -> None:
    """The ARD as CSV and JSON, its linked KM curve table, and the same rows in the cards long layout."""
    from trialpress.results.cards import write_cards_csv

    ard.to_csv(folder / "ard.csv")
    ard.to_json(folder / "ard.json")
    ard.curves_to_csv(folder / "curves.csv")
    write_cards_csv(ard, plan, folder / "ard-cards.csv")


def write_reporting_event(ard: Any, plan: Plan, folder: Path, version_id: str) -> None:
    """ars.json: the CDISC ARS reporting event, naming ard.json and ard-cards.csv beside it."""
    from trialpress.results.ars import write_ars_json

    write_ars_json(ard, plan, folder / "ars.json", version_id=version_id)


# --- check and analyze ----------------------------------------------------------------------------

def _checked(plan_path: Path | str, progress: Progress, work: Callable[[LoadedPlan, StudyData], T] | None = None
             ) -> tuple[LoadedPlan, StudyData, object, T | None]:
    """Load and gate (with `work` running beside the gate); a failed gate leaves quality.json/.html in
    report/<study>/_failed/<version>/."""
    from trialpress.errors import TrialpressError

    lplan = load_plan(plan_path)
    try:
        if work is None:
            data, report = load_and_check(lplan, progress)
            result = None
        else:
            data, early = _load_early_gate(lplan, progress)
            result, report = _beside_gate(lplan.plan, data, lambda: work(lplan, data), progress, early)
    except QualityGateError as exc:
        try:   # the version id the render would have had (check needs no templates, so it may not exist)
            version = prepare(plan_path).version
        except TrialpressError:
            version = "unversioned"
        failure_report(exc, lplan.root / "report" / lplan.plan.study.id / "_failed" / version)
        raise
    return lplan, data, report, result


def check(plan_path: Path | str, progress: Progress | None = None) -> object:
    """Validate the plan, load the data and run the gate; returns the gate report."""
    _, _, report, _ = _checked(plan_path, progress or Progress(enabled=False))
    return report


def check_ard_folder(out: Path, root: Path) -> None:
    """`analyze --out`: a folder (or a path to create), never a file, never inside a version folder."""
    from trialpress.store.folders import refuse_inside_version

    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; analyze writes a folder (ard.csv, ard.json, curves.csv, "
                         "ard-cards.csv, ars.json).",
                         hint="Name a folder, e.g. --out build/ard.")
    refuse_inside_version(out, root / "report", "--out")


def analyze(plan_path: Path | str, out: Path, progress: Progress | None = None) -> Path:
    """Run gate and analysis; write ard.csv, ard.json, curves.csv, ard-cards.csv and ars.json into `out`."""
    from trialpress.errors import ArtefactError
    from trialpress.results.collect import analyse
    from trialpress.store.staging import why

    progress = progress or Progress(enabled=False)
    check_ard_folder(out, load_plan(plan_path).root)

    def work(lplan: LoadedPlan, data: StudyData) -> Any:
        with progress.step("analyse"):
            return analyse(lplan.plan, data)

    lplan, _, _, results = _checked(plan_path, progress, work)
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_results(results.ard, lplan.plan, out)
        # not a report version: the event is named by the content of the ARD it describes
        digest = hashlib.sha256((out / "ard.json").read_bytes()).hexdigest()[:12]
        write_reporting_event(results.ard, lplan.plan, out, f"analysis-{digest}")
    except OSError as exc:
        raise ArtefactError(f"Cannot write the ARD into {out}: {why(exc)}.",
                            hint="Choose a writable folder with --out.") from None
    return out

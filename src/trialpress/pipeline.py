"""The one orchestrator: plan + data → gate → analysis → ARD → figures → .qmd → HTML/PDF → version folder.

The CLI is a thin shell over these functions; tests call them directly.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from trialpress.errors import QualityGateError
from trialpress.plan import LoadedPlan, Plan, load_plan

if TYPE_CHECKING:
    from trialpress.data.loading import StudyData
    from trialpress.report.artefacts import Inputs
    from trialpress.report.engines import Renderer


T = TypeVar("T")


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
        t0 = time.perf_counter()
        status = None
        if self._console is not None:
            status = self._console.status(f"[bold]{name}[/bold] {detail}")
            status.start()
        try:
            yield
        finally:
            if status is not None:
                status.stop()
        elapsed = time.perf_counter() - t0
        self.timings[name] = elapsed
        if self._console is not None:
            self._console.print(f"[green]✓[/green] {name:<10} {elapsed:6.2f} s  {detail}")

    def say(self, text: str) -> None:
        if self._console is not None:
            self._console.print(text)


@dataclass(frozen=True)
class RenderOutcome:
    folder: Path
    version: str
    created: bool            # False: the same inputs were rendered before, nothing new was made
    timings: dict[str, float]


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
        report = run_gate(lplan.plan, data)
    enforce(report)
    return data, report


@dataclass(frozen=True)
class Setup:
    """What a render depends on, resolved before any work: the version id is known from it alone."""

    lplan: LoadedPlan
    template_dir: Path
    formats: list[str]
    renderer: Renderer
    inputs: Inputs

    @property
    def version(self) -> str:
        return self.inputs.version_id


def prepare(plan_path: Path | str, formats: list[str] | None = None) -> Setup:
    """Load the plan and hash every input (no data loaded, nothing analysed)."""
    from trialpress.data.files import find_dataset_file
    from trialpress.data.requirements import requirements
    from trialpress.report import artefacts, engines

    lplan = load_plan(plan_path)
    plan = lplan.plan
    root = lplan.root
    template_dir = root / "templates" / plan.report.template
    if not template_dir.is_dir():
        from trialpress.errors import PlanError

        raise PlanError(f"report.template {plan.report.template!r}: no folder {template_dir}.",
                        hint="Name a template set that exists under templates/ (e.g. 'article').")
    formats = formats or list(plan.report.formats)
    renderer = engines.detect()
    needed = sorted({r.dataset for r in requirements(plan)})
    files = [f for f in (find_dataset_file(lplan.data_folder, n, plan.data.files.get(n)) for n in needed) if f]
    inputs = artefacts.collect_inputs(root, lplan.path, files, template_dir, renderer.versions)
    return Setup(lplan, template_dir, formats, renderer, inputs)


def render(plan_path: Path | str, *, report_root: Path | None = None, formats: list[str] | None = None,
           report_date: str | None = None, progress: Progress | None = None) -> RenderOutcome:
    # only what the up-to-date check needs is imported before it (an unchanged study returns in < 1 s)
    from trialpress.report import artefacts

    progress = progress or Progress(enabled=False)
    setup = prepare(plan_path, formats)
    lplan, template_dir, formats, inputs = setup.lplan, setup.template_dir, setup.formats, setup.inputs
    renderer = setup.renderer
    plan = lplan.plan
    root = lplan.root
    report_root = report_root or root / "report"

    # inputs → version id, before any work: an unchanged study re-renders in well under a second
    version = setup.version
    done = artefacts.existing_version(report_root, plan.study.id, version)
    if done is not None:
        progress.say(f"Up to date: {done} (same inputs as before; nothing rendered).")
        return RenderOutcome(done, version, False, progress.timings)
    for stale in artefacts.clean_stale_staging(report_root / plan.study.id):
        progress.say(f"Removed {stale.name}, left by an interrupted render.")

    from trialpress.report import engines
    from trialpress.report.context import ContextBuilder
    from trialpress.report.document import Meta, build_context, write_qmd
    from trialpress.report.figure_specs import km_figures
    from trialpress.results.collect import analyse

    with progress.step("load", str(lplan.data_folder)):
        data = _load(lplan)
    final = artefacts.version_dir(report_root, plan.study.id, version)
    report_date = report_date or dt.date.today().isoformat()
    try:
        with artefacts.StagingArea(final) as stage:
            def work() -> tuple[Any, Any, Any]:
                with progress.step("analyse", f"{len(plan.time_to_event)} time-to-event endpoint(s)"):
                    results = analyse(plan, data)
                figdir = stage / "figures"
                figdir.mkdir()
                cb = ContextBuilder(plan, results.ard)
                with progress.step("figures"):
                    return results, cb, km_figures(plan, cb, figdir, raster=bool({"docx", "rtf"} & set(formats)))

            # nothing leaves the staging folder (and no version folder exists) before the gate's verdict
            (results, cb, figures), gate = _beside_gate(plan, data, work, progress)
            cutoff = cb.cutoff()
            meta = Meta(version=version, cutoff=cutoff, report_date=report_date,
                        software=inputs.packages, renderer=renderer.versions, inputs=inputs.files,
                        quality=gate.results)
            qmd = stage / "report.qmd"
            context = build_context(plan, cb, meta, figures)
            write_qmd(template_dir, context, qmd)
            with progress.step("render", f"{' + '.join(formats).upper()} via {renderer.name}"):
                engines.render(qmd, template_dir, [f for f in formats if f != "rtf"], renderer)
                if "rtf" in formats:
                    from trialpress.report.tlf import write_tlf

                    datasets = ", ".join(sorted(p.name for p in data.files.values()))
                    write_tlf(context, stage, f"Source: {datasets}; program: trialpress "
                                              f"{inputs.packages.get('trialpress', '')}; version {version}")
            for leftover in stage.glob("report.typ"):
                leftover.unlink()
            write_results(results.ard, stage)
            (stage / "quality.json").write_text(_portable(gate, root).to_json(), encoding="utf-8")
            artefacts.write_manifest(stage, inputs=inputs, study=plan.study.id, version=version,
                                     git=artefacts.git_state(root), renderer={"name": renderer.name, **renderer.versions},
                                     quality=gate.summary(), created=dt.datetime.now(dt.timezone.utc),
                                     report_date=report_date, data_cutoff=cutoff, formats=formats, project=root)
    except QualityGateError as exc:
        from trialpress.report.quality_view import write_failure_folder

        exc.folder = write_failure_folder(exc.report, report_root / plan.study.id / "_failed" / version)  # type: ignore[attr-defined]
        raise
    progress.say(f"Rendered {final}")
    return RenderOutcome(final, version, True, progress.timings)


def _beside_gate(plan: Plan, data: StudyData, work: Callable[[], T], progress: Progress) -> tuple[T, Any]:
    """Run `work` (analysis, figures) while the quality gate runs in a second process; return both once the
    gate has passed. The gate's verdict wins over any error the work raised on the same bad data."""
    from trialpress.quality.background import GateJob
    from trialpress.quality.gate import enforce

    job = GateJob(plan, data)
    try:
        try:
            result = work()
        except Exception:
            enforce(job.wait())   # bad data explains the failure: report that instead
            raise
        with progress.step("check", "great_expectations suites (waited for)"):
            gate = job.wait()
        enforce(gate)
        return result, gate
    finally:
        job.close()


def _portable(gate: Any, root: Path) -> Any:
    """The gate report with data paths relative to the project: same inputs, same bytes in any folder."""
    import dataclasses

    from trialpress.report.artefacts import relative_to_root

    files = getattr(gate, "files", None)
    if not dataclasses.is_dataclass(gate) or not isinstance(files, dict):
        return gate
    return dataclasses.replace(gate, files={k: relative_to_root(v, root) for k, v in files.items()})


def write_results(ard: Any, folder: Path) -> None:
    """The ARD as CSV and JSON, and its linked KM curve table."""
    ard.to_csv(folder / "ard.csv")
    ard.to_json(folder / "ard.json")
    ard.curves_to_csv(folder / "curves.csv")


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
            with progress.step("load", str(lplan.data_folder)):
                data = _load(lplan)
            result, report = _beside_gate(lplan.plan, data, lambda: work(lplan, data), progress)
    except QualityGateError as exc:
        from trialpress.report.quality_view import write_failure_folder

        try:   # the version id the render would have had (check needs no templates, so it may not exist)
            version = prepare(plan_path).version
        except TrialpressError:
            version = "unversioned"
        exc.folder = write_failure_folder(  # type: ignore[attr-defined]
            exc.report, lplan.root / "report" / lplan.plan.study.id / "_failed" / version)
        raise
    return lplan, data, report, result


def check(plan_path: Path | str, progress: Progress | None = None) -> object:
    """Validate the plan, load the data and run the gate; returns the gate report."""
    _, _, report, _ = _checked(plan_path, progress or Progress(enabled=False))
    return report


def analyze(plan_path: Path | str, out: Path, progress: Progress | None = None) -> Path:
    """Run gate and analysis; write ard.csv and ard.json into `out`."""
    from trialpress.results.collect import analyse

    progress = progress or Progress(enabled=False)

    def work(lplan: LoadedPlan, data: StudyData) -> Any:
        with progress.step("analyse"):
            return analyse(lplan.plan, data)

    *_, results = _checked(plan_path, progress, work)
    out.mkdir(parents=True, exist_ok=True)
    write_results(results.ard, out)
    return out

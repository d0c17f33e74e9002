"""`trialpress` command line: render, render-all, check, analyze, init, synth, verify, diff, list.

A thin shell over `pipeline` (rendering) and `versions` (the version store).

Bad input of any kind ends with a short message (what, where, what to do) and a distinct exit
status; a Python traceback means a bug in trialpress.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from trialpress import __version__
from trialpress.errors import ExitCode, QualityGateError, TrialpressError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="trialpress",
        description="Clinical-trial ADaM data to a versioned, publication-style report (HTML, PDF, Word, RTF).",
        epilog="Exit status: 0 ok, 2 usage, 3 plan error, 4 data error or failed quality gate, 5 render error, "
               "6 artefact error.",
    )
    p.add_argument("--version", action="version", version=f"trialpress {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _render_commands(sub)
    _study_commands(sub)
    _version_commands(sub)
    return p


def _render_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    r = sub.add_parser("render", help="check, analyse and render a study into report/<study>/<version>/",
                       description="Run the quality gate, the analysis and the document engines; write an immutable "
                                   "version folder with the plan's formats (report.html, report.pdf, report.docx, tlf/), the ARD and a "
                                   "manifest. Re-rendering "
                                   "unchanged inputs creates nothing.")
    r.add_argument("plan", nargs="?", default=None, help="analysis plan (default: the only plan under analysis/)")
    r.add_argument("--out", type=Path, default=None, help="report root folder (default: <project>/report)")
    r.add_argument("--format", dest="formats", action="append", choices=["html", "pdf", "docx", "rtf"],
                   help="only this format (repeatable; default: the plan's formats)")
    r.add_argument("--date", default=None, help="document date YYYY-MM-DD (default: today); part of the version id")
    r.add_argument("--no-cache", dest="cache", action="store_false",
                   help="recompute the analysis, gate and figures instead of reusing <report root>/.cache/")
    r.add_argument("--quiet", action="store_true", help="no progress display")
    r.add_argument("--watch", action="store_true",
                   help="stay running and render again whenever the plan, a template, a dataset or _quarto.yml "
                        "changes (the writer's loop; Ctrl-C stops)")

    ra = sub.add_parser("render-all", help="render several plans as independent tasks (process pool or Dask)",
                        description="Render each plan as an independent task: in a local process pool, or on an "
                                    "existing Dask cluster with --scheduler (needs dask[distributed] installed here "
                                    "and on the workers, and the project files at the same paths there). Prints one "
                                    "summary of versions and failures; the exit status is that of the first plan "
                                    "that failed (0 if none).")
    ra.add_argument("plans", nargs="+", type=Path, help="analysis plans")
    ra.add_argument("--out", type=Path, default=None, help="report root folder (default: each plan's <project>/report)")
    ra.add_argument("--format", dest="formats", action="append", choices=["html", "pdf", "docx", "rtf"],
                    help="only this format (repeatable; default: each plan's formats)")
    ra.add_argument("--date", default=None, help="document date YYYY-MM-DD (default: today)")
    ra.add_argument("--workers", type=int, default=None, help="processes of the local pool (default: one per core)")
    ra.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="a Dask scheduler address (tcp://host:8786) to run the renders on instead")
    ra.add_argument("--no-cache", dest="cache", action="store_false", help="recompute everything")
    ra.add_argument("--quiet", action="store_true", help="only the summary")


def _study_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    c = sub.add_parser("check", help="validate the plan and run the data-quality gate only",
                       description="Validate the analysis plan, load the ADaM datasets and run the quality gate. "
                                   "Exit status 4 if an error-level check fails.")
    c.add_argument("plan", nargs="?", default=None, help="analysis plan (default: the only one)")
    c.add_argument("--quiet", action="store_true")

    a = sub.add_parser("analyze", help="run the gate and the analysis; write the ARD (CSV, JSON, cards, ARS)",
                       description="Compute every number of the plan into the analysis-results dataset (ARD).")
    a.add_argument("plan", nargs="?", default=None, help="analysis plan (default: the only one)")
    a.add_argument("--out", type=Path, default=Path("."),
                   help="folder for ard.csv, ard.json, curves.csv, ard-cards.csv and ars.json (default: .); never a version folder")
    a.add_argument("--quiet", action="store_true")

    i = sub.add_parser("init", help="inspect a folder of ADaM files and write a starting analysis plan",
                       description="Recognise the standard ADaM datasets and variables in a folder (XPT, CSV, "
                                   "Parquet, sas7bdat, Dataset-JSON) and write analysis/<study>.yml with comments; it "
                                   "validates and renders as it is. Never overwrites a plan.")
    i.add_argument("folder", type=Path, help="folder holding adsl.* and optionally adtte.*, adrs.*, adae.*")
    i.add_argument("--out", type=Path, default=None,
                   help="plan path (default: analysis/<folder name>.yml in the project that holds the data, else "
                        "in the current folder)")
    i.add_argument("--study", default=None, help="study id (default: the folder name)")

    s = sub.add_parser("synth", help="write a bundled study's synthetic ADaM datasets",
                       description="Generate the calibrated synthetic ADaM datasets of a bundled study, "
                                   "deterministically from a seed.")
    s.add_argument("study", help="bundled study id (see the data/ folder)")
    s.add_argument("--out", type=Path, default=None, help="folder (default: data/<study>)")
    s.add_argument("--seed", type=int, default=None, help="random seed (default: the study's own)")


def _version_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    reports_help = "report root folder (default: <project>/report)"
    v = sub.add_parser("verify", help="check a version's artefacts and inputs and recompute it byte for byte",
                       description="Check every artefact of a version against the SHA-256 in its manifest (tampering), "
                                   "check that the recorded inputs are unchanged, then re-render them with the recorded "
                                   "report date into a temporary folder and compare bytes. Reports a match or the first "
                                   "differing file; exit status 6 on any mismatch.")
    v.add_argument("version", help="version folder, or version id (or a unique prefix of one)")
    v.add_argument("--study", default=None, help="study id, to look the version id up in")
    v.add_argument("--reports", type=Path, default=None, help=reports_help)
    v.add_argument("--project", type=Path, default=None,
                   help="project whose inputs to check (default: the project around the working directory, else "
                        "the one around the version folder; never the path recorded in the manifest)")
    v.add_argument("--no-recompute", dest="recompute", action="store_false",
                   help="check hashes only; do not re-render")
    v.add_argument("--quiet", action="store_true", help="no progress display while re-rendering")

    d = sub.add_parser("diff", help="what changed between two versions: ARD numbers and abstract sentences",
                       description="List every ARD number that changed (old → new), was added or removed (by row id), "
                                   "and the abstract sentences whose text changed, between versions A and B.")
    d.add_argument("a", help="version A (folder or id)")
    d.add_argument("b", help="version B (folder or id)")
    d.add_argument("--study", default=None, help="study id, to look version ids up in")
    d.add_argument("--reports", type=Path, default=None, help=reports_help)
    d.add_argument("--html", type=Path, default=None, help="also write the differences as an HTML page here")

    ls = sub.add_parser("list", help="the rendered versions of a study (or of all studies)",
                        description="List the version folders with their creation time, report date, data cut-off, "
                                    "data files, plan hash, quality-gate result and integrity (artefact hashes).")
    ls.add_argument("--study", default=None, help="only this study")
    ls.add_argument("--reports", type=Path, default=None, help=reports_help)


def main(argv: list[str] | None = None) -> int:
    from trialpress.gc_tuning import tune_for_batch

    tune_for_batch()
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except TrialpressError as exc:
        _print_any(exc)
        return int(exc.code)
    except KeyboardInterrupt:
        print("Interrupted; no version folder was written.", file=sys.stderr)
        return 130


def _print_any(exc: TrialpressError) -> None:
    """An error for the user (by `main`, and by a watch that goes on): a failed gate with its findings, then
    where the full report is (or why it could not be written); any other error with what to do."""
    if isinstance(exc, QualityGateError):
        from trialpress.report.quality_view import print_gate_failure

        print_gate_failure(exc)
    else:
        _print_error(exc)


def _print_error(exc: TrialpressError) -> None:
    from rich.console import Console
    from rich.text import Text

    from trialpress.report.escape import terminal

    console = Console(stderr=True, highlight=False)
    # messages quote data values: never interpret them as rich markup, never pass a control character on;
    # not broken by rich (soft_wrap): the terminal wraps them, and a path in a message stays one piece to copy
    console.print(Text(f"{exc.title}: ", style="bold red").append(terminal(exc.message)), soft_wrap=True)
    if exc.hint:
        console.print(Text("What to do: ", style="bold").append(terminal(exc.hint)), soft_wrap=True)


def _default_plan() -> Path:
    """The project's only plan under analysis/; with none or several, say which exist."""
    from trialpress.errors import UsageError
    from trialpress.paths import find_root

    plans = sorted((find_root() / "analysis").glob("*.yml"))
    if len(plans) == 1:
        return plans[0]
    listed = ", ".join(p.name for p in plans) or "none"
    raise UsageError(f"Name the analysis plan to use (plans under analysis/: {listed}).",
                     hint="e.g. trialpress render analysis/<study>.yml, or create one with trialpress init <data-folder>.")


def _run(args: argparse.Namespace) -> int:
    from trialpress import pipeline

    if getattr(args, "plan", "unset") is None:
        args.plan = _default_plan()

    if getattr(args, "date", None) is not None:
        pipeline.iso_date(args.date)            # a usage error before any work
    if args.command == "render":
        def render_once() -> None:
            progress = pipeline.Progress(enabled=not args.quiet)
            outcome = pipeline.render(args.plan, report_root=args.out, formats=args.formats, report_date=args.date,
                                      progress=progress, cache=args.cache)
            print(outcome.folder, flush=True)

        if not args.watch:
            render_once()
            return int(ExitCode.OK)
        from trialpress.watch import watch

        watch(Path(args.plan), render_once, lambda line: print(line, file=sys.stderr, flush=True), _print_any)
        return int(ExitCode.OK)
    if args.command == "render-all":
        return _render_all(args)
    if args.command == "check":
        progress = pipeline.Progress(enabled=not args.quiet)
        report = pipeline.check(args.plan, progress)
        from trialpress.report.quality_view import print_gate_summary

        print_gate_summary(report)
        return int(ExitCode.OK)
    if args.command == "analyze":
        progress = pipeline.Progress(enabled=not args.quiet)
        out = pipeline.analyze(args.plan, args.out, progress)
        print(out / "ard.csv")
        return int(ExitCode.OK)
    if args.command == "init":
        from trialpress.scaffold import init

        path = init(args.folder, args.out, args.study)
        print(path)
        return int(ExitCode.OK)
    if args.command == "synth":
        return _synth(args)
    if args.command in ("verify", "diff", "list"):
        return _run_versions(args)
    raise AssertionError(args.command)


def _synth(args: argparse.Namespace) -> int:
    """The bundled studies' generators are a separate package (`trialpress_synth`), loaded only here and
    only if it is installed: the engine does not depend on it."""
    import importlib

    from trialpress.errors import UsageError
    from trialpress.paths import find_root

    try:
        synth = importlib.import_module("trialpress_synth")
    except ImportError:
        raise UsageError("The bundled-study generators (package trialpress_synth) are not installed.",
                         hint="Install the project from its source tree (pip install -e .).") from None
    if args.study not in synth.GENERATORS:
        raise UsageError(f"No bundled generator for {args.study!r}.",
                         hint=f"Choose one of: {', '.join(sorted(synth.GENERATORS))}.")
    folder = args.out or find_root() / "data" / args.study
    for path in synth.write_study(args.study, folder, args.seed):
        print(path)
    return int(ExitCode.OK)


def _render_all(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.text import Text

    from trialpress import many
    from trialpress.report.escape import terminal

    for plan in args.plans:
        if not plan.is_file():
            from trialpress.errors import UsageError

            raise UsageError(f"No plan file {plan}.", hint="Name existing analysis plans, e.g. analysis/*.yml.")
    console = Console(stderr=True, highlight=False)

    def line(o: many.TaskOutcome) -> Text:
        if o.code:
            return Text("✗ ", style="bold red").append(terminal(f"{o.plan}: {o.error}"))
        state = "rendered" if o.created else "up to date"
        return Text("✓ ", style="green").append(terminal(f"{o.plan}: {o.study} {o.version} {state} ({o.seconds:.1f} s)"))

    outcomes = many.render_many(args.plans, report_root=args.out, formats=args.formats, report_date=args.date,
                                    workers=args.workers, scheduler=args.scheduler, cache=args.cache,
                                    on_done=None if args.quiet else lambda o: console.print(line(o)))
    failed = [o for o in outcomes if o.code]
    out = Console(highlight=False)
    out.print(Text(f"{len(outcomes) - len(failed)} of {len(outcomes)} plan(s) rendered or up to date, "
                   f"{len(failed)} failed.", style="bold"))
    for o in outcomes:
        out.print(line(o))
        if not o.code:
            out.print(Text(f"  {terminal(o.folder)}"))
    return failed[0].code if failed else int(ExitCode.OK)


def _run_versions(args: argparse.Namespace) -> int:
    from trialpress import versions

    if args.command == "verify":
        folder = versions.resolve(args.version, study=args.study, report_root=args.reports)
        result = versions.verify(folder, project=args.project, recompute=args.recompute,
                                 show_progress=not args.quiet)
        versions.print_verify(result)
        return int(ExitCode.OK if result.ok else ExitCode.ARTEFACT)
    if args.command == "diff":
        a = versions.resolve(args.a, study=args.study, report_root=args.reports)
        b = versions.resolve(args.b, study=args.study, report_root=args.reports)
        result = versions.diff(a, b)
        versions.print_diff(result)
        if args.html:
            print(versions.write_diff_html(result, args.html))
        return int(ExitCode.OK)
    versions.print_list(versions.list_versions(args.reports, args.study))
    return int(ExitCode.OK)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

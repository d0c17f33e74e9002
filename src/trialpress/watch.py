"""`trialpress render --watch`: re-render whenever the plan, a template, a dataset or `_quarto.yml` changes.

The writer's loop in one long-running process (as `quarto preview` keeps one): the imports, the compiled
templates and Typst's fonts stay loaded, and the analysis, the gate's verdict and the figures come from the
work cache (`store/cache.py`) when the data and the analysis settings are unchanged, so a template or wording
edit writes its new version in about a second. Each render is an ordinary `pipeline.render`: the same
version folders, byte for byte what a cold render of the same inputs writes.

Files are polled (modification time and size, every `interval` seconds; no watcher library, no threads):
a few dozen `stat` calls, and it works the same on network drives and in containers, where file-system
events often do not arrive. A change is rendered once the files have stopped changing for one interval (an
editor that writes in several steps triggers one render). Bad input (a plan error, data that fail the gate,
a template error) is reported and the watch goes on; the next change renders again. The running engine's
own code is hashed into every version id, so if trialpress's source files change, the watch stops and asks
to be restarted rather than label a version with code it is not running.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from trialpress.errors import TrialpressError, UsageError

Stamp = dict[str, tuple[int, int]]


def stamp(paths: list[Path]) -> Stamp:
    """Modification time (ns) and size of each path; (-1, -1) for a path that does not exist now."""
    out: Stamp = {}
    for p in paths:
        try:
            st = p.stat()
            out[str(p)] = (st.st_mtime_ns, st.st_size)
        except OSError:
            out[str(p)] = (-1, -1)
    return out


def watched_files(plan_path: Path) -> tuple[list[Path], dict[str, str]]:
    """What a render of `plan_path` reads (the plan, its datasets, every file of its template set and
    `_quarto.yml`), and the hashes of the engine's own source files the version id includes."""
    from trialpress.pipeline import prepare
    from trialpress.store.hashing import input_path

    setup = prepare(plan_path)
    root = setup.lplan.root
    files = [input_path(key, root) for key in setup.inputs.files if not key.startswith("engine:")]
    files += sorted(p for p in setup.template_dir.rglob("*") if p.is_file())
    files.append(root / "_quarto.yml")
    engine = {k: v["sha256"] for k, v in setup.inputs.files.items() if k.startswith("engine:")}
    return sorted(set(files)), engine


def watch(plan_path: Path, render: Callable[[], object], report: Callable[[str], None],
          on_error: Callable[[TrialpressError], None], *, interval: float = 0.1,
          stop: threading.Event | None = None, max_renders: int | None = None) -> int:
    """Render now, then again after every change, until `stop` is set, `max_renders` renders have run or
    Ctrl-C; returns the number of renders. `render` is one render; an error a user can act on goes to
    `on_error` and the watch goes on; `report` prints a line."""
    stop = stop or threading.Event()
    renders = 0

    def once() -> None:
        nonlocal renders
        renders += 1
        t0 = time.perf_counter()
        try:
            render()
            report(f"Watching for changes (rendered in {time.perf_counter() - t0:.2f} s; Ctrl-C stops).")
        except TrialpressError as exc:
            on_error(exc)
            report("Watching for changes (this change did not render; fix it and save again).")

    def files_now() -> tuple[list[Path], dict[str, str] | None]:
        """What to watch; just the plan (and no engine hashes) while the plan itself is invalid."""
        try:
            return watched_files(plan_path)
        except TrialpressError as exc:
            on_error(exc)
            report("Watching the plan (it did not load; fix it and save again).")
            return [Path(plan_path)], None

    files, engine = files_now()
    seen = stamp(files)
    if engine is not None:
        once()
    try:
        while not stop.is_set() and (max_renders is None or renders < max_renders):
            if stop.wait(interval):
                break
            now = stamp(files)
            if now == seen:
                continue
            while not stop.wait(interval):   # settle: render once the files have stopped changing
                later = stamp(files)
                if later == now:
                    break
                now = later
            files, current = files_now()   # the plan may now name other files
            seen = stamp(files)   # before rendering: a file saved during the render is seen next time
            if current is None:
                continue
            if engine is None:
                engine = current
            elif current != engine:
                raise UsageError("trialpress's own source files changed while watching; the running process "
                                 "still has the old code.", hint="Restart `trialpress render --watch`.")
            once()
    except KeyboardInterrupt:
        pass
    return renders

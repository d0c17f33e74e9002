"""Draw the figures in a process of their own, beside the document.

On a cold render, importing matplotlib's drawing modules and drawing the figures took ~1.2 s of the report
process's critical path (fast VM; 2.2 s on a slow one), and for the first second and a half (start-up,
imports, input hashes) the machine's second core sat idle. The worker is started when the render starts:
it imports matplotlib and loads the fonts on that core, receives the figure jobs once the ARD exists and
draws them while the report process writes the document's text (pandoc converts it before the figures are
needed). It runs the same drawing code as the report process would, so the files are the same (tested); if
it cannot start, or fails, the report process draws them itself, with the same result. A render that finds
its figures in the work cache, or its version done, stops the worker at once.

The worker runs at a lower priority (`os.nice`): the report process and the quality gate are on the critical
path, and until the report waits for the figures, a core either of them needs is theirs.

A plain subprocess (`python -m trialpress.report.figures.worker`), not multiprocessing: a fork would
copy the analysis process and is unsafe once threads run, and the spawn method would import the CLI again
as its main module. The jobs travel as a pickle in a temporary file the report process wrote (its own
data: nothing from outside is unpickled), so handing them over never waits on a full pipe. Protocol, one
line each: the report process writes the jobs file's path, the worker answers `ok` once they are drawn; a
worker with nothing to draw is stopped.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from trialpress.report.figures.jobs import FigureJob, draw_all

WAIT_SECONDS = 600.0       # a drawing that takes longer is stopped and done in the report process
NICENESS = 10


class FigureWorker:
    """One drawing process for one render: `start` it, `submit` the jobs, `finish` waits for them. A context
    manager, so that a render that stops early (up to date, a failed gate) stops the worker too. Without
    `start`, `finish` draws the jobs in this process."""

    command: tuple[str, ...] = (sys.executable, "-m", __name__)

    def __init__(self) -> None:
        self.in_worker = False     # after `finish`: whether the worker drew them (else this process did)
        self._proc: subprocess.Popen[bytes] | None = None
        self._jobs: list[FigureJob] = []
        self._file: Path | None = None
        self._t0 = 0.0

    def start(self) -> None:
        """Start the worker process (it imports matplotlib while this one works)."""
        if self._proc is not None:
            return
        src = str(Path(__file__).resolve().parents[3])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)}
        try:
            self._proc = subprocess.Popen(list(self.command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, env=env)
        except OSError:
            self._proc = None

    def submit(self, jobs: Sequence[FigureJob]) -> None:
        """Hand the jobs over; returns at once (without a worker they are drawn in `finish`)."""
        self._jobs, self._t0 = list(jobs), time.perf_counter()
        if self._proc is None or not self._jobs:
            return
        try:
            fd, name = tempfile.mkstemp(prefix="trialpress-figures-", suffix=".pickle")
            self._file = Path(name)
            with os.fdopen(fd, "wb") as out:
                pickle.dump(self._jobs, out, protocol=pickle.HIGHEST_PROTOCOL)
            self._write(name)
        except (OSError, pickle.PicklingError):
            self.close()

    def finish(self) -> float:
        """Wait until every job is drawn; returns the seconds since `submit` (0 with nothing to draw)."""
        if not self._jobs:
            self.close()
            return 0.0
        drawn = False
        if self._proc is not None:
            try:
                out, _ = self._proc.communicate(timeout=WAIT_SECONDS)
                drawn = self._proc.returncode == 0 and out.strip() == b"ok"
            except (OSError, ValueError, subprocess.TimeoutExpired):
                drawn = False
        self.close()
        if not drawn:
            draw_all(self._jobs)
        self.in_worker = drawn
        return time.perf_counter() - self._t0

    def close(self) -> None:
        """Stop the worker (nothing more to draw, or the render stopped)."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            try:
                self._proc.communicate(timeout=5)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
            self._proc = None
        if self._file is not None:
            self._file.unlink(missing_ok=True)
            self._file = None

    def __enter__(self) -> FigureWorker:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _write(self, line: str) -> None:
        assert self._proc is not None
        try:
            if self._proc.stdin is not None and not self._proc.stdin.closed:
                self._proc.stdin.write(line.encode("utf-8") + b"\n")
                self._proc.stdin.flush()
        except (OSError, ValueError):
            pass


def _warm() -> None:
    """Import the drawing modules and load the font, before the jobs arrive."""
    import trialpress.results.ard  # noqa: F401 - the KM jobs carry its curves
    from trialpress.report.figures import forest, km, means  # noqa: F401 - imported to be ready
    from trialpress.report.figures.style import FONT_SIZE, _new_figure, _style, _text_size_in

    with _style():
        _, renderer = _new_figure(1.0, 1.0)
        _text_size_in(renderer, "0", FONT_SIZE)


def main() -> int:
    from trialpress.gc_tuning import tune_for_batch

    tune_for_batch()
    if hasattr(os, "nice"):
        os.nice(NICENESS)
    _warm()
    name = sys.stdin.buffer.readline().decode("utf-8").strip()
    if not name:       # the report process ended without jobs
        return 0
    try:
        with open(name, "rb") as src:
            jobs = pickle.load(src)
        draw_all(jobs)
    except Exception:  # noqa: BLE001 - the report process draws them itself, and shows the error then
        traceback.print_exc()
        return 1
    sys.stdout.write("ok\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

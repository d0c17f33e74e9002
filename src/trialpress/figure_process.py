"""The figures drawn in a second process, beside the document.

The figures are about 1.5 s of a cold render, all of it Python (matplotlib's import, then every text of a
figure laid out and drawn as paths), so a thread would not help and the render's other Python work waits
behind them. A `FigureProcess` is forked at the start of a render, before any thread runs and before any
data are loaded (it shares only the interpreter, not the study), and on the second core it

1. imports matplotlib and resolves the figure fonts: the figure style the version id includes
   (`store.style.figure_style`), sent back while this process reads the plan and hashes the inputs;
2. draws the figures the report hands it (`report.figures.jobs.Draw`: plain specs, pickled through a
   pipe) into the staging folder while this process builds and converts the document; the engines wait
   for it only where they read the figures (`ready`: Typst's compile, the HTML's embedding, Word).

It runs the same drawing code on the same specs, so the figures are byte for byte those drawn inline (a
test compares them). Where `fork` is unavailable or unsafe (threads already run), or the process fails or
dies, the same work is done in this process: a drawing error is then raised here, with its own message.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any

from trialpress.report.figures.jobs import Draw, draw


class FigureProcess:
    """One forked process per render: `style()` once, then `draw(jobs)` once, then `close()`."""

    def __init__(self) -> None:
        jobs_read, jobs_write = Pipe(duplex=False)
        replies_read, replies_write = Pipe(duplex=False)
        pid = os.fork()
        if pid == 0:   # the child: serve, then leave without running the parent's exit handlers
            try:
                jobs_write.close()
                replies_read.close()
                _serve(jobs_read, replies_write)
            finally:
                os._exit(0)
        jobs_read.close()
        replies_write.close()
        self._pid: int | None = pid
        self._jobs: Connection | None = jobs_write
        self._replies: Connection | None = replies_read
        self._style: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._pending: list[Draw] | None = None
        self._done = False
        self.seconds = 0.0      # the drawing time (in the child, or here when drawn here)
        self.drawn_here = False

    @classmethod
    def start(cls) -> FigureProcess | None:
        """A figure process, or None where forking is unavailable or unsafe (then everything is done here)."""
        if not hasattr(os, "fork") or threading.active_count() != 1:
            return None
        return cls()

    def style(self) -> dict[str, Any]:
        """The figure style (`store.style.figure_style`), as the process resolved it (here if it could not)."""
        if self._style is None:
            reply = self._receive()
            if reply is not None and reply[0] == "style":
                self._style = reply[1]
            else:
                from trialpress.store.style import figure_style

                self._style = figure_style()
        return self._style

    def draw(self, jobs: list[Draw]) -> None:
        """Hand `jobs` to the process (drawn here, by `ready`, if it cannot take them)."""
        self.style()   # the first reply is the style: read it before the drawing's reply
        self._pending = list(jobs)
        try:
            assert self._jobs is not None
            self._jobs.send(self._pending)
        except (OSError, ValueError, AssertionError):   # the process is gone
            self.close()

    def ready(self) -> None:
        """Wait until the figures are on disk (drawing them here if the process failed). Safe to call from
        several threads and more than once: the engines call it where each first needs a figure."""
        with self._lock:
            if self._done or self._pending is None:
                return
            reply = self._receive()
            if reply is not None and reply[0] == "drawn":
                self.seconds = float(reply[1])
            else:
                self.close()
                t0 = time.perf_counter()
                for job in self._pending:   # here, so that a drawing error is raised with its own message
                    draw(job)
                self.seconds, self.drawn_here = time.perf_counter() - t0, True
            self._done = True

    def _receive(self) -> tuple[str, Any] | None:
        if self._replies is None:
            return None
        try:
            return self._replies.recv()   # type: ignore[no-any-return]
        except (EOFError, OSError):   # the process died
            self.close()
            return None

    def close(self) -> None:
        """Close the pipes and end the process (idle, or still drawing for a render that stopped) and reap it:
        it never outlives the render."""
        for conn in (self._jobs, self._replies):
            if conn is not None:
                conn.close()
        self._jobs = self._replies = None
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(self._pid, 0)
            except ChildProcessError:
                pass
            self._pid = None

    def __enter__(self) -> FigureProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(jobs: Connection, replies: Connection) -> None:
    """In the child: the style, then draw each batch of jobs as it comes, until the parent closes the pipe."""
    try:
        from trialpress.store.style import figure_style

        replies.send(("style", figure_style()))
    except Exception:  # noqa: BLE001 - the parent resolves it itself
        replies.send(("failed", traceback.format_exc(limit=3)))
    import trialpress.report.figures.forest  # noqa: F401 - imported before the jobs come, not after
    import trialpress.report.figures.km  # noqa: F401

    while True:
        try:
            batch: list[Draw] = jobs.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        t0 = time.perf_counter()
        try:
            for job in batch:
                draw(job)
        except Exception:  # noqa: BLE001 - the parent draws again and raises the error itself
            replies.send(("failed", traceback.format_exc(limit=3)))
            continue
        replies.send(("drawn", time.perf_counter() - t0))


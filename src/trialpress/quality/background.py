"""Run the quality gate in a second process while the analysis is computed in memory.

great_expectations takes ~3 s to import; on a 2-core machine the gate and the analysis can run
side by side. The gate runs in a forked child that sees the loaded data without a copy, sends its
report through a pipe and exits at once, so its memory is returned while the analysis still runs
(a pooled worker would idle on its heap until shut down). Nothing is published before the gate's
verdict: the caller waits for it before any artefact leaves its staging folder, and a failed gate
wins over any error the analysis of the same bad data raised. Where `fork` is unavailable, or the
child fails, the gate runs inline.

`GateJob.early` starts the child before the data are loaded, for studies small enough to hand over:
it imports great_expectations (~1.1 s) on the second core while this process loads the data and imports
the analysis stack, then receives the loaded data through a pipe (pickled: a few ms for a trial of a few
hundred subjects) and runs the gate on exactly those frames. Larger data are never copied: the early
child is stopped and a child forked after loading shares them instead (`send` returns False).
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
from pathlib import Path
from typing import Any

from trialpress.data.loading import StudyData
from trialpress.errors import DataError
from trialpress.plan import Plan
from trialpress.quality.gate import GateReport, run_gate


EARLY_MAX_BYTES = 32 << 20   # loaded frames up to this size are handed to an early child (a copy in it)
EARLY_MAX_FILE_BYTES = 64 << 20   # ... and an early child is started only for data files up to this size
PARQUET_EXPANSION = 16       # Parquet's compression: its frames are many times its files (CSV/XPT: not more)


class GateJob:
    def __init__(self, plan: Plan, data: StudyData | None, *, early: bool = False) -> None:
        self._plan, self._data = plan, data
        self._payload: bytes | None = None
        self._reader: threading.Thread | None = None
        self._pid: int | None = None
        self._data_fd: int | None = None
        if hasattr(os, "fork"):
            self._start(early=early)

    @classmethod
    def early(cls, plan: Plan) -> GateJob | None:
        """A child started now, before loading, that imports great_expectations and waits for `send`."""
        return cls(plan, None, early=True) if hasattr(os, "fork") else None

    def send(self, data: StudyData) -> bool:
        """Hand the loaded data to the early child (False, and the child stopped, when they are too large to
        copy: the caller then forks a child that shares them)."""
        assert self._data_fd is not None
        self._data = data
        if _frames_bytes(data) > EARLY_MAX_BYTES:
            self.cancel()
            return False
        raw = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
        fd, self._data_fd = self._data_fd, None

        def write() -> None:   # the child reads once its import is done: never block this thread on it
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(raw)
            except OSError:    # the child died: `wait` redoes the gate inline
                pass

        threading.Thread(target=write, name="trialpress-gate-data", daemon=True).start()
        return True

    def cancel(self) -> None:
        """Stop the child (the data were not needed, or not sent)."""
        if self._data_fd is not None:
            os.close(self._data_fd)
            self._data_fd = None
        self._kill()

    def _start(self, early: bool = False) -> None:
        read_fd, write_fd = os.pipe()
        data_read, data_write = os.pipe() if early else (-1, -1)
        pid = os.fork()
        if pid == 0:   # the child: gate, send, leave without running the parent's exit handlers
            code = 0
            try:
                os.close(read_fd)
                data = self._data
                if early:
                    os.close(data_write)
                    data = _receive(data_read)
                    if data is None:
                        os._exit(0)
                payload = pickle.dumps(run_gate(self._plan, data, parallel=False))
                with os.fdopen(write_fd, "wb") as out:
                    out.write(payload)
            except BaseException:  # noqa: BLE001 - the parent redoes the gate inline
                code = 1
            finally:
                os._exit(code)
        os.close(write_fd)
        if early:
            os.close(data_read)
            self._data_fd = data_write
        self._pid = pid

        def collect() -> None:   # drain the pipe as the child writes, so it can finish and exit
            chunks = []
            with os.fdopen(read_fd, "rb") as pipe:
                while chunk := pipe.read(1 << 16):
                    chunks.append(chunk)
            _, status = os.waitpid(pid, 0)
            if status == 0 and chunks:
                self._payload = b"".join(chunks)

        self._reader = threading.Thread(target=collect, name="trialpress-gate", daemon=True)
        self._reader.start()

    def wait(self, timeout: float | None = None) -> GateReport:
        """The gate's report (computed inline if the background process could not deliver it). A child still
        running after `timeout` seconds is stopped, and the run with it: a stuck gate never hangs a render."""
        if self._data_fd is not None:
            raise RuntimeError("an early gate waited for before its data were sent")
        if self._reader is not None:
            self._reader.join(timeout)
            if self._reader.is_alive():
                self._kill()
                raise DataError(f"The quality gate did not finish within {timeout:.0f} s; it was stopped and nothing "
                                "was rendered.",
                                hint="For very large data raise the budget: TRIALPRESS_GATE_TIMEOUT=<seconds>.")
            self._reader = None
            if self._payload is not None:
                try:
                    return pickle.loads(self._payload)
                except Exception:  # noqa: BLE001 - a garbled report must not hide data problems: redo inline
                    pass
        return run_gate(self._plan, self._data, parallel=False)

    def _kill(self) -> None:
        if self._reader is None:   # no child, or reaped already (its pid may belong to another process now)
            return
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._reader.join()
        self._reader = None

    def close(self) -> None:
        """Wait for the child (it never outlives the run); an early child still waiting for data is stopped."""
        if self._data_fd is not None:
            self.cancel()
        if self._reader is not None:
            self._reader.join()
            self._reader = None


def small_enough_to_send(files: list[Path]) -> bool:
    """Whether an early child is worth starting: the data files (Parquet weighted by its compression) are
    small enough that their frames will likely be handed over. Large data would only pay for an import that
    competes with the loading on the second core, and a child killed after it."""
    total = 0
    for f in files:
        try:
            size = f.stat().st_size
        except OSError:
            return False
        total += size * (PARQUET_EXPANSION if f.suffix.lower() == ".parquet" else 1)
    return total <= EARLY_MAX_FILE_BYTES


def _receive(fd: int) -> Any:
    """In an early child: import great_expectations, then read the parent's data (None: none came)."""
    from trialpress.quality._gx import import_gx

    import_gx()
    with os.fdopen(fd, "rb") as pipe:
        raw = pipe.read()
    return pickle.loads(raw) if raw else None


def _frames_bytes(data: StudyData) -> int:
    return sum(int(f.memory_usage(index=True, deep=False).sum()) for f in data.frames.values())

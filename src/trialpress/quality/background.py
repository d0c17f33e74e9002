"""Run the quality gate in a second process while the analysis is computed in memory.

great_expectations takes ~3 s to import; on a 2-core machine the gate and the analysis can run
side by side. The gate runs in a forked child that sees the loaded data without a copy, sends its
report through a pipe and exits at once, so its memory is returned while the analysis still runs
(a pooled worker would idle on its heap until shut down). Nothing is published before the gate's
verdict: the caller waits for it before any artefact leaves its staging folder, and a failed gate
wins over any error the analysis of the same bad data raised. Where `fork` is unavailable, or the
child fails, the gate runs inline.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading

from trialpress.data.loading import StudyData
from trialpress.errors import DataError
from trialpress.plan import Plan
from trialpress.quality.gate import GateReport, run_gate


class GateJob:
    def __init__(self, plan: Plan, data: StudyData) -> None:
        self._plan, self._data = plan, data
        self._payload: bytes | None = None
        self._reader: threading.Thread | None = None
        self._pid: int | None = None
        if hasattr(os, "fork"):
            self._start()

    def _start(self) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:   # the child: gate, send, leave without running the parent's exit handlers
            code = 0
            try:
                os.close(read_fd)
                payload = pickle.dumps(run_gate(self._plan, self._data, parallel=False))
                with os.fdopen(write_fd, "wb") as out:
                    out.write(payload)
            except BaseException:  # noqa: BLE001 - the parent redoes the gate inline
                code = 1
            finally:
                os._exit(code)
        os.close(write_fd)
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
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._reader is not None:
            self._reader.join()
            self._reader = None

    def close(self) -> None:
        """Wait for the child (it never outlives the run)."""
        if self._reader is not None:
            self._reader.join()
            self._reader = None

"""Run the quality gate in a second process while the analysis is computed in memory.

great_expectations takes ~3 s to import; on a 2-core machine the gate and the analysis can run
side by side. Nothing is published before the gate's verdict: the caller waits for it before any
artefact leaves its staging folder, and a failed gate wins over any error the analysis of the same
bad data raised. Where `fork` is unavailable the gate simply runs inline.
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import Future, ProcessPoolExecutor

from trialpress.data.loading import StudyData
from trialpress.plan import Plan
from trialpress.quality.gate import GateReport, run_gate


def _serial_gate(plan: Plan, data: StudyData) -> GateReport:
    """The gate in one process: beside the analysis, the second core is taken."""
    return run_gate(plan, data, parallel=False)


class GateJob:
    def __init__(self, plan: Plan, data: StudyData) -> None:
        self._plan, self._data = plan, data
        self._pool: ProcessPoolExecutor | None = None
        self._future: Future[GateReport] | None = None
        if "fork" in mp.get_all_start_methods():
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork"))
            self._future = self._pool.submit(_serial_gate, plan, data)

    def wait(self) -> GateReport:
        """The gate's report (computed inline if the background process could not deliver it)."""
        try:
            if self._future is not None:
                try:
                    return self._future.result()
                except Exception:  # noqa: BLE001 - a broken worker must not hide data problems: redo inline
                    pass
            return run_gate(self._plan, self._data, parallel=False)
        finally:
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

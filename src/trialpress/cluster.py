"""Plans as tasks on an existing Dask cluster (`trialpress render-all --scheduler tcp://host:8786`).

Dask is not a dependency of trialpress: it is imported here only when a scheduler address is given, and
must be installed (`pip install "dask[distributed]"`) in this environment and on every worker, together
with trialpress. Each plan is one independent task (`pipeline.render_task`); the workers need the project
files (plans, data, templates, report folder) at the same absolute paths, e.g. on a shared file system.
Inside a Dask worker other threads run, so the render's quality gate runs inline there, never forked.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from trialpress.errors import UsageError


def run_on_dask(address: str, task: Callable[..., Any], args: Sequence[tuple[Any, ...]],
                on_done: Callable[[Any], None] | None = None) -> list[Any]:
    """Submit `task(*a)` for each `a` to the scheduler at `address`; results in submission order."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise UsageError("--scheduler needs Dask's distributed scheduler, which is not installed.",
                         hint='pip install "dask[distributed]" here and on the workers, or leave out --scheduler '
                              "to use a local process pool.") from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"Cannot reach the Dask scheduler at {address}: {exc}.",
                         hint="Start it (dask scheduler; dask worker <address>) or check the address.") from None
    with client:
        run = uuid.uuid4().hex[:12]
        futures = [client.submit(task, *a, pure=False, key=f"trialpress-render-{run}-{i}") for i, a in enumerate(args)]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        for fut in as_completed(futures):
            results[index[fut.key]] = fut.result()
            if on_done is not None:
                on_done(results[index[fut.key]])
    return results

"""Import great_expectations fast.

`import great_expectations` costs ~3 s on the project machine; ~1 s of it is scipy.stats and
altair, which GE imports at module level only for expectations trialpress never uses (KL
divergence, KS tests) and touches only inside their functions: they are deferred while GE is
imported (`lazy_imports.deferred`). Nothing of GE is patched.

The cyclic garbage collector is paused during the import (GE creates ~10^6 objects and nothing of
them is garbage) and the surviving objects are then frozen (`gc.freeze`): later collections and
the interpreter's shutdown no longer walk GE's module graph, which saved ~0.5 s per process exit.

Measured on the project machine: import ~1.45 s instead of ~2.9 s, exit ~0.05 s instead of ~0.5 s.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from typing import Any

from trialpress.lazy_imports import deferred

DEFERRED = ("scipy.stats", "altair")


def import_gx() -> Any:
    """The `great_expectations` module, imported quietly (no analytics, no progress bars, no logs)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    if "great_expectations" in sys.modules:
        return sys.modules["great_expectations"]
    collecting = gc.isenabled()
    gc.disable()
    try:
        with deferred(*DEFERRED):
            import great_expectations as gx
    finally:
        if collecting:
            gc.enable()
    gc.freeze()
    try:  # tqdm's documented switch: no monitor thread (GE's bars are off; a thread would make forks unsafe)
        import tqdm

        tqdm.tqdm.monitor_interval = 0
    except Exception:  # noqa: BLE001 - cosmetic
        pass
    return gx

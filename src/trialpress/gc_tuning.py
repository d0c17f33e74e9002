"""The cyclic garbage collector's thresholds for a batch process.

CPython collects its youngest generation after every 700 net allocations of container objects, and the
older ones every 10 of those. A cold flagship render allocates millions (pandas, the ARD rows, Jinja,
matplotlib): ~380 collections, 0.13-0.15 s of the report process's CPU, half of it in full collections
that walk every imported module's objects. With a youngest generation of 20,000 there are ~11, 0.06-0.09 s
in all, and none of them full. Garbage in reference cycles lives a little longer (a full collection after
~2 million allocations instead of ~70,000), which a process holding frames of 10^6 rows does not notice:
its memory is in arrays, not in cycles.
"""

from __future__ import annotations

import gc

THRESHOLDS = (20_000, 10, 10)


def tune_for_batch() -> None:
    """Set the thresholds above (the CLI and the figure worker call it at start-up)."""
    gc.set_threshold(*THRESHOLDS)

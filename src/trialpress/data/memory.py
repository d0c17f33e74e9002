"""Give freed memory back to the operating system between the big steps of a run.

With 10^6 subjects a step frees hundreds of MB of temporaries; glibc's allocator and Arrow's pool keep
such memory for reuse unless asked to return it, and the forked quality gate then sees a fatter parent.
Returning it keeps the peak of the whole process tree low. No effect on results; a no-op where the C
library has no `malloc_trim` (macOS, Windows, musl).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def release_memory(arrow: bool = True) -> None:
    """Return freed heap (and, with `arrow`, Arrow pool) memory to the operating system. A forked child
    passes arrow=False: it leaves the Arrow pool, whose threads were the parent's, alone."""
    if arrow and "pyarrow" in sys.modules:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)

"""Arrow allocates from the C library's allocator once a dataset is read (mimalloc kept ~80 MB of a finished
CSV read resident at 10^5 subjects), unless the user picked a pool with Arrow's own environment variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CODE = """
import pyarrow as pa
from pathlib import Path
from trialpress.data.readers import read_dataset
before = pa.default_memory_pool().backend_name
frame = read_dataset(Path({path!r}))
print(before, pa.default_memory_pool().backend_name, len(frame))
"""


@pytest.mark.parametrize("chosen", [None, "mimalloc"])
def test_reading_switches_arrow_to_the_system_pool_unless_chosen(tmp_path: Path, chosen: str | None) -> None:
    path = tmp_path / "adsl.csv"
    path.write_text("USUBJID,AGE\nS-1,34\nS-2,51\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    out = subprocess.run([sys.executable, "-c", CODE.format(path=str(path))], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out[2] == "2"
    if chosen:
        assert out[:2] == [chosen, chosen]
    else:
        assert out[0] != "system" and out[1] == "system"

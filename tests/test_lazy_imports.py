"""`lazy_imports.deferred`: while a library is imported, the named modules are stand-ins that import the real
module on first use; afterwards nothing of the stand-ins is left in `sys.modules`, a later import gets the
real module, and a stand-in the library kept forwards to it. The analyses' scipy.special comes without
numpy.f2py and numpy.testing; great_expectations without scipy.stats and altair. Each check runs in a fresh
interpreter (these modules may be imported in the test process already)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _run(code: str, tmp_path: Path) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, capture_output=True,
                          text=True, env={"PYTHONPATH": f"{SRC}:{tmp_path}", "PATH": "/usr/bin:/bin"}, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_deferred_module_is_imported_on_first_use_only(tmp_path: Path) -> None:
    (tmp_path / "uses_testing.py").write_text("import numpy.testing as nt\n", encoding="utf-8")
    out = _run("""
        import sys
        from trialpress.lazy_imports import deferred
        with deferred("numpy.testing"):
            import uses_testing
        print("after import:", "numpy.testing" in sys.modules, "testing" in vars(sys.modules["numpy"]))
        f = uses_testing.nt.assert_allclose          # the kept stand-in forwards to the real module
        import numpy.testing
        print("after use:", "numpy.testing" in sys.modules, f is numpy.testing.assert_allclose,
              type(numpy.testing).__name__)
    """, tmp_path)
    assert "after import: False False" in out
    assert "after use: True True module" in out


def test_the_analyses_scipy_special_comes_without_numpy_f2py_and_testing(tmp_path: Path) -> None:
    out = _run("""
        import sys
        from trialpress.analysis import distributions as dist, response
        print(sorted(m for m in ("numpy.f2py", "numpy.testing", "scipy.stats") if m in sys.modules))
        print(round(dist.norm_ppf(0.975), 12), response.special is dist.special)
    """, tmp_path)
    assert out.splitlines() == ["[]", "1.95996398454 True"]


def test_great_expectations_comes_without_scipy_stats(tmp_path: Path) -> None:
    out = _run("""
        import sys
        from trialpress.quality._gx import import_gx
        gx = import_gx()
        print(sorted(m for m in ("scipy.stats", "altair") if m in sys.modules), gx.__name__)
    """, tmp_path)
    assert out.splitlines() == ["[] great_expectations"]


def test_the_cli_and_the_figure_worker_tune_the_garbage_collector(tmp_path: Path) -> None:
    out = _run("""
        import gc, io, sys
        from trialpress import cli
        from trialpress.gc_tuning import THRESHOLDS
        print(gc.get_threshold() != THRESHOLDS)
        cli.main(["list", "--reports", "."])
        print(gc.get_threshold() == THRESHOLDS)
        gc.set_threshold(700, 10, 10)
        from trialpress.report.figures import worker
        sys.stdin = io.TextIOWrapper(io.BytesIO(b"\\n"))     # no jobs: the worker ends at once
        print(worker.main() == 0 and gc.get_threshold() == THRESHOLDS)
    """, tmp_path)
    assert out.splitlines()[0] == "True" and out.splitlines()[-2:] == ["True", "True"]

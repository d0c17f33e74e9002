"""Benchmarks of the whole tool (not tests): cold renders of the flagship, the no-change re-render, and
scaling of gate / analysis / render with pooled data of 10^3 … 10^6 subjects.

    python benchmarks/run.py                       # flagship (5 cold renders) + scaling 1e3 … 1e6 (~8 min)
    python benchmarks/run.py --sizes 1000 1000000  # choose the scaling sizes
    python benchmarks/run.py --sizes               # the flagship only
    python benchmarks/run.py --skip-flagship
    python benchmarks/run.py --sizes --loop 5       # the flagship and 5 writer's-loop renders
    python benchmarks/run.py --sizes --loop 0 --watch 6 --skip-flagship   # the writer's loop under render --watch

The writer's loop: in a copy of the project, one cold render, then `--loop` times a template edit followed
by a render in a fresh process (the analysis, gate and figures come from the work cache); each reports its
wall time and whether the work was reused. `--watch` does the same edits under `render --watch` (one
long-running process), HTML only and with the plan's formats: the time from the save to the new version.

Each measurement runs `trialpress` in a fresh process (imports included) and reads its per-step
timings; peak memory is the largest sum of the proportional set sizes (PSS) of the command and its child
processes (the forked quality gate), sampled every 250 ms. Prints a table, writes benchmarks/results/run.json.
Scaled data are the flagship's subjects resampled with new ids (ADSL, ADTTE, ADRS, ADAE; about 9.4 AEs per
subject) written as typed Parquet (numbers, dates, text), so large data are read with pyarrow.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "analysis" / "blinatumomab-salvage.yml"
TRIALPRESS = [sys.executable, "-m", "trialpress"]
STEP = re.compile(r"✓ (\w+)\s+([\d.]+) s")


class TreeMemory:
    """Peak memory of a process and its children, sampled every 250 ms: the sum of their proportional set
    sizes (PSS: pages shared after fork are counted once, split between the sharers). ru_maxrss alone would
    miss the forked quality gate, and summing RSS would count the shared data twice."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_mb, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        pids, frontier = [self.pid], [self.pid]
        while frontier:
            parent = frontier.pop()
            try:
                children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
            except OSError:
                continue
            frontier += [int(c) for c in children]
            pids += [int(c) for c in children]
        return pids

    def _sample(self) -> None:
        while not self._stop.is_set():
            total = 0.0
            for pid in self._tree():
                try:
                    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                        if line.startswith("Pss:"):
                            total += int(line.split()[1]) / 1024
                            break
                except OSError:
                    pass
            self.peak_mb = max(self.peak_mb, total)
            self._stop.wait(0.25)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def run(args: list[str], cwd: Path) -> tuple[float, float, dict[str, float], str]:
    """Wall seconds, peak memory (MB, the process tree's PSS), its step timings, and its stderr."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([*TRIALPRESS, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    memory = TreeMemory(proc.pid)
    _, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    peak = memory.stop()
    if proc.returncode != 0:
        raise SystemExit(f"trialpress {' '.join(args)} failed:\n{stderr[-3000:]}")
    steps = {m.group(1): float(m.group(2)) for m in STEP.finditer(stderr)}
    return wall, peak, steps, stderr


def flagship(repeats: int) -> dict[str, object]:
    walls, peaks, steps = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            out = Path(tmp) / f"r{i}"
            wall, peak, st, _ = run(["render", str(PLAN), "--out", str(out)], ROOT)
            walls.append(wall)
            peaks.append(peak)
            steps.append(st)
        again, _, _, _ = run(["render", str(PLAN), "--out", str(Path(tmp) / "r0")], ROOT)
    median_steps = {k: statistics.median(s.get(k, math.nan) for s in steps) for k in steps[0]}
    return {"wall_median_s": statistics.median(walls), "wall_all_s": walls, "peak_mb": max(peaks),
            "steps_median_s": median_steps, "no_change_rerender_s": again}


def writer_loop(repeats: int) -> dict[str, object]:
    """Template edits re-rendered in fresh processes, after one cold render (work cache warm)."""
    walls, reused = [], []
    with tempfile.TemporaryDirectory() as tmp:
        project = _project_copy(Path(tmp))
        plan = project / "analysis" / PLAN.name
        cold, _, _, _ = run(["render", str(plan)], project)
        methods = project / "templates" / "article" / "methods.qmd.j2"
        for i in range(repeats):
            methods.write_text(methods.read_text() + f"\nA sentence the writer added ({i}).\n")
            wall, _, _, stderr = run(["render", str(plan)], project)
            walls.append(wall)
            reused.append("reused: analysis, figures" in stderr)
    return {"cold_s": cold, "wall_median_s": statistics.median(walls), "wall_all_s": walls,
            "all_reused": all(reused)}


def _project_copy(where: Path) -> Path:
    project = where / "project"
    project.mkdir()
    shutil.copy(ROOT / "_quarto.yml", project)
    for folder in ("analysis", "data", "templates"):
        shutil.copytree(ROOT / folder, project / folder)
    return project


def watch_loop(repeats: int, formats: list[str]) -> dict[str, object]:
    """`render --watch` in one process: after its first render, `repeats` template saves; for each, the time
    from the save to the new version's folder printed (polling and settling included) and the render's own
    time as the watch reports it."""
    with tempfile.TemporaryDirectory() as tmp:
        project = _project_copy(Path(tmp))
        plan = project / "analysis" / PLAN.name
        args = [*TRIALPRESS, "render", str(plan), "--watch", "--quiet", *[a for f in formats for a in ("--format", f)]]
        proc = subprocess.Popen(args, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "COLUMNS": "200"})

        def line_of(stream: object, pattern: str) -> str:
            while True:
                line = stream.readline()  # type: ignore[attr-defined]
                if not line:
                    raise SystemExit(f"the watch ended: {proc.stderr.read()[-2000:]}")  # type: ignore[union-attr]
                if re.search(pattern, line):
                    return line

        saved, rendered = [], []
        try:
            line_of(proc.stdout, r"report/")
            line_of(proc.stderr, r"rendered in")
            methods = project / "templates" / "article" / "methods.qmd.j2"
            for i in range(repeats):
                time.sleep(0.5)
                methods.write_text(methods.read_text() + f"\nA sentence the writer added ({i}).\n")
                t0 = time.perf_counter()
                line_of(proc.stdout, r"report/")
                saved.append(time.perf_counter() - t0)
                rendered.append(float(re.search(r"rendered in ([\d.]+) s", line_of(proc.stderr, r"rendered in")
                                                ).group(1)))  # type: ignore[union-attr]
        finally:
            proc.terminate()
            proc.wait(30)
    return {"formats": formats, "save_to_version_median_s": statistics.median(saved), "save_to_version_all_s": saved,
            "render_median_s": statistics.median(rendered), "render_all_s": rendered}


def scaled_project(n: int, where: Path, seed: int = 7) -> Path:
    """A project with the flagship plan and n resampled subjects, as typed Parquet (numbers as doubles,
    dates as dates, text as strings: what a SAS or R export to Parquet holds)."""
    sys.path.insert(0, str(ROOT / "src"))
    from trialpress.data.loading import load_study
    from trialpress.plan import load_plan

    study = load_study(load_plan(PLAN))
    adsl = study["ADSL"]
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(adsl), n)
    new_ids = pd.Series([f"S{i:08d}" for i in range(n)])
    mapping = pd.DataFrame({"USUBJID": adsl["USUBJID"].to_numpy()[pick], "NEWID": new_ids})

    def remap(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.merge(mapping, on="USUBJID", how="inner").drop(columns="USUBJID")
        return out.rename(columns={"NEWID": "USUBJID"})

    project = where / f"n{n}"
    data = project / "data" / "blinatumomab-salvage"
    data.mkdir(parents=True)
    shutil.copy(ROOT / "_quarto.yml", project)
    shutil.copytree(ROOT / "templates", project / "templates")
    shutil.copytree(ROOT / "analysis", project / "analysis")
    (project / "analysis" / "velotrepin-copd.yml").unlink(missing_ok=True)
    for name in ("ADSL", "ADTTE", "ADRS", "ADAE"):
        frame = adsl.iloc[pick].assign(USUBJID=new_ids.to_numpy()) if name == "ADSL" else remap(study[name])
        if name == "ADAE":   # AESEQ numbers each subject's records 1, 2, ... (the new subjects share sources)
            frame = frame.assign(AESEQ=frame.groupby("USUBJID", sort=False).cumcount().to_numpy(dtype=float) + 1)
        frame.to_parquet(data / f"{name.lower()}.parquet", index=False)
    return project


def scaling(sizes: list[int]) -> list[dict[str, object]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            project = scaled_project(n, Path(tmp))
            plan = project / "analysis" / "blinatumomab-salvage.yml"
            check_wall, check_peak, check_steps, _ = run(["check", str(plan)], project)
            an_wall, an_peak, an_steps, _ = run(["analyze", str(plan), "--out", str(project / "ard")], project)
            r_wall, r_peak, r_steps, _ = run(["render", str(plan), "--out", str(project / "report")], project)
            rows.append({"n": n, "check_s": check_wall, "check_peak_mb": check_peak, "analyze_s": an_wall,
                         "analyze_peak_mb": an_peak, "render_s": r_wall, "render_peak_mb": r_peak,
                         "render_steps_s": r_steps, "ae_rows": int(pd.read_parquet(
                             project / "data" / "blinatumomab-salvage" / "adae.parquet", columns=["AESEQ"]).shape[0])})
            print(f"  n={n:>9,}: check {check_wall:6.1f} s, analyze {an_wall:6.1f} s, render {r_wall:6.1f} s, "
                  f"peak {max(check_peak, an_peak, r_peak):7.0f} MB", flush=True)
            shutil.rmtree(project)
    return rows


def exponent(rows: list[dict[str, object]], key: str, fixed: float = 0.0) -> float:
    """Slope of log(time - fixed) on log(n) over the two largest sizes: 1 is linear. With `fixed` the time
    at the smallest size (imports, start-up), it is the growth of the part that depends on the data."""
    if len(rows) < 2:
        return math.nan
    a, b = rows[-2], rows[-1]
    ta, tb = float(a[key]) - fixed, float(b[key]) - fixed  # type: ignore[arg-type]
    if ta <= 0 or tb <= 0:
        return math.nan
    return math.log(tb / ta) / math.log(float(b["n"]) / float(a["n"]))  # type: ignore[arg-type]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-flagship", action="store_true")
    ap.add_argument("--loop", type=int, default=5, help="writer's-loop renders (0: none)")
    ap.add_argument("--watch", type=int, default=5, help="template saves under render --watch, HTML only and the "
                                                          "plan's formats (0: none)")
    args = ap.parse_args()
    result: dict[str, object] = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                                            f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
                                 "python": platform.python_version()}
    if not args.skip_flagship:
        print(f"Flagship: {args.repeats} cold renders …", flush=True)
        result["flagship"] = f = flagship(args.repeats)
        print(f"  median {f['wall_median_s']:.2f} s (all: {', '.join(f'{w:.1f}' for w in f['wall_all_s'])}), "  # type: ignore[union-attr]
              f"peak {f['peak_mb']:.0f} MB, no-change re-render {f['no_change_rerender_s']:.2f} s")
        print("  steps (median s): " + ", ".join(f"{k} {v:.2f}" for k, v in f["steps_median_s"].items()))  # type: ignore[union-attr]
    if args.loop:
        print(f"Writer's loop: {args.loop} template edits, each rendered in a fresh process …", flush=True)
        result["writer_loop"] = w = writer_loop(args.loop)
        print(f"  median {w['wall_median_s']:.2f} s (all: {', '.join(f'{x:.2f}' for x in w['wall_all_s'])}; "  # type: ignore[union-attr]
              f"cold render first: {w['cold_s']:.2f} s; work reused every time: {w['all_reused']})")
    if args.watch:
        result["watch_loop"] = []
        for formats in (["html"], []):
            what = " + ".join(formats).upper() or "the plan's formats"
            print(f"render --watch, {what}: {args.watch} template saves …", flush=True)
            w = watch_loop(args.watch, formats)
            result["watch_loop"].append(w)  # type: ignore[union-attr]
            print(f"  save to new version: median {w['save_to_version_median_s']:.2f} s (all: "
                  f"{', '.join(f'{x:.2f}' for x in w['save_to_version_all_s'])}); the render alone: median "  # type: ignore[union-attr]
                  f"{w['render_median_s']:.2f} s")
    if args.sizes:
        print("Scaling (fresh process per command):", flush=True)
        rows = scaling(sorted(args.sizes))
        result["scaling"] = rows
        keys = ("check_s", "analyze_s", "render_s")
        result["growth_exponent"] = {k: exponent(rows, k) for k in keys}
        result["growth_exponent_size_dependent"] = {k: exponent(rows, k, float(rows[0][k])) for k in keys}  # type: ignore[arg-type]
        print("  growth exponent over the two largest sizes: " + ", ".join(
            f"{k} {v:.2f}" for k, v in result["growth_exponent"].items()))  # type: ignore[union-attr]
        print(f"  … of the time above that at n={rows[0]['n']:,} (start-up): " + ", ".join(
            f"{k} {v:.2f}" for k, v in result["growth_exponent_size_dependent"].items()))  # type: ignore[union-attr]
    out = ROOT / "benchmarks" / "results" / "run.json"
    out.parent.mkdir(exist_ok=True)
    earlier = json.loads(out.read_text()) if out.exists() else {}   # a partial run keeps the other parts
    out.write_text(json.dumps({**earlier, **result}, indent=1) + "\n")


if __name__ == "__main__":
    main()

"""Benchmark: KM, log-rank and Cox for two groups on simulated patients (default 1,000,000).

Not a test. Prints a table and writes benchmarks/results/survival_1m.json. When R with `survival`
is installed, times survfit + survdiff + coxph on the same data in the same run (this script
installs nothing; it says when R is absent).

    python benchmarks/survival_1m.py [--n 1000000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from trialpress.analysis import survival as sv

HERE = Path(__file__).resolve().parent


def simulate(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 2, n)
    t = rng.exponential(np.where(g == 1, 6.0, 10.0) / np.log(2))
    c = rng.uniform(0, 36, n)
    return pd.DataFrame({"time": np.round(np.minimum(t, c), 2), "event": (t <= c).astype(int), "g": g.astype(float)})


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run_r(frame: pd.DataFrame) -> dict[str, float] | None:
    if not shutil.which("Rscript"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        frame.to_csv(csv, index=False)
        script = (
            "suppressMessages(library(survival)); d <- read.csv('%s');"
            "t0 <- proc.time()[['elapsed']]; f <- survfit(Surv(time, event) ~ g, d, conf.type='log-log');"
            "q <- quantile(f, 0.5); t1 <- proc.time()[['elapsed']]; s <- survdiff(Surv(time, event) ~ g, d);"
            "t2 <- proc.time()[['elapsed']]; m <- coxph(Surv(time, event) ~ g, d, ties='efron');"
            "t3 <- proc.time()[['elapsed']]; cat(t1-t0, t2-t1, t3-t2, exp(coef(m)), '\\n')" % csv)
        out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            return None
        km, lr, cx, hr = (float(v) for v in out.stdout.split())
        return {"km": km, "logrank": lr, "cox": cx, "total": km + lr + cx, "hr": hr}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    frame = simulate(args.n, args.seed)
    g = frame["g"].to_numpy()
    ours: dict[str, float] = {}
    curves, ours["km"] = timed(lambda: [sv.km_quantile(sv.kaplan_meier(frame.loc[g == k, "time"].to_numpy(),
                                                                       frame.loc[g == k, "event"].to_numpy()))
                                        for k in (0, 1)])
    _, ours["logrank"] = timed(lambda: sv.logrank(frame["time"].to_numpy(), frame["event"].to_numpy(), g))
    fit, ours["cox"] = timed(lambda: sv.cox(frame, "time", "event", ["g"]))
    ours["total"] = ours["km"] + ours["logrank"] + ours["cox"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    r = run_r(frame)
    result = {"n": args.n, "machine": f"{platform.machine()}, {platform.processor() or ''} {__import__('os').cpu_count()} cores",
              "python": platform.python_version(), "ours_seconds": ours, "peak_rss_mb": round(peak_mb),
              "hr_ours": fit.terms["g"].hr.value, "r_seconds": r,
              "ratio_ours_over_r": (ours["total"] / r["total"]) if r else None}
    print(f"n = {args.n:,}   peak RSS {peak_mb:,.0f} MB")
    print(f"{'step':<10}{'ours (s)':>10}{'R (s)':>10}")
    for k in ("km", "logrank", "cox", "total"):
        print(f"{k:<10}{ours[k]:>10.2f}{(r[k] if r else float('nan')):>10.2f}")
    print(f"HR ours {fit.terms['g'].hr.value:.6f}" + (f", R {r['hr']:.6f}; ratio ours/R {result['ratio_ours_over_r']:.2f}"
                                                       if r else "; R not installed: no side-by-side"))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "survival_1m.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()

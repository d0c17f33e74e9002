"""Benchmark: MMRM (unstructured, Satterthwaite) at 10^4 subjects × 8 visits, and ANCOVA at 10^6 subjects.

Not a test. Prints a table and writes benchmarks/results/continuous.json. When R with nlme and emmeans is
installed, fits the same MMRM with nlme::gls (corSymm + varIdent, REML) on the same data in the same run
and times it; this script installs nothing and says when R is absent.

    python benchmarks/continuous_bench.py [--subjects 10000] [--visits 8] [--ancova-n 1000000] [--seed 1]

R's time covers gls (apVar off: nlme's finite-difference Hessian is not needed for the fit) and the LS
means with emmeans; its Satterthwaite df is not included (for gls emmeans relies on that Hessian), while
trialpress's time includes the Satterthwaite df of every LS mean and difference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from trialpress.analysis.ancova import ancova
from trialpress.analysis.mmrm import mmrm

HERE = Path(__file__).resolve().parent
ARMS = np.array(["A", "B", "C"])


def simulate_long(n: int, t: int, seed: int) -> pd.DataFrame:
    """Three arms, a baseline covariate, a 3-level stratum; AR-like correlation with rising variances;
    monotone dropout (~3% per visit) and ~5% intermittent missed visits."""
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 3, n)
    stratum = rng.integers(0, 3, n)
    base = rng.normal(50, 10, n)
    lag = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
    sd = np.linspace(6, 10, t)
    cov = np.outer(sd, sd) * 0.6 ** lag
    err = rng.multivariate_normal(np.zeros(t), cov, n)
    effect = np.array([0.0, -1.0, 1.5])[arm][:, None] * np.linspace(0.2, 1, t)[None, :]
    chg = -0.3 * (base[:, None] - 50) + 2 * np.linspace(0, 1, t)[None, :] + effect + 0.5 * stratum[:, None] + err
    dropout = np.minimum(rng.geometric(0.03, n), t + 1)  # first missing visit (1-based); > t: completer
    observed = (np.arange(1, t + 1)[None, :] < dropout[:, None]) & (rng.random((n, t)) > 0.05)
    observed[:, 0] |= ~observed.any(axis=1)
    sub, vis = np.nonzero(observed)
    return pd.DataFrame({"USUBJID": sub, "ARM": ARMS[arm[sub]], "AVISIT": vis + 1, "BASE": base[sub],
                         "STRATA": np.array(["S1", "S2", "S3"])[stratum[sub]], "CHG": chg[sub, vis]})


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


R_MMRM = r"""
suppressMessages({library(nlme); library(emmeans)})
d <- read.csv("%s")
d$ARM <- factor(d$ARM); d$STRATA <- factor(d$STRATA); d$vi <- as.integer(d$AVISIT)
d$AVISIT <- factor(d$AVISIT, levels = sort(unique(d$AVISIT)))
t0 <- proc.time()[["elapsed"]]
fit <- gls(CHG ~ ARM * AVISIT + BASE + STRATA, data = d, correlation = corSymm(form = ~ vi | USUBJID),
           weights = varIdent(form = ~ 1 | AVISIT), method = "REML", control = glsControl(apVar = FALSE))
t1 <- proc.time()[["elapsed"]]
emm <- summary(emmeans(fit, ~ ARM | AVISIT, mode = "df.error", data = d))
t2 <- proc.time()[["elapsed"]]
cat(sprintf("%%.17g", c(t1 - t0, t2 - t1, as.numeric(logLik(fit)), emm$emmean[1], emm$emmean[nrow(emm)])), "\n")
"""

R_ANCOVA = r"""
suppressMessages(library(emmeans))
d <- read.csv("%s"); d$ARM <- factor(d$ARM); d$STRATA <- factor(d$STRATA)
t0 <- proc.time()[["elapsed"]]
fit <- lm(CHG ~ ARM + BASE + STRATA, data = d)
e <- summary(contrast(emmeans(fit, ~ ARM), "trt.vs.ctrl", adjust = "none"))
cat(sprintf("%%.17g", c(proc.time()[["elapsed"]] - t0, e$estimate[1])), "\n")
"""


def run_r(script: str, frame: pd.DataFrame) -> list[float] | None:
    if not shutil.which("Rscript"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        frame.to_csv(csv, index=False)
        out = subprocess.run(["Rscript", "-e", script % csv], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(out.stderr[-2000:])
            return None
        return [float(v) for v in out.stdout.split()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--subjects", type=int, default=10_000)
    ap.add_argument("--visits", type=int, default=8)
    ap.add_argument("--ancova-n", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-r", action="store_true", help="skip the R side")
    args = ap.parse_args()

    long = simulate_long(args.subjects, args.visits, args.seed)
    res, t_mmrm = timed(lambda: mmrm(long, "CHG", "ARM", "AVISIT", "USUBJID", covariates=["BASE"],
                                     factors=["STRATA"], covariance="us", df_method="satterthwaite",
                                     reference="A"))
    assert res.converged, res.note
    r_mmrm = None if args.no_r else run_r(R_MMRM, long)

    wide = simulate_long(args.ancova_n, 1, args.seed + 1)
    anc, t_anc = timed(lambda: ancova(wide, "CHG", "ARM", covariates=["BASE"], factors=["STRATA"], reference="A"))
    r_anc = None if args.no_r else run_r(R_ANCOVA, wide)

    n_patterns = long.groupby("USUBJID")["AVISIT"].apply(tuple).nunique()
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version(),
        "mmrm": {"subjects": args.subjects, "visits": args.visits, "observations": len(long),
                 "missingness_patterns": int(n_patterns), "covariance": "us", "df": "satterthwaite",
                 "trialpress_seconds": round(t_mmrm, 3), "reml_loglik": res.reml_loglik,
                 "iterations": res.iterations,
                 "r_gls_seconds": None if r_mmrm is None else round(r_mmrm[0], 3),
                 "r_emmeans_seconds": None if r_mmrm is None else round(r_mmrm[1], 3),
                 "r_reml_loglik": None if r_mmrm is None else r_mmrm[2],
                 # equal weights over STRATA on both sides (emmeans' default)
                 "first_lsmean": [res.lsmeans_equal[0].estimate, None if r_mmrm is None else r_mmrm[3]],
                 "last_lsmean": [res.lsmeans_equal[-1].estimate, None if r_mmrm is None else r_mmrm[4]]},
        "ancova": {"subjects": args.ancova_n, "trialpress_seconds": round(t_anc, 3), "goal_seconds": 2.0,
                   "first_difference": [anc.differences[0].estimate, None if r_anc is None else r_anc[1]],
                   "r_lm_emmeans_seconds": None if r_anc is None else round(r_anc[0], 3)},
    }
    if r_mmrm is not None:
        result["mmrm"]["ratio_trialpress_over_r"] = round(t_mmrm / (r_mmrm[0] + r_mmrm[1]), 4)
    print(f"{'step':<44}{'trialpress (s)':>16}{'R (s)':>12}")
    rs = "—" if r_mmrm is None else f"{r_mmrm[0] + r_mmrm[1]:.2f}"
    print(f"{f'MMRM US Satterthwaite, {args.subjects} x {args.visits}':<44}{t_mmrm:>16.2f}{rs:>12}")
    ra = "—" if r_anc is None else f"{r_anc[0]:.2f}"
    print(f"{f'ANCOVA, {args.ancova_n} subjects':<44}{t_anc:>16.2f}{ra:>12}")
    if r_mmrm is not None:
        print(f"REML log-likelihood: trialpress {res.reml_loglik:.6f}, R {r_mmrm[2]:.6f}; "
              f"ratio trialpress/R {result['mmrm']['ratio_trialpress_over_r']}")
    else:
        print("Rscript with nlme/emmeans not found: R side skipped")
    out = HERE / "results" / "continuous.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()

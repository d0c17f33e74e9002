"""Write the CSV extracts behind tests/reference/r/continuous.R from the public ADaM package.

Source: data/random-cdisc-data/adqs.xpt (random.cdisc.data, Apache-2.0; see its README). The parameter is
FKSIALL (FKSI-19 All Questions), ITT subjects, post-baseline scheduled visits (AVISITN 1..5, i.e. WEEK 1 DAY 8
to WEEK 5 DAY 36; SCREENING and BASELINE are left out). Run from the repo root:

    .venv/bin/python tests/reference/export_continuous.py

Outputs (tests/reference/data/):
- adqs_fksiall.csv          all 400 subjects × 5 visits;
- adqs_fksiall_missing.csv  the same with ~15% of subject-visits deleted at random (seed 20261201);
- adqs_fksiall_onesubj.csv  the complete extract where the last visit keeps a single subject (edge case:
                            an unstructured covariance cannot be estimated, the fit falls back).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyreadstat

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "data"
COLUMNS = ["USUBJID", "ARM", "AVISIT", "AVISITN", "AVAL", "BASE", "CHG", "STRATA1"]
SEED = 20261201


def main() -> None:
    adqs, _ = pyreadstat.read_xport(str(ROOT / "data" / "random-cdisc-data" / "adqs.xpt"))
    keep = (adqs["PARAMCD"] == "FKSIALL") & (adqs["ITTFL"] == "Y") & (adqs["AVISITN"] >= 1)
    data = adqs.loc[keep, COLUMNS].copy()
    data["AVISITN"] = data["AVISITN"].astype(int)
    data = data.sort_values(["USUBJID", "AVISITN"]).reset_index(drop=True)
    if data.duplicated(["USUBJID", "AVISITN"]).any():
        raise SystemExit("more than one record per subject and visit")
    data.to_csv(OUT / "adqs_fksiall.csv", index=False)

    rng = np.random.default_rng(SEED)
    deleted = rng.random(len(data)) < 0.15
    data.loc[~deleted].to_csv(OUT / "adqs_fksiall_missing.csv", index=False)

    last = data["AVISITN"] == data["AVISITN"].max()
    first_subject = data["USUBJID"].min()
    data.loc[~last | (data["USUBJID"] == first_subject)].to_csv(OUT / "adqs_fksiall_onesubj.csv", index=False)
    print(f"{len(data)} rows, {data['USUBJID'].nunique()} subjects; {int(deleted.sum())} subject-visits deleted "
          f"({deleted.mean():.1%})")


if __name__ == "__main__":
    main()

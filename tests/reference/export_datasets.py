"""Export reference datasets for the R cross-check scripts.

Writes (deterministically, index=False, LF line endings) to tests/reference/data/:
  lung.csv, rossi.csv, leukemia.csv  -- public datasets shipped with lifelines
  edge_noevents.csv                  -- group B has no events at all
  edge_notreached.csv                -- median not reached / S(t)=0.5 on a flat stretch / n=1 group

Run from anywhere:  python tests/reference/export_datasets.py
"""
from pathlib import Path

import pandas as pd
from lifelines.datasets import load_leukemia, load_lung, load_rossi

DATA = Path(__file__).resolve().parent / "data"


def _write(df: pd.DataFrame, name: str) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"{name}.csv"
    # NaN is written as the literal "NA" (read by R read.csv default na.strings)
    df.to_csv(path, index=False, lineterminator="\n", na_rep="NA", float_format="%.10g")
    print(f"wrote {path} ({len(df)} rows)")


def edge_noevents() -> pd.DataFrame:
    # Group A: 8 subjects, 5 events.  Group B: 7 subjects, all censored.
    a_time = [2, 3, 5, 7, 8, 10, 12, 15]
    a_stat = [1, 1, 0, 1, 1, 0, 1, 0]
    b_time = [4, 6, 9, 11, 13, 14, 16]
    b_stat = [0] * len(b_time)
    return pd.DataFrame(
        {
            "time": a_time + b_time,
            "status": a_stat + b_stat,
            "group": ["A"] * len(a_time) + ["B"] * len(b_time),
        }
    )


def edge_notreached() -> pd.DataFrame:
    rows = []
    # NR: KM never drops to 0.5 (n=10, 3 early events then heavy censoring) -> median not reached
    for t, s in [(1, 1), (2, 0), (3, 1), (4, 0), (5, 0), (6, 1), (7, 0), (8, 0), (9, 0), (10, 0)]:
        rows.append((t, s, "NR"))
    # FLAT: times 1,2,3,4 all events, n=4 -> S=0.5 on [2,3): median convention test
    for t in [1, 2, 3, 4]:
        rows.append((t, 1, "FLAT"))
    # ONE: a single subject with an event
    rows.append((5, 1, "ONE"))
    return pd.DataFrame(rows, columns=["time", "status", "group"])


def main() -> None:
    lung = load_lung()
    # lifelines' lung already has status coded 0=censored, 1=dead (R's survival::lung uses 1/2)
    assert set(lung["status"].unique()) <= {0, 1}, lung["status"].unique()
    _write(lung, "lung")
    _write(load_rossi(), "rossi")
    _write(load_leukemia(), "leukemia")
    _write(edge_noevents(), "edge_noevents")
    _write(edge_notreached(), "edge_notreached")


if __name__ == "__main__":
    main()

"""Loading CSV and XPT at scale, side by side with R (not a test).

    nice -n 10 .venv/bin/python benchmarks/side_by_side.py          # 10^5 and 10^6 subjects (~15 min)
    python benchmarks/side_by_side.py --sizes 100000 --repeats 3     # choose the sizes and rounds
    python benchmarks/side_by_side.py --data /tmp/sbs                # keep the generated files (reused)

The flagship is scaled as `benchmarks/run.py` scales it (`run.scaled_project`: its subjects resampled with new
ids, ADSL, ADTTE, ADRS, ADAE, about 9.4 AEs per subject) and written three times: as CSV (quoted only where
needed, as SAS PROC EXPORT or data.table::fwrite write it; numbers in their shortest exact form, ISO dates), as
SAS XPT v5 (dates as SAS dates with a DATE9. format, text as character variables) and as typed Parquet. Then
each round runs, each command in a fresh process, interleaved so that a change in the machine's load falls on
all of them:

- `trialpress analyze` on the CSV files (read, type, quality gate beside the analysis, ARD written);
- `benchmarks/peer/r_pipeline.R` (data.table::fread of the needed columns, survival, glm, AE counts) on the
  same CSV files;
- `trialpress analyze` on the XPT files, then on the Parquet files.

Wall time is the whole command (interpreter start-up, imports and R start-up included), the median over the
rounds; peak memory is the largest sum of the proportional set sizes (PSS) of the command and its child
processes, sampled every 250 ms (`benchmarks/run.py`'s `TreeMemory`, imported). The ARDs of the three formats
are compared row for row. Prints a table, writes benchmarks/results/side_by_side.json (a run of some sizes
keeps the others' rows).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from run import TreeMemory, run, scaled_project  # noqa: E402  (benchmarks/run.py: one way to scale and measure)

R_PIPELINE = HERE / "peer" / "r_pipeline.R"
STUDY = "blinatumomab-salvage"
DATASETS = ("adsl", "adtte", "adrs", "adae")
FORMATS = ("csv", "xpt", "parquet")


# ------------------------------------------------------------------------------------------ the data
def _csv_text(column):  # noqa: ANN001, ANN202 - pyarrow types
    """A column as CSV fields: numbers in their shortest exact form, dates ISO, text quoted only when it holds
    a comma, quote or line break (quotes doubled), missing as an empty field."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.date32())
    text = column.cast(pa.string())
    if pa.types.is_string(column.type):
        needs = pc.match_substring_regex(text, r'[",\r\n]')
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
        text = pc.if_else(needs, quoted, text)
    return text.fill_null("")


def write_csv(table, path: Path) -> None:  # noqa: ANN001
    """Minimal quoting, one record per line (Arrow's own writer quotes every text value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    with path.open("wb") as fh:
        fh.write((",".join(table.column_names) + "\n").encode())
        for start in range(0, table.num_rows, 500_000):
            part = table.slice(start, 500_000).combine_chunks()
            fields = [_csv_text(part.column(i)) for i in range(part.num_columns)]
            lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*fields, ","), "", "\n")
            lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
            fh.write(_values(lines))


def _values(lines) -> bytes:  # noqa: ANN001
    """The bytes of a StringArray's values, back to back."""
    import numpy as np

    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset:lines.offset + len(lines) + 1]
    return memoryview(lines.buffers()[2])[offsets[0]:offsets[-1]].tobytes()


def write_xpt(table, path: Path, name: str) -> None:  # noqa: ANN001
    """SAS transport v5, as a SAS export holds an ADaM dataset: dates as SAS dates (DATE9.), text as
    character variables, numbers as doubles."""
    import pyarrow as pa
    import pyreadstat

    columns = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.date32())
        columns.append(column)
    frame = pa.table(columns, names=table.column_names).to_pandas(date_as_object=True)   # dates: datetime.date
    pyreadstat.write_xport(frame, str(path), table_name=name.upper(), file_format_version=5)


def build(n: int, where: Path) -> dict[str, Path]:
    """The scaled flagship as three projects (csv, xpt, parquet) under `where`, reused when complete."""
    import pyarrow.parquet as pq

    projects = {fmt: where / f"n{n}-{fmt}" for fmt in FORMATS}
    done = where / f"n{n}.done"
    if done.exists() and all(p.is_dir() for p in projects.values()):
        return projects
    for p in projects.values():
        shutil.rmtree(p, ignore_errors=True)
    t0 = time.perf_counter()
    shutil.rmtree(where / f"n{n}", ignore_errors=True)
    source = scaled_project(n, where)                 # run.py's Parquet project: where / f"n{n}"
    source.rename(projects["parquet"])
    data = projects["parquet"] / "data" / STUDY
    for fmt in ("csv", "xpt"):
        shutil.copytree(projects["parquet"], projects[fmt], ignore=shutil.ignore_patterns("*.parquet"))
    for name in DATASETS:
        table = pq.read_table(data / f"{name}.parquet")
        write_csv(table, projects["csv"] / "data" / STUDY / f"{name}.csv")
        write_xpt(table, projects["xpt"] / "data" / STUDY / f"{name}.xpt", name)
        del table
    done.write_text(f"{time.perf_counter() - t0:.0f} s\n")
    return projects


def data_size(project: Path) -> int:
    return sum(f.stat().st_size for f in (project / "data" / STUDY).iterdir() if f.is_file())


# ------------------------------------------------------------------------------------------ the runs
def run_r(folder: Path) -> tuple[float, float, float]:
    """Wall seconds (R start-up included), peak memory (MB, PSS of the tree), and the script's own seconds."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(["Rscript", str(R_PIPELINE), str(folder)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    memory = TreeMemory(proc.pid)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    peak = memory.stop()
    if proc.returncode != 0:
        raise SystemExit(f"r_pipeline.R failed:\n{err[-3000:]}")
    found = re.search(r"pipeline_seconds ([\d.]+)", out)
    return wall, peak, float(found.group(1)) if found else float("nan")


def ard_rows(out: Path) -> list[str]:
    """The ARD's rows as written by `analyze` (sorted lines of its CSV), to compare formats."""
    files = sorted(out.rglob("ard.csv"))
    if not files:
        return []
    return sorted(files[0].read_text(encoding="utf-8").splitlines())


def measure(n: int, projects: dict[str, Path], repeats: int) -> dict[str, object]:
    """`repeats` rounds of: trialpress analyze on CSV, R on the same CSV files, trialpress on XPT, on Parquet
    (interleaved, so that a change in the machine's load falls on all of them); median time, largest peak."""
    plan = Path("analysis") / f"{STUDY}.yml"
    runs: dict[str, list[tuple[float, float, dict[str, float]]]] = {k: [] for k in (*FORMATS, "r_csv")}
    ards: dict[str, list[str]] = {}
    for round_ in range(repeats):
        for what in ("csv", "r_csv", "xpt", "parquet"):
            if what == "r_csv":
                wall, peak, inner = run_r(projects["csv"] / "data" / STUDY)
                runs[what].append((wall, peak, {"pipeline": inner}))
                print(f"  n={n:>9,} [{round_ + 1}] R          csv    : {wall:6.1f} s, peak {peak:7.0f} MB "
                      f"(script {inner:.1f} s)", flush=True)
                continue
            project = projects[what]
            shutil.rmtree(project / "ard", ignore_errors=True)
            wall, peak, steps, _ = run(["analyze", str(plan), "--out", "ard"], project)
            runs[what].append((wall, peak, steps))
            ards[what] = ard_rows(project / "ard")
            print(f"  n={n:>9,} [{round_ + 1}] trialpress {what:<7}: {wall:6.1f} s, peak {peak:7.0f} MB, "
                  f"load {steps.get('load', float('nan')):.1f} s", flush=True)
    row: dict[str, object] = {"n": n, "repeats": repeats}
    for what, got in runs.items():
        ordered = sorted(got, key=lambda r: r[0])
        wall, _, steps = ordered[len(ordered) // 2]
        entry: dict[str, object] = {"wall_s": round(wall, 2), "peak_mb": round(max(r[1] for r in got)),
                                    "all_wall_s": [round(r[0], 1) for r in got]}
        if what == "r_csv":
            entry["pipeline_s"] = round(steps["pipeline"], 2)
        else:
            entry["steps_s"] = steps
            entry["data_mb"] = round(data_size(projects[what]) / 2**20)
        row[what] = entry
    row["ard_rows"] = len(ards["csv"])
    row["ard_identical"] = bool(ards["csv"]) and ards["csv"] == ards["xpt"] == ards["parquet"]
    csv, r = row["csv"], row["r_csv"]
    row["ratio_csv_vs_r"] = {"time": round(csv["wall_s"] / r["wall_s"], 2),        # type: ignore[index]
                             "memory": round(csv["peak_mb"] / r["peak_mb"], 2)}    # type: ignore[index]
    row["ratio_xpt_vs_csv_time"] = round(row["xpt"]["wall_s"] / csv["wall_s"], 2)  # type: ignore[index]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=1, help="runs of each command per size (median time)")
    ap.add_argument("--data", type=Path, help="keep the generated projects here (reused when present)")
    args = ap.parse_args()
    if shutil.which("Rscript") is None:
        raise SystemExit("Rscript not found: the side-by-side benchmark needs R with data.table and survival.")
    out = HERE / "results" / "side_by_side.json"
    earlier = json.loads(out.read_text()) if out.exists() else {}
    rows = {int(r["n"]): r for r in earlier.get("rows", [])}   # a run of some sizes keeps the others
    result: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                   f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        "python": platform.python_version(),
        "r": subprocess.run(["Rscript", "-e", "cat(R.version.string, 'data.table',"
                             " as.character(packageVersion('data.table')), 'survival',"
                             " as.character(packageVersion('survival')))"],
                            capture_output=True, text=True).stdout.strip(),
        "date": time.strftime("%Y-%m-%d"),
        "method": "trialpress analyze (each format) and Rscript benchmarks/peer/r_pipeline.R (the CSV files), "
                  "fresh processes, same run; wall time of the whole command; peak = largest PSS sum of the "
                  "process tree, sampled every 250 ms"}
    with tempfile.TemporaryDirectory() as tmp:
        where = args.data or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        for n in sorted(args.sizes):
            print(f"n = {n:,}: the scaled flagship as CSV, XPT and Parquet …", flush=True)
            projects = build(n, where)
            rows[n] = measure(n, projects, args.repeats)
            if args.data is None:
                for p in projects.values():
                    shutil.rmtree(p, ignore_errors=True)
            result["rows"] = [rows[k] for k in sorted(rows)]
            out.write_text(json.dumps(result, indent=1) + "\n")
    print(table(result["rows"]))   # type: ignore[arg-type]
    print(f"wrote {out.relative_to(ROOT)}")


def table(rows: list[dict[str, object]]) -> str:
    """The measured rows as the Markdown table of benchmarks/README.md."""
    lines = ["| subjects | format (size) | trialpress `analyze` | of which loading | R pipeline, same CSV | "
             "trialpress / R |", "|---|---|---|---|---|---|"]
    for row in rows:
        r = row["r_csv"]
        for fmt in FORMATS:
            m = row[fmt]
            steps = m["steps_s"]  # type: ignore[index]
            ours = f"{m['wall_s']:.1f} s, {_mb(m['peak_mb'])}"  # type: ignore[index]
            peer = f"{r['wall_s']:.1f} s, {_mb(r['peak_mb'])}" if fmt == "csv" else ""  # type: ignore[index]
            ratio = (f"time {row['ratio_csv_vs_r']['time']:.2f}, memory {row['ratio_csv_vs_r']['memory']:.2f}"  # type: ignore[index]
                     if fmt == "csv" else f"XPT / CSV time {row['ratio_xpt_vs_csv_time']:.2f}" if fmt == "xpt" else "")
            lines.append(f"| {row['n']:,} | {fmt.upper() if fmt != 'parquet' else 'Parquet'} "
                         f"({_mb(m['data_mb'])}) | {ours} | {steps.get('load', float('nan')):.1f} s | {peer} | {ratio} |")  # type: ignore[index,union-attr]
    return "\n".join(lines)


def _mb(mb: object) -> str:
    value = float(mb)  # type: ignore[arg-type]
    return f"{value / 1024:.2f} GB" if value >= 1024 else f"{value:.0f} MB"


if __name__ == "__main__":
    main()

"""Export the CDISC pilot's ADSL and ADAE (data/cdiscpilot01/*.parquet) as CSV for the R reference scripts,
which have no Parquet reader here (no R arrow package in Debian).

Only the columns the safety suite's R definitions use; values as pyarrow reads them (dates as ISO 8601 text,
missing as ""), nothing derived. Writes tests/reference/data/cdiscpilot01_adsl.csv and cdiscpilot01_adae.csv.

Run from anywhere:  .venv/bin/python tests/reference/export_cdiscpilot01.py
"""
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "data" / "cdiscpilot01"
DATA = Path(__file__).resolve().parent / "data"
COLUMNS = {
    "adsl": ["USUBJID", "TRT01P", "TRT01A", "ITTFL", "EFFFL", "SAFFL", "TRTSDT", "TRTEDT", "DTHFL", "DCDECOD"],
    "adae": ["USUBJID", "TRTEMFL", "AEBODSYS", "AEDECOD", "AESEV", "AESER", "AEREL", "AEOUT", "ASTDY"],
}

if __name__ == "__main__":
    for name, columns in COLUMNS.items():
        table = pq.read_table(SOURCE / f"{name}.parquet", columns=columns)
        path = DATA / f"cdiscpilot01_{name}.csv"
        pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
        print(f"wrote {path} ({table.num_rows} rows)")

"""The same datasets read from CSV, Parquet and SAS XPT give the same typed frames and the same ARD."""

from __future__ import annotations

from trialpress.results import keys

from pathlib import Path

import pandas as pd
import pytest

from trialpress.data.loading import load_study
from trialpress.data.readers import read_dataset
from trialpress.errors import DataError
from trialpress.plan import load_plan
from trialpress.results.collect import analyse


def _convert(folder: Path, fmt: str) -> None:
    import pyreadstat

    for csv in sorted(folder.glob("*.csv")):
        frame = read_dataset(csv)
        typed = frame.apply(lambda s: pd.to_numeric(s) if s.name in {"AVAL", "CNSR", "AGE"} else s)
        if fmt == "parquet":
            typed.to_parquet(csv.with_suffix(".parquet"), index=False)
        else:
            pyreadstat.write_xport(typed, str(csv.with_suffix(".xpt")), table_name=csv.stem.upper()[:8],
                                   file_format_version=5)
        csv.unlink()


@pytest.mark.parametrize("fmt", ["parquet", "xpt"])
def test_formats_give_the_same_results(project_copy: Path, fmt: str) -> None:
    plan_path = project_copy / "analysis" / "blinatumomab-salvage.yml"
    lp = load_plan(plan_path)
    lp_plan = lp.plan.model_copy(update={"time_to_event": lp.plan.time_to_event[:1], "subgroups": []})
    reference = analyse(lp_plan, load_study(lp)).ard
    folder = project_copy / "data" / "blinatumomab-salvage"
    _convert(folder, fmt)
    lp2 = load_plan(plan_path)
    data = load_study(lp2)
    assert data.files["ADSL"].suffix == f".{fmt}"
    other = analyse(lp_plan, data).ard
    for key in (keys.km("OS", "median", "FIRST"), keys.km("OS", "median", "LATER"),
                keys.model("OS", "cox", "hr", "LATER"), keys.population("FAS")):
        assert other[key].value == pytest.approx(reference[key].value, rel=1e-12), key


def test_broken_files_name_the_file(tmp_path: Path) -> None:
    empty = tmp_path / "adsl.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="adsl.csv is empty"):
        read_dataset(empty)
    truncated = tmp_path / "adtte.xpt"
    truncated.write_bytes(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!0000")
    with pytest.raises(DataError, match="adtte.xpt: cannot be read as XPT"):
        read_dataset(truncated)
    latin = tmp_path / "adae.csv"
    latin.write_bytes("USUBJID,AEDECOD\n1,Na\xefve\n".encode("latin-1"))
    with pytest.raises(DataError, match="not valid UTF-8"):
        read_dataset(latin, encoding="utf-8")
    read = read_dataset(latin)   # auto: not UTF-8, read as Windows-1252 (tests/test_text_encoding.py)
    assert read["AEDECOD"].tolist() == ["Na\xefve"] and read.attrs["text_encoding"] == "cp1252"


def test_parquet_reads_needed_columns_clean_and_typed(project_copy: Path) -> None:
    """Parquet: only the plan's and the gate's columns are read (the others stay known by name), text is
    trimmed with blanks missing whatever its encoding, dates (date32) are datetimes, and the subject join
    done in Arrow is the join pandas makes."""
    import datetime as dt

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = project_copy / "data" / "blinatumomab-salvage"
    _convert(folder, "parquet")
    ae = pq.read_table(folder / "adae.parquet")
    n = ae.num_rows
    ids = ae.column("USUBJID").to_pylist()
    ids[0] = f"  {ids[0]} "                       # padded id: the same subject
    ids[1] = "NOT-IN-ADSL"
    soc = ae.column("AEBODSYS").to_pylist()
    soc[2] = f" {soc[2]}  "
    ae = ae.set_column(ae.schema.get_field_index("USUBJID"), "USUBJID", pa.array(ids))
    ae = ae.set_column(ae.schema.get_field_index("AEBODSYS"), "AEBODSYS", pa.array(soc))
    ae = ae.append_column("UNUSEDTX", pa.array(["x"] * n))
    ae = ae.append_column("ASTDT2", pa.array([dt.date(2020, 1, 1)] * n, pa.date32()))
    pq.write_table(ae, folder / "adae.parquet")

    data = load_study(load_plan(project_copy / "analysis" / "blinatumomab-salvage.yml"))
    frame = data["ADAE"]
    assert "UNUSEDTX" not in frame.columns and "UNUSEDTX" in frame.attrs["all_columns"]
    assert frame["USUBJID"].iloc[0] == ids[0].strip() and frame["AEBODSYS"].iloc[2] == soc[2].strip()
    assert isinstance(frame["AEBODSYS"].dtype, pd.CategoricalDtype)
    assert frame["ASTDT"].dtype == "datetime64[ns]"
    arrow_join = data.rows_in_adsl("ADAE", "USUBJID").copy()
    data.subject_rows.clear()
    pandas_join = data.rows_in_adsl("ADAE", "USUBJID")
    assert np.array_equal(arrow_join, pandas_join)
    assert arrow_join[1] == -1 and arrow_join[0] == data["ADSL"]["USUBJID"].tolist().index(ids[0].strip())

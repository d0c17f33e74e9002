"""The same datasets read from CSV, Parquet and SAS XPT give the same typed frames and the same ARD."""

from __future__ import annotations

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
    for key in ("OS.km.FIRST.median", "OS.km.LATER.median", "OS.cox.LATER.hr", "POP.FAS.n"):
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
        read_dataset(latin)

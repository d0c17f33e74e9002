"""CDISC Dataset-JSON, the exchange format regulators accept beside XPT, is read like XPT.

* The public package with ADSL and ADTTE as Dataset-JSON 1.1 and ADRS as NDJSON, written in R from the XPT files
  (tests/reference/data/random-cdisc-data-dataset-json, make.R there), gives the all-XPT ARD row for row.
* Damaged or mistyped files stop with the file, the record and what to do.
The CDISC pilot as two real writers wrote it (1.0 and 1.1) is in tests/test_pilot5_dataset_json.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialpress.data.readers import read_dataset
from trialpress.errors import DataError
from trialpress.plan import load_plan
from trialpress.scaffold import init

from public_packages import ard_rows, differing, plan_on

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "data" / "random-cdisc-data"
DSJ = ROOT / "tests" / "reference" / "data" / "random-cdisc-data-dataset-json"
PLAN = ROOT / "analysis" / "random-cdisc-data.yml"
FILES = {"adsl": "adsl.json", "adtte": "adtte.json", "adrs": "adrs.ndjson"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dsj") / "data"
    out.mkdir()
    for path in PUBLIC.glob("*.xpt"):
        if path.stem not in FILES:
            shutil.copy(path, out / path.name)
    for name in FILES.values():
        shutil.copy(DSJ / name, out / name)
    return out


def _same(ours: pd.Series, theirs: pd.Series) -> bool:
    """Equal values, the XPT's date and datetime objects compared as datetimes."""
    if pd.api.types.is_datetime64_any_dtype(ours):
        theirs = pd.to_datetime(theirs.astype(object))
        return bool((ours.isna() == theirs.isna()).all() and (ours[ours.notna()] == theirs[ours.notna()]).all())
    if ours.dtype == float:
        return bool(np.array_equal(ours.to_numpy(), theirs.to_numpy(dtype=float), equal_nan=True))
    return ours.tolist() == theirs.tolist()


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_dataset_json_file_reads_as_its_transport_file(name: str) -> None:
    ours, theirs = read_dataset(DSJ / FILES[name]), read_dataset(PUBLIC / f"{name}.xpt")
    assert list(ours.columns) == list(theirs.columns) and len(ours) == len(theirs) > 0
    assert ours.attrs["table_name"] == name.upper() and ours.attrs["all_columns"] == theirs.attrs["all_columns"]
    assert [c for c in ours.columns if not _same(ours[c], theirs[c])] == []
    if name == "adtte":   # AVAL is dataType decimal: text in the file, the XPT's doubles when read
        meta = json.loads((DSJ / "adtte.json").read_text())
        at = [c["name"] for c in meta["columns"]].index("AVAL")
        assert meta["columns"][at]["dataType"] == "decimal" and isinstance(meta["rows"][0][at], str)


def test_only_the_columns_asked_for_are_kept(name: str = "adsl") -> None:
    frame = read_dataset(DSJ / "adsl.json", columns=["usubjid", "TRTSDTM", "AGE"])
    assert list(frame.columns) == ["USUBJID", "AGE", "TRTSDTM"] and len(frame.attrs["all_columns"]) == 51
    assert pd.api.types.is_datetime64_any_dtype(frame["TRTSDTM"]) and frame["AGE"].dtype == float


def test_the_public_package_as_dataset_json_gives_the_xpt_ard(folder: Path, tmp_path: Path) -> None:
    ours, data = ard_rows(plan_on(PLAN, folder, tmp_path))
    assert data.files["ADSL"].suffix == ".json" and data.files["ADRS"].suffix == ".ndjson"
    theirs, _ = ard_rows(PLAN)
    assert set(ours) == set(theirs) and len(theirs) > 5000 and differing(ours, theirs) == []


def test_init_reads_a_folder_of_dataset_json(folder: Path, tmp_path: Path) -> None:
    plan = load_plan(init(folder, tmp_path / "p.yml")).plan
    assert plan.groups.reference == "B: Placebo" and [e.paramcd for e in plan.time_to_event][:2] == ["OS", "PFS"]


# ------------------------------------------------------------------------------ damaged and mistyped files
def _small(tmp_path: Path, rows: list[list[object]], columns: list[dict[str, object]] | None = None,
           records: int | None = None, name: str = "adsl.json") -> Path:
    columns = columns or [{"name": "USUBJID", "dataType": "string"}, {"name": "AGE", "dataType": "integer"},
                          {"name": "TRTSDT", "dataType": "date", "targetDataType": "integer"}]
    path = tmp_path / name
    meta = {"datasetJSONVersion": "1.1.0", "name": "ADSL", "records": len(rows) if records is None else records,
            "columns": columns}
    if name.endswith(".ndjson"):
        path.write_text("\n".join(json.dumps(x) for x in [meta, *rows]) + "\n")
    else:
        path.write_text(json.dumps({**meta, "rows": rows}))
    return path


def test_a_cut_off_file_names_where_the_json_ends(tmp_path: Path) -> None:
    whole = (DSJ / "adsl.json").read_bytes()
    broken = tmp_path / "adsl.json"
    broken.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"adsl\.json: not valid JSON at line 1, column \d+ .*incomplete or damaged"):
        read_dataset(broken)
    lines = (DSJ / "adrs.ndjson").read_text().splitlines()
    cut = tmp_path / "adrs.ndjson"
    cut.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:40])
    with pytest.raises(DataError, match=rf"adrs\.ndjson: not valid JSON at line {len(lines)} "):
        read_dataset(cut)


def test_an_ndjson_file_of_blank_lines_holds_no_data(tmp_path: Path) -> None:
    path = tmp_path / "adsl.ndjson"
    path.write_text("\n \n")
    with pytest.raises(DataError, match=r"adsl\.ndjson holds no data"):
        read_dataset(path)


def test_fewer_records_than_declared_is_an_incomplete_file(tmp_path: Path) -> None:
    path = _small(tmp_path, [["S1", 50, "2020-01-02"]], records=3)
    with pytest.raises(DataError, match="declares 3 records but holds 1: it is incomplete"):
        read_dataset(path)


def test_a_record_with_the_wrong_number_of_values_is_named(tmp_path: Path) -> None:
    path = _small(tmp_path, [["S1", 50, "2020-01-02"], ["S2", 61]], name="adsl.ndjson")
    with pytest.raises(DataError, match="record 2 has 2 value"):
        read_dataset(path)


def test_a_value_that_does_not_fit_its_data_type_names_the_subject(tmp_path: Path) -> None:
    path = _small(tmp_path, [["S1", 50, "2020-01-02"], ["S2", "sixty", "2020-01-03"]])
    with pytest.raises(DataError, match=r"column AGE must be a number \(dataType integer\), but 1 value\(s\) are not "
                                        r"\(S2: 'sixty'\)"):
        read_dataset(path)
    path = _small(tmp_path, [["S1", 50, "2020-01-02"], ["S2", 61, "2020-02-30"]])
    with pytest.raises(DataError, match=r"column TRTSDT must be a date .* \(S2: '2020-02-30'\)"):
        read_dataset(path)


def test_a_number_among_text_dates_is_refused_not_dropped(tmp_path: Path) -> None:
    """A date column written as ISO text with one value as a number (a hand edit, a writer's bug) cannot say
    which day that number is: it is named, never read as a missing date."""
    path = _small(tmp_path, [["S1", 50, "2020-01-02"], ["S2", 61, 21915]])
    with pytest.raises(DataError, match=r"column TRTSDT must be a date .* 1 value\(s\) are not \(S2: 21915\)"):
        read_dataset(path)
    columns = [{"name": "USUBJID", "dataType": "string"}, {"name": "ATM", "dataType": "time"}]
    with pytest.raises(DataError, match=r"column ATM must be a time .* \(S2: 3600\)"):
        read_dataset(_small(tmp_path, [["S1", "10:11:12"], ["S2", 3600]], columns))


def test_numbers_dates_and_missing_values_as_the_format_writes_them(tmp_path: Path) -> None:
    columns = [{"name": "USUBJID", "dataType": "string"}, {"name": "AVAL", "dataType": "decimal"},
               {"name": "ADT", "dataType": "date"}, {"name": "ADTM", "dataType": "datetime"},
               {"name": "ATM", "dataType": "time"}, {"name": "SDAY", "dataType": "date"}]
    rows = [["S1", "1.50", "2020-01-02", "2020-01-02T10:11:12", "10:11:12", 21915],
            ["S2", None, None, None, None, None],
            [None, "-0.25", "2020-01-03", "2020-01-03T00:00", "23:59", 21916.0]]
    frame = read_dataset(_small(tmp_path, rows, columns))
    assert frame["USUBJID"].tolist() == ["S1", "S2", None]
    assert frame["AVAL"].tolist()[0::2] == [1.5, -0.25] and np.isnan(frame["AVAL"].iat[1])
    assert frame["ADT"].tolist()[0::2] == [pd.Timestamp("2020-01-02"), pd.Timestamp("2020-01-03")]
    assert frame["ADTM"].iat[0] == pd.Timestamp("2020-01-02 10:11:12") and pd.isna(frame["ADTM"].iat[1])
    assert [str(t) for t in frame["ATM"]] == ["10:11:12", "None", "23:59:00"]
    # a date kept as a SAS number (days since 1960-01-01)
    assert frame["SDAY"].tolist()[0::2] == [pd.Timestamp("2020-01-01"), pd.Timestamp("2020-01-02")]


def test_a_json_file_that_is_not_dataset_json_says_so(tmp_path: Path) -> None:
    path = tmp_path / "adsl.json"
    path.write_text(json.dumps([{"USUBJID": "S1", "AGE": 50}]))
    with pytest.raises(DataError, match="not a Dataset-JSON file"):
        read_dataset(path)
    path.write_text(json.dumps({"USUBJID": ["S1"], "AGE": [50]}))
    with pytest.raises(DataError, match="without Dataset-JSON's 'columns'"):
        read_dataset(path)
    columns = [{"name": "USUBJID", "dataType": "text"}]
    with pytest.raises(DataError, match="dataType 'text', which Dataset-JSON does not define"):
        read_dataset(_small(tmp_path, [["S1"]], columns))


def test_the_variable_labels_are_the_same_in_every_format_that_records_them() -> None:
    """init offers a baseline variable under the file's own label ('Baseline BMI (kg/m^2)'), not its name."""
    from trialpress.data.readers import variable_labels

    xpt = variable_labels(PUBLIC / "adsl.xpt")
    assert xpt["USUBJID"] == "Unique Subject Identifier" and len(xpt) == 51
    assert variable_labels(DSJ / "adsl.json") == xpt
    assert variable_labels(ROOT / "tests" / "reference" / "data" / "random-cdisc-data-sas7bdat" / "adsl.sas7bdat") == xpt
    assert variable_labels(ROOT / "data" / "cdiscpilot01" / "adsl.parquet") == {}   # Parquet records none


def test_a_folder_with_xpt_beside_dataset_json_reads_the_format_the_plan_names(tmp_path: Path) -> None:
    """A submission in transition carries both: init picks XPT and says so; the plan's data.format decides; without
    it the choice is refused with the way out."""
    both = tmp_path / "both"
    shutil.copytree(PUBLIC, both)
    for name in FILES.values():
        shutil.copy(DSJ / name, both / name)
    text = init(both, tmp_path / "p.yml").read_text()
    assert "  format: xpt   # CHECK: the folder holds adsl.json and adsl.xpt: the format to read" in text
    plan = plan_on(PLAN, both, tmp_path)
    with pytest.raises(DataError, match=r"ADSL exists in more than one file .*adsl\.json, adsl\.xpt") as info:
        ard_rows(plan)
    assert "set data.format in the plan to the format to read (dataset-json, xpt)" in (info.value.hint or "")
    plan.write_text(plan.read_text().replace("\ndata:\n", "\ndata:\n  format: dataset-json\n", 1))
    ours, data = ard_rows(plan)
    assert data.files["ADSL"].suffix == ".json" and data.files["ADAE"].suffix == ".xpt"
    theirs, _ = ard_rows(PLAN)
    assert set(ours) == set(theirs) and differing(ours, theirs) == []

"""CSV files written by R: `write.csv` and readr's `write_csv` write a missing value as an unquoted NA, and quote a
text value that is literally "NA". trialpress reads them so (issue: the gate refused the public package exported
with write.csv: "EOSDT must be an ISO date ... 73 value(s) are not ('NA')"), and says so in the methods.

The public package (data/random-cdisc-data, XPT) written here as write.csv and as write_csv write it must give
the XPT's ARD row for row; the cell-level rules are checked on small files."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from trialpress.data.readers import read_dataset
from trialpress.pipeline import _load
from trialpress.plan import load_plan
from trialpress.results import keys
from trialpress.results.collect import analyse

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "data" / "random-cdisc-data"
PLAN = ROOT / "analysis" / "random-cdisc-data.yml"


def test_unquoted_na_is_missing_and_quoted_na_is_text(tmp_path: Path) -> None:
    path = tmp_path / "adsl.csv"
    path.write_text('"USUBJID","AGE","REGION","DTHDT","NOTE"\n'
                    '"S-1",34,"NA",2020-01-02,NA\n'        # quoted "NA": the text; unquoted NA: missing
                    '"S-2",NA,"NAIVE",NA,""\n'             # a quoted empty field: missing
                    'NA,51,NA,2020-03-04,"x"\n')           # NA first in its record
    frame = read_dataset(path, encoded=True)
    assert frame.attrs.get("r_missing") is True
    assert list(frame["REGION"].astype(object).where(frame["REGION"].notna(), None)) == ["NA", "NAIVE", None]
    assert frame["AGE"].isna().tolist() == [False, True, False]
    assert frame["DTHDT"].isna().tolist() == [False, True, False]
    assert frame["NOTE"].isna().tolist() == [True, True, False]
    assert frame["USUBJID"].isna().tolist() == [False, False, True]
    assert "" not in list(frame["NOTE"].cat.categories)


def test_a_file_without_unquoted_na_is_not_flagged(tmp_path: Path) -> None:
    path = tmp_path / "adsl.csv"
    path.write_text('USUBJID,AGE,REGION\nS-1,34,"NA"\nS-2,,NAIVE\nS-3,51,NANA\n')
    frame = read_dataset(path, encoded=True)
    assert "r_missing" not in frame.attrs
    assert frame["REGION"].astype(object).tolist() == ["NA", "NAIVE", "NANA"]


def _column(values: pd.Series, kind: str, style: str) -> pd.Series:
    """A column as R writes it: missing NA unquoted; text quoted (write.csv: always; readr: when needed, and a
    text that reads NA); numbers in R's 15 significant digits; dates and datetimes ISO, unquoted (readr's
    datetimes with a Z)."""
    if kind:
        stamp = "%Y-%m-%dT%H:%M:%SZ" if style == "readr" else "%Y-%m-%d %H:%M:%S"   # readr: ISO 8601 in UTC
        text = pd.to_datetime(values).dt.strftime("%Y-%m-%d" if kind == "date" else stamp)
    elif values.dtype == object:
        text = values.where(values != "")            # haven reads a blank XPT text as "", R users write NA
        quoted = '"' + text.str.replace('"', '""', regex=False) + '"'
        if style == "readr":
            needs = text.eq("NA") | text.str.contains('[,"\n]', regex=True, na=False)
            quoted = quoted.where(needs, text)
        text = quoted
    else:
        text = values.map(lambda v: f"{v:.15g}")
    blank = values.eq("") if values.dtype == object else False
    return text.where(values.notna() & ~blank, "NA")


def _write_like_r(src: Path, dst: Path, style: str) -> None:
    frame, meta = pyreadstat.read_xport(str(src))
    formats = {c: meta.original_variable_types.get(c) or "" for c in frame.columns}
    kinds = {c: "datetime" if f.startswith("DATETIME") else "date" if f.startswith(("DATE", "YYMMDD")) else ""
             for c, f in formats.items()}
    out = pd.DataFrame({c: _column(frame[c], kinds[c], style) for c in frame.columns})
    header = ",".join((f'"{c}"' if style == "write.csv" else c) for c in frame.columns)
    body = out.apply(lambda row: ",".join(row), axis=1)
    dst.write_text(header + "\n" + "\n".join(body) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def xpt_ard():  # type: ignore[no-untyped-def]
    lplan = load_plan(PLAN)
    return analyse(lplan.plan, _load(lplan)).ard


@pytest.mark.parametrize("style", ["write.csv", "readr"])
def test_the_public_package_written_by_r_gives_the_xpt_results(tmp_path: Path, style: str, xpt_ard) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for src in sorted(PUBLIC.glob("*.xpt")):
        _write_like_r(src, folder / f"{src.stem}.csv", style)
    plan = tmp_path / "plan.yml"
    plan.write_text(PLAN.read_text().replace('folder: "data/random-cdisc-data"', f'folder: "{folder}"'))
    lplan = load_plan(plan)
    ard = analyse(lplan.plan, _load(lplan)).ard
    ours = {r.id: dataclasses.astuple(r) for r in ard}
    theirs = {r.id: dataclasses.astuple(r) for r in xpt_ard}
    na = {r.term: r.text for r in ard.select(analysis="study", statistic="na_missing")}
    assert na.get("adsl.csv") == "csv" and set(na.values()) == {"csv"}   # each file holding one, with its format
    for file in na:
        ours.pop(keys.na_missing(file).id)
    assert set(ours) == set(theirs) and len(theirs) > 5000
    unequal = [k for k in theirs if any(not (a == b or (a != a and b != b)) for a, b in zip(ours[k], theirs[k]))]
    assert unequal == [], unequal[:5]


def test_the_methods_say_how_na_was_read(tmp_path: Path, xpt_ard) -> None:
    from trialpress.report.methods import conventions

    project = tmp_path / "p"
    shutil.copytree(PUBLIC, project)
    _write_like_r(PUBLIC / "adsl.xpt", project / "adsl.csv", "write.csv")
    (project / "adsl.xpt").unlink()
    plan = tmp_path / "plan.yml"
    plan.write_text(PLAN.read_text().replace('folder: "data/random-cdisc-data"', f'folder: "{project}"'))
    lplan = load_plan(plan)
    ard = analyse(lplan.plan, _load(lplan)).ard
    assert [(r.term, r.text) for r in ard.select(analysis="study", statistic="na_missing")] == [("adsl.csv", "csv")]
    lines = conventions(lplan.plan, ard, {}, {})
    assert any(line.startswith("In adsl.csv, a field written NA without quotes is a missing value") for line in lines)
    assert not any("written NA" in line for line in conventions(load_plan(PLAN).plan, xpt_ard, {}, {}))

"""Dates written as text: ISO 8601 and the SAS formats a SAS export to CSV prints (DATE9., DATETIME20.).

A SAS programmer who exports ADaM to CSV (PROC EXPORT) gets the dates as their formats print them: RANDDT as
`22FEB2019`, TRTSDTM as `24FEB2019:11:09:25`. Before `data/dates.py`, such a *DT column was read as text: the
gate silently ran 61 of its 68 checks on the public package and `analyze` then stopped on TRTSDTM. The public
package exported that way must give the ARD of its XPT files, which `test_public_package` holds to R."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from trialpress.data.dates import parse_text, two_digit_years
from trialpress.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "data" / "random-cdisc-data"
PLAN = ROOT / "analysis" / "random-cdisc-data.yml"

T = pd.Timestamp
CASES = [
    ("2019-02-22", T("2019-02-22")),
    ("2019-02-22T11:09:25", T("2019-02-22 11:09:25")),
    ("2019-02-22 11:09:25", T("2019-02-22 11:09:25")),       # pandas' to_csv writes a space
    ("22FEB2019", T("2019-02-22")),                           # DATE9.
    ("22feb2019", T("2019-02-22")),
    ("1JAN2020", T("2020-01-01")),
    ("22FEB2019:11:09:25", T("2019-02-22 11:09:25")),         # DATETIME20.
    ("22FEB2019:11:09", T("2019-02-22 11:09:00")),
    ("22FEB2019:11:09:25.250", T("2019-02-22 11:09:25.250")),
    ("22FEB19", pd.NaT),                                      # DATE7.: the century is not in the file
    ("22FEB19:11:09:25", pd.NaT),                             # DATETIME16.
    ("31FEB2019", pd.NaT),
    ("22FBR2019", pd.NaT),
    ("2019/02/22x", pd.NaT),
    ("Week 2", pd.NaT),
    (None, pd.NaT),
    ("2019-02-22T11:09:25Z", T("2019-02-22 11:09:25")),        # readr's write_csv: every datetime in UTC
    ("2019-02-22T11:09:25+01:00", T("2019-02-22 11:09:25")),   # an offset: the local time as written
    ("2019-02-22 11:09:25.5-0500", T("2019-02-22 11:09:25.5")),
]


def test_a_column_of_local_times_across_a_clock_change_is_read_as_written() -> None:
    """Offsets that differ within a column (+01:00 in winter, +02:00 in summer), or an offset beside times without
    one, stopped loading with a traceback (pandas refuses mixed offsets); each time is read as written."""
    text = pd.Series(["2019-03-30T08:00:00+01:00", "2019-04-01T08:00:00+02:00", "2019-04-02T08:00:00",
                      "2019-04-03"], dtype=object)
    assert parse_text(text).tolist() == [T("2019-03-30 08:00"), T("2019-04-01 08:00"), T("2019-04-02 08:00"),
                                         T("2019-04-03")]


@pytest.mark.parametrize("text, expected", CASES)
def test_parse_text(text: str | None, expected: pd.Timestamp) -> None:
    got = parse_text(pd.Series([text], dtype=object))
    assert str(got.dtype) == "datetime64[ns]"
    assert (pd.isna(got[0]) and pd.isna(expected)) or got[0] == expected


def test_parse_text_reads_a_column_mixing_the_forms_value_by_value() -> None:
    text = pd.Series(["2019-02-22", "23FEB2019", None, "24FEB2019:08:00:00", "nonsense"], dtype=object)
    assert parse_text(text).tolist()[:4] == [T("2019-02-22"), T("2019-02-23"), pd.NaT, T("2019-02-24 08:00")]
    assert pd.isna(parse_text(text)[4])


def test_two_digit_years_are_recognised_as_dates_that_cannot_be_read() -> None:
    assert two_digit_years(pd.Series(["22FEB19", None]))
    assert two_digit_years(pd.Series(["22FEB19:11:09:25"]))
    assert not two_digit_years(pd.Series(["22FEB2019", "2019-02-22", "FEB19", "Week 19"]))


# ---------------------------------------------------------------------------------- through the loader
def _sas_text(series: pd.Series, name: str) -> pd.Series:
    """A date column as SAS's DATE9. (a *DT) or DATETIME20. (a *DTM) prints it; written here with plain
    pandas, independently of the engine's parser."""
    stamps = pd.to_datetime(series)
    fmt = "%d%b%Y:%H:%M:%S" if name.endswith("DTM") else "%d%b%Y"
    return stamps.dt.strftime(fmt).str.upper().where(stamps.notna(), "")


@pytest.fixture(scope="module")
def sas_csv_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The public package as a SAS export to CSV would write it (dates as DATE9./DATETIME20. text), with the
    project's plan pointed at it."""
    root = tmp_path_factory.mktemp("sas-csv")
    folder = root / "data" / "public"
    folder.mkdir(parents=True)
    converted = 0
    for xpt in sorted(PUBLIC.glob("*.xpt")):
        frame, _ = pyreadstat.read_xport(str(xpt))
        for name in frame.columns:
            values = frame[name]
            if pd.api.types.is_datetime64_any_dtype(values) or values.map(
                    lambda v: isinstance(v, (dt.date, dt.datetime))).any():
                frame[name] = _sas_text(values, name)
                converted += 1
        frame.to_csv(folder / f"{xpt.stem}.csv", index=False)
    assert converted >= 20   # the package has dates in every dataset
    (root / "analysis").mkdir()
    plan = PLAN.read_text(encoding="utf-8").replace('folder: "data/random-cdisc-data"', 'folder: "data/public"')
    assert 'folder: "data/public"' in plan
    (root / "analysis" / PLAN.name).write_text(plan, encoding="utf-8")
    (root / "_quarto.yml").write_text("project:\n  type: default\n", encoding="utf-8")
    return root


@pytest.mark.slow
def test_public_package_exported_with_sas_date_formats_gives_the_ard_of_its_xpt_files(sas_csv_project: Path) -> None:
    from trialpress.pipeline import _load
    from trialpress.plan import load_plan
    from trialpress.quality.gate import run_gate
    from trialpress.results.collect import analyse

    reference = load_plan(PLAN)
    exported = load_plan(sas_csv_project / "analysis" / PLAN.name)
    xpt, csv = _load(reference), _load(exported)
    assert str(csv["ADSL"]["RANDDT"].dtype) == "datetime64[ns]"
    assert csv["ADSL"]["RANDDT"].equals(xpt["ADSL"]["RANDDT"])
    gate_xpt, gate_csv = run_gate(reference.plan, xpt, parallel=False), run_gate(exported.plan, csv, parallel=False)
    # the same checks, and for each *DTM the CSV holds as text, whether its values read as dates (all do)
    assert gate_csv.errors == [] and [r.id for r in gate_csv.warnings] == [r.id for r in gate_xpt.warnings]
    extra = [r.id for r in gate_csv.results if r.id not in {x.id for x in gate_xpt.results}]
    assert extra and all(i.endswith("DTM.date_text") for i in extra)
    assert [r.id for r in gate_csv.results if r.id not in extra] == [r.id for r in gate_xpt.results]
    ours, theirs = analyse(exported.plan, csv).ard, analyse(reference.plan, xpt).ard
    assert len(ours) > 1000
    assert _rows(ours) == _rows(theirs)


def _rows(ard) -> list[tuple[object, ...]]:
    """Every row's identity and numbers, NaN spelled out (NaN never equals itself)."""
    import math

    def norm(x: object) -> object:
        return "nan" if isinstance(x, float) and math.isnan(x) else x

    return [tuple(norm(v) for v in (r.id, r.value, r.lower, r.upper, r.n, r.text, r.note)) for r in ard]


def test_a_two_digit_year_stops_loading_with_the_reason(sas_csv_project: Path, tmp_path: Path) -> None:
    import shutil

    from trialpress.data.loading import load_study
    from trialpress.plan import load_plan

    project = tmp_path / "p"
    shutil.copytree(sas_csv_project, project)
    adsl = project / "data" / "public" / "adsl.csv"
    frame = pd.read_csv(adsl, dtype=str, keep_default_na=False)
    frame["RANDDT"] = frame["RANDDT"].str.replace(r"^(\d\d[A-Z]{3})\d\d(\d\d)$", r"\1\2", regex=True)
    frame.to_csv(adsl, index=False)
    with pytest.raises(DataError) as caught:
        load_study(load_plan(project / "analysis" / PLAN.name))
    err = caught.value
    assert "RANDDT" in str(err) and "adsl.csv" in str(err) and "AB12345-" in str(err)
    assert "two-digit year" in err.hint and "DATE9." in err.hint


def test_dates_in_a_form_no_reader_knows_are_a_warning_naming_the_subjects(sas_csv_project: Path, tmp_path: Path) -> None:
    """A *DTM the gate would compare, written as US text ('02/24/2019 11:09'): not silently skipped."""
    import shutil

    from trialpress.pipeline import _load
    from trialpress.plan import load_plan
    from trialpress.quality.gate import run_gate

    project = tmp_path / "p"
    shutil.copytree(sas_csv_project, project)
    adsl = project / "data" / "public" / "adsl.csv"
    frame = pd.read_csv(adsl, dtype=str, keep_default_na=False)
    frame["TRTSDTM"] = pd.to_datetime(frame["TRTSDTM"], format="%d%b%Y:%H:%M:%S").dt.strftime("%m/%d/%Y %H:%M")
    frame.to_csv(adsl, index=False)
    lplan = load_plan(project / "analysis" / PLAN.name)
    report = run_gate(lplan.plan, _load(lplan), parallel=False)
    found = {r.id: r for r in report.warnings}
    assert "ADSL.TRTSDTM.date_text" in found and report.errors == []
    flagged = found["ADSL.TRTSDTM.date_text"]
    assert flagged.failed == (frame["TRTSDTM"] != "").sum()
    assert "AB12345-" in str(flagged.examples[0]) and "/2019" in str(flagged.examples[0])


def test_one_sas_date_among_iso_dates_is_read_as_that_date(tmp_path: Path) -> None:
    """Value by value: a DATE9. value in a column of ISO dates is the same day, not an error or text."""
    import shutil

    from trialpress.data.loading import load_study
    from trialpress.plan import load_plan

    shutil.copytree(ROOT / "data" / "blinatumomab-salvage", tmp_path / "data" / "blinatumomab-salvage")
    shutil.copytree(ROOT / "analysis", tmp_path / "analysis")
    (tmp_path / "_quarto.yml").write_text("project:\n  type: default\n", encoding="utf-8")
    adsl = tmp_path / "data" / "blinatumomab-salvage" / "adsl.csv"
    frame = pd.read_csv(adsl, dtype=str, keep_default_na=False)
    day = pd.Timestamp(frame.loc[4, "TRTEDT"])
    frame.loc[4, "TRTEDT"] = day.strftime("%d%b%Y").upper()
    frame.to_csv(adsl, index=False)
    loaded = load_study(load_plan(tmp_path / "analysis" / "blinatumomab-salvage.yml"))["ADSL"]
    row = loaded[loaded["USUBJID"] == frame.loc[4, "USUBJID"]]
    assert str(loaded["TRTEDT"].dtype) == "datetime64[ns]" and row["TRTEDT"].iloc[0] == day

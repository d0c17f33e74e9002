"""CSV through Arrow and XPT in chunks (the readers for large pooled data) give what the readers always gave:
the same values as pandas' CSV parser and as pyreadstat, the same typed frames, the same subject join, the
same ARD from CSV, XPT and Parquet, and a message naming the line for every structural fault of a CSV."""

from __future__ import annotations

import datetime as dt
import math
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialpress.data import csv_arrow, xpt_chunks
from trialpress.data.loading import load_study
from trialpress.data.readers import read_dataset
from trialpress.errors import DataError
from trialpress.plan import load_plan
from trialpress.results.collect import analyse

STUDY = "blinatumomab-salvage"


def _pandas_csv(path: Path) -> pd.DataFrame:
    """The CSV reader's former parse: the whole file as text through pandas."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], engine="c")


def _same_objects(a: pd.Series, b: pd.Series) -> bool:
    def norm(v: object) -> object:
        return "<NA>" if v is None or (isinstance(v, float) and math.isnan(v)) else v
    return [norm(v) for v in a] == [norm(v) for v in b] and \
        [type(v) for v in a if norm(v) != "<NA>"] == [type(v) for v in b if norm(v) != "<NA>"]


# ------------------------------------------------------------------------------------------------ CSV values
TRICKY = ('\ufeffSTUDYID,USUBJID,CODE,TEXT,EMPTY,NUM\r\n'
          'S1,001,007,"a, b",,1.50\r\n'
          'S1, 002 ,"0","say ""hi""","",-2\r\n'
          '\r\n'
          'S1,003,  ,"two\nlines",x,1e3\r\n'
          'S1,004,é,中文 text,,\r\n'
          'S1,005,5\'11",plain,,7')


@pytest.mark.parametrize("encoded", [False, True])
def test_csv_values_are_those_pandas_parsed(tmp_path: Path, encoded: bool) -> None:
    """Quoting, doubled quotes, a line break inside a value, blank lines, CRLF, a BOM, leading zeros, blanks,
    non-ASCII text, a literal quote in an unquoted value and no final newline: the values pandas gave."""
    path = tmp_path / "adsl.csv"
    path.write_bytes(TRICKY.encode("utf-8"))
    expected = _pandas_csv(path)
    frame = read_dataset(path, encoded=encoded)
    assert list(frame.columns) == list(expected.columns)
    assert list(frame.attrs["all_columns"]) == list(expected.columns)
    for col in expected.columns:
        got = frame[col].astype(object) if encoded else frame[col]
        assert isinstance(frame[col].dtype, pd.CategoricalDtype) == encoded
        assert _same_objects(got.where(got.notna(), None), expected[col].where(expected[col].notna(), None)), col
    narrowed = read_dataset(path, ["code", "NUM"], encoded=encoded)
    assert list(narrowed.columns) == ["CODE", "NUM"] and narrowed.attrs["all_columns"][0] == "STUDYID"


def test_unnamed_column_is_named_as_pandas_names_it(tmp_path: Path) -> None:
    path = tmp_path / "adae.csv"
    path.write_text("USUBJID,,AETERM\n1,x,y\n", encoding="utf-8")
    assert list(read_dataset(path).columns) == [c.upper() for c in _pandas_csv(path).columns]


# ------------------------------------------------------------------------------------------------ CSV faults
HEADER = "STUDYID,USUBJID,PARAMCD,AVAL\n"


def _rows(n: int) -> list[str]:
    return [f"S1,S{i:06d},OS,{i % 97}.5\n" for i in range(n)]


def _fault(tmp_path: Path, text: str, columns: list[str] | None = None, encoding: str = "auto") -> str:
    path = tmp_path / "adtte.csv"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    with pytest.raises(DataError) as info:
        read_dataset(path, columns, "USUBJID", encoded=True, encoding=encoding)
    return str(info.value)


@pytest.fixture(params=["one block", "many blocks"])
def blocks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Faults found the same when Arrow reads the file in one block and in many (read in parallel)."""
    if request.param == "many blocks":
        monkeypatch.setattr(csv_arrow, "ARROW_BLOCK", 4096)
        monkeypatch.setattr(csv_arrow, "BLOCK", 8192)
    return str(request.param)


def test_short_record_names_its_line(tmp_path: Path, blocks: str) -> None:
    rows = _rows(3000)
    rows[2500] = "S1,S002500,OS\n"
    msg = _fault(tmp_path, HEADER + "".join(rows))
    assert "line 2502 has 3 field(s), the header has 4." in msg and "truncated" not in msg


def test_long_record_is_malformed_csv_at_its_line(tmp_path: Path, blocks: str) -> None:
    rows = _rows(3000)
    rows[1800] = "S1,S001800,OS,1,extra\n"
    rows[2900] = "S1,S002900\n"                       # a later fault: the first is named
    msg = _fault(tmp_path, HEADER + "".join(rows))
    assert "malformed CSV (line 1802 has 5 field(s), the header has 4)" in msg


def test_truncated_last_record(tmp_path: Path, blocks: str) -> None:
    msg = _fault(tmp_path, HEADER + "".join(_rows(3000)) + "S1,S9")
    assert "line 3002 has 2 field(s), the header has 4 (the file ends in the middle of a record: truncated?)" in msg


def test_quote_never_closed_is_malformed_csv(tmp_path: Path, blocks: str) -> None:
    """A quote opened in the last column and never closed: the field count stays right (Arrow reads the rest
    of the file into that value), the quote count is odd."""
    rows = _rows(3000)
    rows[2000] = 'S1,S002000,OS,"1.5\n'
    msg = _fault(tmp_path, HEADER + "".join(rows))
    assert "malformed CSV (a quoted value opened on line 2002 is not closed" in msg


def test_quote_closed_by_a_later_quote_is_malformed_csv(tmp_path: Path, blocks: str) -> None:
    rows = _rows(3000)
    rows[40] = 'S1,"S000040,OS,1.5\n'
    rows[42] = 'S1,S000042,"OS",2\n'
    msg = _fault(tmp_path, HEADER + "".join(rows))
    assert "malformed CSV (the record starting on line 42 runs over 3 lines" in msg


def test_record_longer_than_arrow_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A quote that swallows more than Arrow's largest block: malformed CSV, not Arrow's own error."""
    monkeypatch.setattr(csv_arrow, "ARROW_BLOCK", 1024)
    rows = _rows(20000)
    rows[10] = 'S1,"S000010,OS,1\n'
    rows[15000] = 'S1,S,"OS,1\n'
    assert "malformed CSV (a record is longer than" in _fault(tmp_path, HEADER + "".join(rows))


def test_literal_quotes_in_unquoted_values_are_text(tmp_path: Path, blocks: str) -> None:
    rows = _rows(3000)
    rows[10] = 'S1,S000010,5\'11",1\n'                # an odd number of quotes, but no quoted value
    path = tmp_path / "adtte.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    frame = read_dataset(path)
    assert frame["PARAMCD"].iloc[10] == "5'11\"" and len(frame) == 3000


def test_invalid_utf8_in_a_column_not_read(tmp_path: Path, blocks: str) -> None:
    """Arrow checks the text of the columns it converts; the scan checks every byte, and says where, as the
    former whole-file decode did (with a plan naming UTF-8; `auto` reads such a file as Windows-1252)."""
    raw = (HEADER + "".join(_rows(3000))).encode("utf-8")
    at = raw.index(b"OS", len(raw) // 2)
    raw = raw[:at] + "Ö".encode("latin-1") + raw[at + 1:]
    expected = None
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        expected = f"line {line}, byte {exc.start}: {exc.reason}"
    msg = _fault(tmp_path, raw, columns=["USUBJID", "AVAL"], encoding="utf-8")
    assert f"not valid UTF-8 text ({expected})" in msg


def test_header_faults(tmp_path: Path) -> None:
    assert "column names repeated (case-insensitive): AGE" in _fault(tmp_path, "AGE,SEX,age\n1,2,3\n")
    assert "line 2 has 2 field(s), the header has 0" in _fault(tmp_path, "\nA,B\n1,2\n")
    assert "holds no data" in _fault(tmp_path, "  \n\n \n")
    assert "UTF-16" in _fault(tmp_path, "A,B\n1,2\n".encode("utf-16"))
    assert "2 header fields have no name (columns 2, 4)" in _fault(tmp_path, "A, ,B,\n1,2,3,4\n")


# ------------------------------------------------------------------------------------------------ XPT values
def _xpt_frame(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    text = np.array(["", "  lead", "trail  ", "Y", "a much longer text value, over twelve", "ünïcödé", "中文"],
                    dtype=object)
    days = rng.integers(-3000, 25000, n).astype(float)
    frame = pd.DataFrame({
        "USUBJID": [f"S{i % 97:04d}" for i in range(n)],
        "SHORT": rng.choice(text[:4], n),
        "LONGTX": rng.choice(text, n),
        "AVAL": np.where(rng.random(n) < 0.1, np.nan, rng.normal(0, 1e3, n)),
        "INT": rng.integers(-5, 5, n).astype(float),
        "TINY": rng.random(n) * 1e-200,
        "HUGE": rng.random(n) * 1e70,
        "ADT": [None if d % 11 == 0 else dt.date(1960, 1, 1) + dt.timedelta(days=int(d)) for d in days],
        "ADTM": [dt.datetime(1990, 1, 1) + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 10**9, n)],
    })
    frame.loc[n - 5:, ["SHORT", "LONGTX"]] = ""   # blank text at the end (not blank records: numbers follow)
    return frame


def _write_xpt(frame: pd.DataFrame, path: Path, version: int = 5) -> None:
    import pyreadstat

    pyreadstat.write_xport(frame, str(path), table_name="ADTTE", file_format_version=version)


def _special_missing(path: Path, column: str, rows: dict[int, bytes]) -> None:
    """Overwrite numeric values with SAS special missing values (.A … .Z, ._: that byte, then zeros)."""
    lay = xpt_chunks.layout(path)
    var = next(v for v in lay.variables if v.name == column)
    raw = bytearray(path.read_bytes())
    for row, tag in rows.items():
        at = lay.data_start + row * lay.row_length + var.position
        raw[at:at + 8] = tag + b"\x00" * 7
    path.write_bytes(bytes(raw))


def _assert_as_pyreadstat(path: Path, frame: pd.DataFrame, usecols: list[str] | None = None) -> None:
    import pyreadstat

    expected, _ = pyreadstat.read_xport(str(path), usecols=usecols)
    assert list(frame.columns) == list(expected.columns)
    assert len(frame) == len(expected)
    for col in expected.columns:
        a, b = frame[col], expected[col]
        assert a.dtype == b.dtype, col
        if a.dtype == object:
            assert _same_objects(a, b), col
        else:
            assert np.array_equal(a.to_numpy().view(np.uint64), b.to_numpy().view(np.uint64)), col   # bit for bit


@pytest.mark.parametrize("chunks", ["one chunk", "many chunks"])
def test_xpt_values_are_those_pyreadstat_gives(tmp_path: Path, chunks: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if chunks == "many chunks":
        monkeypatch.setattr(xpt_chunks, "CHUNK_BYTES", 2000)
    path = tmp_path / "adtte.xpt"
    _write_xpt(_xpt_frame(), path)
    _special_missing(path, "AVAL", {3: b"A", 4: b"_", 5: b"Z", 6: b"."})
    frame = read_dataset(path)
    _assert_as_pyreadstat(path, frame)
    assert frame.attrs["table_name"] == "ADTTE" and np.isnan(frame["AVAL"].iloc[3:7]).all()
    narrowed = read_dataset(path, ["aval", "ADT", "LONGTX"])
    _assert_as_pyreadstat(path, narrowed, ["LONGTX", "AVAL", "ADT"])
    encoded = read_dataset(path, None, "USUBJID", encoded=True)   # text and dates as Categoricals
    for col in ("SHORT", "LONGTX", "ADT"):
        assert isinstance(encoded[col].dtype, pd.CategoricalDtype)
        assert _same_objects(encoded[col].astype(object).where(encoded[col].notna(), np.nan), frame[col]), col
    assert encoded["ADTM"].equals(frame["ADTM"]) and frame["ADTM"].dtype == "datetime64[ns]"   # as pyreadstat


def test_xpt_numbers_round_trip_bit_for_bit(tmp_path: Path) -> None:
    """IEEE doubles written as IBM floats come back exactly (within IBM's range, 16^-65 … 16^63, every
    double is an IBM double), as pyreadstat reads them; beyond it, as pyreadstat reads what was written."""
    rng = np.random.default_rng(11)
    values = np.concatenate([rng.normal(0, 1, 300), rng.normal(0, 1, 100) * 10.0 ** rng.integers(-70, 70, 100),
                             [0.0, 1.0, -1.0, 0.1, 1 / 3, 2.0 ** -200]])
    extremes = np.array([1e75, -1e76, 1e-80, 1e-300])
    path = tmp_path / "adsl.xpt"
    _write_xpt(pd.DataFrame({"X": np.concatenate([values, extremes])}), path)
    frame = read_dataset(path)
    assert np.array_equal(frame["X"].to_numpy()[:len(values)], values)
    _assert_as_pyreadstat(path, frame)


def test_xpt_trailing_blank_records_are_padding(tmp_path: Path) -> None:
    """A text-only dataset whose last values are blank: records of spaces at the end are padding to
    readstat, which drops them; our reader counts the records as readstat does."""
    path = tmp_path / "adrs.xpt"
    _write_xpt(pd.DataFrame({"AVALC": ["CR", "PR", "", "SD", "", ""]}), path)
    _assert_as_pyreadstat(path, read_dataset(path))


def test_xpt_version_8_is_read_by_pyreadstat(tmp_path: Path) -> None:
    path = tmp_path / "adtte.xpt"
    _write_xpt(_xpt_frame(50), path, version=8)
    with pytest.raises(xpt_chunks.Unsupported):
        xpt_chunks.layout(path)
    _assert_as_pyreadstat(path, read_dataset(path))


def test_ibm_conversion_special_patterns() -> None:
    """readstat's xpt2ieee: zero, +/- infinity, 'one byte then zeros' is missing, widths outside 3-8 missing,
    a 3-byte number is the 8-byte one with zeros after it."""
    one = bytes([0x41, 0x10, 0, 0, 0, 0, 0, 0])                 # 1.0
    records = [bytes(8), b"\x7f" + b"\xff" * 7, b"\xff" * 8, b"\x2e" + bytes(7), b"\x80" + bytes(7), one,
               bytes([0xC1, 0x10, 0, 0, 0, 0, 0, 0])]
    buffer = bytearray(b"".join(records) + bytes(8))
    got = xpt_chunks.ibm_to_ieee(buffer, len(records), 8, 0, 8)
    assert got[0] == 0.0 and got[1] == np.inf and got[2] == -np.inf
    assert np.isnan(got[3]) and np.isnan(got[4]) and got[5] == 1.0 and got[6] == -1.0
    three = bytearray(bytes([0x41, 0x10, 0, 0x99]) + bytes(8))    # 3-byte value, then the next value's byte
    assert xpt_chunks.ibm_to_ieee(three, 1, 4, 0, 3)[0] == 1.0
    assert np.isnan(xpt_chunks.ibm_to_ieee(three, 1, 4, 0, 2)[0])
    assert struct.pack(">d", xpt_chunks.ibm_to_ieee(buffer, len(records), 8, 0, 8)[5]) == struct.pack(">d", 1.0)


# ------------------------------------------------------------------------------------------------ the study
def _typed_copies(project: Path) -> dict[str, Path]:
    """The flagship as CSV (as shipped), as XPT and as Parquet written from the typed CSV frames: numbers as
    doubles, dates as SAS / Parquet dates, text as text (what a SAS or R export holds)."""
    import pyreadstat

    folder = project / "data" / STUDY
    study = load_study(load_plan(project / "analysis" / f"{STUDY}.yml"))
    raw = {name: read_dataset(folder / f"{name.lower()}.csv") for name in study.frames}
    out = {}
    for fmt in ("xpt", "parquet"):
        target = project.parent / f"{fmt}-project"
        import shutil

        shutil.copytree(project, target)
        for name, typed in study.frames.items():
            frame = raw[name].copy()
            for col in frame.columns:
                if col not in typed.columns:
                    continue
                if pd.api.types.is_datetime64_any_dtype(typed[col]):
                    frame[col] = typed[col].dt.date.astype(object).where(typed[col].notna(), None)
                elif pd.api.types.is_float_dtype(typed[col]):
                    frame[col] = typed[col]
            csv = target / "data" / STUDY / f"{name.lower()}.csv"
            if fmt == "xpt":
                pyreadstat.write_xport(frame, str(csv.with_suffix(".xpt")), table_name=name, file_format_version=5)
            else:
                frame.to_parquet(csv.with_suffix(".parquet"), index=False)
            csv.unlink()
        out[fmt] = target
    out["csv"] = project
    return out


def _ard_rows(project: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    lp = load_plan(project / "analysis" / f"{STUDY}.yml")
    ard = analyse(lp.plan, load_study(lp)).ard

    def exact(v: object) -> object:
        return ("float", struct.pack(">d", v)) if isinstance(v, float) else v   # NaN == NaN, 0.0 != -0.0
    rows = [tuple((k, exact(v)) for k, v in r.items()) for r in ard.to_records()]
    curves = [(c.id, c.n, *(np.asarray(getattr(c, a)).tobytes() for a in c.ARRAYS)) for c in ard.curves]
    return rows, curves


@pytest.mark.slow
def test_ard_is_identical_from_csv_xpt_and_parquet(project_copy: Path) -> None:
    """The whole flagship ARD (every row, every curve), bit for bit, whichever format holds the data."""
    projects = _typed_copies(project_copy)
    reference = _ard_rows(projects["csv"])
    assert len(reference[0]) > 1000
    for fmt in ("xpt", "parquet"):
        data = load_study(load_plan(projects[fmt] / "analysis" / f"{STUDY}.yml"))
        assert data.files["ADSL"].suffix == f".{fmt}"
        rows, curves = _ard_rows(projects[fmt])
        assert len(rows) == len(reference[0])
        assert [r for r, e in zip(rows, reference[0]) if r != e] == [], fmt
        assert curves == reference[1], fmt


@pytest.mark.parametrize("fmt", ["csv", "xpt"])
def test_subject_join_in_arrow_is_the_pandas_join(project_copy: Path, fmt: str) -> None:
    """CSV and XPT ids are joined in Arrow (each distinct id looked up once): the join pandas makes, with a
    padded id found and an unknown one not."""
    folder = project_copy / "data" / STUDY
    path = folder / "adae.csv"
    frame = _pandas_csv(path)
    frame.loc[0, "USUBJID"] = f"  {frame.loc[0, 'USUBJID']} "
    frame.loc[1, "USUBJID"] = "NOT-IN-ADSL"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        import pyreadstat

        pyreadstat.write_xport(frame.fillna(""), str(path.with_suffix(".xpt")), table_name="ADAE",
                               file_format_version=5)
        path.unlink()
    data = load_study(load_plan(project_copy / "analysis" / f"{STUDY}.yml"))
    assert data.files["ADAE"].suffix == f".{fmt}"
    arrow_join = data.rows_in_adsl("ADAE", "USUBJID").copy()
    data.subject_rows.clear()
    pandas_join = data.rows_in_adsl("ADAE", "USUBJID")
    assert np.array_equal(arrow_join, pandas_join)
    assert arrow_join[1] == -1 and data["ADAE"]["USUBJID"].iloc[0] == frame.loc[0, "USUBJID"].strip()

"""Data files whose text is not UTF-8 (issue: a SAS XPT written by SAS on Windows, wlatin1, with 'µmol/L' or an
accented term, stopped the load with "not valid UTF-8 text (line 1 …). Export the CSV as UTF-8"). XPT and CSV
record no encoding: `auto` reads UTF-8, else Windows-1252, and the methods say so; `data.encoding` names another.

The public package's ADAE is rewritten here with one preferred term holding 'é' as Windows-1252 writes it (one
byte, 0xE9); its counts must be those of the original term in the original file, by plain pandas."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyreadstat
import pytest

from trialpress.errors import DataError, PlanError
from trialpress.pipeline import _load
from trialpress.plan import load_plan
from trialpress.report.methods import conventions
from trialpress.results import keys
from trialpress.results.collect import analyse

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "data" / "random-cdisc-data"
PLAN = ROOT / "analysis" / "random-cdisc-data.yml"
TERM = "dcd B.2.2.3.1"        # the most frequent preferred term of the package
RENAMED = "dcd B.2.2.3.é"


def _with_latin_term(folder: Path, fmt: str) -> None:
    """ADAE with TERM renamed RENAMED, its text in Windows-1252: XPT (the placeholder byte swapped in the file,
    so that the record layout pyreadstat wrote is kept) or CSV."""
    frame, meta = pyreadstat.read_xport(str(PUBLIC / "adae.xpt"))
    (folder / "adae.xpt").unlink()
    if fmt == "csv":
        frame.loc[frame["AEDECOD"] == TERM, "AEDECOD"] = RENAMED
        (folder / "adae.csv").write_bytes(frame.to_csv(index=False).encode("cp1252"))
        return
    placeholder = RENAMED.replace("é", "^")
    frame.loc[frame["AEDECOD"] == TERM, "AEDECOD"] = placeholder
    path = folder / "adae.xpt"
    pyreadstat.write_xport(frame, str(path), table_name="ADAE",
                           column_labels=[meta.column_names_to_labels.get(c, "") for c in frame.columns])
    raw = path.read_bytes()
    assert raw.count(placeholder.encode()) == (frame["AEDECOD"] == placeholder).sum()
    path.write_bytes(raw.replace(placeholder.encode(), RENAMED.encode("cp1252")))


def _project(tmp_path: Path, fmt: str, encoding: str | None = None) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(PUBLIC, folder)
    _with_latin_term(folder, fmt)
    text = PLAN.read_text().replace('folder: "data/random-cdisc-data"', f'folder: "{folder}"')
    if encoding:
        text = text.replace(f'folder: "{folder}"', f'folder: "{folder}"\n  encoding: {encoding}')
    plan = tmp_path / "plan.yml"
    plan.write_text(text)
    return plan


def _expected() -> dict[str, int]:
    """Subjects of the safety population with a treatment-emergent TERM, per as-treated arm (plain pandas)."""
    adsl, _ = pyreadstat.read_xport(str(PUBLIC / "adsl.xpt"))
    adae, _ = pyreadstat.read_xport(str(PUBLIC / "adae.xpt"))
    saf = adsl[adsl["SAFFL"] == "Y"].set_index("USUBJID")["ACTARM"]
    hit = adae[(adae["AEDECOD"] == TERM) & (adae["TRTEMFL"] == "Y") & adae["USUBJID"].isin(saf.index)]
    return saf.reindex(hit["USUBJID"].unique()).value_counts().to_dict()


@pytest.mark.parametrize("fmt", ["xpt", "csv"])
def test_a_windows_1252_file_is_read_and_said(tmp_path: Path, fmt: str) -> None:
    lplan = load_plan(_project(tmp_path, fmt))
    data = _load(lplan)
    ard = analyse(lplan.plan, data).ard
    assert ard[keys.encoding(f"adae.{fmt}")].text == "cp1252"
    assert [r.term for r in ard.select(analysis="study", statistic="encoding")] == [f"adae.{fmt}"]
    rows = {r.group: r.value for r in ard.select(analysis="pt_any", statistic="n", term=RENAMED)}
    assert rows and not list(ard.select(analysis="pt_any", statistic="n", term=TERM))
    assert {g: v for g, v in rows.items() if g} == _expected()
    lines = conventions(lplan.plan, ard, {}, {})
    assert f"Text in adae.{fmt} is not UTF-8 and was read as Windows-1252 (SAS wlatin1" in " ".join(lines)


def test_a_plan_naming_utf8_refuses_the_file_with_what_to_do(tmp_path: Path) -> None:
    lplan = load_plan(_project(tmp_path, "xpt", "utf-8"))
    with pytest.raises(DataError) as err:
        _load(lplan)
    assert "adae.xpt: text is not valid utf-8" in str(err.value) and "data.encoding" in err.value.hint


def test_a_plan_naming_the_encoding_is_followed_and_said(tmp_path: Path) -> None:
    lplan = load_plan(_project(tmp_path, "xpt", "latin-1"))
    assert lplan.plan.data.encoding == "iso8859-1"
    ard = analyse(lplan.plan, _load(lplan)).ard
    assert ard[keys.encoding("adae.xpt")].text == "iso8859-1"
    assert list(ard.select(analysis="pt_any", statistic="n", term=RENAMED))
    line = next(ln for ln in conventions(lplan.plan, ard, {}, {}) if ln.startswith("Text in "))
    assert "adae.xpt" in line and "adsl.xpt" in line   # the plan's encoding is every XPT and CSV file's
    assert line.endswith(" was read as ISO 8859-1 (latin1), as the plan's data.encoding says.")


def test_an_unknown_encoding_is_a_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="unknown text encoding 'wlatin1'"):
        load_plan(_project(tmp_path, "xpt", "wlatin1"))


def test_utf8_files_say_nothing(tmp_path: Path) -> None:
    lplan = load_plan(PLAN)
    ard = analyse(lplan.plan, _load(lplan)).ard
    assert not list(ard.select(analysis="study", statistic="encoding"))
    assert "UTF-8" not in " ".join(conventions(lplan.plan, ard, {}, {}))

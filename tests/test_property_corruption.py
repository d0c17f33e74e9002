"""Property: random corruptions of the bundled datasets never crash `trialpress check`.

Dropped columns, blanked cells, duplicated rows, swapped dates, negative times, out-of-set codes and
random Unicode: either the run stops with a data or plan error (exit 4 or 3) whose message names the
file or a subject, or `check` passes and the data are acceptable. Never a traceback. Corruptions that
must be caught (negative times, duplicated keys where the analysis needs one record, population flags and
censoring codes outside what ADaM allows) are asserted to be; controlled terms, AE flags and the group
values are design expectations (warnings), and CNSR 7 or 99 is a legal censoring reason.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialpress.cli import main

ROOT = Path(__file__).resolve().parents[1]
STUDY = "blinatumomab-salvage"
FILES = {"ADSL": "adsl.csv", "ADTTE": "adtte.csv", "ADRS": "adrs.csv", "ADAE": "adae.csv"}
KEYS = {"ADSL": ["USUBJID"], "ADTTE": ["USUBJID", "PARAMCD"], "ADRS": ["USUBJID", "PARAMCD"]}   # (ADAE: a warning)
STRICT_CODES = {("ADSL", "SAFFL"), ("ADSL", "FASFL")}   # population flags: Y, N or blank
CODED = {"ADSL": ["SEX", "SAFFL", "FASFL", "SALVGRP", "PRHSCT", "DTHFL", "HSCTFL", "AGEGR1", "PHSTAT"],
         "ADTTE": ["CNSR", "PARAMCD"], "ADRS": ["AVALC", "PARAMCD"],
         "ADAE": ["AESER", "TRTEMFL", "AETOXGR", "AEOUT", "AEACN"]}
DATES = {"ADSL": ["TRTSDT", "TRTEDT", "DTHDT", "HSCTDT", "RSPDT", "RELDT", "DCUTDT"],
         "ADTTE": ["STARTDT", "ADT"], "ADRS": ["ADT"], "ADAE": ["ASTDT"]}
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)


@functools.lru_cache(maxsize=None)
def _frame(name: str) -> pd.DataFrame:
    """The bundled dataset as text, read once for all examples."""
    return pd.read_csv(ROOT / "data" / STUDY / FILES[name], dtype=str, keep_default_na=False)


@dataclass(frozen=True)
class Corruption:
    dataset: str
    kind: str
    row: int
    column: str
    value: str
    must_fail: bool

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        f = frame.copy()
        if self.kind == "drop_column":
            return f.drop(columns=[self.column], errors="ignore")
        row = min(self.row, len(f) - 1)
        if self.kind == "duplicate_row":
            return pd.concat([f.iloc[: row + 1], f.iloc[[row]], f.iloc[row + 1:]]).reset_index(drop=True)
        if self.kind == "swap_dates":
            a, b = self.column.split("|")
            if a in f.columns and b in f.columns:
                f.loc[row, [a, b]] = f.loc[row, [b, a]].to_numpy()
            return f
        f.loc[row, self.column] = self.value   # blank, negative time, out-of-set code, random text
        return f


@st.composite
def corruptions(draw: st.DrawFn) -> Corruption:
    dataset = draw(st.sampled_from(list(FILES)))
    frame = _frame(dataset)
    kind = draw(st.sampled_from(["drop_column", "blank", "duplicate_row", "swap_dates", "negative_time",
                                 "out_of_set", "unicode"]))
    row = draw(st.integers(0, len(frame) - 1))
    column = draw(st.sampled_from(list(frame.columns)))
    value = ""
    must_fail = False
    if kind == "duplicate_row":
        must_fail = dataset in KEYS
    elif kind == "swap_dates":
        dates = DATES[dataset]
        a = draw(st.sampled_from(dates))
        b = draw(st.sampled_from([d for d in dates if d != a])) if len(dates) > 1 else a
        kind = kind if a != b else "blank"
        column = f"{a}|{b}" if a != b else a
    elif kind == "negative_time":
        dataset, frame = "ADTTE", _frame("ADTTE")
        row = min(row, len(frame) - 1)
        column, value = "AVAL", f"-{draw(st.floats(0.001, 1e6)):.4f}"
        must_fail = True
    elif kind == "out_of_set":
        column = draw(st.sampled_from(CODED[dataset]))
        value = draw(st.sampled_from(["X", "99", "yes", "Unknown", "-1", "NULL", "Ⅴ", "7"]))
        must_fail = (dataset, column) in STRICT_CODES or (column == "CNSR" and not value.isdigit())
    elif kind == "unicode":
        value = draw(TEXT)
    return Corruption(dataset, kind, row, column, value, must_fail)


@pytest.fixture(scope="module")
def workspace() -> Path:
    path = Path(tempfile.mkdtemp(prefix="trialpress-prop-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _project(base: Path, changed: dict[str, pd.DataFrame]) -> Path:
    """A project: the plan, the corrupted datasets written out, the others linked to the originals."""
    project = Path(tempfile.mkdtemp(dir=base))
    shutil.copy(ROOT / "_quarto.yml", project / "_quarto.yml")
    (project / "analysis").mkdir()
    shutil.copy(ROOT / "analysis" / f"{STUDY}.yml", project / "analysis" / f"{STUDY}.yml")
    data = project / "data" / STUDY
    data.mkdir(parents=True)
    for name, file in FILES.items():
        if name in changed:
            changed[name].to_csv(data / file, index=False)
        else:
            (data / file).symlink_to(ROOT / "data" / STUDY / file)
    return project


RUNS = {"examples": 0, "failed_runs": 0}


# TRIALPRESS_PROPERTY_EXAMPLES=300 for a longer search (the lead's soak runs)
@settings(max_examples=int(os.environ.get("TRIALPRESS_PROPERTY_EXAMPLES", "30")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(corruptions(), min_size=1, max_size=3))
def test_random_corruption_is_reported_or_acceptable(workspace: Path, found: list[Corruption]) -> None:
    changed: dict[str, pd.DataFrame] = {}
    for c in found:
        changed[c.dataset] = c.apply(changed.get(c.dataset, _frame(c.dataset)))
    project = _project(workspace, changed)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", str(project / "analysis" / f"{STUDY}.yml"), "--quiet"])
    text = out.getvalue() + err.getvalue()
    RUNS["examples"] += 1
    assert "Traceback" not in text
    assert code in (0, 3, 4), text
    if code:
        RUNS["failed_runs"] += 1
        names = list(FILES.values()) + [f"{STUDY}.yml"]
        assert any(n in text for n in names), f"the message names no file:\n{text}"
    else:
        assert not any(c.must_fail for c in found), f"{found} passed the gate:\n{text}"
    shutil.rmtree(project, ignore_errors=True)


def teardown_module() -> None:
    print(f"\nproperty examples run: {RUNS['examples']}, stopped with an error: {RUNS['failed_runs']}")

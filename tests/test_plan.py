"""The analysis plan: the flagship validates; mistakes give file, line, key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from trialpress.errors import PlanError
from trialpress.plan import load_plan

from conftest import FLAGSHIP


def test_flagship_plan_validates() -> None:
    lp = load_plan(FLAGSHIP)
    plan = lp.plan
    assert plan.groups.reference == "FIRST"
    assert plan.comparators == ["LATER"]
    assert plan.group_labels == {"FIRST": "First salvage", "LATER": "Second or later salvage"}
    assert lp.data_folder.name == "blinatumomab-salvage"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "plan.yml"
    p.write_text(text)
    return p


def test_unknown_key_names_line_and_close_match(tmp_path: Path) -> None:
    text = FLAGSHIP.read_text().replace("  reference: FIRST", "  referense: FIRST")
    with pytest.raises(PlanError) as err:
        load_plan(_write(tmp_path, text))
    msg = str(err.value)
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "referense" in l)
    assert f"plan.yml:{line}" in msg and "'referense'" in msg and "did you mean 'reference'" in msg


def test_wrong_type_is_reported_with_value(tmp_path: Path) -> None:
    text = FLAGSHIP.read_text().replace("landmarks: [6, 12, 24]", "landmarks: six")
    with pytest.raises(PlanError) as err:
        load_plan(_write(tmp_path, text))
    assert "time_to_event.0.landmarks" in str(err.value)


def test_undefined_population_is_an_error(tmp_path: Path) -> None:
    text = FLAGSHIP.read_text().replace("population: FAS", "population: ITT")
    with pytest.raises(PlanError) as err:
        load_plan(_write(tmp_path, text))
    assert "population 'ITT' is not defined" in str(err.value)


def test_reference_must_be_a_group(tmp_path: Path) -> None:
    text = FLAGSHIP.read_text().replace("reference: FIRST", "reference: NONE")
    with pytest.raises(PlanError, match="reference 'NONE' is not one of the group levels"):
        load_plan(_write(tmp_path, text))


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="not valid YAML"):
        load_plan(_write(tmp_path, "study: [unclosed\n"))
    with pytest.raises(PlanError, match="does not exist"):
        load_plan(tmp_path / "nope.yml")


def test_one_abbreviation_names_one_endpoint(tmp_path: Path) -> None:
    """'(OS)' defined for overall survival cannot also stand for overall survival after alloHSCT."""
    text = FLAGSHIP.read_text().replace("    label: Overall survival after alloHSCT\n",
                                        "    label: Overall survival after alloHSCT\n    abbreviation: OS\n")
    with pytest.raises(PlanError, match=r"time_to_event\[OSHSCT\]\.abbreviation 'OS' is already the abbreviation "
                                        r"of time_to_event\[OS\]"):
        load_plan(_write(tmp_path, text))


def test_loading_a_plan_needs_neither_numpy_nor_pandas() -> None:
    """Plan validation is on the path of every render, the writer's loop included: it must not import the
    data stack (about 0.3 s)."""
    import os
    import subprocess
    import sys

    script = ("import sys; from trialpress.plan import load_plan; load_plan(sys.argv[1]); "
              "print(sorted({'numpy', 'pandas'} & set(sys.modules)))")
    run = subprocess.run([sys.executable, "-c", script, str(FLAGSHIP)], capture_output=True, encoding="utf-8",
                         check=True, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert run.stdout.strip() == "[]", run.stdout + run.stderr

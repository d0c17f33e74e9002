"""Nothing about a bundled study is wired into the engine; any ADaM folder gets a starting plan that renders;
values the plan names must exist in the data."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from trialpress.cli import main
from trialpress.errors import ExitCode
from trialpress.plan import load_plan

from conftest import ROOT

ENGINE = ROOT / "src" / "trialpress"
# names of the bundled studies and their study-specific variables: none may appear in engine code
STUDY_WORDS = re.compile(r"blinatumomab|salvage|velotrepin|copd|exacerbation|SALVGRP|PRHSCT|HSCTFL|HSCTCRFL|"
                         r"BMBLGR1|PHSTAT|TTFE|TTSE|EXACGR1|BLEOS|alloHSCT", re.I)


def test_engine_names_no_bundled_study() -> None:
    hits = []
    for path in sorted(ENGINE.rglob("*.py")):
        if "synth" in path.relative_to(ENGINE).parts:   # the generators of the bundled data, by design
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if STUDY_WORDS.search(line):
                hits.append(f"{path.relative_to(ENGINE)}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)


@pytest.fixture()
def bare_project(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    shutil.copy(ROOT / "_quarto.yml", tmp_path / "_quarto.yml")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    return tmp_path


@pytest.mark.parametrize("study", ["blinatumomab-salvage", "velotrepin-copd"])
def test_init_writes_a_plan_that_checks_and_analyses(bare_project: Path, study: str, capsys) -> None:  # type: ignore[no-untyped-def]
    shutil.copytree(ROOT / "data" / study, bare_project / "data" / "new-study")
    assert main(["init", str(bare_project / "data" / "new-study")]) == 0
    plan_path = bare_project / "analysis" / "new-study.yml"
    plan = load_plan(plan_path).plan
    assert plan.time_to_event and plan.safety is not None
    assert main(["analyze", str(plan_path), "--out", str(bare_project / "ard"), "--quiet"]) == 0
    for name in ("ard.csv", "ard.json", "curves.csv", "ard-cards.csv", "ars.json"):
        assert (bare_project / "ard" / name).is_file(), name
    # never overwrites
    assert main(["init", str(bare_project / "data" / "new-study")]) == ExitCode.USAGE
    assert "already exists" in capsys.readouterr().err


def test_init_plan_renders(bare_project: Path) -> None:
    shutil.copytree(ROOT / "data" / "velotrepin-copd", bare_project / "data" / "trial")
    assert main(["init", str(bare_project / "data" / "trial")]) == 0
    assert main(["render", str(bare_project / "analysis" / "trial.yml"), "--quiet"]) == 0
    (version,) = (bare_project / "report" / "trial").iterdir()
    assert (version / "report.pdf").is_file() and (version / "report.html").is_file()


def test_init_outside_any_project_writes_a_plan_that_finds_its_data(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """A new user's folder with data and nothing else (no _quarto.yml, no templates): `init data/<x>` writes
    analysis/<x>.yml where the user is; `check` and `render` (no plan named) read the data, render with the
    bundled templates into report/ beside analysis/, where `list` and `verify` find the version; a plan
    written anywhere else with --out names its data from where it is."""
    user = tmp_path / "work"
    shutil.copytree(ROOT / "data" / "blinatumomab-salvage", user / "data" / "trial")
    monkeypatch.chdir(user)
    assert main(["init", "data/trial"]) == 0
    plan_path = user / "analysis" / "trial.yml"
    assert not (user / "data" / "trial" / "analysis").exists()
    assert load_plan(plan_path).data_folder == (user / "data" / "trial").resolve()
    assert main(["check", "--quiet"]) == 0
    assert main(["render", "--format", "html", "--quiet"]) == 0
    (version,) = (user / "report" / "trial").iterdir()
    assert (version / "report.html").is_file()
    assert main(["list"]) == 0 and version.name in capsys.readouterr().out
    assert main(["verify", str(version)]) == 0
    elsewhere = tmp_path / "plans" / "trial.yml"
    assert main(["init", "data/trial", "--out", str(elsewhere)]) == 0
    assert load_plan(elsewhere).data_folder == (user / "data" / "trial").resolve()
    assert main(["check", str(elsewhere), "--quiet"]) == 0


def test_a_group_value_not_in_the_data_fails_with_line_and_close_match(project_copy: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    plan = project_copy / "analysis" / "blinatumomab-salvage.yml"
    text = plan.read_text().replace("{value: LATER,", "{value: LATR,").replace("reference: FIRST", "reference: FIRST")
    plan.write_text(text)
    line = next(i for i, l in enumerate(text.splitlines(), 1) if l.strip().startswith("levels:") and i > 20)
    code = main(["check", str(plan), "--quiet"])
    err = capsys.readouterr().err
    assert code == ExitCode.PLAN
    assert "group value 'LATR' does not occur in ADSL.SALVGRP (did you mean 'LATER'?)" in err
    assert f"blinatumomab-salvage.yml:{line}" in err
    assert "Traceback" not in err

"""Subgroup analysis of overall survival on the public ADaM package: its committed plan with four subgroup
variables of ADSL as a user would name them (SEX; BMRKR2, three levels; REGION1, six levels, some with two to four
subjects per arm; RACE, two levels held by one placebo subject each), three arms.

Against R (coxph on the package's XPT files read by haven; tests/reference/r/public_subgroups.R): every level's
HR and Wald CI for both comparators (the forest plot shows no per-level P; R's is kept for information), and the multi-df Wald test of the group-by-subgroup interaction. Where
a group has no subject in a level (RACE), the level's HRs and the interaction test are not estimable and the
report says why; R drops the aliased terms and tests the rest (reported in the R output for information)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from public_packages import ROOT, public_variant, variant_ard
from trialpress.pipeline import render
from trialpress.results import keys

R = json.loads((ROOT / "tests" / "reference" / "expected" / "public_subgroups.json").read_text(encoding="utf-8"))
SUBGROUPS = {"SEX": "Sex", "BMRKR2": "Biomarker 2", "REGION1": "Region", "RACE": "Race"}
ESTIMABLE = ("SEX", "BMRKR2", "REGION1")


def _plan(folder: Path) -> Path:
    def subgroups(plan: dict) -> None:
        next(e for e in plan["time_to_event"] if e["id"] == "OS")["subgroups"] = True
        plan["subgroups"] = [{"variable": v, "label": label} for v, label in SUBGROUPS.items()]

    return public_variant(folder, subgroups)


@pytest.fixture(scope="module")
def plan_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _plan(tmp_path_factory.mktemp("subgroups"))


@pytest.fixture(scope="module")
def ard(plan_path: Path):  # type: ignore[no-untyped-def]
    return variant_ard(plan_path)


@pytest.mark.parametrize("variable", sorted(SUBGROUPS))
def test_each_levels_hazard_ratios_equal_r(ard, variable: str) -> None:  # type: ignore[no-untyped-def]
    for level, ref in R[variable]["levels"].items():
        for arm, r in ref["arms"].items():
            row = ard[keys.subgroup("OS", "hr", arm, variable, level)]
            for ours, theirs in ((row.value, r["hr"]), (row.lower, r["lower"]), (row.upper, r["upper"])):
                assert ours == pytest.approx(theirs, rel=1e-9), (variable, level, arm)
            assert row.n == ref["n"]


@pytest.mark.parametrize("variable", ESTIMABLE)
def test_the_interaction_test_equals_r(ard, variable: str) -> None:  # type: ignore[no-untyped-def]
    r = R[variable]["interaction"]
    assert ard[keys.interaction("OS", variable, "chisq")].value == pytest.approx(r["chisq"], rel=1e-9)
    assert ard[keys.interaction("OS", variable, "df")].value == r["df"]
    assert ard[keys.interaction("OS", variable, "p")].value == pytest.approx(r["p"], rel=1e-9)


def test_a_level_without_subjects_in_a_group_is_not_estimable(ard) -> None:  # type: ignore[no-untyped-def]
    rare = [lv for lv in ("MULTIPLE", "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER")]
    assert not set(rare) & set(R["RACE"]["levels"])          # R cannot fit them either: one arm only
    for level in rare:
        row = ard[keys.subgroup("OS", "hr", "A: Drug X", "RACE", level)]
        assert row.value != row.value and row.note == "no subjects in group A: Drug X"
    p = ard[keys.interaction("OS", "RACE", "p")]
    assert p.value != p.value and p.note == "a group has no subjects in a subgroup level"


def test_the_report_says_which_interaction_could_not_be_estimated(plan_path: Path, tmp_path: Path) -> None:
    folder = render(plan_path, report_root=tmp_path / "report", formats=["html"], report_date="2026-01-01").folder
    text = re.sub(r"\\(.)", r"\1", re.sub(r"`</?a[^`]*`\{=html\}", "", (folder / "report.qmd").read_text("utf-8")))
    assert "The hazard ratio did not differ significantly across subgroups of sex, biomarker 2 and region (" in text
    assert ("The interaction of group and race could not be estimated (a group has no subjects in a subgroup level)."
            in text)
    assert ("Subgroup hazard ratios come from Cox models of the group alone (unstratified, unadjusted) fitted within "
            "each subgroup level") in text

"""The gate validates a dataset's derived rules (pandas masks) as one joint expectation first, and only when it
fails each of them: the report is the same, check by check, as validating each rule on its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trialpress.data.loading import StudyData, load_study
from trialpress.plan import load_plan
from trialpress.quality import gate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def flagship() -> tuple[Any, StudyData]:
    lplan = load_plan(ROOT / "analysis" / "blinatumomab-salvage.yml")
    return lplan.plan, load_study(lplan)


def _corrupted(data: StudyData, change: str) -> StudyData:
    frames = {name: frame.copy() for name, frame in data.frames.items()}
    if change in ("aval", "both"):
        frames["ADTTE"].loc[frames["ADTTE"].index[3], "AVAL"] = -1.5           # ADTTE.AVAL.non_negative
    if change in ("orphan", "both"):
        frames["ADAE"].loc[frames["ADAE"].index[0], "USUBJID"] = "NOT-IN-ADSL"  # ADAE.subjects.in_ADSL
    return StudyData(frames, dict(data.files), data.requirements)   # its subject lookups made anew


def _first_pass_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    original = gate._run_suite

    def counting(gx: Any, batch: Any, name: str, checks: list[Any], result_format: Any) -> dict[str, Any]:
        if result_format == "BOOLEAN_ONLY":
            sizes.append(len(checks))
        return original(gx, batch, name, checks, result_format)

    monkeypatch.setattr(gate, "_run_suite", counting)
    return sizes


@pytest.mark.parametrize("change", ["none", "aval", "orphan", "both"])
def test_joint_masks_give_the_report_of_one_expectation_per_rule(flagship: tuple[Any, StudyData], change: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    plan, data = flagship
    data = _corrupted(data, change) if change != "none" else data
    sizes = _first_pass_sizes(monkeypatch)
    joint = gate.run_gate(plan, data, parallel=False)
    with_joint = sum(sizes)
    sizes.clear()
    monkeypatch.setattr(gate, "_joint", lambda ds, checks: (None, []))      # the reference: each rule on its own
    alone = gate.run_gate(plan, data, parallel=False)
    assert joint.results == alone.results
    assert not any(r.id.startswith(gate.JOINT) for r in joint.results)
    assert with_joint < sum(sizes) - 40          # 51 derived rules of the flagship: 4 joint checks instead
    failed = {r.id for r in joint.results if not r.success}
    expected = {"none": set(), "aval": {"ADTTE.AVAL.non_negative"}, "orphan": {"ADAE.subjects.in_ADSL"},
                "both": {"ADTTE.AVAL.non_negative", "ADAE.subjects.in_ADSL"}}[change]
    assert expected <= failed
    if change == "orphan":
        (orphan,) = [r for r in joint.results if r.id == "ADAE.subjects.in_ADSL"]
        assert orphan.examples[0]["subject"] == "NOT-IN-ADSL"

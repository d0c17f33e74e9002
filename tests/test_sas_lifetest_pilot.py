"""The Kaplan–Meier curves of a real submission against **SAS**: the R Submission Pilot 5 package
(data/rconsortium-pilot5, study CDISCPILOT01, time to first dermatologic event) as trialpress analyses it,
against PROC LIFETEST's product-limit estimates of the same study published by the PhUSE results-metadata
project (tests/reference/data/phuse-sas-results: provenance there). R's survfit is the reference of
test_pilot5_dataset_json.py; this is the second, independent one, from the software regulators' reviewers use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialpress.results import keys

from public_packages import study_fixtures

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "analysis" / "rconsortium-pilot5.yml"
SAS = pd.read_csv(ROOT / "tests" / "reference" / "data" / "phuse-sas-results" / "FIG1X01.csv")
ARMS = ("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")

loaded, ard = study_fixtures(PLAN)


def _step(curve, t: float) -> float:
    """S(t) of a curve: its value at the last time at or before t (1 before the first event)."""
    at = np.searchsorted(np.asarray(curve.time, dtype=float), t, side="right") - 1
    return 1.0 if at < 0 else float(np.asarray(curve.surv)[at])


@pytest.mark.parametrize("arm", ARMS)
def test_every_survival_estimate_equals_sas_proc_lifetest(ard, arm: str) -> None:
    curve = ard.curve(keys.curve("TTDE", arm).id)
    rows = SAS[(SAS["trt01p"] == arm) & (SAS["paramcd"] == "surv")]
    assert len(rows) > 40
    for t, s in zip(rows["time"], rows["measure"]):
        assert _step(curve, float(t)) == pytest.approx(float(s), abs=1e-9), (arm, t)
    # SAS carries each curve to the group's last time; ours ends there too
    assert float(np.max(curve.time)) == float(rows["time"].max())


@pytest.mark.parametrize("arm", ARMS)
def test_the_censored_times_are_sas_s(ard, arm: str) -> None:
    curve = ard.curve(keys.curve("TTDE", arm).id)
    ours = {float(t) for t, c in zip(curve.time, curve.n_censor) if c > 0}
    theirs = set(SAS.loc[(SAS["trt01p"] == arm) & (SAS["paramcd"] == "cens"), "time"].astype(float))
    assert ours == theirs and len(ours) >= 20

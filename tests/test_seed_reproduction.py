"""The bundled synthetic twin, analysed by the real engine, reproduces the published numbers.

Targets: data/blinatumomab-salvage/published.yml (the seed abstract). Tolerances from issue #3:
medians ±0.2 months, HR ±0.03, CI bounds ±0.04, counts exact.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from trialpress.data.loading import load_study
from trialpress.plan import load_plan
from trialpress.results.ard import ARD
from trialpress.results.collect import analyse

from conftest import FLAGSHIP, ROOT

PUBLISHED = yaml.safe_load((ROOT / "data" / "blinatumomab-salvage" / "published.yml").read_text())


@pytest.fixture(scope="module")
def ard() -> ARD:
    lp = load_plan(FLAGSHIP)
    return analyse(lp.plan, load_study(lp)).ard


def test_group_sizes_are_exact(ard: ARD) -> None:
    pop = PUBLISHED["population"]
    assert ard["POP.FAS.n"].value == pop["total"]
    assert ard["POP.FAS.FIRST.n"].value == pop["first"]
    assert ard["POP.FAS.LATER.n"].value == pop["later"]


def test_overall_survival_reproduces_the_abstract(ard: ARD) -> None:
    os_ = PUBLISHED["overall_survival"]
    assert ard["OS.km.FIRST.median"].value == pytest.approx(os_["median_months"]["first"], abs=0.2)
    assert ard["OS.km.LATER.median"].value == pytest.approx(os_["median_months"]["later"], abs=0.2)
    hr = ard["OS.cox.LATER.hr"]
    assert hr.value == pytest.approx(os_["hazard_ratio"]["estimate"], abs=0.03)
    assert hr.lower == pytest.approx(os_["hazard_ratio"]["ci95"][0], abs=0.04)
    assert hr.upper == pytest.approx(os_["hazard_ratio"]["ci95"][1], abs=0.04)
    assert ard["OS.cox.LATER.p"].value < 0.001


def test_prior_transplant_has_no_apparent_effect_on_median_os(ard: ARD) -> None:
    """'No apparent effect': within each salvage group, medians by prior alloHSCT differ by < 1.5 months."""
    for g in ("FIRST", "LATER"):
        yes = ard[f"OS.subgroup.PRHSCT.Y.{g}.median"].value
        no = ard[f"OS.subgroup.PRHSCT.N.{g}.median"].value
        assert abs(yes - no) < 1.5, (g, yes, no)


def test_relapse_free_survival_reproduces_the_abstract(ard: ARD) -> None:
    rfs = PUBLISHED["relapse_free_survival"]
    assert ard["RFS.km.FIRST.median"].value == pytest.approx(rfs["median_months"]["first"], abs=0.2)
    assert ard["RFS.km.LATER.median"].value == pytest.approx(rfs["median_months"]["later"], abs=0.2)
    hr = ard["RFS.cox.LATER.hr"]
    assert hr.value == pytest.approx(rfs["hazard_ratio"]["estimate"], abs=0.03)
    assert hr.lower == pytest.approx(rfs["hazard_ratio"]["ci95"][0], abs=0.04)
    assert hr.upper == pytest.approx(rfs["hazard_ratio"]["ci95"][1], abs=0.04)
    assert ard["RFS.cox.LATER.p"].value == pytest.approx(rfs["hazard_ratio"]["p"], abs=0.01)
    # responders only: the RFS analysis holds the published remission counts
    assert ard["RFS.km.FIRST.n"].value == PUBLISHED["remission"]["n"]["first"]
    assert ard["RFS.km.LATER.n"].value == PUBLISHED["remission"]["n"]["later"]

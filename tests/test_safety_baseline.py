"""Safety and baseline rows of the ARD against counts made directly from the datasets (plain pandas),
and the safety wording against the risk-difference CIs."""

from __future__ import annotations

from trialpress.results import keys

import pandas as pd
import pytest

from trialpress.data.loading import load_study
from trialpress.plan import load_plan
from trialpress.results.ard import ARD
from trialpress.results.collect import analyse

from conftest import FLAGSHIP, ROOT

DATA = ROOT / "data" / "blinatumomab-salvage"


@pytest.fixture(scope="module")
def ard() -> ARD:
    lp = load_plan(FLAGSHIP)
    return analyse(lp.plan, load_study(lp)).ard


@pytest.fixture(scope="module")
def raw() -> tuple[pd.DataFrame, pd.DataFrame]:
    adsl = pd.read_csv(DATA / "adsl.csv", dtype=str)
    adae = pd.read_csv(DATA / "adae.csv", dtype=str).merge(adsl[["USUBJID", "SALVGRP"]], on="USUBJID")
    return adsl, adae[adae["TRTEMFL"] == "Y"]


def subjects(frame: pd.DataFrame, group: str) -> int:
    return frame.loc[frame["SALVGRP"] == group, "USUBJID"].nunique()


@pytest.mark.parametrize("group", ["FIRST", "LATER"])
def test_overview_counts(ard: ARD, raw: tuple[pd.DataFrame, pd.DataFrame], group: str) -> None:
    _, ae = raw
    assert ard[keys.safety("overview", "n", group, term="any")].value == subjects(ae, group)
    assert ard[keys.safety("overview", "n", group, term="severe")].value == subjects(ae[ae["AETOXGR"].astype(int) >= 3], group)
    assert ard[keys.safety("overview", "n", group, term="serious")].value == subjects(ae[ae["AESER"] == "Y"], group)
    assert ard[keys.safety("overview", "n", group, term="discontinued")].value == subjects(ae[ae["AEACN"] == "DRUG WITHDRAWN"], group)
    fatal = ae[(ae["AEOUT"] == "FATAL") | (ae["AETOXGR"].astype(int) == 5)]
    assert ard[keys.safety("overview", "n", group, term="fatal")].value == subjects(fatal, group)


def test_terms_and_interest_counts(ard: ARD, raw: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, ae = raw
    for group in ("FIRST", "LATER"):
        headache = ae[ae["AEDECOD"] == "Headache"]
        assert ard[keys.safety("pt_any", "n", group, term="Headache", parent="Nervous system disorders")].value == subjects(headache, group)
        infections = ae[ae["AEBODSYS"] == "Infections and infestations"]
        assert ard[keys.safety("interest", "n", group, term="INFECT")].value == subjects(infections, group)


def test_adverse_events_of_interest_follow_the_seed(ard: ARD) -> None:
    """The seed: CRS, febrile neutropenia and infection were more frequent with second or later salvage."""
    for term in ("CRS", "FN", "INFECT"):
        assert ard[keys.safety("interest", "difference", "LATER", term=term)].value > 0, term


def test_baseline_counts_and_summaries(ard: ARD, raw: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    adsl, _ = raw
    for group in ("FIRST", "LATER"):
        part = adsl[adsl["SALVGRP"] == group]
        age = part["AGE"].astype(float)
        assert ard[keys.baseline("AGE", "mean", group)].value == pytest.approx(age.mean())
        assert ard[keys.baseline("AGE", "sd", group)].value == pytest.approx(age.std())
        assert ard[keys.baseline("AGE", "median", group)].value == pytest.approx(age.median())
        assert ard[keys.baseline("SEX", "n", group, "F")].value == (part["SEX"] == "F").sum()
    assert ard[keys.baseline("SEX", "n", "", "F")].value == (adsl["SEX"] == "F").sum()


def test_safety_sentence_words_follow_the_cis(ard: ARD) -> None:
    from trialpress.report.context import ContextBuilder
    from trialpress.report.safety_view import safety_section

    plan = load_plan(FLAGSHIP).plan
    section = safety_section(ContextBuilder(plan, ard), plan)
    assert section is not None
    for view in section.interest_terms:
        term = next(t for t in plan.safety.of_interest if t.label == view.label)  # type: ignore[union-attr]
        r = ard[keys.safety("interest", "difference", "LATER", term=term.id)]
        assert (view.more_frequent_in is not None) == (r.lower > 0)
        assert (view.numerically_more_in is not None) == (r.lower <= 0 < r.value)


def test_term_counts_same_in_slabs_and_by_hashing(ard: ARD, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SOC/PT counts do not depend on how the term-by-subject bitmap is cut into slabs, nor on whether
    term codes are found by counting or by hashing (the paths large MedDRA dictionaries take)."""
    from trialpress.results import safety

    monkeypatch.setattr(safety, "BITMAP_CELLS", 1000)   # ~2 terms per slab for 532 subjects
    monkeypatch.setattr(safety, "TERM_CODES", 0)
    lp = load_plan(FLAGSHIP)
    other = analyse(lp.plan, load_study(lp)).ard
    rows = [r for r in ard if r.analysis.startswith(("soc_", "pt_"))]
    assert len(rows) > 100
    assert [(r.id, r.value) for r in rows] == [(r.id, other[r.id].value) for r in rows]


def test_every_term_count_matches_plain_pandas(ard: ARD, raw: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """Every SOC and PT count (any grade and severe), per group and in total, equals a plain pandas count of
    distinct subjects: an independent check of the term-by-subject bitmaps."""
    _, ae = raw
    expected: dict[tuple[str, str, str, str], int] = {}
    for grade, part in (("any", ae), ("severe", ae[ae["AETOXGR"].astype(int) >= 3])):
        for by, analysis in ((["AEBODSYS"], f"soc_{grade}"), (["AEBODSYS", "AEDECOD"], f"pt_{grade}")):
            for term, rows in part.groupby(by):
                term = term if isinstance(term, tuple) else (term,)
                level, param = (term[1], term[0]) if len(term) == 2 else (term[0], "")
                expected[(analysis, param, level, "")] = rows["USUBJID"].nunique()
                for g, sub in rows.groupby("SALVGRP"):
                    expected[(analysis, param, level, g)] = sub["USUBJID"].nunique()
    got = {(r.analysis, r.parent, r.term, r.group): r.value for r in ard
           if r.analysis in ("soc_any", "soc_severe", "pt_any", "pt_severe") and r.value > 0}
    assert len(expected) > 200
    assert got == expected

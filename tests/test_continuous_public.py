"""A continuous endpoint on the public ADaM package, end to end: the records the plan selects and the
descriptives the ARD holds, against plain pandas on the XPT file; the ARD's MMRM rows against R (nlme::gls +
emmeans with a numDeriv Satterthwaite df, tests/reference/r/continuous.R, case `complete_us_basevisit`: the
plan's model on tests/reference/data/adqs_fksiall.csv, which is checked here to be the plan's records)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from trialpress.analysis.mmrm import mmrm
from trialpress.pipeline import _load
from trialpress.plan import load_plan
from trialpress.results import keys
from trialpress.results.collect import analyse

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "analysis" / "random-cdisc-data.yml"
ARMS = ["B: Placebo", "A: Drug X", "C: Combination"]
REFERENCE = ROOT / "tests" / "reference"
R_FKSI = json.loads((REFERENCE / "expected" / "continuous.json").read_text(encoding="utf-8"))["mmrm"][
    "complete_us_basevisit"]
REL = 1e-4


@pytest.fixture(scope="module")
def ard():
    lplan = load_plan(PLAN)
    return analyse(lplan.plan, _load(lplan)).ard


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    """FKSIALL change from baseline, ITT, post-baseline visits, with the arm and STRATA1 from ADSL."""
    qs, _ = pyreadstat.read_xport(str(ROOT / "data" / "random-cdisc-data" / "adqs.xpt"))
    adsl, _ = pyreadstat.read_xport(str(ROOT / "data" / "random-cdisc-data" / "adsl.xpt"))
    itt = adsl.loc[adsl["ITTFL"] == "Y", ["USUBJID", "TRT01P", "STRATA1"]]
    sel = qs[(qs["PARAMCD"] == "FKSIALL") & (qs["AVISITN"] > 0) & (qs["ABLFL"] != "Y")]
    return sel[["USUBJID", "AVISIT", "AVISITN", "AVAL", "BASE", "CHG"]].merge(itt, on="USUBJID")


def test_descriptives_equal_plain_pandas(ard, records: pd.DataFrame) -> None:
    for (arm, visit), part in records.groupby(["TRT01P", "AVISIT"]):
        x = part["CHG"].dropna().to_numpy()
        got = {s: ard[keys.continuous("FKSI", "desc", s, arm, parameter="CHG", visit=visit)].value
               for s in ("n", "mean", "sd", "median", "q1", "q3", "min", "max")}
        assert got["n"] == len(x)
        assert got["mean"] == pytest.approx(x.mean(), rel=1e-12)
        assert got["sd"] == pytest.approx(x.std(ddof=1), rel=1e-12)
        for stat, q in (("median", 0.5), ("q1", 0.25), ("q3", 0.75)):   # SAS definition 5 = R type 2
            assert got[stat] == pytest.approx(np.quantile(x, q, method="averaged_inverted_cdf"), rel=1e-12)
        assert (got["min"], got["max"]) == (x.min(), x.max())
    base = records.drop_duplicates("USUBJID")
    for arm, part in base.groupby("TRT01P"):
        assert ard[keys.continuous("FKSI", "desc", "mean", arm, parameter="BASE")].value == \
            pytest.approx(part["BASE"].mean(), rel=1e-12)


def test_the_r_reference_extract_is_the_plans_records(records: pd.DataFrame) -> None:
    """The R case is fitted on tests/reference/data/adqs_fksiall.csv: the same subjects, visits, values,
    baselines, arms and strata as the records the plan selects (so the R numbers are the plan's analysis)."""
    extract = pd.read_csv(REFERENCE / "data" / "adqs_fksiall.csv")
    cols = ["USUBJID", "AVISIT", "TRT01P", "STRATA1", "CHG", "BASE"]
    ours = records.loc[:, cols].sort_values(["USUBJID", "AVISIT"]).reset_index(drop=True)
    theirs = extract.rename(columns={"ARM": "TRT01P"}).loc[:, cols].sort_values(["USUBJID", "AVISIT"]
                                                                              ).reset_index(drop=True)
    assert len(ours) == len(theirs) == R_FKSI["n_obs"] and ours["USUBJID"].nunique() == R_FKSI["n_subjects"]
    pd.testing.assert_frame_equal(ours[cols[:4]], theirs[cols[:4]], check_dtype=False)
    np.testing.assert_allclose(ours[["CHG", "BASE"]].to_numpy(float), theirs[["CHG", "BASE"]].to_numpy(float),
                               rtol=1e-13)
    assert R_FKSI["visits"] == list(records.sort_values("AVISITN")["AVISIT"].drop_duplicates())


def _rel(ours: float, theirs: float) -> float:
    return abs(ours - theirs) / abs(theirs)


def test_mmrm_in_the_ard_matches_r_gls_on_the_plans_model(ard) -> None:
    """The plan's FKSI model (CHG ~ group * visit + BASE + STRATA1 + BASE:visit, unstructured covariance,
    REML, Satterthwaite df, observed-margin LS means): every MMRM number the ARD holds at each visit — LS
    means with SE and CI; differences vs placebo with SE, df, t, CI and P — equals R's to 1e-4 relative. The
    plan's df method is Satterthwaite, and so is the R reference's df (numDeriv, in SAS's parametrisation)."""
    lplan = load_plan(PLAN)
    ep = next(c for c in lplan.plan.continuous if c.id == "FKSI")
    assert (ep.model, ep.covariates, ep.factors, ep.covariate_by_visit, ep.df_method, ep.lsmeans) == \
        ("mmrm", ["BASE"], ["STRATA1"], ["BASE"], "satterthwaite", "observed"), "the R case is this model"
    assert ep.structures[0] == R_FKSI["structure"] == ard[keys.continuous("FKSI", "mmrm", "covariance")].text
    assert ard[keys.continuous("FKSI", "mmrm", "observations")].value == R_FKSI["n_obs"]
    worst = 0.0
    lsmeans = R_FKSI["lsmeans"]["satterthwaite"]["observed"]
    assert len(lsmeans) == len(ARMS) * len(R_FKSI["visits"])
    for r in lsmeans:
        row = ard[keys.continuous("FKSI", "mmrm", "lsmean", r["group"], visit=r["visit"])]
        se = ard[keys.continuous("FKSI", "mmrm", "lsmean_se", r["group"], visit=r["visit"])].value
        for ours, theirs in ((row.value, r["estimate"]), (row.lower, r["lower"]), (row.upper, r["upper"]),
                             (se, r["se"])):
            assert _rel(ours, theirs) <= REL, (r, ours, theirs)
            worst = max(worst, _rel(ours, theirs))
    differences = R_FKSI["differences"]["satterthwaite"]
    assert len(differences) == (len(ARMS) - 1) * len(R_FKSI["visits"])
    for r in differences:
        at = {"visit": r["visit"]}
        row = ard[keys.continuous("FKSI", "mmrm", "difference", r["group"], **at)]
        assert row.reference == "B: Placebo"
        pairs = [(row.value, r["estimate"]), (row.lower, r["lower"]), (row.upper, r["upper"])]
        pairs += [(ard[keys.continuous("FKSI", "mmrm", stat, r["group"], **at)].value, r[name])
                  for stat, name in (("difference_se", "se"), ("df", "df"), ("t", "t"), ("p", "p"))]
        for ours, theirs in pairs:
            assert _rel(ours, theirs) <= REL, (r, ours, theirs)
            worst = max(worst, _rel(ours, theirs))
    print(f"FKSI MMRM, ARD vs R: max relative difference {worst:.2e}")


def test_mmrm_in_the_ard_is_the_model_on_the_plans_records(ard, records: pd.DataFrame) -> None:
    """The record selection: the ARD's MMRM is the model fitted on the records selected here from the XPT
    files, to 1e-9 (the numbers themselves are held to R above)."""
    visits = list(records.sort_values("AVISITN")["AVISIT"].drop_duplicates())
    fit = mmrm(records, "CHG", "TRT01P", "AVISIT", "USUBJID", covariates=["BASE"], factors=["STRATA1"],
               covariate_by_visit=["BASE"], reference="B: Placebo", groups=ARMS, visits=visits)
    assert fit.covariance == ard[keys.continuous("FKSI", "mmrm", "covariance")].text == "us"
    for m in fit.lsmeans_observed:
        row = ard[keys.continuous("FKSI", "mmrm", "lsmean", m.group, visit=m.visit)]
        assert (row.value, row.lower, row.upper) == pytest.approx((m.estimate, m.lower, m.upper), rel=1e-9)
    for d in fit.differences:
        row = ard[keys.continuous("FKSI", "mmrm", "difference", d.group, visit=d.visit)]
        assert (row.value, row.lower, row.upper) == pytest.approx((d.estimate, d.lower, d.upper), rel=1e-9)
        p = ard[keys.continuous("FKSI", "mmrm", "p", d.group, visit=d.visit)].value
        assert p == pytest.approx(d.p, rel=1e-9) and not math.isnan(p)
    assert ard[keys.continuous("FKSI", "mmrm", "observations")].value == fit.n_obs == len(records)


def test_decisions_follow_the_ci_and_the_better_direction(ard) -> None:
    for arm in ("A: Drug X", "C: Combination"):
        d = ard[keys.continuous("FKSI", "mmrm", "difference", arm, visit="WEEK 5 DAY 36")]
        sig = ard[keys.decision("FKSI", "significant", arm, on="mmrm")]
        assert sig.value == float(d.lower > 0 or d.upper < 0)
        favours = ard[keys.decision("FKSI", "favours", arm, on="mmrm")].text
        assert favours == (arm if d.value > 0 else "B: Placebo")   # higher is better in this plan


@pytest.fixture(scope="module")
def primary_continuous(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The public package rendered (HTML and PDF) with its continuous endpoint declared primary: a project of
    its own, with the data and templates linked, the plan as committed but for `primary: FKSI`."""
    from public_packages import rendered_public_variant

    return rendered_public_variant(tmp_path_factory.mktemp("primary-continuous"),
                                   lambda plan: plan.update(primary="FKSI"))


def test_a_report_whose_primary_endpoint_is_continuous(primary_continuous: Path, ard) -> None:
    """The abstract leads with the MMRM result and concludes on it; the report has its CSR table and its
    figure; the PDF carries the same sentence. The numbers are the ARD's, as the report rounds them."""
    import html as htmllib
    import re

    from pypdf import PdfReader

    from trialpress.report.formatting import fixed, pvalue

    qmd = (primary_continuous / "report.qmd").read_text(encoding="utf-8")
    plain = re.sub(r"\\(.)", r"\1", re.sub(r"`</?a[^`]*`\{=html\}", "", qmd))
    abstract = plain.split("## Abstract", 1)[1].split("\n## ", 1)[0]
    results = abstract.split("**Results**", 1)[1].split("**Conclusion**", 1)[0]
    assert results.index("FKSI-19") < results.index("Overall survival"), "the abstract leads with the primary"
    d = ard[keys.continuous("FKSI", "mmrm", "difference", "A: Drug X", visit="WEEK 5 DAY 36")]
    p = ard[keys.continuous("FKSI", "mmrm", "p", "A: Drug X", visit="WEEK 5 DAY 36")]
    shown_p = pvalue(p.value)
    shown = (f"LS mean difference vs. B: Placebo, {fixed(d.value, 1)}; 95% confidence interval [CI], "
             f"{fixed(d.lower, 1)} to {fixed(d.upper, 1)}; P {shown_p if shown_p[0] in '<>' else '= ' + shown_p}")
    assert shown.replace("\u2212", "-") in results, results     # CI spelled out at its first use
    assert "FKSI-19 total score (FKSI-19)" not in results       # no abbreviation the label already holds
    conclusion = abstract.split("**Conclusion**", 1)[1].strip()
    assert conclusion.startswith("FKSI-19 total score did not differ significantly between B: Placebo and either "
                                 "A: Drug X or C: Combination."), conclusion

    page = htmllib.unescape((primary_continuous / "report.html").read_text(encoding="utf-8"))
    assert "FKSI-19 total score: change from baseline by visit and MMRM" in page
    assert "LS mean change from baseline in FKSI-19 total score by visit" in page
    assert any((primary_continuous / "figures").glob("means-fksi.svg"))
    pdf = " ".join(pg.extract_text() or "" for pg in PdfReader(str(primary_continuous / "report.pdf")).pages)
    assert "LS mean difference" in re.sub(r"\s+", " ", pdf)


def test_the_abstracts_conclusion_is_a_paragraph_of_its_own(primary_continuous: Path) -> None:
    """Whatever the Results' last sentence (here, with no adverse events of interest, a binary one), the
    Conclusion starts its own paragraph: it once ran on inside the Results paragraph."""
    page = (primary_continuous / "report.html").read_text(encoding="utf-8")
    assert page.count("<p><strong>Conclusion</strong>") == 1 and page.count("<p><strong>Results</strong>") == 1

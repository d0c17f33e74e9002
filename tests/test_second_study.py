"""The second bundled study (velotrepin-copd, invented): a three-arm trial that differs from the flagship
on every axis renders end to end from its plan with the same templates.

Checks: the bundled data are what the generator writes; three group columns (plus Total) in the
tables; each dose vs placebo HR in the ARD; days as the unit; ITT and safety populations with
randomised-but-untreated subjects; the shorter section list without response content or empty
headings; mild/moderate/severe severity ('Severe', never 'Grade ≥3'). Engine problems found with this
study were fixed in the engine; these tests keep them fixed.
"""

from __future__ import annotations

from trialpress.results import keys
from trialpress.results import safety_keys as sk

import html as htmllib
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from trialpress_synth import DEFAULT_SEEDS, GENERATORS, write_study
from trialpress_synth import velotrepin as vlt
from trialpress.pipeline import render

from conftest import ROOT

NAME = "velotrepin-copd"
PLAN = ROOT / "analysis" / f"{NAME}.yml"
BUNDLED = ROOT / "data" / NAME
ARMS = {"PLACEBO": "Placebo", "VLT100": "Velotrepin 100 mg", "VLT300": "Velotrepin 300 mg"}
DOSES = ("VLT100", "VLT300")


# ------------------------------------------------------------------ generator and bundled data
@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return GENERATORS[NAME](DEFAULT_SEEDS[NAME])


def test_bundled_csvs_are_what_the_generator_writes(tmp_path: Path) -> None:
    written = write_study(NAME, tmp_path)
    assert [p.name for p in written] == ["adae.csv", "adsl.csv", "adtte.csv"]
    for p in written:
        assert p.read_bytes() == (BUNDLED / p.name).read_bytes(), f"{p.name} differs: run `trialpress synth {NAME}`"
    assert not (BUNDLED / "adrs.csv").exists(), "the study has no response data"


def test_design_three_arms_itt_and_safety(data: dict[str, pd.DataFrame]) -> None:
    adsl = data["ADSL"]
    assert 300 <= len(adsl) <= 600 and adsl["USUBJID"].is_unique
    counts = adsl["TRT01P"].value_counts()
    assert set(counts.index) == set(ARMS) and counts.max() - counts.min() <= 3   # 1:1:1 blocks
    assert (adsl["ITTFL"] == "Y").all()
    untreated = adsl[adsl["SAFFL"] == "N"]
    assert 3 <= len(untreated) <= 12 and set(untreated["TRT01P"]) == set(ARMS)
    assert untreated["TRTSDT"].isna().all() and untreated["TRT01A"].isna().all()
    assert not data["ADAE"]["USUBJID"].isin(untreated["USUBJID"]).any()
    adtte = data["ADTTE"]
    assert set(adtte["PARAMCD"]) == {"TTFE", "TTSE"} and (adtte["AVALU"] == "DAYS").all()
    assert adtte["AVAL"].between(1, 380).all()
    # a severe exacerbation is also a moderate-or-severe one: TTFE never after TTSE
    wide = adtte.pivot(index="USUBJID", columns="PARAMCD", values="AVAL")
    assert (wide["TTFE"] <= wide["TTSE"]).all()
    assert set(data["ADAE"]["AESEV"]) == {"MILD", "MODERATE", "SEVERE"}
    assert {"Y", "N"} == set(data["ADAE"]["TRTEMFL"])


def test_calibration_targets(data: dict[str, pd.DataFrame]) -> None:
    measured = vlt.check_calibration(data["ADSL"], data["ADTTE"])["TTFE"]
    assert abs(measured["median"]["PLACEBO"] - vlt.TARGETS["ttfe_median"]) <= 2
    for arm in DOSES:
        assert abs(measured["hr"][arm]["hr"] - vlt.TARGETS["hr"][arm]) <= 0.01


def test_same_seed_same_frames() -> None:
    a, b = GENERATORS[NAME](7), GENERATORS[NAME](7)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])


# ------------------------------------------------------------------ the rendered report
@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outcome = render(PLAN, report_root=tmp_path_factory.mktemp("report"), report_date="2026-01-01")
    assert outcome.created
    return outcome.folder


@pytest.fixture(scope="module")
def ard(rendered: Path) -> dict[str, dict]:
    return {r["id"]: r for r in json.loads((rendered / "ard.json").read_text())["rows"]}


@pytest.fixture(scope="module")
def page(rendered: Path) -> str:
    return (rendered / "report.html").read_text(encoding="utf-8")


def text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment)).replace("\xa0", " ")).strip()


def table(page: str, table_id: str) -> str:
    m = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S)
    assert m, f"table {table_id} missing"
    return m.group(0)


def header_cells(tab: str, row: int = 0) -> list[str]:
    head = re.search(r"<thead>(.*?)</thead>", tab, re.S)
    assert head
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", head.group(1), re.S)
    return [text_of(c) for c in re.findall(r"<th[^>]*>(.*?)</th>", rows[row], re.S)]


def abstract(page: str) -> str:
    """The abstract's text (after the contents sidebar, which also names the sections)."""
    text = text_of(page[page.index('id="abstract"'):])
    return text[:text.index("Populations and endpoints")]


slow = pytest.mark.slow


@slow
def test_version_folder(rendered: Path) -> None:
    for name in ("report.qmd", "report.html", "report.pdf", "ard.csv", "ard.json", "manifest.json"):
        assert (rendered / name).is_file(), name
    assert len(list((rendered / "figures").glob("*.svg"))) >= 2


@slow
def test_three_group_columns_plus_total(page: str, ard: dict[str, dict]) -> None:
    itt = {g: int(ard[keys.population("ITT", g).id]["value"]) for g in ARMS}
    saf = {g: int(ard[keys.population("SAF", g).id]["value"]) for g in ARMS}
    expected_itt = [f"{ARMS[g]} (N = {itt[g]})" for g in ARMS]
    expected_saf = [f"{ARMS[g]} (N = {saf[g]})" for g in ARMS]
    assert header_cells(table(page, "table-baseline"))[1:] == [*expected_itt, f"Total (N = {sum(itt.values())})"]
    assert header_cells(table(page, "table-efficacy"))[1:] == expected_itt
    assert header_cells(table(page, "table-safety-overview"))[1:] == [*expected_saf,
                                                                      f"Total (N = {sum(saf.values())})"]
    assert header_cells(table(page, "table-safety-interest"))[1:] == [*expected_saf,
                                                                      f"Total (N = {sum(saf.values())})"]
    terms = header_cells(table(page, "table-safety-terms"))
    assert terms[1:] == [*expected_saf, f"Total (N = {sum(saf.values())})"]


@slow
def test_itt_and_safety_populations(ard: dict[str, dict], data: dict[str, pd.DataFrame]) -> None:
    adsl = data["ADSL"]
    assert ard[keys.population("ITT").id]["value"] == len(adsl)
    assert ard[keys.population("SAF").id]["value"] == (adsl["SAFFL"] == "Y").sum() < len(adsl)
    assert ard[keys.km("TTFE", "n").id]["population"] == "ITT" and ard[keys.km("TTFE", "n").id]["value"] == len(adsl)
    assert ard[keys.safety("overview", "n", term="any").id]["population"] == "SAF"
    assert ard[keys.safety("overview", "n", term="any").id]["n"] == ard[keys.population("SAF").id]["value"]


@slow
@pytest.mark.parametrize("endpoint", ["TTFE", "TTSE"])
def test_each_dose_vs_placebo_hr(ard: dict[str, dict], endpoint: str) -> None:
    for arm in DOSES:
        for analysis in ("cox", "cox_strat"):
            row = ard[keys.model(endpoint, analysis, "hr", arm).id]
            assert row["reference"] == "PLACEBO" and row["group"] == arm
            assert 0 < row["lower"] < row["value"] < row["upper"]
        assert keys.test(endpoint, "logrank", "p", arm).id in ard
    assert keys.model(endpoint, "cox", "hr", "PLACEBO").id not in ard
    assert keys.test(endpoint, "logrank", "p").id in ard   # the 2-df log-rank over all three arms


@slow
def test_hrs_match_the_generator(ard: dict[str, dict], data: dict[str, pd.DataFrame]) -> None:
    """The unstratified Cox HR of each dose vs placebo (fitted on all three arms with two dummies)
    equals, within sampling noise of the model, the pairwise HR the generator calibrated."""
    measured = vlt.check_calibration(data["ADSL"], data["ADTTE"])["TTFE"]["hr"]
    for arm in DOSES:
        assert ard[keys.model("TTFE", "cox", "hr", arm).id]["value"] == pytest.approx(measured[arm]["hr"], abs=0.02)


@slow
def test_days_are_the_unit(ard: dict[str, dict], page: str, data: dict[str, pd.DataFrame]) -> None:
    adtte = data["ADTTE"].merge(data["ADSL"][["USUBJID", "TRT01P"]], on="USUBJID")
    for arm in ARMS:
        d = adtte[(adtte["PARAMCD"] == "TTFE") & (adtte["TRT01P"] == arm)]
        median = ard[keys.km("TTFE", "median", arm).id]["value"]
        # a time in days (an observed AVAL, or the midpoint of a flat stretch at 0.5) within the 52 weeks
        assert 30 < median < 380 and (median in set(d["AVAL"]) or 2 * median == round(2 * median))
    assert ard[keys.km("TTFE", "median", "PLACEBO").id]["value"] == pytest.approx(vlt.TARGETS["ttfe_median"], abs=2)
    assert keys.km("TTFE", "rate", "PLACEBO", at=360).id in ard and keys.risk("TTFE", "at_risk", "PLACEBO", 90).id in ard
    body = text_of(page)
    assert "Median, days (95% CI)" in body and "Rate at 360 days" in body
    assert re.search(r"vs\. \d+ days; HR", abstract(page))
    assert "month" not in body.lower()


@slow
def test_shorter_section_list(rendered: Path, page: str) -> None:
    qmd = (rendered / "report.qmd").read_text(encoding="utf-8")
    headings = re.findall(r"^(#{2,4}) (.+)$", qmd, re.M)
    titles = [t for _, t in headings]
    assert titles[:4] == ["Abstract", "Methods", "Populations and endpoints", "Statistical methods"]
    for section in ("Patient characteristics", "Efficacy", "Time to first moderate or severe exacerbation",
                    "Time to first severe exacerbation", "Subgroup analysis", "Safety"):
        assert section in titles
    assert not any(re.search(r"remission|response|transplant|alloHSCT", t, re.I) for t in titles)
    # no empty heading: each heading is followed by content before the next heading of its level or above
    lines = qmd.splitlines()
    marks = [(i, len(m.group(1))) for i, line in enumerate(lines) if (m := re.match(r"^(#{2,4}) ", line))]
    for k, (i, level) in enumerate(marks):
        end = next((j for j, lv in marks[k + 1:] if lv <= level), len(lines))
        assert any(line.strip() for line in lines[i + 1:end]), f"empty heading: {lines[i]}"
    text = abstract(page).lower()
    assert "odds ratio" not in text and "remission" not in text and "response" not in text
    body = text_of(page).lower()
    assert "odds ratio" not in body and "clopper" not in body


@slow
def test_severity_is_mild_moderate_severe(page: str, ard: dict[str, dict]) -> None:
    overview = text_of(table(page, "table-safety-overview"))
    assert "Severe TEAE" in overview
    for tid in ("table-safety-overview", "table-safety-terms", "table-safety-interest"):
        tab = text_of(table(page, tid))
        assert "Grade ≥3" not in tab and "≥3" not in tab, tid
    assert header_cells(table(page, "table-safety-terms"), 1).count("Severe") == len(ARMS) + 1
    assert "severe means severe intensity" in text_of(page)
    assert "CTCAE" not in text_of(page)
    # counted from AESEV = SEVERE, treatment-emergent, in the safety population
    assert ard[keys.safety("overview", "n", term="severe").id]["value"] > 0


@slow
def test_no_grade_wording_with_aesev(page: str) -> None:
    for tid in ("table-safety-terms", "table-safety-interest", "table-safety-max-grade", "table-safety-eair"):
        assert "grade" not in text_of(table(page, tid)).lower(), tid


@slow
def test_safety_suite_tables_of_a_three_arm_trial(page: str, ard: dict[str, dict], rendered: Path) -> None:
    """Disposition by randomised arm over all subjects; the other safety tables in the safety population, three
    arms plus Total; severity by maximum MILD/MODERATE/SEVERE; no laboratory section (no ADLB in the plan)."""
    saf = {g: int(ard[keys.population("SAF", g).id]["value"]) for g in ARMS}
    expected_saf = [*[f"{ARMS[g]} (N = {saf[g]})" for g in ARMS], f"Total (N = {sum(saf.values())})"]
    everyone = {g: int(ard[sk.disposition("subjects", g).id]["value"]) for g in ARMS}
    assert sum(everyone.values()) == int(ard[keys.population("ITT").id]["value"])
    assert header_cells(table(page, "table-safety-disposition"))[1:] == [
        *[f"{ARMS[g]} (N = {everyone[g]})" for g in ARMS], f"Total (N = {sum(everyone.values())})"]
    for tid in ("table-safety-exposure", "table-safety-max-grade", "table-safety-serious", "table-safety-eair",
                "table-safety-deaths", "table-safety-all-terms"):
        assert header_cells(table(page, tid))[1:] == expected_saf, tid
    severity = text_of(table(page, "table-safety-max-grade"))
    assert all(w in severity for w in ("Mild", "Moderate", "Severe"))
    qmd = (rendered / "report.qmd").read_text(encoding="utf-8")
    assert "#### Disposition and analysis sets" in qmd and "#### Deaths" in qmd
    assert "Laboratory values" not in qmd and "Vital signs" not in qmd


@slow
def test_abstract_names_the_arms_plainly(page: str) -> None:
    text = abstract(page)
    assert "as placebo" not in text and "velotrepin as velotrepin" not in text


@slow
def test_group_values_with_spaces_render(project_copy: Path, tmp_path: Path) -> None:
    folder = project_copy / "data" / NAME
    adsl = (folder / "adsl.csv").read_text(encoding="utf-8")
    for code, label in ARMS.items():
        adsl = adsl.replace(f",{code},", f",{label},")
    (folder / "adsl.csv").write_text(adsl, encoding="utf-8")
    plan = (project_copy / "analysis" / f"{NAME}.yml").read_text(encoding="utf-8")
    for code, label in ARMS.items():
        plan = plan.replace(f"value: {code},", f"value: {label},").replace(f"reference: {code}", f"reference: {label}")
    (project_copy / "analysis" / f"{NAME}.yml").write_text(plan, encoding="utf-8")
    outcome = render(project_copy / "analysis" / f"{NAME}.yml", report_root=tmp_path / "r", formats=["html"],
                     report_date="2026-01-01")
    ard = {r["id"] for r in json.loads((outcome.folder / "ard.json").read_text())["rows"]}
    assert keys.model("TTFE", "cox", "hr", "Velotrepin 100 mg").id in ard

"""A continuous endpoint the plan reports as a safety outcome (`role: safety`), on the public ADaM package: two vital
signs (ADVS DIABP and TEMP, change from baseline at WEEK 5 DAY 36, ANCOVA on the baseline, safety population by
the as-treated arm), each with one significant and one non-significant difference vs placebo.

Against R (lm + emmeans on the package's XPT files read by haven; tests/reference/r/safety_continuous.R): every LS
mean and difference of the ARD, and the unit, which the plan does not name and the data carry in AVALU. Against
the ARD's decisions and R's signs: the report describes each significant difference as the mean it makes higher
or lower with the group than with placebo, never as a result favoring a group; it reports the endpoints in the
safety section, not among the efficacy results, and the abstract's conclusion still follows the efficacy lead."""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path

import pytest

from public_packages import ROOT, public_variant, rendered_public_variant, variant_ard
from trialpress.report.formatting import fixed
from trialpress.results import keys

R = json.loads((ROOT / "tests" / "reference" / "expected" / "safety_continuous.json").read_text(encoding="utf-8"))
VISIT = "WEEK 5 DAY 36"
LABELS = {"DIABP": "Diastolic blood pressure", "TEMP": "Temperature"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The public package's committed plan with the two vital signs added as safety endpoints (no unit given),
    and its event-free survival reported as a safety outcome too (a KM figure in the safety section), rendered
    to HTML and PDF in a project of its own."""
    def safety_endpoints(plan: dict) -> None:
        next(e for e in plan["time_to_event"] if e["id"] == "EFS")["role"] = "safety"
        plan["continuous"] += [{"id": pid, "label": label, "dataset": "ADVS", "paramcd": pid, "value": "CHG",
                                "population": "SAF", "primary_visit": VISIT, "model": "ancova",
                                "covariates": ["BASE"], "better": "lower", "role": "safety", "decimals": 2}
                               for pid, label in LABELS.items()]

    return rendered_public_variant(tmp_path_factory.mktemp("safety-continuous"), safety_endpoints)


@pytest.fixture(scope="module")
def ard(rendered: Path) -> dict[str, dict]:
    return {r["id"]: r for r in json.loads((rendered / "ard.json").read_text(encoding="utf-8"))["rows"]}


def _plain(folder: Path) -> str:
    qmd = (folder / "report.qmd").read_text(encoding="utf-8")
    return re.sub(r"\\(.)", r"\1", re.sub(r"`</?a[^`]*`\{=html\}", "", qmd))


def test_ls_means_differences_and_unit_equal_r(ard: dict[str, dict]) -> None:
    for pid, ref in R.items():
        if pid.startswith("_"):
            continue
        for m in ref["lsmeans"]:
            row = ard[keys.continuous(pid, "ancova", "lsmean", m["group"], visit=VISIT).id]
            for ours, theirs in ((row["value"], m["estimate"]), (row["lower"], m["lower"]), (row["upper"], m["upper"])):
                assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12)
            assert row["unit"] == ref["unit"]           # AVALU of the records: the plan names no unit
            assert row["n"] == ref["n"]
        for d in ref["differences"]:
            row = ard[keys.continuous(pid, "ancova", "difference", d["group"], visit=VISIT).id]
            for ours, theirs in ((row["value"], d["estimate"]), (row["lower"], d["lower"]), (row["upper"], d["upper"])):
                assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12)
            p = ard[keys.continuous(pid, "ancova", "p", d["group"], visit=VISIT).id]["value"]
            assert p == pytest.approx(d["p"], rel=1e-9)
        base = ard[keys.continuous(pid, "desc", "mean", "B: Placebo", parameter="BASE").id]
        assert base["unit"] == ref["unit"]


def _r_diff(pid: str, group: str) -> dict:
    return next(d for d in R[pid]["differences"] if d["group"] == group)


@pytest.mark.parametrize("pid", sorted(LABELS))
def test_each_difference_is_described_by_its_direction_not_a_favored_group(rendered: Path, pid: str) -> None:
    """Significant (R's CI excludes 0): 'was higher/lower with <group> than with B: Placebo' by R's sign, with
    the group's and placebo's LS means in that order; not significant: 'did not differ significantly'."""
    text = _plain(rendered)
    name = LABELS[pid].lower()
    placebo = next(m for m in R[pid]["lsmeans"] if m["group"] == "B: Placebo")
    sentences = re.findall(rf"At {VISIT}, the LS mean change from baseline in {name} [^()]*\([^)]*\)", text)
    assert sentences, f"no sentence on {name}"
    for group in ("A: Drug X", "C: Combination"):
        d = _r_diff(pid, group)
        mine = [s for s in sentences if group in s]
        assert mine, f"no sentence on {name} with {group}"
        own = next(m for m in R[pid]["lsmeans"] if m["group"] == group)
        means = f"({fixed(own['estimate'], 2)} vs. {fixed(placebo['estimate'], 2)} {R[pid]['unit']};"
        if d["lower"] > 0 or d["upper"] < 0:
            word = "higher" if d["estimate"] > 0 else "lower"
            assert all(f"was {word} with {group} than with B: Placebo {means}" in s for s in mine), mine
        else:
            assert all("did not differ significantly" in s for s in mine), mine
    assert not any("favored" in s for s in sentences), sentences
    # the data give one of each: both words are exercised
    assert {"higher", "lower"} & {w for s in sentences for w in ("higher", "lower") if f"was {w} with" in s}


def test_reported_in_the_safety_section_not_with_efficacy(rendered: Path) -> None:
    text = _plain(rendered)
    results = text.split("\n## Results", 1)[1]
    efficacy, safety = results.split("\n### Safety", 1)
    for label in LABELS.values():
        assert f"\n#### {label}\n" in safety
        assert label not in efficacy
    assert "#### Diastolic blood pressure" in safety.split("#### Supplementary", 1)[0]
    abstract = text.split("## Abstract", 1)[1].split("\n## ", 1)[0]
    conclusion = abstract.split("**Conclusion**", 1)[1]
    assert "blood pressure" not in conclusion and "emperature" not in conclusion   # the lead is an efficacy endpoint
    methods = text.split("\n## Methods", 1)[1].split("\n## Results", 1)[0]
    favors = methods.split("names the group it favors", 1)[1].split("medians are compared", 1)[0]
    assert "diastolic" not in favors and "temperature" not in favors
    assert ("For diastolic blood pressure and temperature, safety endpoints, the text states whether the mean at "
            "the primary visit was higher or lower with each group than with the reference") in methods


def test_tables_and_figures_are_numbered_in_reading_order(rendered: Path) -> None:
    """The safety endpoints' tables, KM and means figures come after the efficacy ones, and every number
    follows the one before it in the page (a safety KM figure was once numbered among the efficacy ones)."""
    page = htmllib.unescape((rendered / "report.html").read_text(encoding="utf-8"))
    for kind in ("Table", "Figure"):
        numbers = [int(n) for n in re.findall(rf"<strong>{kind} (\d+)\.</strong>", page)]
        first = list(dict.fromkeys(numbers))
        assert first == list(range(1, len(first) + 1)), (kind, first)
    assert re.search(r"<strong>Table \d+\.</strong> Diastolic blood pressure: change from baseline by visit and "
                     r"ANCOVA \(safety population\)", page)
    safety = page.split(">Safety</h3>", 1)[1]
    assert "Kaplan-Meier estimates of event free survival" in safety and "means-fksi" not in safety
    assert "Baseline, Pa" in page and "Baseline, C" in page   # the data's own units head the tables
    for pid in LABELS:
        assert (rendered / "figures" / f"means-{pid.lower()}.svg").exists()


def test_a_percent_change_is_in_percent_and_a_plan_unit_wins(tmp_path: Path) -> None:
    """PCHG: its descriptives, LS means and differences carry %, its baseline and values the data's AVALU; a
    unit the plan names replaces AVALU (not the % of a percent change)."""
    def endpoint(**kw: str) -> dict:
        return {"dataset": "ADVS", "value": "PCHG", "population": "SAF", "primary_visit": VISIT, "model": "ancova",
                "covariates": ["BASE"], "better": "lower", "role": "safety", **kw}

    ard = variant_ard(public_variant(tmp_path, lambda plan: plan["continuous"].extend([
        endpoint(id="PDIABP", label="Diastolic blood pressure", paramcd="DIABP"),
        endpoint(id="PPULSE", label="Pulse", paramcd="PULSE", unit="bpm")])))
    for pid, unit in (("PDIABP", "Pa"), ("PPULSE", "bpm")):
        assert ard[keys.continuous(pid, "desc", "mean", "B: Placebo", parameter="BASE")].unit == unit
        assert ard[keys.continuous(pid, "desc", "mean", "B: Placebo", parameter="AVAL", visit=VISIT)].unit == unit
        assert ard[keys.continuous(pid, "desc", "mean", "B: Placebo", parameter="PCHG", visit=VISIT)].unit == "%"
        assert ard[keys.continuous(pid, "ancova", "lsmean", "B: Placebo", visit=VISIT)].unit == "%"
        assert ard[keys.continuous(pid, "ancova", "difference", "A: Drug X", visit=VISIT)].unit == "%"


def test_init_tells_how_to_report_a_vital_sign_as_a_safety_outcome(tmp_path: Path) -> None:
    """`init` names the package's laboratory and vital-sign parameters and says what the fixture above sets to
    report one as a safety outcome: the role and the safety population."""
    from trialpress.scaffold import init

    text = init(ROOT / "data" / "random-cdisc-data", tmp_path / "plan.yml").read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if ln.startswith("#   # also in ADVS:"))
    assert '"DIABP"' in line and '"TEMP"' in line
    assert line.endswith("(copy an entry; set dataset, paramcd, label; as a safety outcome, role: safety and "
                         "population: SAF)"), line


def test_the_pdf_writes_every_negative_number_with_the_minus_sign(rendered: Path) -> None:
    """Typst's markup turns '-4.16' after a space into a minus sign but not '(-2.30' or a table cell's
    '-7.18': the template makes them all U+2212, and leaves hyphens between letters or digits alone."""
    from pypdf import PdfReader

    text = " ".join(pg.extract_text() or "" for pg in PdfReader(str(rendered / "report.pdf")).pages)
    assert text.count("\u2212") > 10
    hyphen_minus = re.findall(r"(?<![\w.])-\d", text)
    assert hyphen_minus == [], hyphen_minus[:10]
    assert "FKSI-19" in text    # a hyphen inside a name stays one


def test_the_contents_list_the_safety_subsections(rendered: Path) -> None:
    """The safety section's subsections (level 4: disposition … and each safety endpoint) are in the HTML's
    and the PDF's contents, where a reader looks for them."""
    from pypdf import PdfReader

    page = htmllib.unescape((rendered / "report.html").read_text(encoding="utf-8"))
    toc = page.split('id="TOC"', 1)[1].split("</nav>", 1)[0]
    pdf_contents = re.sub(r"\s+", " ", PdfReader(str(rendered / "report.pdf")).pages[0].extract_text())
    for heading in ("Adverse events", "Diastolic blood pressure", "Temperature"):
        assert heading in toc, heading
        assert heading in pdf_contents, heading

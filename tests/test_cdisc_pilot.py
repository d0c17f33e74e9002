"""A second real public ADaM package trialpress was not written against: the CDISC pilot study's ADSL and ADAE
(data/cdiscpilot01, README there), a safety study with no efficacy data, used as a new user would:
`trialpress init`, the CHECK lines set (analysis/cdiscpilot01.yml), then render.

Count checks use plain pandas written here, separately from the engine; the severe adverse events are also
checked against the table the r2rtf documentation publishes for these data (tests/reference/expected/
cdiscpilot01_r2rtf_severe.json, provenance there)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from trialpress.pipeline import _load, render
from trialpress.plan import load_plan
from trialpress.quality.gate import run_gate
from trialpress.results import keys
from trialpress.results import safety_keys as sk
from trialpress.results.collect import analyse
from trialpress.scaffold import init

from public_packages import lines_init_wrote_but_the_plan_lacks, study_fixtures

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "analysis" / "cdiscpilot01.yml"
DATA = ROOT / "data" / "cdiscpilot01"
PUBLISHED = json.loads((ROOT / "tests" / "reference" / "expected" / "cdiscpilot01_r2rtf_severe.json").read_text())
ARMS = ("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")   # TRT01PN 0, 54, 81


@pytest.fixture(scope="module")
def raw() -> tuple[pd.DataFrame, pd.DataFrame]:
    """ADSL and ADAE as pandas reads them: the independent side of every count."""
    return pd.read_parquet(DATA / "adsl.parquet"), pd.read_parquet(DATA / "adae.parquet")


loaded, ard = study_fixtures(PLAN)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outcome = render(PLAN, report_root=tmp_path_factory.mktemp("report"), report_date="2026-01-01", cache=False)
    return outcome.folder


def subjects_by_arm(adsl: pd.DataFrame, ae: pd.DataFrame) -> dict[str, int]:
    """Distinct subjects of `ae` per as-treated arm of the safety population, and in total ('')."""
    saf = adsl[adsl["SAFFL"] == "Y"][["USUBJID", "TRT01A"]]
    hit = saf[saf["USUBJID"].isin(ae["USUBJID"])]
    counts = {arm: int((hit["TRT01A"] == arm).sum()) for arm in ARMS}
    return {**counts, "": int(len(hit))}


def test_committed_plan_is_init_with_check_lines_set(tmp_path: Path) -> None:
    assert lines_init_wrote_but_the_plan_lacks(DATA, PLAN, tmp_path) == []


def test_init_orders_groups_by_their_numeric_code(tmp_path: Path) -> None:
    """TRT01PN codes placebo 0, low dose 54, high dose 81: the order the study's own tables use, not A-Z."""
    plan = load_plan(init(DATA, tmp_path / "p.yml")).plan
    assert plan.group_values == list(ARMS)
    assert plan.groups.reference == "Placebo" and plan.group_variable("SAF") == "TRT01A"
    v = plan.safety.variables
    assert (v.severity, v.severity_kind, v.related) == ("AESEV", "mild_moderate_severe", "AEREL")
    assert v.action is None   # AEACN holds no value: discontinuation is read from ADSL (DCDECOD)


def test_init_reads_the_numeric_code_of_a_csv_too(tmp_path: Path, raw) -> None:
    """A CSV's TRT01PN arrives as text ('54.0'): init still orders the groups by it."""
    folder = tmp_path / "pilot"
    folder.mkdir()
    for name, frame in zip(("adsl", "adae"), raw):
        frame.to_csv(folder / f"{name}.csv", index=False)
    assert load_plan(init(folder, tmp_path / "p.yml")).plan.group_values == list(ARMS)


def test_the_gate_passes(loaded) -> None:
    lplan, data = loaded
    report = run_gate(lplan.plan, data, parallel=False)
    assert report.errors == [], [(r.id, r.examples[:2]) for r in report.errors]


def test_teae_overview_by_plain_pandas(ard, raw) -> None:
    adsl, ae = raw
    teae = ae[ae["TRTEMFL"] == "Y"]
    categories = {
        "any": teae, "severe": teae[teae["AESEV"] == "SEVERE"], "serious": teae[teae["AESER"] == "Y"],
        "related": teae[teae["AEREL"].isin(["POSSIBLE", "PROBABLE"])],
        "serious_related": teae[(teae["AESER"] == "Y") & teae["AEREL"].isin(["POSSIBLE", "PROBABLE"])],
        "fatal": teae[teae["AEOUT"] == "FATAL"],
        "discontinued": adsl[adsl["DCDECOD"] == "ADVERSE EVENT"],   # ADSL: ADAE has no action taken
    }
    for term, records in categories.items():
        for arm, n in subjects_by_arm(adsl, records).items():
            assert ard[keys.safety("overview", "n", arm, term=term)].value == n, (term, arm)
    # the published pilot's counts of subjects with any TEAE: 65, 77 and 76 of 86, 84 and 84
    assert [ard[keys.safety("overview", "n", a, term="any")].value for a in ARMS] == [65, 77, 76]


def test_every_soc_and_pt_count_by_plain_pandas_zeros_included(ard, raw) -> None:
    """Any severity and severe, for every term with an event: a severe count of 0 is an ARD row, so the tables
    print it as every other count ('0 (0.0)'), not as a made-up '0 (0)'."""
    adsl, ae = raw
    teae = ae[ae["TRTEMFL"] == "Y"]
    checked = 0
    for level, by in (("soc", ["AEBODSYS"]), ("pt", ["AEBODSYS", "AEDECOD"])):
        for term, records in teae.groupby(by):
            term = term if isinstance(term, tuple) else (term,)
            where = {"term": term[-1], "parent": term[0] if level == "pt" else ""}
            for grade, rows in (("any", records), ("severe", records[records["AESEV"] == "SEVERE"])):
                for arm, n in subjects_by_arm(adsl, rows).items():
                    r = ard[keys.safety(f"{level}_{grade}", "n", arm, **where)]
                    assert r.value == n and r.n == (84 if arm[:3] == "Xan" else 86 if arm else 254), (term, arm)
                    checked += 1
    assert checked == 2 * 4 * (teae["AEBODSYS"].nunique() + len(teae.groupby(["AEBODSYS", "AEDECOD"])))


def test_maximum_severity_by_plain_pandas(ard, raw) -> None:
    adsl, ae = raw
    rank = {"MILD": 1, "MODERATE": 2, "SEVERE": 3}
    teae = ae[ae["TRTEMFL"] == "Y"].assign(r=lambda d: d["AESEV"].map(rank))
    worst = teae.groupby("USUBJID")["r"].max()
    for level, code in rank.items():
        ids = worst[worst == code].index
        for arm, n in subjects_by_arm(adsl, teae[teae["USUBJID"].isin(ids)]).items():
            assert ard[sk.max_grade(arm, level)].value == n, (level, arm)
    erythema = teae[teae["AEDECOD"] == "ERYTHEMA"]
    assert (erythema["AESEV"] == "SEVERE").sum() == 0
    for arm in (*ARMS, ""):   # no severe erythema anywhere: its row is still there, with 0
        r = ard[sk.max_grade(arm, "SEVERE", term="ERYTHEMA", parent="SKIN AND SUBCUTANEOUS TISSUE DISORDERS")]
        assert r.value == 0 and r.n > 0


def test_deaths_flagged_without_a_date(ard, raw) -> None:
    """DTHFL = 'Y' with no DTHDT in the data: counted, and listed with the date 'not recorded'."""
    adsl, _ = raw
    assert "DTHDT" not in adsl.columns
    died = adsl[adsl["DTHFL"] == "Y"]
    for arm, n in subjects_by_arm(adsl, died).items():
        assert ard[sk.deaths("n", arm)].value == n
    for sid, arm in zip(died["USUBJID"], died["TRT01A"]):
        assert ard[sk.death_listing("date", arm, sid)].text == "not recorded"
        assert sk.death_listing("period", arm, sid) not in ard   # no date: no period to tell


def test_a_disposition_variable_that_codes_completion_is_not_called_a_reason(ard, loaded) -> None:
    """The pilot's ADSL has DCDECOD (COMPLETED or the reason) and no EOSSTT: its block is the disposition
    event, not 'reasons for discontinuing' with 'Completed' among them."""
    from trialpress.report.context import ContextBuilder
    from trialpress.report.disposition_view import disposition_table

    labels = [row[0].text for row in disposition_table(ContextBuilder(loaded[0].plan, ard), loaded[0].plan).model.body]
    assert "Disposition event, completed or reason for discontinuing (DCDECOD)" in labels
    assert not any(t.startswith("Reason for discontinuing") for t in labels)


def test_the_listing_of_deaths_explains_only_its_own_columns(ard, loaded) -> None:
    from trialpress.report.context import ContextBuilder
    from trialpress.report.deaths_view import death_listing

    view = death_listing(ContextBuilder(loaded[0].plan, ard), loaded[0].plan)
    assert [c.text for c in view.model.header[0]] == ["Subject", "Group", "Date of death", "Study day"]
    assert "Period" not in view.note


def test_disposition_and_exposure_by_plain_pandas(ard, raw) -> None:
    adsl, _ = raw
    for reason, count in adsl.groupby("DCDECOD").size().items():
        total = ard[sk.disposition("n", parameter="DCDECOD", term=reason)]
        assert total.value == count, reason
    days = (pd.to_datetime(adsl["TRTEDT"]) - pd.to_datetime(adsl["TRTSDT"])).dt.days + 1
    for arm in ARMS:
        mean = ard[sk.exposure("mean", arm)].value
        assert mean == pytest.approx(days[adsl["TRT01A"] == arm].mean(), rel=1e-12)


def test_baseline_categories_in_the_order_of_their_numeric_code(ard, raw) -> None:
    adsl, _ = raw
    itt = adsl[adsl["ITTFL"] == "Y"]
    for var in ("AGEGR1", "RACE"):
        rows = [r.term for r in ard.select(analysis="baseline", parameter=var, group="", statistic="n")]
        by_code = list(itt.drop_duplicates(var).sort_values(f"{var}N")[var])
        assert rows == by_code, var
        for level, n in itt.groupby(var).size().items():
            assert ard[keys.baseline(var, "n", "", level)].value == n
    assert rows[0] == "WHITE" and [r.term for r in ard.select(
        analysis="baseline", parameter="AGEGR1", group="", statistic="n")] == ["<65", "65-80", ">80"]
    for var in ("AGE", "MMSETOT", "BMIBL"):
        for arm in ARMS:
            x = itt.loc[itt["TRT01P"] == arm, var].dropna()
            assert ard[keys.baseline(var, "mean", arm)].value == pytest.approx(x.mean(), rel=1e-12)
            assert ard[keys.baseline(var, "sd", arm)].value == pytest.approx(x.std(ddof=1), rel=1e-12)


def test_severe_adverse_events_equal_the_published_r2rtf_table(tmp_path: Path) -> None:
    """r2rtf's documentation tabulates subjects with a severe AE (any AE, not only treatment-emergent) by
    SOC and PT on these data. The same plan without the TEAE flag gives the same counts."""
    text = PLAN.read_text().replace("teae_flag: TRTEMFL", "teae_flag: null")
    text = text.replace('folder: "data/cdiscpilot01"', f'folder: "{DATA}"')
    path = tmp_path / "all-aes.yml"
    path.write_text(text)
    lplan = load_plan(path)
    ard = analyse(lplan.plan, _load(lplan)).ard
    assert [ard[keys.safety("overview", "n", a, term="severe")].value for a in ARMS] == PUBLISHED["any"]
    socs = {r.term: r for r in ard.select(analysis="soc_severe", group="", statistic="n")}
    for soc, counts in PUBLISHED["soc"].items():
        assert [ard[keys.safety("soc_severe", "n", a, term=soc)].value for a in ARMS] == counts, soc
        assert soc in socs
    pts = {r.term: r.parent for r in ard.select(analysis="pt_severe", group="", statistic="n") if r.value > 0}
    for pt, counts in PUBLISHED["pt"].items():
        assert [ard[keys.safety("pt_severe", "n", a, term=pt, parent=pts[pt])].value for a in ARMS] == counts, pt


def test_the_report_of_a_safety_study(rendered: Path) -> None:
    """The abstract summarizes the adverse events (with no efficacy result to state), says no conclusion it
    has no basis for, and the methods and contents speak of nothing the study does not have."""
    qmd = (rendered / "report.qmd").read_text()
    abstract = qmd[qmd.index("## Abstract"):qmd.index("## Methods")]
    plain = re.sub(r"`<[^`]*>`\{=html\}", "", abstract).replace("\\", "")   # no links, no Markdown escapes
    assert ("In the safety population, 65 (75.6%) patients with placebo, 77 (91.7%) with Xanomeline Low Dose "
            "and 76 (90.5%) with Xanomeline High Dose had a treatment-emergent adverse event (TEAE)") in plain
    assert "discontinued the study due to an adverse event, respectively." in plain
    assert "**Conclusion**" not in abstract
    methods = qmd[qmd.index("## Methods"):qmd.index("## Results")]
    assert "better direction" not in methods and "()" not in methods and "survival curve" not in methods
    assert "P values" not in methods
    from pypdf import PdfReader

    first = PdfReader(rendered / "report.pdf").pages[0].extract_text()
    assert "Tables" in first and "Figures" not in first
    # each table's note once in the PDF (inside its table) and once in the HTML (after it)
    note = "TEAE, treatment-emergent adverse event. A subject is counted once per row."
    pdf_text = " ".join(p.extract_text() for p in PdfReader(rendered / "report.pdf").pages)
    assert re.sub(r"\s+", " ", pdf_text).count(note) == 1
    assert (rendered / "report.html").read_text().count(note) == 1
    # every n (%) of the tables is an ARD row: a table cell holding one without its link would be made up
    unlinked = re.findall(r"<td[^>]*>(\d+ \([^)<]*\))</td>", (rendered / "report.html").read_text())
    assert unlinked == []


def test_baseline_ranges_keep_the_precision_of_the_data(rendered: Path, raw) -> None:
    """Whole-number variables (AGE, MMSETOT, EDUCLVL) print their range as the data record it ("52-89", not
    "52.0-89.0"); a variable recorded with decimals (WEIGHTBL) keeps the summary's decimal. Plain pandas."""
    adsl, _ = raw
    itt = adsl[adsl["ITTFL"] == "Y"]
    html = re.sub(r"<[^>]+>", " ", (rendered / "report.html").read_text())
    rows = [re.findall(r"[0-9.]+ \(([0-9.]+)\u2013([0-9.]+)\)", m.group(1))
            for m in re.finditer(r"Median \(range\)((?:\s+[0-9.]+ \([0-9.]+\u2013[0-9.]+\))+)", html)]
    by_var = dict(zip(("AGE", "MMSETOT", "DURDIS", "EDUCLVL", "WEIGHTBL", "HEIGHTBL", "BMIBL"), rows))
    for var, decimals in (("AGE", 0), ("MMSETOT", 0), ("EDUCLVL", 0), ("WEIGHTBL", 1)):
        want = [(f"{itt.loc[itt['TRT01P'] == arm, var].min():.{decimals}f}",
                 f"{itt.loc[itt['TRT01P'] == arm, var].max():.{decimals}f}") for arm in ARMS]
        assert by_var[var][:3] == want, var
    assert "without decimals when they are whole numbers" in (rendered / "report.qmd").read_text()


def _abstract(plan_text: str, tmp_path: Path) -> tuple[str, object]:
    from test_abstract import abstract_for

    path = tmp_path / "plan.yml"
    path.write_text(plan_text.replace('folder: "data/cdiscpilot01"', f'folder: "{DATA}"'))
    lplan = load_plan(path)
    return abstract_for(lplan.plan, _load(lplan))


def test_every_number_of_the_safety_abstract_is_an_ard_row(tmp_path: Path) -> None:
    from test_abstract import LINK, _decimals, _values

    text, ard = _abstract(PLAN.read_text(), tmp_path)
    results = text[text.index("**Results**"):]
    links = LINK.findall(results)
    assert len(links) == 4 * 3 * 2   # four categories, three groups, a count and a percent each
    for row_id, shown in links:
        row = ard[row_id]
        token = re.sub(r"\\(.)", r"\1", shown)
        assert any(abs(v - float(token)) <= 0.5 * 10 ** -_decimals(token) + 1e-9 for v in _values(row)), row_id
    prose = re.sub(r"\\(.)", r"\1", LINK.sub("", results))
    assert re.findall(r"\d+", prose) == []


def test_a_single_group_safety_abstract_names_no_group(tmp_path: Path) -> None:
    one = PLAN.read_text().replace(
        '    - {value: "Xanomeline Low Dose", label: "Xanomeline Low Dose"}\n'
        '    - {value: "Xanomeline High Dose", label: "Xanomeline High Dose"}\n', "")
    one = one.replace('SAF: {flag: SAFFL,', 'SAF: {expression: "SAFFL == \'Y\' and TRT01A == \'Placebo\'",')
    one = re.sub(r"  (ITT|EFF): \{flag: (\w+),", r"""  \1: {expression: "\2 == 'Y' and TRT01P == 'Placebo'",""", one)
    text, _ = _abstract(one, tmp_path)
    plain = re.sub(r"\\(.)", r"\1", re.sub(r"`<[^`]*>`\{=html\}", "", text))
    assert ("In the safety population, 65 (75.6%) patients had a treatment-emergent adverse event (TEAE); "
            "5 (5.8%) had a severe TEAE; 0 (0.0%) had a serious TEAE; and 8 (9.3%) discontinued the study due to "
            "an adverse event.") in plain
    assert "respectively" not in plain and "**Conclusion** With one group" in plain


def test_an_abstract_with_nothing_to_state_has_no_empty_headings(tmp_path: Path) -> None:
    """Baseline only (the plan's safety section removed): no Results or Conclusion heading over nothing."""
    text = PLAN.read_text()
    baseline_only = text[:text.index("\nsafety:")] + "\n" + text[text.index("\nreport:"):]
    abstract, _ = _abstract(baseline_only, tmp_path)
    assert "**Materials & Methods**" in abstract
    assert "**Results**" not in abstract and "**Conclusion**" not in abstract


def test_a_safety_abstract_counts_the_safety_population(tmp_path: Path, raw) -> None:
    """'In total, N patients' of a safety study's abstract is the safety population, whose adverse events it
    states, not the baseline (ITT) population: here some randomised subjects left out of it (as if never
    treated, by an expression). Plain pandas on ADSL."""
    adsl, _ = raw
    saf = adsl[(adsl["SAFFL"] == "Y") & (adsl["AGE"] < 85)]
    assert 0 < len(saf) < int((adsl["ITTFL"] == "Y").sum())
    text = PLAN.read_text().replace("SAF: {flag: SAFFL,", "SAF: {expression: \"SAFFL == 'Y' and AGE < 85\",")
    abstract, _ = _abstract(text, tmp_path)
    plain = re.sub(r"\\(.)", r"\1", re.sub(r"`<[^`]*>`\{=html\}", "", abstract))
    by_arm = "; ".join(f"{arm if arm != 'Placebo' else 'placebo'}, n = {int((saf['TRT01A'] == arm).sum())}"
                       for arm in ARMS)
    assert f"In total, {len(saf)} patients were included ({by_arm})." in plain, plain


def test_init_offers_the_other_baseline_characteristics(tmp_path: Path) -> None:
    """ADSL's *BL variables (BMIBL, HEIGHTBL, WEIGHTBL, BMIBLGR1) are offered as commented lines; uncommented
    they make a valid plan whose baseline table holds them."""
    text = init(DATA, tmp_path / "p.yml").read_text()
    offered = re.findall(r"^  # - \{variable: (\w+), label: \"\w+\", kind: (\w+)\}$", text, re.M)
    assert offered == [("BMIBL", "continuous"), ("BMIBLGR1", "categorical"), ("HEIGHTBL", "continuous"),
                       ("WEIGHTBL", "continuous")]
    path = tmp_path / "chosen.yml"
    path.write_text(text.replace("  # - {variable:", "  - {variable:"))
    lplan = load_plan(path)
    ard = analyse(lplan.plan, _load(lplan)).ard
    # no BMIBLGR1N in ADSL: ordered by the numbers that define the groups, not as text ("25-<30" before "<25")
    assert [r.term for r in ard.select(analysis="baseline", parameter="BMIBLGR1", group="", statistic="n")] == \
        ["<25", "25-<30", ">=30"]
    assert ard[keys.baseline("WEIGHTBL", "n", "")].value == 253   # one subject has no baseline weight


def test_init_offers_baseline_characteristics_as_a_valid_plan_without_the_usual_ones(tmp_path: Path, raw) -> None:
    """An ADSL with none of the usual demographics: the offered lines, headed by a commented 'baseline:', leave
    a valid plan, and uncommented they give one with those rows."""
    folder = tmp_path / "s"
    folder.mkdir()
    raw[0].drop(columns=["AGE", "AGEGR1", "SEX", "RACE", "ETHNIC"]).to_parquet(folder / "adsl.parquet")
    text = init(folder, tmp_path / "p.yml").read_text()
    assert load_plan(tmp_path / "p.yml").plan.baseline == []
    chosen = tmp_path / "chosen.yml"
    chosen.write_text(re.sub(r"(?m)^(  )?# ((baseline|baseline_population):|- \{variable:)", r"\1\2", text))
    assert [b.variable for b in load_plan(chosen).plan.baseline] == ["BMIBL", "BMIBLGR1", "HEIGHTBL", "WEIGHTBL"]


def test_init_decodes_sex_by_its_cdisc_codelist(tmp_path: Path, raw) -> None:
    """ADSL SEX holds the CDISC codes (C66731: F, M …): init gives them their decoded names for Table 1, only the
    codes present; a value outside the codelist leaves SEX as coded (no levels to drop it by)."""
    text = init(DATA, tmp_path / "p.yml").read_text()
    assert ('  - {variable: SEX, label: "Sex", kind: categorical, levels: [{value: "F", label: "Female"}, '
            '{value: "M", label: "Male"}]}') in text
    adsl, _ = raw
    odd = adsl.copy()
    odd.loc[odd.index[0], "SEX"] = "X"
    folder = tmp_path / "odd"
    folder.mkdir()
    odd.to_parquet(folder / "adsl.parquet", index=False)
    shutil.copy(DATA / "adae.parquet", folder / "adae.parquet")
    assert '  - {variable: SEX, label: "Sex", kind: categorical}' in init(folder, tmp_path / "q.yml").read_text()

"""What `init` proposes from BDS datasets of measurements by visit (scaffold/bds.py), on small CSV packages whose
records are built here: one record per visit or several (time points, an analysis flag), derived records
(DTYPE), no change from baseline, units in PARAM, a continuous primary endpoint in ADLB. Each proposal,
uncommented with `better` set, must load as a plan and be analysed on exactly the records it names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from trialpress.pipeline import _load
from trialpress.plan import load_plan
from trialpress.quality.gate import run_gate
from trialpress.results.collect import analyse
from trialpress.scaffold import init

N = 24
VISITS = (("BASELINE", 0), ("WEEK 4", 4), ("WEEK 8", 8), ("WEEK 12", 12), ("FOLLOW-UP", 99))


def _adsl() -> pd.DataFrame:
    return pd.DataFrame({
        "STUDYID": "S1", "USUBJID": [f"S1-{i:03d}" for i in range(N)],
        "TRT01P": ["Placebo" if i % 2 else "Drug" for i in range(N)],
        "ITTFL": "Y", "SAFFL": "Y", "AGE": [40 + i for i in range(N)],
        "STRATA1": ["A" if i % 3 else "B" for i in range(N)],
    })


def _bds(param: str, name: str, *, unit: str = "", points: tuple[str, ...] = ("",), dtype: bool = False,
         flag_one: bool = False, change: bool = True, follow_up: int = 3) -> pd.DataFrame:
    """Records of one parameter: every subject at baseline and weeks 4-12, `follow_up` subjects at FOLLOW-UP."""
    rows = []
    for i in range(N):
        base = 10.0 + i % 7
        for visit, number in VISITS:
            if visit == "FOLLOW-UP" and i >= follow_up:
                continue
            for k, point in enumerate(points):
                value = base + number / 4 * (0.5 if i % 2 else 1.0) + k * 0.1 + (i % 5) * 0.01
                rows.append({"USUBJID": f"S1-{i:03d}", "PARAMCD": param, "PARAM": name, "AVISIT": visit,
                             "AVISITN": number, "ATPT": point, "AVAL": value, "BASE": base,
                             "CHG": value - base if change else None, "ABLFL": "Y" if number == 0 else "",
                             "ANL01FL": "Y" if (not flag_one or k == 0) else "", "AVALU": unit, "DTYPE": ""})
                if dtype and number == 12:
                    rows.append({**rows[-1], "DTYPE": "LOCF", "AVAL": value + 100, "CHG": value + 100 - base})
    frame = pd.DataFrame(rows)
    return frame if change else frame.drop(columns=["CHG", "BASE"])


def _package(tmp_path: Path, **datasets: pd.DataFrame) -> Path:
    folder = tmp_path / "pkg"
    folder.mkdir()
    _adsl().to_csv(folder / "adsl.csv", index=False)
    for name, frame in datasets.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def _entries(text: str) -> dict[str, list[str]]:
    """The proposed entries of the commented `continuous:` block, uncommented, by PARAMCD."""
    lines = text.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("# continuous:"))
    out: dict[str, list[str]] = {}
    current: list[str] = []
    for line in lines[head + 1:]:
        if not line.startswith("#"):
            break
        if line.startswith("#   - id:"):
            current = []
        if not line.startswith("#   #"):
            current.append(line[2:])
        code = next((ln.split(":", 1)[1].split("#")[0].strip().strip('"') for ln in current
                     if ln.strip().startswith("paramcd:")), None)
        if code:
            out[code] = current
    return out


def _uncomment(plan: Path, text: str, code: str) -> Path:
    entry = [ln.replace("better: SET-higher-or-lower", "better: lower") for ln in _entries(text)[code]]
    path = plan.with_name(f"{code.lower()}.yml")
    body = text.replace("\nreport:", "\ncontinuous:\n" + "\n".join(entry) + "\n\nreport:")
    path.write_text(body)
    return path


def _field(entry: list[str], key: str) -> str:
    return next(ln.split(":", 1)[1].split("#")[0].strip() for ln in entry if ln.strip().startswith(f"{key}:"))


def test_one_record_per_visit_is_proposed_as_it_is_and_analysed(tmp_path: Path) -> None:
    folder = _package(tmp_path, adqs=pd.concat([_bds("SCORE", "Symptom Score"), _bds("PAIN", "Pain (NRS)")]))
    plan = init(folder, tmp_path / "plan.yml", study_id="s1")
    text = plan.read_text()
    entries = _entries(text)
    assert set(entries) == {"SCORE", "PAIN"}
    score = entries["SCORE"]
    # the last visit most subjects reached, not the follow-up three subjects had
    assert _field(score, "primary_visit") == '"WEEK 12"' and _field(score, "value") == "CHG"
    assert _field(score, "model") == "mmrm" and not any("rows:" in ln for ln in score)
    assert "STRATA1" in next(ln for ln in score if "factors:" in ln)
    assert _field(entries["PAIN"], "label") == '"Pain (NRS)"'   # a parenthesis that is not the unit stays
    assert "better: SET-higher-or-lower" in text
    lplan = load_plan(_uncomment(plan, text, "SCORE"))
    ard = analyse(lplan.plan, _load(lplan)).ard
    assert run_gate(lplan.plan, _load(lplan), parallel=False).errors == []
    raw = pd.read_csv(folder / "adqs.csv")
    at12 = raw[(raw["PARAMCD"] == "SCORE") & (raw["AVISIT"] == "WEEK 12")]
    n12 = [r for r in ard if r.analysis == "cont_desc" and r.timepoint == "WEEK 12" and r.statistic == "n"
           and r.group == ""]
    assert n12 and n12[0].value == len(at12)


def test_several_records_per_visit_name_what_selects_one(tmp_path: Path) -> None:
    folder = _package(tmp_path, adeff=pd.concat([
        _bds("FEV1", "FEV1 (L)", unit="L", points=("PRE-DOSE", "POST-DOSE")),
        _bds("PEF", "Peak flow", unit="L/min", points=("AM", "PM"), flag_one=True)]))
    plan = init(folder, tmp_path / "plan.yml", study_id="s1")
    text = plan.read_text()
    fev1, pef = _entries(text)["FEV1"], _entries(text)["PEF"]
    assert _field(fev1, "label") == '"FEV1"' and _field(fev1, "unit") == '"L"'   # the unit said in PARAM moved
    assert _field(fev1, "rows") == '{timepoint: ATPT, timepoint_value: "POST-DOSE"}' or \
        _field(fev1, "rows") == '{timepoint: ATPT, timepoint_value: "PRE-DOSE"}'
    assert _field(pef, "rows") == "{flag: ANL01FL}"        # the flag makes the records unique: it is proposed
    for code in ("FEV1", "PEF"):
        lplan = load_plan(_uncomment(plan, text, code))
        ard = analyse(lplan.plan, _load(lplan)).ard
        n = [r.value for r in ard if r.analysis == "cont_desc" and r.timepoint == "WEEK 4" and r.statistic == "n"
             and r.group == "" and r.parameter == "CHG"]
        assert n == [N], code                               # one record per subject and visit analysed
        assert run_gate(lplan.plan, _load(lplan), parallel=False).errors == [], code


def test_derived_records_and_no_change_from_baseline(tmp_path: Path) -> None:
    folder = _package(tmp_path, adqs=pd.concat([_bds("SCORE", "Score", dtype=True)]),
                      adxx=_bds("RAW", "Raw value", change=False))
    plan = init(folder, tmp_path / "plan.yml", study_id="s1")
    text = plan.read_text()
    score, raw = _entries(text)["SCORE"], _entries(text)["RAW"]
    assert not any(ln.startswith("    rows:") for ln in score)   # observed records (DTYPE missing) are unique
    assert any(ln.startswith('    # rows: {dtype: "LOCF"}') for ln in score)   # the imputed ones offered
    assert _field(raw, "value") == "AVAL" and _field(raw, "model") == "descriptive"
    assert not any("factors:" in ln for ln in raw)
    lplan = load_plan(_uncomment(plan, text, "SCORE"))
    ard = analyse(lplan.plan, _load(lplan)).ard
    mean12 = next(r.value for r in ard if r.analysis == "cont_desc" and r.timepoint == "WEEK 12"
                  and r.statistic == "mean" and r.group == "" and r.parameter == "CHG")
    records = pd.read_csv(folder / "adqs.csv", keep_default_na=False)
    observed = records[(records["AVISIT"] == "WEEK 12") & (records["DTYPE"] == "")]
    assert mean12 == pytest.approx(observed["CHG"].astype(float).mean(), rel=1e-12)   # LOCF records not mixed in
    load_plan(_uncomment(plan, text, "RAW"))


def test_laboratory_parameters_are_named_and_their_tables_offered(tmp_path: Path) -> None:
    """A laboratory value can be the primary endpoint (HbA1c): ADLB's parameters are named, and its tables
    are offered in the safety section when there is one, else the user is told why not."""
    lab = _bds("HBA1C", "Hemoglobin A1C (%)", unit="%").drop(columns=["ATPT"])
    folder = _package(tmp_path, adlb=lab)
    text = init(folder, tmp_path / "plan.yml", study_id="s1").read_text()
    assert '#   # also in ADLB: "HBA1C"' in text
    assert "# ADLB: their tables belong to a safety section, which needs ADAE" in text
    assert "labs:" not in text


def test_a_folder_without_measurements_gets_no_continuous_block(tmp_path: Path) -> None:
    folder = _package(tmp_path)
    text = init(folder, tmp_path / "plan.yml", study_id="s1").read_text()
    assert "# continuous:" not in text and "\ncontinuous:" not in text


@pytest.mark.parametrize("name,label", [("FEV1", "FEV1"), ("HBA1C", "HBA1C"), ("ALT", "ALT"), ("WEIGHT", "Weight"),
                                        ("OVERALL SURVIVAL", "Overall survival"),
                                        ("FKSI-19 All Questions", "FKSI-19 all questions")])
def test_parameter_names_in_sentence_case_keep_their_acronyms(name: str, label: str) -> None:
    from trialpress.scaffold.words import sentence_case

    assert sentence_case(name) == label

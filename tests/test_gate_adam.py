"""The gate on data it was not written against: every ADaM-legal variation passes with zero errors, and
plausible bad data stop with subject-level detail.

Each test copies one study's data (flagship, second study, or the public random.cdisc.data package) into
tmp_path, changes it the way a real ADaM package may differ (or be wrong), and runs the gate.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from trialpress.cli import main
from trialpress.data.loading import load_study
from trialpress.data.plan_values import check_plan_values
from trialpress.plan import load_plan
from trialpress.quality.gate import GateReport, run_gate

from conftest import ROOT

FLAGSHIP, SECOND, PUBLIC = "blinatumomab-salvage", "velotrepin-copd", "random-cdisc-data"
QUALITY = ROOT / "src" / "trialpress" / "quality"
Change = Callable[[dict[str, pd.DataFrame]], None]


# ------------------------------------------------------------------------------------------ helpers
def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".xpt":
        import pyreadstat

        return pyreadstat.read_xport(str(path))[0]
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _project(tmp_path: Path, study: str, change: Change | None = None, *, plan: dict | None = None,
             parquet: bool = False) -> Path:
    """A project with one study: its plan (or `plan`), its ADSL/ADTTE/ADRS/ADAE changed by `change`
    (frames by lower-case name), written as CSV (or Parquet; the public XPT package is always Parquet here)."""
    project = tmp_path / "project"
    (project / "analysis").mkdir(parents=True)
    shutil.copy(ROOT / "_quarto.yml", project / "_quarto.yml")
    source, folder = ROOT / "data" / study, project / "data" / study
    folder.mkdir(parents=True)
    frames = {p.stem: _read(p) for p in sorted(source.iterdir())
              if p.stem in ("adsl", "adtte", "adrs", "adae") and p.suffix in (".csv", ".xpt")}
    for other in sorted(source.iterdir()):   # datasets the change leaves alone (ADEX, ADLB, ADQS ...) as they are
        if other.suffix in (".csv", ".xpt") and other.stem not in frames:
            shutil.copy(other, folder / other.name)
    if change:
        change(frames)
    for name, frame in frames.items():
        if parquet or study == PUBLIC:
            frame.replace("", None).to_parquet(folder / f"{name}.parquet", index=False)
        else:
            frame.to_csv(folder / f"{name}.csv", index=False)
    text = yaml.safe_dump(plan, sort_keys=False, allow_unicode=True) if plan else \
        (ROOT / "analysis" / f"{study}.yml").read_text(encoding="utf-8")
    (project / "analysis" / f"{study}.yml").write_text(text, encoding="utf-8")
    return project / "analysis" / f"{study}.yml"


def _gate(plan_path: Path) -> GateReport:
    lp = load_plan(plan_path)
    data = load_study(lp)
    check_plan_values(lp, data)
    return run_gate(lp.plan, data, parallel=False)


def _plan(study: str) -> dict:
    return yaml.safe_load((ROOT / "analysis" / f"{study}.yml").read_text(encoding="utf-8"))


def _clean(report: GateReport, *also_no_warning: str) -> None:
    """Zero errors; and none of the named checks even warns."""
    assert not report.errors, [(r.id, r.examples[:2]) for r in report.errors]
    warned = {r.id for r in report.warnings}
    assert not warned & set(also_no_warning), [(r.id, r.examples[:2]) for r in report.warnings]


def _error(report: GateReport, check_id: str) -> dict:
    errors = {r.id: r for r in report.errors}
    assert check_id in errors, ([r.id for r in report.errors], [r.id for r in report.warnings])
    r = errors[check_id]
    assert r.basis and r.default_severity == "error" and r.examples
    return r.examples[0]


def _iso(values: pd.Series, days: int = 0) -> pd.Series:
    dates = pd.to_datetime(values.replace("", None)) + pd.Timedelta(days=days)
    return dates.dt.strftime("%Y-%m-%d").fillna("")


# ------------------------------------------------------------------ the bundled and public studies
@pytest.mark.parametrize("study", [FLAGSHIP, SECOND, PUBLIC])
def test_bundled_and_public_plans_pass_with_zero_errors(study: str) -> None:
    report = _gate(ROOT / "analysis" / f"{study}.yml")
    _clean(report)
    # the public package is synthetic: AEs with a fatal outcome in subjects ADSL has alive, and ADSL's last dose
    # years after ADEX's (both tested below)
    expected = {"ADAE.AEOUT.fatal_is_a_death", "ADSL.TRTEDTM.is_last_ADEX_dose"} if study == PUBLIC else set()
    assert {r.id for r in report.warnings} == expected, [(r.id, r.examples[:2]) for r in report.warnings]
    assert all(r.basis and r.default_severity for r in report.results)


def test_a_fatal_ae_in_a_living_subject_is_a_warning_with_its_records() -> None:
    """The public package's ADAE holds AEOUT = FATAL records of subjects whose ADSL DTHFL is not Y: the warning
    counts exactly those records (plain pandas on the XPT files); the CDISC pilot, whose fatal AEs are its
    deaths, and the bundled studies have none (above)."""
    import pyreadstat

    adsl, _ = pyreadstat.read_xport(str(ROOT / "data" / PUBLIC / "adsl.xpt"))
    adae, _ = pyreadstat.read_xport(str(ROOT / "data" / PUBLIC / "adae.xpt"))
    alive = set(adsl.loc[adsl["DTHFL"] != "Y", "USUBJID"])
    want = int(((adae["AEOUT"] == "FATAL") & adae["USUBJID"].isin(alive)).sum())
    report = _gate(ROOT / "analysis" / f"{PUBLIC}.yml")
    warning = next(r for r in report.warnings if r.id == "ADAE.AEOUT.fatal_is_a_death")
    assert 0 < want == warning.failed
    pilot = _gate(ROOT / "analysis" / "cdiscpilot01.yml")
    assert not any(r.id == "ADAE.AEOUT.fatal_is_a_death" and not r.success for r in pilot.results)
    assert any(r.id == "ADAE.AEOUT.fatal_is_a_death" for r in pilot.results)   # it ran there, and passed


def test_public_package_scratch_plan_from_init(tmp_path: Path) -> None:
    """`trialpress init` on random.cdisc.data, checked as written: its only error is TNE, a COUNT (not a time)
    listed as a time-to-event endpoint; without it (the CHECK step) the gate passes with zero errors."""
    plan_path = tmp_path / "public.yml"
    assert main(["init", str(ROOT / "data" / PUBLIC), "--out", str(plan_path)]) == 0
    plan = yaml.safe_load(plan_path.read_text(encoding="utf-8"))   # its data found from where it was written
    report = _gate(plan_path)
    if any(e["paramcd"] == "TNE" for e in plan.get("time_to_event", [])):
        assert [r.id for r in report.errors] == ["ADTTE.TNE.AVALU_matches_plan"]
        assert "AVALU=COUNT (not a unit of time)" in report.errors[0].examples[0]["value"]
        plan["time_to_event"] = [e for e in plan["time_to_event"] if e["paramcd"] != "TNE"]
        plan_path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
        report = _gate(plan_path)
    _clean(report)
    ids = {r.id for r in report.results}
    # TRTSDTM/TRTEDTM datetimes only: the first-dose date is derived; ADTTE has ADTM and no STARTDT
    assert "ADSL.dates.not_before_TRTSDT" in ids and "ADSL.SAFFL.treated" in ids
    assert "ADTTE.OS.AVALU_matches_plan" in ids and "ADTTE.AVAL.within_study_span" in ids


# ------------------------------------------------------------------- ADaM-legal: must pass
def test_pre_treatment_adsl_dates_are_not_required_after_first_dose(tmp_path: Path) -> None:
    def change(f: dict[str, pd.DataFrame]) -> None:
        a = f["adsl"]
        a["DISONSDT"] = _iso(a["TRTSDT"], -400)    # disease onset
        a["VISIT1DT"] = _iso(a["TRTSDT"], -14)     # visit 1 (screening)
        a["SCRNDT"] = _iso(a["TRTSDT"], -20)       # screening
        a["RFICDT"] = _iso(a["TRTSDT"], -21)       # informed consent
        a["BLSTDT"] = _iso(a["TRTSDT"], -3)        # a sponsor's own name: before the first dose for everyone
        a["LABDT"] = _iso(a["TRTSDT"], -2)         # unnamed: on or before the first dose for most subjects
        a.loc[a.index[:5], "LABDT"] = _iso(a["TRTSDT"][:5], 3)

    report = _gate(_project(tmp_path, FLAGSHIP, change))
    _clean(report, "ADSL.dates.not_before_TRTSDT", "ADSL.dates.not_after_DTHDT")
    checked = next(r for r in report.results if r.id == "ADSL.dates.not_before_TRTSDT").description
    for pre in ("DISONSDT", "VISIT1DT", "SCRNDT", "RFICDT", "BLSTDT", "LABDT"):
        assert pre not in checked


def test_a_datetime_and_a_same_day_date_compare_as_dates(tmp_path: Path) -> None:
    """TRTEDTM 23:59:59 on the day of death (DTHDT) is not 'after death'; ADSL with TRTSDTM/TRTEDTM only."""
    def change(f: dict[str, pd.DataFrame]) -> None:
        a = f["adsl"]
        dead = a["DTHFL"].eq("Y")
        a.loc[dead, "TRTEDT"] = a.loc[dead, "DTHDT"]   # treatment ended on the day of death
        a["TRTSDTM"] = a["TRTSDT"] + "T08:30:00"
        a["TRTEDTM"] = a["TRTEDT"] + "T23:59:59"
        f["adsl"] = a.drop(columns=["TRTSDT", "TRTEDT"])

    report = _gate(_project(tmp_path, FLAGSHIP, change))
    _clean(report, "ADSL.dates.not_after_DTHDT", "ADSL.dates.not_before_TRTSDT", "ADSL.SAFFL.treated")
    ids = {r.id for r in report.results}
    assert "ADSL.dates.not_after_DTHDT" in ids and "ADSL.dates.not_before_TRTSDT" in ids


def test_safety_subject_with_first_dose_but_no_exposure_duration_and_ongoing_treatment(tmp_path: Path) -> None:
    """SAFFL = Y with TRTSDT and no TRTDURD is treated; ongoing at the data cut-off (no TRTEDT) is fine."""
    def change(f: dict[str, pd.DataFrame]) -> None:
        a = f["adsl"]
        a.loc[a.index[:40], "TRTDURD"] = ""
        a.loc[a.index[20:60], ["TRTEDT", "CYCLES"]] = ""

    _clean(_gate(_project(tmp_path, FLAGSHIP, change)), "ADSL.SAFFL.treated", "ADSL.dates.not_after_DCUTDT")


def test_censoring_reasons_as_positive_integers(tmp_path: Path) -> None:
    def change(f: dict[str, pd.DataFrame]) -> None:
        t = f["adtte"]
        t.loc[t["CNSDTDSC"].eq("LOST TO FOLLOW-UP"), "CNSR"] = "2"
        t.loc[t["CNSDTDSC"].eq("NEW ANTI-LEUKAEMIC THERAPY"), "CNSR"] = "3"

    _clean(_gate(_project(tmp_path, FLAGSHIP, change)))


def test_death_flag_with_unknown_death_date(tmp_path: Path) -> None:
    def change(f: dict[str, pd.DataFrame]) -> None:
        a = f["adsl"]
        a.loc[a.index[a["DTHFL"].eq("Y")][:3], "DTHDT"] = ""

    _clean(_gate(_project(tmp_path, FLAGSHIP, change)), "ADSL.DTHDT.only_where_DTHFL")


def test_death_date_without_death_flag_is_a_warning(tmp_path: Path) -> None:
    def change(f: dict[str, pd.DataFrame]) -> None:
        a = f["adsl"]
        alive = a.index[a["DTHFL"].eq("N")][0]
        a.loc[alive, "DTHDT"] = a.loc[alive, "DCUTDT"]

    report = _gate(_project(tmp_path, FLAGSHIP, change))
    _clean(report)
    assert "ADSL.DTHDT.only_where_DTHFL" in {r.id for r in report.warnings}


def test_treatment_emergent_ae_starting_before_first_dose(tmp_path: Path) -> None:
    """A TEAE by worsening of a pre-existing condition starts before the first dose."""
    def change(f: dict[str, pd.DataFrame]) -> None:
        e, a = f["adae"], f["adsl"]
        first = e.index[e["TRTEMFL"].eq("Y")][:10]
        start = a.set_index("USUBJID")["TRTSDT"]
        e.loc[first, "ASTDT"] = _iso(e.loc[first, "USUBJID"].map(start), -5).to_numpy()

    _clean(_gate(_project(tmp_path, FLAGSHIP, change)))


def test_response_assessments_before_first_dose(tmp_path: Path) -> None:
    """Screening assessments (a by-visit parameter, and planned best-response records) precede the first dose."""
    def change(f: dict[str, pd.DataFrame]) -> None:
        r, a = f["adrs"], f["adsl"]
        start = a.set_index("USUBJID")["TRTSDT"]
        screening = r[r["PARAMCD"].eq("BESTRSP")].head(30).assign(PARAMCD="OVRRESP", PARAM="Screening", AVALC="PD")
        screening["ADT"] = _iso(screening["USUBJID"].map(start), -7).to_numpy()
        some = r.index[r["PARAMCD"].eq("BESTRSP")][:5]
        r.loc[some, "ADT"] = _iso(r.loc[some, "USUBJID"].map(start), -1).to_numpy()
        f["adrs"] = pd.concat([r, screening], ignore_index=True)

    _clean(_gate(_project(tmp_path, FLAGSHIP, change)))


def test_randomisation_origin_endpoint_before_first_dose(tmp_path: Path) -> None:
    """Times from randomisation (STARTDT = RANDDT) are checked against their own origin, never TRTSDT: an
    exacerbation between randomisation and a (late) first dose is legal."""
    def change(f: dict[str, pd.DataFrame]) -> None:
        a = f["adsl"]
        a["TRTSDT"] = _iso(a["TRTSDT"], 30)
        a["TRTEDT"] = _iso(a["TRTEDT"], 30)

    report = _gate(_project(tmp_path, SECOND, change))
    _clean(report)
    assert not any(r.id.endswith("not_before_TRTSDT") and r.dataset == "ADTTE" for r in report.results)


def test_response_missing_is_not_an_unknown_category(tmp_path: Path) -> None:
    """admiralonco codes 'no assessment' as MISSING; a study's own frequent category is part of its codelist."""
    def change(f: dict[str, pd.DataFrame]) -> None:
        r = f["adrs"]
        r.loc[r["PARAMCD"].eq("BESTRSP") & r["AVALC"].eq("NE"), "AVALC"] = "MISSING"

    _clean(_gate(_project(tmp_path, FLAGSHIP, change)), "ADRS.AVALC.known_category")


def test_unknown_response_category_is_a_warning_that_never_suggests_a_response(tmp_path: Path) -> None:
    def change(f: dict[str, pd.DataFrame]) -> None:
        r = f["adrs"]
        rows = r.index[r["PARAMCD"].eq("BESTRSP")]
        r.loc[rows[0], "AVALC"] = "XYZ"
        r.loc[rows[1], "AVALC"] = "cr"    # the plan's CR in another case: not counted as CR

    report = _gate(_project(tmp_path, FLAGSHIP, change))
    _clean(report)
    (w,) = [r for r in report.warnings if r.id == "ADRS.AVALC.known_category"]
    assert w.failed == 2 and "only in case or spacing" in " ".join(e["value"] for e in w.examples)
    assert "count as not responding" in w.hint and "binary[].source.values" not in w.hint


def test_sponsor_unit_conversion_and_rounding_pass(tmp_path: Path) -> None:
    """Months as days/30.4 or /30, AVAL rounded to one decimal; the +1 day convention or not."""
    def change(f: dict[str, pd.DataFrame]) -> None:
        t = f["adtte"]
        days = (pd.to_datetime(t["ADT"]) - pd.to_datetime(t["STARTDT"])).dt.days
        t["AVAL"] = (days / 30.4).round(1).astype(str)
        half = t.index[::2]
        t.loc[half, "AVAL"] = ((days[half] + 1) / 30.0).round(1).astype(str)

    _clean(_gate(_project(tmp_path, FLAGSHIP, change)))


def test_records_outside_an_endpoint_subset_are_not_errors(tmp_path: Path) -> None:
    """Duration of response is analysed in responders (subset.responders): a non-responder's CRSD record with
    no usable time or censoring code is outside the analysis."""
    def change(f: dict[str, pd.DataFrame]) -> None:
        r, t = f["adrs"], f["adtte"]
        responders = set(r.loc[r["PARAMCD"].eq("BESRSPI") & r["AVALC"].isin(["CR", "PR"]), "USUBJID"])
        outside = t.index[t["PARAMCD"].eq("CRSD") & ~t["USUBJID"].isin(responders)]
        assert len(outside)
        t.loc[outside, "AVAL"] = np.nan
        t.loc[outside, "CNSR"] = 0.5

    plan_path = _project(tmp_path, PUBLIC, change, plan=_public_plan())
    _clean(_gate(plan_path))


def _public_plan() -> dict:
    plan = _plan(PUBLIC)
    plan["data"]["folder"] = f"data/{PUBLIC}"
    return plan


# ----------------------------------------------------------------- data errors: must still stop
def test_duplicated_adsl_subject(tmp_path: Path) -> None:
    def change(f: dict[str, pd.DataFrame]) -> None:
        f["adsl"] = pd.concat([f["adsl"], f["adsl"].iloc[[5]]], ignore_index=True)

    example = _error(_gate(_project(tmp_path, FLAGSHIP, change)), "ADSL.USUBJID.unique")
    assert example["subject"]


@pytest.mark.parametrize("value, check_id", [("-2", "ADTTE.AVAL.non_negative"), ("0.5", "ADTTE.CNSR.in_set"),
                                             ("", "ADTTE.CNSR.not_null")])
def test_unusable_time_or_censoring_code(tmp_path: Path, value: str, check_id: str) -> None:
    column = "AVAL" if check_id.startswith("ADTTE.AVAL") else "CNSR"

    def change(f: dict[str, pd.DataFrame]) -> None:
        f["adtte"].loc[3, column] = value

    report = _gate(_project(tmp_path, FLAGSHIP, change))
    assert _error(report, check_id)["subject"] == pd.read_csv(ROOT / "data" / FLAGSHIP / "adtte.csv")["USUBJID"][3]


@pytest.mark.parametrize("dataset", ["adtte", "adae"])
def test_unknown_subject(tmp_path: Path, dataset: str) -> None:
    def change(f: dict[str, pd.DataFrame]) -> None:
        f[dataset].loc[0, "USUBJID"] = "GHOST-001"

    example = _error(_gate(_project(tmp_path, FLAGSHIP, change)), f"{dataset.upper()}.subjects.in_ADSL")
    assert example["subject"] == "GHOST-001"


def test_population_flag_x(tmp_path: Path) -> None:
    def change(f: dict[str, pd.DataFrame]) -> None:
        f["adsl"].loc[7, "SAFFL"] = "X"

    assert _error(_gate(_project(tmp_path, FLAGSHIP, change)), "ADSL.SAFFL.in_set")["value"] == "X"


def test_group_variable_per_population(tmp_path: Path) -> None:
    """The safety population groups by TRT01A (as treated): missing for a never-dosed subject outside it is
    fine, missing for a safety subject stops."""
    plan = _plan(SECOND)
    plan["populations"]["SAF"]["group_variable"] = "TRT01A"

    def change(f: dict[str, pd.DataFrame]) -> None:
        a = f["adsl"]
        a.loc[a.index[a["SAFFL"].eq("Y")][0], "TRT01A"] = ""

    report = _gate(_project(tmp_path, SECOND, plan=plan))
    _clean(report)   # the 7 never-dosed subjects (SAFFL = N) have no TRT01A
    assert "ADSL.TRT01A.not_null" in {r.id for r in report.results}
    report = _gate(_project(tmp_path / "bad", SECOND, change, plan=plan))
    assert "SAF" in next(r for r in report.errors if r.id == "ADSL.TRT01A.not_null").description


def test_days_under_a_months_plan_by_avalu(tmp_path: Path) -> None:
    def change(f: dict[str, pd.DataFrame]) -> None:
        t = f["adtte"]
        t.loc[t["PARAMCD"].eq("OS"), "AVALU"] = "DAYS"

    report = _gate(_project(tmp_path, FLAGSHIP, change))
    r = next(r for r in report.errors if r.id == "ADTTE.OS.AVALU_matches_plan")
    assert "time_to_event[OS].unit: months" in r.description and r.failed == 532
    assert "AVALU=DAYS" in r.examples[0]["value"]


def test_days_under_a_months_plan_by_the_dates(tmp_path: Path) -> None:
    """No AVALU to say so: AVAL in days contradicts ADT - STARTDT in months, and the failure says days fit."""
    def change(f: dict[str, pd.DataFrame]) -> None:
        t = f["adtte"]
        days = (pd.to_datetime(t["ADT"]) - pd.to_datetime(t["STARTDT"])).dt.days + 1
        t["AVAL"] = days.astype(str)
        f["adtte"] = t.drop(columns=["AVALU"])

    example = _error(_gate(_project(tmp_path, FLAGSHIP, change)), "ADTTE.AVAL.matches_dates")
    assert "AVAL fits the dates in days" in example["value"]


def test_aval_contradicting_its_dates(tmp_path: Path) -> None:
    def change(f: dict[str, pd.DataFrame]) -> None:
        f["adtte"].loc[10, "AVAL"] = str(float(f["adtte"].loc[10, "AVAL"]) + 3.0)   # three months off

    report = _gate(_project(tmp_path, FLAGSHIP, change))
    example = _error(report, "ADTTE.AVAL.matches_dates")
    assert "STARTDT=" in example["value"] and "ADT=" in example["value"]
    assert next(r for r in report.errors if r.id == "ADTTE.AVAL.matches_dates").failed == 1


def test_censored_record_whose_evntdesc_says_death(tmp_path: Path) -> None:
    def change(f: dict[str, pd.DataFrame]) -> None:
        t = f["adtte"]
        t.loc[t.index[t["PARAMCD"].eq("OS") & t["EVNTDESC"].eq("DEATH")][0], "CNSR"] = "1"

    example = _error(_gate(_project(tmp_path, FLAGSHIP, change)), "ADTTE.CNSR.matches_EVNTDESC")
    assert "EVNTDESC=DEATH" in example["value"]


def test_event_record_with_a_censoring_date_description(tmp_path: Path) -> None:
    def change(f: dict[str, pd.DataFrame]) -> None:
        t = f["adtte"]
        t.loc[t.index[t["PARAMCD"].eq("OS") & t["CNSR"].eq("0")][0], "CNSDTDSC"] = "DATA CUT-OFF"

    _error(_gate(_project(tmp_path, FLAGSHIP, change)), "ADTTE.CNSR.matches_CNSDTDSC")


@pytest.mark.parametrize("study", [FLAGSHIP, PUBLIC])
def test_sentinel_time(tmp_path: Path, study: str) -> None:
    """A 99999 sentinel is longer than the study: caught with dates (flagship) and without (public ADTTE has
    no STARTDT)."""
    def change(f: dict[str, pd.DataFrame]) -> None:
        t = f["adtte"]
        t.loc[t.index[t["PARAMCD"].eq("OS")][0], "AVAL"] = "99999" if study == FLAGSHIP else 99999.0

    plan = _public_plan() if study == PUBLIC else None
    example = _error(_gate(_project(tmp_path, study, change, plan=plan)), "ADTTE.AVAL.within_study_span")
    assert "AVAL=99999" in example["value"]


def test_nul_byte_in_a_term(tmp_path: Path) -> None:
    """NUL (Parquet keeps it; pandas' CSV parser would cut the field there) and other control characters."""
    def change(f: dict[str, pd.DataFrame]) -> None:
        e = f["adae"]
        e.loc[100, "AEDECOD"] = "Pyr\x00exia"
        e.loc[200, "AEBODSYS"] = "Infections\x1b[31m"

    report = _gate(_project(tmp_path, FLAGSHIP, change, parquet=True))
    r = next(r for r in report.errors if r.id == "ADAE.text.no_control_characters")
    assert r.failed == 2 and "AEDECOD='Pyr\\x00exia'" in [e["value"] for e in r.examples]
    assert all("\x00" not in e["value"] and "\x1b" not in e["value"] for e in r.examples)


def test_public_package_count_parameter_as_time_to_event(tmp_path: Path) -> None:
    plan = _public_plan()
    plan["time_to_event"].append({"id": "TNE", "paramcd": "TNE", "label": "Exacerbations", "population": "ITT",
                                  "unit": "days"})
    report = _gate(_project(tmp_path, PUBLIC, plan=plan))
    r = next(r for r in report.errors if r.id == "ADTTE.TNE.AVALU_matches_plan")
    assert r.failed == 400 and "not a unit of time" in r.examples[0]["value"]


def test_cli_message_names_the_endpoint_and_plan_key(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")

    def change(f: dict[str, pd.DataFrame]) -> None:
        t = f["adtte"]
        t.loc[t["PARAMCD"].eq("RFS"), "AVALU"] = "DAYS"

    assert main(["check", str(_project(tmp_path, FLAGSHIP, change)), "--quiet"]) == 4
    flat = " ".join(capsys.readouterr().err.split())
    assert "AVALU of RFS is the plan's unit (time_to_event[RFS].unit: months)" in flat and "adtte.csv" in flat


# --------------------------------------------------------------------------------- the code itself
def test_layers_data_never_imports_quality_and_suites_never_imports_checks() -> None:
    def imported(path: Path) -> set[str]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        return names | {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}

    data = ROOT / "src" / "trialpress" / "data"
    bad = [f.name for f in data.rglob("*.py") if any(m.startswith("trialpress.quality") for m in imported(f))]
    assert not bad, bad
    for name in ("suites", "rules", "context", "helpers", "common", "adsl", "adsl_dates", "adtte", "adrs", "adae",
                 "cross", "derivations", "text"):
        assert "trialpress.quality.checks" not in imported(QUALITY / f"{name}.py"), name
        assert "trialpress.quality.gate" not in imported(QUALITY / f"{name}.py"), name


def test_no_long_functions_in_the_quality_layer() -> None:
    long = []
    for f in sorted(QUALITY.glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno > 60:
                long.append(f"{f.name}:{node.name} ({node.end_lineno - node.lineno} lines)")
    assert not long, long


def test_rule_registry_ids_are_stable_and_declared_once() -> None:
    from trialpress.quality.rules import BASIS_KINDS
    from trialpress.quality.suites import catalogue

    rules = catalogue()
    assert len(rules) >= 45
    for r in rules:
        assert r.basis.kind in BASIS_KINDS and str(r.basis)
        assert r.id.split(".")[0] in ("ADSL", "ADTTE", "ADRS", "ADAE", "{ds}"), r.id
    errors = {r.id for r in rules if r.severity == "error"}
    assert {"ADSL.{sid}.unique", "ADTTE.keys.unique", "ADRS.keys.unique", "ADTTE.CNSR.in_set",
            "{ds}.subjects.in_ADSL", "ADTTE.AVAL.matches_dates", "ADTTE.{paramcd}.AVALU_matches_plan",
            "ADTTE.CNSR.matches_EVNTDESC", "ADTTE.AVAL.within_study_span", "{ds}.text.no_control_characters"} <= errors


def test_adsl_last_dose_is_the_exposure_datasets_last_administration(tmp_path: Path) -> None:
    """The public package's ADSL TRTEDTM runs to 2022 while its ADEX doses end in 2019 (38 days of exposure):
    every subject with both is flagged (plain pandas count), since the exposure table reads ADEX and the
    on-treatment periods read ADSL. With TRTEDTM set to each subject's last ADEX dose (AENDTM of DOSE) the
    check passes; two subjects moved two days late fail, and only they."""
    import pyreadstat

    adex, _ = pyreadstat.read_xport(str(ROOT / "data" / PUBLIC / "adex.xpt"))
    dose = adex[adex["PARAMCD"] == "DOSE"]
    last = pd.to_datetime(dose["AENDTM"]).groupby(dose["USUBJID"]).max()
    adsl = _read(ROOT / "data" / PUBLIC / "adsl.xpt")
    known = adsl["USUBJID"].isin(last.index) & adsl["TRTEDTM"].notna()
    far = (pd.to_datetime(adsl["TRTEDTM"]).dt.normalize()
           - adsl["USUBJID"].map(last).dt.normalize()).abs() > pd.Timedelta(days=1)
    rule = "ADSL.TRTEDTM.is_last_ADEX_dose"

    def failed(change: Change | None) -> int:
        report = _gate(_project(tmp_path / str(len(list(tmp_path.iterdir()))), PUBLIC, change))
        return next(r.failed for r in report.results if r.id == rule)

    assert failed(None) == int((known & far).sum()) > 300

    def aligned(frames: dict[str, pd.DataFrame], late: tuple[str, ...] = ()) -> None:
        a = frames["adsl"]
        a["TRTEDTM"] = a["USUBJID"].map(last).where(a["USUBJID"].isin(last.index), a["TRTEDTM"])
        moved = a["USUBJID"].isin(late)
        a.loc[moved, "TRTEDTM"] = a.loc[moved, "TRTEDTM"] + pd.Timedelta(days=2)

    assert failed(aligned) == 0
    two = tuple(last.index[:2])
    assert failed(lambda frames: aligned(frames, two)) == 2

"""The expectation suites: complete on the bundled data, generic (no study names), each check run
through great_expectations, severities from the plan, failures by subject, output escaped."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from trialpress.data.loading import StudyData, load_study
from trialpress.errors import PlanError, QualityGateError
from trialpress.plan import Severity, load_plan
from trialpress.quality.checks import plan_checks
from trialpress.quality.gate import CheckResult, GateReport, enforce, run_gate
from trialpress.report.quality_view import quality_html, write_failure_folder

from conftest import FLAGSHIP, ROOT

QUALITY_SRC = ROOT / "src" / "trialpress" / "quality"


@pytest.fixture(scope="module")
def flagship() -> tuple:
    lp = load_plan(FLAGSHIP)
    return lp.plan, load_study(lp)


def _with(data: StudyData, **frames: pd.DataFrame) -> StudyData:
    return StudyData(frames={**data.frames, **frames}, files=data.files, requirements=data.requirements)


def _failed(report: GateReport) -> dict[str, CheckResult]:
    return {r.id: r for r in report.results if not r.success}


def test_bundled_data_pass_every_check(flagship) -> None:
    plan, data = flagship
    report = run_gate(plan, data)
    assert report.passed and not report.warnings, [r for r in report.results if not r.success]
    counts = report.expectations_per_dataset()
    assert counts["ADSL"] >= 25 and counts["ADTTE"] >= 20 and counts["ADRS"] >= 5 and counts["ADAE"] >= 15, counts
    ids = [r.id for r in report.results]
    assert len(ids) == len(set(ids))
    # every check is a great_expectations expectation (derived rules validate their mask column)
    assert all(r.expectation.startswith("Expect") for r in report.results)


def test_the_rules_the_issue_names_exist(flagship) -> None:
    plan, data = flagship
    ids = {c.id for c in plan_checks(plan, data)}
    for wanted in [
        "ADSL.USUBJID.unique", "ADTTE.keys.unique", "ADAE.keys.unique",          # keys
        "ADSL.SEX.in_set", "ADTTE.CNSR.in_set", "ADAE.AESER.in_set", "ADAE.AETOXGR.in_set",  # allowed values
        "ADRS.AVALC.known_category", "ADTTE.AVAL.non_negative", "ADTTE.AVAL.finite", "ADSL.AGE.plausible",
        "ADSL.dates.not_after_DCUTDT", "ADSL.dates.not_before_TRTSDT", "ADSL.dates.not_after_DTHDT",
        "ADTTE.ADT.not_before_STARTDT", "ADSL.SAFFL.treated",                    # content
        "ADTTE.subjects.in_ADSL", "ADRS.subjects.in_ADSL", "ADAE.subjects.in_ADSL",  # cross-dataset
        "ADTTE.RFS.origin_RSPDT", "ADTTE.OSHSCT.origin_HSCTDT", "ADSL.SALVGRP.not_null",
        "ADAE.ASTDT.not_after_DTHDT",
        # cross-checks of derived values (ADaM IG BDS-TTE)
        "ADTTE.OS.AVALU_matches_plan", "ADTTE.AVAL.matches_dates", "ADTTE.AVAL.within_study_span",
        "ADTTE.CNSR.matches_EVNTDESC", "ADTTE.CNSR.matches_CNSDTDSC", "ADAE.text.no_control_characters",
    ]:
        assert wanted in ids, wanted
    # record dates are compared with their own origin, never with the first dose (ADaM: randomisation-origin
    # endpoints, TEAEs by worsening, screening assessments all precede it legitimately)
    assert not {"ADTTE.ADT.not_before_TRTSDT", "ADRS.ADT.not_before_TRTSDT", "ADAE.ASTDT.not_before_TRTSDT"} & ids


def test_every_check_comes_from_a_declared_rule_with_basis_and_severity(flagship) -> None:
    """Each check names its rule's basis (ADaM IG / CDISC CT / structure / plan) and default severity; the
    errors are the ADaM invariants and cross-checks, the design expectations warnings."""
    from trialpress.quality.rules import BASIS_KINDS
    from trialpress.quality.suites import catalogue

    plan, data = flagship
    rules = catalogue()
    patterns = {r.id for r in rules}
    assert all(r.basis.kind in BASIS_KINDS and r.severity in ("error", "warning") for r in rules)
    checks = plan_checks(plan, data)
    assert all(c.rule in patterns and c.basis and c.default_severity in ("error", "warning") for c in checks)
    severity = {c.id: c.default_severity for c in checks}
    for design in ("ADSL.SEX.in_set", "ADSL.AGE.plausible", "ADSL.dates.not_before_TRTSDT", "ADSL.SAFFL.treated",
                   "ADSL.DTHDT.only_where_DTHFL", "ADAE.AEOUT.in_set", "ADAE.AEACN.in_set", "ADAE.AESER.in_set",
                   "ADAE.AETOXGR.in_set", "ADRS.AVALC.known_category", "ADAE.ASTDT.not_after_DTHDT"):
        assert severity[design] == "warning", design
    for invariant in ("ADSL.USUBJID.unique", "ADTTE.keys.unique", "ADTTE.CNSR.in_set", "ADTTE.AVAL.non_negative",
                      "ADTTE.subjects.in_ADSL", "ADSL.FASFL.in_set", "ADSL.SALVGRP.not_null",
                      "ADTTE.AVAL.matches_dates", "ADTTE.OS.AVALU_matches_plan"):
        assert severity[invariant] == "error", invariant


def test_engine_names_no_study() -> None:
    """The suites find study variables by ADaM patterns and from the data, never by name."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in QUALITY_SRC.glob("*.py"))
    for word in ["blinatumomab", "SALVGRP", "HSCT", "RSPDT", "RELDT", "NALTDT", "OSHSCT", "RFS", "MRD", "BESTRSP",
                 "TOWER", "ALCANTARA", "MT103", "Topp"]:
        assert not re.search(rf"\b{re.escape(word)}", text), word


def test_renamed_study_variables_are_discovered(flagship) -> None:
    """A transplant flag/date pair under other names still gets its 'records only where' rule."""
    plan, data = flagship
    adsl = data["ADSL"].rename(columns={"HSCTFL": "XPLFL", "HSCTDT": "XPLDT", "HSCTCRFL": "XPLCRFL"})
    renamed = [e.model_copy(update={"subset": e.subset.model_copy(update={"where": "XPLFL == 'Y'"})})
               if e.subset and e.subset.where else e for e in plan.time_to_event]   # the plan's subset, renamed
    plan = plan.model_copy(update={"time_to_event": renamed})
    ids = {c.id for c in plan_checks(plan, _with(data, ADSL=adsl))}
    assert "ADTTE.OSHSCT.origin_XPLDT" in ids and "ADSL.XPLDT.only_where_XPLFL" in ids


def test_cross_dataset_failure_names_subject_and_values(flagship) -> None:
    plan, data = flagship
    adsl, tte = data["ADSL"], data["ADTTE"].copy()
    untransplanted = adsl.loc[adsl["HSCTFL"].eq("N") & adsl["DTHFL"].eq("N"), "USUBJID"].iloc[0]
    row = tte.index[tte["PARAMCD"].eq("OSHSCT")][0]
    tte.loc[row, "USUBJID"] = untransplanted
    report = run_gate(plan, _with(data, ADTTE=tte))
    failed = _failed(report)
    r = failed["ADTTE.OSHSCT.origin_HSCTDT"]
    assert r.severity == "warning" and r.default_severity == "warning" and r.failed == 1   # a design expectation
    assert r.examples[0]["subject"] == untransplanted
    assert "HSCTFL=N" in r.examples[0]["value"] and "HSCTDT=missing" in r.examples[0]["value"]
    enforce(report)   # warnings do not stop
    strict = plan.model_copy(update={"quality": {"ADTTE.OSHSCT.origin_HSCTDT": Severity.ERROR}})
    report = run_gate(strict, _with(data, ADTTE=tte))
    (changed,) = report.severity_changes()
    assert changed.id == "ADTTE.OSHSCT.origin_HSCTDT" and changed.severity == "error"
    with pytest.raises(QualityGateError, match=r"ADTTE \(adtte.csv\)"):
        enforce(report)


def test_swapped_dates_and_death_not_last(flagship) -> None:
    plan, data = flagship
    adsl = data["ADSL"].copy()
    dead = adsl.index[adsl["DTHFL"].eq("Y") & adsl["HSCTDT"].notna()][0]
    adsl.loc[dead, "HSCTDT"] = adsl.loc[dead, "DTHDT"] + pd.Timedelta(days=3)
    failed = _failed(run_gate(plan, _with(data, ADSL=adsl)))
    r = failed["ADSL.dates.not_after_DTHDT"]
    assert r.examples[0]["subject"] == adsl.loc[dead, "USUBJID"]
    assert r.examples[0]["value"].startswith("DTHDT=") and "HSCTDT=" in r.examples[0]["value"]


def test_severity_from_plan_and_warnings_do_not_stop(flagship) -> None:
    plan, data = flagship
    tte = data["ADTTE"].copy()
    tte.loc[0, "AVAL"] = -1.0   # negative, and so no longer ADT - STARTDT
    relaxed = plan.model_copy(update={"quality": {"ADTTE.AVAL.non_negative": Severity.WARNING,
                                                  "ADTTE.AVAL.matches_dates": Severity.WARNING}})
    report = run_gate(relaxed, _with(data, ADTTE=tte))
    assert report.passed and [w.id for w in report.warnings] == ["ADTTE.AVAL.non_negative", "ADTTE.AVAL.matches_dates"]
    assert {r.id for r in report.severity_changes()} == {"ADTTE.AVAL.non_negative", "ADTTE.AVAL.matches_dates"}
    enforce(report)   # does not raise
    assert json.loads(report.to_json())["summary"]["warnings"] == 2


def test_unknown_check_id_in_plan_lists_known_ids(flagship) -> None:
    plan, data = flagship
    bad = plan.model_copy(update={"quality": {"ADTTE.AVAL.nonnegative": Severity.WARNING}})
    with pytest.raises(PlanError) as err:
        run_gate(bad, data)
    msg = str(err.value)
    assert "did you mean 'ADTTE.AVAL.non_negative'" in msg and "Known check ids:" in msg
    assert "ADSL.USUBJID.unique" in msg


def test_quality_json_schema_is_stable(flagship) -> None:
    plan, data = flagship
    body = json.loads(run_gate(plan, data).to_json())
    assert set(body) == {"summary", "files", "results"}
    assert set(body["summary"]) == {"checks", "passed", "errors", "warnings"}
    assert set(body["results"][0]) == {"id", "dataset", "description", "severity", "success", "failed", "examples",
                                       "hint", "expectation", "basis", "default_severity"}   # the last two added
    assert body["results"][0]["basis"] and body["results"][0]["default_severity"] in ("error", "warning")


def test_quality_html_escapes_everything(tmp_path: Path) -> None:
    hostile = '<script>alert(1)</script>'
    r = CheckResult("ADAE.X.<b>", "ADAE", f"desc {hostile}", "error", False, 1,
                    [{"subject": hostile, "value": '"><img src=x onerror=alert(1)>'}], f"hint {hostile}",
                    "ExpectColumnValuesToBeInSet")
    report = GateReport([r], {"ADAE": f"/data/{hostile}.csv"})
    page = quality_html(report, failed=True)
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    folder = write_failure_folder(report, tmp_path / "failed")
    assert json.loads((folder / "quality.json").read_text())["results"][0]["examples"][0]["subject"] == hostile


def test_terminal_output_prints_markup_literally(capsys: pytest.CaptureFixture[str]) -> None:
    from trialpress.report.quality_view import print_gate_failure

    r = CheckResult("ADSL.SEX.in_set", "ADSL", "SEX is M, F", "error", False, 1,
                    [{"subject": "[/bold]S-1", "value": "[red]x"}], "Recode [/] SEX.", "ExpectColumnValuesToBeInSet")
    exc = QualityGateError("1 data check(s) failed [/bold]", report=GateReport([r], {"ADSL": "adsl.csv"}))
    print_gate_failure(exc)   # must not raise rich MarkupError
    err = " ".join(capsys.readouterr().err.split())
    assert "[/bold]S-1" in err and "[red]x" in err


def test_mask_checks_are_validated_on_their_own_column(flagship) -> None:
    plan, data = flagship
    checks = plan_checks(plan, data)
    derived = [c for c in checks if c.mask is not None]
    assert derived and all(c.kwargs["value_set"] == [True] and c.kwargs["column"].startswith("__ok__")
                           for c in derived)
    assert all(len(c.mask) == len(data[c.dataset]) for c in derived)


def test_gate_import_defers_unused_heavy_modules() -> None:
    """GE imports scipy.stats and altair only for expectations we never use: they must not load."""
    code = ("import sys; from trialpress.quality._gx import import_gx; import_gx(); "
            "import great_expectations.expectations as e; "
            "print('scipy.stats._stats_py' in sys.modules, 'altair.vegalite' in sys.modules, "
            "'scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "False"], out


def test_deferred_module_still_works_after_import() -> None:
    code = ("from trialpress.quality._gx import import_gx; import_gx(); "
            "import great_expectations.expectations.core.expect_column_kl_divergence_to_be_less_than as m; "
            "print(m.stats.norm.cdf(0.0)); import scipy.stats; print(type(scipy.stats).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0.5", "module"], out


def test_gate_speed_cold_process() -> None:
    """`trialpress check` on the bundled data, in a fresh process including the GE import.

    The issue asks < 3 s on the project machine; the bound here is loose because the 2-core test
    machine is shared (measured wall times are reported by the lead's benchmark)."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "trialpress", "check", str(FLAGSHIP), "--quiet"],
                          capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - t0
    assert done.returncode == 0, done.stderr
    assert elapsed < 8.0, f"check took {elapsed:.2f} s"


def test_parallel_and_serial_gate_agree(flagship) -> None:
    plan, data = flagship
    tte, adae = data["ADTTE"].copy(), data["ADAE"].copy()
    tte.loc[2, "AVAL"] = -3.0
    adae.loc[4, "AETOXGR"] = 9.0
    bad = _with(data, ADTTE=tte, ADAE=adae)
    serial, parallel = run_gate(plan, bad, parallel=False), run_gate(plan, bad, parallel=True)
    assert serial.to_json() == parallel.to_json()
    assert {r.id for r in serial.errors} == {"ADTTE.AVAL.non_negative", "ADTTE.AVAL.matches_dates"}
    assert {r.id for r in serial.warnings} == {"ADAE.AETOXGR.in_set"}   # a CT term: a warning


@pytest.mark.parametrize("seq", [
    [1.0, 1.0, 1.0, 1.0, float("nan"), float("nan"), 3.0],       # whole numbers: coded directly
    [1.5, 1.5, 1.5, 1.5, float("nan"), float("nan"), 3.0],       # fractions: factorized
    [1e12, 1e12, 1e12, 1e12, float("nan"), float("nan"), 3.0],   # too wide a range: factorized
])
@pytest.mark.parametrize("bitmap", [100_000_000, 0])
def test_duplicated_keys_match_pandas(flagship: tuple, seq: list[float], bitmap: int,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Key repeats found on integer codes (ADSL rows, own codes for unknown subjects, direct or factorized
    sequence codes; with or without the no-repeat bitmap) are exactly pandas' duplicated(keep=False)."""
    from trialpress.quality import context

    monkeypatch.setattr(context, "DISTINCT_BITMAP", bitmap)
    plan, data = flagship
    known = list(data["ADSL"]["USUBJID"][:2])
    ae = pd.DataFrame({"USUBJID": [known[0], known[0], "NOT-IN-ADSL", known[1], "OTHER", "OTHER", "NOT-IN-ADSL"],
                       "AESEQ": seq})
    ctx = context.Ctx(plan, _with(data, ADAE=ae))
    got = ctx.duplicated_keys(ae, "AESEQ")
    assert got.tolist() == ae.duplicated(keep=False).tolist()
    assert got.any()
    unique = ae.drop_duplicates().reset_index(drop=True)
    assert not context.Ctx(plan, _with(data, ADAE=unique)).duplicated_keys(unique, "AESEQ").any()


def _corrupted(data: StudyData) -> StudyData:
    """Several kinds of bad value at once: codes out of set, missing ids, negative times, a duplicated key."""
    adsl, tte, ae = data["ADSL"].copy(), data["ADTTE"].copy(), data["ADAE"].copy()
    adsl["SEX"] = adsl["SEX"].astype(object)
    adsl.loc[3, "SEX"] = "X"
    adsl["SEX"] = adsl["SEX"].astype("category")
    adsl.loc[5, "AGE"] = 130.0
    tte.loc[2, "CNSR"] = 0.5   # (2.0 is a censoring reason code: legal ADaM)
    tte.loc[4, "AVAL"] = -1.0
    ae["USUBJID"] = ae["USUBJID"].astype(object)
    ae.loc[7, "USUBJID"] = None
    ae.loc[9, "AETOXGR"] = 7.0
    ae = pd.concat([ae, ae.iloc[[11]]], ignore_index=True)
    return _with(data, ADSL=adsl, ADTTE=tte, ADAE=ae)


@pytest.mark.parametrize("corrupt", [False, True])
def test_sketch_verdicts_equal_row_verdicts(flagship, corrupt: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Value-set checks validated on each column's distinct values give exactly the verdicts, counts and
    examples of validating every row."""
    from trialpress.quality import gate

    plan, data = flagship
    data = _corrupted(data) if corrupt else data
    sketched = run_gate(plan, data, parallel=False)
    monkeypatch.setattr(gate, "VALUE_SET_EXPECTATIONS", frozenset())
    rows = run_gate(plan, data, parallel=False)
    assert [(r.id, r.success, r.failed, r.examples) for r in sketched.results] == \
        [(r.id, r.success, r.failed, r.examples) for r in rows.results]
    if corrupt:
        failed = {r.id for r in sketched.results if not r.success}
        assert {"ADSL.SEX.in_set", "ADSL.AGE.plausible", "ADTTE.CNSR.in_set", "ADTTE.AVAL.non_negative",
                "ADAE.USUBJID.not_null", "ADAE.AETOXGR.in_set", "ADAE.keys.unique"} <= failed

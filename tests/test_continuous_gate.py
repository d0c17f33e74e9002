"""Continuous endpoints: the plan's PARAMCD, visits and flag must exist (plan errors with close matches), and
the gate checks the BDS basics on the records the endpoint analyses (one per subject and visit, CHG = AVAL -
BASE, BASE constant within subject)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyreadstat
import pytest
import yaml

from trialpress.errors import PlanError
from trialpress.pipeline import _load
from trialpress.plan import load_plan
from trialpress.quality.gate import run_gate

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "data" / "random-cdisc-data"


def _project(tmp_path: Path, change=None, plan_change=None) -> Path:  # type: ignore[no-untyped-def]
    project = tmp_path / "p"
    (project / "analysis").mkdir(parents=True)
    shutil.copy(ROOT / "_quarto.yml", project / "_quarto.yml")
    shutil.copytree(PUBLIC, project / "data" / "random-cdisc-data")
    if change:
        path = project / "data" / "random-cdisc-data" / "adqs.xpt"
        qs, _ = pyreadstat.read_xport(str(path))
        pyreadstat.write_xport(change(qs), str(path), table_name="ADQS", file_format_version=5)
    plan = yaml.safe_load((ROOT / "analysis" / "random-cdisc-data.yml").read_text(encoding="utf-8"))
    plan.pop("safety")   # only what the continuous endpoint needs is read
    plan["binary"] = [b for b in plan["binary"] if b["id"] != "INVET"]
    if plan_change:
        plan_change(plan["continuous"][0])
    out = project / "analysis" / "random-cdisc-data.yml"
    out.write_text(yaml.safe_dump(plan, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out


def _errors(plan_path: Path) -> dict[str, int]:
    lp = load_plan(plan_path)
    report = run_gate(lp.plan, _load(lp), parallel=False)
    return {r.id: r.failed for r in report.errors}


def test_the_public_package_passes(tmp_path: Path) -> None:
    assert _errors(_project(tmp_path)) == {}


def test_duplicated_visit_record_changed_chg_and_varying_base_stop_the_gate(tmp_path: Path) -> None:
    def corrupt(qs):  # type: ignore[no-untyped-def]
        fk = qs.index[(qs["PARAMCD"] == "FKSIALL") & (qs["AVISITN"] == 3)]
        qs.loc[fk[0], "CHG"] = qs.loc[fk[0], "CHG"] + 5          # CHG no longer AVAL - BASE
        qs.loc[fk[1], "BASE"] = qs.loc[fk[1], "BASE"] + 1        # BASE differs within the subject
        import pandas as pd

        return pd.concat([qs, qs.loc[[fk[2]]]], ignore_index=True)   # a second record at that visit

    errors = _errors(_project(tmp_path, corrupt))
    assert errors["ADQS.FKSIALL.CHG_is_AVAL_minus_BASE"] >= 1
    assert errors["ADQS.FKSIALL.BASE_constant"] >= 1
    assert errors["ADQS.FKSIALL.one_record_per_visit"] == 2


@pytest.mark.parametrize("key,value,match", [
    ("paramcd", "FKSIAL", "'FKSIAL' does not occur in ADQS.PARAMCD.*FKSIALL"),
    ("primary_visit", "WEEK 5 DAY 35", "visit 'WEEK 5 DAY 35' does not occur.*WEEK 5 DAY 36"),
])
def test_plan_values_not_in_the_data_are_plan_errors(tmp_path: Path, key: str, value: str, match: str) -> None:
    def change(ep):  # type: ignore[no-untyped-def]
        ep[key] = value
        if key == "primary_visit":
            ep.pop("visits", None)

    with pytest.raises(PlanError, match=match):
        _load(load_plan(_project(tmp_path, plan_change=change)))


def test_a_continuous_subset_naming_an_unknown_variable_stops_before_analysis(tmp_path: Path) -> None:
    """A continuous endpoint's subset.where is required of ADSL like any other plan condition: the load fails
    naming the variable, the endpoint's plan key and its line, before anything is analysed."""
    from trialpress.errors import DataError

    def change(ep):  # type: ignore[no-untyped-def]
        ep["subset"] = {"label": "adults", "where": "AGEX >= 18"}

    plan_path = _project(tmp_path, plan_change=change)
    line = next(i for i, ln in enumerate(plan_path.read_text(encoding="utf-8").splitlines(), 1)
                if ln.strip().startswith("where: AGEX"))
    with pytest.raises(DataError, match=rf"AGEX, needed by continuous\[FKSI\]\.subset\.where "
                                        rf"\(random-cdisc-data\.yml:{line}\) \(did you mean AGE"):
        _load(load_plan(plan_path))


def test_a_continuous_subset_that_cannot_be_evaluated_is_a_plan_error(tmp_path: Path) -> None:
    from trialpress.quality.references import check_plan_references

    def change(ep):  # type: ignore[no-untyped-def]
        ep["subset"] = {"label": "adults", "where": "AGE >= 'old'"}

    lp = load_plan(_project(tmp_path, plan_change=change))
    with pytest.raises(PlanError, match=r"continuous\[FKSI\]\.subset\.where: \"AGE >= 'old'\" cannot be evaluated") \
            as exc:
        check_plan_references(lp.plan, _load(lp))
    assert "ExpressionError" not in str(exc.value)


def test_a_visit_listed_under_visits_is_named_at_its_line(tmp_path: Path) -> None:
    """A visit of `visits:` not in the data points at that visit's line, not at primary_visit."""
    def change(ep):  # type: ignore[no-untyped-def]
        ep["visits"] = ["WEEK 2 DAY 16", "WEEK 5 DAY 36"]   # block style: one line per visit

    plan_path = _project(tmp_path, plan_change=change)
    line = next(i for i, ln in enumerate(plan_path.read_text(encoding="utf-8").splitlines(), 1)
                if "WEEK 2 DAY 16" in ln)
    with pytest.raises(PlanError, match=rf"random-cdisc-data\.yml:{line}: visit 'WEEK 2 DAY 16' does not occur"):
        _load(load_plan(plan_path))


def test_records_in_two_units_stop_the_gate_and_blank_units_do_not(tmp_path: Path) -> None:
    """AVALU: three FKSIALL records in another unit are the three failures (a mean over both units would be
    reported); records without a unit are not another unit; another parameter's unit is not looked at."""
    def units(other: str):  # type: ignore[no-untyped-def]
        def change(qs):  # type: ignore[no-untyped-def]
            qs["AVALU"] = "points"
            fk = qs.index[(qs["PARAMCD"] == "FKSIALL") & (qs["AVISITN"] > 0)]
            qs.loc[fk[:3], "AVALU"] = other
            qs.loc[fk[3:10], "AVALU"] = ""
            qs.loc[qs["PARAMCD"] != "FKSIALL", "AVALU"] = "score"
            return qs
        return change

    errors = _errors(_project(tmp_path / "a", units("percent")))
    assert errors == {"ADQS.FKSIALL.one_AVALU": 3}
    assert _errors(_project(tmp_path / "b", units(""))) == {}

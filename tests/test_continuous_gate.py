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

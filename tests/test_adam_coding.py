"""Safety counts and groups follow the data's own coding (issue 14): relatedness coded PROBABLE/POSSIBLE/REMOTE/
NONE, action taken not collected, screen failures, as-treated groups. Built on copies of the public ADaM
package; expected counts by plain pandas on the modified files, written separately from the engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from trialpress.errors import PlanError
from trialpress.pipeline import _load
from trialpress.plan import load_plan
from trialpress.results import keys
from trialpress.results.collect import analyse
from trialpress.scaffold import init

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "data" / "random-cdisc-data"
ARMS = ("A: Drug X", "B: Placebo", "C: Combination")


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    dst = tmp_path / "project"
    (dst / "data").mkdir(parents=True)
    shutil.copy(ROOT / "_quarto.yml", dst / "_quarto.yml")
    shutil.copytree(ROOT / "templates", dst / "templates")
    folder = dst / "data" / "pub"
    folder.mkdir()
    for name in ("adsl", "adtte", "adrs", "adae"):
        shutil.copy(PUBLIC / f"{name}.xpt", folder / f"{name}.xpt")
    return dst


def _rewrite(folder: Path, name: str, change) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    frame, meta = pyreadstat.read_xport(str(folder / f"{name}.xpt"))
    frame = change(frame)
    pyreadstat.write_xport(frame, str(folder / f"{name}.xpt"), table_name=name.upper(), file_format_version=5)
    return frame


def _subjects(ae: pd.DataFrame, adsl: pd.DataFrame, mask: pd.Series, arm: str, by: str = "TRT01A") -> int:
    saf = adsl.loc[(adsl["SAFFL"] == "Y") & (adsl[by] == arm), "USUBJID"]
    te = ae[(ae["TRTEMFL"] == "Y") & mask & ae["USUBJID"].isin(saf)]
    return te["USUBJID"].nunique()


def _init_without_tne(project: Path) -> Path:
    plan = init(project / "data" / "pub", project / "analysis" / "pub.yml")
    return plan


def test_relatedness_coded_on_a_scale_is_read_as_coded(project: Path) -> None:
    folder = project / "data" / "pub"
    scale = {"Y": "PROBABLE", "N": "REMOTE"}

    def recode(ae: pd.DataFrame) -> pd.DataFrame:
        ae["AEREL"] = ae["AEREL"].map(scale)
        ae.loc[ae.index % 7 == 0, "AEREL"] = "POSSIBLE"
        ae.loc[ae.index % 11 == 0, "AEREL"] = "NONE"
        return ae

    ae = _rewrite(folder, "adae", recode)
    plan_path = _init_without_tne(project)
    text = plan_path.read_text(encoding="utf-8")
    assert 'related_values: ["POSSIBLE", "PROBABLE"]' in text and "CHECK: AEREL holds" in text
    lplan = load_plan(plan_path)
    ard = analyse(lplan.plan, _load(lplan)).ard
    adsl, _ = pyreadstat.read_xport(str(folder / "adsl.xpt"))
    related = ae["AEREL"].isin(["POSSIBLE", "PROBABLE"])
    for arm in ARMS:
        got = ard[keys.safety("overview", "n", arm, term="related")].value
        assert got == _subjects(ae, adsl, related, arm) > 0


def test_relatedness_on_a_scale_without_the_plan_saying_is_a_plan_error(project: Path) -> None:
    folder = project / "data" / "pub"
    _rewrite(folder, "adae", lambda ae: ae.assign(AEREL=ae["AEREL"].map({"Y": "PROBABLE", "N": "NONE"})))
    plan_path = _init_without_tne(project)
    text = plan_path.read_text(encoding="utf-8").replace('    related_values: ["PROBABLE"]', "")
    plan_path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError, match="coded 'NONE', 'PROBABLE'.*related_values"):
        _load(load_plan(plan_path))


def test_action_taken_not_collected_is_never_a_zero(project: Path) -> None:
    folder = project / "data" / "pub"
    _rewrite(folder, "adae", lambda ae: ae.assign(AEACN=""))
    plan_path = _init_without_tne(project)
    text = plan_path.read_text(encoding="utf-8")
    assert "action: null   # AEACN has no values" in text
    # without the ADSL source init proposes, nothing says who discontinued because of an AE
    plan_path.write_text("\n".join(ln for ln in text.splitlines() if "discontinuation:" not in ln) + "\n",
                         encoding="utf-8")
    lplan = load_plan(plan_path)
    ard = analyse(lplan.plan, _load(lplan)).ard
    row = ard[keys.safety("overview", "collected", term="discontinued")]
    assert row.text == "no"
    assert keys.safety("overview", "n", "A: Drug X", term="discontinued") not in ard


def test_discontinuation_from_adsl_when_adae_has_no_action(project: Path) -> None:
    folder = project / "data" / "pub"
    _rewrite(folder, "adae", lambda ae: ae.assign(AEACN=""))
    plan_path = _init_without_tne(project)
    text = plan_path.read_text(encoding="utf-8")
    assert 'discontinuation: {variable: DCSREAS, values: ["ADVERSE EVENT"]}' in text
    lplan = load_plan(plan_path)
    ard = analyse(lplan.plan, _load(lplan)).ard
    adsl, _ = pyreadstat.read_xport(str(folder / "adsl.xpt"))
    for arm in ARMS:
        expected = ((adsl["SAFFL"] == "Y") & (adsl["TRT01A"] == arm) & (adsl["DCSREAS"] == "ADVERSE EVENT")).sum()
        assert ard[keys.safety("overview", "n", arm, term="discontinued")].value == expected


def test_screen_failures_are_not_a_group_and_safety_is_as_treated(project: Path) -> None:
    folder = project / "data" / "pub"

    def change(adsl: pd.DataFrame) -> pd.DataFrame:
        extra = adsl.head(5).copy()
        extra["USUBJID"] = [f"SCRNFAIL-{i}" for i in range(5)]
        for col in ("ARM", "TRT01P", "TRT01A", "ACTARM"):
            extra[col] = "Screen Failure"
        extra["ITTFL"] = "N"
        extra["SAFFL"] = "N"
        out = pd.concat([adsl, extra], ignore_index=True)
        # three placebo subjects were given Drug X: as-treated differs from as-randomised
        moved = out.index[out["TRT01P"] == "B: Placebo"][:3]
        out.loc[moved, "TRT01A"] = "A: Drug X"
        return out

    adsl = _rewrite(folder, "adsl", change)
    plan_path = _init_without_tne(project)
    plan = load_plan(plan_path).plan
    assert "Screen Failure" not in plan.group_values and len(plan.group_values) == 3
    assert plan.group_variable("SAF") == "TRT01A"
    lplan = load_plan(plan_path)
    ard = analyse(lplan.plan, _load(lplan)).ard
    ae, _ = pyreadstat.read_xport(str(folder / "adae.xpt"))
    for arm in ARMS:
        assert ard[keys.population("SAF", arm)].value == ((adsl["SAFFL"] == "Y") & (adsl["TRT01A"] == arm)).sum()
        assert ard[keys.population("ITT", arm)].value == ((adsl["ITTFL"] == "Y") & (adsl["TRT01P"] == arm)).sum()
        assert ard[keys.safety("overview", "n", arm, term="serious")].value == \
            _subjects(ae, adsl, ae["AESER"] == "Y", arm, by="TRT01A")


def test_init_cleans_parquet_text_as_the_loader_does(project: Path) -> None:
    """Parquet text arrives as Categoricals: init trims it and reads blanks as missing, as the loader does,
    so AEREL [' Y ', '', 'N'] is the binary Y/N coding."""
    from trialpress.data.coding import present_values
    from trialpress.scaffold import inspect

    folder = project / "data" / "pub"
    ae, _ = pyreadstat.read_xport(str(folder / "adae.xpt"))
    ae["AEREL"] = [(" Y ", "", "N")[i % 3] for i in range(len(ae))]
    (folder / "adae.xpt").unlink()
    ae.to_parquet(folder / "adae.parquet", index=False)
    found = inspect(folder)
    assert isinstance(found.frames["ADAE"]["AEREL"].dtype, pd.CategoricalDtype)   # as Parquet text arrives
    assert set(present_values(found.frames["ADAE"]["AEREL"])) == {"Y", "N"}
    assert int(found.frames["ADAE"]["AEREL"].isna().sum()) == len(range(1, len(ae), 3))
    plan_path = _init_without_tne(project)
    assert "related_values" not in plan_path.read_text(encoding="utf-8")
    plan = load_plan(plan_path).plan
    assert plan.safety is not None and plan.safety.variables.related_values is None


def test_coded_order_follows_the_numeric_companion() -> None:
    """ADaM pairs a text variable with its numeric code (AGEGR1/AGEGR1N): categories are shown in that order;
    without a usable code (absent, text, or not one code per value) by the numbers that define them, else
    sorted."""
    from trialpress.data.coding import coded_order

    frame = pd.DataFrame({"AGEGR1": ["65-80", "<65", ">80", "<65", None],
                          "AGEGR1N": [3.0, 1.0, 2.0, 1.0, None]})   # a code that is not the numbers' order
    assert coded_order(frame, "AGEGR1") == ["<65", ">80", "65-80"]
    assert coded_order(frame, "AGEGR1", ["65-80", ">80", "unseen"]) == [">80", "65-80", "unseen"]
    cut = ["<65", "65-80", ">80"]
    assert coded_order(frame.drop(columns="AGEGR1N"), "AGEGR1") == cut
    two_codes = frame.assign(AGEGR1N=[3.0, 1.0, 2.0, 4.0, None])   # '<65' coded 1 and 4: no order to read
    assert coded_order(two_codes, "AGEGR1") == cut
    shared = frame.assign(AGEGR1N=[1.0, 1.0, 3.0, 1.0, None])      # two values sharing code 1
    assert coded_order(shared, "AGEGR1") == cut
    as_text = frame.assign(AGEGR1N=["3.0", "1.0", "2.0", "1.0", None])   # a CSV's column, not yet typed
    assert coded_order(as_text, "AGEGR1") == ["<65", ">80", "65-80"]
    as_category = frame.assign(AGEGR1N=as_text["AGEGR1N"].astype("category"))
    assert coded_order(as_category, "AGEGR1") == ["<65", ">80", "65-80"]
    not_numbers = frame.assign(AGEGR1N=["B", "A", "C", "A", None])
    assert coded_order(not_numbers, "AGEGR1") == cut
    categorical = frame.assign(AGEGR1=frame["AGEGR1"].astype("category"))
    assert coded_order(categorical, "AGEGR1") == ["<65", ">80", "65-80"]
    words = pd.DataFrame({"SEX": ["M", "F", "U"]})
    assert coded_order(words, "SEX") == ["F", "M", "U"]


def test_categories_cut_from_a_number_in_its_order() -> None:
    from trialpress.data.coding import by_cut_points

    assert by_cut_points(["25-<30", "<25", ">=30"]) == ["<25", "25-<30", ">=30"]
    assert by_cut_points(["10-20", "1-2", "3-9"]) == ["1-2", "3-9", "10-20"]   # not '10-20' before '3-9'
    assert by_cut_points(["\u2265 10", "<10"]) == ["<10", "\u2265 10"]
    assert by_cut_points(["<=30", "> 30"]) == ["<=30", "> 30"]
    assert by_cut_points(["<65", "65-80", "Missing"]) == ["65-80", "<65", "Missing"]   # one not a range: as text

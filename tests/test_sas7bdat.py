"""SAS datasets (sas7bdat), the form ADaM data take inside most sponsors before the XPT of a submission, are read
like XPT: the public package with ADSL, ADTTE, ADRS and ADAE as sas7bdat (tests/reference/data/
random-cdisc-data-sas7bdat, README there) and its other datasets as XPT gives the all-XPT ARD row for row."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trialpress.data.readers import read_dataset
from trialpress.errors import DataError
from trialpress.plan import load_plan
from trialpress.scaffold import init

from public_packages import ard_rows, differing, plan_on

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "data" / "random-cdisc-data"
SAS = ROOT / "tests" / "reference" / "data" / "random-cdisc-data-sas7bdat"
PLAN = ROOT / "analysis" / "random-cdisc-data.yml"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sas") / "data"
    out.mkdir()
    for path in PUBLIC.glob("*.xpt"):
        if not (SAS / f"{path.stem}.sas7bdat").exists():
            shutil.copy(path, out / path.name)
    for path in SAS.glob("*.sas7bdat"):
        shutil.copy(path, out / path.name)
    return out


def test_a_sas_dataset_reads_as_its_transport_file(folder: Path) -> None:
    sas = read_dataset(folder / "adsl.sas7bdat", columns=["USUBJID", "AGE", "RANDDT", "TRTSDTM", "ARM"])
    xpt = read_dataset(PUBLIC / "adsl.xpt", columns=["USUBJID", "AGE", "RANDDT", "TRTSDTM", "ARM"])
    assert list(sas.columns) == list(xpt.columns) == ["USUBJID", "AGE", "ARM", "RANDDT", "TRTSDTM"]
    assert sas.attrs["all_columns"] == xpt.attrs["all_columns"]
    for col in sas.columns:
        assert sas[col].astype(object).tolist() == xpt[col].astype(object).tolist(), col


def test_the_public_package_as_sas_datasets_gives_the_xpt_ard(folder: Path, tmp_path: Path) -> None:
    ours, data = ard_rows(plan_on(PLAN, folder, tmp_path))
    assert data.files["ADSL"].suffix == ".sas7bdat" and data.files["ADQS"].suffix == ".xpt"
    theirs, _ = ard_rows(PLAN)
    assert set(ours) == set(theirs) and len(theirs) > 5000 and differing(ours, theirs) == []


def test_init_reads_a_folder_of_sas_datasets(folder: Path, tmp_path: Path) -> None:
    plan = load_plan(init(folder, tmp_path / "p.yml")).plan
    assert plan.groups.reference == "B: Placebo" and [e.paramcd for e in plan.time_to_event][:2] == ["OS", "PFS"]


def test_a_damaged_sas_dataset_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "adsl.sas7bdat"
    broken.write_bytes((SAS / "adsl.sas7bdat").read_bytes()[:5000])
    with pytest.raises(DataError, match=r"adsl\.sas7bdat: cannot be read as SAS7BDAT"):
        read_dataset(broken)
    other = tmp_path / "adae.sas7bdat"
    other.write_bytes(b"PAR1" + bytes(100))
    with pytest.raises(DataError, match="It looks like a Parquet file"):
        read_dataset(other)

"""Table 1 (and the populations) of a real study against **SAS**: the CDISC pilot study's baseline characteristics (data/cdiscpilot01,
the PhUSE copy of its ADSL, analysis/cdiscpilot01.yml) as trialpress summarises them, against PROC TABULATE's
Table 14-2.01 of the same PhUSE ADSL, published by the PhUSE results-metadata project
(tests/reference/data/phuse-sas-results/TAB2X01.csv: provenance there). Intention-to-treat population by TRT01P:
n, mean, SD, median, minimum and maximum of the seven continuous characteristics (missing values left out, as
SAS leaves them), and the counts and percentages of age group, sex and race; and Table 14-1.01's population
sizes and completers (TAB1X01.csv)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from trialpress.results import keys

from public_packages import study_fixtures

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "analysis" / "cdiscpilot01.yml"
SAS = pd.read_csv(ROOT / "tests" / "reference" / "data" / "phuse-sas-results" / "TAB2X01.csv",
                  keep_default_na=False)
ARMS = ("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")
CONTINUOUS = ("AGE", "MMSETOT", "DURDIS", "EDUCLVL", "WEIGHTBL", "HEIGHTBL", "BMIBL")
STATISTICS = {"mean": "mean", "stddev": "sd", "median": "median", "min": "min", "max": "max"}
CATEGORICAL = ("AGEGR1", "SEX", "RACE")

loaded, ard = study_fixtures(PLAN)


def _sas(arm: str, factor: str, procedure: str) -> float | None:
    row = SAS[(SAS["TRT01P"] == arm) & (SAS["factor"] == factor) & (SAS["procedure"] == procedure)]
    return float(row["measure"].iloc[0]) if len(row) else None


@pytest.mark.parametrize("variable", CONTINUOUS)
def test_continuous_characteristics_equal_sas(ard, variable: str) -> None:
    compared = 0
    for arm in ARMS:
        total = ard[keys.population("ITT", arm)].value
        n = _sas(arm, variable.lower(), "n")
        assert total - ard[keys.baseline(variable, "missing", arm)].value == n, (variable, arm)
        for sas_name, ours in STATISTICS.items():
            theirs = _sas(arm, variable.lower(), sas_name)
            if theirs is None:          # the published file has no maximum of BMIBL
                continue
            assert ard[keys.baseline(variable, ours, arm)].value == pytest.approx(theirs, rel=1e-9), \
                (variable, arm, ours)
            compared += 1
    assert compared >= 12


@pytest.mark.parametrize("variable", CATEGORICAL)
def test_categories_equal_sas(ard, variable: str) -> None:
    rows = SAS[(SAS[variable] != "_ALL_") & (SAS["procedure"] == "count")]
    assert len(rows) >= 3
    for _, r in rows.iterrows():
        ours = ard[keys.baseline(variable, "n", r["TRT01P"], r[variable])]
        percent = _sas_percent(variable, r["TRT01P"], r[variable])
        assert ours.value == float(r["measure"]), (variable, r["TRT01P"], r[variable])
        assert 100 * ours.value / ours.n == pytest.approx(percent, rel=1e-9)


def _sas_percent(variable: str, arm: str, level: str) -> float:
    row = SAS[(SAS[variable] == level) & (SAS["TRT01P"] == arm) & (SAS["procedure"] == "percent")]
    return float(row["measure"].iloc[0])


POPULATIONS = pd.read_csv(ROOT / "tests" / "reference" / "data" / "phuse-sas-results" / "TAB1X01.csv",
                          keep_default_na=False)


@pytest.mark.parametrize(("flag", "population"), [("ittfl", "ITT"), ("saffl", "SAF"), ("efffl", "EFF")])
def test_the_populations_equal_sas_table_14_1_01(ard, flag: str, population: str) -> None:
    rows = POPULATIONS[(POPULATIONS[flag] == "Y") & (POPULATIONS["procedure"] == "count")]
    assert len(rows) == 4
    for _, r in rows.iterrows():
        group = "" if r["trt01p"] == "_ALL_" else r["trt01p"]
        key = keys.population(population, group) if group else keys.population(population)
        assert ard[key].value == float(r["measure"]), (population, group)


def test_completion_and_discontinuation_equal_sas_table_14_1_01(ard) -> None:
    """SAS counts DISCONFL; the report's disposition table counts DCDECOD: completers are DISCONFL = N, and
    every other reason adds up to DISCONFL = Y."""
    rows = ard.select(analysis="disposition", parameter="DCDECOD", statistic="n")
    for arm in ARMS:
        by_reason = {r.term: r.value for r in rows if r.group == arm}
        sas = POPULATIONS[(POPULATIONS["trt01p"] == arm) & (POPULATIONS["procedure"] == "count")]
        completed = float(sas.loc[sas["disconfl"] == "N", "measure"].iloc[0])
        discontinued = float(sas.loc[sas["disconfl"] == "Y", "measure"].iloc[0])
        assert by_reason.pop("COMPLETED") == completed
        assert sum(by_reason.values()) == discontinued and len(by_reason) >= 3

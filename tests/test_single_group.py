"""A study of one group (a single-arm trial, common in phase 2 oncology): everything is described, nothing compared.

Made from the public package (data/random-cdisc-data) by keeping the subjects randomised to "A: Drug X" in every
dataset, with the committed plan narrowed to that one group. Before this, the report crashed on the first
table (`plan.comparators[0]`) and, once past that, wrote an abstract with no results and methods describing
hazard ratios vs a reference. Each estimate of one group is the same computation as that group's in the
three-arm study, so the numbers are held to R's (tests/reference/expected/public.json) for arm A; the one-group
MMRM is held to nlme::gls in test_continuous_reference.py."""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import pyreadstat
import pytest

from trialpress.results import keys

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "data" / "random-cdisc-data"
R = json.loads((ROOT / "tests" / "reference" / "expected" / "public.json").read_text())
ARM = "A: Drug X"

pytestmark = pytest.mark.slow


def close(ours: float, theirs: float | None, rel: float = 1e-6) -> bool:
    if theirs is None:
        return math.isnan(ours)
    return ours == pytest.approx(theirs, rel=rel, abs=1e-12)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("one-group")
    folder = root / "data" / "one"
    folder.mkdir(parents=True)
    adsl, _ = pyreadstat.read_xport(str(PUBLIC / "adsl.xpt"))
    keep = set(adsl.loc[adsl["TRT01P"] == ARM, "USUBJID"])
    for xpt in sorted(PUBLIC.glob("*.xpt")):
        frame, meta = pyreadstat.read_xport(str(xpt))
        pyreadstat.write_xport(frame[frame["USUBJID"].isin(keep)], str(folder / xpt.name), table_name=meta.table_name,
                               file_format_version=5,
                               column_labels=dict(zip(meta.column_names, meta.column_labels)))
    plan = (ROOT / "analysis" / "random-cdisc-data.yml").read_text(encoding="utf-8")
    start, end = plan.index("  reference: "), plan.index("populations:")
    plan = plan[:start] + f'  reference: "{ARM}"\n  levels:\n    - {{value: "{ARM}", label: "Drug X"}}\n\n' + plan[end:]
    plan = plan.replace('folder: "data/random-cdisc-data"', 'folder: "data/one"')
    # adverse events of interest too: described by their rates, with no risk difference
    marker = "  # of_interest: [{id: X, label: ..., pt: [...]} or {..., soc: [...]}]"
    assert marker in plan
    plan = plan.replace(marker, "  of_interest:\n    - {id: A1, label: Class A events, soc: [cl A.1]}")
    (root / "analysis").mkdir()
    (root / "analysis" / "one.yml").write_text(plan, encoding="utf-8")
    (root / "_quarto.yml").write_text("project:\n  type: default\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def rendered(project: Path) -> Path:
    from trialpress.pipeline import render

    return render(project / "analysis" / "one.yml", report_root=project / "report", formats=["html"],
                  report_date="2026-01-01").folder


@pytest.fixture(scope="module")
def ard(rendered: Path) -> dict[str, dict[str, object]]:
    return {r["id"]: r for r in json.loads((rendered / "ard.json").read_text())["rows"]}


def _value(row: dict[str, object], name: str) -> float:
    v = row.get(name)
    return math.nan if v is None else float(v)   # type: ignore[arg-type]


def _text(rendered: Path) -> str:
    s = (rendered / "report.html").read_text(encoding="utf-8")
    s = re.sub(r"<(script|style)\b.*?</\1>", "", s, flags=re.S)
    s = re.sub(r'<details class="tp-ard">.*?</details>', "", s, flags=re.S)   # the ARD appendix lists method names
    s = re.sub(r"</?(a|span|strong|em)\b[^>]*>", "", s)   # inline: the ARD links around each number
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", s)).replace("\xa0", " ").split())


def test_nothing_is_compared(ard) -> None:
    compared = {"cox", "cox_strat", "cox_adj", "logrank", "logistic", "logistic_adj", "difference"}
    assert not [i for i, r in ard.items() if r["analysis"] in compared]
    assert not [i for i, r in ard.items() if r["analysis"] == "mmrm" and r["statistic"] in ("difference", "p")]


@pytest.mark.parametrize("ep", ["OS", "PFS", "EFS"])
def test_kaplan_meier_of_the_one_group_equals_r(ard, ep: str) -> None:
    ref = R["tte"][ep]["arms"][ARM]
    assert _value(ard[keys.km(ep, "events", ARM).id], "value") == ref["events"]
    row = ard[keys.km(ep, "median", ARM).id]
    for ours, theirs in zip((_value(row, "value"), _value(row, "lower"), _value(row, "upper")), ref["median"]):
        assert close(ours, theirs), (ep, ours, theirs)


@pytest.mark.parametrize("ep", ["BESRSPI", "INVET"])
def test_response_rate_of_the_one_group_equals_r(ard, ep: str) -> None:
    ref = R["response"][ep]["arms"][ARM]
    p = ard[keys.rate(ep, "proportion", ARM).id]
    assert close(_value(p, "value"), ref["prop"]) and close(_value(p, "lower"), ref["lower"])
    assert close(_value(p, "upper"), ref["upper"])


def test_the_text_describes_each_estimate_and_compares_nothing(rendered: Path, ard) -> None:
    text = _text(rendered)
    start = text.index("Materials & Methods In total")
    abstract = text[start:text.index("Statistical methods", start)]
    pfs = ard[keys.km("PFS", "median", ARM).id]
    assert (f"Median progression free survival was {_value(pfs, 'value'):.1f} days (95% CI, "
            f"{_value(pfs, 'lower'):.1f}-{_value(pfs, 'upper'):.1f})") in abstract
    assert "Median overall survival was not reached (95% confidence interval [CI]," in abstract
    rate = ard[keys.rate("BESRSPI", "n", ARM).id]
    assert f"({int(_value(rate, 'value'))}/{int(_value(rate, 'n'))}; 95% CI," in abstract
    assert "the least-squares (LS) mean change from baseline in FKSI-19 total score was" in abstract
    assert "With one group, the estimates are descriptive" in abstract
    assert "All patients form one group (drug X): the estimates are descriptive" in text
    for word in ("hazard ratio", "odds ratio", "HR", "Reference", " vs ", " vs. ", "did not differ", "favored",
                 "significant", "each group minus the reference", "group-by-visit", "interaction"):
        assert word not in text, word
    assert "Table 2. Efficacy outcomes (intention-to-treat population)" in text
    assert "Total (N" not in text   # one group: a Total column would repeat it
    assert "Table 14. Adverse events of interest" in text or "Adverse events of interest (safety population)" in text
    assert "Risk difference" not in text
    assert "Figure 1. Kaplan-Meier estimates of overall survival (intention-to-treat population)" in text


def test_init_on_one_group_says_nothing_will_be_compared(project: Path, tmp_path: Path) -> None:
    from trialpress.scaffold import init

    written = init(project / "data" / "one", out=tmp_path / "one.yml", study_id="one")
    text = Path(written).read_text(encoding="utf-8")
    assert f'reference: "{ARM}"' in text and "compares nothing" in text and "each group vs this one" not in text


def test_the_conclusion_is_a_paragraph_of_its_own(rendered: Path) -> None:
    page = (rendered / "report.html").read_text(encoding="utf-8")
    assert page.count("<p><strong>Conclusion</strong>") == 1

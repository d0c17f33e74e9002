"""One spelling variety per document, figures included: the engine and `init` write US English; a plan's
`conventions.spelling: uk` turns the prose and the figures' own words (the KM time axis, the forest plot's
'favors') into British spelling. On the public package, whose time-to-event endpoints start at randomization."""

from __future__ import annotations

from pathlib import Path

import pytest

from public_packages import public_variant, variant_ard
from trialpress.plan import load_plan
from trialpress.report.context import ContextBuilder
from trialpress.report.figure_specs import plan_figures
from trialpress.report.spelling import in_variety
from trialpress.scaffold import init

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "data" / "random-cdisc-data"


def test_init_names_the_origin_in_the_engines_spelling(tmp_path: Path) -> None:
    """The public package's ADTTE given STARTDT = RANDDT (as a package records time zero): init calls the
    origin randomization, in the engine's US spelling, which `spelling: uk` turns British everywhere."""
    import pyreadstat

    adsl, _ = pyreadstat.read_xport(str(PUBLIC / "adsl.xpt"))
    adtte, _ = pyreadstat.read_xport(str(PUBLIC / "adtte.xpt"))
    adtte = adtte.merge(adsl[["USUBJID", "RANDDT"]].rename(columns={"RANDDT": "STARTDT"}), on="USUBJID")
    folder = tmp_path / "pkg"
    folder.mkdir()
    adsl.to_csv(folder / "adsl.csv", index=False)
    adtte.to_csv(folder / "adtte.csv", index=False)
    text = init(folder, tmp_path / "plan.yml").read_text(encoding="utf-8")
    assert '    origin: "randomization"' in text and "randomisation" not in text


@pytest.mark.parametrize("variety,since,favours", [("us", "Days since randomization", "Favors"),
                                                   ("uk", "Days since randomisation", "Favours")])
def test_the_figures_words_follow_the_plans_spelling(tmp_path: Path, variety: str, since: str, favours: str) -> None:
    def spelled(plan: dict) -> None:
        plan["conventions"] = {"spelling": variety}
        next(e for e in plan["time_to_event"] if e["id"] == "OS")["subgroups"] = True
        plan["subgroups"] = [{"variable": "SEX", "label": "Sex"}]

    path = public_variant(tmp_path, spelled)
    lplan, ard = load_plan(path), variant_ard(path)
    _, jobs = plan_figures(lplan.plan, ContextBuilder(lplan.plan, ard), tmp_path)
    km = [p for job in jobs for p in (job.spec if isinstance(job.spec, tuple) else ()) if hasattr(p, "xlabel")]
    other = "Days since randomization" if variety == "uk" else "Days since randomisation"
    assert since in {p.xlabel for p in km} and other not in {p.xlabel for p in km}
    forests = [job.spec for job in jobs if hasattr(job.spec, "favours")]
    assert forests and all(f.startswith(f"{favours} ") for spec in forests for f in spec.favours)


def test_british_spelling_converts_the_engines_words_only() -> None:
    assert in_variety("Randomized and analyzed; favored by the randomization", "uk") == \
        "Randomised and analysed; favoured by the randomisation"
    assert in_variety("Randomized", "us") == "Randomized"
    assert in_variety("a colorectal organization", "uk") == "a colorectal organization"   # not the engine's words

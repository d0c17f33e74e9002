"""A binary primary endpoint leads the abstract's conclusion, on the public ADaM package: its plan with
`primary: INVET` (end-of-induction response). Which group the conclusion names, and in which direction, is held
to R's logistic regression (tests/reference/r/public.R: glm odds ratios with Wald CIs) and the plan's better
direction, set both ways; the second comparator, whose CI includes 1, is said not to differ."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from public_packages import ROOT, public_variant, variant_ard
from test_abstract import abstract_for
from trialpress.pipeline import _load
from trialpress.plan import load_plan

R_INVET = json.loads((ROOT / "tests" / "reference" / "expected" / "public.json").read_text(encoding="utf-8"))[
    "response"]["INVET"]
R_OR = R_INVET["odds_ratio"]
LABEL = "end-of-induction response by investigator (CR/PR)"


def _abstract(tmp_path: Path, better: str) -> str:
    def primary(plan: dict) -> None:
        plan["primary"] = "INVET"
        next(b for b in plan["binary"] if b["id"] == "INVET")["better"] = better

    lplan = load_plan(public_variant(tmp_path, primary))
    abstract, _ = abstract_for(lplan.plan, _load(lplan))
    return re.sub(r"\\(.)", r"\1", re.sub(r"`<[^`]*>`\{=html\}", "", abstract))


def _conclusion(tmp_path: Path, better: str) -> str:
    return _abstract(tmp_path, better).split("**Conclusion**", 1)[1].strip()


@pytest.mark.parametrize("better", ["higher", "lower"])
def test_the_conclusion_follows_a_binary_primary(tmp_path: Path, better: str) -> None:
    drug_x, combination = R_OR["A: Drug X"], R_OR["C: Combination"]
    assert drug_x["lower"] > 1 and combination["lower"] < 1 < combination["upper"]   # what R finds
    conclusion = _conclusion(tmp_path, better)
    # the odds of response are higher with Drug X: favorable if a higher rate is better, unfavorable otherwise
    favored, other = ("A: Drug X", "B: Placebo") if better == "higher" else ("B: Placebo", "A: Drug X")
    assert conclusion.startswith(f"Outcomes were more favorable with {favored} than with {other}: a {better} rate of "
                                 f"{LABEL}."), conclusion
    assert (f"{LABEL[0].upper()}{LABEL[1:]} did not differ significantly between C: Combination and B: Placebo."
            in conclusion), conclusion
    assert "survival" not in conclusion   # not the first time-to-event endpoint's


def test_a_rate_that_does_not_differ_is_stated_comparator_first_as_its_odds_ratio(tmp_path: Path) -> None:
    """C: Combination's response rate is below placebo's (R: 81/132 vs 84/134, OR 0.95): the sentence gives the
    comparator's count first, as the odds ratio it carries is the comparator's vs the reference's."""
    arms = R_INVET["arms"]
    c, b = arms["C: Combination"], arms["B: Placebo"]
    assert c["prop"] < b["prop"]
    results = _abstract(tmp_path, "higher").split("**Results**", 1)[1].split("**Conclusion**", 1)[0]
    want = (f"Rates of {LABEL} did not differ significantly (n = {c['n']} [{round(100 * c['prop'])}%] with "
            f"C: Combination vs. n = {b['n']} [{round(100 * b['prop'])}%] with B: Placebo; odds ratio, "
            f"{R_OR['C: Combination']['or']:.2f};")
    assert want in results, results


def test_the_results_state_each_odds_ratio_with_the_comparator_first(tmp_path: Path) -> None:
    """The Results paragraph of the endpoint: 'n = 81 (61%) with C: Combination vs. n = 84 (63%) with B: Placebo;
    odds ratio, 0.95', each pair in its odds ratio's order (R's counts and OR)."""
    from test_abstract import ROOT as _root
    from trialpress.report.context import ContextBuilder
    from trialpress.report.document import Meta, build_context
    from trialpress.report.templating import render_template

    path = public_variant(tmp_path, lambda plan: None)
    lplan, ard = load_plan(path), variant_ard(path)
    ctx = build_context(lplan.plan, ContextBuilder(lplan.plan, ard),
                        Meta(version="t", cutoff="", report_date="2026-01-01", software={}, renderer={}), {})
    results = re.sub(r"\\(.)", r"\1", re.sub(r"`<[^`]*>`\{=html\}", "",
                                               render_template(_root / "templates" / "article", "results_text.qmd.j2", ctx)))
    arms = R_INVET["arms"]
    for arm in ("A: Drug X", "C: Combination"):
        mine, b = arms[arm], arms["B: Placebo"]
        want = (f"n = {mine['n']} ({round(100 * mine['prop'])}%) with {arm} vs. n = {b['n']} "
                f"({round(100 * b['prop'])}%) with B: Placebo; odds ratio, {R_OR[arm]['or']:.2f} (")
        assert want in results, (want, results)

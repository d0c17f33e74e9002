"""A real public ADaM package trialpress was not written against (data/random-cdisc-data, README there),
used as a new user would: `trialpress init`, the CHECK lines set (analysis/random-cdisc-data.yml), then
every number compared with R on the same rows (tests/reference/r/public.R → expected/public.json).

Count checks use plain pandas written here, separately from the engine."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyreadstat
import pytest

from trialpress.pipeline import _load
from trialpress.plan import load_plan
from trialpress.quality.gate import run_gate
from trialpress.results import keys
from trialpress.results.collect import analyse
from trialpress.scaffold import init

from public_packages import close, lines_init_wrote_but_the_plan_lacks, study_fixtures

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "analysis" / "random-cdisc-data.yml"
DATA = ROOT / "data" / "random-cdisc-data"
R = json.loads((ROOT / "tests" / "reference" / "expected" / "public.json").read_text())
ARMS = ("A: Drug X", "B: Placebo", "C: Combination")
COMPARATORS = ("A: Drug X", "C: Combination")


loaded, ard = study_fixtures(PLAN)


def test_committed_plan_is_init_with_check_lines_set(tmp_path: Path) -> None:
    assert load_plan(init(DATA, tmp_path / "plan.yml")).data_folder == DATA.resolve()   # relative to where written
    assert lines_init_wrote_but_the_plan_lacks(DATA, PLAN, tmp_path) == []


def test_init_plan_renders_through_the_gate_with_no_errors(loaded) -> None:
    lplan, data = loaded
    report = run_gate(lplan.plan, data, parallel=False)
    assert report.errors == [], [(r.id, r.examples[:2]) for r in report.errors]


def test_init_reads_the_data_coding(tmp_path: Path) -> None:
    plan = load_plan(init(DATA, tmp_path / "p.yml")).plan
    assert plan.groups.variable == "TRT01P" and plan.group_variable("SAF") == "TRT01A"
    assert plan.groups.reference == "B: Placebo"
    assert [e.paramcd for e in plan.time_to_event] == ["OS", "PFS", "EFS", "CRSD"]   # TNE is a COUNT
    crsd = plan.time_to_event[-1]
    assert crsd.subset is not None and crsd.subset.responders == "BESRSPI" and not crsd.in_abstract
    assert all(e.unit == "days" for e in plan.time_to_event)
    assert plan.safety is not None and plan.safety.variables.related_values is None   # AEREL is Y/N


@pytest.mark.parametrize("ep", ["OS", "PFS", "EFS"])
def test_kaplan_meier_equals_r(loaded, ard, ep: str) -> None:
    plan = loaded[0].plan
    for arm in ARMS:
        ref = R["tte"][ep]["arms"][arm]
        assert ard[keys.km(ep, "n", arm)].value == ref["n"]
        assert ard[keys.km(ep, "events", arm)].value == ref["events"]
        for stat in ("median", "q25", "q75"):
            r = ard[keys.km(ep, stat, arm)]
            for ours, theirs in zip((r.value, r.lower, r.upper), ref[stat]):
                assert close(ours, theirs), (ep, arm, stat, ours, theirs)
        landmarks = {float(t) for t in next(e for e in plan.time_to_event if e.id == ep).landmarks}
        assert landmarks <= {float(t) for t in ref["rates"]}, (ep, "a plan landmark R was not asked for")
        for t, rate in ref["rates"].items():
            key = keys.km(ep, "rate", arm, at=float(t))
            # R is asked at 90, 180 and 365 days for every endpoint; the ARD has exactly the plan's landmarks
            assert (key in ard) == (float(t) in landmarks), (ep, arm, t)
            if key not in ard:
                continue
            r = ard[key]
            if rate["n_risk"] == 0 and rate["surv"] > 0:
                # past the last follow-up: R (extend = TRUE) carries the estimate forward; the ARD has no rate
                assert math.isnan(r.value) and math.isnan(r.lower) and r.note == "no subjects followed this long", \
                    (ep, arm, t, r)
                continue
            assert close(r.value, rate["surv"]) and close(r.lower, rate["lower"]) and close(r.upper, rate["upper"])
            assert ard[keys.km(ep, "at_risk", arm, at=float(t))].value == rate["n_risk"]
        fu = ard[keys.followup(ep, arm)]
        assert [close(a, b) for a, b in zip((fu.value, fu.lower, fu.upper), ref["followup_reverse_km"])] == [True] * 3


@pytest.mark.parametrize("ep", ["OS", "PFS", "EFS", "CRSD"])
def test_cox_three_arm_model_equals_r(ard, ep: str) -> None:
    """One model with both arm indicators; its n is every subject in the model (not a pair's)."""
    ref = R["tte"][ep]["cox3"]
    for arm in COMPARATORS:
        hr, p = ard[keys.model(ep, "cox", "hr", arm)], ard[keys.model(ep, "cox", "p", arm)]
        assert close(hr.value, ref[arm]["hr"]) and close(hr.lower, ref[arm]["lower"]) and close(hr.upper, ref[arm]["upper"])
        assert close(p.value, ref[arm]["p"], 1e-5)
        assert hr.n == ref["n"] and hr.reference == "B: Placebo"
    assert ard[keys.model(ep, "cox", "events")].value == ref["events"]


@pytest.mark.parametrize("ep", ["OS", "PFS"])
def test_stratified_cox_and_logrank_equal_r(ard, ep: str) -> None:
    for arm in COMPARATORS:
        hr = ard[keys.model(ep, "cox_strat", "hr", arm)]
        assert close(hr.value, R["tte"][ep]["cox3_strat"][arm]["hr"])
        lr = R["tte"][ep]["logrank_strat"]["pairwise"][arm]
        assert close(ard[keys.test(ep, "logrank_strat", "chisq", arm)].value, lr["chisq"], 1e-5)


@pytest.mark.parametrize("ep", ["OS", "PFS", "EFS", "CRSD"])
def test_logrank_chisq_df_and_p_equal_r(ard, ep: str) -> None:
    ref = R["tte"][ep]["logrank"]
    for arm in COMPARATORS:
        chisq = ard[keys.test(ep, "logrank", "chisq", arm)].value
        assert close(chisq, ref["pairwise"][arm]["chisq"], 1e-5) or abs(chisq - ref["pairwise"][arm]["chisq"]) < 1e-9
        assert ard[keys.test(ep, "logrank", "df", arm)].value == ref["pairwise"][arm]["df"] == 1
        assert close(ard[keys.test(ep, "logrank", "p", arm)].value, ref["pairwise"][arm]["p"], 1e-5)
    overall = ref["overall"]
    assert close(ard[keys.test(ep, "logrank", "chisq")].value, overall["chisq"], 1e-6)
    assert ard[keys.test(ep, "logrank", "df")].value == overall["df"] == 2
    assert close(ard[keys.test(ep, "logrank", "p")].value, overall["p"], 1e-6)


def test_duration_of_response_is_analysed_among_responders(ard) -> None:
    ref = R["tte"]["CRSD"]
    for arm in ARMS:
        assert ard[keys.km("CRSD", "n", arm)].value == ref["analysed_n"][arm]
        assert ard[keys.analysis_set("CRSD", "n", arm)].value == ref["analysed_n"][arm]
        r = ard[keys.km("CRSD", "median", arm)]
        assert close(r.value, ref["arms"][arm]["median"][0])
    assert ard[keys.analysis_set("CRSD", "excluded")].value == 400 - sum(ref["analysed_n"].values())
    assert "responders" in ard[keys.analysis_set("CRSD", "label")].text


@pytest.mark.parametrize("ep", ["BESRSPI", "INVET"])
def test_response_rates_and_odds_ratios_equal_r(ard, ep: str) -> None:
    ref = R["response"][ep]
    for arm in ARMS:
        a = ref["arms"][arm]
        assert ard[keys.rate(ep, "n", arm)].value == a["n"] and ard[keys.rate(ep, "n", arm)].n == a["N"]
        p = ard[keys.rate(ep, "proportion", arm)]
        assert close(p.value, a["prop"]) and close(p.lower, a["lower"]) and close(p.upper, a["upper"])
    for arm in COMPARATORS:
        o = ard[keys.model(ep, "logistic", "or", arm)]
        assert close(o.value, ref["odds_ratio"][arm]["or"], 1e-5)
        assert close(o.lower, ref["odds_ratio"][arm]["lower"], 1e-5)
        assert close(o.upper, ref["odds_ratio"][arm]["upper"], 1e-5)
        assert close(ard[keys.model(ep, "logistic", "p", arm)].value, ref["odds_ratio"][arm]["p"], 1e-4)
        d = ard[keys.difference(ep, arm)]
        assert close(d.value, ref["diff"][arm]["diff"]) and close(d.lower, ref["diff"][arm]["lower"], 1e-5)
        assert close(d.upper, ref["diff"][arm]["upper"], 1e-5)


OVERVIEW = {"any": "any", "serious": "serious", "related": "related", "severe": "grade3plus", "fatal": "fatal",
            "discontinued": "discontinued", "serious_related": "serious_related"}


def test_teae_overview_equals_r_with_no_false_zero(ard) -> None:
    ref = R["ae"]["overview"]
    for ours, theirs in OVERVIEW.items():
        assert ard[keys.safety("overview", "collected", term=ours)].text == "yes"
        for arm in ARMS:
            assert ard[keys.safety("overview", "n", arm, term=ours)].value == ref[theirs][arm], (ours, arm)
        assert ard[keys.safety("overview", "n", term=ours)].value == ref[theirs]["Total"]
        assert ref[theirs]["Total"] > 0


def test_teae_soc_and_pt_counts_equal_r(ard) -> None:
    for soc, pts in R["ae"]["soc_pt"].items():
        for pt, by_arm in pts.items():
            for arm in ARMS:
                assert ard[keys.safety("pt_any", "n", arm, term=pt, parent=soc)].value == by_arm[arm]
    for soc, by_arm in R["ae"]["soc"].items():
        assert ard[keys.safety("soc_any", "n", term=soc)].value == by_arm["Total"]


def test_counts_by_plain_pandas(ard) -> None:
    """Population sizes and a TEAE count by plain pandas on the XPT files (not the engine's loader)."""
    adsl, _ = pyreadstat.read_xport(str(DATA / "adsl.xpt"))
    adae, _ = pyreadstat.read_xport(str(DATA / "adae.xpt"))
    itt = adsl[adsl["ITTFL"] == "Y"]
    saf = adsl[adsl["SAFFL"] == "Y"]
    for arm in ARMS:
        assert ard[keys.population("ITT", arm)].value == (itt["TRT01P"] == arm).sum()
        assert ard[keys.population("SAF", arm)].value == (saf["TRT01A"] == arm).sum()
        te = adae[(adae["TRTEMFL"] == "Y") & adae["USUBJID"].isin(saf.loc[saf["TRT01A"] == arm, "USUBJID"])]
        serious = te.loc[te["AESER"] == "Y", "USUBJID"].nunique()
        assert ard[keys.safety("overview", "n", arm, term="serious")].value == serious


def test_wording_follows_decisions_and_says_nothing_comparative_without_medians(ard) -> None:
    """OS medians are not reached with placebo: the ARD's 'longer' decision is empty, so no sentence may call
    either median longer; HR decisions follow the CI."""
    assert ard[keys.decision("OS", "longer", "A: Drug X", on="km")].text == ""
    sig = ard[keys.decision("OS", "significant", "A: Drug X", on="cox")]
    assert sig.value == 0.0 and "CI" in sig.note


def test_conclusion_states_comparisons_without_a_difference_once(loaded, ard) -> None:
    """Both comparators vs placebo on the lead endpoint (OS) are not significant by the ARD's decisions: the
    abstract's conclusion says so in one sentence naming the reference once, and claims no advantage."""
    from test_abstract import _plain, abstract_for

    lplan, data = loaded
    for c in COMPARATORS:
        assert ard[keys.decision("OS", "significant", c, on="cox")].value == 0.0
    text, _ = abstract_for(lplan.plan, data)
    conclusion = _plain(text.split("**Conclusion**", 1)[1]).strip()
    assert conclusion == ("Overall survival did not differ significantly between B: Placebo and either "
                          "A: Drug X or C: Combination.")


def test_duration_of_response_is_drawn_as_remaining_in_response(loaded, ard, tmp_path: Path) -> None:
    """The y axis of a KM figure is what the curve estimates: for a duration of response, the share still in
    response (init writes the plan's `y_label`), not '<label> (%)'; the other endpoints keep their label."""
    from trialpress.report import figure_specs
    from trialpress.report.context import ContextBuilder

    _, jobs = figure_specs.plan_figures(loaded[0].plan, ContextBuilder(loaded[0].plan, ard), tmp_path / "figures")
    drawn = {job.stem.name: job.spec[0].ylabel for job in jobs if isinstance(job.spec, tuple)}   # KM panels
    assert drawn["km-crsd"] == "Remaining in response (%)"
    assert drawn["km-os"] == "Overall survival (%)"
    written = load_plan(init(DATA, tmp_path / "p.yml")).plan
    assert [e.y_label for e in written.time_to_event] == [None, None, None, "Remaining in response (%)"]


def test_each_binary_endpoint_is_one_results_paragraph_over_all_comparators(loaded, ard) -> None:
    """Three arms: one paragraph per endpoint, its heading once, each comparator's counts and odds ratio in it
    (counts checked against plain pandas above; here the text's shape)."""
    import re

    from trialpress.report.context import ContextBuilder
    from trialpress.report.document import Meta, build_context
    from trialpress.report.templating import render_template

    plan = loaded[0].plan
    meta = Meta(version="t", cutoff="", report_date="2026-01-01", software={}, renderer={})
    text = render_template(ROOT / "templates" / "article", "results.qmd.j2",
                           build_context(plan, ContextBuilder(plan, ard), meta, {}))
    for b in plan.binary:
        heading = f"**{b.label}** ("
        paragraphs = [p for p in text.split("\n\n") if re.sub(r"\\(.)", r"\1", p).startswith(heading)]
        assert len(paragraphs) == 1, (b.id, len(paragraphs))
        assert paragraphs[0].count("odds ratio, ") == len(plan.comparators), b.id


def _uncommented(text: str, paramcd: str, settings: dict[str, str]) -> str:
    """init's plan with its proposed `continuous:` entry for `paramcd` and its `labs:` / `vitals:` lines
    uncommented as a user would (the leading '# ' removed), `settings` replacing the placeholder lines."""
    lines = text.splitlines()
    head = lines.index(next(ln for ln in lines if ln.startswith("# continuous:")))
    end = next(i for i in range(head, len(lines)) if not lines[i].startswith("#"))
    entries: list[list[str]] = []
    for line in lines[head + 1:end]:
        if line.startswith("#   - id:"):
            entries.append([])
        if entries and not line.startswith("#   #"):
            entries[-1].append(line[2:])
    chosen = next(e for e in entries if f'  paramcd: "{paramcd}"' in "\n".join(e))
    block = ["continuous:"] + [f"    {k}: {settings[k]}" if (k := ln.strip().split(":", 1)[0]) in settings else ln
                               for ln in chosen]
    rest = [ln.replace("  # labs: {", "  labs: {").replace("  # vitals: {", "  vitals: {") for ln in lines[end:]]
    return "\n".join(lines[:head] + block + rest) + "\n"


def test_init_proposes_the_continuous_endpoint_and_measurement_tables_the_committed_plan_has(ard, tmp_path: Path) \
        -> None:
    """The package's BDS data (ADQS, ADLB, ADVS) come out of init as commented proposals resolved against the
    data. Uncommented, with the two choices the data cannot make set as the committed plan sets them (the better
    direction, the stratification factor), they give every row of the committed plan's MMRM, by-visit
    summaries, and laboratory and vital-sign tables, equal."""
    text = init(DATA, tmp_path / "init.yml").read_text()
    assert "better: SET-higher-or-lower" in text          # the direction is never guessed
    plan_text = _uncommented(text, "FKSIALL", {"better": "higher", "factors": "[STRATA1]"})
    assert "\ncontinuous:\n  - id: FKSIALL\n" in plan_text and "\n  labs: {dataset: ADLB" in plan_text
    path = tmp_path / "uncommented.yml"
    path.write_text(plan_text)
    lplan = load_plan(path)
    ours = analyse(lplan.plan, _load(lplan)).ard
    fields = ("population", "group", "reference", "subgroup", "subgroup_level", "parameter", "parent", "term",
              "timepoint", "statistic")
    measured = {"cont_desc", "mmrm", "analysis_set", "vs_visit", "lab_visit", "lab_grade_shift", "vs_shift",
                "lab_shift", "lab_grade34"}

    def rows(a):  # type: ignore[no-untyped-def]
        return {(r.analysis, *(getattr(r, f) for f in fields)): (r.value, r.lower, r.upper, r.text, r.n)
                for r in a if r.analysis in measured}   # the endpoint's id is the user's (FKSI, FKSIALL)

    mine, committed = rows(ours), rows(ard)
    assert len(committed) > 3000 and set(mine) == set(committed)
    same = [k for k in committed if all(x == y or (x != x and y != y) for x, y in zip(mine[k], committed[k]))]
    assert len(same) == len(committed)


def test_a_higher_rate_names_the_group_it_is_higher_than(loaded) -> None:
    """With two comparators "patients who received A had higher rates of X (75% vs. 63%)" would not say 63% of
    whom: each count pair names the group compared with. Counts by plain pandas."""
    import re

    from test_abstract import abstract_for

    lplan, data = loaded
    text, _ = abstract_for(lplan.plan, data)
    plain = re.sub(r"`<[^`]*>`\{=html\}", "", text).replace("\\", "")
    adrs, _ = pyreadstat.read_xport(str(DATA / "adrs.xpt"))
    adsl, _ = pyreadstat.read_xport(str(DATA / "adsl.xpt"))
    itt = adsl[adsl["ITTFL"] == "Y"]
    invet = adrs[(adrs["PARAMCD"] == "INVET") & adrs["AVALC"].isin(["CR", "PR"]) & adrs["USUBJID"].isin(itt["USUBJID"])]
    arm = itt.set_index("USUBJID")["ARM"]
    n = {g: int((arm.reindex(invet["USUBJID"]) == g).sum()) for g in ARMS}
    assert n == {"A: Drug X": 100, "B: Placebo": 84, "C: Combination": 81}
    assert (f"Patients who received A: Drug X had higher rates of end-of-induction response by investigator (CR/PR) "
            f"(n = {n['A: Drug X']} [75%] vs. n = {n['B: Placebo']} [63%] with B: Placebo; odds ratio") in plain

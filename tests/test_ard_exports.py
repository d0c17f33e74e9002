"""The ARD for other tools: the long layout of the pharmaverse `cards` package (ard-cards.csv / .json) and
a CDISC ARS v1.0 reporting event (ars.json).

- every number the flagship abstract links is found in the cards rows of its ARD row (read back with plain
  `csv`), and the report's text reads the same when the number is formatted with its `fmt_fn`;
- R's `read.csv` reads the file, and a TEAE overview table that R computes from it matches the ARD;
- ars.json validates against the ARS JSON schema. It has every ARD analysis, its results hold the ARD's
  values, and its ids refer to things it defines;
- both files have deterministic bytes, and hostile text is neutralised for spreadsheets.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from trialpress.pipeline import _load, render
from trialpress.plan import Plan, load_plan
from trialpress.report import formatting as fmt
from trialpress.results import ars, cards
from trialpress.results.ard import ARD, FORMULA_TRIGGERS
from trialpress.results.collect import analyse
from trialpress.results.schema import ANALYSES

ROOT = Path(__file__).resolve().parents[1]
PLANS = ["blinatumomab-salvage", "velotrepin-copd", "random-cdisc-data", "cdiscpilot01"]
SCHEMA = ROOT / "tests" / "reference" / "ars" / "ars_ldm.schema.json"
LINK = re.compile(r'`<a class="ard" href="#ard-([^"]+)">`\{=html\}(.*?)`</a>`\{=html\}')


@pytest.fixture(scope="module")
def studies() -> dict[str, tuple[Plan, ARD]]:
    out = {}
    for name in PLANS:
        lp = load_plan(ROOT / "analysis" / f"{name}.yml")
        out[name] = (lp.plan, analyse(lp.plan, _load(lp)).ard)
    return out


@pytest.fixture(scope="module")
def flagship_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The flagship report, rendered once (HTML only): its folder holds report.qmd and ard.json."""
    root = tmp_path_factory.mktemp("report")
    return render(ROOT / "analysis" / "blinatumomab-salvage.yml", report_root=root, formats=["html"],
                  report_date="2026-01-01").folder


def read_cards(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _number(x: float) -> str:
    return f"{x:.12g}"


def _decimals(fmt_fn: str) -> tuple[float, int]:
    """(scale, decimals) of a cards fmt_fn alias: an integer, or 'xx.x' / 'xx.x%'."""
    if fmt_fn.isdigit():
        return 1.0, int(fmt_fn)
    body = fmt_fn.rstrip("%")
    return (100.0 if fmt_fn.endswith("%") else 1.0), (len(body.split(".")[1]) if "." in body else 0)


# ------------------------------------------------------------------------------------------ cards
def test_abstract_numbers_are_in_the_cards_csv(flagship_render: Path, tmp_path: Path) -> None:
    qmd = (flagship_render / "report.qmd").read_text(encoding="utf-8")
    abstract = qmd.split("## Abstract", 1)[1].split("\n## ", 1)[0]
    links = LINK.findall(abstract)
    assert len(links) >= 20, "the abstract should link its numbers to ARD rows"
    ard = ARD.from_json(flagship_render / "ard.json")
    by_id: dict[str, list[dict[str, str]]] = {}
    for c in read_cards(flagship_render / "ard-cards.csv"):     # as the render wrote it
        by_id.setdefault(c["ard_id"], []).append(c)

    for ard_id, text in links:
        r = ard[ard_id]
        rows = by_id.get(ard_id)
        assert rows, f"no cards rows for {ard_id}"
        stats = {c["stat"] for c in rows}
        for part in ("value", "lower", "upper"):
            x = getattr(r, part)
            if not math.isnan(x):
                assert _number(x) in stats, f"{ard_id}: {part} {x} not in its cards rows {sorted(stats)}"
        if r.text:
            assert r.text in stats
        # the report's text is the number formatted with the row's fmt_fn (its decimals, or a percentage)
        shown = text.replace("\\", "")
        if "<" in shown or ">" in shown:
            continue
        candidates = set()
        for c in rows:
            if c["stat"] and c["fmt_fn"]:
                scale, d = _decimals(c["fmt_fn"])
                candidates.add(fmt.fixed(abs(float(c["stat"])) * scale, d))
        for token in re.findall(r"\d*\.?\d+", shown):
            assert token in candidates or "0" + token in candidates, (ard_id, shown, sorted(candidates))


def test_cards_layout_and_unique_keys(studies: dict[str, tuple[Plan, ARD]], tmp_path: Path) -> None:
    for name, (plan, ard) in studies.items():
        path = tmp_path / f"{name}.csv"
        cards.write_cards_csv(ard, plan, path)
        with path.open(encoding="utf-8", newline="") as f:
            header = next(csv.reader(f))
        assert header[:15] == ["group1", "group1_level", "group2", "group2_level", "group3", "group3_level",
                               "variable", "variable_level", "context", "stat_name", "stat_label", "stat", "fmt_fn",
                               "warning", "error"]
        rows = read_cards(path)
        keys = Counter(tuple(c[k] for k in cards.KEY_COLUMNS) for c in rows)
        assert not [k for k, v in keys.items() if v > 1], f"{name}: cards keys repeat"
        assert {c["ard_id"] for c in rows} == {r.id for r in ard}, f"{name}: an ARD row has no cards row"
        by_id: dict[str, list[dict[str, str]]] = {}
        for c in rows:
            by_id.setdefault(c["ard_id"], []).append(c)
            assert c["fmt_fn"] == "" or re.fullmatch(r"\d|xx(\.x+)?%", c["fmt_fn"]), c
            if c["error"]:
                assert c["stat"] == "", c
        for r in ard:
            gvar = plan.group_variable(r.population) if r.population else plan.groups.variable
            for c in by_id[r.id]:
                if r.group and r.analysis != "population":   # (a population count has the group as variable)
                    assert (c["group1"], c["group1_level"]) == (gvar, r.group), c
                if r.subgroup_level:
                    assert (c["group2"], c["group2_level"]) == (r.subgroup, r.subgroup_level), c
                # every key part of the ARD row has a place among the groups and the variable
                cells = {c[k] for k in ("group1_level", "group2_level", "group3_level", "variable", "variable_level")}
                terms = r.term.partition("=")[::2] if r.analysis.endswith("_term") else (r.term,)
                if r.analysis.endswith("_visit"):   # the value at a visit, or its change: AVAL or CHG
                    assert (c["variable"] == "AVAL") == (r.term == "value"), c
                    terms = ()
                if r.analysis == "population":      # its term is the population, in the population column
                    terms = ()
                assert all(x in cells for x in (r.parent, r.timepoint, *terms) if x), (c, r)
            # a not-estimable number carries the ARD note as its error
            if math.isnan(r.value) and r.note and r.analysis != "decision" and not r.text:
                assert any(c["error"] == r.note for c in by_id[r.id]), r.id


def test_cards_json_matches_csv(studies: dict[str, tuple[Plan, ARD]], tmp_path: Path) -> None:
    plan, ard = studies["velotrepin-copd"]
    cards.write_cards_csv(ard, plan, tmp_path / "c.csv")
    cards.write_cards_json(ard, plan, tmp_path / "c.json")
    from_csv = read_cards(tmp_path / "c.csv")
    from_json = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    assert len(from_csv) == len(from_json)
    for a, b in zip(from_csv, from_json):
        assert a["ard_id"] == b["ard_id"] and a["stat_name"] == b["stat_name"]
        if isinstance(b["stat"], float | int) and not isinstance(b["stat"], bool):
            assert float(a["stat"]) == b["stat"]
        else:
            assert a["stat"] == (b["stat"] or "")


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not installed")
def test_r_reads_cards_csv_and_rebuilds_the_teae_overview(studies: dict[str, tuple[Plan, ARD]],
                                                          tmp_path: Path) -> None:
    plan, ard = studies["blinatumomab-salvage"]
    path = tmp_path / "ard-cards.csv"
    cards.write_cards_csv(ard, plan, path)
    script = tmp_path / "overview.R"
    script.write_text("""
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], colClasses = "character", na.strings = "", encoding = "UTF-8")
x <- d[d$ard_analysis == "overview" & !is.na(d$group1_level), ]
n <- x[x$stat_name == "n", c("ard_id", "variable", "group1_level", "stat")]
N <- x[x$stat_name == "N", c("ard_id", "stat")]
m <- merge(n, N, by = "ard_id", suffixes = c("_n", "_N"))
m$n <- as.numeric(m$stat_n)
m$pct <- 100 * m$n / as.numeric(m$stat_N)
counts <- xtabs(n ~ variable + group1_level, data = m)          # category x arm
pct <- xtabs(pct ~ variable + group1_level, data = m)
out <- as.data.frame(counts, responseName = "n")
out$pct <- as.data.frame(pct, responseName = "pct")$pct
write.csv(out, args[2], row.names = FALSE)
cat(nrow(d))
""", encoding="utf-8")
    result = subprocess.run(["Rscript", str(script), str(path), str(tmp_path / "out.csv")], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip().splitlines()[-1]) == len(read_cards(path)), "R read another number of rows"
    table = read_cards(tmp_path / "out.csv")
    expected = {(r.term, r.group): r for r in ard.select(analysis="overview", statistic="n") if r.group}
    assert len(table) == len(expected) > 0
    for t in table:
        r = expected[(t["variable"], t["group1_level"])]
        assert float(t["n"]) == r.value
        assert float(t["pct"]) == pytest.approx(100 * r.value / r.n, rel=1e-9)


def test_hostile_text_is_neutralised(studies: dict[str, tuple[Plan, ARD]], tmp_path: Path) -> None:
    plan, ard = studies["blinatumomab-salvage"]
    hostile_plan = plan.model_copy(update={"groups": plan.groups.model_copy(update={"variable": "-2+3"})})
    rows = []
    for r in ard:
        rows.append(dataclasses.replace(r, group="=HYPERLINK(\"http://x\",\"y\")" if r.group else "",
                                        term="line one\nline two" if r.term else "",
                                        note="@SUM(1)" if r.note else "", parameter="\tTAB" if r.parameter else ""))
    hostile = ARD(tuple(rows))
    path = tmp_path / "hostile.csv"
    cards.write_cards_csv(hostile, hostile_plan, path)
    records = read_cards(path)
    assert len(records) == len(cards.cards_rows(hostile, hostile_plan)), "a newline split a record"
    seen = Counter()
    for c in records:
        for column, cell in c.items():
            if column == "stat" and re.fullmatch(r"-?[\d.]+(e[-+]\d+)?", cell):
                continue      # a negative number is a number
            assert not cell.startswith(FORMULA_TRIGGERS), f"{column}: {cell!r} reaches a spreadsheet as a formula"
            if cell.startswith("'"):
                seen[column] += 1
        if c["group1_level"]:
            assert c["group1_level"] == "'=HYPERLINK(\"http://x\",\"y\")" and c["group1"] == "'-2+3"
    assert seen["group1_level"] and seen["group1"] and seen["warning"] + seen["error"]
    assert any(c["variable"] == "line one\nline two" or c["variable_level"] == "line one\nline two" for c in records)
    if shutil.which("Rscript"):
        count = "d <- read.csv(commandArgs(TRUE)[1], colClasses = 'character', na.strings = ''); cat(nrow(d))"
        out = subprocess.run(["Rscript", "-e", count, str(path)], capture_output=True, text=True, timeout=120,
                             check=False)
        assert out.returncode == 0 and int(out.stdout.strip()) == len(records), out.stderr


# ------------------------------------------------------------------------------------------ ARS
def _validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _conditions(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        if "comparator" in node and "value" in node:
            found.append(node)
        for v in node.values():
            found += _conditions(v)
    elif isinstance(node, list):
        for v in node:
            found += _conditions(v)
    return found


def test_the_rendered_version_folder_has_a_valid_ars_event(flagship_render: Path) -> None:
    event = json.loads((flagship_render / "ars.json").read_text(encoding="utf-8"))
    assert not list(_validator().iter_errors(event))
    assert flagship_render.name in event["id"]
    refs = json.dumps(event["referenceDocuments"])
    for name in ("ard.json", "ard-cards.csv"):
        assert name in refs and (flagship_render / name).is_file()


@pytest.mark.parametrize("name", PLANS)
def test_ars_validates_and_refers_to_what_it_defines(studies: dict[str, tuple[Plan, ARD]], name: str) -> None:
    plan, ard = studies[name]
    event = ars.reporting_event(ard, plan, version_id="0123abcd")
    validator = _validator()
    errors = sorted(validator.iter_errors(event), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    broken = json.loads(json.dumps(event))      # the schema does reject what is wrong
    del broken["analyses"][0]["methodId"]
    broken["analyses"][-1]["results"][0]["rawValue"] = 1.5
    broken["analysisSets"][0]["level"] = "one"
    assert len(list(validator.iter_errors(broken))) == 3

    # the model's rules that the JSON schema leaves out
    for cond in _conditions(event):
        if cond["comparator"] in {"EQ", "NE", "LT", "LE", "GT", "GE"}:
            assert len(cond["value"]) == 1, cond
        if cond["comparator"] in {"IN", "NOTIN"}:
            assert len(cond["value"]) >= 2, cond
    for subset in event["dataSubsets"]:
        if "compoundExpression" in subset:
            assert len(subset["compoundExpression"]["whereClauses"]) >= 2

    sets = {s["id"] for s in event["analysisSets"]}
    subsets = {s["id"] for s in event["dataSubsets"]}
    methods = {m["id"]: {o["id"] for o in m["operations"]} for m in event["methods"]}
    groupings = {g["id"]: {x["id"] for x in g.get("groups", [])}
                 for g in event["analysisGroupings"] + event["dataGroupings"]}
    analyses = {a["id"] for a in event["analyses"]}
    assert len(analyses) == len(event["analyses"])
    for a in event["analyses"]:
        assert "analysisSetId" not in a or a["analysisSetId"] in sets
        assert "dataSubsetId" not in a or a["dataSubsetId"] in subsets
        ops = methods[a["methodId"]]
        order = [g["groupingId"] for g in a.get("orderedGroupings", [])]
        ordered = set(order)
        assert ordered <= set(groupings) and len(order) == len(ordered)
        for res in a["results"]:
            assert res["operationId"] in ops
            positions = [order.index(g["groupingId"]) for g in res.get("resultGroups", [])]
            assert positions == sorted(set(positions)), "result groups out of the analysis' grouping order"
            for g in res.get("resultGroups", []):
                assert g["groupingId"] in ordered
                assert ("groupId" in g) != ("groupValue" in g)
                if "groupId" in g:
                    assert g["groupId"] in groupings[g["groupingId"]]

    def listed(items: list[dict[str, Any]]) -> set[str]:
        out = set()
        for item in items:
            out |= {item["analysisId"]} if "analysisId" in item else set()
            out |= listed(item.get("sublist", {}).get("listItems", []))
        return out
    assert listed(event["mainListOfContents"]["contentsList"]["listItems"]) == analyses


def _decoded(event: dict[str, Any]) -> dict[tuple[str, str, str, tuple[str, ...]], dict[str, Any]]:
    """Every result as (analysis id, statistic, part, group values) → result, read as a consumer would: the
    operation's name says the statistic and the part, a groupId says its value by its condition. The result
    groups come in the order of the analysis' groupings: group, subgroup, parent, term, time point."""
    op_names = {o["id"]: o["name"] for m in event["methods"] for o in m["operations"]}
    group_value = {x["id"]: x["condition"]["value"][0] for g in event["analysisGroupings"] for x in g.get("groups", [])}
    out = {}
    for a in event["analyses"]:
        for res in a["results"]:
            stat, _, part = op_names[res["operationId"]].partition(".")
            values = tuple(group_value[g["groupId"]] if "groupId" in g else g["groupValue"]
                           for g in res.get("resultGroups", []))
            key = (a["id"], stat, part or "value", values)
            assert key not in out, f"two results for {key}"
            out[key] = res
    return out


def test_ars_has_every_analysis_and_the_ard_values(studies: dict[str, tuple[Plan, ARD]]) -> None:
    for name, (plan, ard) in studies.items():
        event = ars.reporting_event(ard, plan, version_id="v1")
        by_id = {a["id"]: a for a in event["analyses"]}
        assert {ars.analysis_id(r) for r in ard} == set(by_id), f"{name}: analyses missing or not from the ARD"
        for r in ard:
            a = by_id[ars.analysis_id(r)]
            assert a["methodId"] == ars.method_id(r.analysis)
            assert (a.get("analysisSetId") == f"AS_{r.population}") if r.population else "analysisSetId" not in a
        results = _decoded(event)
        expected = 0
        for r in ard:
            values = tuple(v for v in (r.group, r.subgroup_level, r.parent,
                                       r.term if r.analysis != "population" else "", r.timepoint) if v)
            aid = ars.analysis_id(r)
            text = r.statistic in ANALYSES[r.analysis].text_statistics
            for part in ("value", "lower", "upper", "n"):
                x = getattr(r, part)
                res = results.get((aid, r.statistic, part, values))
                if part == "value":
                    assert res is not None, (name, r.id)
                    if text:
                        assert res["rawValue"] == r.text
                    elif math.isnan(x):
                        assert "rawValue" not in res and res["formattedValue"] == "NE"
                    else:
                        assert float(res["rawValue"]) == float(_number(x)), (r.id, res)
                    expected += 1
                elif math.isnan(x):
                    assert res is None, (r.id, part)
                else:
                    assert res is not None and float(res["rawValue"]) == float(_number(x)), (r.id, part)
                    expected += 1
        assert expected == len(results), f"{name}: results that no ARD number explains"


def test_ars_groupings_and_subsets_come_from_the_plan(studies: dict[str, tuple[Plan, ARD]]) -> None:
    plan, ard = studies["random-cdisc-data"]      # safety is grouped by TRT01A, efficacy by TRT01P
    event = ars.reporting_event(ard, plan, version_id="v1")
    groupings = {g["id"]: g for g in event["analysisGroupings"]}
    for var in ("TRT01P", "TRT01A"):
        g = groupings[f"AG_{var}"]
        assert g["groupingVariable"] == var and not g["dataDriven"]
        assert [x["condition"]["value"] for x in g["groups"]] == [[v] for v in plan.group_values]
    by_id = {a["id"]: a for a in event["analyses"]}
    safety = next(a for a in event["analyses"] if a["id"].startswith("AN_SAFETY_overview"))
    assert safety["orderedGroupings"][0]["groupingId"] == "AG_TRT01A" and safety["dataSubsetId"] == "DS_TEAE"
    subsets = {s["id"]: s for s in event["dataSubsets"]}
    assert subsets["DS_TEAE"]["condition"] == {"dataset": "ADAE", "variable": "TRTEMFL", "comparator": "EQ",
                                               "value": ["Y"]}
    ep = plan.time_to_event[0]
    km = by_id[f"AN_{ep.id}_km_{ep.population}"]
    assert subsets[km["dataSubsetId"]]["condition"]["value"] == [ep.paramcd]
    assert (km["dataset"], km["variable"]) == ("ADTTE", "AVAL")


# ------------------------------------------------------------------------------------------ bytes
def test_deterministic_bytes(studies: dict[str, tuple[Plan, ARD]], tmp_path: Path) -> None:
    plan, ard = studies["blinatumomab-salvage"]
    ard.to_json(tmp_path / "ard.json")
    reread = ARD.from_json(tmp_path / "ard.json")       # the ARD as the file holds it
    outputs = []
    for i, a in enumerate((ard, ard, reread)):
        cards.write_cards_csv(a, plan, tmp_path / f"c{i}.csv")
        cards.write_cards_json(a, plan, tmp_path / f"c{i}.json")
        ars.write_ars_json(a, plan, tmp_path / f"a{i}.json", version_id="v1")
        outputs.append(tuple((tmp_path / f"{p}{i}.{e}").read_bytes() for p, e in (("c", "csv"), ("c", "json"),
                                                                                   ("a", "json"))))
    assert outputs[0] == outputs[1] == outputs[2]
    csv_bytes = outputs[0][0]
    assert b"\r" not in csv_bytes and not csv_bytes.startswith(b"\xef\xbb\xbf")
    csv_bytes.decode("utf-8")
    assert next(csv.reader(io.StringIO(csv_bytes.decode("utf-8")))) == list(cards.COLUMNS)

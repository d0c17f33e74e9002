"""Issue 20.3, the writer's loop: reused analysis, gate and figures; byte-identical to a cold render.

* a template change re-renders only the document, and the version is byte for byte the one a cold render
  (no cache) of the same inputs writes;
* the cache keys are sound: every presentation key changed at once leaves the ARD and the gate's report
  byte-identical, and every key the figure key leaves out leaves the figures, their captions and numbering
  identical (if a later change makes the ARD or a figure show one of them, these tests fail and say which
  key set to shrink in `store/cache.py`);
* a damaged cache entry is a miss, never a wrong report.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from trialpress import pipeline
from trialpress.plan import Plan
from trialpress.store import cache as store_cache
from trialpress.store import codec
from trialpress.store.folders import MANIFEST

from conftest import ROOT

STUDY = "blinatumomab-salvage"
DATE = "2026-01-01"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_a_template_change_reuses_the_work_and_matches_a_cold_render(project_copy: Path, tmp_path: Path) -> None:
    plan = project_copy / "analysis" / f"{STUDY}.yml"
    t0 = time.perf_counter()
    first = pipeline.render(plan, report_date=DATE)
    cold_s = time.perf_counter() - t0
    methods = project_copy / "templates" / "article" / "methods.qmd.j2"
    methods.write_text(methods.read_text() + "\nThis sentence was added by the medical writer.\n")
    t0 = time.perf_counter()
    warm = pipeline.render(plan, report_date=DATE)
    warm_s = time.perf_counter() - t0
    assert warm.created and warm.version != first.version
    assert warm.reused == ("analysis", "figures")
    assert not {"load", "analyse", "figures", "check"} & set(warm.timings)       # only the document was made
    assert warm_s < cold_s
    assert "added by the medical writer" in (warm.folder / "report.qmd").read_text()

    cold = pipeline.render(plan, report_root=tmp_path / "cold", report_date=DATE, cache=False)
    assert cold.created and not cold.reused and cold.version == warm.version
    a, b = _files(warm.folder), _files(cold.folder)
    assert sorted(a) == sorted(b)
    for name in a:
        if name != MANIFEST:
            assert a[name] == b[name], name
    ma, mb = json.loads(a[MANIFEST]), json.loads(b[MANIFEST])
    assert {k: v for k, v in ma.items() if k != "provenance"} == {k: v for k, v in mb.items() if k != "provenance"}


# --- the keys --------------------------------------------------------------------------------------

def _perturb(value: Any, names: frozenset[str], inside: bool = False, path: tuple[str, ...] = (),
             ard_labels: bool = False) -> Any:
    """Every string (and flag) under a key in `names` changed (but not the labels the ARD carries, with
    `ard_labels`); everything else as it was."""
    if isinstance(value, dict):
        return {k: _perturb(v, names, inside or (k in names and not (ard_labels and k == "label"
                                                                     and store_cache.ard_label(path))),
                            (*path, k), ard_labels) for k, v in value.items()}
    if isinstance(value, list):
        return [_perturb(v, names, inside, path, ard_labels) for v in value]
    if inside and isinstance(value, str):
        return value + " (edited)"
    if inside and isinstance(value, bool):
        return not value
    return value


def _with(lplan: Any, dump: dict[str, Any]) -> Any:
    return lplan.model_copy(update={"plan": Plan.model_validate(dump)})


@pytest.fixture(scope="module")
def flagship() -> tuple[Any, Any]:
    from trialpress.plan import load_plan

    lplan = load_plan(ROOT / "analysis" / f"{STUDY}.yml")
    return lplan, pipeline._load(lplan)


def _presentation_changed(lplan: Any) -> Any:
    dump = lplan.plan.model_dump(mode="json")
    edited = _perturb(dump, store_cache.PRESENTATION, ard_labels=True)
    edited["labels"] = {k: f"{v} (edited)" for k, v in dump.get("labels", {}).items()}
    edited["report"] = {**dump["report"], "formats": ["html"]}
    assert edited != dump
    return _with(lplan, edited)


@pytest.mark.slow
def test_presentation_keys_change_neither_the_ard_nor_the_gate(flagship: tuple[Any, Any], tmp_path: Path) -> None:
    from trialpress.quality.gate import run_gate
    from trialpress.results.collect import analyse

    lplan, data = flagship
    edited = _presentation_changed(lplan)
    assert store_cache.analysis_plan(edited.plan) == store_cache.analysis_plan(lplan.plan)
    a, b = analyse(lplan.plan, data).ard, analyse(edited.plan, data).ard
    assert codec.same_ard(a, b)
    for folder, ard, plan in (("a", a, lplan.plan), ("b", b, edited.plan)):
        (tmp_path / folder).mkdir()
        pipeline.write_results(ard, plan, tmp_path / folder)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    ga, gb = run_gate(lplan.plan, data, parallel=False), run_gate(edited.plan, data, parallel=False)
    assert ga.to_json() == gb.to_json()


@pytest.mark.slow
def test_keys_left_out_of_the_figure_key_change_no_figure(flagship: tuple[Any, Any], tmp_path: Path) -> None:
    import dataclasses

    from trialpress.report.context import ContextBuilder
    from trialpress.report.figure_specs import km_figures
    from trialpress.results.collect import analyse

    lplan, data = flagship
    dump = lplan.plan.model_dump(mode="json")
    left_out = {k: v for k, v in dump.items() if k in store_cache.FIGURE_IGNORED_TOP}
    edited = _perturb(dump, store_cache.FIGURE_IGNORED)
    for k, v in left_out.items():                # presentation keys inside the subtrees the figure key drops
        edited[k] = _perturb(v, store_cache.PRESENTATION) if k != "labels" else {n: f"{t} (edited)" for n, t in v.items()}
    edited["report"] = dump["report"]
    eplan = _with(lplan, edited).plan
    assert store_cache.figure_plan(eplan) == store_cache.figure_plan(lplan.plan)
    ard = analyse(lplan.plan, data).ard
    out = {}
    for name, plan in (("a", lplan.plan), ("b", eplan)):
        cb = ContextBuilder(plan, ard)
        (tmp_path / name).mkdir()
        views = km_figures(plan, cb, tmp_path / name)
        out[name] = (_files(tmp_path / name), {k: [dataclasses.asdict(v) for v in vs] for k, vs in views.items()},
                     dataclasses.asdict(cb.numbering))
    assert out["a"] == out["b"]


def test_the_keys_follow_what_they_cover() -> None:
    from trialpress.plan import load_plan

    lplan = load_plan(ROOT / "analysis" / f"{STUDY}.yml")
    setup_inputs = pipeline.prepare(lplan.path, report_date=DATE).inputs
    base = store_cache.analysis_key(lplan.plan, setup_inputs)
    dump = lplan.plan.model_dump(mode="json")
    population = json.loads(json.dumps(dump))
    next(iter(population["populations"].values()))["flag"] = "SAFFL"
    assert store_cache.analysis_key(Plan.model_validate(population), setup_inputs) != base
    named = json.loads(json.dumps(dump))
    next(iter(named["populations"].values()))["label"] = "All treated"          # the analysed set's name: ARD
    assert store_cache.analysis_key(Plan.model_validate(named), setup_inputs) != base
    relabelled = json.loads(json.dumps(dump))
    relabelled["groups"]["levels"][0]["label"] = "Front line"
    rplan = Plan.model_validate(relabelled)
    assert store_cache.analysis_key(rplan, setup_inputs) == base                 # the ARD does not show group labels
    assert (store_cache.figures_key(rplan, setup_inputs, base, False)
            != store_cache.figures_key(lplan.plan, setup_inputs, base, False))      # the figures do
    assert (store_cache.figures_key(lplan.plan, setup_inputs, base, True)
            != store_cache.figures_key(lplan.plan, setup_inputs, base, False))      # raster copies for Word/RTF


# --- the store ---------------------------------------------------------------------------------------

def test_a_damaged_entry_is_a_miss_and_is_removed(tmp_path: Path) -> None:
    wc = store_cache.WorkCache(tmp_path)
    assert wc.put("figures", "k" * 64, {"a.svg": b"<svg/>", "sub/b.png": b"png"}, {"views": {}})
    hit = wc.get("figures", "k" * 64)
    assert hit is not None and hit.files == {"a.svg": b"<svg/>", "sub/b.png": b"png"} and hit.meta == {"views": {}}
    (tmp_path / ".cache" / "figures" / ("k" * 64) / "a.svg").write_bytes(b"<svg>tampered</svg>")
    assert wc.get("figures", "k" * 64) is None and not (tmp_path / ".cache" / "figures" / ("k" * 64)).exists()


def test_the_cache_keeps_the_most_recently_used_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_cache, "KEEP", 2)
    wc = store_cache.WorkCache(tmp_path)
    for i in range(3):
        wc.put("analysis", f"{i}" * 64, {"x": b"1"})
        time.sleep(0.02)
    assert sorted(p.name[0] for p in (tmp_path / ".cache" / "analysis").iterdir()) == ["1", "2"]


def test_no_cache_when_disabled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIALPRESS_CACHE", "0")
    wc = store_cache.WorkCache(tmp_path)
    assert not wc.put("analysis", "a" * 64, {"x": b"1"}) and wc.get("analysis", "a" * 64) is None


def test_the_codec_is_lossless_and_refuses_what_it_cannot_keep() -> None:
    import datetime as dt

    import numpy as np
    import pandas as pd

    values = [1, 1.0, float("nan"), 0.1 + 0.2, "x", np.str_("y"), np.float64(2.5), np.int32(3), True, None,
              (1, "a"), {"k": [1, 2]}, pd.Timestamp("2020-01-02"), pd.NaT, dt.date(2020, 1, 2)]
    for v in values:
        back = codec.decode_value(codec.loads(codec.dumps(codec.encode_value(v))))
        assert codec.same(v, back), v
    with pytest.raises(codec.Unencodable):
        codec.encode_value(object())
    with pytest.raises(codec.Unencodable):
        codec.encode_value(pd.Timestamp("2020-01-02", tz="UTC"))


def test_a_copied_cache_is_never_code() -> None:
    """Entries are JSON and bytes: nothing is unpickled (a cache copied from elsewhere can only miss)."""
    source = (Path(store_cache.__file__).read_text() + Path(codec.__file__).read_text()
              + Path(pipeline.__file__).read_text())
    assert "pickle" not in source.replace("Nothing is ever unpickled", "").replace("never unpickled", "")


def test_cache_lives_outside_version_folders_and_is_ignored_by_git() -> None:
    assert store_cache.CACHE == ".cache"
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "report/*/" in ignored          # report/.cache/ is a folder under report/


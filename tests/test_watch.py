"""`render --watch` (trialpress/watch.py): a change renders once, bad input is reported and the watch goes on,
changed engine code stops it, and a watched render is byte for byte a cold render of the same inputs."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from trialpress import pipeline, watch
from trialpress.errors import PlanError, TrialpressError, UsageError
from trialpress.store.folders import MANIFEST

DATE = "2026-01-01"


def _until(condition, timeout: float = 180.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


class _Fake:
    """A watch over two plain files, with a render that fails while the plan holds 'bad'."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.plan, self.template = tmp_path / "plan.yml", tmp_path / "t.j2"
        self.plan.write_text("ok", encoding="utf-8")
        self.template.write_text("a", encoding="utf-8")
        self.engine = {"engine:trialpress/x.py": "1"}
        self.renders: list[str] = []
        self.errors: list[TrialpressError] = []
        monkeypatch.setattr(watch, "watched_files", lambda _: ([self.plan, self.template], dict(self.engine)))

    def render(self) -> None:
        text = self.template.read_text(encoding="utf-8")
        if "bad" in self.plan.read_text(encoding="utf-8"):
            raise PlanError("the plan says bad")
        self.renders.append(text)


def test_each_settled_change_renders_once_and_errors_do_not_stop_the_watch(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    f = _Fake(tmp_path, monkeypatch)
    stop = threading.Event()
    lines: list[str] = []
    t = threading.Thread(target=watch.watch, args=(f.plan, f.render, lines.append, f.errors.append),
                         kwargs={"interval": 0.05, "stop": stop})
    t.start()
    try:
        _until(lambda: len(f.renders) == 1)
        for i in range(3):                          # an editor writing in steps: one render once settled
            f.template.write_text("b" * (i + 2), encoding="utf-8")
            time.sleep(0.01)
        _until(lambda: len(f.renders) == 2)
        f.plan.write_text("bad", encoding="utf-8")   # reported, the watch goes on
        _until(lambda: len(f.errors) == 1)
        f.plan.write_text("ok again", encoding="utf-8")
        _until(lambda: len(f.renders) == 3)
    finally:
        stop.set()
        t.join(10)
    assert f.renders == ["a", "bbbb", "bbbb"]
    assert "the plan says bad" in str(f.errors[0]) and not t.is_alive()
    assert any("did not render" in line for line in lines)


def test_changed_engine_code_stops_the_watch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = _Fake(tmp_path, monkeypatch)
    f.engine = {"engine:trialpress/x.py": "1"}

    def render_then_edit_engine() -> None:
        f.render()
        f.engine = {"engine:trialpress/x.py": "2"}   # as if a source file were saved during the watch
        f.template.write_text(f"{len(f.renders)}", encoding="utf-8")

    with pytest.raises(UsageError, match="own source files changed"):
        watch.watch(f.plan, render_then_edit_engine, lambda _: None, f.errors.append, interval=0.05,
                    max_renders=5)
    assert len(f.renders) == 1


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_a_watched_edit_is_a_cold_render_byte_for_byte(project_copy: Path, tmp_path: Path) -> None:
    plan = project_copy / "analysis" / "blinatumomab-salvage.yml"
    outcomes: list[pipeline.RenderOutcome] = []
    errors: list[TrialpressError] = []
    stop = threading.Event()
    render = lambda: outcomes.append(pipeline.render(plan, report_date=DATE, formats=["html"]))  # noqa: E731
    t = threading.Thread(target=watch.watch, args=(plan, render, lambda _: None, errors.append),
                         kwargs={"interval": 0.1, "stop": stop})
    t.start()
    try:
        _until(lambda: len(outcomes) == 1 or bool(errors))
        methods = project_copy / "templates" / "article" / "methods.qmd.j2"
        methods.write_text(methods.read_text(encoding="utf-8") + "\nA sentence the writer added.\n",
                           encoding="utf-8")
        _until(lambda: len(outcomes) == 2 or bool(errors))
    finally:
        stop.set()
        t.join(30)
    assert not errors, errors
    warm = outcomes[1]
    assert warm.created and warm.reused == ("analysis", "figures")
    assert "A sentence the writer added." in (warm.folder / "report.qmd").read_text(encoding="utf-8")
    cold = pipeline.render(plan, report_root=tmp_path / "cold", report_date=DATE, formats=["html"], cache=False)
    assert cold.version == warm.version
    a, b = _files(warm.folder), _files(cold.folder)
    assert sorted(a) == sorted(b)
    assert all(a[name] == b[name] for name in a if name != MANIFEST)
    ma, mb = json.loads(a[MANIFEST]), json.loads(b[MANIFEST])
    assert {k: v for k, v in ma.items() if k != "provenance"} == {k: v for k, v in mb.items() if k != "provenance"}


def test_a_plan_invalid_from_the_start_is_watched_until_it_loads(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    plan, template = tmp_path / "plan.yml", tmp_path / "t.j2"
    plan.write_text("bad", encoding="utf-8")
    template.write_text("a", encoding="utf-8")

    def files(_: Path) -> tuple[list[Path], dict[str, str]]:
        if "bad" in plan.read_text(encoding="utf-8"):
            raise PlanError("the plan says bad")
        return [plan, template], {"engine:trialpress/x.py": "1"}

    monkeypatch.setattr(watch, "watched_files", files)
    renders: list[str] = []
    errors: list[TrialpressError] = []
    lines: list[str] = []
    stop = threading.Event()
    t = threading.Thread(target=watch.watch, args=(plan, lambda: renders.append(template.read_text()), lines.append,
                                                   errors.append), kwargs={"interval": 0.05, "stop": stop})
    t.start()
    try:
        _until(lambda: len(errors) == 1)
        assert renders == [] and any("Watching the plan" in line for line in lines)
        plan.write_text("fixed", encoding="utf-8")
        _until(lambda: len(renders) == 1)
        template.write_text("bb", encoding="utf-8")   # once the plan loads, its templates are watched
        _until(lambda: len(renders) == 2)
    finally:
        stop.set()
        t.join(10)
    assert renders == ["a", "bb"]


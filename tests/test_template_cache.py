"""Compiled templates are kept in Jinja's bytecode cache: a new process compiles only a template it has not
seen in that form, an edited template is compiled again, and errors still name the template's file and line."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from trialpress.report import templating


def _compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    original = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: str, name: str | None = None, *args: object, **kw: object) -> object:
        seen.append(str(name))
        return original(self, source, name, *args, **kw)   # type: ignore[arg-type]

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return seen


def test_a_new_environment_reuses_the_compiled_template_until_it_is_edited(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    if templating._bytecode_cache() is None:
        pytest.skip("no private temporary folder for Jinja's cache on this machine")
    tdir = tmp_path / "set"
    tdir.mkdir()
    page = tdir / "page.qmd.j2"
    page.write_text("Hello << name >>\n", encoding="utf-8")   # its path is new: a new cache key
    seen = _compiles(monkeypatch)
    first = templating.environment(tdir).get_template("page.qmd.j2").render(name="A")
    assert first == "Hello A\n" and seen == ["page.qmd.j2"]
    again = templating.environment(tdir).get_template("page.qmd.j2").render(name="B")
    assert again == "Hello B\n" and seen == ["page.qmd.j2"]       # read back, not compiled
    page.write_text("Goodbye << name >>\n", encoding="utf-8")
    edited = templating.environment(tdir).get_template("page.qmd.j2").render(name="C")
    assert edited == "Goodbye C\n" and seen == ["page.qmd.j2", "page.qmd.j2"]


def test_a_mistake_in_a_template_read_from_the_cache_names_its_line(tmp_path: Path) -> None:
    from trialpress.errors import RenderError

    tdir = tmp_path / "templates" / "notes"
    tdir.mkdir(parents=True)
    (tdir / "notes.qmd.j2").write_text(f"# << title >>\n\n<< missing_{tmp_path.name} >>\n", encoding="utf-8")
    for _ in range(2):   # compiled, then (a new environment, as in a new process) read from the cache
        templating._shared_environment.cache_clear()
        with pytest.raises(RenderError, match=r"templates/notes/notes\.qmd\.j2, line 3: 'missing_\w+' is undefined"):
            templating.render_template(tdir, "notes.qmd.j2", {"title": "x"})


def test_compiling_a_set_ahead_leaves_a_broken_template_for_the_render_to_report(tmp_path: Path) -> None:
    from trialpress.errors import RenderError

    tdir = tmp_path / "templates" / "broken"
    tdir.mkdir(parents=True)
    (tdir / "ok.qmd.j2").write_text("fine\n", encoding="utf-8")
    (tdir / "bad.qmd.j2").write_text("<% if %>\n", encoding="utf-8")
    templating.compile_templates(tdir)
    assert templating.render_template(tdir, "ok.qmd.j2", {}) == "fine\n"
    with pytest.raises(RenderError, match=r"bad\.qmd\.j2, line 1"):
        templating.render_template(tdir, "bad.qmd.j2", {})

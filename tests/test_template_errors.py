"""A template is input a writer edits: its mistakes are render errors naming the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize("line,why", [
    ("<< undefined_thing >>", r"templates/notes/notes\.qmd\.j2, line 3: 'undefined_thing' is undefined\."),
    ("<% if %>", r"templates/notes/notes\.qmd\.j2, line 3: Expected an expression"),
    ("<< study.__class__ >>", r"templates/notes/notes\.qmd\.j2, line 3: .*unsafe"),
])
def test_a_template_mistake_is_a_render_error_at_its_line(tmp_path: Path, line: str, why: str) -> None:
    """A template a writer edits is input: its mistakes are reported with file and line, never a traceback."""
    from trialpress.errors import RenderError
    from trialpress.report.templating import render_template

    tdir = tmp_path / "templates" / "notes"
    tdir.mkdir(parents=True)
    (tdir / "notes.qmd.j2").write_text(f"# << title >>\n\n{line}\n", encoding="utf-8")
    if "undefined_thing" in line:   # the same template renders once the name is there
        assert render_template(tdir, "notes.qmd.j2", {"title": "x", "undefined_thing": 1}).endswith("1\n")
    with pytest.raises(RenderError, match=why):
        render_template(tdir, "notes.qmd.j2", {"title": "x", "study": "s"})

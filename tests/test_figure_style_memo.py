"""The figure style (the font files matplotlib resolves, FreeType) is remembered between processes, so that the
version id is known without importing matplotlib; the remembered answer is used only while what matplotlib
resolves from is unchanged, and is always the answer matplotlib itself gives."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trialpress.store import style

ROOT = Path(__file__).resolve().parents[1]


def _matplotlib_answer() -> dict[str, object]:
    """The fingerprint computed with matplotlib directly (independent of the memo)."""
    from matplotlib import font_manager, ft2font

    fonts = {}
    for family in style.FAMILIES:
        for weight in style.WEIGHTS:
            path = Path(font_manager.findfont(font_manager.FontProperties(family=family, weight=weight),
                                              fallback_to_default=True))
            fonts[f"{family} {weight}"] = f"{path.name} {hashlib.sha256(path.read_bytes()).hexdigest()}"
    return {"fonts": fonts, "freetype": ft2font.__freetype_version__}


@pytest.fixture()
def memo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The memo in a folder of this test (matplotlib's own cache folder is left where it is)."""
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.setenv("MPLCONFIGDIR", os.environ.get("MPLCONFIGDIR") or _mpl_cachedir())
    return home


def _mpl_cachedir() -> str:
    import matplotlib

    return matplotlib.get_cachedir()


def _memo(home: Path) -> dict[str, dict[str, object]]:
    return json.loads((home / "trialpress" / f"figure-style-v{style.MEMO_FORMAT}.json").read_text(encoding="utf-8"))


def _in_new_process(home: Path) -> tuple[dict[str, object], bool]:
    code = ("import json, sys; from trialpress.store.style import figure_style; s = figure_style(); "
            "print(json.dumps([s, 'matplotlib' in sys.modules]))")
    env = {**os.environ, "XDG_CACHE_HOME": str(home), "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    got, imported = json.loads(out)
    return got, imported


def test_the_remembered_style_is_matplotlibs_and_needs_no_import(memo_home: Path) -> None:
    expected = _matplotlib_answer()
    assert style.figure_style() == expected
    assert len(_memo(memo_home)) == 1
    got, imported = _in_new_process(memo_home)
    assert got == expected and not imported


def test_a_changed_font_list_or_a_missing_font_file_is_resolved_again(memo_home: Path, tmp_path: Path) -> None:
    expected = _matplotlib_answer()
    style.figure_style()
    memo = memo_home / "trialpress" / f"figure-style-v{style.MEMO_FORMAT}.json"
    (key, entry), = _memo(memo_home).items()
    # a font list other than the one the files were resolved from (a copy of it, one byte longer)
    other = tmp_path / "fontlist.json"
    other.write_bytes(Path(str(entry["fontlist"])).read_bytes() + b" ")
    memo.write_text(json.dumps({key: {**entry, "fontlist": str(other)}}), encoding="utf-8")
    got, imported = _in_new_process(memo_home)
    assert got == expected and imported
    # a remembered file that is gone
    fonts = {name: str(tmp_path / "gone.ttf") for name in entry["fonts"]}  # type: ignore[union-attr]
    memo.write_text(json.dumps({key: {**entry, "fonts": fonts}}), encoding="utf-8")
    got, imported = _in_new_process(memo_home)
    assert got == expected and imported
    # either way the memo holds matplotlib's answer again
    assert _in_new_process(memo_home) == (expected, False)


def test_another_matplotlib_cache_folder_is_another_entry(memo_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    style.figure_style()
    monkeypatch.setenv("MPLCONFIGDIR", str(memo_home / "elsewhere"))
    assert style._remembered(memo_home / "trialpress" / f"figure-style-v{style.MEMO_FORMAT}.json",
                             style._matplotlib_install() or {}) is None


def test_a_memo_that_cannot_be_read_or_written_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _matplotlib_answer()
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))          # trialpress/ cannot be made under a file
    assert style.figure_style() == expected
    garbled = tmp_path / "garbled"
    (garbled / "trialpress").mkdir(parents=True)
    (garbled / "trialpress" / f"figure-style-v{style.MEMO_FORMAT}.json").write_text("{not json", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(garbled))
    assert style.figure_style() == expected
    assert len(_memo(garbled)) == 1                               # replaced by a good one

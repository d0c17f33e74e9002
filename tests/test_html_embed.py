"""The HTML report is self-contained: report/html_embed.py inlines the stylesheet and the figures, and refuses
anything else the browser would fetch."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from trialpress.errors import RenderError
from trialpress.report.html_embed import embed_resources


def _page(folder: Path, body: str) -> str:
    css = folder / "style.css"
    css.write_text("body { color: #222; }\n", encoding="utf-8")
    return (f'<html><head><link rel="stylesheet" href="{css}">\n</head><body>{body}'
            '<p>an AE term written &lt;img src=&quot;x.png&quot;&gt; stays text</p></body></html>')


def test_stylesheet_and_figures_are_embedded_byte_for_byte(tmp_path: Path) -> None:
    (tmp_path / "figures").mkdir()
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><text>K\xc3\xa9M</text></svg>'
    png = b"\x89PNG\r\n\x1a\nfake"
    (tmp_path / "figures" / "km-os.svg").write_bytes(svg)
    (tmp_path / "figures" / "forest.png").write_bytes(png)
    page = _page(tmp_path, '<img src="figures/km-os.svg" alt="Figure 1." /><img src="figures/forest.png" alt="F" />'
                           '<a href="ard.csv">ARD</a><a href="#ard-x">1.58</a>')
    out = embed_resources(page, tmp_path)
    assert "<style>\nbody { color: #222; }\n</style>" in out and "<link" not in out
    uris = re.findall(r'src="data:([^;]+);base64,([^"]+)"', out)
    assert [(m, base64.b64decode(b)) for m, b in uris] == [("image/svg+xml", svg), ("image/png", png)]
    assert 'href="ard.csv"' in out and 'href="#ard-x"' in out   # links are not resources
    assert "&lt;img src=&quot;x.png&quot;&gt;" in out            # escaped data is left alone
    assert embed_resources(page, tmp_path) == out                 # deterministic


def test_a_relative_stylesheet_is_read_beside_the_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "style.css").write_text("p { margin: 0; }\n", encoding="utf-8")
    (tmp_path / "style.css").write_text("p { color: red; }\n", encoding="utf-8")   # not this one, in the CWD
    monkeypatch.chdir(tmp_path)
    out = embed_resources('<html><head><link rel="stylesheet" href="style.css"></head><body></body></html>',
                          tmp_path / "page")
    assert "<style>\np { margin: 0; }\n</style>" in out


@pytest.mark.parametrize("body,why", [
    ('<img src="figures/missing.svg" />', "not a figure the render wrote"),
    ('<img src="figures/notes.txt" />', "not a figure the render wrote"),
    ('<img src="/etc/passwd" />', "would load '/etc/passwd'"),
    ('<script src="https://cdn.example.org/x.js"></script>', "would load 'https://cdn.example.org/x.js'"),
    ('<link rel="icon" href="favicon.ico">', "would load 'favicon.ico'"),
    ('<video poster="still.png"></video>', "would load 'still.png'"),
])
def test_anything_else_fetched_stops_the_render(tmp_path: Path, body: str, why: str) -> None:
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(RenderError, match=re.escape(why)):
        embed_resources(_page(tmp_path, body), tmp_path)

"""Self-contained HTML from pandoc's standalone output: the stylesheets inlined, each figure a data URI.

pandoc's `--embed-resources` does the same, but it re-reads the whole document to find resources, and the
document is large (every table as raw HTML, the ARD appendix): about 0.8 s of the flagship's 1.0 s HTML
render, against a few milliseconds here. Written here for that reason, and kept narrow: only what our HTML
template and pandoc write is embedded (`<link rel="stylesheet" href="…">` and `<img src="figures/…">`), and
any other reference to a local resource (or to the network) stops the render, so a report never depends on
a file beside it.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from trialpress.errors import RenderError

MIME = {".svg": "image/svg+xml", ".png": "image/png"}
_LINK = re.compile(r'<link rel="stylesheet" href="([^"]*)"\s*/?>')
_IMG_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")(figures/[A-Za-z0-9_.-]+)(")')
# a resource the browser would fetch: src/srcset/poster/data on any element, or a <link>'s href
_FETCHED = re.compile(r'<(?:[a-zA-Z][a-zA-Z0-9]*)\b[^>]*?\b(?:src|srcset|poster|data)="(?!data:)([^"]+)"'
                      r'|<link\b[^>]*?\bhref="([^"]+)"')


def embed_resources(page: str, folder: Path) -> str:
    """`page` (pandoc's HTML, written in `folder`) with its stylesheets and figures embedded."""

    def style(m: re.Match[str]) -> str:
        path = folder / html.unescape(m.group(1))   # as the browser would: relative to the page (absolute stays)
        css = path.read_text(encoding="utf-8")
        if "</style" in css.lower():
            raise RenderError(f"{path}: a stylesheet cannot contain '</style'.", hint="Remove it from the CSS file.")
        return f"<style>\n{css}</style>"

    def figure(m: re.Match[str]) -> str:
        name = m.group(2)
        path = folder / name
        mime = MIME.get(path.suffix.lower())
        if mime is None or ".." in name.split("/") or not path.is_file():
            raise RenderError(f"The report refers to {name}, which is not a figure the render wrote.",
                              hint="This is a template problem: figures are written under figures/ as SVG or PNG.")
        return f"{m.group(1)}data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}{m.group(3)}"

    out = _IMG_SRC.sub(figure, _LINK.sub(style, page))
    left = next((a or b for a, b in _FETCHED.findall(out)), None)
    if left is not None:
        raise RenderError(f"The HTML report would load {left!r} from outside the document.",
                          hint="This is a template problem: reports are self-contained (figures under figures/, "
                               "styles in the template set's CSS).")
    return out

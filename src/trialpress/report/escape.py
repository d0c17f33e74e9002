"""Escaping of data strings for the format they land in: Markdown (pandoc/Quarto), HTML, Typst.

Data never executes: an AE term like `#read("/etc/passwd")`, `<script>`, `{{ 7*7 }}`, `$x$` or
`*bold*` must appear literally in HTML and PDF.
"""

from __future__ import annotations

import html
import string

# pandoc Markdown: a backslash escapes any ASCII punctuation character
_MD_SPECIAL = set(string.punctuation)
# Typst markup: characters with meaning in markup mode (escaped with a backslash)
_TYPST_SPECIAL = set('\\#$*_`<>@[]~/"\'=-+{}')


def markdown(text: object) -> str:
    s = str(text)
    out = []
    for ch in s:
        if ch in _MD_SPECIAL:
            out.append("\\" + ch)
        elif ch in "\r\n":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def html_text(text: object) -> str:
    return html.escape(str(text), quote=True)


def typst(text: object) -> str:
    out = []
    for ch in str(text):
        if ch in _TYPST_SPECIAL:
            out.append("\\" + ch)
        elif ch in "\r\n":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def typst_string(text: object) -> str:
    """Content of a Typst string literal "..."."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")

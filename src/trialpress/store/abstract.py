"""The abstract's sentences as plain text, recorded in the manifest at render time (what `diff` compares).

Decision: the source is the rendered `report.qmd` itself — exactly what the reader gets — read once, by the
pipeline, right after the templates have written it. Its lines from the ATX heading "Abstract" to the next
heading of the same or a higher level are handed to pandoc (the same pandoc that renders the document;
the whole document would take it 15 times longer), which parses them into its JSON syntax tree; the
section under the heading "Abstract" is turned into plain text
(raw HTML/Typst inline markup such as the ARD links dropped, escapes resolved by pandoc's own Markdown
reader, no regular expressions over Markdown) and split into sentences. Each paragraph's leading bold
words ("**Results**") become the sentence's section. The result goes into the manifest's hashed content as
`abstract: [{section, sentence}]`, so `diff` and any other reader take it from `manifest.json` and never
parse a document again; a template set without an "Abstract" heading records an empty list.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from trialpress.errors import RenderError

HEADING = "abstract"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[\"“])")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _plain(inlines: list[dict[str, Any]]) -> str:
    out: list[str] = []
    for node in inlines:
        kind, c = node.get("t"), node.get("c")
        if kind == "Str":
            out.append(c)
        elif kind in ("Space", "SoftBreak", "LineBreak"):
            out.append(" ")
        elif kind in ("Code", "Math"):
            out.append(c[1])
        elif kind == "Quoted":
            q = "“”" if c[0]["t"] == "DoubleQuote" else "‘’"
            out.append(q[0] + _plain(c[1]) + q[1])
        elif kind in ("Emph", "Strong", "Underline", "Strikeout", "Superscript", "Subscript", "SmallCaps"):
            out.append(_plain(c))
        elif kind in ("Link", "Image", "Span"):
            out.append(_plain(c[1]))
        elif kind == "Cite":
            out.append(_plain(c[1]))
        # RawInline (the ARD links), Note: not text of the abstract
    return "".join(out)


def _paragraph(inlines: list[dict[str, Any]]) -> list[dict[str, str]]:
    label = ""
    rest = inlines
    if rest and rest[0].get("t") == "Strong":
        label = re.sub(r"\s+", " ", _plain(rest[0]["c"])).strip()
        rest = rest[1:]
    text = re.sub(r"\s+", " ", _plain(rest).replace("\xa0", " ")).strip()
    return [{"section": label, "sentence": s} for s in split_sentences(text)]


def abstract_of(blocks: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The (section, sentence) pairs of the Abstract section of a pandoc block list."""
    out: list[dict[str, str]] = []
    level = None
    for block in blocks:
        if block.get("t") == "Header":
            lv, _, inlines = block["c"]
            if level is not None and lv <= level:
                break
            if level is None and _plain(inlines).strip().lower() == HEADING:
                level = lv
            continue
        if level is not None and block.get("t") in ("Para", "Plain"):
            out += _paragraph(block["c"])
    return out


_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*(\{.*\})?\s*$")


def abstract_section(text: str) -> str:
    """The lines of the Abstract section (its heading included), '' if there is none."""
    lines = text.splitlines()
    start = level = None
    for i, line in enumerate(lines):
        m = _ATX.match(line)
        if not m:
            continue
        if start is None and m.group(2).strip().lower() == HEADING:
            start, level = i, len(m.group(1))
        elif start is not None and level is not None and len(m.group(1)) <= level:
            return "\n".join(lines[start:i]) + "\n"
    return "\n".join(lines[start:]) + "\n" if start is not None else ""


def read_abstract(qmd: Path) -> list[dict[str, str]]:
    """The abstract of a rendered .qmd as plain sentences (pandoc parses it)."""
    import pypandoc

    section = abstract_section(qmd.read_text(encoding="utf-8"))
    if not section:
        return []
    proc = subprocess.run([pypandoc.get_pandoc_path(), "-f", "markdown", "-t", "json"], input=section.encode("utf-8"),
                          capture_output=True, check=False)
    if proc.returncode != 0:
        raise RenderError(f"pandoc could not read {qmd.name}: {proc.stderr.decode(errors='replace')[:2000]}",
                          hint="This is a template problem: check the template set named in the plan.")
    return abstract_of(json.loads(proc.stdout).get("blocks", []))

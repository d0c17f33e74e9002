"""Every string from data or plan is inert everywhere it lands (issue 15): hostile text in an AE term, a group
value, a group label, the study title and a subgroup label renders, comes out literally, and adds no HTML
element or attribute, no link, no file outside the version folder.

The corpus holds the cases that broke before (a newline and a code fence closing a raw block, an <img
onload>, a Markdown link through a figure path, a slash and a decimal point in a group value) and a small
deterministic hypothesis sample of random text with markup and control characters."""

from __future__ import annotations

import csv
import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialpress.pipeline import render

STUDY = "blinatumomab-salvage"
CORPUS = [
    "Pyrexia\n```\n<img src=x onload=alert(1)>",
    "x) [click](javascript:alert(1)) `code`",
    "Blina 9/28 mcg",
    "DOSE 1.5 MG",
    "<script>alert('x')</script> & \"quoted\"",
    "#read(\"/etc/passwd\") $x^2$ *bold* _under_ {{ 7*7 }} <% x %> << y >>",
    "\\textbf{tex} \\par {\\rtf1 \\b x}",
    "=HYPERLINK(\"http://x\") +1 -2 @SUM(A1)",
    "tab\there\x1b[31mred\x1b[0m\x00nul",
    "~~~\n:::\n---\n***",
]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.bad: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.bad.append(f"{tag} {name}")
            if name in ("href", "src") and value and re.match(r"\s*(javascript|vbscript):", value, re.I):
                self.bad.append(f"{tag} {name}={value}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    return p


def _shown(text: str) -> str:
    """What a reader sees of a string: control characters and line breaks become spaces."""
    out = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)
    return " ".join(out.split())


def _printable(text: str) -> str:
    """Data values carry no control characters (the quality gate stops those, with the subjects); plan text may."""
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text).strip() or "x"


PTS = ("Pyrexia", "Nausea", "Headache", "Anaemia")


def _rewrite(path: Path, column: str, mapping: dict[str, str]) -> None:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r[column] = mapping.get(r[column], r[column])
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def _inject(project: Path, texts: list[str]) -> list[str]:
    """Hostile texts (cycled) as preferred terms, the first group's value and label, the title, the endpoint and
    subgroup labels. Returns what a reader must find literally in the document."""
    cycle = [texts[i % len(texts)] for i in range(16)]
    data = project / "data" / STUDY
    terms = [_printable(t) for t in cycle[:len(PTS)]]
    _rewrite(data / "adae.csv", "AEDECOD", dict(zip(PTS, terms)))
    group = _printable(cycle[4])
    _rewrite(data / "adsl.csv", "SALVGRP", {"FIRST": group})
    import yaml

    plan_path = project / "analysis" / f"{STUDY}.yml"
    plan = yaml.safe_load(plan_path.read_text(encoding="utf-8"))
    plan["safety"]["pt_threshold_percent"] = 0            # every term is tabulated
    plan["study"]["title"] = f"Title {cycle[5]}"
    plan["groups"]["reference"] = group
    plan["groups"]["levels"][0] = {"value": group, "label": f"Label {cycle[6]}", "short": "First"}
    plan["time_to_event"][0]["label"] = f"Survival {cycle[7]}"
    for i, sg in enumerate(plan["subgroups"]):
        sg["label"] = f"Subgroup {cycle[8 + i]}"
    plan_path.write_text(yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return [*terms, f"Title {cycle[5]}", f"Label {cycle[6]}", f"Survival {cycle[7]}"]


@pytest.fixture(scope="module")
def baseline_tags(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    from conftest import ROOT

    out = render(ROOT / "analysis" / f"{STUDY}.yml", report_root=tmp_path_factory.mktemp("clean"), formats=["html"],
                 report_date="2026-01-01")
    return _parse((out.folder / "report.html").read_text(encoding="utf-8")).tags


def _check(project: Path, texts: list[str], tags: set[str], tmp: Path, pdf: bool = False) -> None:
    shown = _inject(project, texts)
    formats = ["html", "pdf"] if pdf else ["html"]
    out = render(project / "analysis" / f"{STUDY}.yml", report_root=tmp / "r", formats=formats,
                 report_date="2026-01-01")
    html = (out.folder / "report.html").read_text(encoding="utf-8")
    parsed = _parse(html)
    assert not parsed.bad, parsed.bad
    assert parsed.tags <= tags, parsed.tags - tags
    text = _shown("".join(parsed.text))
    for value in shown:
        assert _shown(value) in text, value
    for path in out.folder.rglob("*"):   # every file stays inside the version folder, with a safe name
        assert re.fullmatch(r"[A-Za-z0-9_.~=-]+", path.name), path
    if pdf:
        from pypdf import PdfReader

        pages = " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(out.folder / "report.pdf").pages)
        for value in shown:
            first = _shown(value).split()[1] if len(_shown(value).split()) > 1 else _shown(value)
            assert first in pages, (value, first)


@pytest.mark.slow
def test_hostile_corpus_is_inert(project_copy: Path, tmp_path: Path, baseline_tags: set[str]) -> None:
    _check(project_copy, CORPUS, baseline_tags, tmp_path, pdf=True)


HOSTILE = st.text(alphabet=st.sampled_from(list("aZ09 -_/.:;,()[]{}<>\"'`*#$%&=+!?@\\|~^\n\t\x00\x1b\u00e9\u2028\u200f")),
                  min_size=1, max_size=24).filter(lambda s: s.strip() and _shown(s))


@pytest.mark.slow
@settings(max_examples=3, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(value=HOSTILE)
def test_random_text_is_inert(value: str, tmp_path_factory: pytest.TempPathFactory,
                              baseline_tags: set[str]) -> None:
    import shutil

    from conftest import ROOT

    tmp = tmp_path_factory.mktemp("h")
    project = tmp / "project"
    project.mkdir()
    shutil.copy(ROOT / "_quarto.yml", project / "_quarto.yml")
    for folder in ("analysis", "data", "templates"):
        shutil.copytree(ROOT / folder, project / folder)
    _check(project, [value], baseline_tags, tmp)


@settings(max_examples=2000, deadline=None)
@given(st.text() | st.text(alphabet="&<>\"' \x00\x1b\x7f\x85\u2028\u2029\ud800é≥abc", max_size=12))
def test_html_text_is_html_escape_of_the_printable_text(s: str) -> None:
    """The fast path of `escape.html_text` (clean text returned after one scan) gives exactly what
    `html.escape(quote=True)` gives for the text with control characters as spaces."""
    import html

    from trialpress.report import escape

    expected = html.escape("".join(escape._printable(ch) for ch in s), quote=True)
    assert escape.html_text(s) == expected

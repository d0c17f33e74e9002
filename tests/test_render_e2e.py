"""End to end: the flagship study renders to HTML and PDF with the OS sentence; re-rendering is a no-op."""

from __future__ import annotations

from trialpress.results import keys

import json
import re
from pathlib import Path

import pytest

from trialpress.pipeline import render

from conftest import FLAGSHIP

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    outcome = render(FLAGSHIP, report_root=out, report_date="2026-01-01")
    assert outcome.created
    return outcome.folder


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return " ".join((p.extract_text() or "") for p in PdfReader(str(path)).pages)


OS_SENTENCE = re.compile(
    r"longer median overall survival \(OS; (\d+\.\d) vs\. (\d+\.\d) months; hazard ratio \[HR\], (\d\.\d\d); 95% confidence interval \[CI\], "
    r"(\d\.\d\d)-(\d\.\d\d); P (< \.001|= \.\d\d\d)\)")


def test_version_folder_holds_every_artefact(rendered: Path) -> None:
    for name in ("report.qmd", "report.html", "report.pdf", "ard.csv", "ard.json", "curves.csv", "ard-cards.csv",
                 "ars.json", "manifest.json", "quality.json"):
        assert (rendered / name).is_file(), name
    assert json.loads((rendered / "ars.json").read_text())["id"].endswith(rendered.name)
    assert any((rendered / "figures").glob("*.svg"))
    manifest = json.loads((rendered / "manifest.json").read_text())
    assert manifest["version"] == rendered.name
    assert any(k.startswith("data:") for k in manifest["inputs"])
    assert manifest["artefacts"]["report.pdf"]["sha256"]


def test_qmd_carries_each_table_for_html_and_typst_but_not_for_word(rendered: Path) -> None:
    """An HTML + PDF version's .qmd has each table as an HTML and a Typst raw block (it still renders with Quarto
    to both) and no Word OpenXML, which only a render that writes Word needs (`test_docx` renders one)."""
    qmd = (rendered / "report.qmd").read_text(encoding="utf-8")
    typst_tables = len(re.findall(r"(?m)^`{3,}\{=typst\}\n(?!#if false \[$|\]$)", qmd))   # not a note's
    # a table's note is hidden from Typst (the PDF sets it inside the table): each hidden span is one note
    hidden = re.findall(r"`{3,}\{=typst\}\n#if false \[\n`{3,}\n\n::: \{\.tp-note\}\n[^\n]+\n:::\n\n`{3,}\{=typst\}\n\]\n", qmd)
    assert len(hidden) == qmd.count("#if false [") >= 10
    html_tables = len(re.findall(r'(?m)^`{3,}\{=html\}\n<div class="tp-scroll"><table class="tp-table" id=', qmd))
    assert typst_tables >= 10 and html_tables == typst_tables == qmd.count("#table(")
    assert "{=openxml}" not in qmd and "<w:tbl>" not in qmd


def test_html_is_self_contained_and_has_the_os_sentence(rendered: Path) -> None:
    html = (rendered / "report.html").read_text()
    import html as htmllib

    text = htmllib.unescape(re.sub(r"<[^>]+>", "", html)).replace("\xa0", " ")
    m = OS_SENTENCE.search(text)
    assert m, "OS sentence missing from HTML"
    assert not re.search(r'(src|href)="https?://', html), "HTML must not load anything from the network"
    # every figure is embedded, and nothing else is fetched (no local file either)
    assert html.count('src="data:image/svg+xml;base64,') == len(list((rendered / "figures").glob("*.svg")))
    assert not re.search(r'<[a-z]+\b[^>]*\bsrc="(?!data:)', html) and "<link" not in html


def test_pdf_has_the_os_sentence_with_the_ard_numbers(rendered: Path) -> None:
    text = re.sub(r"\s+", " ", pdf_text(rendered / "report.pdf").replace("\xa0", " ")).replace("- ", "-")
    m = OS_SENTENCE.search(text)
    assert m, text[:2000]
    ard = {r["id"]: r for r in json.loads((rendered / "ard.json").read_text())["rows"]}
    assert m.group(1) == f"{ard[keys.km('OS', 'median', 'FIRST').id]['value']:.1f}"
    assert m.group(2) == f"{ard[keys.km('OS', 'median', 'LATER').id]['value']:.1f}"
    assert m.group(3) == f"{ard[keys.model('OS', 'cox', 'hr', 'LATER').id]['value']:.2f}"


def test_same_inputs_create_no_new_version(rendered: Path) -> None:
    outcome = render(FLAGSHIP, report_root=rendered.parents[1], report_date="2026-01-01")
    assert not outcome.created and outcome.folder == rendered


def test_every_number_links_to_its_ard_row_and_the_appendix_lists_the_checks(rendered: Path) -> None:
    """The HTML's number links all land on a row of the appended ARD (read back from ard.csv, not from the
    engine), and the appendix holds the gate's checks, the inputs with their hashes and the software."""
    import csv

    from trialpress.report.tables import ard_anchor

    html = (rendered / "report.html").read_text(encoding="utf-8")
    links = set(re.findall(r'<a class="ard" href="#(ard-[^"]+)"', html))
    targets = set(re.findall(r'<tr id="(ard-[^"]+)"', html))
    with (rendered / "ard.csv").open(encoding="utf-8", newline="") as f:
        rows = [r["id"] for r in csv.DictReader(f)]
    assert len(links) > 100 and links <= targets
    assert targets == {ard_anchor(i) for i in rows}
    internal = set(re.findall(r'href="#([^"]+)"', html))        # tables, figures, sections too
    assert internal <= set(re.findall(r'\sid="([^"]+)"', html))
    checks = json.loads((rendered / "quality.json").read_text(encoding="utf-8"))["results"]
    text = pdf_text(rendered / "report.pdf")
    assert f"{len(checks)} checks were run; {len(checks)} passed." in " ".join(text.split())
    manifest = json.loads((rendered / "manifest.json").read_text(encoding="utf-8"))
    data_inputs = [k for k in manifest["inputs"] if k.startswith("data:")]
    for key in data_inputs:
        assert manifest["inputs"][key]["sha256"][:16] in html
    for heading in ("Data-quality checks", "Inputs", "Software", "Analysis results dataset"):
        assert f">{heading}</h3>" in html or f">{heading}</h2>" in html, heading

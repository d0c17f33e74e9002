"""Shared fixtures: the project root, the flagship plan, a copy of the project for destructive tests; a Typst
source compiled as the engines compile the PDF."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "analysis" / "blinatumomab-salvage.yml"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture()
def project_copy(tmp_path: Path) -> Path:
    """A throwaway copy of the project's inputs (plan, data, templates) to corrupt or change."""
    dst = tmp_path / "project"
    dst.mkdir()
    shutil.copy(ROOT / "_quarto.yml", dst / "_quarto.yml")
    for folder in ("analysis", "data", "templates"):
        shutil.copytree(ROOT / folder, dst / folder)
    return dst


def typst_pdf(tmp_path: Path, source: str) -> Path:
    """`source` compiled to a PDF in `tmp_path` with the fonts the engines give Typst (no system fonts)."""
    import typst

    from trialpress.report import engines

    src, pdf = tmp_path / "t.typ", tmp_path / "t.pdf"
    src.write_text(source, encoding="utf-8")
    typst.compile(str(src), output=str(pdf), root=str(tmp_path), font_paths=engines.font_paths(),
                  ignore_system_fonts=True)
    return pdf

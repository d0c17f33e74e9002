"""Shared fixtures: the project root, the flagship plan, a copy of the project for destructive tests."""

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

"""Project paths resolved in one place, from the project root, never from the cwd alone.

The project root is the nearest ancestor of the plan file (or of the cwd) that holds
`_quarto.yml`; that is where `data/`, `analysis/`, `templates/` and `report/` live.
"""

from __future__ import annotations

from pathlib import Path

ROOT_MARKER = "_quarto.yml"


def find_root(start: Path | None = None) -> Path:
    """Nearest ancestor of `start` (default: cwd) containing `_quarto.yml`, else `start`."""
    here = (start or Path.cwd()).resolve()
    if here.is_file():
        here = here.parent
    for candidate in (here, *here.parents):
        if (candidate / ROOT_MARKER).is_file():
            return candidate
    return here


def plan_root(plan_path: Path) -> Path:
    """The root a plan's relative paths (`data.folder`, templates, `report/`) are read from: `find_root` of
    the plan's folder. `init` writes the data folder relative to it, so a plan loads its data wherever it is."""
    return find_root(plan_path.resolve().parent)


def bundled_templates() -> Path:
    """Templates shipped with the source tree (used when a project has none of its own)."""
    return Path(__file__).resolve().parents[2] / "templates"

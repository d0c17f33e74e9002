"""Project paths resolved in one place, from the project root, never from the cwd alone.

The project root is the nearest ancestor of the plan file (or of the cwd) that holds
`_quarto.yml`; that is where `data/`, `analysis/`, `templates/` and `report/` live.
"""

from __future__ import annotations

from pathlib import Path

ROOT_MARKER = "_quarto.yml"
PLANS_FOLDER = "analysis"   # where a project keeps its plans


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
    """The root a plan's relative paths (`data.folder`, templates, `report/`) are read from: the project
    (`find_root` of the plan's folder) or, outside any project, the folder that holds the plan's `analysis/`
    folder (the layout `init` writes), else the plan's own folder. `init` names the data folder relative to
    it, so a plan loads its data wherever it is written."""
    folder = plan_path.resolve().parent
    root = find_root(folder)
    if not (root / ROOT_MARKER).is_file() and folder.name == PLANS_FOLDER:
        return folder.parent
    return root


def bundled_templates() -> Path:
    """Templates shipped with the source tree (used when a project has none of its own: `template_folder`)."""
    return Path(__file__).resolve().parents[2] / "templates"


def template_folder(root: Path, name: str) -> Path | None:
    """The template set `name`: the project's own (`templates/<name>` under `root`), else the bundled one;
    None when neither exists."""
    for base in (root / "templates", bundled_templates()):
        if (base / name).is_dir():
            return base / name
    return None

"""Where versions live (`<report root>/<study>/<version>/`) and what a path there is.

A version path is either free (nothing there), a complete version (a folder with its manifest), or
occupied by something else (a plain file, a half-copied folder, an empty folder): an occupied path is an
`ArtefactError` naming it, never silently skipped and never written into. Nothing outside a render's own
staging folder is ever written below a version folder (`refuse_inside_version` guards `--out`).
"""

from __future__ import annotations

from pathlib import Path

from trialpress.errors import ArtefactError

MANIFEST = "manifest.json"
STAGING_MARK = ".tmp-"
FAILED = "_failed"        # report/<study>/_failed/<version>/: a failed gate's report
CACHE = ".cache"          # report/.cache/: reusable work (store.cache)


def version_dir(report_root: Path, study: str, version: str) -> Path:
    return report_root / study / version


def is_staging(p: Path) -> bool:
    return p.name.startswith(".") and STAGING_MARK in p.name


def is_version_folder(p: Path) -> bool:
    return p.is_dir() and (p / MANIFEST).is_file()


def study_dirs(report_root: Path, study: str | None) -> list[Path]:
    if study:
        return [report_root / study]
    if not report_root.is_dir():
        return []
    return sorted(p for p in report_root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def version_folders(study_dir: Path) -> list[Path]:
    if not study_dir.is_dir():
        return []
    return sorted(p for p in study_dir.iterdir() if not p.name.startswith((".", "_")) and is_version_folder(p))


def occupied(path: Path) -> str | None:
    """Why `path` cannot become a new version folder (None: it is free)."""
    if not path.exists() and not path.is_symlink():
        return None
    if path.is_symlink():
        return "a symbolic link is there"
    if not path.is_dir():
        return "a file (not a version folder) is there"
    if not (path / MANIFEST).is_file():
        entries = sum(1 for _ in path.iterdir())
        return ("an empty folder is there" if not entries else
                f"a folder without {MANIFEST} is there ({entries} entr{'y' if entries == 1 else 'ies'}): "
                "a half-copied or interrupted version")
    return None


def occupied_error(path: Path, why: str) -> ArtefactError:
    return ArtefactError(f"The new version's folder {path} is occupied: {why}. Nothing was written into it.",
                         hint=f"Move {path} away (or delete it if it is not needed), then render again.")


def version_of(path: Path) -> Path | None:
    """The version folder `path` is (or lies inside), if any: the nearest ancestor holding a manifest."""
    here = path.resolve()
    for candidate in (here, *here.parents):
        if (candidate / MANIFEST).is_file():
            return candidate
    return None


def refuse_inside_version(path: Path, report_root: Path | None, what: str) -> None:
    """Raise if `path` is, or lies inside, a version folder (one holding manifest.json, or any folder below
    <report root>/<study>/<version>/): versions are immutable, and a render's own output never goes there."""
    inside = version_of(path)
    if inside is None and report_root is not None:
        try:
            rel = path.resolve().relative_to(report_root.resolve())
        except ValueError:
            rel = None
        if rel is not None and len(rel.parts) >= 2 and not rel.parts[0].startswith("."):
            inside = report_root / rel.parts[0] / rel.parts[1]
    if inside is not None:
        raise ArtefactError(f"{what} {path} is inside the version folder {inside}: versions are immutable, "
                            "nothing is written into them.",
                            hint=f"Choose a folder outside {report_root or inside.parent}, e.g. build/ard.")

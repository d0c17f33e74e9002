"""Versioned, immutable report artefacts: input hashing, atomic writes, the manifest.

A version id is the SHA-256 of every input (data files, plan, templates, engine version and the
versions of the packages that compute and render). The same inputs give the same id, so a
re-render creates nothing; changed inputs give a new folder; nothing is overwritten. A render is
built in a hidden temporary folder and renamed into place only when complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from trialpress import __version__
from trialpress.errors import ArtefactError

PACKAGES = ("pandas", "numpy", "scipy", "lifelines", "statsmodels", "matplotlib", "jinja2", "great_expectations",
            "pyreadstat", "pyarrow", "pypandoc-binary", "typst", "pyyaml", "pydantic", "markupsafe")
MANIFEST = "manifest.json"
VERSION_ID_LENGTH = 12


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "trialpress": __version__}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@dataclass(frozen=True)
class Inputs:
    """Everything a render depends on, with hashes; `version_id` derives from it."""

    files: dict[str, dict[str, Any]]      # role/path -> {sha256, size}
    packages: dict[str, str]
    renderer: dict[str, str]

    @property
    def digest(self) -> str:
        payload = json.dumps({"files": {k: v["sha256"] for k, v in self.files.items()},
                              "packages": self.packages, "renderer": self.renderer}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    @property
    def version_id(self) -> str:
        return self.digest[:VERSION_ID_LENGTH]


def collect_inputs(root: Path, plan_path: Path, data_files: list[Path], template_dir: Path,
                   renderer: dict[str, str]) -> Inputs:
    files: dict[str, dict[str, Any]] = {}

    def add(role: str, path: Path) -> None:
        rel = _rel(path, root)
        files[f"{role}:{rel}"] = {"sha256": sha256_file(path), "size": path.stat().st_size}

    add("plan", plan_path)
    for p in sorted(data_files):
        add("data", p)
    for p in sorted(q for q in template_dir.rglob("*") if q.is_file() and "__pycache__" not in q.parts):
        add("template", p)
    engine = Path(__file__).resolve().parents[1]
    for p in sorted(engine.rglob("*.py")):
        rel = p.relative_to(engine.parent).as_posix()
        files[f"engine:{rel}"] = {"sha256": sha256_file(p), "size": p.stat().st_size}
    return Inputs(files, package_versions(), renderer)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def git_state(root: Path) -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, timeout=5)
        return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def version_dir(report_root: Path, study: str, version: str) -> Path:
    return report_root / study / version


def existing_version(report_root: Path, study: str, version: str) -> Path | None:
    d = version_dir(report_root, study, version)
    return d if (d / MANIFEST).is_file() else None


class StagingArea:
    """A temporary folder beside the final one, renamed into place on success, removed on failure."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.path: Path | None = None

    def __enter__(self) -> Path:
        try:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.tmp-", dir=self.final.parent))
        except OSError as exc:
            raise ArtefactError(f"Cannot create a folder under {self.final.parent}: {exc.strerror}.",
                                hint="Check permissions and free disk space of the report folder.") from None
        return self.path

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self.path is not None
        if exc_type is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        try:
            if self.final.exists():
                # another process finished the same version first: identical content by construction
                shutil.rmtree(self.path, ignore_errors=True)
                return
            _fsync_tree(self.path)
            self.path.chmod(0o755)
            os.rename(self.path, self.final)
        except OSError as exc2:
            shutil.rmtree(self.path, ignore_errors=True)
            raise ArtefactError(f"Cannot move the finished render into {self.final}: {exc2.strerror}.",
                                hint="Check permissions and free disk space of the report folder.") from None


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with p.open("rb") as fh:
                os.fsync(fh.fileno())


def clean_stale_staging(study_dir: Path) -> None:
    """Remove temporary folders left by an interrupted render (never a finished version)."""
    if not study_dir.is_dir():
        return
    for p in study_dir.iterdir():
        if p.is_dir() and p.name.startswith(".") and ".tmp-" in p.name:
            shutil.rmtree(p, ignore_errors=True)


def write_manifest(folder: Path, *, inputs: Inputs, study: str, version: str, git: dict[str, Any],
                   renderer: dict[str, str], quality: dict[str, int], created: dt.datetime,
                   report_date: str) -> Path:
    artefacts = {p.relative_to(folder).as_posix(): {"sha256": sha256_file(p), "size": p.stat().st_size}
                 for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST}
    body = {
        "study": study,
        "version": version,
        "inputs_digest": inputs.digest,
        "inputs": inputs.files,
        "packages": inputs.packages,
        "renderer": renderer,
        "git": git,
        "quality": quality,
        "report_date": report_date,
        "artefacts": artefacts,
        "created": created.replace(microsecond=0).isoformat(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(body, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return path

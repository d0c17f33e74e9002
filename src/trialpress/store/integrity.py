"""Is a version folder what its manifest says? (used before "up to date", by `list` and by `verify`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trialpress.store.folders import MANIFEST
from trialpress.store.hashing import sha256_file
from trialpress.store.manifest import content_digest

# upstream first: when several artefacts differ, the first named points nearest to the cause
STAGE_ORDER = ("report.qmd", "ard.csv", "ard.json", "quality.json", "figures/", "report.html", "report.pdf",
               "report.docx", "tlf/")


def stage_key(name: str) -> tuple[int, str]:
    for i, prefix in enumerate(STAGE_ORDER):
        if name == prefix or (prefix.endswith("/") and name.startswith(prefix)):
            return i, name
    return len(STAGE_ORDER), name


def integrity_problems(folder: Path, manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """Artefacts that differ from the manifest (in pipeline order), then the manifest itself."""
    problems: list[tuple[str, str]] = []
    recorded: dict[str, dict[str, Any]] = manifest.get("artefacts", {})
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST}
    for name in sorted(set(recorded) | present, key=stage_key):
        if name not in present:
            problems.append((name, "missing"))
        elif name not in recorded:
            problems.append((name, "not in the manifest (added after the render)"))
        else:
            path = folder / name
            try:
                same = path.stat().st_size == recorded[name].get("size") and sha256_file(path) == recorded[name]["sha256"]
            except OSError as exc:
                problems.append((name, f"cannot be read ({exc.strerror})"))
                continue
            if not same:
                problems.append((name, "content differs from its SHA-256 in the manifest"))
    content = manifest.get("content")
    if isinstance(content, dict) and content.get("sha256") != content_digest(manifest):
        problems.append((MANIFEST, "hashed content edited (content.sha256 does not match)"))
    return problems

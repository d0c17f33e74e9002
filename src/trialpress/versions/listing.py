"""`trialpress list`: one row per version folder (and per failed gate), damaged ones included as damaged."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialpress.errors import ArtefactError
from trialpress.store.folders import FAILED, MANIFEST, is_version_folder, study_dirs
from trialpress.store.hashing import VERSION_ID_LENGTH, role_digests
from trialpress.store.integrity import integrity_problems
from trialpress.store.manifest import read_manifest
from trialpress.versions.find import default_report_root

_VERSION_NAME = re.compile(rf"[0-9a-f]{{{VERSION_ID_LENGTH}}}")


@dataclass(frozen=True)
class VersionInfo:
    study: str
    version: str
    folder: Path
    created: str = ""
    report_date: str = ""
    data_cutoff: str = ""
    data_files: list[str] = field(default_factory=list)
    data_sha256: str = ""
    plan_sha256: str = ""
    quality: str = "unknown"
    integrity: str = "not checked"   # intact | modified: <first file> | damaged: <why> | gate failed: …


def created_of(m: dict[str, Any]) -> str:
    prov = m.get("provenance")
    return str((prov.get("created") if isinstance(prov, dict) else None) or m.get("created") or "")


def quality_status(q: Any) -> str:
    if not isinstance(q, dict) or not q:
        return "unknown"
    try:
        errors, warnings = int(q.get("errors", 0)), int(q.get("warnings", 0))
    except (TypeError, ValueError):
        return "unknown"
    if errors:
        return f"failed: {errors} error(s)"
    return f"passed {q.get('passed', '?')}/{q.get('checks', '?')}" + (f", {warnings} warning(s)" if warnings else "")


def _mtime_iso(p: Path) -> str:
    return dt.datetime.fromtimestamp(p.stat().st_mtime, dt.timezone.utc).replace(microsecond=0).isoformat()


def version_info(study: str, folder: Path, check_integrity: bool = True) -> VersionInfo:
    """One version folder as a row; a damaged one as one row saying why."""
    if not is_version_folder(folder):
        return VersionInfo(study, folder.name, folder, _mtime_iso(folder),
                           integrity=f"damaged: no {MANIFEST} (half-copied, or not a version)")
    try:
        m = read_manifest(folder)
    except ArtefactError as exc:
        why = exc.message.replace(str(folder / MANIFEST), MANIFEST).removesuffix(": the version folder is damaged.")
        return VersionInfo(study, folder.name, folder, _mtime_iso(folder), integrity=f"damaged: {why}")
    inputs = m.get("inputs", {})
    plan = next((v["sha256"] for k, v in inputs.items() if k.startswith("plan:")), "")
    data = [Path(k.split(":", 1)[1]).name for k in inputs if k.startswith("data:")]
    integrity = "not checked"
    if check_integrity:
        first = integrity_problems(folder, m)
        integrity = "intact" if not first else f"modified: {first[0][0]}"
    return VersionInfo(study, folder.name, folder, created_of(m), m.get("report_date", ""), m.get("data_cutoff", ""),
                       data, role_digests(inputs)["data"]["sha256"] if inputs else "", plan,
                       quality_status(m.get("quality")), integrity)


def _failed(study: str, sdir: Path) -> list[VersionInfo]:
    failed = sdir / FAILED
    out = []
    for folder in sorted(failed.iterdir()) if failed.is_dir() else []:
        summary = None
        try:
            summary = json.loads((folder / "quality.json").read_text(encoding="utf-8")).get("summary")
        except (OSError, ValueError, AttributeError):
            summary = None
        out.append(VersionInfo(study, folder.name, folder, _mtime_iso(folder), quality=quality_status(summary),
                               integrity="gate failed: nothing rendered"))
    return out


def list_versions(report_root: Path | None = None, study: str | None = None,
                  check_integrity: bool = True) -> list[VersionInfo]:
    root = report_root or default_report_root()
    out: list[VersionInfo] = []
    for sdir in study_dirs(root, study):
        if not sdir.is_dir():
            continue
        for folder in sorted(sdir.iterdir()):
            if folder.is_dir() and not folder.name.startswith((".", "_")) and (
                    (folder / MANIFEST).exists() or _VERSION_NAME.fullmatch(folder.name)):
                out.append(version_info(sdir.name, folder, check_integrity))
        out += _failed(sdir.name, sdir)
    return sorted(out, key=lambda v: (v.study, v.created, v.version))

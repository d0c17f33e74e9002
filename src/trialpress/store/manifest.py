"""`manifest.json`: what a version is made of, in two parts.

* the **content** — every key listed in its `content.fields` — is a pure function of the inputs: the
  study, version, report date, data cut-off, formats, the input files with SHA-256 and size, their
  per-role digests (plan, data, templates, engine), the package versions and the lock file's hash, the
  renderer, the figure style, the quality-gate summary, the abstract's sentences and every artefact's
  SHA-256 and size. `content.sha256` is the SHA-256 of those keys serialised as canonical JSON (sorted
  keys, no whitespace, UTF-8). Two renders of the same inputs have the same content on any machine.
* the **provenance** — `provenance.created` (UTC), `provenance.command`, `provenance.git` (commit and
  dirty flag), `provenance.project` (absolute project folder, for people: verify never reads inputs from
  it) and `provenance.host` — says when, where and how this copy was made. It is not hashed.

`read_manifest` checks every field the tools use (type and shape) and raises one `ArtefactError` that says
what is wrong, so a damaged manifest is reported, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from trialpress.errors import ArtefactError
from trialpress.store.folders import MANIFEST
from trialpress.store.hashing import Inputs, sha256_file

MANIFEST_SCHEMA = 3
CONTENT_FIELDS = ("schema", "study", "version", "report_date", "data_cutoff", "formats", "inputs_digest",
                  "input_digests", "inputs", "packages", "lock", "renderer", "style", "quality", "abstract",
                  "artefacts")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FORMATS = ("html", "pdf", "docx", "rtf")
_DAMAGED_HINT = "Run `trialpress verify` on it; re-render the study to recreate the version."


def content_digest(manifest: dict[str, Any]) -> str:
    """SHA-256 of the hashed part of a manifest (the keys named in `content.fields`)."""
    content = manifest.get("content")
    names = content.get("fields", CONTENT_FIELDS) if isinstance(content, dict) else CONTENT_FIELDS
    body = {k: manifest.get(k) for k in names if isinstance(k, str)}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                                        .encode("utf-8")).hexdigest()


def artefact_hashes(folder: Path) -> dict[str, dict[str, Any]]:
    return {p.relative_to(folder).as_posix(): {"sha256": sha256_file(p), "size": p.stat().st_size}
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST}


def git_state(root: Path) -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, timeout=5)
        return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def write_manifest(folder: Path, *, inputs: Inputs, study: str, version: str, git: dict[str, Any],
                   renderer: dict[str, str], quality: dict[str, int], created: dt.datetime,
                   data_cutoff: str = "not recorded", abstract: list[dict[str, str]] | None = None,
                   project: Path | None = None) -> Path:
    body: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "study": study,
        "version": version,
        "report_date": inputs.report_date,
        "data_cutoff": data_cutoff,
        "formats": sorted(inputs.formats),
        "inputs_digest": inputs.digest,
        "input_digests": inputs.role_digests(),
        "inputs": inputs.files,
        "packages": inputs.packages,
        "lock": inputs.lock,
        "renderer": renderer,
        "style": inputs.style,
        "quality": quality,
        "abstract": abstract or [],
        "artefacts": artefact_hashes(folder),
    }
    body["content"] = {"fields": list(CONTENT_FIELDS), "sha256": content_digest(body),
                       "note": "content.sha256 = SHA-256 of the listed keys as canonical JSON (sorted keys, no "
                               "whitespace, UTF-8); provenance is not hashed"}
    body["provenance"] = {
        "created": created.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "git": git,
        "project": str(project.resolve()) if project is not None else None,
        "host": socket.gethostname(),
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a version folder, every field the tools read checked; ArtefactError if damaged."""
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtefactError(f"{folder} has no {MANIFEST}: it is not a version folder.",
                            hint="Name a folder under report/<study>/ or a version id (trialpress list).") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtefactError(f"{path} cannot be read ({getattr(exc, 'strerror', None) or exc}): the version "
                            "folder is damaged.", hint=_DAMAGED_HINT) from None
    except ValueError as exc:
        raise ArtefactError(f"{path} is not valid JSON ({exc}): the version folder is damaged.",
                            hint=_DAMAGED_HINT) from None
    problem = manifest_problem(data)
    if problem:
        raise ArtefactError(f"{path} is damaged: {problem}.", hint=_DAMAGED_HINT)
    return data


def _files_problem(name: str, value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"'{name}' is not an object"
    for key, rec in value.items():
        if not isinstance(rec, dict) or not isinstance(rec.get("sha256"), str) or not _HEX64.fullmatch(rec["sha256"]):
            return f"'{name}' entry {key!r} has no SHA-256"
        if not isinstance(rec.get("size"), int) or isinstance(rec.get("size"), bool):
            return f"'{name}' entry {key!r} has no size"
    return None


def manifest_problem(data: Any) -> str | None:
    """What makes `data` unusable as a manifest (None: nothing)."""
    if not isinstance(data, dict):
        return "it is not a JSON object"
    for name in ("version", "study"):
        if not isinstance(data.get(name), str) or not data[name]:
            return f"'{name}' is missing or not text"
    for name in ("artefacts", "inputs"):
        problem = _files_problem(name, data.get(name, {} if name == "inputs" else None))
        if problem:
            return problem
    if any(not isinstance(k, str) or ":" not in k for k in data.get("inputs", {})):
        return "an 'inputs' key is not 'role:path'"
    for name in ("packages", "renderer", "quality", "provenance", "lock", "style"):
        if name in data and not isinstance(data[name], dict):
            return f"'{name}' is not an object"
    for name in ("report_date", "data_cutoff"):
        if name in data and not isinstance(data[name], str):
            return f"'{name}' is not text"
    if "formats" in data and (not isinstance(data["formats"], list) or
                              not all(f in FORMATS for f in data["formats"])):
        return f"'formats' is not a list of {', '.join(FORMATS)}"
    if "report_date" in data and not _ISO_DATE.fullmatch(data["report_date"]):
        return "'report_date' is not a date YYYY-MM-DD"
    abstract = data.get("abstract", [])
    if not isinstance(abstract, list) or not all(
            isinstance(s, dict) and isinstance(s.get("section"), str) and isinstance(s.get("sentence"), str)
            for s in abstract):
        return "'abstract' is not a list of {section, sentence}"
    content = data.get("content")
    if content is not None and (not isinstance(content, dict) or not isinstance(content.get("sha256"), str)
                                or not isinstance(content.get("fields", []), list)):
        return "'content' has no SHA-256 or field list"
    return None

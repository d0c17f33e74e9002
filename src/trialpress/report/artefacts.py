"""Versioned, immutable report artefacts: input hashing, atomic writes, the manifest.

A version id is the SHA-256 of every input: the data files, the plan, the templates, the engine's own
source files, the installed versions of every package in `requirements.lock` (and Python), and the
document renderer's versions. The same inputs give the same id, so a re-render creates nothing; changed
inputs give a new folder; nothing is overwritten.

Atomicity: a render is built in a hidden staging folder `.<version>.tmp-XXXX` beside the final one and
renamed into place only when complete (every file fsync'ed first; `rename` is atomic on one file system).
While a render runs it holds an exclusive `flock` on `.<version>.tmp-XXXX.lock`; a staging folder whose
lock is free belongs to a render that died (kill -9, power loss) and is removed by the next render. A
version folder therefore either exists complete, with its manifest, or not at all.

`manifest.json` has two parts:

* the **content** — every key listed in its `content.fields` — is a pure function of the inputs: the
  study, version, report date, data cut-off, formats, the input files with SHA-256 and size, their
  per-role digests (plan, data, templates, engine), the package versions and the lock file's hash, the
  renderer, the quality-gate summary and every artefact's SHA-256 and size. `content.sha256` is the
  SHA-256 of those keys serialised as canonical JSON (sorted keys, no whitespace, UTF-8). Two renders of
  the same inputs have the same content and the same `content.sha256`, on any machine.
* the **provenance** — `provenance.created` (UTC), `provenance.command`, `provenance.git` (commit and
  dirty flag), `provenance.project` (absolute project folder) and `provenance.host` — says when, where and
  how this copy was made. It differs between two otherwise identical renders and is not hashed.

`trialpress verify` checks both artefact hashes and `content.sha256`, so editing any artefact or the
hashed part of the manifest is detected.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from trialpress import __version__
from trialpress.errors import ArtefactError

# always recorded, even without a lock file (the methods section names several of them)
PACKAGES = ("pandas", "numpy", "scipy", "lifelines", "statsmodels", "matplotlib", "jinja2", "great_expectations",
            "pyreadstat", "pyarrow", "pypandoc-binary", "typst", "pyyaml", "pydantic", "markupsafe")
MANIFEST = "manifest.json"
MANIFEST_SCHEMA = 2
LOCK_FILE = "requirements.lock"
VERSION_ID_LENGTH = 12
STAGING_MARK = ".tmp-"
STALE_UNLOCKED_SECONDS = 60
# keys of manifest.json outside the hashed content
PROVENANCE_KEYS = ("provenance",)
CONTENT_FIELDS = ("schema", "study", "version", "report_date", "data_cutoff", "formats", "inputs_digest",
                  "input_digests", "inputs", "packages", "lock", "renderer", "quality", "artefacts")
ROLES = ("plan", "data", "template", "engine")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def engine_source_root() -> Path:
    """The source tree the engine runs from (holds requirements.lock in a checkout / editable install)."""
    return Path(__file__).resolve().parents[3]


def find_lock(project_root: Path | None = None) -> Path | None:
    for folder in (engine_source_root(), project_root):
        if folder is not None and (folder / LOCK_FILE).is_file():
            return folder / LOCK_FILE
    return None


def read_lock(path: Path) -> dict[str, str]:
    """name -> pinned version of every `name==version` line (comments and options ignored)."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;]+)", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _installed(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def package_versions(lock: Path | None = None) -> dict[str, str]:
    """Python, trialpress and the installed version of every locked package (plus the core set)."""
    out = {"python": platform.python_version(), "trialpress": __version__}
    names = list(read_lock(lock)) if lock is not None else []
    seen = {_canonical(n) for n in names}
    names += [n for n in PACKAGES if _canonical(n) not in seen]
    for name in names:
        out[name] = _installed(name)
    return dict(sorted(out.items(), key=lambda kv: kv[0].lower()))


def lock_state(lock: Path | None, packages: dict[str, str]) -> dict[str, Any]:
    """The lock file's hash and whether the installed packages are the locked ones."""
    if lock is None:
        return {"file": None, "sha256": None, "matches_installed": None, "differences": {}}
    pinned = read_lock(lock)
    diffs = {n: {"locked": v, "installed": packages.get(n, "not installed")}
             for n, v in pinned.items() if packages.get(n) != v}
    return {"file": LOCK_FILE, "sha256": sha256_file(lock), "matches_installed": not diffs, "differences": diffs}


@dataclass(frozen=True)
class Inputs:
    """Everything a render depends on, with hashes; `version_id` derives from it."""

    files: dict[str, dict[str, Any]]      # role:path -> {sha256, size}
    packages: dict[str, str]
    renderer: dict[str, str]
    lock: dict[str, Any] = field(default_factory=dict)   # recorded, not part of the digest

    @property
    def digest(self) -> str:
        payload = json.dumps({"files": {k: v["sha256"] for k, v in self.files.items()},
                              "packages": self.packages, "renderer": self.renderer}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    @property
    def version_id(self) -> str:
        return self.digest[:VERSION_ID_LENGTH]

    def role_digests(self) -> dict[str, dict[str, Any]]:
        """One SHA-256 per role (plan, data, template, engine) over its files' paths and hashes."""
        return role_digests(self.files)


def role_digests(files: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for role in ROLES:
        items = sorted((k, v["sha256"]) for k, v in files.items() if k.split(":", 1)[0] == role)
        out[role] = {"sha256": hashlib.sha256(json.dumps(items).encode()).hexdigest(), "files": len(items)}
    return out


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
    lock = find_lock(root)
    packages = package_versions(lock)
    return Inputs(files, packages, renderer, lock_state(lock, packages))


def input_path(key: str, root: Path) -> Path:
    """Where the file recorded under `role:path` lives now (engine files: in the running engine)."""
    role, rel = key.split(":", 1)
    if role == "engine":
        return Path(__file__).resolve().parents[2] / rel
    p = Path(rel)
    return p if p.is_absolute() else root / p


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


# --- atomic writes ------------------------------------------------------------------------------

_DISK_ERRNOS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
                errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
                errno.EROFS: "the file system is read-only", errno.ENOTDIR: "a path component is a file, not a folder",
                errno.EEXIST: "a file is in the way"}
_HINT = "Check that the report folder exists, is writable and has free space, or choose another with --out."


def _why(exc: OSError) -> str:
    return _DISK_ERRNOS.get(exc.errno or 0, exc.strerror or str(exc))


class StagingArea:
    """A temporary folder beside the final one, renamed into place on success, removed on failure.

    OS errors inside the block (disk full, permission denied, read-only file system) become an
    `ArtefactError` naming the folder; the staging folder is removed and no version folder appears.
    """

    def __init__(self, final: Path) -> None:
        self.final = final
        self.path: Path | None = None
        self._lock_fd: int | None = None
        self._lock_path: Path | None = None

    def __enter__(self) -> Path:
        parent = self.final.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            # the lock exists (and is held) before the folder it guards, so a cleaner never sees an
            # unguarded live staging folder
            fd, lock = tempfile.mkstemp(prefix=f".{self.final.name}{STAGING_MARK}", suffix=".lock", dir=parent)
            self._lock_fd, self._lock_path = fd, Path(lock)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.path = Path(lock[: -len(".lock")])
            self.path.mkdir()
        except OSError as exc:
            self._release()
            raise ArtefactError(f"Cannot create a staging folder under {parent}: {_why(exc)}.", hint=_HINT) from None
        return self.path

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        if self._lock_path is not None:
            self._lock_path.unlink(missing_ok=True)
            self._lock_path = None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        assert self.path is not None
        try:
            if exc_type is not None:
                shutil.rmtree(self.path, ignore_errors=True)
                if isinstance(exc, OSError):
                    raise ArtefactError(f"Cannot write the render under {self.final.parent}: {_why(exc)}"
                                        f"{f' ({exc.filename})' if exc.filename else ''}.", hint=_HINT) from None
                return
            self._publish()
        finally:
            self._release()

    def _publish(self) -> None:
        assert self.path is not None
        try:
            if self.final.exists():
                # another process finished the same version first: identical content by construction
                shutil.rmtree(self.path, ignore_errors=True)
                return
            _fsync_tree(self.path)
            self.path.chmod(0o755)
            try:
                os.rename(self.path, self.final)
            except OSError as exc:
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST) and (self.final / MANIFEST).is_file():
                    shutil.rmtree(self.path, ignore_errors=True)   # lost a race to an identical render
                    return
                raise
            _fsync_dir(self.final.parent)
        except OSError as exc2:
            shutil.rmtree(self.path, ignore_errors=True)
            raise ArtefactError(f"Cannot move the finished render into {self.final}: {_why(exc2)}.",
                                hint=_HINT) from None


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with p.open("rb") as fh:
                os.fsync(fh.fileno())
    for d in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        _fsync_dir(d)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def is_staging(p: Path) -> bool:
    return p.name.startswith(".") and STAGING_MARK in p.name


def _lock_is_free(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def clean_stale_staging(study_dir: Path) -> list[Path]:
    """Remove what interrupted renders left (staging folders whose lock is free), never a live render's
    staging folder and never a finished version. Returns what was removed."""
    removed: list[Path] = []
    if not study_dir.is_dir():
        return removed
    now = time.time()

    def old(p: Path) -> bool:   # a lock without its folder (or the reverse) is young only mid-creation
        try:
            return now - p.stat().st_mtime > STALE_UNLOCKED_SECONDS
        except OSError:
            return False

    for p in sorted(study_dir.iterdir()):
        if not is_staging(p):
            continue
        if p.is_dir():
            lock = p.with_name(p.name + ".lock")
            if (_lock_is_free(lock) if lock.exists() else old(p)):
                shutil.rmtree(p, ignore_errors=True)
                lock.unlink(missing_ok=True)
                removed.append(p)
        elif (p.name.endswith(".lock") and not p.with_name(p.name[: -len(".lock")]).exists() and old(p)
              and _lock_is_free(p)):
            p.unlink(missing_ok=True)
    return removed


# --- the manifest -------------------------------------------------------------------------------

def content_digest(manifest: dict[str, Any]) -> str:
    """SHA-256 of the hashed part of a manifest (the keys named in `content.fields`)."""
    names = manifest.get("content", {}).get("fields", CONTENT_FIELDS)
    body = {k: manifest.get(k) for k in names}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                          .encode("utf-8")).hexdigest()


def artefact_hashes(folder: Path) -> dict[str, dict[str, Any]]:
    return {p.relative_to(folder).as_posix(): {"sha256": sha256_file(p), "size": p.stat().st_size}
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST}


def write_manifest(folder: Path, *, inputs: Inputs, study: str, version: str, git: dict[str, Any],
                   renderer: dict[str, str], quality: dict[str, int], created: dt.datetime,
                   report_date: str, data_cutoff: str = "not recorded", formats: list[str] | None = None,
                   project: Path | None = None) -> Path:
    body: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "study": study,
        "version": version,
        "report_date": report_date,
        "data_cutoff": data_cutoff,
        "formats": sorted(formats or []),
        "inputs_digest": inputs.digest,
        "input_digests": inputs.role_digests(),
        "inputs": inputs.files,
        "packages": inputs.packages,
        "lock": inputs.lock,
        "renderer": renderer,
        "quality": quality,
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
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtefactError(f"{folder} has no {MANIFEST}: it is not a version folder.",
                            hint="Name a folder under report/<study>/ or a version id (trialpress list).") from None
    except (OSError, ValueError) as exc:
        raise ArtefactError(f"{path} cannot be read as JSON ({exc}): the version folder is damaged.",
                            hint="Re-render the study into a fresh report folder.") from None
    if not isinstance(data, dict) or "artefacts" not in data or "version" not in data:
        raise ArtefactError(f"{path} is not a trialpress manifest (no version or artefacts).",
                            hint="Re-render the study into a fresh report folder.")
    return data


def relative_to_root(path: str | Path, root: Path) -> str:
    """A path as recorded in artefacts: relative to the project folder when inside it."""
    return _rel(Path(path), root)

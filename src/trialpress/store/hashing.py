"""The inputs of a render and their hashes: the version id is known from them alone, before any work.

A version id is the first 12 hex digits of the SHA-256 of everything that can change an artefact's bytes:

* the input files, each by role and path: the plan, the data files it reads, the template set, the
  engine's own source files;
* the installed version of every package in `requirements.lock` (and Python, and trialpress);
* the document renderer's versions (pandoc and Typst, or Quarto);
* the output formats and the report date (both printed into or selecting the artefacts);
* the figure style that is not code: the font files matplotlib resolves and FreeType's version
  (`store.style`; matplotlib's settings themselves start from its defaults plus the project's RC, so a
  user's matplotlibrc changes nothing).

The same inputs give the same id on any machine (paths are relative to the project); any change gives a
new id, so a render never claims to be "up to date" with artefacts it would not reproduce.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from trialpress import __version__

# always recorded, even without a lock file (the methods section names several of them)
PACKAGES = ("pandas", "numpy", "scipy", "lifelines", "statsmodels", "matplotlib", "jinja2", "great_expectations",
            "pyreadstat", "pyarrow", "pypandoc-binary", "typst", "pyyaml", "pydantic", "markupsafe")
LOCK_FILE = "requirements.lock"
VERSION_ID_LENGTH = 12
ROLES = ("plan", "data", "template", "engine")
ENGINE = Path(__file__).resolve().parents[1]          # src/trialpress


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_SEEN: dict[tuple[str, int, int, int, int], str] = {}


def sha256_input(path: Path) -> str:
    """`sha256_file`, remembered in this process for a file whose inode, size, modification and change times
    are all unchanged (the change time moves on every write and cannot be set back): a long-running
    `render --watch` re-hashes only what was saved, not gigabytes of unchanged data on every edit."""
    st = path.stat()
    key = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    digest = _SEEN.get(key)
    if digest is None:
        digest = _SEEN[key] = sha256_file(path)
    return digest


def sha256_json(value: Any) -> str:
    """SHA-256 of a value as canonical JSON (sorted keys, no whitespace, UTF-8)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def engine_source_root() -> Path:
    """The source tree the engine runs from (holds requirements.lock in a checkout / editable install)."""
    return ENGINE.parents[1]


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
    """Python, trialpress and the installed version of every locked package (plus the core set). Read once
    per process and lock file: the modules a process has imported do not change when packages are
    reinstalled beside it, so the versions it first found are the ones it runs."""
    return dict(_package_versions(lock, sha256_file(lock) if lock is not None else ""))


@functools.lru_cache(maxsize=4)
def _package_versions(lock: Path | None, lock_digest: str) -> dict[str, str]:
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
    formats: tuple[str, ...] = ()
    report_date: str = ""
    style: dict[str, Any] = field(default_factory=dict)  # fonts and FreeType behind the figures

    @property
    def digest(self) -> str:
        return sha256_json({"files": {k: v["sha256"] for k, v in self.files.items()},
                            "packages": self.packages, "renderer": self.renderer, "formats": sorted(self.formats),
                            "report_date": self.report_date, "style": self.style})

    @property
    def version_id(self) -> str:
        return self.digest[:VERSION_ID_LENGTH]

    def role_digests(self) -> dict[str, dict[str, Any]]:
        """One SHA-256 per role (plan, data, template, engine) over its files' paths and hashes."""
        return role_digests(self.files)

    def of_role(self, role: str, *, exclude: tuple[str, ...] = ()) -> dict[str, str]:
        """path -> SHA-256 of the files of one role (engine paths under `exclude` prefixes left out)."""
        out = {}
        for key, rec in self.files.items():
            r, path = key.split(":", 1)
            if r == role and not path.startswith(exclude):
                out[path] = rec["sha256"]
        return out


def role_digests(files: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for role in ROLES:
        items = sorted((k, v["sha256"]) for k, v in files.items() if k.split(":", 1)[0] == role)
        out[role] = {"sha256": hashlib.sha256(json.dumps(items).encode()).hexdigest(), "files": len(items)}
    return out


def collect_inputs(root: Path, plan_path: Path, data_files: list[Path], template_dir: Path,
                   renderer: dict[str, str], *, formats: list[str] | tuple[str, ...] = (), report_date: str = "",
                   style: dict[str, Any] | None = None) -> Inputs:
    files: dict[str, dict[str, Any]] = {}

    def add(role: str, path: Path) -> None:
        files[f"{role}:{relative_to_root(path, root)}"] = {"sha256": sha256_input(path), "size": path.stat().st_size}

    add("plan", plan_path)
    for p in sorted(data_files):
        add("data", p)
    for p in sorted(q for q in template_dir.rglob("*") if q.is_file() and "__pycache__" not in q.parts):
        add("template", p)
    for p in sorted(ENGINE.rglob("*.py")):
        rel = p.relative_to(ENGINE.parent).as_posix()
        files[f"engine:{rel}"] = {"sha256": sha256_input(p), "size": p.stat().st_size}
    lock = find_lock(root)
    packages = package_versions(lock)
    return Inputs(files, packages, renderer, lock_state(lock, packages), tuple(sorted(set(formats))), report_date,
                  dict(style or {}))


def input_path(key: str, root: Path) -> Path:
    """Where the file recorded under `role:path` lives now (engine files: in the running engine)."""
    role, rel = key.split(":", 1)
    if role == "engine":
        return ENGINE.parent / rel
    p = Path(rel)
    return p if p.is_absolute() else root / p


def relative_to_root(path: str | Path, root: Path) -> str:
    """A path as recorded in artefacts: relative to the project folder when inside it."""
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(path).resolve().as_posix()

"""A version folder from what a user types: a path, a version id or a unique prefix of one."""

from __future__ import annotations

import re
from pathlib import Path

from trialpress.errors import UsageError
from trialpress.store.folders import MANIFEST, study_dirs, version_folders


def default_report_root() -> Path:
    from trialpress.paths import find_root

    return find_root() / "report"


def resolve(ref: str | Path, *, study: str | None = None, report_root: Path | None = None) -> Path:
    """A version folder from a path, or from a version id / unique id prefix under the report root."""
    p = Path(ref)
    if p.is_dir():
        if not (p / MANIFEST).is_file():
            raise UsageError(f"{p} is not a version folder (no {MANIFEST}).",
                             hint="Name a folder report/<study>/<version>/ or a version id (see trialpress list).")
        return p
    text = str(ref)
    if "/" in text or not re.fullmatch(r"[0-9a-f]{4,64}", text):
        raise UsageError(f"No version folder {text!r}.",
                         hint="Name an existing folder or a version id of at least 4 hex digits (see trialpress list).")
    root = report_root or default_report_root()
    hits = [v for s in study_dirs(root, study) for v in version_folders(s) if v.name.startswith(text)]
    if not hits:
        where = root / study if study else root
        raise UsageError(f"No version {text!r} under {where}.",
                         hint="List the versions with `trialpress list`; use --reports for another report folder.")
    if len(hits) > 1:
        raise UsageError(f"Version {text!r} is ambiguous: {', '.join(str(h) for h in hits)}.",
                         hint="Give more digits of the id, or --study.")
    return hits[0]

"""Reusable work, keyed by the hashes of everything it depends on: the writer's loop without recomputation.

Location: `<report root>/.cache/` (`report/.cache/` by default; ignored by git like every folder under
`report/`; never inside a version folder; `list` and `verify` skip it). Two kinds of entry:

* `analysis/<key>/` — the ARD (lossless, `store.codec`), its written forms (`ard.csv`, `ard.json`,
  `curves.csv`) and the passed quality gate (check results, summary, the portable `quality.json`). Key:
  SHA-256 of the data files (project-relative path and SHA-256), the **analysis part of the plan** (the
  validated plan with the presentation keys below removed), the SHA-256 of every engine source file outside
  `trialpress/report/` (the layer rules keep data, quality, analysis and results from importing `report`),
  and every package version (Python included).
* `figures/<key>/` — the figure files, their views (captions, alt text, paths) and the figure numbering.
  Key: the analysis key, plus the plan without the keys figures never show (`FIGURE_IGNORED`), plus the
  engine's `report/` sources, the figure style (`store.style`: fonts, FreeType) and whether raster copies
  are drawn (Word/RTF formats).

Presentation keys (`PRESENTATION`: removed for the analysis key, at any depth): `label`, `short`, `title`,
`subtitle`, `aims`, `design`, `treatment`, `description`, `abbreviation`, `in_abstract`, `y_label`, the top-level
`labels` map and `report` (template set, formats) — except the labels the ARD itself carries (`ARD_LABELS`):
a population's `label` and an endpoint's `subset.label` name the analysed set in the ARD's
`analysis_set.label` rows and method texts, so they stay in the analysis key. Every other key — populations,
flags, conditions, endpoints, units, landmarks, ticks, models, subgroups' values, safety coding,
conventions, quality — is part of the analysis key, so the ARD's method texts (which quote flags and
conditions) are always right. Changing a group, endpoint, subgroup, baseline or safety label, a title, the
abstract's wording, a template or the formats reuses the analysis and the gate.
`tests/test_cache.py` changes every presentation key at once and checks that the ARD and the gate's report
are byte-identical; and changes every key in `FIGURE_IGNORED` and checks the same of the figures.

Invalidation: none needed — a changed input is a different key. Entries are written to a hidden temporary
folder and renamed into place (a reader never sees half an entry); each file's SHA-256 is recorded in
`entry.json` and checked on every read, so a damaged entry is a miss (and is removed), never a wrong
report. A hit touches the entry; beyond `KEEP` entries per kind the least recently used are removed.
Set `TRIALPRESS_CACHE=0` (or `render --no-cache`) to bypass it; `verify` always recomputes without it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trialpress.store.folders import CACHE
from trialpress.store.hashing import Inputs, sha256_json

KEEP = 24
STALE_SECONDS = 3600
ENTRY = "entry.json"
FORMAT = 1

PRESENTATION = frozenset({"label", "short", "title", "subtitle", "aims", "design", "treatment", "description",
                          "abbreviation", "in_abstract", "y_label"})
PRESENTATION_TOP = frozenset({"labels", "report"})
# plan keys the figures never show (their analysis-relevant parts are in the analysis key)
FIGURE_IGNORED_TOP = frozenset({"report", "study", "baseline", "labels", "safety"})
FIGURE_IGNORED = frozenset({"description", "abbreviation", "in_abstract"})
REPORT_ENGINE = ("trialpress/report/",)


def enabled() -> bool:
    return os.environ.get("TRIALPRESS_CACHE", "1") != "0"


def ard_label(path: tuple[str, ...]) -> bool:
    """Whether the `label` at `path` (keys from the plan's top) is carried by the ARD (`ARD_LABELS`)."""
    return (len(path) == 2 and path[0] == "populations") or (bool(path) and path[-1] == "subset")


ARD_LABELS = "populations.<id>.label, <endpoint>.subset.label"


def _strip(value: Any, names: frozenset[str], path: tuple[str, ...] = (), keep_ard_labels: bool = False) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v, names, (*path, k), keep_ard_labels) for k, v in value.items()
                if k not in names or (keep_ard_labels and k == "label" and ard_label(path))}
    if isinstance(value, list):
        return [_strip(v, names, path, keep_ard_labels) for v in value]
    return value


def plan_dump(plan: Any) -> dict[str, Any]:
    return plan.model_dump(mode="json")


def analysis_plan(plan: Any) -> dict[str, Any]:
    """The plan as the analysis and the gate see it: without the presentation keys."""
    dump = {k: v for k, v in plan_dump(plan).items() if k not in PRESENTATION_TOP}
    return _strip(dump, PRESENTATION, keep_ard_labels=True)


def figure_plan(plan: Any) -> dict[str, Any]:
    """The plan as the figures see it (labels included): without the keys no figure shows."""
    dump = {k: v for k, v in plan_dump(plan).items() if k not in FIGURE_IGNORED_TOP}
    return _strip(dump, FIGURE_IGNORED)


def analysis_key(plan: Any, inputs: Inputs) -> str:
    return sha256_json({"kind": "analysis", "format": FORMAT, "data": inputs.of_role("data"),
                        "plan": analysis_plan(plan), "engine": inputs.of_role("engine", exclude=REPORT_ENGINE),
                        "packages": inputs.packages})


def figures_key(plan: Any, inputs: Inputs, analysis: str, raster: bool) -> str:
    report_engine = {k: v for k, v in inputs.of_role("engine").items() if k.startswith(REPORT_ENGINE)}
    return sha256_json({"kind": "figures", "format": FORMAT, "analysis": analysis, "plan": figure_plan(plan),
                        "engine": report_engine, "style": inputs.style, "raster": raster})


@dataclass(frozen=True)
class Entry:
    files: dict[str, bytes]     # name (may hold '/') -> bytes
    meta: dict[str, Any]


class WorkCache:
    """Content-addressed entries under `<report root>/.cache/<kind>/<key>/`."""

    def __init__(self, report_root: Path, active: bool = True) -> None:
        self.root = report_root / CACHE
        self.active = active and enabled()

    def _dir(self, kind: str, key: str) -> Path:
        return self.root / kind / key

    def get(self, kind: str, key: str) -> Entry | None:
        if not self.active:
            return None
        folder = self._dir(kind, key)
        try:
            index = json.loads((folder / ENTRY).read_text(encoding="utf-8"))
            if index.get("format") != FORMAT or index.get("key") != key:
                raise ValueError("another format")
            files = {}
            for name, digest in index["files"].items():
                raw = (folder / name).read_bytes()
                if hashlib.sha256(raw).hexdigest() != digest:
                    raise ValueError(f"{name} damaged")
                files[name] = raw
            os.utime(folder / ENTRY)
            return Entry(files, index.get("meta", {}))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            shutil.rmtree(folder, ignore_errors=True)      # a damaged entry is a miss
            return None

    def put(self, kind: str, key: str, files: dict[str, bytes], meta: dict[str, Any] | None = None) -> bool:
        """Store an entry (atomically); False if the cache folder cannot be written (the render goes on)."""
        if not self.active:
            return False
        final = self._dir(kind, key)
        tmp: Path | None = None
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            if (final / ENTRY).is_file():
                return True
            tmp = Path(tempfile.mkdtemp(prefix=f".{key[:12]}.tmp-", dir=final.parent))
            for name, raw in files.items():
                path = tmp / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(raw)
            index = {"format": FORMAT, "key": key, "kind": kind, "meta": meta or {},
                     "files": {name: hashlib.sha256(raw).hexdigest() for name, raw in files.items()}}
            (tmp / ENTRY).write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
            os.rename(tmp, final)
            tmp = None
            self._prune(final.parent)
            return True
        except OSError:
            return False
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)

    def _prune(self, kind_dir: Path) -> None:
        def used(p: Path) -> float:
            try:
                return (p / ENTRY).stat().st_mtime
            except OSError:
                return 0.0

        entries = sorted((p for p in kind_dir.iterdir() if p.is_dir() and not p.name.startswith(".")),
                         key=used, reverse=True)
        for old in entries[KEEP:]:
            shutil.rmtree(old, ignore_errors=True)
        now = time.time()
        for tmp in kind_dir.glob(".*.tmp-*"):      # left by a render killed while writing an entry
            try:
                if now - tmp.stat().st_mtime > STALE_SECONDS:
                    shutil.rmtree(tmp, ignore_errors=True)
            except OSError:
                pass

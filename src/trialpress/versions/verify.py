"""`trialpress verify`: is a version intact, are its inputs still here, does it reproduce byte for byte?

Three steps, stopping at the first that fails, whose first differing file is reported:
1. integrity — every artefact against the SHA-256 in the manifest, and the manifest's own hashed content;
2. inputs — the recorded input files of **the current project** (the `--project` folder, else the project
   around the working directory, else the one around the version folder; never the absolute path the
   manifest's provenance records, so a copied project checks its own files), the package, renderer and
   figure-style fingerprints;
3. recomputation — a fresh render of those inputs with the recorded report date and formats into a
   temporary folder, without the work cache, compared byte for byte.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialpress.errors import ArtefactError, UsageError
from trialpress.store.folders import MANIFEST
from trialpress.store.hashing import input_path, sha256_file
from trialpress.store.integrity import integrity_problems, stage_key
from trialpress.store.manifest import read_manifest


@dataclass
class Check:
    step: str                 # integrity | inputs | recompute
    ok: bool
    detail: str


@dataclass
class VerifyResult:
    folder: Path
    version: str
    checks: list[Check] = field(default_factory=list)
    first_difference: str | None = None      # the first differing artefact or input, when not ok
    differences: list[tuple[str, str]] = field(default_factory=list)   # (name, what) of the failing step
    git: dict[str, Any] = field(default_factory=dict)                  # as recorded at render time
    project: Path | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def fail(self, step: str, problems: list[tuple[str, str]], summary: str) -> VerifyResult:
        self.checks.append(Check(step, False, summary))
        self.differences = problems
        self.first_difference = problems[0][0]
        return self


def find_project(folder: Path, project: Path | None = None) -> Path:
    """The project whose inputs a version is checked against: given, around the cwd, around the folder;
    outside any project (no `_quarto.yml`), the folder the render wrote `report/<study>/<version>` into,
    when it holds the plans (`paths.plan_root`'s rule)."""
    from trialpress.paths import PLANS_FOLDER, ROOT_MARKER, find_root

    if project is not None:
        if not (project / ROOT_MARKER).is_file() and not (project / PLANS_FOLDER).is_dir():
            raise UsageError(f"--project {project} is not a trialpress project (no {ROOT_MARKER} or {PLANS_FOLDER}/).",
                             hint="Name the folder that holds _quarto.yml, analysis/, data/ and templates/.")
        return project.resolve()
    for start in (None, folder):
        root = find_root(start)
        if (root / ROOT_MARKER).is_file():
            return root
    here = folder.resolve()
    if len(here.parents) > 2 and here.parents[1].name == "report" and (here.parents[2] / PLANS_FOLDER).is_dir():
        return here.parents[2]
    raise UsageError(f"No project to check {folder.name}'s inputs against: neither the working directory nor "
                     f"{folder} is inside a trialpress project.",
                     hint="Run verify inside the project, or name it with --project.")


def input_problems(manifest: dict[str, Any], project: Path) -> list[tuple[str, str]]:
    """Recorded input files that are missing or changed in `project` now."""
    problems: list[tuple[str, str]] = []
    for key, rec in manifest.get("inputs", {}).items():
        path = input_path(key, project)
        if not path.is_file():
            problems.append((key, f"missing ({path})"))
            continue
        now = sha256_file(path)
        if now != rec["sha256"]:
            problems.append((key, f"changed (recorded {rec['sha256'][:12]}, now {now[:12]})"))
    return problems


def _plan_path(manifest: dict[str, Any], project: Path) -> Path:
    keys = [k for k in manifest.get("inputs", {}) if k.startswith("plan:")]
    if not keys:
        raise ArtefactError("The manifest records no plan file; the version cannot be recomputed.")
    return input_path(keys[0], project)


def formats_of(m: dict[str, Any]) -> list[str]:
    if m.get("formats"):
        return list(m["formats"])
    arts = m.get("artefacts", {})
    return [f for f in ("html", "pdf") if f"report.{f}" in arts] or ["html", "pdf"]


def _environment_problems(m: dict[str, Any], setup: Any) -> list[tuple[str, str]]:
    """New input files, and package, renderer and figure-style differences."""
    now = setup.inputs
    recorded_packages = m.get("packages", {})
    problems = [(k, "new input, not in the recorded render") for k in now.files if k not in m.get("inputs", {})]
    problems += [(f"package:{k}", f"recorded {v}, installed {now.packages.get(k, 'not installed')}")
                 for k, v in recorded_packages.items() if now.packages.get(k) != v]
    problems += [(f"package:{k}", f"installed {v}, not recorded") for k, v in now.packages.items()
                 if k not in recorded_packages]
    rec_renderer = {k: v for k, v in m.get("renderer", {}).items() if k != "name"}
    if rec_renderer != now.renderer:
        problems.append(("renderer", f"recorded {rec_renderer}, now {now.renderer}"))
    if "style" in m and m["style"] != now.style:
        problems.append(("figure style", f"recorded {m['style']}, now {now.style}"))
    return problems


def _check_inputs(result: VerifyResult, m: dict[str, Any], root: Path) -> Any:
    """Step 2; returns the render setup of the current inputs (None when the step failed)."""
    from trialpress import pipeline

    problems = input_problems(m, root)
    if problems:
        result.fail("inputs", problems, f"{len(problems)} recorded input(s) differ under {root}; "
                                        f"first: {problems[0][0]} {problems[0][1]}")
        return None
    setup = pipeline.prepare(_plan_path(m, root), formats_of(m), report_date=str(m.get("report_date") or "") or None)
    problems = _environment_problems(m, setup)
    if problems:
        result.fail("inputs", problems, f"{problems[0][0]}: {problems[0][1]}")
        return None
    result.checks.append(Check("inputs", True, f"{len(m.get('inputs', {}))} input files, package, renderer and "
                                               f"figure-style versions as recorded (project {root})"))
    return setup


def _artefact_differences(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    diffs: list[tuple[str, str]] = []
    for name in sorted(set(old) | set(new), key=stage_key):
        if name not in new:
            diffs.append((name, "not produced by the re-render"))
        elif name not in old:
            diffs.append((name, "produced by the re-render, not recorded"))
        elif old[name]["sha256"] != new[name]["sha256"]:
            diffs.append((name, f"bytes differ (recorded {old[name]['sha256'][:12]}, "
                                f"recomputed {new[name]['sha256'][:12]})"))
    return diffs


def _recompute(result: VerifyResult, m: dict[str, Any], setup: Any, show_progress: bool) -> VerifyResult:
    from trialpress import pipeline

    class _Steps(pipeline.Progress):       # step timings on stderr, but not "Rendered <temporary folder>"
        def say(self, text: str) -> None:
            pass

    tmp = Path(tempfile.mkdtemp(prefix="trialpress-verify-"))
    try:
        outcome = pipeline.render(setup.lplan.path, report_root=tmp, formats=formats_of(m),
                                  report_date=setup.report_date, progress=_Steps(enabled=show_progress), cache=False)
        if outcome.version != m["version"]:
            return result.fail("recompute", [("version", f"recomputed id {outcome.version}")],
                               f"the inputs now hash to {outcome.version}, not {m['version']}")
        fresh = read_manifest(outcome.folder)
        old = m.get("artefacts", {})
        diffs = _artefact_differences(old, fresh.get("artefacts", {}))
        if not diffs and "content" in m and fresh.get("content", {}).get("sha256") != m["content"]["sha256"]:
            keys = [k for k in m["content"].get("fields", []) if m.get(k) != fresh.get(k)]
            diffs.append((MANIFEST, f"hashed content differs in: {', '.join(keys) or '?'}"))
        if diffs:
            return result.fail("recompute", diffs, f"first differing artefact: {diffs[0][0]} ({diffs[0][1]})")
        result.checks.append(Check("recompute", True, f"a fresh render of the recorded inputs (report date "
                                                      f"{m.get('report_date')}) gives the same bytes for all "
                                                      f"{len(old)} artefacts"))
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def verify(folder: Path, *, project: Path | None = None, recompute: bool = True,
           show_progress: bool = False) -> VerifyResult:
    m = read_manifest(folder)           # a damaged manifest: ArtefactError saying what is wrong
    git = m.get("provenance", {}).get("git") if isinstance(m.get("provenance"), dict) else None
    result = VerifyResult(folder, str(m["version"]), git=dict(git) if isinstance(git, dict) else {})
    problems = integrity_problems(folder, m)
    if problems:
        return result.fail("integrity", problems, f"{problems[0][0]}: {problems[0][1]}")
    result.checks.append(Check("integrity", True, f"{len(m.get('artefacts', {}))} artefacts match their SHA-256 in "
                                                  "the manifest" + (", manifest content hash matches"
                                                                    if "content" in m else "")))
    result.project = root = find_project(folder, project)
    setup = _check_inputs(result, m, root)
    if setup is None or not recompute:
        return result
    return _recompute(result, m, setup, show_progress)

"""The version store seen from outside a render: find, list, verify and diff version folders.

* `resolve` turns a folder or a version id (or a unique prefix of one) into a version folder.
* `list_versions` summarises every version of a study (date, data, plan hash, quality, integrity).
* `verify` checks a version in three steps: (1) integrity — every artefact against the SHA-256 in the
  manifest and the manifest's own hashed content; (2) inputs — the recorded input files (data, plan,
  templates, engine), package and renderer versions against what is there now; (3) recomputation — a
  fresh render of the recorded inputs with the recorded report date into a temporary folder, compared
  byte for byte. It reports the first differing file of the first failing step.
* `diff` compares two versions: every ARD number changed (old → new), added or removed (by row id),
  the abstract sentences whose text changed, and the inputs that differ.
"""

from __future__ import annotations

import difflib
import html
import json
import math
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialpress.errors import ArtefactError, UsageError
from trialpress.report import artefacts
from trialpress.report.artefacts import MANIFEST

# upstream first: when several artefacts differ, the first named points nearest to the cause
_STAGE_ORDER = ("report.qmd", "ard.csv", "ard.json", "quality.json", "figures/", "report.html", "report.pdf",
                "report.docx", "tlf/")


def _stage_key(name: str) -> tuple[int, str]:
    for i, prefix in enumerate(_STAGE_ORDER):
        if name == prefix or (prefix.endswith("/") and name.startswith(prefix)):
            return i, name
    return len(_STAGE_ORDER), name


# --- finding versions -----------------------------------------------------------------------------

def default_report_root() -> Path:
    from trialpress.paths import find_root

    return find_root() / "report"


def _version_folders(study_dir: Path) -> list[Path]:
    if not study_dir.is_dir():
        return []
    return sorted(p for p in study_dir.iterdir()
                  if p.is_dir() and not p.name.startswith((".", "_")) and (p / MANIFEST).is_file())


def _study_dirs(report_root: Path, study: str | None) -> list[Path]:
    if study:
        return [report_root / study]
    if not report_root.is_dir():
        return []
    return sorted(p for p in report_root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


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
    hits = [v for s in _study_dirs(root, study) for v in _version_folders(s) if v.name.startswith(text)]
    if not hits:
        where = root / study if study else root
        raise UsageError(f"No version {text!r} under {where}.",
                         hint="List the versions with `trialpress list`; use --reports for another report folder.")
    if len(hits) > 1:
        raise UsageError(f"Version {text!r} is ambiguous: {', '.join(str(h) for h in hits)}.",
                         hint="Give more digits of the id, or --study.")
    return hits[0]


# --- list -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VersionInfo:
    study: str
    version: str
    folder: Path
    created: str
    report_date: str
    data_cutoff: str
    data_files: list[str]
    data_sha256: str
    plan_sha256: str
    quality: str
    integrity: str           # intact | modified: <first file> | interrupted | gate failed


def _created(m: dict[str, Any]) -> str:
    return str(m.get("provenance", {}).get("created") or m.get("created") or "")


def _quality_status(q: dict[str, Any] | None) -> str:
    if not q:
        return "unknown"
    errors, warnings = int(q.get("errors", 0)), int(q.get("warnings", 0))
    if errors:
        return f"failed: {errors} error(s)"
    return f"passed {q.get('passed', '?')}/{q.get('checks', '?')}" + (f", {warnings} warning(s)" if warnings else "")


def list_versions(report_root: Path | None = None, study: str | None = None,
                  check_integrity: bool = True) -> list[VersionInfo]:
    root = report_root or default_report_root()
    out: list[VersionInfo] = []
    for sdir in _study_dirs(root, study):
        for folder in _version_folders(sdir):
            try:
                m = artefacts.read_manifest(folder)
            except ArtefactError as exc:
                out.append(VersionInfo(sdir.name, folder.name, folder, "", "", "", [], "", "", "unknown",
                                       f"damaged: {exc.message}"))
                continue
            inputs = m.get("inputs", {})
            plan = next((v["sha256"] for k, v in inputs.items() if k.startswith("plan:")), "")
            data = [Path(k.split(":", 1)[1]).name for k in inputs if k.startswith("data:")]
            data_sha = artefacts.role_digests(inputs)["data"]["sha256"] if inputs else ""
            integrity = "not checked"
            if check_integrity:
                first = integrity_problems(folder, m)
                integrity = "intact" if not first else f"modified: {first[0][0]}"
            out.append(VersionInfo(sdir.name, folder.name, folder, _created(m), str(m.get("report_date", "")),
                                   str(m.get("data_cutoff", "")), data, data_sha, plan, _quality_status(m.get("quality")),
                                   integrity))
        failed = sdir / "_failed"
        for folder in sorted(failed.iterdir()) if failed.is_dir() else []:
            q = folder / "quality.json"
            summary = None
            if q.is_file():
                try:
                    summary = json.loads(q.read_text(encoding="utf-8")).get("summary")
                except ValueError:
                    summary = None
            out.append(VersionInfo(sdir.name, folder.name, folder, _mtime_iso(folder), "", "", [], "", "",
                                   _quality_status(summary), "gate failed: nothing rendered"))
    return sorted(out, key=lambda v: (v.study, v.created, v.version))


def _mtime_iso(p: Path) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(p.stat().st_mtime, dt.timezone.utc).replace(microsecond=0).isoformat()


# --- verify -----------------------------------------------------------------------------------------

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

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def integrity_problems(folder: Path, manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """Artefacts that differ from the manifest (in pipeline order), then the manifest itself."""
    problems: list[tuple[str, str]] = []
    recorded: dict[str, dict[str, Any]] = manifest.get("artefacts", {})
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST}
    for name in sorted(set(recorded) | present, key=_stage_key):
        if name not in present:
            problems.append((name, "missing"))
        elif name not in recorded:
            problems.append((name, "not in the manifest (added after the render)"))
        else:
            path = folder / name
            if path.stat().st_size != recorded[name].get("size") or artefacts.sha256_file(path) != recorded[name]["sha256"]:
                problems.append((name, "content differs from its SHA-256 in the manifest"))
    content = manifest.get("content")
    if isinstance(content, dict) and content.get("sha256") != artefacts.content_digest(manifest):
        problems.append((MANIFEST, "hashed content edited (content.sha256 does not match)"))
    return problems


def input_problems(manifest: dict[str, Any], project: Path) -> list[tuple[str, str]]:
    """Recorded inputs that are missing or changed now, and new inputs, package and renderer changes."""
    problems: list[tuple[str, str]] = []
    for key, rec in manifest.get("inputs", {}).items():
        path = artefacts.input_path(key, project)
        if not path.is_file():
            problems.append((key, f"missing ({path})"))
        elif artefacts.sha256_file(path) != rec["sha256"]:
            problems.append((key, f"changed (recorded {rec['sha256'][:12]}, now {artefacts.sha256_file(path)[:12]})"))
    return problems


def _plan_path(manifest: dict[str, Any], project: Path) -> Path:
    keys = [k for k in manifest.get("inputs", {}) if k.startswith("plan:")]
    if not keys:
        raise ArtefactError("The manifest records no plan file; the version cannot be recomputed.")
    return artefacts.input_path(keys[0], project)


def find_project(manifest: dict[str, Any], project: Path | None) -> Path:
    """The project folder holding the recorded inputs: given, recorded at render time, or the current one."""
    if project is not None:
        return project.resolve()
    recorded = manifest.get("provenance", {}).get("project")
    candidates = [Path(recorded)] if recorded else []
    from trialpress.paths import find_root

    candidates.append(find_root())
    for c in candidates:
        if _plan_path(manifest, c).is_file():
            return c
    return candidates[0]


def verify(folder: Path, *, project: Path | None = None, recompute: bool = True,
           show_progress: bool = False) -> VerifyResult:
    m = artefacts.read_manifest(folder)
    result = VerifyResult(folder, str(m["version"]), git=dict(m.get("provenance", {}).get("git") or {}))

    def fail(step: str, problems: list[tuple[str, str]], summary: str) -> VerifyResult:
        result.checks.append(Check(step, False, summary))
        result.differences = problems
        result.first_difference = problems[0][0]
        return result

    # 1. integrity: the folder is what the render wrote
    problems = integrity_problems(folder, m)
    n = len(m.get("artefacts", {}))
    if problems:
        return fail("integrity", problems, f"{problems[0][0]}: {problems[0][1]}")
    result.checks.append(Check("integrity", True, f"{n} artefacts match their SHA-256 in the manifest"
                                                  + (", manifest content hash matches" if "content" in m else "")))

    # 2. inputs: the recorded inputs are still there, unchanged
    root = find_project(m, project)
    problems = input_problems(m, root)
    if problems:
        return fail("inputs", problems, f"{len(problems)} recorded input(s) differ under {root}; "
                                        f"first: {problems[0][0]} {problems[0][1]}")
    from trialpress import pipeline

    setup = pipeline.prepare(_plan_path(m, root), _formats(m))
    now = setup.inputs
    extra = [(k, "new input, not in the recorded render") for k in now.files if k not in m.get("inputs", {})]
    pk = [(f"package:{k}", f"recorded {v}, installed {now.packages.get(k, 'not installed')}")
          for k, v in m.get("packages", {}).items() if now.packages.get(k) != v]
    pk += [(f"package:{k}", f"installed {v}, not recorded") for k, v in now.packages.items()
           if k not in m.get("packages", {})]
    rec_renderer = {k: v for k, v in m.get("renderer", {}).items() if k != "name"}
    rd = [("renderer", f"recorded {rec_renderer}, now {now.renderer}")] if rec_renderer != now.renderer else []
    problems = extra + pk + rd
    if problems:
        return fail("inputs", problems, f"{problems[0][0]}: {problems[0][1]}")
    result.checks.append(Check("inputs", True, f"{len(m.get('inputs', {}))} input files, package and renderer "
                                               f"versions as recorded (project {root})"))
    if not recompute:
        return result

    # 3. recompute: render the recorded inputs again, compare bytes
    class _Steps(pipeline.Progress):       # step timings on stderr, but not "Rendered <temporary folder>"
        def say(self, text: str) -> None:
            pass

    progress = _Steps(enabled=show_progress)
    tmp = Path(tempfile.mkdtemp(prefix="trialpress-verify-"))
    try:
        outcome = pipeline.render(setup.lplan.path, report_root=tmp, formats=_formats(m),
                                  report_date=str(m.get("report_date")), progress=progress)
        if outcome.version != m["version"]:
            return fail("recompute", [("version", f"recomputed id {outcome.version}")],
                        f"the inputs now hash to {outcome.version}, not {m['version']}")
        fresh = artefacts.read_manifest(outcome.folder)
        diffs: list[tuple[str, str]] = []
        old, new = m.get("artefacts", {}), fresh.get("artefacts", {})
        for name in sorted(set(old) | set(new), key=_stage_key):
            if name not in new:
                diffs.append((name, "not produced by the re-render"))
            elif name not in old:
                diffs.append((name, "produced by the re-render, not recorded"))
            elif old[name]["sha256"] != new[name]["sha256"]:
                diffs.append((name, f"bytes differ (recorded {old[name]['sha256'][:12]}, "
                                    f"recomputed {new[name]['sha256'][:12]})"))
        if not diffs and "content" in m and fresh.get("content", {}).get("sha256") != m["content"]["sha256"]:
            keys = [k for k in m["content"].get("fields", []) if m.get(k) != fresh.get(k)]
            diffs.append((MANIFEST, f"hashed content differs in: {', '.join(keys) or '?'}"))
        if diffs:
            return fail("recompute", diffs, f"first differing artefact: {diffs[0][0]} ({diffs[0][1]})")
        result.checks.append(Check("recompute", True, f"a fresh render of the recorded inputs (report date "
                                                      f"{m.get('report_date')}) gives the same bytes for all "
                                                      f"{len(old)} artefacts"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def _formats(m: dict[str, Any]) -> list[str]:
    if m.get("formats"):
        return list(m["formats"])
    arts = m.get("artefacts", {})
    return [f for f in ("html", "pdf") if f"report.{f}" in arts] or ["html", "pdf"]


# --- diff -------------------------------------------------------------------------------------------

NUMBER_FIELDS = ("value", "lower", "upper", "n")


@dataclass(frozen=True)
class NumberChange:
    row_id: str
    field: str
    old: float | None
    new: float | None
    label: str
    statistic: str = ""


@dataclass(frozen=True)
class SentenceChange:
    section: str
    old: str | None        # None: added
    new: str | None        # None: removed


@dataclass
class DiffResult:
    a: Path
    b: Path
    manifest_a: dict[str, Any]
    manifest_b: dict[str, Any]
    changed: list[NumberChange]
    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    sentences: list[SentenceChange]
    inputs: list[tuple[str, str]]        # (input key, changed | added | removed)
    unchanged: int

    @property
    def identical(self) -> bool:
        return not (self.changed or self.added or self.removed or self.sentences)


def _load_rows(folder: Path) -> dict[str, dict[str, Any]]:
    path = folder / "ard.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {r["id"]: r for r in data["rows"]}
    except FileNotFoundError:
        raise ArtefactError(f"{path} is missing: the version folder is incomplete.",
                            hint="Run `trialpress verify` on it.") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ArtefactError(f"{path} is not an ARD ({exc}).", hint="Run `trialpress verify` on it.") from None


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) else f


def row_label(r: dict[str, Any]) -> str:
    parts = [r.get("endpoint", ""), r.get("analysis", ""), r.get("statistic", "")]
    extra = [str(r[k]) for k in ("group", "subgroup", "subgroup_level", "parameter", "parent", "term", "timepoint") if r.get(k)]
    pop = r.get("population", "")
    text = " ".join(p for p in parts if p)
    if extra:
        text += " [" + ", ".join(extra) + "]"
    return text + (f" ({pop})" if pop else "")


def diff(a: Path, b: Path) -> DiffResult:
    ma, mb = artefacts.read_manifest(a), artefacts.read_manifest(b)
    ra, rb = _load_rows(a), _load_rows(b)
    changed: list[NumberChange] = []
    unchanged = 0
    for rid in ra.keys() & rb.keys():
        row_changed = False
        for f in NUMBER_FIELDS:
            old, new = _num(ra[rid].get(f)), _num(rb[rid].get(f))
            if old != new:
                changed.append(NumberChange(rid, f, old, new, row_label(rb[rid]), str(rb[rid].get("statistic", ""))))
                row_changed = True
        unchanged += not row_changed
    order = {rid: i for i, rid in enumerate([*ra, *(k for k in rb if k not in ra)])}
    changed.sort(key=lambda c: (order[c.row_id], NUMBER_FIELDS.index(c.field)))
    added = [rb[k] for k in rb if k not in ra]
    removed = [ra[k] for k in ra if k not in rb]
    ia, ib = ma.get("inputs", {}), mb.get("inputs", {})
    inputs = [(k, "changed") for k in ia if k in ib and ia[k]["sha256"] != ib[k]["sha256"]]
    inputs += [(k, "removed") for k in ia if k not in ib] + [(k, "added") for k in ib if k not in ia]
    return DiffResult(a, b, ma, mb, changed, added, removed, sentence_changes(abstract(a), abstract(b)),
                      sorted(inputs), unchanged)


# abstract: from report.qmd (or report.html), as plain sentences

_RAW = re.compile(r"`[^`]*`\{=[a-z]+\}")
_LABEL = re.compile(r"^\*\*(.+?)\*\*\s*")


def _plain_markdown(text: str) -> str:
    text = _RAW.sub("", text)
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", text)
    text = re.sub(r"\\(.)", r"\1", text)
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[\"“])")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def abstract(folder: Path) -> list[tuple[str, str]]:
    """(paragraph label, sentence) of the Abstract section, link markup stripped."""
    qmd = folder / "report.qmd"
    if qmd.is_file():
        return _abstract_qmd(qmd.read_text(encoding="utf-8"))
    page = folder / "report.html"
    if page.is_file():
        return _abstract_html(page.read_text(encoding="utf-8"))
    return []


def _abstract_qmd(text: str) -> list[tuple[str, str]]:
    lines = text.splitlines()
    start = level = None
    for i, line in enumerate(lines):
        m = re.match(r"^(#{1,6})\s+Abstract\s*(\{.*\})?\s*$", line, re.IGNORECASE)
        if m:
            start, level = i + 1, len(m.group(1))
            break
    if start is None or level is None:
        return []
    end = next((j for j in range(start, len(lines)) if re.match(rf"^#{{1,{level}}}\s", lines[j])), len(lines))
    out: list[tuple[str, str]] = []
    for para in re.split(r"\n\s*\n", "\n".join(lines[start:end])):
        para = para.strip()
        if not para:
            continue
        label = ""
        m = _LABEL.match(para)
        if m:
            label, para = _plain_markdown(m.group(1)), para[m.end():]
        out += [(label, s) for s in split_sentences(_plain_markdown(para))]
    return out


def _abstract_html(text: str) -> list[tuple[str, str]]:
    m = re.search(r"<h([1-6])[^>]*>\s*Abstract\s*</h\1>(.*?)(?=<h[1-6][\s>]|</main>|</body>)", text, re.S | re.I)
    if not m:
        return []
    out: list[tuple[str, str]] = []
    for para in re.findall(r"<p[^>]*>(.*?)</p>", m.group(2), re.S):
        label = ""
        lm = re.match(r"\s*<strong>(.*?)</strong>\s*", para, re.S)
        if lm:
            label, para = html.unescape(re.sub(r"<[^>]+>", "", lm.group(1))), para[lm.end():]
        plain = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", para)).replace("\xa0", " ")).strip()
        out += [(label, s) for s in split_sentences(plain)]
    return out


def sentence_changes(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> list[SentenceChange]:
    ta, tb = [s for _, s in a], [s for _, s in b]
    out: list[SentenceChange] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        olds, news = a[i1:i2], b[j1:j2]
        for k in range(max(len(olds), len(news))):
            old = olds[k] if k < len(olds) else None
            new = news[k] if k < len(news) else None
            section = (new or old)[0] if (new or old) else ""
            out.append(SentenceChange(section, old[1] if old else None, new[1] if new else None))
    return out


# --- presentation -----------------------------------------------------------------------------------

def fmt_number(v: float | None, other: float | None = None) -> str:
    """Shortest form that still tells `v` from `other` (up to the ARD's 12 significant digits)."""
    if v is None:
        return "NA"
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    for digits in range(4, 13):
        s = f"{v:.{digits}g}"
        if other is None or _num(other) is None or s != f"{other:.{digits}g}":
            return s
    return f"{v:.12g}"


def fmt_change(c: NumberChange) -> str:
    if c.old is None:
        return "now estimable"
    if c.new is None:
        return "now not estimable"
    d = c.new - c.old
    if c.old != 0 and c.field != "n" and c.statistic not in ("p", "pvalue", "p_interaction"):
        return f"{d:+.4g} ({d / abs(c.old):+.1%})"
    return f"{d:+.4g}"


def _short_id(m: dict[str, Any]) -> str:
    return f"{m.get('version')} (cut-off {m.get('data_cutoff', '?')}, rendered {_created(m)[:10] or '?'})"


def print_diff(result: DiffResult, console: Any = None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    console = console or Console(highlight=False)
    console.print(f"[bold]A[/bold] {escape(str(result.a))}  {escape(_short_id(result.manifest_a))}")
    console.print(f"[bold]B[/bold] {escape(str(result.b))}  {escape(_short_id(result.manifest_b))}")
    if result.inputs:
        console.print("Inputs that differ: " + escape(", ".join(f"{k} ({what})" for k, what in result.inputs)))
    console.print(f"ARD: {len(result.changed)} number(s) changed in "
                  f"{len({c.row_id for c in result.changed})} row(s), {len(result.added)} row(s) added, "
                  f"{len(result.removed)} removed, {result.unchanged} row(s) unchanged; "
                  f"{len(result.sentences)} abstract sentence(s) changed.")
    if result.changed:
        t = Table(title="ARD numbers changed (A → B)", show_lines=False, title_justify="left")
        for col, just in (("ARD row id", "left"), ("field", "left"), ("A", "right"), ("B", "right"),
                          ("change", "right")):
            t.add_column(col, justify=just, overflow="fold")  # type: ignore[arg-type]
        for c in result.changed:
            t.add_row(c.row_id, c.field, fmt_number(c.old, c.new), fmt_number(c.new, c.old), fmt_change(c))
        console.print(t)
    for title, rows in (("ARD rows added in B", result.added), ("ARD rows removed in B", result.removed)):
        if rows:
            t = Table(title=title, title_justify="left")
            for col in ("ARD row id", "value", "95% CI", "n"):
                t.add_column(col, overflow="fold")
            for r in rows:
                ci = ("" if _num(r.get("lower")) is None else
                      f"{fmt_number(_num(r.get('lower')))}–{fmt_number(_num(r.get('upper')))}")
                t.add_row(r["id"], fmt_number(_num(r.get("value"))), ci, fmt_number(_num(r.get("n"))))
            console.print(t)
    if result.sentences:
        t = Table(title="Abstract sentences changed", show_lines=True, title_justify="left")
        t.add_column("section", no_wrap=True)
        t.add_column("A", ratio=1)
        t.add_column("B", ratio=1)
        for s in result.sentences:
            old, new = _word_diff_rich(s.old or "", s.new or "")
            t.add_row(s.section, old if s.old is not None else Text("(added)", style="italic"),
                      new if s.new is not None else Text("(removed)", style="italic"))
        console.print(t)
    if result.identical:
        console.print("[green]The two versions have the same ARD numbers and the same abstract.[/green]")


def _tokens(s: str) -> list[str]:
    return re.findall(r"\s+|[^\s]+", s)


def _word_diff_rich(old: str, new: str) -> tuple[Any, Any]:
    from rich.text import Text

    a, b = _tokens(old), _tokens(new)
    ta, tb = Text(), Text()
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            ta.append("".join(a[i1:i2]))
            tb.append("".join(b[j1:j2]))
        else:
            ta.append("".join(a[i1:i2]), style="bold red")
            tb.append("".join(b[j1:j2]), style="bold green")
    return ta, tb


def _word_diff_html(old: str, new: str) -> tuple[str, str]:
    a, b = _tokens(old), _tokens(new)
    ha, hb = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        sa, sb = html.escape("".join(a[i1:i2])), html.escape("".join(b[j1:j2]))
        if op == "equal":
            ha.append(sa)
            hb.append(sb)
        else:
            if sa:
                ha.append(f"<del>{sa}</del>")
            if sb:
                hb.append(f"<ins>{sb}</ins>")
    return "".join(ha), "".join(hb)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:78rem;color:#1a1a1a;
line-height:1.4;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-size:.8rem}del{background:#fde2e2;text-decoration:line-through}ins{background:#dcf5dc;text-decoration:none}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}
p.none{color:#666;font-style:italic}
"""


def diff_html(result: DiffResult) -> str:
    e = html.escape
    ma, mb = result.manifest_a, result.manifest_b
    parts = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
             f"<title>trialpress diff {e(str(ma.get('version')))} → {e(str(mb.get('version')))}</title>",
             f"<style>{_CSS}</style></head><body>",
             f"<h1>What changed between versions {e(str(ma.get('version')))} and {e(str(mb.get('version')))}</h1>",
             "<dl>"]
    for tag, folder, m in (("A", result.a, ma), ("B", result.b, mb)):
        parts.append(f"<dt>{tag}</dt><dd><code>{e(str(folder))}</code> — study {e(str(m.get('study')))}, data "
                     f"cut-off {e(str(m.get('data_cutoff', '?')))}, report date {e(str(m.get('report_date')))}, "
                     f"rendered {e(_created(m))}</dd>")
    parts.append("</dl>")
    parts.append(f"<p>{len(result.changed)} number(s) changed in {len({c.row_id for c in result.changed})} ARD "
                 f"row(s); {len(result.added)} row(s) added; {len(result.removed)} removed; {result.unchanged} "
                 f"unchanged. {len(result.sentences)} abstract sentence(s) changed.</p>")
    parts.append("<h2>Inputs that differ</h2>")
    if result.inputs:
        parts.append("<ul>" + "".join(f"<li><code>{e(k)}</code>: {e(w)}</li>" for k, w in result.inputs) + "</ul>")
    else:
        parts.append("<p class='none'>None.</p>")
    parts.append("<h2>Abstract sentences changed</h2>")
    if result.sentences:
        parts.append("<table><thead><tr><th>section</th><th>A</th><th>B</th></tr></thead><tbody>")
        for s in result.sentences:
            old, new = _word_diff_html(s.old or "", s.new or "")
            parts.append(f"<tr><td>{e(s.section)}</td><td>{old if s.old is not None else '<em>(added)</em>'}</td>"
                         f"<td>{new if s.new is not None else '<em>(removed)</em>'}</td></tr>")
        parts.append("</tbody></table>")
    else:
        parts.append("<p class='none'>None.</p>")
    parts.append("<h2>ARD numbers changed (A → B)</h2>")
    if result.changed:
        parts.append("<table><thead><tr><th>ARD row id</th><th>what</th><th>field</th><th>A</th><th>B</th>"
                     "<th>change</th></tr></thead><tbody>")
        for c in result.changed:
            parts.append(f"<tr><td><code>{e(c.row_id)}</code></td><td>{e(c.label)}</td><td>{e(c.field)}</td>"
                         f"<td class='num'>{e(fmt_number(c.old, c.new))}</td>"
                         f"<td class='num'>{e(fmt_number(c.new, c.old))}</td>"
                         f"<td class='num'>{e(fmt_change(c))}</td></tr>")
        parts.append("</tbody></table>")
    else:
        parts.append("<p class='none'>None.</p>")
    for title, rows in (("ARD rows added in B", result.added), ("ARD rows removed in B", result.removed)):
        parts.append(f"<h2>{e(title)}</h2>")
        if not rows:
            parts.append("<p class='none'>None.</p>")
            continue
        parts.append("<table><thead><tr><th>ARD row id</th><th>what</th><th>value</th><th>lower</th><th>upper</th>"
                     "<th>n</th></tr></thead><tbody>")
        for r in rows:
            cells = "".join(f"<td class='num'>{e(fmt_number(_num(r.get(f))))}</td>" for f in NUMBER_FIELDS)
            parts.append(f"<tr><td><code>{e(str(r['id']))}</code></td><td>{e(row_label(r))}</td>{cells}</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_diff_html(result: DiffResult, path: Path) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(diff_html(result), encoding="utf-8")
    except OSError as exc:
        raise ArtefactError(f"Cannot write {path}: {exc.strerror}.", hint="Choose a writable path for --html.") from None
    return path


def print_verify(result: VerifyResult, console: Any = None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console(highlight=False)
    t = Table(title=escape(f"verify {result.folder}"), title_justify="left")
    t.add_column("step")
    t.add_column("result")
    t.add_column("detail", overflow="fold")
    for c in result.checks:
        t.add_row(c.step, "[green]ok[/green]" if c.ok else "[bold red]MISMATCH[/bold red]", escape(c.detail))
    console.print(t)
    if result.ok:
        console.print(f"[bold green]MATCH[/bold green]: version {result.version} is intact"
                      + (" and reproduces byte for byte." if any(c.step == "recompute" for c in result.checks)
                         else " (not recomputed)."))
    else:
        for name, what in result.differences[1:10]:
            console.print(escape(f"  also: {name}: {what}"), soft_wrap=True)
        if len(result.differences) > 10:
            console.print(f"  … and {len(result.differences) - 10} more")
        console.print(f"[bold red]MISMATCH[/bold red]: version {result.version}: first difference: "
                      f"{escape(str(result.first_difference))}", soft_wrap=True)
        if result.checks and result.checks[-1].step == "inputs":
            commit = result.git.get("commit")
            console.print("The recorded inputs are not all there any more, so the version cannot be recomputed"
                          + (f"; the render was made at git commit {commit}"
                             f"{' with uncommitted changes' if result.git.get('dirty') else ''}." if commit else "."),
                          soft_wrap=True, markup=False)


def print_list(rows: list[VersionInfo], console: Any = None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console(highlight=False)
    if not rows:
        console.print("No versions found.")
        return
    studies = sorted({v.study for v in rows})
    one = len(studies) == 1
    t = Table(title=f"Rendered versions of {escape(studies[0])}" if one else "Rendered versions",
              title_justify="left")
    cols = ["version", "rendered (UTC)", "report date", "data cut-off", "data files", "data", "plan", "quality",
            "status"]
    for col in ([] if one else ["study"]) + cols:
        t.add_column(col, overflow="fold", no_wrap=col in ("version", "status"))
    for v in rows:
        data = " ".join(Path(f).stem for f in v.data_files)
        style = "green" if v.integrity == "intact" else "red"
        cells = [v.version, v.created.replace("+00:00", "").replace("T", " ")[:16], v.report_date, v.data_cutoff,
                 escape(data), v.data_sha256[:8], v.plan_sha256[:8], v.quality, f"[{style}]{escape(v.integrity)}[/{style}]"]
        t.add_row(*([] if one else [escape(v.study)]), *cells)
    console.print(t)

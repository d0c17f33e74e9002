"""Versioned artefacts: byte-identical renders, idempotence, verify, diff, list, atomicity.

Renders are expensive (~7 s each), so they are shared: `twice` renders the bundled study in two fresh
processes into two report roots (the second after a render into the same root was killed with SIGKILL
mid-way); the diff test renders a second data cut once.
"""

from __future__ import annotations

from trialpress.results import keys

HR_ID = keys.model("OS", "cox", "hr", "LATER").id

import csv
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from trialpress import versions
from trialpress.cli import main
from trialpress.errors import ArtefactError, ExitCode, UsageError
from trialpress.pipeline import render
from trialpress.store import folders, hashing, manifest, staging

from conftest import FLAGSHIP

pytestmark = pytest.mark.slow

DATE = "2026-01-01"
STUDY = "blinatumomab-salvage"
ARTEFACTS = ("report.qmd", "report.html", "report.pdf", "ard.csv", "ard.json", "quality.json")


def _cmd(plan: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "trialpress", "render", str(plan), "--out", str(out), "--date", DATE, "--quiet"]


def _render_in_fresh_process(plan: Path, out: Path) -> Path:
    proc = subprocess.run(_cmd(plan, out), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def _entries(study_dir: Path) -> list[str]:
    return sorted(p.name for p in study_dir.iterdir()) if study_dir.is_dir() else []


@dataclass(frozen=True)
class Twice:
    a: Path                      # first render (report root r1)
    b: Path                      # second render, fresh process, report root r2 (after a killed render there)
    after_kill: list[str]        # what the killed render left in r2/<study>/


def _kill_mid_render(plan: Path, out: Path) -> list[str]:
    """Start a render, SIGKILL it (and the gate process it forked) once its staging folder exists."""
    study_dir = out / STUDY
    proc = subprocess.Popen(_cmd(plan, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(folders.is_staging(p) and p.is_dir() for p in
                   (study_dir.iterdir() if study_dir.is_dir() else [])):
                break
            assert proc.poll() is None, "the render finished before it could be interrupted"
            time.sleep(0.02)
        else:
            pytest.fail("no staging folder appeared")
        time.sleep(0.5)                                   # well inside the analysis
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    return _entries(study_dir)


@pytest.fixture(scope="module")
def twice(tmp_path_factory: pytest.TempPathFactory) -> Twice:
    base = tmp_path_factory.mktemp("versions")
    a = _render_in_fresh_process(FLAGSHIP, base / "r1")
    after_kill = _kill_mid_render(FLAGSHIP, base / "r2")
    b = _render_in_fresh_process(FLAGSHIP, base / "r2")
    return Twice(a, b, after_kill)


# --- same inputs, same bytes ----------------------------------------------------------------------

def test_two_fresh_processes_give_identical_bytes(twice: Twice) -> None:
    assert twice.a.name == twice.b.name
    names = sorted(p.relative_to(twice.a).as_posix() for p in twice.a.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(twice.b).as_posix() for p in twice.b.rglob("*") if p.is_file())
    assert set(ARTEFACTS) <= set(names) and any(n.startswith("figures/") and n.endswith(".svg") for n in names)
    for name in names:
        if name != "manifest.json":
            assert (twice.a / name).read_bytes() == (twice.b / name).read_bytes(), name


def test_manifest_differs_only_outside_its_hashed_content(twice: Twice) -> None:
    ma, mb = (json.loads((f / "manifest.json").read_text()) for f in (twice.a, twice.b))
    assert ma["content"]["sha256"] == mb["content"]["sha256"] == manifest.content_digest(ma)
    assert set(ma) - set(ma["content"]["fields"]) == {"content", "provenance"}
    assert {k: v for k, v in ma.items() if k != "provenance"} == {k: v for k, v in mb.items() if k != "provenance"}
    assert ma["provenance"]["command"] != mb["provenance"]["command"]     # different --out


def test_manifest_records_inputs_software_and_quality(twice: Twice) -> None:
    m = json.loads((twice.a / "manifest.json").read_text())
    data = {k: v for k, v in m["inputs"].items() if k.startswith("data:")}
    assert data and all(len(v["sha256"]) == 64 and v["size"] > 0 for v in data.values())
    assert set(m["input_digests"]) == {"plan", "data", "template", "engine"}
    assert m["input_digests"]["template"]["files"] > 0
    assert m["packages"]["python"] and m["packages"]["pandas"] != "not installed"
    lock = hashing.read_lock(hashing.find_lock())
    assert set(lock) <= set(m["packages"])
    assert m["lock"]["sha256"] == hashing.sha256_file(hashing.find_lock())
    assert m["renderer"]["name"] in {"quarto", "pandoc+typst"}
    assert m["quality"]["errors"] == 0 and m["report_date"] == DATE and m["formats"] == ["html", "pdf"]
    assert m["style"]["fonts"] and "style" in m["content"]["fields"]
    assert set(m["provenance"]) >= {"created", "command", "git", "project"}
    assert set(m["provenance"]["git"]) == {"commit", "dirty"}
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=FLAGSHIP.parent, capture_output=True, text=True)
    assert m["provenance"]["git"]["commit"] == (head.stdout.strip() if head.returncode == 0 else None)
    # nothing machine-specific inside the artefacts
    root = str(FLAGSHIP.parents[1])
    for name in ARTEFACTS:
        assert root.encode() not in (twice.a / name).read_bytes(), name
    assert str(twice.a).encode() not in (twice.a / "report.html").read_bytes()


# --- idempotence and atomicity --------------------------------------------------------------------

def test_rerender_creates_nothing_and_is_fast(twice: Twice) -> None:
    before = _entries(twice.a.parent)
    render(FLAGSHIP, report_root=twice.a.parents[1], report_date=DATE)     # warm the imports
    t0 = time.perf_counter()
    outcome = render(FLAGSHIP, report_root=twice.a.parents[1], report_date=DATE)
    assert time.perf_counter() - t0 < 1.0
    assert not outcome.created and outcome.folder == twice.a
    assert _entries(twice.a.parent) == before


def test_killed_render_leaves_no_version_and_the_next_render_recovers(twice: Twice) -> None:
    # the SIGKILLed render left only its hidden staging folder and lock: no version folder
    assert twice.after_kill, "nothing was staged"
    assert all(name.startswith(".") and folders.STAGING_MARK in name for name in twice.after_kill)
    # the next render removed it and produced a complete, intact version
    assert _entries(twice.b.parent) == [twice.b.name]
    assert versions.integrity_problems(twice.b, manifest.read_manifest(twice.b)) == []


def test_live_staging_is_kept_and_dead_staging_removed(tmp_path: Path) -> None:
    study_dir = tmp_path / STUDY
    with staging.StagingArea(study_dir / "abc") as live:
        dead = study_dir / ".def.tmp-zzzz"
        dead.mkdir()
        (dead / "report.qmd").write_text("half")
        dead.with_name(dead.name + ".lock").touch()         # its owner died: the lock is free
        removed = staging.clean_stale_staging(study_dir)
        assert removed == [dead] and live.is_dir()
        (live / "x.txt").write_text("x")
    assert _entries(study_dir) == ["abc"]


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EACCES])
def test_disk_errors_inside_a_render_are_artefact_errors(tmp_path: Path, err: int) -> None:
    with pytest.raises(ArtefactError) as info:
        with staging.StagingArea(tmp_path / STUDY / "abc") as stage:
            raise OSError(err, os.strerror(err), str(stage / "report.pdf"))
    assert ("disk is full" if err == errno.ENOSPC else "permission denied") in info.value.message
    assert _entries(tmp_path / STUDY) == []


def test_unwritable_report_root_gives_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a path under a regular file cannot be created even by root (chmod does not stop root)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    code = main(["render", str(FLAGSHIP), "--out", str(blocker / "report"), "--date", DATE, "--quiet"])
    assert code == ExitCode.ARTEFACT
    err = capsys.readouterr().err
    assert "Artefact error" in err and "not a folder" in err and "What to do" in err


# --- verify -----------------------------------------------------------------------------------------

def test_verify_recomputes_a_good_version(twice: Twice, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", twice.a.name, "--study", STUDY, "--reports", str(twice.a.parents[1]), "--quiet"])
    out = capsys.readouterr().out
    assert code == ExitCode.OK, out
    assert "MATCH" in out and "byte for byte" in out


@pytest.fixture()
def copy_of_a(twice: Twice, tmp_path: Path) -> Path:
    dst = tmp_path / STUDY / twice.a.name
    shutil.copytree(twice.a, dst)
    return dst


def _flip_byte(path: Path, offset: int = 200) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("name", ["figures/km-os.svg", "report.pdf", "ard.csv"])
def test_verify_names_a_tampered_artefact(copy_of_a: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    _flip_byte(copy_of_a / name)
    result = versions.verify(copy_of_a, recompute=False)
    assert not result.ok and result.first_difference == name
    assert main(["verify", str(copy_of_a)]) == ExitCode.ARTEFACT
    assert f"first difference: {name}" in capsys.readouterr().out


def test_verify_catches_a_tamperer_who_also_fixed_the_artefact_hash(copy_of_a: Path) -> None:
    ard = copy_of_a / "ard.json"
    body = json.loads(ard.read_text())
    row = next(r for r in body["rows"] if r["id"] == HR_ID)
    row["value"] = round(row["value"] - 0.1, 2)                 # a "better" hazard ratio
    ard.write_text(json.dumps(body, indent=1) + "\n")
    m = json.loads((copy_of_a / "manifest.json").read_text())
    m["artefacts"]["ard.json"] = {"sha256": hashing.sha256_file(ard), "size": ard.stat().st_size}
    (copy_of_a / "manifest.json").write_text(json.dumps(m, indent=1))
    result = versions.verify(copy_of_a, recompute=False)
    assert result.first_difference == "manifest.json"


def test_verify_flags_added_and_missing_files(copy_of_a: Path) -> None:
    (copy_of_a / "figures" / "extra.svg").write_text("<svg/>")
    (copy_of_a / "quality.json").unlink()
    problems = dict(versions.integrity_problems(copy_of_a, manifest.read_manifest(copy_of_a)))
    assert problems["quality.json"] == "missing" and "not in the manifest" in problems["figures/extra.svg"]


def test_resolve_by_id_prefix(twice: Twice) -> None:
    root = twice.a.parents[1]
    assert versions.resolve(twice.a.name[:6], report_root=root) == twice.a
    with pytest.raises(UsageError):
        versions.resolve("ffffffffffff", report_root=root)
    with pytest.raises(UsageError):
        versions.resolve("not-a-version", report_root=root)


# --- diff and list between two data cuts ----------------------------------------------------------

def change_subjects(adtte: Path, paramcd: str = "OS", group_prefix: str = "", count: int = 12) -> list[str]:
    """A corrected data cut: `count` recorded deaths turn out to be losses to follow-up on the same day (the dates,
    and so AVAL, stay; the record is censored, as the gate checks EVNTDESC/CNSDTDSC against CNSR)."""
    with adtte.open(newline="") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames
        rows = list(reader)
    changed: list[str] = []
    for r in rows:
        if len(changed) < count and r["PARAMCD"] == paramcd and r["CNSR"] == "0" and float(r["AVAL"]) < 12:
            r["CNSR"], r["EVNTDESC"], r["CNSDTDSC"] = "1", "", "LOST TO FOLLOW-UP"
            changed.append(r["USUBJID"])
    assert fields is not None
    with adtte.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return changed


def test_diff_between_two_data_cuts(twice: Twice, project_copy: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")         # tables unwrapped, so ids can be searched in the output
    adtte = project_copy / "data" / STUDY / "adtte.csv"
    assert len(change_subjects(adtte)) == 12
    reports = twice.a.parents[1]
    b = render(project_copy / "analysis" / f"{STUDY}.yml", report_root=reports, report_date=DATE).folder
    assert b != twice.a

    result = versions.diff(twice.a, b)
    ids = {c.row_id for c in result.changed}
    assert any(i.startswith("OS.km.") for i in ids) and any(i.startswith("OS.cox.") for i in ids)
    assert not any(i.startswith(("REM.", "POP.", "SAFETY")) for i in ids)       # untouched data, same numbers
    assert not result.added and not result.removed
    assert result.inputs == [(f"data:data/{STUDY}/adtte.csv", "changed")]
    hr = next(c for c in result.changed if c.row_id == HR_ID and c.field == "value")
    ard_a = {r["id"]: r for r in json.loads((twice.a / "ard.json").read_text())["rows"]}
    assert hr.old == ard_a[HR_ID]["value"]
    # the OS sentence of the abstract changed, and is shown without link markup
    os_changes = [s for s in result.sentences if s.old and "overall survival" in s.old]
    assert os_changes and os_changes[0].new and os_changes[0].old != os_changes[0].new
    assert "<a " not in os_changes[0].old and "{=html}" not in os_changes[0].old and "\\" not in os_changes[0].old

    page = tmp_path / "diff.html"
    assert main(["diff", twice.a.name, b.name, "--study", STUDY, "--reports", str(reports), "--html",
                 str(page)]) == ExitCode.OK
    out = capsys.readouterr().out
    assert HR_ID in out and "Abstract sentences changed" in out
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and HR_ID in text and "<del>" in text
    assert "P &lt; .001" in text or "P = ." in text      # text is escaped

    # both cuts are listed, with their data and status
    assert main(["list", "--study", STUDY, "--reports", str(reports)]) == ExitCode.OK
    out = capsys.readouterr().out
    assert twice.a.name in out and b.name in out and "intact" in out

    # a version whose data changed afterwards can no longer be recomputed, and verify says which file
    change_subjects(adtte, count=1)
    result_v = versions.verify(b, project=project_copy)
    assert not result_v.ok and result_v.first_difference == f"data:data/{STUDY}/adtte.csv"


def test_diff_html_escapes_and_identical_versions(twice: Twice) -> None:
    result = versions.diff(twice.a, twice.b)
    assert result.identical and not result.changed and not result.sentences
    result.sentences.append(versions.SentenceChange("Results", "a <script>x</script>", "b & c"))
    page = versions.diff_html(result)
    assert "<script>x" not in page and "&lt;script&gt;" in page and "&amp;" in page


def test_abstract_sentences_are_recorded_in_the_manifest(twice: Twice) -> None:
    """diff reads the abstract from manifest.json: plain sentences, no link markup, recorded at render time."""
    m = json.loads((twice.a / "manifest.json").read_text())
    assert "abstract" in m["content"]["fields"] and m["abstract"]
    sections = [s["section"] for s in m["abstract"]]
    assert sections[0] == "Aims" and "Results" in sections and sections[-1] == "Conclusion"
    results = [s["sentence"] for s in m["abstract"] if s["section"] == "Results"]
    assert any("overall survival" in s and "P < .001" in s for s in results)
    assert not any("<a " in s["sentence"] or "{=html}" in s["sentence"] or "\\" in s["sentence"] for s in m["abstract"])


def test_abstract_sentences_from_a_pandoc_document(tmp_path: Path) -> None:
    from trialpress.store.abstract import read_abstract

    qmd = tmp_path / "report.qmd"
    qmd.write_text("# Title\n\n## Abstract\n\n**Aims** To test\\.\n\n**Results** OS was longer "
                   "(`<a class=\"ard\" href=\"#ard-OS.km.median.group=FIRST\">`{=html}10\\.4`</a>`{=html} vs. 5.7 "
                   "months; P \\< \\.001). RFS did not differ.\n\n## Methods\n\nNot this.\n")
    assert [(s["section"], s["sentence"]) for s in read_abstract(qmd)] == [
        ("Aims", "To test."), ("Results", "OS was longer (10.4 vs. 5.7 months; P < .001)."),
        ("Results", "RFS did not differ.")]


def test_diff_of_versions_without_recorded_abstracts_says_so(copy_of_a: Path, tmp_path: Path) -> None:
    old = tmp_path / "old" / STUDY / "0ld0ld0ld0ld"
    shutil.copytree(copy_of_a, old)
    m = json.loads((old / "manifest.json").read_text())
    del m["abstract"]
    (old / "manifest.json").write_text(json.dumps(m))
    result = versions.diff(copy_of_a, old)
    assert not result.abstract_recorded and not result.sentences

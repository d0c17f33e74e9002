"""`trialpress diff A B`: every ARD number that changed, was added or removed (by row id), the abstract
sentences whose text changed (as recorded in each manifest at render time), and the inputs that differ."""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trialpress.errors import ArtefactError
from trialpress.store.manifest import read_manifest

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
    abstract_recorded: bool = True      # False: a manifest made before abstracts were recorded

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
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise ArtefactError(f"{path} is not an ARD ({exc}).", hint="Run `trialpress verify` on it.") from None


def num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def row_label(r: dict[str, Any]) -> str:
    parts = [r.get("endpoint", ""), r.get("analysis", ""), r.get("statistic", "")]
    extra = [str(r[k]) for k in ("group", "subgroup", "subgroup_level", "parameter", "parent", "term", "timepoint")
             if r.get(k)]
    pop = r.get("population", "")
    text = " ".join(p for p in parts if p)
    if extra:
        text += " [" + ", ".join(extra) + "]"
    return text + (f" ({pop})" if pop else "")


def _number_changes(ra: dict[str, dict[str, Any]], rb: dict[str, dict[str, Any]]) -> tuple[list[NumberChange], int]:
    changed: list[NumberChange] = []
    unchanged = 0
    for rid in ra.keys() & rb.keys():
        row_changed = False
        for f in NUMBER_FIELDS:
            old, new = num(ra[rid].get(f)), num(rb[rid].get(f))
            if old != new:
                changed.append(NumberChange(rid, f, old, new, row_label(rb[rid]), str(rb[rid].get("statistic", ""))))
                row_changed = True
        unchanged += not row_changed
    order = {rid: i for i, rid in enumerate([*ra, *(k for k in rb if k not in ra)])}
    changed.sort(key=lambda c: (order[c.row_id], NUMBER_FIELDS.index(c.field)))
    return changed, unchanged


def abstract(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """(section, sentence) of the abstract, as the render recorded it in the manifest."""
    return [(s["section"], s["sentence"]) for s in manifest.get("abstract", [])]


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


def diff(a: Path, b: Path) -> DiffResult:
    ma, mb = read_manifest(a), read_manifest(b)
    ra, rb = _load_rows(a), _load_rows(b)
    changed, unchanged = _number_changes(ra, rb)
    added = [rb[k] for k in rb if k not in ra]
    removed = [ra[k] for k in ra if k not in rb]
    ia, ib = ma.get("inputs", {}), mb.get("inputs", {})
    inputs = [(k, "changed") for k in ia if k in ib and ia[k]["sha256"] != ib[k]["sha256"]]
    inputs += [(k, "removed") for k in ia if k not in ib] + [(k, "added") for k in ib if k not in ia]
    recorded = "abstract" in ma and "abstract" in mb       # versions made before the manifest recorded it: no
    sentences = sentence_changes(abstract(ma), abstract(mb)) if recorded else []      # comparison, and say so
    return DiffResult(a, b, ma, mb, changed, added, removed, sentences, sorted(inputs), unchanged, recorded)


# --- numbers as people read them ---------------------------------------------------------------------

def fmt_number(v: float | None, other: float | None = None) -> str:
    """Shortest form that still tells `v` from `other` (up to the ARD's 12 significant digits)."""
    if v is None:
        return "NA"
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    for digits in range(4, 13):
        s = f"{v:.{digits}g}"
        if other is None or num(other) is None or s != f"{other:.{digits}g}":
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


def short_id(m: dict[str, Any]) -> str:
    from trialpress.versions.listing import created_of

    return f"{m.get('version')} (cut-off {m.get('data_cutoff', '?')}, rendered {created_of(m)[:10] or '?'})"


def tokens(s: str) -> list[str]:
    import re

    return re.findall(r"\s+|[^\s]+", s)


def word_diff(old: str, new: str) -> list[tuple[str, str, str]]:
    """(op, old part, new part) runs of a word-level diff; op 'equal' or 'change'."""
    a, b = tokens(old), tokens(new)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        out.append(("equal" if op == "equal" else "change", "".join(a[i1:i2]), "".join(b[j1:j2])))
    return out

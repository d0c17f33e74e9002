"""What can change the figures' bytes besides the engine's code and the package versions.

`report/figures.py` draws inside `_style()`: matplotlib's own defaults (`rcdefaults`, read from the
matplotlibrc inside the matplotlib package, never the user's) plus the project's `RC`. A user's matplotlibrc,
style sheets or `MPLRC` therefore change nothing. What is left outside the code and the versions:

* the font files matplotlib resolves for the families and weights the figures use (`RC["font.family"]`,
  normal and bold): its font list is built from the fonts on the machine, so a system copy of DejaVu Sans
  can win over the one bundled with matplotlib, and glyph outlines (SVG text is drawn as paths) change;
* FreeType's version (it rasterises the PNG copies for Word and RTF).

Typst sees only its embedded fonts and matplotlib's bundled font folder (`ignore_system_fonts`), both fixed
by the package versions. The fingerprint records each resolved font by file name and SHA-256 (not its
absolute path, which differs between machines without changing a byte).

Resolving the fonts means importing matplotlib (~0.2-0.3 s, on the path of every render to its version id).
matplotlib resolves them from its font list (`fontlist-v<n>.json` in its cache folder), which it builds once
and then only reads. So the resolved files are remembered (`~/.cache/trialpress`, or `$XDG_CACHE_HOME`) with
what they were resolved from: the environment that places matplotlib's cache folder, matplotlib's
installation (its font manager's source, its FreeType module) and the font list's SHA-256. While all of
those are unchanged and the files exist, matplotlib would resolve the same files; their SHA-256 is taken anew
on every call, so a font file changed in place still changes the fingerprint.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from trialpress.store.hashing import sha256_file

# the families of report/figures.py's RC["font.family"] (a test checks they agree; importing figures.py here
# would cost the up-to-date check most of a second)
FAMILIES = ("DejaVu Sans",)
WEIGHTS = ("normal", "bold")
MEMO_FORMAT = 1
MEMO_ENTRIES = 8     # resolutions kept (environments and matplotlib installations), the latest ones
# what places matplotlib's cache folder (matplotlib.get_cachedir), hence the font list it reads
ENVIRONMENT = ("MPLCONFIGDIR", "XDG_CACHE_HOME", "HOME")


def figure_style() -> dict[str, Any]:
    """{'fonts': {'<family> <weight>': '<file name> <sha256>'}, 'freetype': version}."""
    install = _matplotlib_install()
    if install is None:
        return {"fonts": {}, "freetype": "matplotlib not installed"}
    memo = _memo_file()
    resolved = _remembered(memo, install) if memo is not None else None
    if resolved is None:
        resolved = _resolve()
        if memo is not None and resolved.get("fontlist"):
            _remember(memo, install, resolved)
    return {"fonts": {name: _fingerprint(path) for name, path in resolved["fonts"].items()},
            "freetype": resolved["freetype"]}


def _resolve() -> dict[str, Any]:
    """The font files matplotlib resolves, its FreeType version and the font list it read (imports matplotlib)."""
    import matplotlib
    from matplotlib import font_manager, ft2font

    fonts: dict[str, str] = {}
    for family in FAMILIES:
        for weight in WEIGHTS:
            # style, variant and stretch as the figures draw them (matplotlib's defaults, not the user's rc)
            prop = font_manager.FontProperties(family=family, weight=weight, style="normal", variant="normal",
                                               stretch="normal")
            try:
                fonts[f"{family} {weight}"] = str(Path(font_manager.findfont(prop, fallback_to_default=True)))
            except (OSError, ValueError) as exc:
                fonts[f"{family} {weight}"] = f"not found ({exc})"
    fontlist = Path(matplotlib.get_cachedir(), f"fontlist-v{font_manager.FontManager.__version__}.json")
    return {"fonts": fonts, "freetype": str(getattr(ft2font, "__freetype_version__", "unknown")),
            "fontlist": str(fontlist) if fontlist.is_file() else ""}


def _fingerprint(path: str) -> str:
    if path.startswith("not found"):
        return path
    try:
        return f"{Path(path).name} {sha256_file(Path(path))}"
    except OSError as exc:
        return f"not found ({exc})"


def _matplotlib_install() -> dict[str, str] | None:
    """What identifies the installed matplotlib's font resolution: its font manager's source and its
    FreeType module (found without importing matplotlib)."""
    try:
        spec = importlib.util.find_spec("matplotlib")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    try:
        manager = sha256_file(package / "font_manager.py")
        ft2 = sorted(package.glob("ft2font*"))
        native = [f"{p.name} {p.stat().st_size} {p.stat().st_mtime_ns}" for p in ft2]
    except OSError:
        return None
    return {"package": str(package), "font_manager": manager, "ft2font": "; ".join(native)}


def _memo_file() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME") or (str(Path.home() / ".cache") if os.environ.get("HOME") else "")
    if not base:
        return None
    return Path(base) / "trialpress" / f"figure-style-v{MEMO_FORMAT}.json"


def _key(install: dict[str, str]) -> str:
    env = {name: os.environ.get(name, "") for name in ENVIRONMENT}
    return hashlib.sha256(json.dumps([env, install], sort_keys=True).encode("utf-8")).hexdigest()


def _remembered(memo: Path, install: dict[str, str]) -> dict[str, Any] | None:
    """The files resolved before under the same environment and matplotlib, if its font list is unchanged and
    they all exist (else None: matplotlib must resolve them)."""
    try:
        entry = json.loads(memo.read_text(encoding="utf-8")).get(_key(install))
        if not isinstance(entry, dict):
            return None
        if sha256_file(Path(entry["fontlist"])) != entry["fontlist_sha256"]:
            return None
        fonts = entry["fonts"]
        if not all(isinstance(p, str) and Path(p).is_file() for p in fonts.values()):
            return None
        return {"fonts": dict(fonts), "freetype": str(entry["freetype"]), "fontlist": entry["fontlist"]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _remember(memo: Path, install: dict[str, str], resolved: dict[str, Any]) -> None:
    """Add this resolution to the memo (written whole and replaced at once; a memo that cannot be written is
    only not written)."""
    if any(p.startswith("not found") for p in resolved["fonts"].values()):
        return
    try:
        try:
            known = json.loads(memo.read_text(encoding="utf-8"))
            known = known if isinstance(known, dict) else {}
        except (OSError, ValueError):
            known = {}
        key = _key(install)
        known.pop(key, None)
        known[key] = {**resolved, "fontlist_sha256": sha256_file(Path(resolved["fontlist"]))}
        known = dict(list(known.items())[-MEMO_ENTRIES:])
        memo.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=memo.parent, prefix=".figure-style-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(known, out, indent=1)
            os.replace(tmp, memo)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError:
        pass

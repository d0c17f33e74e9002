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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trialpress.store.hashing import sha256_file

# the families of report/figures.py's RC["font.family"] (a test checks they agree; importing figures.py here
# would cost the up-to-date check most of a second)
FAMILIES = ("DejaVu Sans",)
WEIGHTS = ("normal", "bold")


def figure_style() -> dict[str, Any]:
    """{'fonts': {'<family> <weight>': '<file name> <sha256>'}, 'freetype': version} (imports matplotlib)."""
    try:
        from matplotlib import font_manager, ft2font
    except ImportError:
        return {"fonts": {}, "freetype": "matplotlib not installed"}
    fonts: dict[str, str] = {}
    for family in FAMILIES:
        for weight in WEIGHTS:
            prop = font_manager.FontProperties(family=family, weight=weight)
            try:
                path = Path(font_manager.findfont(prop, fallback_to_default=True))
                fonts[f"{family} {weight}"] = f"{path.name} {sha256_file(path)}"
            except (OSError, ValueError) as exc:
                fonts[f"{family} {weight}"] = f"not found ({exc})"
    return {"fonts": fonts, "freetype": str(getattr(ft2font, "__freetype_version__", "unknown"))}

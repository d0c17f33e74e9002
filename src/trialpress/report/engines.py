"""Render a .qmd to self-contained HTML and to PDF: Quarto when on PATH, else pandoc + Typst.

Both paths read the same .qmd, the same CSS and the same Typst template partials, so they give
the same document. Fonts come only from Typst's embedded set plus matplotlib's DejaVu fonts
(system fonts are ignored) and the PDF carries a fixed timestamp: same input, same bytes.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from trialpress.errors import RenderError

FIXED_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Renderer:
    name: str               # 'quarto' or 'pandoc+typst'
    versions: dict[str, str]


def font_paths() -> list[str]:
    """matplotlib's DejaVu fonts (those the figures are drawn with), found without importing matplotlib: the
    figures may have been drawn in another process."""
    import importlib.util

    spec = importlib.util.find_spec("matplotlib")
    assert spec is not None and spec.origin is not None
    return [str(Path(spec.origin).with_name("mpl-data") / "fonts" / "ttf")]


def detect() -> Renderer:
    quarto = shutil.which("quarto")
    if quarto:
        out = subprocess.run([quarto, "--version"], capture_output=True, text=True, check=False)
        return Renderer("quarto", {"quarto": out.stdout.strip()})
    import pypandoc
    import typst

    return Renderer("pandoc+typst", {"pandoc": str(pypandoc.get_pandoc_version()), "typst": typst.__version__})


DOCUMENT_FORMATS = ("html", "pdf", "docx")


def render(qmd: Path, template_dir: Path, formats: list[str], renderer: Renderer | None = None,
           figures_ready: Callable[[], None] = lambda: None) -> dict[str, Path]:
    """Render `qmd` (in its own folder, next to figures/) to the requested document formats. Word always goes
    through pandoc's docx writer with the template set's reference document (what Quarto's docx format runs),
    with fixed timestamps, so its bytes are the same on every machine. `figures_ready` returns once the
    figure files exist (they may still be drawn elsewhere): pandoc converts the text before it is called,
    and only what reads the figures (the HTML's embedding, Typst, Word, Quarto) waits for it; it may be
    called from several threads."""
    renderer = renderer or detect()
    out: dict[str, Path] = {}
    if renderer.name == "quarto":
        figures_ready()
        out = _render_quarto(qmd, [f for f in formats if f in ("html", "pdf")])
        if "docx" in formats:
            out["docx"] = _docx(qmd, template_dir, figures_ready)
        return out
    wanted = [f for f in DOCUMENT_FORMATS if f in formats]
    if len(wanted) < 2:
        return {f: _JOBS[f](qmd, template_dir, figures_ready) for f in wanted}
    # side by side: pandoc runs as its own process, so HTML and Word are written while the PDF is typeset.
    # The PDF's conversion goes first: Typst, the longest step, waits for it (and for the figures), while
    # the HTML can follow beside Typst (started together, the two conversions took 0.17-0.32 s against
    # 0.12 s for one, and the figures, still being drawn, lost that CPU too)
    import threading
    from concurrent.futures import ThreadPoolExecutor

    typst_text = threading.Event()
    if "pdf" not in wanted:
        typst_text.set()

    def job(f: str) -> Path:
        if f == "pdf":
            try:
                return _pandoc_typst_pdf(qmd, template_dir, figures_ready, converted=typst_text.set)
            finally:
                typst_text.set()     # whatever failed: the other formats never wait for nothing
        typst_text.wait()
        return _JOBS[f](qmd, template_dir, figures_ready)

    with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
        futures = {f: pool.submit(job, f) for f in wanted}
        return {f: futures[f].result() for f in wanted}


def _docx(qmd: Path, template_dir: Path, figures_ready: Callable[[], None]) -> Path:
    from trialpress.report.docx import render_docx

    figures_ready()
    return render_docx(qmd, template_dir)


def _pandoc(args: list[str], cwd: Path) -> None:
    import pypandoc

    cmd = [pypandoc.get_pandoc_path(), *args]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RenderError(f"pandoc failed ({' '.join(args[:3])} …): {proc.stderr.strip()[:2000]}",
                          hint="This is a template problem: check the template set named in the plan.")


def _pandoc_html(qmd: Path, template_dir: Path, figures_ready: Callable[[], None]) -> Path:
    out = qmd.with_suffix(".html")
    css = template_dir / "html" / "style.css"
    tpl = template_dir / "html" / "template.html"
    args = [qmd.name, "-f", "markdown", "-t", "html5", "--standalone", f"--css={css}", "--wrap=none",
            f"--template={tpl}", "--toc", "--toc-depth=4", "-o", out.name]
    _pandoc(args, qmd.parent)
    # self-contained: stylesheet and figures embedded (pandoc's --embed-resources: see html_embed)
    from trialpress.report.html_embed import embed_resources

    figures_ready()
    out.write_text(embed_resources(out.read_text(encoding="utf-8"), qmd.parent), encoding="utf-8", newline="")
    return out


def _pandoc_typst_pdf(qmd: Path, template_dir: Path, figures_ready: Callable[[], None],
                      converted: Callable[[], None] = lambda: None) -> Path:
    """The PDF: pandoc converts the .qmd to Typst (then `converted` is called, even if it failed), Typst sets it
    once the figures are ready."""
    import typst

    typ = qmd.with_suffix(".typ")
    tpl = template_dir / "typst" / "template.typ"
    try:
        _pandoc([qmd.name, "-f", "markdown", "-t", "typst", "--standalone", f"--template={tpl}", "--wrap=none",
                 "-o", typ.name], qmd.parent)
    finally:
        converted()
    pdf = qmd.with_suffix(".pdf")
    figures_ready()
    try:
        typst.compile(str(typ), output=str(pdf), root=str(qmd.parent), font_paths=font_paths(),
                      ignore_system_fonts=True, timestamp=int(FIXED_TIME.timestamp()))
    except Exception as exc:  # noqa: BLE001 - typst raises its own error type with the source location
        raise RenderError(f"Typst could not compile {typ.name}: {exc}",
                          hint="This is a template problem: check the Typst partials of the template set.") from None
    return pdf


_JOBS: dict[str, Callable[[Path, Path, Callable[[], None]], Path]] = {
    "html": _pandoc_html, "pdf": _pandoc_typst_pdf, "docx": _docx}


def _render_quarto(qmd: Path, formats: list[str]) -> dict[str, Path]:
    quarto = shutil.which("quarto")
    assert quarto
    out: dict[str, Path] = {}
    for f in formats:
        to = "typst" if f == "pdf" else "html"
        proc = subprocess.run([quarto, "render", qmd.name, "--to", to], cwd=qmd.parent, capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            raise RenderError(f"quarto render --to {to} failed: {proc.stderr.strip()[:2000]}")
        out[f] = qmd.with_suffix(".pdf" if f == "pdf" else ".html")
    return out

"""The document engines' order: with HTML and PDF both asked for, pandoc converts the .qmd to Typst first
and to HTML after it (Typst, the longest step, waits for its conversion; started together the two took
the CPU from each other), and a failed Typst conversion never leaves the HTML waiting."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from trialpress.errors import RenderError
from trialpress.report import engines

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "article"
RENDERER = engines.Renderer("pandoc+typst", {})


def _fake_pandoc(events: list[tuple[str, str]], fail: str = ""):
    def run(args: list[str], cwd: Path) -> None:
        to = args[args.index("-t") + 1]
        events.append(("start", to))
        time.sleep(0.2)
        if to == fail:
            events.append(("failed", to))
            raise RenderError(f"pandoc failed for {to}")
        out = args[args.index("-o") + 1]
        (cwd / out).write_text("<html><body><p>x</p></body></html>" if to == "html5" else "= x\n", encoding="utf-8")
        events.append(("end", to))
    return run


@pytest.fixture()
def qmd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import typst

    monkeypatch.setattr(typst, "compile", lambda *a, output, **k: Path(output).write_bytes(b"%PDF-1.7\n"))
    path = tmp_path / "report.qmd"
    path.write_text("x\n", encoding="utf-8")
    return path


def test_the_typst_conversion_goes_first(qmd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[str, str]] = []
    monkeypatch.setattr(engines, "_pandoc", _fake_pandoc(events))
    out = engines.render(qmd, TEMPLATES, ["html", "pdf"], RENDERER)
    assert events == [("start", "typst"), ("end", "typst"), ("start", "html5"), ("end", "html5")]
    assert out["pdf"].read_bytes().startswith(b"%PDF") and "<p>x</p>" in out["html"].read_text(encoding="utf-8")


def test_a_failed_typst_conversion_does_not_leave_the_html_waiting(qmd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[str, str]] = []
    monkeypatch.setattr(engines, "_pandoc", _fake_pandoc(events, fail="typst"))
    raised: list[BaseException] = []

    def run() -> None:
        try:
            engines.render(qmd, TEMPLATES, ["html", "pdf"], RENDERER)
        except RenderError as exc:
            raised.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout=20)
    assert not t.is_alive(), "the HTML job waited for a conversion that had failed"
    assert raised and "typst" in str(raised[0])
    assert ("end", "html5") in events   # the HTML was still written


def test_one_format_alone_needs_no_order(qmd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[str, str]] = []
    monkeypatch.setattr(engines, "_pandoc", _fake_pandoc(events))
    engines.render(qmd, TEMPLATES, ["html"], RENDERER)
    assert events == [("start", "html5"), ("end", "html5")]

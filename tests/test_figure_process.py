"""The figure process (`trialpress.figure_process`): the same bytes as drawing here, and every way it can
fail ends in the figures drawn here or the drawing's own error, never in a hang or a process left behind."""

from __future__ import annotations

import os
import time
from pathlib import Path

import matplotlib
import pytest

from trialpress.report.engines import font_paths
from trialpress.report.figures import KMPanel
from trialpress.report.figures.jobs import Draw, draw
from trialpress.store.style import figure_style

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the figure process needs fork")


def _jobs(folder: Path) -> list[Draw]:
    from test_figures import make_forest, make_panels, make_single

    folder.mkdir(parents=True, exist_ok=True)
    return [Draw((make_single(),), folder / "km", ("svg", "png")),
            Draw(tuple(make_panels()), folder / "km-by", ("svg",)),
            Draw(make_forest(), folder / "forest", ("svg", "png"))]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_figures_drawn_in_the_process_are_the_bytes_drawn_here(tmp_path: Path) -> None:
    from trialpress.figure_process import FigureProcess

    there, here = _jobs(tmp_path / "there"), _jobs(tmp_path / "here")
    with FigureProcess() as fp:
        pid = fp._pid
        assert fp.style() == figure_style()
        fp.draw(there)
        fp.ready()
        fp.ready()   # a second call (another engine) returns at once
        assert not fp.drawn_here and fp.seconds > 0
    assert pid is not None and _gone(pid)
    for job in here:
        draw(job)
    written = sorted(p.name for p in (tmp_path / "there").iterdir())
    assert written == ["forest.png", "forest.svg", "km-by.svg", "km.png", "km.svg"]
    for name in written:
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name


def test_a_drawing_error_is_raised_here_with_its_own_message(tmp_path: Path) -> None:
    from test_figures import make_single

    from trialpress.figure_process import FigureProcess

    p = make_single()
    bad = KMPanel("", p.curves, p.labels, p.risk, (6.0, 12.0), p.medians, (), "x", "y")
    fp = FigureProcess()
    pid = fp._pid
    fp.draw([Draw((bad,), tmp_path / "km", ("svg",))])
    with pytest.raises(ValueError, match="start at 0"):
        fp.ready()
    fp.close()
    assert pid is not None and _gone(pid)


def test_a_dead_process_leaves_the_figures_drawn_here(tmp_path: Path) -> None:
    import signal

    from trialpress.figure_process import FigureProcess

    fp = FigureProcess()
    assert fp._pid is not None
    os.kill(fp._pid, signal.SIGKILL)
    assert fp.style() == figure_style()   # resolved here when the process cannot send it
    fp.draw(_jobs(tmp_path))
    fp.ready()
    assert fp.drawn_here and (tmp_path / "forest.svg").is_file() and (tmp_path / "km.png").is_file()
    fp.close()


def test_closing_a_busy_process_stops_it_at_once(tmp_path: Path) -> None:
    from trialpress.figure_process import FigureProcess

    fp = FigureProcess()
    pid = fp._pid
    fp.draw(_jobs(tmp_path) * 4)   # a render that stopped while its figures were being drawn
    t0 = time.monotonic()
    fp.close()
    fp.close()
    assert time.monotonic() - t0 < 5 and pid is not None and _gone(pid)


def test_no_process_where_threads_already_run() -> None:
    import threading

    from trialpress.figure_process import FigureProcess

    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert FigureProcess.start() is None
    finally:
        stop.set()
        t.join()


def test_the_fonts_are_found_where_matplotlib_keeps_them() -> None:
    assert font_paths() == [str(Path(matplotlib.get_data_path()) / "fonts" / "ttf")]

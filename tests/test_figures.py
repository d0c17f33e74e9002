"""Tests for trialpress.report.figures: content, layout, determinism, look, and layering."""

from __future__ import annotations

import ast
import itertools
import math
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.testing.compare import compare_images
from matplotlib.text import Text

from trialpress.analysis.survival import kaplan_meier, km_quantile, risk_table
from trialpress.report import figures as F

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "baseline" / "figures"
FIGURES_PY = Path(F.__file__)
UPDATE = os.environ.get("TRIALPRESS_UPDATE_BASELINES") == "1"
TICKS = tuple(float(t) for t in range(0, 37, 6))


# ------------------------------------------------------------------------------ test data
def _simulate(rng: np.random.Generator, n: int, median: float) -> tuple[np.ndarray, np.ndarray]:
    t = rng.exponential(median / math.log(2), n)
    entry = rng.uniform(0, 24, n)
    cens = np.minimum(42.0 - entry, rng.exponential(80, n))
    return np.round(np.minimum(t, cens), 2), t <= cens


def _panel(rng: np.random.Generator, title: str, groups: list[tuple[str, str, int, float]], *,
           show_ci: bool = False, annotation: tuple[str, ...] = ("HR, 1.58 (95% CI, 1.26–1.97)", "Log-rank P < .001"),
           ticks: tuple[float, ...] = TICKS) -> F.KMPanel:
    curves, labels, risk, medians = {}, {}, {}, {}
    for key, label, n, median in groups:
        curve = kaplan_meier(*_simulate(rng, n, median))
        rt = risk_table(curve, np.array(ticks))
        curves[key], labels[key] = curve, label
        risk[key] = F.RiskRow(tuple(int(v) for v in rt.at_risk), tuple(int(v) for v in rt.events),
                              tuple(int(v) for v in rt.censored))
        medians[key] = km_quantile(curve).value
    return F.KMPanel(title, curves, labels, risk, ticks, medians, annotation, "Months since first dose",
                     "Overall survival (%)", show_ci)


def make_panels() -> list[F.KMPanel]:
    """Two panels as in a Figure 1B: a subgroup split, one with CI bands."""
    rng = np.random.default_rng(20240501)
    a = _panel(rng, "A  Prior alloHSCT: Yes",
               [("first", "First salvage", 60, 9.0), ("later", "Second or later", 150, 5.0)], show_ci=True,
               annotation=("HR, 1.71 (95% CI, 1.22–2.40)", "Log-rank P = .002"))
    b = _panel(rng, "B  Prior alloHSCT: No",
               [("first", "First salvage", 105, 11.0), ("later", "Second or later", 217, 7.0)],
               annotation=("HR, 1.49 (95% CI, 1.12–1.98)", "Log-rank P = .006"))
    return [a, b]


def make_single() -> F.KMPanel:
    rng = np.random.default_rng(7)
    return _panel(rng, "", [("first", "First salvage", 165, 10.0), ("later", "Second or later salvage", 367, 6.0)])


def make_forest() -> F.ForestSpec:
    R, nan = F.ForestRow, math.nan
    rows = (
        R("All patients", False, ("250/367", "98/165"), 1.58, 1.26, 1.97, "1.58 (1.26–1.97)", ""),
        R("Age", True, (), nan, nan, nan, "", "0.41"),
        R("Age: <65 years", False, ("150/230", "60/104"), 1.49, 1.10, 2.02, "1.49 (1.10–2.02)", ""),
        R("Age: ≥65 years", False, ("100/137", "38/61"), 1.80, 1.24, 2.61, "1.80 (1.24–2.61)", ""),
        R("Sex", True, (), nan, nan, nan, "", "0.77"),
        R("Sex: Female", False, ("110/160", "40/70"), 1.62, 1.13, 2.33, "1.62 (1.13–2.33)", ""),
        R("Sex: Male", False, ("140/207", "58/95"), 1.53, 1.13, 2.07, "1.53 (1.13–2.07)", ""),
        R("ECOG performance status", True, (), nan, nan, nan, "", "0.09"),
        R("ECOG performance status: 0", False, ("80/140", "30/70"), 1.20, 0.79, 1.83, "1.20 (0.79–1.83)", ""),
        R("ECOG performance status: 1–2", False, ("170/227", "68/95"), 1.95, 1.47, 2.58, "1.95 (1.47–2.58)", ""),
        R("Prior alloHSCT", True, (), nan, nan, nan, "", "0.52"),
        R("Prior alloHSCT: Yes", False, ("110/150", "40/60"), 1.71, 1.22, 2.40, "1.71 (1.22–2.40)", ""),
        R("Prior alloHSCT: No", False, ("140/217", "58/105"), 1.49, 1.12, 1.98, "1.49 (1.12–1.98)", ""),
        R("Cytogenetic risk", True, (), nan, nan, nan, "", "0.20"),
        R("Cytogenetic risk: Favourable", False, ("12/20", "3/9"), 3.10, 0.85, 11.3, "3.10 (0.85–11.3)", ""),
        R("Cytogenetic risk: Intermediate", False, ("150/230", "65/110"), 1.40, 1.04, 1.88, "1.40 (1.04–1.88)", ""),
        R("Cytogenetic risk: Adverse", False, ("88/117", "30/46"), 1.85, 1.22, 2.80, "1.85 (1.22–2.80)", ""),
        R("Cytogenetic risk: Unknown", False, ("0/0", "0/0"), nan, nan, nan, "NE", ""),
    )
    return F.ForestSpec(rows, ("Subgroup", "Events/N Second or later", "Events/N First", "HR (95% CI)",
                               "P interaction"),
                        "Hazard ratio (Second or later vs First salvage)", ("Favours second or later", "Favours first"))


def _texts(fig: matplotlib.figure.Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_text()]


def _by_gid(fig: matplotlib.figure.Figure, gid: str) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_gid() == gid]


def _extent(fig: matplotlib.figure.Figure, artist) -> matplotlib.transforms.Bbox:
    return artist.get_window_extent(fig.canvas.get_renderer())


def _drawn_boxes(fig: matplotlib.figure.Figure) -> list[tuple[str, matplotlib.transforms.Bbox]]:
    """Extents of the texts that are drawn (unused tick labels are invisible or empty)."""
    fig.canvas.draw()
    out = []
    for t in _texts(fig):
        box = _extent(fig, t)
        if t.get_visible() and box.width > 0:
            out.append((t.get_text(), box))
    return out


def _assert_no_overlap_on_page(fig: matplotlib.figure.Figure) -> None:
    page = fig.bbox
    boxes = _drawn_boxes(fig)
    for text, box in boxes:
        assert page.x0 - 0.5 <= box.x0 and box.x1 <= page.x1 + 0.5, text
        assert page.y0 - 0.5 <= box.y0 and box.y1 <= page.y1 + 0.5, text
    for (ta, a), (tb, b) in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (ta, tb)


# ------------------------------------------------------------------------------ styling
def test_group_colours_are_okabe_ito_and_stable_by_position():
    c = F.group_colours(["b", "a", "c"])
    assert list(c) == ["b", "a", "c"]
    assert c == {"b": F.OKABE_ITO[0], "a": F.OKABE_ITO[1], "c": F.OKABE_ITO[2]}
    assert F.group_colours(["x", "y"])["x"] == c["b"]           # position decides, not the key
    assert len(set(F.group_colours(list("abcdefg")).values())) == 7
    assert "#F0E442" not in F.OKABE_ITO                          # yellow is unreadable as a line
    styles = F.group_linestyles(list("abcdef"))
    assert len({repr(s) for s in styles.values()}) == 6          # greyscale-distinct


# ------------------------------------------------------------------------------ KM content and layout
def test_km_figure_contains_risk_table_numbers_and_labels():
    panels = make_panels()
    fig = F.build_km_figure(panels)
    texts = {t.get_text() for t in _texts(fig)}
    for p in panels:
        assert p.title in texts
        for key, row in p.risk.items():
            assert p.labels[key] in texts
            nums = [t.get_text() for t in _by_gid(fig, f"risk-{key}-at_risk")]
            assert nums[-len(p.ticks):] == [str(v) for v in row.at_risk] or \
                nums[:len(p.ticks)] == [str(v) for v in row.at_risk]
        assert any("\n".join(p.annotation) == t for t in texts)
    for label in ("At risk", "Censored", "Events"):
        assert label in texts
    # each panel draws exactly its own rows: 2 panels x 2 groups x 3 rows x 7 ticks
    cells = [t for t in fig.findobj(Text) if (t.get_gid() or "").startswith("risk-")
             and t.get_gid().split("-")[-1] in {"at_risk", "events", "censored"}
             and not t.get_gid().startswith("risk-label")]
    assert len(cells) == 2 * 2 * 3 * len(TICKS)


def test_risk_table_numbers_sit_exactly_under_the_ticks():
    panels = make_panels()
    fig = F.build_km_figure(panels)
    fig.canvas.draw()
    plots = [a for a in fig.axes if a.get_gid() == "km-axes"]
    tables = [a for a in fig.axes if a.get_gid() == "risk-table"]
    assert len(plots) == len(tables) == 2
    for p, ax, tab in zip(panels, plots, tables):
        assert tab.get_shared_x_axes().joined(ax, tab)
        assert list(ax.get_xticks()) == list(p.ticks)
        for key, row in p.risk.items():
            for attr in ("at_risk", "censored", "events"):
                cells = [t for t in tab.texts if t.get_gid() == f"risk-{key}-{attr}"]
                assert [t.get_text() for t in cells] == [str(v) for v in getattr(row, attr)]
                assert [t.get_position()[0] for t in cells] == list(p.ticks)       # data coordinates
                assert all(t.get_ha() == "center" for t in cells)
                for t, tick in zip(cells, p.ticks):                                # and on the page
                    x_tick = ax.transData.transform((tick, 0))[0]
                    box = _extent(fig, t)
                    assert box.x0 + box.width / 2 == pytest.approx(x_tick, abs=0.6)
                assert len({t.get_position()[1] for t in cells}) == 1               # one line per row


def test_km_text_does_not_overlap_and_stays_on_the_page():
    for panels in (make_panels(), [make_single()], make_panels()[:1] * 3):
        _assert_no_overlap_on_page(F.build_km_figure(panels))


def test_km_key_box_avoids_the_curves():
    fig = F.build_km_figure([make_single()])
    fig.canvas.draw()
    ax = next(a for a in fig.axes if a.get_gid() == "km-axes")
    keys = [c for c in ax.get_children() if (c.get_gid() or "").startswith("km-key")
            or c.get_gid() in {"km-legend", "km-annotation"}]
    assert keys
    renderer = fig.canvas.get_renderer()
    for line in ax.get_lines():
        if (line.get_gid() or "").startswith(("km-", "median-")):
            xy = line.get_xydata()
            if line.get_drawstyle() == "steps-post":
                xy = F._step_path(*line.get_data())
            path = matplotlib.path.Path(ax.transData.transform(xy))
            for box in keys:
                assert not path.intersects_bbox(box.get_window_extent(renderer), filled=False), line.get_gid()


def test_key_that_fits_nowhere_inside_goes_above_the_plot():
    rng = np.random.default_rng(0)
    ticks = tuple(float(t) for t in range(0, 61, 12))
    p = _panel(rng, "C  Three arms", [("a", "Arm A", 200, 200.0), ("b", "Arm B", 200, 90.0),
                                       ("c", "Arm C with a long label", 80, 40.0)],
               ticks=ticks, show_ci=True, annotation=("Log-rank P = .04",))
    fig = F.build_km_figure([p, p])
    gids = [c.get_gid() for a in fig.axes for c in a.get_children()]
    assert gids.count("km-key-above") == 2
    _assert_no_overlap_on_page(fig)
    ax = next(a for a in fig.axes if a.get_gid() == "km-axes")
    above = next(c for c in ax.get_children() if c.get_gid() == "km-key-above")
    fig.canvas.draw()
    box = above.get_window_extent(fig.canvas.get_renderer())
    assert box.y0 >= ax.get_window_extent().y1 - 0.5                  # in the band, not on the curves
    title = next(t for t in fig.texts if t.get_gid() == "panel-title")
    assert box.y1 <= _extent(fig, title).y0 + 0.5                      # and under the title


def test_median_lines_only_where_reached():
    p = make_single()
    p = F.KMPanel(p.title, p.curves, p.labels, p.risk, p.ticks, {"first": math.nan, "later": p.medians["later"]},
                  p.annotation, p.xlabel, p.ylabel)
    fig = F.build_km_figure([p])
    gids = {ln.get_gid() for ax in fig.axes for ln in ax.get_lines()}
    assert {"median-h-later", "median-v-later"} <= gids
    assert not {"median-h-first", "median-v-first"} & gids
    ax = next(a for a in fig.axes if a.get_gid() == "km-axes")
    v = next(ln for ln in ax.get_lines() if ln.get_gid() == "median-v-later")
    assert list(v.get_xdata()) == [p.medians["later"]] * 2
    assert max(v.get_ydata()) == 50


def test_curves_are_percent_steps_with_censor_marks():
    p = make_single()
    fig = F.build_km_figure([p])
    ax = next(a for a in fig.axes if a.get_gid() == "km-axes")
    line = next(ln for ln in ax.get_lines() if ln.get_gid() == "km-first")
    assert line.get_drawstyle() == "steps-post"
    assert line.get_ydata()[0] == 100 and line.get_xdata()[0] == 0
    assert max(line.get_xdata()) <= p.ticks[-1]
    marks = next(ln for ln in ax.get_lines() if ln.get_gid() == "censor-first")
    curve = p.curves["first"]
    censored = curve.time[(curve.n_censor > 0) & (curve.time <= p.ticks[-1])]
    assert marks.get_marker() == "|" and list(marks.get_xdata()) == list(censored)
    assert ax.get_ylim()[0] < 0 < 100 < ax.get_ylim()[1]
    assert not ax.spines["top"].get_visible() and not ax.spines["right"].get_visible()


def test_km_rejects_inconsistent_input():
    p = make_single()
    bad_row = F.RiskRow((1, 2), (0, 0), (0, 0))
    with pytest.raises(ValueError, match="ticks"):
        F.build_km_figure([F.KMPanel("", p.curves, p.labels, {**p.risk, "first": bad_row}, p.ticks, p.medians,
                                     (), "x", "y")])
    with pytest.raises(ValueError, match="start at 0"):
        F.build_km_figure([F.KMPanel("", p.curves, p.labels, p.risk, (6.0, 12.0), p.medians, (), "x", "y")])
    with pytest.raises(ValueError, match="label"):
        F.build_km_figure([F.KMPanel("", p.curves, {"first": "x"}, p.risk, p.ticks, p.medians, (), "x", "y")])
    with pytest.raises(ValueError):
        F.build_km_figure([])


def test_drawing_leaves_global_rcparams_alone(tmp_path):
    before = dict(matplotlib.rcParams)
    F.draw_km([make_single()], tmp_path / "km")
    F.draw_forest(make_forest(), tmp_path / "forest")
    assert dict(matplotlib.rcParams) == before


# ------------------------------------------------------------------------------ forest
def test_forest_content():
    spec = make_forest()
    fig = F.build_forest_figure(spec)
    texts = {t.get_text() for t in _texts(fig)}
    for row in spec.rows:
        if row.hr_text:
            assert row.hr_text in texts
        if row.p_text:
            assert row.p_text in texts
    assert "<65 years" in texts and "Age: <65 years" not in texts           # header prefix dropped
    assert "60/104" in texts and "150/230" in texts                         # tab-separated count cells
    assert "Prior alloHSCT" in texts
    assert any("Favours second or later" in t for t in texts)
    labels = [t for t in fig.findobj(Text) if t.get_gid() == "forest-label"]
    heads = {t.get_text() for t in labels if t.get_fontweight() in ("bold", 700)}
    assert heads == {r.label for r in spec.rows if r.is_header}


def test_forest_points_axis_and_arrows():
    spec = make_forest()
    fig = F.build_forest_figure(spec)
    ax = next(a for a in fig.axes if a.get_gid() == "forest-axes")
    assert ax.get_xscale() == "log"
    lo, hi = ax.get_xlim()
    assert lo < 1 < hi
    points = [ln for ln in ax.get_lines() if ln.get_gid() == "forest-point"]
    want = [(r.hr, i) for i, r in enumerate(spec.rows) if not r.is_header and math.isfinite(r.hr)]
    assert sorted((ln.get_xdata()[0], ln.get_ydata()[0]) for ln in points) == sorted(want)
    assert all(ln.get_marker() == "s" for ln in points)
    arrows = [ln for ln in ax.get_lines() if ln.get_gid() == "forest-arrow"]
    assert len(arrows) == 1 and arrows[0].get_xdata()[0] == hi     # 11.3 runs off the axis
    nulls = [ln for ln in ax.get_lines() if ln.get_gid() == "forest-null"]
    assert len(nulls) == 1 and list(nulls[0].get_xdata()) == [1.0, 1.0]


def test_forest_text_does_not_overlap():
    _assert_no_overlap_on_page(F.build_forest_figure(make_forest()))


def test_forest_axis_labels_of_a_wide_ci_and_long_level_names_do_not_touch():
    """The public package's region and race subgroups (a CI of 0.05-12.1 takes the axis to 1/8-8, long level
    names leave it narrow): the tick labels are thinned until none touches another (drawn extents, not the
    layout's estimate), and 1 stays labelled."""
    R, nan = F.ForestRow, math.nan
    rows = (R("Race", True, (), nan, nan, nan, "", "NE"),
            R("Race: NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER", False, ("1/1", "0/0"), nan, nan, nan, "NE", ""),
            R("Race: AMERICAN INDIAN OR ALASKA NATIVE", False, ("4/11", "5/8"), 2.01, 0.54, 7.51, "2.01 (0.54–7.51)", ""),
            R("Region", True, (), nan, nan, nan, "", ".681"),
            R("Region: Eurasia", False, ("5/8", "1/5"), 0.19, 0.02, 1.65, "0.19 (0.02–1.65)", ""),
            R("Region: Europe", False, ("1/3", "1/4"), 0.76, 0.05, 12.14, "0.76 (0.05–12.14)", ""),
            R("All patients", False, ("58/134", "58/134"), 1.00, 0.70, 1.44, "1.00 (0.70–1.44)", ""))
    spec = F.ForestSpec(rows, ("Subgroup", "Events/N, B: Placebo", "Events/N, A: Drug X", "HR (95% CI)",
                               "P interaction"), "Hazard ratio, A: Drug X vs B: Placebo",
                        ("Favors A: Drug X", "Favors B: Placebo"))
    fig = F.build_forest_figure(spec)
    ax = next(a for a in fig.axes if a.get_gid() == "forest-axes")
    assert ax.get_xlim() == (0.125, 8.0)
    fig.canvas.draw()
    labels = [(t.get_text(), _extent(fig, t)) for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
    assert "1" in [text for text, _ in labels] and len(labels) >= 3
    for (ta, a), (tb, b) in itertools.combinations(labels, 2):
        assert not a.overlaps(b), (ta, tb)
    _assert_no_overlap_on_page(fig)


def test_means_key_sits_above_the_plot_and_covers_no_ci_bar():
    """The public package's diastolic blood pressure (Drug X's bars reach the plot's top right corner, where
    matplotlib's 'best' key once covered one): the key is above the axes, and no text overlaps another."""
    from trialpress.report.figures.means import build_means_figure
    from trialpress.report.figures.specs import MeansPanel

    visits = ("WEEK 1 DAY 8", "WEEK 2 DAY 15", "WEEK 3 DAY 22", "WEEK 4 DAY 29", "WEEK 5 DAY 36")
    est = {"B": (-1.9, -1.8, -3.4, -2.1, -5.2), "A": (4.1, 5.5, 5.2, 3.7, 4.9), "C": (-5.6, -2.8, -2.9, -3.5, -5.0)}
    panel = MeansPanel(visits, {"B": "B: Placebo", "A": "A: Drug X", "C": "C: Combination"}, est,
                       {k: tuple(v - 4.7 for v in e) for k, e in est.items()},
                       {k: tuple(v + 4.7 for v in e) for k, e in est.items()},
                       {k: (134,) * 5 for k in est}, "Mean change from baseline (Pa)")
    fig = build_means_figure(panel)
    fig.canvas.draw()
    ax = fig.axes[0]
    key = ax.get_legend()
    renderer = fig.canvas.get_renderer()
    assert key.get_window_extent(renderer).y0 >= ax.get_window_extent(renderer).y1 - 0.5
    ymin, ymax = ax.get_ylim()
    shown = [(t, b) for t, b in _drawn_boxes(fig) if not (t.lstrip("\u2212-").isdigit()   # ticks past the limits
                                                         and not ymin <= float(t.replace("\u2212", "-")) <= ymax)]
    for (ta, a), (tb, b) in itertools.combinations(shown, 2):
        assert not a.overlaps(b), (ta, tb)


def test_drawing_cleans_each_text_but_keeps_the_spec_structure():
    """What draw_forest / draw_km draw (`style._drawable`): a control character or line break inside a text
    becomes a space, while the count cells stay separate columns and the annotation keeps its lines."""
    from trialpress.report.figures.style import _drawable

    spec = make_forest()
    hostile = F.ForestRow("Sex: F\tem\nale", False, ("1\t0/2", "3/4"), 1.5, 1.1, 2.0, "1.50 (1.10–2.00)", "")
    fig = F.build_forest_figure(_drawable(F.ForestSpec((*spec.rows, hostile), spec.columns, spec.xlabel,
                                                       spec.favours)))
    texts = {t.get_text() for t in _texts(fig)}
    assert {"60/104", "150/230", "1 0/2", "3/4"} <= texts
    panel = _drawable(make_single())
    assert panel.annotation == ("HR, 1.58 (95% CI, 1.26–1.97)", "Log-rank P < .001")
    assert "HR, 1.58 (95% CI, 1.26–1.97)\nLog-rank P < .001" in {t.get_text() for t in _texts(F.build_km_figure([panel]))}


def test_forest_rejects_too_many_count_cells():
    spec = make_forest()
    bad = F.ForestSpec(spec.rows, ("Subgroup", "N", "HR", "P"), spec.xlabel, spec.favours)
    with pytest.raises(ValueError, match="count cells"):
        F.build_forest_figure(bad)


# ------------------------------------------------------------------------------ files and determinism
def _draw_all(out: Path) -> list[Path]:
    return F.draw_km(make_panels(), out / "km") + F.draw_forest(make_forest(), out / "forest")


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> list[Path]:
    return _draw_all(tmp_path_factory.mktemp("drawn"))


def test_outputs_are_vector_files_without_dates(drawn):
    assert [p.name for p in drawn] == ["km.svg", "km.pdf", "forest.svg", "forest.pdf"]
    for p in drawn:
        data = p.read_bytes()
        if p.suffix == ".svg":
            root = ET.fromstring(data)
            assert root.tag.endswith("svg")
            assert b"<dc:date>" not in data
            assert b"<image" not in data                      # vector only
            assert b"<text" not in data                       # glyphs as paths
        else:
            assert data.startswith(b"%PDF-")
            assert b"/CreationDate" not in data and b"/ModDate" not in data
            assert b"/Subtype /Image" not in data


def test_same_input_gives_identical_bytes(drawn, tmp_path):
    for a, b in zip(drawn, _draw_all(tmp_path)):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_identical_bytes_in_a_fresh_process(drawn, tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        sys.path.insert(0, {str(HERE)!r})
        from test_figures import _draw_all
        _draw_all(Path({str(tmp_path)!r}))
    """)
    env = {**os.environ, "PYTHONHASHSEED": "12345", "MPLBACKEND": "pdf"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path)
    for a in drawn:
        assert a.read_bytes() == (tmp_path / a.name).read_bytes(), a.name


# ------------------------------------------------------------------------------ look (image comparison)
@pytest.mark.parametrize("name, build", [
    ("km_two_panels", lambda: F.build_km_figure(make_panels())),
    ("forest", lambda: F.build_forest_figure(make_forest())),
])
def test_matches_baseline_image(tmp_path, name, build):
    actual = F._save_png(build(), tmp_path / f"{name}.png", dpi=60)
    expected = BASELINE / f"{name}.png"
    if UPDATE or not expected.exists():
        if not UPDATE:
            pytest.fail(f"no baseline {expected}; run with TRIALPRESS_UPDATE_BASELINES=1 and look at it")
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_bytes(actual.read_bytes())
    result = compare_images(str(expected), str(actual), tol=3)
    assert result is None, result


# ------------------------------------------------------------------------------ layering
FORBIDDEN = {"lifelines", "statsmodels", "scipy", "pandas", "sklearn", "matplotlib.pyplot"}


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_figures_module_imports_no_statistics():
    names = set()
    for module in sorted(FIGURES_PY.parent.glob("*.py")):   # every module of the figures package
        names |= _imports(ast.parse(module.read_text(encoding="utf-8")))
    bad = {n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)}
    assert not bad
    # the KMCurve type is imported for annotations only; survival.py pulls in scipy at run time
    runtime = {n for n in names if n.startswith("trialpress.analysis")}
    tree = ast.parse(FIGURES_PY.read_text(encoding="utf-8"))
    guarded = {n for node in ast.walk(tree) if isinstance(node, ast.If)
               and "TYPE_CHECKING" in ast.unparse(node.test) for n in _imports(node)}
    assert runtime <= guarded


def test_importing_figures_loads_no_statistics_package():
    code = ("import sys, trialpress.report.figures; "
            "print(sorted(m for m in ('scipy', 'lifelines', 'statsmodels', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_the_km_axis_says_what_the_curve_shows_for_a_time_to_endpoint() -> None:
    """A KM curve is the share still free of the event: 'Overall survival (%)' is that share, 'Time to first
    dermatologic event (%)' (the CDISC pilot's TTDE, a bundled COPD study's exacerbations) is not."""
    from trialpress.report.figure_specs import km_axis_label

    assert km_axis_label("Overall survival") == "Overall survival (%)"
    assert km_axis_label("Time to first dermatologic event") == "Free of dermatologic event (%)"
    assert km_axis_label("Time to first moderate or severe exacerbation") == \
        "Free of moderate or severe exacerbation (%)"
    assert km_axis_label("time to a new anticancer therapy") == "Free of new anticancer therapy (%)"
    assert km_axis_label("Time to") == "Time to (%)"

"""Journal number style and escaping of data strings for each output format."""

from __future__ import annotations

import math

import pytest

from trialpress.report import escape
from trialpress.report import formatting as fmt


@pytest.mark.parametrize("p,text", [(0.0004, "< .001"), (0.001, ".001"), (0.0614, ".061"), (0.005, ".005"),
                                    (0.04999, ".050"), (0.5, ".500"), (0.99991, "> .999"), (math.nan, "NE")])
def test_pvalue_style(p: float, text: str) -> None:
    assert fmt.pvalue(p) == text


def test_p_phrase() -> None:
    assert fmt.p_phrase(0.0001) == "P < .001"
    assert fmt.p_phrase(0.061) == "P = .061"


def test_fixed_rounds_half_away_from_zero_and_shows_ne() -> None:
    assert fmt.fixed(1.585, 2) == "1.59"
    assert fmt.fixed(2.5, 0) == "3"
    assert fmt.fixed(-0.0004, 2) == "0.00"
    assert fmt.fixed(math.nan, 1) == "NE"
    assert fmt.fixed(math.inf, 1) == "NE"


def test_percent_decimals_depend_on_n() -> None:
    style = fmt.NumberStyle()
    assert fmt.percent(89, 165, style) == "54"
    assert fmt.percent(5, 12, style) == "41.7"


HOSTILE = ['<script>alert(1)</script>', '#read("/etc/passwd")', "{{ 7*7 }}", "$x$", "*bold*", "[link](x)", "a_b_c"]


@pytest.mark.parametrize("s", HOSTILE)
def test_markdown_escape_roundtrips_through_pandoc(s: str) -> None:
    import pypandoc

    html = pypandoc.convert_text(escape.markdown(s), "html", format="markdown")
    import html as h

    assert h.unescape(html.strip().removeprefix("<p>").removesuffix("</p>")) == s


@pytest.mark.parametrize("s", HOSTILE)
def test_typst_escape_is_literal(s: str) -> None:
    import typst

    src = f"#set page(width: 20cm, height: auto)\n{escape.typst(s)}\n".encode()
    out = typst.compile(src, format="svg")  # raises if the text were interpreted as code
    assert out


def test_lower_first_keeps_acronyms() -> None:
    assert fmt.lower_first("Overall survival") == "overall survival"
    assert fmt.lower_first("MRD response") == "MRD response"
    assert fmt.lower_first("alloHSCT") == "alloHSCT"


def test_lower_first_keeps_a_name_in_title_case() -> None:
    """'xanomeline High Dose' would be neither the data's name nor a sentence's word."""
    assert fmt.lower_first("Xanomeline High Dose") == "Xanomeline High Dose"
    assert fmt.lower_first("Placebo") == "placebo"
    assert fmt.lower_first("Second or later salvage") == "second or later salvage"
    assert fmt.lower_first("Baseline FEV1 category") == "baseline FEV1 category"


def test_a_range_of_whole_numbers_prints_without_decimals() -> None:
    from trialpress.report.baseline_view import range_decimals

    assert range_decimals([18.0, 80.0, 19.0, 79.0], 1) == 0
    assert range_decimals([18.0, 80.5], 1) == 1              # one end with a fraction: the whole row keeps decimals
    assert range_decimals([18.0, float("nan")], 2) == 0      # a group with no value does not decide
    assert range_decimals([float("nan")], 1) == 1
    assert range_decimals([], 1) == 1


@pytest.mark.parametrize(("small", "large"), [(1, 0), (0, 0), (2, 1), (1, 1)])
def test_the_methods_state_the_percent_precision_the_tables_use(small: int, large: int) -> None:
    """The methods' sentence on n (%) names what `percent` does at the 100-subject threshold and at the ends."""
    from trialpress.plan.schema import Conventions
    from trialpress.report.methods import _percentages

    class Plan:
        conventions = Conventions(percent_decimals_small_n=small, percent_decimals_large_n=large)

    style = fmt.NumberStyle(percent_decimals_small_n=small, percent_decimals_large_n=large)
    text = _percentages(Plan())  # type: ignore[arg-type]
    at_100, at_101 = fmt.percent(1, 100, style), fmt.percent(1, 101, style)
    assert at_100 == fmt.fixed(1.0, small) and at_101 == fmt.fixed(100 / 101, large)
    words = {0: "whole numbers", 1: "one decimal", 2: "two decimals"}
    assert (f"with {words[small]} where that denominator is 100 or fewer and {words[large]} above" in text
            if small != large else f"with {words[small]};" in text)
    for d in range(1, 100_001, 7):      # the smallest and largest shares short of none and all
        for n in (1, d - 1):
            shown = fmt.percent(n, d, style)
            if 0 < n < d and shown.startswith(("<", ">")):
                assert f"as {shown}" in text, (n, d, shown)


def test_a_span_with_a_negative_bound_reads_to_not_a_dash() -> None:
    from trialpress.report.formatting import EN_DASH, span

    assert span(1.23, 3.456, 1) == f"1.2{EN_DASH}3.5"
    assert span(-25.6, 14.3, 1) == "-25.6 to 14.3"
    assert span(-3.0, -1.0, 1) == "-3.0 to -1.0"
    assert span(-0.04, 2.0, 1) == f"0.0{EN_DASH}2.0"     # rounds to 0.0: no minus shown, no 'to'
    assert span(float("nan"), 2.0, 1) == f"NE{EN_DASH}2.0"

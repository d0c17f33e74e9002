"""Journal number style, applied once to ARD values (the analysis never formats).

Conventions (Cancer Med / AMA style, as in the seed abstract): 'NE' for not estimable;
P with three decimals and no leading zero, 'P < .001' below .001; ratios with two decimals;
percentages without decimals when N > 100 (configurable); CI bounds joined by the plan's
separator in prose and an en dash in tables.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

NE = "NE"
EN_DASH = "\u2013"


@dataclass(frozen=True)
class NumberStyle:
    estimate_decimals: int = 2
    time_decimals: int = 1
    percent_decimals_large_n: int = 0
    percent_decimals_small_n: int = 1
    large_n: int = 100
    ci_separator: str = "-"


def is_missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x)))


def fixed(x: float | None, decimals: int) -> str:
    """Round half away from zero (as SAS and journals do), never '-0.0'."""
    if is_missing(x):
        return NE
    assert x is not None
    q = 10 ** decimals
    v = math.floor(abs(x) * q + 0.5 + 1e-9) / q
    s = f"{v:.{decimals}f}"
    return s if x >= 0 or float(s) == 0 else "-" + s


def count(x: float | None) -> str:
    return NE if is_missing(x) else f"{int(round(x)):d}"  # type: ignore[arg-type]


def pvalue(p: float | None) -> str:
    """'< .001', '.061', '> .999'; no leading zero."""
    if is_missing(p):
        return NE
    assert p is not None
    if p < 0.001:
        return "< .001"
    s = fixed(p, 3)
    if s == "1.000":
        return "> .999"
    return s[1:] if s.startswith("0") else s


def p_phrase(p: float | None) -> str:
    """'P < .001' or 'P = .061' for prose."""
    s = pvalue(p)
    if s == NE:
        return "P = NE"
    return f"P {s}" if s[0] in "<>" else f"P = {s}"


def percent(n: float | None, denom: float | None, style: NumberStyle) -> str:
    """n/denom as a percentage; a non-zero share that rounds to 0 shows as '<1' (or '<0.1'), one short of the
    whole that rounds to 100 as '>99', so that no one reads 'none' or 'all'."""
    if is_missing(n) or is_missing(denom) or not denom:
        return NE
    d = style.percent_decimals_large_n if denom > style.large_n else style.percent_decimals_small_n  # type: ignore[operator]
    x = 100.0 * n / denom  # type: ignore[operator]
    text = fixed(x, d)
    smallest = 10.0 ** -d
    if 0 < x and float(text) == 0:
        return f"<{fixed(smallest, d)}"
    if x < 100 and float(text) == 100:
        return f">{fixed(100 - smallest, d)}"
    return text


def n_percent(n: float | None, denom: float | None, style: NumberStyle) -> str:
    """'108 (65)'."""
    return f"{count(n)} ({percent(n, denom, style)})"


def estimate_ci(value: float | None, lower: float | None, upper: float | None, decimals: int) -> str:
    """'10.4 (8.1–12.6)' for tables."""
    return f"{fixed(value, decimals)} ({ci(lower, upper, decimals, EN_DASH)})"


def percent_ci(value: float | None, lower: float | None, upper: float | None, decimals: int = 1) -> str:
    """A probability as '52.3 (44.1–60.0)' percent; 'NE' when not estimable."""
    if is_missing(value):
        return NE

    def pc(x: float | None) -> str:
        return NE if is_missing(x) else fixed(100 * x, decimals)  # type: ignore[operator]
    return f"{pc(value)} ({pc(lower)}{EN_DASH}{pc(upper)})"


def ci(lower: float | None, upper: float | None, decimals: int, sep: str) -> str:
    return f"{fixed(lower, decimals)}{sep}{fixed(upper, decimals)}"


def span(lower: float | None, upper: float | None, decimals: int) -> str:
    """'1.2–3.4', or '-25.6 to 14.3' when a bound is negative (an en dash beside a minus sign reads as one)."""
    negative = any(not is_missing(v) and fixed(v, decimals).startswith("-") for v in (lower, upper))
    return ci(lower, upper, decimals, " to " if negative else EN_DASH)


def conf_label(alpha: float) -> str:
    """'95%' for alpha 0.05: the confidence level every CI of the plan is computed at, as the ARD's method
    strings name it (`results.ard.ci_level`)."""
    from trialpress.results.ard import ci_level

    return ci_level(1 - alpha)


def ratio_with_ci(name: str, value: float | None, lower: float | None, upper: float | None, decimals: int,
                  conf: str) -> str:
    """'HR, 1.58 (95% CI, 1.26–1.97)' for figure panels (`conf`: conf_label of the plan)."""
    return f"{name}, {fixed(value, decimals)} ({conf} CI, {ci(lower, upper, decimals, EN_DASH)})"


def percent_difference(value: float | None, lower: float | None, upper: float | None, decimals: int = 1) -> str:
    """A difference of proportions in percentage points: '-13.1 (-22.0 to -3.9)' ('to': bounds may be negative)."""
    def pp(x: float | None) -> str:
        return NE if is_missing(x) else fixed(100 * x, decimals)  # type: ignore[operator]
    return f"{pp(value)} ({pp(lower)} to {pp(upper)})"


def lower_first(text: str) -> str:
    """'Baseline FEV1' → 'baseline FEV1' for use inside a sentence: only an ordinary capitalised first word
    (a capital followed by lower-case letters) is lowered; an acronym ('MRD response'), a code ('B: Placebo',
    'A1c'), a number or a one-letter word keeps its form, and so does a name in title case ('Xanomeline High
    Dose', where lowering one word would give 'xanomeline High Dose')."""
    if not re.match(r"[A-Z][a-z]+(?:-[a-z]+)*(?:[\s,;]|$)", text) or re.search(r"\s[A-Z][a-z]", text):
        return text
    return text[:1].lower() + text[1:]


def upper_first(text: str) -> str:
    """'prior therapy' → 'Prior therapy' at the start of a sentence."""
    return text[:1].upper() + text[1:]

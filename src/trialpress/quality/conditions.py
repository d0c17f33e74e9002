"""Plan conditions on ADSL (populations[].expression, every endpoint's subset.where), evaluated
in one place: `trialpress.expressions`, a whitelisted condition language (plans are untrusted input;
nothing reaches `eval` or `DataFrame.eval`). `Ctx.population`, `Ctx.endpoint_subjects` and
`references.check_plan_references` all come here; an `ExpressionError` reaches them, and they report any
failure as a plan error.
"""

from __future__ import annotations

import pandas as pd

from trialpress.expressions import parse


def evaluate(text: str, frame: pd.DataFrame) -> pd.Series:
    """The rows of `frame` (ADSL) for which the plan's condition holds (unknown counts as false)."""
    return parse(text).evaluate(frame)

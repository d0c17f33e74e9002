"""Text values of the variables the plan uses hold no NUL or other control characters (tab allowed).

A NUL byte or a control character in a term, a group or a flag is invisible in the data and changes what
the analysis matches (a group value, a preferred term) and what the documents show. Decided once per
distinct value, so 10^7 records cost the distinct terms only. Subject ids of record-level datasets are
covered by ADSL's (an id not in ADSL is its own error).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialpress.data.coding import present_values
from trialpress.quality.context import Ctx
from trialpress.quality.helpers import CONTROL, is_text_series, iso, per_value, shown_rows
from trialpress.quality.rules import ERROR, Check, rule, structure

PRINTABLE = rule(
    "{ds}.text.no_control_characters", "{ds}",
    "the text the plan uses ({variables}) has no NUL or other control characters",
    "Remove the control characters (shown as \\xNN) from these values in {ds}: they are invisible, and make a "
    "value differ from the one it looks like.",
    structure("SAS transport and ADaM text: printable characters only (CDISC/FDA data standards)"), ERROR,
    "structure")


def text_checks(ctx: Ctx, ds: str) -> list[Check]:
    frame = ctx.data[ds]
    names = [r.variable for r in ctx.data.requirements if r.dataset == ds and r.kind in ("char", "any")]
    names = [n for n in dict.fromkeys(names) if n in frame.columns and is_text_series(frame[n])
             and (ds == "ADSL" or n != ctx.sid)]
    if not names:
        return []
    bad = np.zeros(len(frame), dtype=bool)
    hits: dict[str, np.ndarray] = {}
    for name in names:
        if not CONTROL.search("".join(present_values(frame[name]))):   # the usual verdict, in one scan
            continue
        hits[name] = per_value(frame[name], lambda v: isinstance(v, str) and bool(CONTROL.search(v)))
        bad |= hits[name]
    failing = pd.Series(bad, index=frame.index)

    def shown(i: int) -> str:
        return ", ".join(f"{n}='{iso(frame[n].iat[i])}'" for n, hit in hits.items() if hit[i])

    return [PRINTABLE.derived(~failing, detail=shown_rows(failing, shown), ds=ds, variables=", ".join(names))]

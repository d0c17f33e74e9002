"""Plan references the gate checks before it runs, beyond `data/plan_values.py` (which the pipeline
runs right after loading: group and subgroup levels, PARAMCDs): a binary endpoint none of whose
response values occur in the data, and a population or subset condition that cannot be evaluated on ADSL.
Either would otherwise give an empty analysis or a failure deep in it, not an error here.

Each problem is a `PlanError` (exit 3) naming the plan key, the data file, what the data hold and
the nearest match.
"""

from __future__ import annotations

import difflib

import pandas as pd

from trialpress.data.loading import StudyData
from trialpress.errors import PlanError
from trialpress.plan import Plan
from trialpress.quality import conditions

MAX_LISTED = 12


def _present(series: pd.Series) -> list[str]:
    return sorted({str(v) for v in series.dropna().unique()})


def _listing(values: list[str]) -> str:
    shown = ", ".join(repr(v) for v in values[:MAX_LISTED])
    return shown + (f" and {len(values) - MAX_LISTED} more" if len(values) > MAX_LISTED else "") if values else "none"


def _near(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=2, cutoff=0.5)
    if not close:
        lowered = {o.lower(): o for o in options}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def check_plan_references(plan: Plan, data: StudyData) -> None:
    problems: list[str] = []
    files = {k: getattr(v, "name", str(v)) for k, v in data.files.items()}
    adsl = data["ADSL"]

    def absent(key: str, ds: str, var: str, names: list[str], present: list[str], what: str = "value") -> None:
        for n in names:
            problems.append(f"{key}: {what} {n!r} does not occur in {var} of {ds} ({files.get(ds, ds)}){_near(n, present)}; "
                            f"it holds {_listing(present)}")

    conditions_ = [(f"populations.{name}.expression", pop.expression) for name, pop in plan.populations.items()]
    conditions_ += [(f"{plan.endpoint_key(e.id)}.subset.where", e.subset.where) for e in plan.endpoints
                    if e.subset]
    for key, text in conditions_:
        if text:
            try:
                conditions.evaluate(text, adsl)
            except Exception as exc:  # noqa: BLE001 - any failure is the plan's expression
                problems.append(f"{key}: {text!r} cannot be evaluated on ADSL ({files.get('ADSL')}): "
                                f"{exc or type(exc).__name__}")
    for b in plan.binary:
        src = b.source
        if not data.has(src.dataset):
            continue
        frame = data[src.dataset]
        key = f"binary[{b.id}].source"
        if src.dataset == "ADRS" and src.paramcd:
            if "PARAMCD" not in frame.columns:
                continue
            params = _present(frame["PARAMCD"])
            if src.paramcd not in params:
                absent(f"{key}.paramcd", "ADRS", "PARAMCD", [src.paramcd], params, "parameter")
                continue
            frame = frame[frame["PARAMCD"].eq(src.paramcd)]
        if src.variable in frame.columns:
            present = _present(frame[src.variable])
            if present and not set(src.values) & set(present):
                where = f"{src.variable} (PARAMCD {src.paramcd})" if src.paramcd else src.variable
                absent(f"{key}.values", src.dataset, where, list(src.values), present)
    if problems:
        raise PlanError(
            "The plan names values the data do not hold:\n  " + "\n  ".join(problems),
            hint="Fix the spelling in the plan to match the data (values are case-sensitive), or correct the data.")

"""Baseline characteristics of the plan → ARD rows, by group and overall, missing values counted.

Continuous: n, mean, SD, median, min, max, missing. Categorical: n per level (percent of the
group's N in the report) in the plan's order, then any unlisted level, then missing.
"""

from __future__ import annotations

import math


from trialpress.analysis.populations import population
from trialpress.data.loading import StudyData
from trialpress.plan import Plan
from trialpress.results.ard import ARDBuilder, Row, make_id

SECTION = "BASELINE"
MISSING = "Missing"


def collect_baseline(plan: Plan, data: StudyData, ard: ARDBuilder, pop_id: str) -> None:
    pop = population(data["ADSL"], plan, pop_id)
    gvar = plan.groups.variable
    parts = [(g, pop[pop[gvar] == g]) for g in plan.group_values] + [("", pop)]

    def add(variable: str, group: str, statistic: str, value: float, n: int, level: str = "",
            method: str = "") -> None:
        ard.add(Row(id=make_id(SECTION, variable, level, group, statistic), analysis="baseline", endpoint=SECTION,
                    population=pop_id, group=group, statistic=statistic, value=float(value), param=variable,
                    level=level, n=float(n), method=method))

    for row in plan.baseline:
        var = row.variable
        if row.kind == "continuous":
            for g, part in parts:
                x = part[var].astype(float)
                obs = x.dropna()
                n = len(part)
                stats = {"n": len(obs), "mean": obs.mean(), "sd": obs.std(ddof=1) if len(obs) > 1 else math.nan,
                         "median": obs.median(), "min": obs.min(), "max": obs.max(), "missing": n - len(obs)}
                for name, value in stats.items():
                    add(var, g, name, value if len(obs) or name in {"n", "missing"} else math.nan, n,
                        method="SD with n - 1 denominator" if name == "sd" else "")
            continue
        present = sorted({str(v) for v in pop[var].dropna().unique()})
        listed = [lv.value for lv in row.levels] if row.levels else present
        extra = sorted(set(present) - set(listed))
        for g, part in parts:
            col = part[var]
            counts = {str(k): int(v) for k, v in col.value_counts(dropna=True).items()}
            for level in [*listed, *extra]:
                add(var, g, "n", counts.get(level, 0), len(part), level=level)
            add(var, g, "n", int(col.isna().sum()), len(part), level=MISSING)

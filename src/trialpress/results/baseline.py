"""Baseline characteristics of the plan → ARD rows, by group and overall, missing values counted.

Continuous: n, mean, SD, median, min, max, missing. Categorical: n per level (percent of the
group's N in the report) in the plan's order, then any unlisted level (`coding.coded_order`: by the variable's
numeric code, e.g. AGEGR1N, where the data carry one; else by the numbers that define the categories, else
sorted), and the subjects with no value
(statistic `missing`, so that a category named "Missing" in the data stays a category).
"""

from __future__ import annotations

import math


from trialpress.analysis.populations import population
from trialpress.data.coding import coded_order
from trialpress.data.loading import StudyData
from trialpress.plan import Plan
from trialpress.results import keys
from trialpress.results.ard import ARDBuilder, row



def collect_baseline(plan: Plan, data: StudyData, ard: ARDBuilder, pop_id: str) -> None:
    pop = population(data["ADSL"], plan, pop_id)
    gvar = plan.group_variable(pop_id)
    parts = [(g, pop[pop[gvar] == g]) for g in plan.group_values] + [("", pop)]

    def add(variable: str, group: str, statistic: str, value: float, n: int, level: str = "",
            method: str = "") -> None:
        ard.add(row(keys.baseline(variable, statistic, group, level), population=pop_id, value=value, n=n,
                    method=method))

    for spec in plan.baseline:
        var = spec.variable
        if spec.kind == "continuous":
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
        present = coded_order(pop, var)
        listed = [lv.value for lv in spec.levels] if spec.levels else present
        extra = [v for v in present if v not in listed]
        for g, part in parts:
            col = part[var]
            counts = {str(k): int(v) for k, v in col.value_counts(dropna=True).items()}
            for level in [*listed, *extra]:
                add(var, g, "n", counts.get(level, 0), len(part), level=level)
            add(var, g, "missing", int(col.isna().sum()), len(part))

"""Analysis populations and analysis-ready frames (ADSL joined to an endpoint's records)."""

from __future__ import annotations

import pandas as pd

from trialpress.errors import DataError
from trialpress.plan import Plan


def is_yes(flag: pd.Series) -> pd.Series:
    """ADaM 'Y' flags ('y' tolerated), vectorised; missing is not yes."""
    return flag.isin(["Y", "y"])


def population(adsl: pd.DataFrame, plan: Plan, pop_id: str) -> pd.DataFrame:
    """ADSL rows of subjects in population `pop_id` who belong to one of the plan's groups."""
    pop = plan.populations[pop_id]
    if pop.flag:
        mask = is_yes(adsl[pop.flag])
    else:
        try:
            mask = adsl.eval(pop.expression, engine="python").astype(bool)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - a plan expression is user input
            raise DataError(f"populations.{pop_id}.expression {pop.expression!r} cannot be evaluated on ADSL: {exc}.",
                            hint="Use ADSL variable names and pandas query syntax, e.g. \"AGE >= 18 and SAFFL == 'Y'\".") from None
    in_groups = adsl[plan.groups.variable].isin(plan.group_values)
    return adsl.loc[mask.to_numpy() & in_groups.to_numpy()].copy()


def tte_frame(adsl_pop: pd.DataFrame, adtte: pd.DataFrame, paramcd: str, sid: str,
              unit_factor: float) -> pd.DataFrame:
    """Population subjects with a record of PARAMCD: time (display unit), event (0/1) and ADSL columns."""
    recs = adtte.loc[adtte["PARAMCD"] == paramcd, [sid, "AVAL", "CNSR"]]
    out = adsl_pop.merge(recs, on=sid, how="inner", validate="one_to_one")
    out["_time"] = out["AVAL"].astype(float) * unit_factor
    out["_event"] = (out["CNSR"].astype(float) == 0).astype(int)
    return out

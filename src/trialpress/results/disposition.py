"""Subject disposition and analysis sets (ICH E3 10.1) → ARD rows, from ADSL, by the plan's grouping variable
(as randomized), among all subjects assigned to a group.

Each row is read as the data code it: randomized (RANDFL = 'Y', else a randomization date RANDDT), treated
(a first-dose date TRTSDT or TRTSDTM), each of the plan's analysis sets, the end-of-study status EOSSTT and
the end-of-treatment status EOTSTT with their own values (CDISC CT: COMPLETED, DISCONTINUED, ONGOING), and the
reasons for discontinuation (DCSREAS, else DCDECOD; DCTREAS for treatment) among the subjects whose status is
DISCONTINUED (among all with a reason when there is no status). Blank text is missing, counted as such. A
variable the study does not have gives no row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialpress.analysis.populations import population
from trialpress.plan import Plan
from trialpress.results import safety_keys as sk
from trialpress.results.ard import ARDBuilder, row
from trialpress.results.safety_subjects import is_yes, text_values

STATUS_ORDER = ("COMPLETED", "DISCONTINUED", "ONGOING")   # CDISC CT (C66727 NCOMPLT and ADaM EOSSTT values)
DISCONTINUED = "DISCONTINUED"
# (status variable, reason variables in order of preference)
STAGES = (("EOTSTT", ("DCTREAS",)), ("EOSSTT", ("DCSREAS", "DCDECOD")))


def _has(frame: pd.DataFrame, var: str) -> bool:
    return var in frame.columns and bool(frame[var].notna().any())


def collect_disposition(plan: Plan, adsl: pd.DataFrame, ard: ARDBuilder) -> None:
    gvar = plan.groups.variable
    frame = adsl.loc[adsl[gvar].isin(plan.group_values).to_numpy()]
    group_of = pd.Categorical(frame[gvar], categories=plan.group_values).codes.astype(np.int64)
    sizes = np.bincount(group_of, minlength=len(plan.group_values))
    denominators = {g: int(sizes[i]) for i, g in enumerate(plan.group_values)}
    denominators[""] = int(sizes.sum())
    base = f"All subjects with a value of {gvar} that is one of the plan's groups, by {gvar}"

    def counts(mask: np.ndarray) -> dict[str, int]:
        c = np.bincount(group_of[mask], minlength=len(plan.group_values))
        out = {g: int(c[i]) for i, g in enumerate(plan.group_values)}
        out[""] = int(c.sum())
        return out

    def add(statistic: str, mask: np.ndarray, method: str, *, parameter: str = "", term: str = "") -> None:
        for g, x in counts(mask).items():
            ard.add(row(sk.disposition(statistic, g, parameter=parameter, term=term), value=x, n=denominators[g],
                        method=method))

    for g, n in denominators.items():
        ard.add(row(sk.disposition("subjects", g), value=n, n=n, method=base))
    if _has(frame, "RANDFL"):
        add("n", is_yes(frame["RANDFL"]), "RANDFL = 'Y'", parameter="RANDFL", term="randomised")
    elif _has(frame, "RANDDT"):
        add("n", frame["RANDDT"].notna().to_numpy(), "a randomization date RANDDT", parameter="RANDDT",
            term="randomised")
    for var in ("TRTSDT", "TRTSDTM"):
        if _has(frame, var):
            add("n", frame[var].notna().to_numpy(), f"a first-dose date {var}", parameter=var, term="treated")
            break
    for pop_id, pop in plan.populations.items():
        members = frame.index.isin(population(adsl, plan, pop_id).index)
        how = f"{pop.flag} = 'Y'" if pop.flag else "the plan's condition"
        add("n", members, f"in the {pop.label} ({how}), by {gvar}", parameter="population", term=pop_id)
    for status_var, reason_vars in STAGES:
        status = text_values(frame[status_var]) if _has(frame, status_var) else None
        if status is not None:
            values = [v for v in STATUS_ORDER if (status == v).any()] + sorted(
                {str(v) for v in status.dropna()} - set(STATUS_ORDER))
            for v in values:
                add("n", (status == v).to_numpy(), f"{status_var} = '{v}'", parameter=status_var, term=v)
            add("missing", status.isna().to_numpy(), f"{status_var} missing", parameter=status_var)
        reason_var = next((r for r in reason_vars if _has(frame, r)), None)
        if reason_var is None:
            continue
        reason = text_values(frame[reason_var])
        if status is not None and (status == DISCONTINUED).any():
            among = (status == DISCONTINUED).to_numpy()
            whom = f"subjects with {status_var} = '{DISCONTINUED}'"
        else:
            among = reason.notna().to_numpy()
            whom = f"subjects with a {reason_var}"
        hit = reason.where(among, None)
        order = hit.value_counts()
        for v in sorted(order.index, key=lambda v: (-int(order[v]), str(v))):
            add("n", (hit == v).to_numpy(), f"{reason_var} = '{v}' among {whom}", parameter=reason_var, term=str(v))
        add("missing", among & reason.isna().to_numpy(), f"{whom} and no {reason_var}", parameter=reason_var)

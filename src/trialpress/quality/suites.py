"""The expectation suites of a plan: each dataset's rules, the cross-dataset rules, the cross-checks of
derived values and the text rule, assembled into the list of checks the gate runs.

The rules themselves are declared (with id, basis and default severity) in their modules:

| module           | what                                                                                 |
|------------------|--------------------------------------------------------------------------------------|
| `common.py`      | every dataset: required variables, subject id, types                                 |
| `adsl.py`        | one row per subject, population flags, groups, levels, controlled terms, plausibility |
| `adsl_dates.py`  | ADSL dates in the usual order, flag/date pairs, exposure of safety subjects          |
| `adtte.py`       | keys, AVAL and CNSR of the analysed records, event date after its origin            |
| `derivations.py` | AVALU vs the plan's unit, AVAL vs its dates, magnitude, CNSR vs EVNTDESC/CNSDTDSC    |
| `adrs.py`        | keys of planned parameters, response categories from the data's own codelist         |
| `adae.py`        | OCCDS keys, coding, controlled terms, terms of interest                              |
| `bds.py`         | continuous endpoints: one record per subject and visit, CHG = AVAL - BASE, BASE fixed |
| `cross.py`       | subjects in ADSL, dates vs cut-off and death, time-to-event origins, safety subjects |
| `text.py`        | no NUL or control characters in the text the plan uses                              |

Nothing names a study: ADaM standard names (`data/adam.py`) and patterns discovered in the data (a `xxxFL`
flag with its `xxxDT` date; the ADSL date each ADTTE parameter starts from; which ADSL dates precede the
first dose) decide which rules apply.
"""

from __future__ import annotations

from trialpress.data.loading import StudyData
from trialpress.plan import Plan
from trialpress.quality import adae, adrs, adsl, adtte, bds, cross, derivations, text
from trialpress.quality.context import Ctx
from trialpress.quality.rules import RULES, Check, Rule


def all_checks(plan: Plan, data: StudyData) -> list[Check]:
    """Every check of this plan on this data (default severities), each id once."""
    ctx = Ctx(plan, data)
    checks = adsl.adsl_checks(ctx)
    if data.has("ADTTE"):
        checks += adtte.adtte_checks(ctx) + derivations.derivation_checks(ctx)
    if data.has("ADRS"):
        checks += adrs.adrs_checks(ctx)
    if data.has("ADAE"):
        checks += adae.adae_checks(ctx)
    for ds in sorted({c.dataset for c in plan.continuous} & set(data.frames)):
        checks += bds.bds_checks(ctx, ds)
    checks += cross.cross_checks(ctx)
    for ds in data.frames:
        checks += text.text_checks(ctx, ds)
    seen: set[str] = set()
    unique = []
    for c in checks:
        if c.id not in seen:
            seen.add(c.id)
            unique.append(c)
    return unique


def catalogue() -> list[Rule]:
    """Every declared rule (id pattern, dataset, basis, default severity), in declaration order."""
    return list(RULES.values())

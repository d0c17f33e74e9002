"""The machine-readable statistical analysis plan: a validated, typed schema.

The plan is the only place a study is described; the engine holds no study names,
variable names or endpoints of its own. Validation errors name the plan file, the line,
the key, what was given and what is allowed.
"""

from trialpress.plan.base import Level, Role, Strict, Subset
from trialpress.plan.continuous import AnalysisRows, Continuous
from trialpress.plan.endpoints import TIME_UNITS, Binary, BinarySource, Subgroup, TimeToEvent
from trialpress.plan.loading import MAX_PLAN_BYTES, LoadedPlan, load_plan
from trialpress.plan.safety import DiscontinuationSource, InterestTerm, Safety, SafetyVariables
from trialpress.plan.schema import (BaselineRow, Conventions, DataSpec, DesignFacts, Groups, Plan, Population, Report,
                                    Severity, Study)

__all__ = [
    "Plan", "LoadedPlan", "load_plan", "TimeToEvent", "Binary", "BinarySource", "Subgroup", "Safety",
    "SafetyVariables", "InterestTerm", "BaselineRow", "Groups", "Level", "Population", "Conventions", "TIME_UNITS",
    "Severity", "Subset", "DiscontinuationSource", "Role", "Strict", "Study", "DataSpec", "Report",
    "MAX_PLAN_BYTES", "DesignFacts", "Continuous", "AnalysisRows",
]

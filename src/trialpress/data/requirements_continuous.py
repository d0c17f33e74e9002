"""What continuous (BDS) endpoints need: their dataset's variables, with their kinds."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trialpress.data.requirement import Requirement
    from trialpress.plan import Plan


def continuous_requirements(plan: Plan) -> list[Requirement]:
    return []

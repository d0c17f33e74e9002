"""What the safety tables beyond the AE overview need (disposition, exposure, deaths, laboratory and vital
signs): datasets and variables, with their kinds. Kept apart so that each area lists its own needs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trialpress.data.requirements import Requirement
    from trialpress.plan import Plan


def safety_requirements(plan: Plan) -> list[Requirement]:
    return []

"""ARD analyses of the safety and disposition tables beyond the AE overview (their rows pass schema.check_row)."""

from __future__ import annotations

from trialpress.results.schema_types import Analysis

SAFETY_ANALYSES: dict[str, Analysis] = {}

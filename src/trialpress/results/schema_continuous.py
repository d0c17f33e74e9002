"""ARD analyses of continuous (BDS) endpoints: by-visit summaries, ANCOVA, MMRM."""

from __future__ import annotations

from trialpress.results.schema_types import Analysis

CONTINUOUS_ANALYSES: dict[str, Analysis] = {}

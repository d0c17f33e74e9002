"""Run the checks with great_expectations and report failures by subject.

great_expectations is imported here only (it is slow to import), so commands that need no gate
stay fast. A failing error-level check raises `QualityGateError` with the report attached.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from trialpress.data.loading import StudyData
from trialpress.errors import QualityGateError
from trialpress.plan import Plan
from trialpress.quality.checks import Check, plan_checks

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class CheckResult:
    id: str
    dataset: str
    description: str
    severity: str
    success: bool
    failed: int
    examples: list[dict[str, Any]] = field(default_factory=list)   # [{subject, value}]
    hint: str = ""
    expectation: str = ""


@dataclass(frozen=True)
class GateReport:
    results: list[CheckResult]
    files: dict[str, str]

    @property
    def errors(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success and r.severity == "error"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success and r.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.errors

    def summary(self) -> dict[str, int]:
        return {"checks": len(self.results), "passed": sum(r.success for r in self.results),
                "errors": len(self.errors), "warnings": len(self.warnings)}

    def to_json(self) -> str:
        body = {"summary": self.summary(), "files": self.files, "results": [asdict(r) for r in self.results]}
        return json.dumps(body, indent=1, ensure_ascii=False, default=_jsonable) + "\n"


def _jsonable(v: Any) -> Any:
    if hasattr(v, "item"):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    return str(v)


def run_gate(plan: Plan, data: StudyData) -> GateReport:
    checks = plan_checks(plan, data)
    results = _validate(checks, data, plan.data.subject_id)
    return GateReport(results, {k: str(v) for k, v in data.files.items()})


def enforce(report: GateReport) -> None:
    if report.passed:
        return
    first = report.errors[0]
    raise QualityGateError(
        f"{len(report.errors)} data check(s) failed; first: {first.dataset}: {first.description} "
        f"({first.failed} row(s)).",
        report=report, hint=first.hint)


def _validate(checks: list[Check], data: StudyData, sid: str) -> list[CheckResult]:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import logging

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    import great_expectations as gx

    ctx = gx.get_context(mode="ephemeral")
    try:
        ctx.variables.progress_bars = gx.data_context.types.base.ProgressBarsConfig(globally=False)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - cosmetic
        pass
    source = ctx.data_sources.add_pandas("trialpress")
    out: list[CheckResult] = []
    by_ds: dict[str, list[Check]] = {}
    for c in checks:
        by_ds.setdefault(c.dataset, []).append(c)
    for ds_name, ds_checks in by_ds.items():
        frame = data[ds_name]
        asset = source.add_dataframe_asset(ds_name)
        batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": frame})
        suite = gx.ExpectationSuite(name=ds_name)
        for c in ds_checks:
            suite.add_expectation(getattr(gx.expectations, c.expectation)(**c.kwargs, meta={"trialpress_id": c.id}))
        index_cols = [sid] if sid in frame.columns else []
        res = batch.validate(suite, result_format={"result_format": "COMPLETE",
                                                   "unexpected_index_column_names": index_cols,
                                                   "return_unexpected_index_query": False})
        by_id = {r.expectation_config.meta["trialpress_id"]: r for r in res.results}
        for c in ds_checks:
            r = by_id[c.id]
            out.append(_result(c, r, sid))
    return out


def _result(c: Check, r: Any, sid: str) -> CheckResult:
    result = r.result or {}
    failed = int(result.get("unexpected_count") or 0)
    examples: list[dict[str, Any]] = []
    if not r.success:
        for item in (result.get("unexpected_index_list") or [])[:MAX_EXAMPLES]:
            if isinstance(item, dict):
                examples.append({"subject": item.get(sid), "value": item.get(c.value_column) if c.value_column else None})
        if not examples:
            missing = result.get("details", {}).get("value_counts") if isinstance(result.get("details"), dict) else None
            observed = result.get("observed_value")
            if observed is not None:
                examples.append({"subject": None, "value": observed})
            elif missing:
                examples.append({"subject": None, "value": missing})
        if failed == 0:
            failed = 1 if r.success is False else 0
    if r.exception_info and r.exception_info.get("raised_exception"):
        msg = str(r.exception_info.get("exception_message", ""))[:200]
        return CheckResult(c.id, c.dataset, c.description, c.severity, False, 0,
                           [{"subject": None, "value": f"check could not run: {msg}"}], c.hint, c.expectation)
    return CheckResult(c.id, c.dataset, c.description, c.severity, bool(r.success), failed, examples, c.hint,
                       c.expectation)


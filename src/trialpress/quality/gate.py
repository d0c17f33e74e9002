"""Run the checks with great_expectations and report failures by subject.

great_expectations is imported here only, and lazily (`_gx.import_gx`), so commands that need no
gate stay fast. Every check is one GE expectation; a dataset's checks run as one suite with
`BOOLEAN_ONLY` results (cheap), and only the failing ones run again with `COMPLETE` results on
the full rows to name the failing rows, their subjects and values. The first pass validates the
value-set expectations (not null, in set, between, types, columns present) on a sketch of each
column's distinct values, which gives the same verdict as the rows at a fraction of the cost;
rules that depend on rows (key uniqueness, dates in order) are derived masks computed in pandas, and a
dataset's masks are validated first as one joint expectation (`_joint`), then one by one only if it fails.
A failing error-level check makes `enforce` raise `QualityGateError` with the report attached;
warnings are reported and the run continues.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import select
import signal
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trialpress.data.loading import StudyData
from trialpress.data.memory import release_memory
from trialpress.errors import QualityGateError
from trialpress.plan import Plan
from trialpress.quality.checks import Check, mask_column, plan_checks

MAX_EXAMPLES = 5
ROW = "__row__"
CHILD_TIMEOUT = 60.0   # seconds; a stuck child is killed and its datasets validated here


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
    basis: str = ""              # the rule's basis: 'ADaM IG …', 'CDISC CT …', 'ADaM … structure …', 'plan: …'
    default_severity: str = ""   # the rule's severity before the plan's quality: map ('' in reports made before)


@dataclass(frozen=True)
class GateReport:
    results: list[CheckResult]
    files: dict[str, str]
    reading: tuple[str, ...] = ()   # how files were read where they record no convention (encoding, NA)

    @property
    def errors(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success and r.severity == "error"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success and r.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.errors

    def severity_changes(self) -> list[CheckResult]:
        """Checks whose severity the plan's quality: map changed from the rule's default."""
        return [r for r in self.results if r.default_severity and r.severity != r.default_severity]

    def summary(self) -> dict[str, int]:
        return {"checks": len(self.results), "passed": sum(r.success for r in self.results),
                "errors": len(self.errors), "warnings": len(self.warnings)}

    def expectations_per_dataset(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.dataset] = out.get(r.dataset, 0) + 1
        return out

    def to_json(self) -> str:
        body = {"summary": self.summary(), "files": self.files, **({"reading": list(self.reading)} if self.reading
                                                                   else {}),
                "results": [asdict(r) for r in self.results]}
        return json.dumps(body, indent=1, ensure_ascii=False, default=_jsonable) + "\n"


def _jsonable(v: Any) -> Any:
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    if hasattr(v, "item"):
        return v.item()
    return str(v)


def _plain(v: Any) -> Any:
    """A value as plain Python for messages and JSON: numbers, ISO dates, strings, None."""
    if v is None:
        return None
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.date().isoformat()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (str, int, float, bool)):
        return v
    if isinstance(v, (list, tuple, set)):
        return [_plain(x) for x in v]
    return str(v)


def run_gate(plan: Plan, data: StudyData, *, parallel: bool | None = None) -> GateReport:
    """Run every check of the plan on the data. `parallel`: split the datasets between this process and
    a forked copy (default: on with 2+ cores, unless TRIALPRESS_GATE_PARALLEL=0; the render's background
    gate runs it off, as the analysis uses the other core)."""
    checks = plan_checks(plan, data)
    release_memory(arrow=False)   # the gate may run in a forked child
    if parallel is None:
        parallel = os.environ.get("TRIALPRESS_GATE_PARALLEL", "1") != "0"
    results = _validate(checks, data, plan.data.subject_id, parallel)
    return GateReport(results, {k: str(v) for k, v in data.files.items()}, reading_notes(plan, data))


def reading_notes(plan: Plan, data: StudyData) -> tuple[str, ...]:
    """What the loader decided for files that do not record it: a text encoding other than UTF-8, R's NA."""
    said = "as the plan's data.encoding says" if plan.data.encoding != "auto" else \
        "its text is not UTF-8 (set data.encoding in the plan if it is another encoding)"
    notes = [f"{file}: read as {codec}, {said}" for file, codec in data.encodings]
    notes += [f"{file}: unquoted NA fields read as missing values (R's write.csv / readr convention)"
              if fmt == "csv" else f"{file}: numbers written as the text NA read as missing values "
              "(R's missing value)" for file, fmt in data.na_files]
    return tuple(notes)


def enforce(report: GateReport) -> None:
    if report.passed:
        return
    errs = report.errors
    first = errs[0]
    where = f"; first failing: {_first_example(first)}" if first.examples else ""
    datasets = sorted({r.dataset for r in errs})
    files = ", ".join(f"{d} ({_name(report.files.get(d, d))})" for d in datasets)
    raise QualityGateError(
        f"{len(errs)} data check(s) failed in {files}; first: {first.dataset}: {first.description} "
        f"({first.failed} row(s){where}).",
        report=report, hint=first.hint)


def _name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _first_example(r: CheckResult) -> str:
    e = r.examples[0]
    return f"{e['subject']}: {e['value']!r}" if e.get("subject") is not None else f"{e.get('value')!r}"


def _frame_for(frame: pd.DataFrame, checks: list[Check]) -> pd.DataFrame:
    """The dataset plus a row number and the derived mask columns of its checks."""
    extra: dict[str, Any] = {ROW: np.arange(len(frame))}
    for c in checks:
        if c.mask is not None:
            extra[c.kwargs["column"]] = c.mask.to_numpy(dtype=bool)
    base = frame.reset_index(drop=True)
    return pd.concat([base, pd.DataFrame(extra, index=base.index)], axis=1)


# Expectations whose verdict depends only on which values a column holds, not on how often or where
# (and on the column names, for the table-level one): validated on a sketch of the distinct values.
VALUE_SET_EXPECTATIONS = frozenset({
    "ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeInSet", "ExpectColumnValuesToBeBetween",
    "ExpectColumnValuesToBeInTypeList", "ExpectColumnDistinctValuesToContainSet", "ExpectTableColumnsToMatchSet",
})


def _on_sketch(c: Check) -> bool:
    return c.expectation in VALUE_SET_EXPECTATIONS and "mostly" not in c.kwargs


def _sketch(frame: pd.DataFrame, checks: list[Check]) -> pd.DataFrame:
    """Every column of the dataset reduced to its distinct values (to one value and a missing one where only
    null checks read it), each repeated cyclically to a common length. A value-set expectation passes on the
    sketch exactly when it passes on the data, at the cost of the distinct values instead of the rows:
    the verdict on 10^7 AE records takes milliseconds. Failing checks are then run on the full rows to name
    the subjects."""
    masks = {c.kwargs["column"]: c.mask for c in checks if c.mask is not None}
    by_column: dict[str, set[str]] = {}
    for c in checks:
        if "column" in c.kwargs:
            by_column.setdefault(c.kwargs["column"], set()).add(c.expectation)
    reps: dict[str, pd.Series] = {}
    for name in [*frame.columns, *masks]:
        col = masks[name] if name in masks else frame[name]
        uses = by_column.get(name, set())
        if not uses or uses == {"ExpectColumnValuesToNotBeNull"}:   # names only, or null-ness only
            null = col.isna().to_numpy()
            pick = [int(np.argmin(null))] + ([int(np.argmax(null))] if null.any() else [])
            reps[name] = col.iloc[pick].reset_index(drop=True)
        else:
            reps[name] = pd.Series(col.unique())
    length = max(len(r) for r in reps.values())
    return pd.DataFrame({name: r.take(np.arange(length) % len(r)).reset_index(drop=True) for name, r in reps.items()})


JOINT = "__joint__"   # the id of a dataset's joint mask check (no rule id starts with '_')


def _joint(ds_name: str, checks: list[Check]) -> tuple[Check | None, list[Check]]:
    """One check for all of the dataset's derived rules (`mask in [True]`, no tolerance): the rows where every
    mask is True. GE validates it on the sketch in place of each of them; it passes exactly when each of
    them would, at the cost of one expectation instead of dozens (each costs GE ~5 ms however small the
    frame). When it fails, its members are validated one by one on the full rows, as any failing check.
    (None, []) for fewer than two such rules."""
    members = [c for c in checks if c.mask is not None and c.expectation == "ExpectColumnValuesToBeInSet"
               and set(c.kwargs) == {"column", "value_set"} and list(c.kwargs["value_set"]) == [True]]
    if len(members) < 2:
        return None, []
    ok = np.logical_and.reduce([c.mask.to_numpy(dtype=bool) for c in members])
    column = mask_column(f"{JOINT}{ds_name}")
    joint = Check(f"{JOINT}{ds_name}", ds_name, "ExpectColumnValuesToBeInSet", {"column": column, "value_set": [True]},
                  "every derived rule of the dataset", "", mask=pd.Series(ok))
    return joint, members


def _columns_of(frame: pd.DataFrame, checks: list[Check], sid: str) -> pd.DataFrame:
    """Only the columns these (row-dependent, e.g. uniqueness) checks read, with the subject id."""
    names: list[str] = [sid] if sid in frame.columns else []
    for c in checks:
        names += [c.kwargs["column"]] if "column" in c.kwargs else list(c.kwargs.get("column_list", []))
        names += list(frame.columns) if "column_set" in c.kwargs else []
    names = [n for n in dict.fromkeys(names) if n in frame.columns]
    masks = {c.kwargs["column"]: c.mask.to_numpy(dtype=bool) for c in checks if c.mask is not None}
    return pd.DataFrame({**{n: frame[n].to_numpy() for n in names}, **masks})


def _validate(checks: list[Check], data: StudyData, sid: str, parallel: bool = False) -> list[CheckResult]:
    from trialpress.quality._gx import import_gx

    gx = import_gx()
    by_ds: dict[str, list[Check]] = {}
    for c in checks:
        by_ds.setdefault(c.dataset, []).append(c)
    results: dict[str, CheckResult] = {}
    if parallel and len(by_ds) > 1 and hasattr(os, "fork") and (os.cpu_count() or 1) > 1:
        # the larger share here, the rest in a forked copy of this process (GE already imported)
        order = sorted(by_ds, key=lambda d: -len(by_ds[d]))
        mine, theirs = [], []
        for ds in order:
            (mine if sum(len(by_ds[d]) for d in mine) <= sum(len(by_ds[d]) for d in theirs) else theirs).append(ds)
        child = _fork_validate(gx, {d: by_ds[d] for d in theirs}, data, sid)
        results.update(_validate_datasets(gx, {d: by_ds[d] for d in mine}, data, sid))
        done = child()
        results.update(done if done is not None else _validate_datasets(gx, {d: by_ds[d] for d in theirs}, data, sid))
    else:
        results.update(_validate_datasets(gx, by_ds, data, sid))
    return [results[c.id] for c in checks]


def _fork_validate(gx: Any, by_ds: dict[str, list[Check]], data: StudyData, sid: str) -> Any:
    """Validate `by_ds` in a forked child; returns a function giving its results (None if it failed)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: validate, send the results, leave without running the parent's exit handlers
        code = 0
        try:
            os.close(read_fd)
            payload = pickle.dumps(_validate_datasets(gx, by_ds, data, sid))
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload)
        except BaseException:  # noqa: BLE001 - the parent redoes the work
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)

    def collect() -> dict[str, CheckResult] | None:
        chunks: list[bytes] = []
        deadline = time.monotonic() + CHILD_TIMEOUT
        try:
            while True:
                ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    os.kill(pid, signal.SIGKILL)
                    return None
                chunk = os.read(read_fd, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(read_fd)
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:
                status = 1
        if status != 0 or not chunks:
            return None
        try:
            return pickle.loads(b"".join(chunks))
        except Exception:  # noqa: BLE001 - redo inline
            return None

    return collect


def _validate_datasets(gx: Any, by_ds: dict[str, list[Check]], data: StudyData, sid: str) -> dict[str, CheckResult]:
    ctx = gx.get_context(mode="ephemeral")
    try:
        ctx.variables.progress_bars = gx.data_context.types.base.ProgressBarsConfig(globally=False)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - cosmetic
        pass
    # one data source, asset and batch definition for all datasets (each addition re-serialises the
    # context's configuration); each dataset is a batch of its own dataframe
    definition = ctx.data_sources.add_pandas("trialpress").add_dataframe_asset("adam") \
        .add_batch_definition_whole_dataframe("dataset")
    results: dict[str, CheckResult] = {}
    for ds_name, ds_checks in by_ds.items():
        data_frame = data[ds_name]
        sketched = [c for c in ds_checks if _on_sketch(c)]
        on_rows = [c for c in ds_checks if not _on_sketch(c)]
        joint, members = _joint(ds_name, sketched)
        if joint is not None:
            ids = {m.id for m in members}
            sketched = [c for c in sketched if c.id not in ids] + [joint]
        first: dict[str, Any] = {}
        if sketched:
            first.update(_run_suite(gx, definition.get_batch(batch_parameters={
                "dataframe": _sketch(data_frame, sketched)}), ds_name, sketched, "BOOLEAN_ONLY"))
        if joint is not None:
            verdict = first.pop(joint.id, None)
            if verdict is not None and verdict.success:
                first.update({c.id: verdict for c in members})
        if on_rows:
            first.update(_run_suite(gx, definition.get_batch(batch_parameters={
                "dataframe": _columns_of(data_frame, on_rows, sid)}), ds_name, on_rows, "BOOLEAN_ONLY"))
        failing = [c for c in ds_checks if c.id not in first or not first[c.id].success]
        if not failing:
            for c in ds_checks:
                results[c.id] = _ok(c)
            continue
        frame = _frame_for(data_frame, ds_checks)
        batch = definition.get_batch(batch_parameters={"dataframe": frame})
        index_cols = [col for col in (sid, ROW) if col in frame.columns]
        detail = _run_suite(gx, batch, ds_name + "-detail", failing,
                            {"result_format": "COMPLETE", "unexpected_index_column_names": index_cols,
                             "return_unexpected_index_query": False})
        for c in ds_checks:
            if c.id in first and first[c.id].success:
                results[c.id] = _ok(c)
            else:
                results[c.id] = _result(c, detail.get(c.id), sid, frame)
    return results


def _run_suite(gx: Any, batch: Any, name: str, checks: list[Check], result_format: Any) -> dict[str, Any]:
    expectations = []
    for c in checks:
        try:
            expectations.append(getattr(gx.expectations, c.expectation)(**c.kwargs, meta={"trialpress_id": c.id}))
        except Exception:  # noqa: BLE001 - reported as a check that could not run
            continue
    # built in one go: add_expectation compares each new expectation with all before it (quadratic)
    suite = gx.ExpectationSuite(name=name, expectations=expectations)
    res = batch.validate(suite, result_format=result_format)
    return {r.expectation_config.meta["trialpress_id"]: r for r in res.results}


def _make(c: Check, success: bool, failed: int, examples: list[dict[str, Any]]) -> CheckResult:
    return CheckResult(c.id, c.dataset, c.description, c.severity, success, failed, examples, c.hint, c.expectation,
                       c.basis, c.default_severity)


def _ok(c: Check) -> CheckResult:
    return _make(c, True, 0, [])


def _exception(r: Any) -> str | None:
    info = getattr(r, "exception_info", None) or {}
    if not isinstance(info, dict):
        return None
    items = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for item in items:
        if item.get("raised_exception"):
            return str(item.get("exception_message", ""))[:200]
    return None


def _result(c: Check, r: Any, sid: str, frame: pd.DataFrame) -> CheckResult:
    if r is None:
        return _make(c, False, 1, [{"subject": None, "value": "check could not run in great_expectations"}])
    msg = _exception(r)
    if msg is not None:
        return _make(c, False, 1, [{"subject": None, "value": f"check could not run: {msg}"}])
    if r.success:
        return _ok(c)
    result = r.result or {}
    failed = int(result.get("unexpected_count") or 0)
    examples: list[dict[str, Any]] = []
    for item in (result.get("unexpected_index_list") or [])[:MAX_EXAMPLES]:
        if not isinstance(item, dict):
            continue
        row = item.get(ROW)
        if c.detail is not None and row is not None:
            value = c.detail.get(int(row))
        elif c.value_column and c.value_column in frame.columns and row is not None:
            value = frame[c.value_column].iat[int(row)]
        else:
            value = None
        examples.append({"subject": _plain(item.get(sid)), "value": _plain(value)})
    if not examples:
        examples.append({"subject": None, "value": _aggregate_value(c, result)})
    return _make(c, False, max(failed, 1), examples)


def _aggregate_value(c: Check, result: dict[str, Any]) -> Any:
    """What a table- or column-level expectation found: the missing values or columns."""
    observed = result.get("observed_value")
    wanted = c.kwargs.get("value_set") or c.kwargs.get("column_set")
    if wanted is not None and isinstance(observed, (list, tuple, set)):
        missing = [v for v in wanted if v not in set(observed)]
        if missing:
            return "missing: " + ", ".join(str(v) for v in missing)
    details = result.get("details")
    if isinstance(details, dict) and isinstance(details.get("mismatched"), dict):
        missing = details["mismatched"].get("missing")
        if missing:
            return "missing: " + ", ".join(str(v) for v in missing)
    return _plain(observed)

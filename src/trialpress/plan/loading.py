"""Reading a plan file: size-limited safe YAML, validation, and messages that name the file and line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from trialpress.errors import PlanError
from trialpress.paths import plan_root
from trialpress.plan.base import _did_you_mean
from trialpress.plan.schema import Plan


class LoadedPlan(BaseModel):
    """A validated plan with where it came from (for hashes and messages)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    plan: Plan
    path: Path
    root: Path
    text: bytes
    lines: dict[tuple[str | int, ...], int]

    @property
    def data_folder(self) -> Path:
        return (self.root / self.plan.data.folder).resolve()

    def line_of(self, *loc: str | int) -> int | None:
        """Line number (1-based) of a key path in the plan file, or of its nearest parent."""
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return None

    def line_of_key(self, key: str) -> int | None:
        """Line of a plan path as messages write it ('time_to_event[OS].subset.where', 'populations.FAS.flag',
        'baseline[AGE]'), or of its nearest parent: a list item named `[x]` is the one whose id (or variable) is x."""
        return self.line_of(*key_location(self.plan, key))

    def where(self, *loc: str | int) -> str:
        line = self.line_of(*loc)
        return f"{self.path.name}:{line}" if line else self.path.name


def key_location(plan: Any, key: str) -> tuple[str | int, ...]:
    """'time_to_event[OS].subset.where' → ('time_to_event', 0, 'subset', 'where') for `line_of`; a part that
    cannot be followed ends the path there."""
    loc: list[str | int] = []
    node: Any = plan
    for part in key.split("."):
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\[(.+)\]", part)
        name, item = (m.group(1), m.group(2)) if m else (part, None)
        loc.append(name)
        node = node.get(name) if isinstance(node, dict) else getattr(node, name, None)
        if item is None:
            continue
        index = next((i for i, x in enumerate(node) if item in (getattr(x, "id", None), getattr(x, "variable", None)))
                     if isinstance(node, list) else None, None)
        if index is None:
            break
        loc.append(index)
        node = node[index]
    return tuple(loc)


def _key_lines(node: yaml.Node, prefix: tuple[str | int, ...] = ()) -> dict[tuple[str | int, ...], int]:
    out: dict[tuple[str | int, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            loc = (*prefix, str(key.value))
            out[loc] = key.start_mark.line + 1
            out.update(_key_lines(value, loc))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            loc = (*prefix, i)
            out[loc] = item.start_mark.line + 1
            out.update(_key_lines(item, loc))
    return out


MAX_PLAN_BYTES = 1_000_000


def load_plan(path: str | Path) -> LoadedPlan:
    """Read and validate a plan file; every problem becomes a `PlanError` naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise PlanError(
            f"The analysis plan {path} does not exist.",
            hint="Give the path of a plan under analysis/, or create one with `trialpress init <data-folder>`.",
        )
    from trialpress import safe_yaml

    try:
        with path.open("rb") as fh:
            text = fh.read(MAX_PLAN_BYTES + 1)   # never more than the limit into memory
        raw, node = safe_yaml.load(text, max_bytes=MAX_PLAN_BYTES)
    except OSError as exc:
        raise PlanError(f"The analysis plan {path} cannot be read ({exc.strerror or exc}).",
                        hint="Check that the file is readable.") from None
    except safe_yaml.YamlSyntaxError as exc:
        raise PlanError(f"{path}:{exc.line}: the plan is not valid YAML: {exc.message}.",
                        hint="Check indentation and quoting on that line.") from None
    except safe_yaml.YamlLimitError as exc:
        raise PlanError(f"{path}:{exc.line}: {exc.message}.",
                        hint="A plan is plain YAML: mappings, lists and scalars, without anchors, aliases or tags.") from None
    if not isinstance(raw, dict):
        raise PlanError(f"{path}: the plan must be a YAML mapping with keys such as 'study', 'data', 'groups'.")
    lines = _key_lines(node) if node is not None else {}
    try:
        plan = Plan.model_validate(raw)
    except ValidationError as exc:
        raise PlanError(_format_validation(exc, path, lines), hint="Fix the plan and run again.") from None
    return LoadedPlan(plan=plan, path=path.resolve(), root=plan_root(path), text=text, lines=lines)


def _format_validation(exc: ValidationError, path: Path, lines: dict[tuple[str | int, ...], int]) -> str:
    msgs = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        line = None
        probe = loc
        while probe and line is None:
            line = lines.get(probe)
            probe = probe[:-1]
        key = ".".join(str(p) for p in loc) or "(top level)"
        where = f"{path.name}:{line}" if line else path.name
        if err["type"] == "extra_forbidden":
            parent = loc[:-1]
            allowed = _allowed_keys(parent)
            msg = f"unknown key {loc[-1]!r}{_did_you_mean(str(loc[-1]), allowed)}"
            if allowed:
                msg += f"; allowed here: {', '.join(sorted(allowed))}"
        elif err["type"] == "missing":
            msg = "required key is missing"
        else:
            given = err.get("input")
            given_s = f" (given: {given!r})" if not isinstance(given, (dict, list)) else ""
            msg = f"{err['msg']}{given_s}"
        msgs.append(f"{where}: {key}: {msg}")
    return f"The analysis plan {path} is invalid:\n  " + "\n  ".join(msgs)


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    """Field names of the model found at `loc` of a Plan (for 'did you mean')."""
    model: Any = Plan
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(str(part))
        if field is None:
            # dict[str, Model] value: the key is a user name; keep the current model's value type
            return []
        model = _inner_model(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", ())
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in reversed(args):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None



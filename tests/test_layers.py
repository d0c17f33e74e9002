"""The layer rules, enforced by walking every import (module level and inside functions):
data & quality → analysis → results (ARD) → report, each importing only from the layers below it; no import
cycle between modules; the generators of the bundled studies outside the engine."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "trialpress"

# what each layer may not import (trialpress layers above it or beside it, and libraries of other layers)
FORBIDDEN = {
    "data": {"trialpress.quality", "trialpress.analysis", "trialpress.results", "trialpress.report",
             "trialpress.store", "trialpress.pipeline", "matplotlib", "jinja2"},
    "quality": {"trialpress.analysis", "trialpress.results", "trialpress.report", "trialpress.store",
                "trialpress.pipeline", "matplotlib", "jinja2"},
    "analysis": {"trialpress.quality", "trialpress.results", "trialpress.report", "trialpress.store",
                 "trialpress.pipeline", "matplotlib", "jinja2", "typst", "pypandoc"},
    "results": {"trialpress.quality", "trialpress.report", "trialpress.store", "trialpress.pipeline", "matplotlib",
                "jinja2"},
    # the report reads the ARD only: no data, no statistics
    "report": {"trialpress.data", "trialpress.analysis", "trialpress.quality", "trialpress.pipeline",
               "lifelines", "statsmodels", "scipy"},
    "plan": {"trialpress.data", "trialpress.quality", "trialpress.analysis", "trialpress.results",
             "trialpress.report", "pandas"},
}


def imports(path: Path) -> set[str]:
    """Every module an file imports, wherever the import statement stands (lazy imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _module(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module(p): p for p in sorted(PKG.rglob("*.py"))}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports(layer: str) -> None:
    bad = []
    for f in sorted((PKG / layer).rglob("*.py")):
        for name in imports(f):
            if any(name == b or name.startswith(b + ".") for b in FORBIDDEN[layer]):
                bad.append(f"{f.relative_to(PKG)} imports {name}")
    assert not bad, bad


def test_engine_does_not_import_the_bundled_generators() -> None:
    bad = [f"{p.relative_to(PKG)}" for p in PKG.rglob("*.py") if any(n.startswith("trialpress_synth") for n in imports(p))]
    assert not bad, bad
    assert not (PKG / "data" / "synth").exists()


def test_no_import_cycles_between_modules() -> None:
    """A cycle (even hidden behind a function-level import) means two modules are one room."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        targets = set()
        for imp in imports(path):
            while imp and imp not in mods:
                imp = imp.rpartition(".")[0]
            if imp and imp != name and not name.startswith(imp + ".") and imp != "trialpress":
                targets.add(imp)
        graph[name] = targets
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(nxt_ := node, set())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2
        del nxt_

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles


def test_templates_compute_nothing() -> None:
    """No arithmetic and no computing filters in templates (Jinja AST): they format and choose words only."""
    from jinja2 import nodes

    from trialpress.report.templating import environment

    root = PKG.parents[1] / "templates"
    computing_filters = {"sum", "round", "abs", "max", "min", "float", "int", "random"}
    for f in sorted(root.rglob("*.j2")):
        env = environment(f.parent)
        tree = env.parse(f.read_text())
        arithmetic = list(tree.find_all((nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod,
                                         nodes.Pow)))
        filters = [n.name for n in tree.find_all(nodes.Filter) if n.name in computing_filters]
        comparisons = [n for n in tree.find_all(nodes.Compare)
                       if any(op.op in ("lt", "gt", "lteq", "gteq") for op in n.ops)
                       and not _is_length_check(n)]
        assert not arithmetic and not filters and not comparisons, \
            f"{f.relative_to(root)} computes: {arithmetic or filters or comparisons}"


def _is_length_check(node: object) -> bool:
    """'groups | length > 2' picks wording by how many groups there are: not a statistical comparison."""
    from jinja2 import nodes

    expr = getattr(node, "expr", None)
    return isinstance(expr, nodes.Filter) and expr.name == "length"


def test_functions_are_small() -> None:
    """No function over about 60 lines without a reason (a reason is a `# long:` comment on its first line)."""
    long = []
    for path in sorted(PKG.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > 60 and "# long:" not in lines[node.lineno - 1]:
                    long.append(f"{path.relative_to(PKG)}:{node.lineno} {node.name} ({size} lines)")
    assert not long, long

"""The layer rules, enforced by walking imports: data → analysis → results → report."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "trialpress"

FORBIDDEN = {
    "analysis": {"matplotlib", "jinja2", "trialpress.report", "trialpress.results", "typst", "pypandoc"},
    "data": {"trialpress.analysis", "trialpress.results", "trialpress.report", "matplotlib", "jinja2"},
    "quality": {"trialpress.analysis", "trialpress.results", "trialpress.report", "matplotlib", "jinja2"},
    "results": {"trialpress.report", "matplotlib", "jinja2"},
    "report": {"lifelines", "statsmodels", "scipy"},
}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports(layer: str) -> None:
    bad = []
    for f in sorted((PKG / layer).rglob("*.py")):
        for name in imports(f):
            if any(name == b or name.startswith(b + ".") for b in FORBIDDEN[layer]):
                bad.append(f"{f.relative_to(PKG)} imports {name}")
    assert not bad, bad


def test_templates_compute_nothing() -> None:
    """No arithmetic and no computing filters in templates (Jinja AST): they format and choose words only."""
    from jinja2 import nodes

    from trialpress.report.templating import environment

    root = PKG.parents[1] / "templates"
    computing_filters = {"sum", "round", "abs", "max", "min", "float", "int", "random"}
    for f in sorted(root.rglob("*.j2")):
        env = environment(f.parent)
        tree = env.parse(f.read_text())
        arithmetic = list(tree.find_all((nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Pow)))
        filters = [n.name for n in tree.find_all(nodes.Filter) if n.name in computing_filters]
        assert not arithmetic and not filters, f"{f.relative_to(root)} computes: {arithmetic or filters}"

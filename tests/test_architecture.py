"""The shape of the package: no import cycles between modules or between packages, and no
module over 400 lines (README, Architecture)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1] / "torchfuzz"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _target(name: str) -> str | None:
    """The torchfuzz module an import of `name` loads last (a package's __init__ included)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    """Every torchfuzz module `module` imports, at any depth (functions and TYPE_CHECKING too)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + [base]
                ).strip(".")
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        found |= {t for t in map(_target, names) if t is not None and t != module}
    return found


def import_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for module, path in MODULES.items():
        graph.add_node(module)
        graph.add_edges_from((module, target) for target in _imports(module, path))
    return graph


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def test_no_module_imports_itself_through_others():
    graph = import_graph()
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c + c[:1]) for c in cycles[:10])


def test_packages_are_layered():
    graph = import_graph()
    packages = nx.DiGraph()
    for a, b in graph.edges:
        if _package(a) != _package(b):
            packages.add_edge(_package(a), _package(b))
    cycles = list(nx.simple_cycles(packages))
    assert not cycles, "package cycles:\n" + "\n".join(" -> ".join(c + c[:1]) for c in cycles)


# The picture in README's Architecture section: a package imports only lower layers.
LAYERS = {
    "torchfuzz._version": 0,
    "torchfuzz.ir": 0,
    "torchfuzz.data": 0,  # the default known-issues file
    "torchfuzz.passes": 1,
    "torchfuzz.backends": 2,
    "torchfuzz.generator": 2,
    "torchfuzz.shrink": 3,
    "torchfuzz.findings": 3,
    "torchfuzz.bench": 3,
    "torchfuzz": 3,  # the public API: generate, check, to_python, to_fx
    "torchfuzz.campaign": 4,
    "torchfuzz.commands": 5,
    "torchfuzz.cli": 6,
}


def test_packages_import_only_lower_layers():
    graph = import_graph()
    assert {_package(m) for m in graph} <= set(LAYERS), "a package without a layer"
    upward = sorted(
        f"{a} -> {b}"
        for a, b in graph.edges
        if _package(a) != _package(b) and LAYERS[_package(a)] <= LAYERS[_package(b)]
    )
    assert not upward, "imports that go up or sideways:\n" + "\n".join(upward)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_at_most_400_lines(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{MODULES[module]} has {lines} lines"

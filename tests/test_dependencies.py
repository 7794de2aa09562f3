"""The dependency rules of docs/architecture.md, checked on the source: what may import what.

Every import of a project module counts, at module level or inside a function (a function-level
import is still a dependency; it only hides a cycle from the interpreter until the day it runs).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("protocol", "schemas", "certs", "adapters", "hub", "etl", "olap", "region")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, tuple[Path, ast.Module]]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = (path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return found


SOURCES = _sources()
PACKAGE_MODULES = {name for name, (path, _) in SOURCES.items() if path.name == "__init__.py"}


def _imports(name: str) -> list[tuple[str, str, int]]:
    """(imported module, imported name or "", line) for every project import in module ``name``."""
    path, tree = SOURCES[name]
    package = name if name in PACKAGE_MODULES else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, "", node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.append((submodule, "", node.lineno) if submodule in SOURCES
                             else (target, alias.name, node.lineno))
    return [(module, imported, line) for module, imported, line in found
            if module.split(".")[0] in PACKAGES and module in SOURCES]


GRAPH = {name: _imports(name) for name in SOURCES}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target, _, _ in GRAPH[node]:
            if target == node:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return components


def _violations(rule) -> list[str]:
    return [f"{SOURCES[name][0].relative_to(ROOT)}:{line} imports {module}"
            for name in sorted(GRAPH) for module, _, line in GRAPH[name] if rule(name, module)]


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_graph_sees_the_packages():
    # a rule checked on an empty graph would pass for nothing
    assert {_top(name) for name in SOURCES} == set(PACKAGES)
    assert ("protocol.errors", "HubError") in {(m, n) for m, n, _ in GRAPH["hub.errors"]}
    assert "hub.exchange.inbox" in {m for m, _, _ in GRAPH["hub.exchange.writer"]}


def test_no_import_cycles():
    assert _cycles() == []


@pytest.mark.parametrize("package, allowed", [
    ("protocol", {"protocol", "certs"}),
    ("schemas", {"schemas", "protocol"}),
    ("certs", {"certs"}),
    ("adapters", {"adapters", "protocol", "schemas", "certs"}),
    ("olap", {"olap", "schemas"}),
    ("etl", {"etl", "olap", "hub", "schemas", "protocol"}),
    ("region", {"region", "hub", "schemas", "protocol", "adapters", "certs"}),
])
def test_packages_import_only_what_they_may(package, allowed):
    assert _violations(lambda name, module: _top(name) == package and _top(module) not in allowed) == []


def test_hub_reaches_etl_and_olap_only_from_its_edges():
    edges = ("hub.web", "hub.cli")
    assert _violations(lambda name, module: _top(name) == "hub" and _top(module) in ("etl", "olap")
                       and not name.startswith(edges)) == []


def test_hub_reaches_the_synthetic_region_only_from_its_cli():
    assert _violations(lambda name, module: _top(name) == "hub" and _top(module) == "region"
                       and not name.startswith("hub.cli")) == []


def test_etl_reads_the_store_through_its_models_only():
    assert _violations(lambda name, module: _top(name) == "etl" and _top(module) == "hub"
                       and not (module.startswith("hub.store.") or module.endswith(".models")
                                or module == "hub.settings")) == []


def test_nothing_imports_a_private_name_of_another_module():
    private = [f"{SOURCES[name][0].relative_to(ROOT)}:{line} imports {module}.{imported}"
               for name in sorted(GRAPH) for module, imported, line in GRAPH[name]
               if imported.startswith("_") and not imported.startswith("__") and module != name]
    assert private == []


def test_domains_do_not_import_the_edges():
    edges = ("hub.web", "hub.cli", "hub.soap")
    assert _violations(lambda name, module: module.startswith(edges) and _top(name) == "hub"
                       and not name.startswith(edges)) == []


def test_workflows_react_to_the_records_and_nothing_below_them_reaches_up():
    allowed = ("hub.workflows", "hub.records", "hub.mpi", "hub.registry", "hub.exchange", "hub.store", "hub.audit",
               "hub.errors", "protocol", "schemas")
    assert _violations(lambda name, module: name.startswith("hub.workflows") and not module.startswith(allowed)) == []
    assert _violations(lambda name, module: name.startswith(("hub.records", "hub.exchange", "hub.mpi", "hub.registry",
                                                             "hub.store", "hub.pipeline"))
                       and module.startswith("hub.workflows")) == []

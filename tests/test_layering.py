"""The package's import structure: every module imports only from its own layer or the
layers below it, and no modules import each other in a cycle (ARCHITECTURE.md: the
layout shows the pipeline).  Imports are read from the source with `ast`, those inside
function bodies included: a deferred import is still a dependency."""

from __future__ import annotations

import ast
import os

import pytest

import ptir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Where each installed package's source lives in the repository.
SOURCES = {"ptir": "ptir", "ptir.models": "models", "ptir.conformance": "conformance", "ptir.configs": "configs"}

# Lowest first.  A module belongs to the layer of the longest prefix that names it; it may
# import modules of its own layer and of the layers before it, never after.
LAYERS = [
    ("ptir.errors", "ptir.configs", "ptir.io"),
    ("ptir.dialect",),
    ("ptir.passes", "ptir.lower_stablehlo", "ptir.functional", "ptir.weights"),
    ("ptir.nn", "ptir.importers"),
    ("ptir.runtime",),
    ("ptir.pipeline",),
    ("ptir",),                        # the public facade, ptir/__init__.py
    ("ptir.models",),                 # model families, built on the facade
    ("ptir.conformance",),            # checks ops, functionals and models against torch
    ("ptir.models.eval",),            # ptirc eval's workloads: models judged by conformance's rules
    ("ptir.cli",),
]


def layer_of(module: str) -> int:
    best, found = -1, None
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, found = len(name), i
    assert found is not None, f"{module} is in no layer"
    return found


def modules() -> dict[str, str]:
    """Every module of the installed packages -> its source file."""
    out = {}
    for package, folder in SOURCES.items():
        base = os.path.join(ROOT, folder)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            rel = os.path.relpath(dirpath, base)
            prefix = package if rel == "." else f"{package}.{rel.replace(os.sep, '.')}"
            for f in filenames:
                if f.endswith(".py"):
                    out[prefix if f == "__init__.py" else f"{prefix}.{f[:-3]}"] = os.path.join(dirpath, f)
    return out


MODULES = modules()


def _runtime_nodes(tree):
    """Every node except those under `if TYPE_CHECKING:` (annotations only, never run)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def imports(module: str, path: str) -> set[str]:
    """The project modules `module` imports (the most specific one each import names)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found



GRAPH = {m: imports(m, p) for m, p in MODULES.items()}


def test_no_top_level_models_or_conformance_imports():
    bad = [f"{m} imports {n}" for m, p in MODULES.items() for n in _raw_imports(p)
           if n.split(".")[0] in ("models", "conformance", "configs")]
    assert not bad, bad


def _raw_imports(path):
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            yield node.module


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down(module):
    own = layer_of(module)
    up = sorted(n for n in GRAPH[module] if layer_of(n) > own and not module.startswith(n + ".")
                and not n.startswith(module + "."))
    assert not up, f"{module} (layer {LAYERS[own]}) imports from higher layers: {up}"


def test_no_import_cycles():
    """Tarjan's strongly connected components over the module graph; a package's
    __init__ re-exporting its own submodules is not a cycle."""
    edges = {m: {n for n in ns if not (m.startswith(n + ".") or n.startswith(m + "."))}
             for m, ns in GRAPH.items()}
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_facade_is_the_installed_package():
    assert os.path.dirname(ptir.__file__) == os.path.join(ROOT, "ptir")

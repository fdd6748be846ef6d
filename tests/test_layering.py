"""The packages' imports point one way (read from the source with ``ast``, every import, also those inside
functions; type-checking-only imports are left out since they never run):

    sim <- workloads <- compiler <- lutsim (pipeline, results, schema, sweep) <- reports <- lutsim commands, cli
    sim <- rtl <- lutsim commands

and no module imports itself back through others (no import cycle between modules)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sim", "workloads", "compiler", "rtl", "reports", "lutsim")
#: the top-level packages each package may import
ALLOWED = {
    "sim": {"sim"},
    "workloads": {"sim", "workloads"},
    "compiler": {"sim", "workloads", "compiler"},
    "rtl": {"sim", "rtl"},
    "reports": {"sim", "workloads", "reports", "lutsim"},
    "lutsim": set(PACKAGES),
}
#: the front door's modules that only the command line may use (reports take results as data)
FRONT_DOOR = ("lutsim.commands", "lutsim.cli", "lutsim.output", "lutsim.api", "lutsim.__main__")
#: lutsim's lower layer: the pipeline, its results and the sweep, below reports and the commands
PIPELINE = ("lutsim.pipeline", "lutsim.results", "lutsim.schema", "lutsim.sweep")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for p in sorted((ROOT / pkg).rglob("*.py")):
            parts = p.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


MODULES = _modules()


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, (ast.Name, ast.Attribute)) and \
        ast.unparse(node.test).endswith("TYPE_CHECKING")


def _import_nodes(tree: ast.AST):
    for node in ast.iter_child_nodes(tree):
        if _type_checking_only(node):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _import_nodes(node)


def _known(name: str) -> str | None:
    """The project module ``name`` is, or is inside (None for the standard library and third parties)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """The project modules ``module`` imports."""
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out = set()
    for node in _import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        out |= {m for m in map(_known, names) if m and m != module}
    return out


GRAPH = {m: imports_of(m) for m in MODULES}


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_one_way(module):
    top = module.split(".")[0]
    for dep in sorted(GRAPH[module]):
        assert dep.split(".")[0] in ALLOWED[top], f"{module} imports {dep}: {top}/ may import only {ALLOWED[top]}"
        if top == "reports":
            assert not _within(dep, FRONT_DOOR), f"{module} imports {dep}: reports take results as data"
        if _within(module, PIPELINE):
            assert dep.split(".")[0] != "reports" and not _within(dep, FRONT_DOOR), \
                f"{module} imports {dep}: the pipeline is below reports and the command line"


def test_no_import_cycles():
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_graph_sees_imports_inside_functions_and_relative_ones():
    assert "lutsim.pipeline" in GRAPH["lutsim.commands.simulate"]  # imported inside run()
    assert "reports.validation.row" in GRAPH["reports.validation.ltc"]  # from .row import Row
    assert "workloads.models" not in GRAPH["sim.gpu.llm_viewer_compat"]  # under TYPE_CHECKING only

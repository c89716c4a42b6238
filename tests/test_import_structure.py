"""The client side's imports form no cycle, at module level or inside functions (issue 17).

Every ``import`` and ``from … import`` of every client-side module (everything in ``kvnb/`` but the
local vault, ``kvnb/local/``) is read from its AST, wherever it sits — a function-level import
still ties two modules together, it only delays the failure. ``if TYPE_CHECKING:`` blocks are left
out: they never run. ``kvnb/errors.py`` is the leaf everything may raise from, so it imports
nothing of kvnb at all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import kvnb

ROOT = Path(kvnb.__file__).parent
LOCAL = ROOT / "local"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _all_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _client_modules() -> dict[str, Path]:
    return {name: path for name, path in _all_modules().items() if LOCAL not in path.parents}


def _type_checking_only(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(tree: ast.AST):
    """Every Import / ImportFrom node, skipping ``if TYPE_CHECKING:`` bodies."""
    for node in ast.iter_child_nodes(tree):
        if _type_checking_only(node):
            yield from (n for child in node.orelse for n in _imports_in(child))
            continue
        yield from _imports_in(node)


def _imports_in(node: ast.AST):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    else:
        yield from _imports(node)


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The kvnb modules *name* imports (a package's ``__init__`` stands for the package)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        for target in targets:
            while target and target not in known:  # `import kvnb.x.y` of a name inside a module
                target = target.rpartition(".")[0]
            if target and target != name and target.split(".")[0] == "kvnb" and not _is_local(target):
                found.add(target)
    return found


def _is_local(module: str) -> bool:
    return module == "kvnb.local" or module.startswith("kvnb.local.")


def import_graph() -> dict[str, set[str]]:
    """Client-side module → the client-side modules it imports (the local vault's are left out)."""
    known = set(_all_modules())
    return {name: imported_modules(name, path, known) for name, path in _client_modules().items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_function_level_imports():
    graph = import_graph()
    assert "kvnb.fetch" in graph["kvnb.magics.kvget"] or "kvnb.fetch" in graph["kvnb.magics.kvaccess"]
    assert "kvnb.vault" in graph["kvnb.fetch"]  # imported inside open_target only


def test_the_walk_finds_a_cycle_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_among_client_side_modules():
    found = cycles(import_graph())
    assert not found, "import cycles among client-side modules:\n" + "\n".join(" ↔ ".join(c) for c in found)


def test_errors_is_a_leaf():
    assert import_graph()["kvnb.errors"] == set()
    source = (ROOT / "errors.py").read_text(encoding="utf-8")
    assert not [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom) and n.level]

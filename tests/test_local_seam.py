"""One seam: outside the emulator, kvnb reaches the local vault only through `kvnb.local` itself.

Every module of kvnb but the emulator (``kvnb/local``) and the `kvnb local` commands is parsed, and
every import in it (function-level ones included, and ``importlib.import_module`` with a literal
name) must name no module below ``kvnb.local`` and take from ``kvnb.local`` only what its
``__all__`` offers. Tests of the emulator and the benchmarks may reach inside to arrange state.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kvnb
import kvnb.local

PACKAGE = Path(kvnb.__file__).parent
EXEMPT = {Path("local"), Path("cli/local.py")}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, path: Path) -> str:
    if not node.level:
        return node.module or ""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _reaches_inside(node: ast.AST, path: Path) -> list[str]:
    """The names below kvnb.local that one import statement (or import_module call) reaches."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("kvnb.local.")]
    if isinstance(node, ast.ImportFrom):
        module = _absolute(node, path)
        if module.startswith("kvnb.local."):
            return [module]
        if module == "kvnb.local":
            return [f"kvnb.local.{a.name}" for a in node.names if a.name not in kvnb.local.__all__]
        if module == "kvnb":
            return []  # `from kvnb import local` is the seam itself
        return []
    if (
        isinstance(node, ast.Call)
        and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        name = node.args[0].value
        return [name] if name.startswith("kvnb.local.") else []
    return []


def _client_modules() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if not any(path.relative_to(PACKAGE).is_relative_to(exempt) for exempt in EXEMPT)
    ]


def test_nothing_outside_the_emulator_imports_its_internals():
    modules = _client_modules()
    assert len(modules) > 50 and PACKAGE / "vault.py" in modules and PACKAGE / "access" / "principals.py" in modules
    crossings = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno} imports {name}"
        for path in modules
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        for name in _reaches_inside(node, path)
    ]
    assert crossings == []


def test_the_check_sees_every_kind_of_crossing(tmp_path):
    """A function-level relative import, a `from kvnb.local import <module>` and an import_module."""
    sample = PACKAGE / "access" / "sample.py"  # only its location matters, for the relative import
    source = (
        "def f():\n    from ..local.state.store import Store\n"
        "from kvnb.local import control, NotRunning\n"
        "import kvnb.local.tenant\n"
        "importlib.import_module('kvnb.local.server.process')\n"
        "from kvnb import local\nfrom kvnb.local import connect\n"
    )
    found = [name for node in ast.walk(ast.parse(source)) for name in _reaches_inside(node, sample)]
    assert sorted(found) == [
        "kvnb.local.control",
        "kvnb.local.server.process",
        "kvnb.local.state.store",
        "kvnb.local.tenant",
    ]


def test_the_seam_is_small_and_sorted():
    assert kvnb.local.__all__ == sorted(kvnb.local.__all__)
    assert all(hasattr(kvnb.local, name) for name in kvnb.local.__all__)
    assert len(kvnb.local.__all__) <= 20


def test_the_seam_tells_a_client_what_it_needs_and_no_more(local_vault):
    home = local_vault.paths
    runtime = kvnb.local.running(home)
    assert runtime.tenant_id == local_vault.store.tenant_id and runtime.ca_path == home.ca_cert
    assert runtime.vaults[0]["url"] == local_vault.url and "admin_token" not in repr(runtime)
    kinds = {p.handle: (p.kind, p.can_sign_in) for p in kvnb.local.personas(home)}
    assert kinds["lead"] == ("User", True) and kinds["pipeline"] == ("ServicePrincipal", True)
    assert kinds["leaver"] == ("User", False) and kinds["azuread-team"] == ("Group", False)
    assert all(p.identity_header is None for p in kvnb.local.directory(home).list_principals())
    with pytest.raises(LookupError, match=r"Known: .*lead"):
        kvnb.local.identity_header("nobody-here", home)
    with pytest.raises(LookupError, match="groups cannot sign in"):
        kvnb.local.identity_header("azuread-team", home)
    header = kvnb.local.identity_header("LEAD", home)  # handles are case-insensitive, as in Azure
    assert local_vault.service.principal_for_identity_header(header)["handle"] == "lead"

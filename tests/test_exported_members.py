"""Each client-side package's ``__all__`` is exactly its public names, sorted (httpx's test_exported_members).

A public name is one not starting with ``_`` that the package defines or re-exports on purpose:
submodules, ``from __future__`` features and what it merely imports from other libraries (a base
class, a decorator) are not. The top package's names load lazily (PEP 562), so there its ``__all__``
is checked against what ``kvnb.<name>`` resolves.
"""

from __future__ import annotations
import __future__

import importlib
import inspect
import types
from pathlib import Path

import pytest

import kvnb

ROOT = Path(kvnb.__file__).parent
PACKAGES = sorted(
    ".".join(p.parent.relative_to(ROOT.parent).parts)
    for p in ROOT.rglob("__init__.py")
    if "local" not in p.relative_to(ROOT).parts
)


def _imported_from_elsewhere(value) -> bool:
    """A class or function of another library, imported for use rather than for export."""
    if not (inspect.isclass(value) or inspect.isroutine(value)):
        return False
    return (getattr(value, "__module__", None) or "").split(".")[0] != "kvnb"


def public_names(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, (types.ModuleType, __future__._Feature))
        and not _imported_from_elsewhere(value)
    }


def test_every_client_side_package_is_checked():
    assert {"kvnb", "kvnb.access", "kvnb.audit", "kvnb.governance", "kvnb.magics", "kvnb.vaultpanel"} <= set(PACKAGES)


@pytest.mark.parametrize("name", [p for p in PACKAGES if p != "kvnb"])
def test_all_is_exactly_the_public_names(name):
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__), f"{name}.__all__ is not sorted"
    assert set(module.__all__) == public_names(module)


def test_the_top_package_exports_its_lazy_names():
    assert kvnb.__all__ == sorted(kvnb.__all__)
    assert set(kvnb.__all__) == public_names(kvnb) | set(kvnb._LAZY) | {"__version__"}
    for name in kvnb.__all__:
        assert getattr(kvnb, name) is not None, name


def test_panel_is_a_documented_function_not_a_callable_module():
    assert inspect.isfunction(kvnb.panel) and kvnb.panel.__doc__
    assert "panel" not in {m.name for m in __import__("pkgutil").iter_modules(kvnb.__path__)}

"""The vault panel: a vault's secrets (metadata), role assignments, reviews and findings in one widget.

::

    import kvnb.panel
    p = kvnb.panel("local", persona="newmember")     # or kvnb.panel.panel(...), or %kvpanel
    p                                                # the panel (a cell's last value)
    p.on_select(lambda tab, row: print(tab, row["name"]))

Tabs render the audit's DataFrames (`kvnb.audit`) through itables' DataTables widget; the panel
never reads a secret value. See docs/panel.md.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

from .widget import REPAINT_SECONDS, VaultPanel

__all__ = ["REPAINT_SECONDS", "VaultPanel", "panel"]


def panel(vault=None, *, persona: str | None = None, settings=None, export_dir: str | Path | None = None) -> VaultPanel:
    """Start auditing *vault* (a name, URL, ``local`` or a `VaultTarget`) and return its panel.

    With no *vault*, ``KVNB_VAULT`` names it. The panel paints as results arrive.
    """
    return VaultPanel(vault, persona=persona, settings=settings, export_dir=export_dir)


class _CallableModule(types.ModuleType):
    """Lets ``kvnb.panel(vault)`` (the issue's spelling) work as well as ``kvnb.panel.panel(vault)``."""

    def __call__(self, vault=None, **options) -> VaultPanel:
        return panel(vault, **options)


sys.modules[__name__].__class__ = _CallableModule

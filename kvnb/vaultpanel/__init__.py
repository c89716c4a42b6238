"""``kvnb.vaultpanel``, the vault panel: a vault's secrets (metadata), role assignments, reviews and findings in one widget.

::

    import kvnb
    p = kvnb.panel("local", persona="newmember")     # or %kvpanel
    p                                                # the panel (a cell's last value)
    p.on_select(lambda tab, row: print(tab, row["name"]))

Tabs render the audit's DataFrames (`kvnb.audit`) through itables' DataTables widget; the panel
never reads a secret value. See docs/panel.md.
"""

from __future__ import annotations

from pathlib import Path

from .widget import REPAINT_SECONDS, VaultPanel

__all__ = ["REPAINT_SECONDS", "VaultPanel", "panel"]


def panel(vault=None, *, persona: str | None = None, settings=None, export_dir: str | Path | None = None) -> VaultPanel:
    """Start auditing *vault* (a name, URL, ``local`` or a `VaultTarget`) and return its panel.

    With no *vault*, ``KVNB_VAULT`` names it. The panel paints as results arrive. Needs what
    `kvnb.audit.audit_vault` needs (Key Vault Reader); what the identity cannot see is listed as a
    limitation in the panel.

    :raises kvnb.errors.VaultReferenceError: *vault* cannot be opened.
    """
    return VaultPanel(vault, persona=persona, settings=settings, export_dir=export_dir)

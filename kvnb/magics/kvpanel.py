"""``%kvpanel [VAULT] [--persona NAME]``: the vault panel (`kvnb.vaultpanel.VaultPanel`) in a notebook.

A separate ``Magics`` class so it can be registered next to ``KvMagics`` with one line; it reads
the vault and persona through the same order as the other magics (argument → ``%config
KvMagics`` → ``KVNB_*`` → default) from the ``KvMagics`` instance it is given.
"""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from kvnb.magics._words import unquoted

__all__ = ["KvPanelMagics", "register", "run", "unregister"]


@magics_class
class KvPanelMagics(Magics):
    """``%kvpanel``; *settings* is the ``KvMagics`` whose ``%config`` values apply."""

    def __init__(self, shell=None, settings=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self.settings = settings

    @magic_arguments()
    @argument("vault", nargs="?", metavar="VAULT", help="Vault name, URL, `local` or `local:NAME`.")
    @argument("--persona", metavar="NAME", help="Act as this local identity (local vault only).")
    @line_magic
    def kvpanel(self, line: str):
        """Secrets (metadata), role assignments, reviews and findings of a vault, in one panel.

        %kvpanel                          the default vault (%config KvMagics.vault, KVNB_VAULT)
        %kvpanel local --persona newmember
        panel = %kvpanel azDevOpsKV01     then panel.on_select(lambda tab, row: ...)
        """
        try:
            args = parse_argstring(self.kvpanel, line)
        except ValueError as exc:  # shlex: "No closing quotation"
            raise UsageError(str(exc)) from None
        return run(self.settings, args)


def run(settings, args):
    """Open the vault as the settings say and return its panel (displayed as the cell's value)."""
    from kvnb import errors, fetch
    from kvnb.magics.settings import effective

    try:
        vault = effective(settings, "vault", unquoted(args.vault))
        persona = effective(settings, "persona", unquoted(args.persona))
        target = fetch.open_target(
            vault, persona=persona, credential_options=effective(settings, "credential_options") or None
        )
    except errors.KvnbError as exc:  # a SettingError too
        raise UsageError(str(exc)) from None
    try:
        from kvnb.vaultpanel import VaultPanel
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    return VaultPanel(
        target, persona=target.persona if target.is_local else None, export_dir=effective(settings, "export_dir")
    )


def register(shell, settings=None) -> KvPanelMagics:
    """Add ``%kvpanel`` to *shell*; *settings* is the ``KvMagics`` instance (for ``%config``)."""
    magics = KvPanelMagics(shell=shell, settings=settings)
    shell.register_magics(magics)
    return magics


def unregister(shell) -> None:
    """Remove what ``register`` added."""
    table = shell.magics_manager.magics["line"]
    if isinstance(getattr(table.get("kvpanel"), "__self__", None), KvPanelMagics):
        del table["kvpanel"]
    shell.magics_manager.registry.pop(KvPanelMagics.__name__, None)

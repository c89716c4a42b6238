"""IPython magics: ``%kvget`` / ``%%kvget``, ``%kvaccess``, ``%kvrotate`` and ``%kvpanel``.

The class only declares settings (``KvSettings`` traitlets) and arguments (stacked ``@argument``
decorators, so ``%kvget?`` always matches the parser); each magic routes to a plain function in
``kvget`` or ``kvaccess``. Errors meant for people are ``UsageError``: one or two lines, no
traceback.
"""

from __future__ import annotations

from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, needs_local_scope, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from kvnb.magics import kvget as _kvget
from kvnb.magics._parsing import expand_variables as _expand_variables
from kvnb.magics._parsing import parse as _parse
from kvnb.magics._parsing import settings_errors as _settings_errors
from kvnb.magics.kvrotate import kvrotate as _kvrotate
from kvnb.magics.settings import KvSettings

__all__ = ["KvMagics", "KvSettings", "load", "unload"]


@magics_class
class KvMagics(KvSettings, Magics):
    """Azure Key Vault from notebooks; ``%config KvMagics`` lists the settings."""

    @magic_arguments()
    @argument("names", nargs="*", metavar="NAME", help="Secret names; one variable each.")
    @argument("--as", dest="as_", metavar="VAR", help="Variable name (one NAME only).")
    @argument("--version", metavar="V", help="A version instead of the latest (one NAME only).")
    @argument("--vault", metavar="V", help="Vault name, URL, `local` or `local:NAME`.")
    @argument("--persona", metavar="NAME", help="Act as this local identity (local vault only).")
    @argument(
        "--env",
        metavar="ENVVAR",
        help="Put the value in os.environ[ENVVAR], not in a variable (add --as VAR for both; one NAME only).",
    )
    @argument(
        "--peek",
        type=int,
        metavar="N",
        help="Also show the first N characters, when KvMagics.peek_policy allows it (one NAME only).",
    )
    @argument("--ledger", action="store_true", help="Show the fetch ledger (a DataFrame).")
    @no_var_expand
    @needs_local_scope
    @line_cell_magic
    def kvget(self, line: str, cell: str | None = None, local_ns: dict | None = None):
        """Fetch secrets into masked variables.

        %kvget APICaller                  -> api_caller
        %kvget APICaller --as key --vault local --persona member
        %%kvget --vault azDevOpsKV01
        key = APICaller
        WebhookSigningKey
        """
        args = _parse(self.kvget, _expand_variables(self.shell, line, local_ns))
        return _settings_errors(_kvget.run, self, args, cell)

    @line_magic
    def kvaccess(self, line: str):
        """Who am I, what may I do with a vault or secret and why — and how to get more.

        %kvaccess [SECRET]                your roles on the vault (or SECRET), what they allow, why
        %kvaccess request ROLE|PACKAGE --reason WHY
        %kvaccess requests                requests waiting for your decision
        %kvaccess approve ID [--reason TEXT]      %kvaccess deny ID [--reason TEXT]
        %kvaccess grant PRINCIPAL ROLE [--scope secret/NAME] [--for DURATION] [--reason TEXT]
        %kvaccess revoke PRINCIPAL ROLE [--scope secret/NAME]
        %kvaccess review [GROUP]          review status, or one group's decisions
        %kvaccess plan [FILE]             drift from the governance plan

        Every form takes --vault V and --persona NAME; `%kvaccess SUBCOMMAND -h` shows its options.
        """
        from kvnb.magics import kvaccess

        return kvaccess.run(self, line)

    kvrotate = line_magic(_kvrotate)


def load(shell) -> KvMagics:
    """Register the magics with *shell* and make ``%config KvMagics`` see them."""
    from kvnb.magics.kvpanel import register as register_kvpanel
    from kvnb.magics.settings import apply_redaction_setting

    magics = KvMagics(shell=shell)
    shell.register_magics(magics)
    register_kvpanel(shell, magics)  # its own Magics class: the panel's widgets load on first use
    if magics not in shell.configurables:
        shell.configurables.append(magics)
    apply_redaction_setting(magics)
    return magics


def unload(shell) -> None:
    """Remove what ``load`` added."""
    from kvnb.magics.kvpanel import unregister as unregister_kvpanel

    unregister_kvpanel(shell)
    for kind in ("line", "cell"):
        table = shell.magics_manager.magics[kind]
        for name in [n for n, f in table.items() if isinstance(getattr(f, "__self__", None), KvMagics)]:
            del table[name]
    manager = shell.magics_manager
    manager.registry.pop(KvMagics.__name__, None)
    shell.configurables[:] = [c for c in shell.configurables if not isinstance(c, KvMagics)]

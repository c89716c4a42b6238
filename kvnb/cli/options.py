"""Options several commands share, defined once (datasette's reusable option decorators).

``--vault`` and ``--persona`` follow kvnb's one selection order: the option, else ``KVNB_VAULT`` /
``KVNB_PERSONA``, else kvnb's default (see `kvnb.vault`); ``--help`` shows the variable.
"""

from __future__ import annotations

import click
from click.core import ParameterSource


def _persona_from_option_only(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    # KVNB_PERSONA is read by open_vault itself, which applies it to the local vault only; passed on
    # as if typed, it would make every Azure vault refuse "--persona".
    if ctx.get_parameter_source(param.name) is ParameterSource.ENVIRONMENT:
        return None
    return value


vault_option = click.option(
    "--vault",
    metavar="VAULT",
    envvar="KVNB_VAULT",
    show_envvar=True,
    help="Vault name (azDevOpsKV01), https URL, 'local' or 'local:NAME'.",
)
persona_option = click.option(
    "--persona",
    metavar="NAME",
    envvar="KVNB_PERSONA",
    show_envvar=True,
    callback=_persona_from_option_only,
    help="Local vault identity to act as (default: `kvnb local login`, else lead); local vault only.",
)
# `kvnb local …` commands act on the local vault only, so the variable applies as it is.
local_persona_option = click.option(
    "--persona",
    metavar="NAME",
    envvar="KVNB_PERSONA",
    show_envvar=True,
    help="Local identity to act as (default: `kvnb local login`, else lead).",
)

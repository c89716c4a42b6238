"""The ``kvnb`` command. Each command group lives in its own module; this one only assembles them."""

from __future__ import annotations

import click

from .. import surface
from .._version import __version__
from . import access as _access
from . import audit as _audit
from . import local as _local
from . import notebook as _notebook
from . import run as _run
from . import scan as _scan
from . import secret as _secret

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kvnb")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Use Azure Key Vault securely: a local vault, audits, access, rotation, leak scans and commands run with secrets."""
    # Messages built below name `kvnb …` commands, not the magics a notebook would use.
    token = surface.enter(surface.CLI)
    ctx.call_on_close(lambda: surface.leave(token))


for _command in (_access.access, _audit.audit, _local.local, _notebook.notebook, _run.run, _scan.scan, _secret.secret):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="kvnb")

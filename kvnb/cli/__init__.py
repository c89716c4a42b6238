"""The ``kvnb`` command. Each command group lives in its own module; this one only assembles them."""

from __future__ import annotations

import click

from .._version import __version__
from . import audit as _audit
from . import local as _local
from . import notebook as _notebook
from . import run as _run
from . import scan as _scan
from . import secret as _secret

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kvnb")
def cli() -> None:
    """Use Azure Key Vault securely: a local vault, audits, rotation, leak scans and commands run with secrets."""


for _command in (_audit.audit, _local.local, _notebook.notebook, _run.run, _scan.scan, _secret.secret):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="kvnb")

"""The ``kvnb`` command. Each command group lives in its own module; this one only assembles them."""

from __future__ import annotations

import click

from .. import __version__
from .audit import audit
from .local import local
from .notebook import notebook
from .run import run
from .scan import scan
from .secret import secret


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kvnb")
def cli() -> None:
    """Use Azure Key Vault securely: a local vault, audits, rotation, leak scans and commands run with secrets."""


for command in (audit, local, notebook, run, scan, secret):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="kvnb")

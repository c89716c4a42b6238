"""The ``kvnb`` command. Each command group lives in its own module; this one only assembles them."""

from __future__ import annotations

import click

from .. import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kvnb")
def cli() -> None:
    """Use Azure Key Vault securely: a local vault, audits, rotation and leak scans."""


def _register() -> None:
    from .audit import audit
    from .local import local

    cli.add_command(audit)
    cli.add_command(local)
    try:  # command groups built by later modules register themselves here
        from .scan import scan
    except ImportError:
        pass
    else:
        cli.add_command(scan)


_register()


def main() -> None:
    cli(prog_name="kvnb")

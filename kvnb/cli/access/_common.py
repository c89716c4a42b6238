"""What every ``kvnb access`` command shares: opening the vault, one-line errors, tables or JSON."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from ..options import persona_option, vault_option

if TYPE_CHECKING:
    import pandas as pd

    from kvnb.vault import VaultTarget

EXIT_FAILED, EXIT_ERROR = 1, 2
OUTPUTS = ("table", "json")


class AccessCommandError(click.ClickException):
    """A refusal or usage problem, in one line, exit code 2."""

    exit_code = EXIT_ERROR


@contextmanager
def opened(vault: str | None, persona: str | None) -> Iterator[VaultTarget]:
    """The vault, closed afterwards; kvnb's errors (and the layers' argument checks) as one line, exit 2."""
    from kvnb.errors import KvnbError
    from kvnb.vault import open_vault

    target = None
    try:
        target = open_vault(vault, persona=persona)
        yield target
    except (KvnbError, ValueError) as exc:  # ValueError: durations, justification (the layers' checks)
        raise AccessCommandError(str(exc)) from None
    finally:
        if target is not None:
            target.close()
            close = getattr(target.credential, "close", None)
            if close is not None:
                close()


def vault_command(group: click.Group, name: str, **settings) -> Callable:
    """``@vault_command(access, "whoami")``: a subcommand of *group* with --vault and --persona,
    whose function gets ``target`` (the opened vault) instead of the two options."""

    def decorate(fn: Callable) -> click.Command:
        @functools.wraps(fn)
        def run(vault: str | None, persona: str | None, **kwargs):
            with opened(vault, persona) as target:
                return fn(target, **kwargs)

        return group.command(name, **settings)(vault_option(persona_option(run)))

    return decorate


output_option = click.option(
    "--output",
    type=click.Choice(OUTPUTS),
    default="table",
    show_default=True,
    help="table for people, json (records) for scripts.",
)


def show(frame: pd.DataFrame, output: str, columns: list[str] | None = None) -> None:
    """*frame* (its *columns* it has) as a plain-text table, or as JSON records for scripts."""
    if columns is not None:
        frame = frame[[c for c in columns if c in frame.columns]]
    if output == "json":
        click.echo(frame.to_json(orient="records", date_format="iso", indent=2))
        return
    if frame.empty:
        return
    from kvnb.present import text_table

    click.echo(text_table(frame))  # as %kvaccess shows it: whole days, blanks, short UTC times, answer first


def note(text: str, output: str) -> None:
    """A sentence for people: on stdout with a table, on stderr beside JSON so the JSON stays parseable."""
    click.echo(text, err=output == "json")


def fail(code: int = EXIT_FAILED) -> None:
    sys.exit(code)

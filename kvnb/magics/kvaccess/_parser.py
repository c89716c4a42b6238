"""`CmdParser`: an argparse parser per ``%kvaccess`` subcommand, failing with `CommandUsageError`.

jupysql's ``cmd/`` modules are the model: each subcommand declares its own arguments, so its usage
line and its checks cannot drift apart. Nothing here prints or exits: a parse error, and ``-h``,
become exceptions that ``kvnb.magics.kvaccess.run`` turns into one ``UsageError`` (or nothing).
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from kvnb.magics._words import unquoted


class CommandUsageError(Exception):
    """The line does not fit the subcommand; ``str()`` says how it should look."""


class HelpShown(Exception):
    """``-h`` was given and its help printed: nothing more to do."""


class CmdParser(argparse.ArgumentParser):
    """A subcommand's parser; *hint* follows every parse error (what people most often got wrong)."""

    def __init__(self, name: str, *, usage: str, description: str, hint: str = ""):
        super().__init__(
            prog=f"%kvaccess {name}".strip(),
            usage=f"%%kvaccess {usage}",
            description=description,
            add_help=True,
            allow_abbrev=False,
        )
        self.hint = hint
        self.add_argument("--vault", metavar="V", help="Vault name, URL, `local` or `local:NAME`.")
        self.add_argument("--persona", metavar="NAME", help="Act as this local identity (local vault only).")

    def parse_words(self, words: list[str]) -> argparse.Namespace:
        """Parse the words after the subcommand; every string argument comes back unquoted."""
        args = self.parse_args(words)
        for name, value in vars(args).items():
            if isinstance(value, str):
                setattr(args, name, unquoted(value))
            elif isinstance(value, list):
                setattr(args, name, [unquoted(v) if isinstance(v, str) else v for v in value])
        return args

    def error(self, message: str) -> NoReturn:
        usage = self.format_usage().strip().removeprefix("usage: ")
        hint = f" {self.hint}" if self.hint else ""
        raise CommandUsageError(f"Usage: {usage} ({message}).{hint}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise HelpShown()


def reason_option(parser: CmdParser, help: str) -> None:
    parser.add_argument("--reason", metavar="TEXT", help=help)


def words(parsed: list[str]) -> str:
    """Several words that name one thing (a role, a group): ``Key Vault Secrets User``."""
    return " ".join(parsed)


def scope_option(parser: CmdParser) -> None:
    parser.add_argument("--scope", metavar="secret/NAME", help="One secret instead of the vault.")


def scoped_secret(scope: str | None) -> str | None:
    """The secret ``--scope secret/NAME`` names; None for the vault (no --scope, or ``vault``)."""
    from kvnb.access.grants import secret_of_scope

    try:
        return secret_of_scope(scope)
    except ValueError as exc:
        raise CommandUsageError(str(exc)) from None

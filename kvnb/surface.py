"""Where kvnb is being used — a notebook or a terminal — so that a message names a command the reader can type.

Messages are built deep in the core (an access denial, a missing vault), far from the magic or the CLI
command that will show them. Rather than thread a parameter through every layer, the surface is a
context variable: the notebook is the default (the magics and plain ``import kvnb`` in a kernel), and
the ``kvnb`` command sets `CLI` for the length of its run. A message builder asks `access_command`
or `vault_setting` for the spelling that fits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

NOTEBOOK, CLI = "notebook", "cli"

_SPECIAL = set("'\"$`\\;&|<>()*?!#")
_surface: ContextVar[str] = ContextVar("kvnb_surface", default=NOTEBOOK)

__all__ = ["CLI", "NOTEBOOK", "Placeholder", "access_command", "current", "enter", "leave", "using", "vault_setting"]


class Placeholder(str):
    """A word the reader replaces (``WHY``): bare in a terminal, in quotes in a notebook where the
    reader's text usually has spaces and ``%kvaccess`` splits on them."""


def current() -> str:
    return _surface.get()


def enter(surface: str) -> Token:
    """Make *surface* current; give the token back to `leave`."""
    if surface not in (NOTEBOOK, CLI):
        raise ValueError(f"surface is {NOTEBOOK!r} or {CLI!r}, not {surface!r}")
    return _surface.set(surface)


def leave(token: Token) -> None:
    _surface.reset(token)


@contextmanager
def using(surface: str) -> Iterator[None]:
    token = enter(surface)
    try:
        yield
    finally:
        leave(token)


def _word(value: str) -> str:
    if isinstance(value, Placeholder):
        return f'"{value}"' if current() == NOTEBOOK else str(value)
    if value and not any(c.isspace() or c in _SPECIAL for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def access_command(subcommand: str = "", *words: str, **options: str) -> str:
    """How to type an access command here: ``%kvaccess request "Key Vault Secrets User" --reason "WHY"``
    in a notebook, ``kvnb access request "Key Vault Secrets User" --reason WHY`` in a terminal.

    An empty *subcommand* is "what do I have": ``%kvaccess`` / ``kvnb access whoami``, and with one
    word (a secret) ``%kvaccess NAME`` / ``kvnb access check NAME``.
    """
    if current() == CLI:
        head = ["kvnb", "access", subcommand or ("check" if words else "whoami")]
    else:
        head = ["%kvaccess"] + ([subcommand] if subcommand else [])
    parts = head + [_word(w) for w in words]
    for option, value in options.items():
        parts += [f"--{option.rstrip('_').replace('_', '-')}", _word(value)]
    return " ".join(parts)


def vault_setting() -> str:
    """How to choose the vault once for the session here."""
    if current() == CLI:
        return "pass --vault VAULT"
    return "set `%config KvMagics.vault = ...`"

"""``kvnb access``: ``%kvaccess`` for people who live in a terminal.

Each module registers its commands on the `access` group; every command is thin over the functions
the magic calls (``kvnb.access``, ``kvnb.governance``). Later commands (``eligible``, ``activate``,
``who``, ``migrate``) go in a module of their own, added to ``_MODULES``.

Exit codes: 0 done, 1 a check failed (``check``: you may not read the value; ``plan``: drift),
2 a refusal or usage error, in one line.
"""

from __future__ import annotations

import click

from . import assignments, governance, requests, whoami

__all__ = ["access"]

_MODULES = (whoami, requests, assignments, governance)


@click.group("access")
def access() -> None:
    """Who you are on a vault, what you may do, and how to get more (the `%kvaccess` magic)."""


for _module in _MODULES:
    _module.register(access)

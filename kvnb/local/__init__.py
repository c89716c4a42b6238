"""The local vault as a client sees it: the one module of `kvnb.local` the rest of kvnb imports.

A client knows the local vault as it knows Azure: vault URLs, a CA to trust, a tenant, a
managed-identity endpoint and the identity header of the persona it acts as. They are read from the
owner-only runtime file the running vault writes (``server.json``, 0600, in the 0700 state directory)
or asked of the vault over its admin API with the token in that file. Nothing here opens the vault's
database or loads its keys; a test pins that, and that nothing outside ``kvnb/local`` (but the
`kvnb local` commands) imports anything else of it.

*home* is the state directory: ``KVNB_HOME`` (``~/.kvnb``) when None.
"""

from __future__ import annotations

import os

from . import control
from .control import AdminError, NotRunning, Runtime, StartFailed
from .state.paths import StateDirError, StatePaths

__all__ = [
    "AdminError",
    "NotRunning",
    "Runtime",
    "StartFailed",
    "StateDirError",
    "admin",
    "connect",
    "default_persona",
    "directory",
    "environment",
    "identity_header",
    "personas",
    "running",
    "start",
    "status",
    "stop",
]

Home = str | os.PathLike | StatePaths | None  # the state directory; KVNB_HOME (~/.kvnb) when None


def _paths(home: Home) -> StatePaths:
    return home if isinstance(home, StatePaths) else StatePaths.resolve(home)


def running(home: Home = None) -> Runtime | None:
    """The running vault (URLs, CA, tenant, token endpoint), or None when it does not run."""
    return control.running(_paths(home))


def connect(home: Home = None, *, start_if_stopped: bool = True) -> Runtime:
    """The running vault, started in the background first if need be (NotRunning when not allowed)."""
    return control.connect(_paths(home), start_if_stopped=start_if_stopped)


def start(home: Home = None, *, port: int | None = None, extra_args: list[str] | None = None) -> tuple[Runtime, bool]:
    """Start the vault in the background unless it runs; (runtime, whether it started now)."""
    return control.start(_paths(home), port=port, extra_args=extra_args)


def stop(home: Home = None) -> bool:
    """Stop the background vault; False when it was not running."""
    return control.stop(_paths(home))


def status(home: Home = None) -> dict:
    """The `kvnb local status --json` document."""
    return control.status(_paths(home))


def environment(persona: str | None = None, *, vault: str | None = None, home: Home = None) -> dict:
    """Variables that make an unmodified SDK program act as *persona* (None values mean unset)."""
    return control.environment(_paths(home), persona, vault=vault)


def default_persona(home: Home = None) -> str:
    """The identity `kvnb local login` chose; `lead` until then."""
    return control.default_persona(_paths(home))


def identity_header(persona: str, home: Home = None) -> str:
    """*persona*'s ``X-IDENTITY-HEADER`` for the token endpoint; LookupError for an unknown one or a group."""
    return control.identity_header(_paths(home), persona)


def directory(home: Home = None):
    """The tenant's principals and group memberships (a `TenantDirectory` snapshot; no identity headers)."""
    from .tenant import TenantDirectory

    return TenantDirectory.from_json(control.directory(_paths(home)))


def personas(home: Home = None) -> list:
    """The tenant's personas (principals with a handle), each with its ``kind`` and ``can_sign_in``."""
    return [p for p in directory(home).list_principals() if p.handle]


def admin(path: str, body: dict | None = None, *, home: Home = None) -> dict:
    """An authenticated admin call (``reset``, ``clock``, ``faults``, ``vaults``); NotRunning if stopped."""
    return control.admin(_paths(home), path, body)

"""Run audits from synchronous code: blocking (`audit_vault`) or in the background (`start_audit`).

Jupyter already runs an event loop in the kernel's thread, so an audit there runs on a loop of its
own in a worker thread; *on_progress* callbacks are then called from that thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING

from .collect import AuditProgress, VaultAudit, collect_vault
from .findings import AuditSettings

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

ProgressCallback = Callable[[AuditProgress], None]


def run_blocking(coroutine):
    """Run *coroutine* to completion from sync code, also inside Jupyter's running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    return start_coroutine(coroutine).result()


def start_coroutine(coroutine) -> Future:
    """Run *coroutine* on a new event loop in a daemon thread; its outcome arrives in the Future."""
    future: Future = Future()

    def runner():
        try:
            future.set_result(asyncio.run(coroutine))
        except BaseException as exc:  # handed to whoever waits on the future
            future.set_exception(exc)

    threading.Thread(target=runner, name="kvnb-audit", daemon=True).start()
    return future


def _target(vault, persona: str | None):
    from ..vault import VaultTarget, open_vault

    if isinstance(vault, VaultTarget):
        return vault, False
    return open_vault(vault, persona=persona), True


def _close(target: VaultTarget) -> None:
    target.close()
    close = getattr(target.credential, "close", None)
    if close is not None:
        close()


async def _collect_and_close(target: VaultTarget, owned: bool, settings, on_progress) -> VaultAudit:
    try:
        return await collect_vault(target, settings=settings, on_progress=on_progress)
    finally:
        if owned:
            _close(target)


def audit_vault(
    vault,
    *,
    persona: str | None = None,
    settings: AuditSettings | None = None,
    on_progress: ProgressCallback | None = None,
) -> VaultAudit:
    """Audit *vault* (a name, URL, ``local`` or an open `VaultTarget`) and return its tables and findings.

    Needs Key Vault Reader at the vault; what else it cannot read becomes a `Limitation`.

    :raises kvnb.errors.AuditAccessError: the vault cannot be audited at all.
    :raises kvnb.errors.VaultReferenceError: *vault* cannot be opened.
    """
    target, owned = _target(vault, persona)
    return run_blocking(_collect_and_close(target, owned, settings, on_progress))


def start_audit(
    vault,
    *,
    persona: str | None = None,
    settings: AuditSettings | None = None,
    on_progress: ProgressCallback | None = None,
) -> Future:
    """Start auditing *vault* in the background; returns a Future of the `VaultAudit`.

    *on_progress* sees each `AuditProgress` (first page of secrets, assignments, reviews, version
    counts as they arrive), from the audit's thread: the panel paints from it. Needs what
    `audit_vault` needs; the Future raises what it raises.

    :raises kvnb.errors.VaultReferenceError: *vault* cannot be opened (at once, not in the Future).
    """
    target, owned = _target(vault, persona)
    return start_coroutine(_collect_and_close(target, owned, settings, on_progress))

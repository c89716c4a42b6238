"""Gather one vault's audit concurrently, at the service's pace, with results as they arrive.

The data plane goes through the SDK's async ``SecretClient``: the listing pages through
``list_properties_of_secrets`` while workers count each secret's versions with
``list_properties_of_secret_versions`` — metadata only; an audit never calls ``get_secret``. Every
request on the wire passes one `RequestPacer` per vault, sized to Key Vault's 4,000 requests per
10 s. Control-plane and directory reads (vault, role assignments, principals, reviews) run in
threads at the same time, so the first page of secrets, the assignments and the reviews are
reported long before the version counts finish.

`iter_vault_audit` yields an `AuditProgress` after each stage; `collect_vault` returns the final
`VaultAudit`; `runner` has the blocking and background forms for the CLI, notebooks and panels.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pandas as pd
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

from kvnb.errors import AuditAccessError

from . import sources, tables
from .checks import evaluate
from .findings import (
    ASSIGNMENTS,
    PRINCIPALS,
    REVIEWS,
    SECRETS,
    SIGN_INS,
    VAULT,
    VERSIONS,
    AuditSettings,
    AuditTables,
    Finding,
    Limitation,
)
from .pacing import PacedTransport, RequestPacer

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

PAGE_SIZE = 25  # the service's maximum page
MAX_PAGES = 100_000  # a bound on the nextLink chain (2.5 million secrets)
VERSION_WORKERS = 48  # enough in flight to fill the pace at ~20-50 ms per request
PROGRESS_EVERY = 0.5  # seconds between version-count progress reports
SIGN_IN_UNAVAILABLE = (
    "Sign-in activity is not read by kvnb (Graph signInActivity needs AuditLog.Read.All "
    "and Entra ID P1); R6 uses no other evidence."
)


@dataclass
class AuditProgress:
    """A snapshot after one stage: ``stage`` is one of STAGES; ``tables`` holds what exists so far."""

    vault: str
    stage: str
    tables: AuditTables
    versions_done: int = 0
    secrets_listed: int = 0
    listing_done: bool = False


# "versions" repeats while counts arrive (every PROGRESS_EVERY s) and once more when all are in.
STAGES = ("secrets_first_page", "vault", "role_assignments", "reviews", "secrets", "versions")


@dataclass
class VaultAudit:
    name: str
    url: str
    tables: AuditTables
    findings: list[Finding]
    limitations: list[Limitation]
    requests: int = 0
    throttled: int = 0
    seconds: float = 0.0
    first_results_seconds: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    now: pd.Timestamp | None = None  # the time the findings were judged at


def _is_listing_page(request) -> bool:
    """A page of the secret listing (``GET /secrets``): each one gates the names after it."""
    return urlsplit(request.url).path.rstrip("/").lower() == "/secrets"


def _pooled_transport(verify):
    """An aiohttp transport that keeps its connections alive.

    Given a CA file, azure-core builds a new SSLContext for every request, and aiohttp pools
    connections per context: each request would open a new TLS connection. One context for the
    whole session keeps them pooled.
    """
    import ssl

    import aiohttp
    from azure.core.pipeline.transport import AioHttpTransport

    if verify in (True, False):
        return AioHttpTransport(connection_verify=verify)
    context = ssl.create_default_context(cafile=verify)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context, limit=VERSION_WORKERS + 8))
    return AioHttpTransport(session=session, session_owner=True, connection_verify=True)


def _paced_transport(target: VaultTarget, pacer: RequestPacer) -> PacedTransport:
    """Every request of the audit's async SecretClient paced (and 429s honoured)."""
    return PacedTransport(_pooled_transport(target.connection_verify), pacer, priority=_is_listing_page)


def _forbidden(exc: HttpResponseError) -> bool:
    return getattr(exc, "status_code", None) in (401, 403)


class _Collector:
    def __init__(self, target: VaultTarget, settings: AuditSettings, pacer: RequestPacer | None, workers: int):
        self.target = target
        self.settings = settings
        self.pacer = pacer or RequestPacer.for_limit()
        self.workers = workers
        self.tables = AuditTables()
        self.properties: list = []
        self.versions: dict[str, tuple[int, object]] = {}
        self.events: asyncio.Queue = asyncio.Queue()
        self.listing_done = False
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}
        self.transport = None

    def now(self):
        """The audit's now: the settings', else the vault's clock (its Date header), else ours."""
        if self.settings.now is not None:
            return self.settings.current_time()
        served = self.transport.service_time() if self.transport is not None else None
        return pd.Timestamp(served) if served is not None else self.settings.current_time()

    def _mark(self, stage: str) -> None:
        self.timings.setdefault(stage, time.perf_counter() - self.started)
        self.events.put_nowait(
            AuditProgress(
                self.target.name,
                stage,
                self.tables.snapshot(),
                len(self.versions),
                len(self.properties),
                self.listing_done,
            )
        )

    def _secrets_table(self) -> None:
        self.tables.secrets = tables.secrets_table(self.properties, versions=self.versions, now=self.now())

    def _vault_from_data_plane(self) -> None:
        """Soft delete and purge protection from the secrets' recoveryLevel, when ARM said no."""
        if VAULT not in self.tables.unavailable or not self.properties:
            return
        first = self.properties[0]
        self.tables.vault = tables.vault_table_from_recovery_level(
            self.target.name,
            self.target.url,
            self.target.resource_id,
            getattr(first, "recovery_level", None),
            getattr(first, "recoverable_days", None),
        )

    # -- data plane --------------------------------------------------------------------------------
    async def data_plane(self) -> None:
        names: asyncio.Queue = asyncio.Queue()
        self.transport = _paced_transport(self.target, self.pacer)
        async with self.target.async_secret_client(transport=self.transport, retry_total=8) as client:
            await self._run_data_plane(client, names)

    async def _run_data_plane(self, client, names: asyncio.Queue) -> None:
        workers = [asyncio.create_task(self._count_versions(client, names)) for _ in range(self.workers)]
        try:
            await self._list(client, names)
        finally:
            self.listing_done = True
            for _ in workers:
                names.put_nowait(None)
            results = await asyncio.gather(*workers, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            if isinstance(errors[0], HttpResponseError) and _forbidden(errors[0]):
                self.tables.unavailable[VERSIONS] = (
                    "Version history: access denied; request Key Vault Reader on the vault."
                )
            else:
                raise errors[0]
        self._secrets_table()
        self._vault_from_data_plane()
        self._mark("versions")

    async def _list(self, client, names: asyncio.Queue) -> None:
        try:
            pages = client.list_properties_of_secrets(max_page_size=PAGE_SIZE).by_page()
            count = 0
            async for page in pages:
                count += 1
                if count > MAX_PAGES:
                    raise HttpResponseError(f"Stopped after {MAX_PAGES} pages: the secret listing did not end.")
                batch = [item async for item in page]
                self.properties += batch
                for item in batch:
                    names.put_nowait(item.name)
                if "secrets_first_page" not in self.timings:
                    self._secrets_table()
                    self._mark("secrets_first_page")
        except HttpResponseError as exc:
            if not _forbidden(exc):
                raise
            reason = (
                "Secret list: access denied; request Key Vault Reader on the vault "
                "(it lists names and properties, never values)."
            )
            self.tables.unavailable[SECRETS] = reason
            self.tables.unavailable[VERSIONS] = reason
            self._mark("secrets_first_page")
            return
        self.listing_done = True
        self._secrets_table()
        self._mark("secrets")

    async def _count_versions(self, client, names: asyncio.Queue) -> None:
        last_report = time.perf_counter()
        while True:
            name = await names.get()
            if name is None:
                return
            count, first = 0, None
            async for version in client.list_properties_of_secret_versions(name, max_page_size=PAGE_SIZE):
                count += 1
                if version.created_on and (first is None or version.created_on < first):
                    first = version.created_on
            self.versions[name] = (count, first)
            if time.perf_counter() - last_report > PROGRESS_EVERY:
                last_report = time.perf_counter()
                self.events.put_nowait(
                    AuditProgress(
                        self.target.name,
                        "versions",
                        self.tables.snapshot(),
                        len(self.versions),
                        len(self.properties),
                        self.listing_done,
                    )
                )

    # -- control plane and directory (threads) -----------------------------------------------------
    async def vault(self) -> None:
        try:
            plane = await asyncio.to_thread(sources.read_vault, self.target)
        except sources.Unavailable as exc:
            self.tables.unavailable[VAULT] = str(exc)
            self._vault_from_data_plane()
        else:
            self.tables.vault = tables.vault_table(
                plane.resource,
                url=self.target.url,
                audit_logging=plane.audit_logging,
                defender_for_key_vault=plane.defender,
            )
            self.tables.unavailable.update(plane.unavailable)
        self._mark("vault")

    async def access(self) -> None:
        """Role assignments, then principals, then reviews: each step needs the one before."""
        self.tables.unavailable[SIGN_INS] = SIGN_IN_UNAVAILABLE
        try:
            found = await asyncio.to_thread(sources.read_assignments, self.target)
        except sources.Unavailable as exc:
            for source in (ASSIGNMENTS, PRINCIPALS, REVIEWS):
                self.tables.unavailable[source] = str(exc)
            self._mark("role_assignments")
            self._mark("reviews")
            return
        groups: dict[str, list[str]] = {}
        for item in found.items:
            if _kind(item) == "Group":
                role = (found.roles.get(tables.role_guid(item.role_definition_id)) or {}).get("role_name")
                names = groups.setdefault(str(item.principal_id).lower(), [])
                if role and role not in names:
                    names.append(role)
        ids = {str(a.principal_id).lower() for a in found.items}
        directory = None
        try:
            directory = await asyncio.to_thread(sources.read_directory, self.target, ids, set(groups))
        except sources.Unavailable as exc:
            self.tables.unavailable[PRINCIPALS] = str(exc)
        self.tables.role_assignments = tables.role_assignments_table(
            found.items,
            vault_resource_id=self.target.resource_id,
            roles=found.roles,
            principals=directory.principals if directory else None,
            members=directory.members if directory else None,
        )
        self._mark("role_assignments")
        await self.reviews(groups)

    async def reviews(self, groups: dict[str, list[str]]) -> None:
        from .reviews import read_reviews

        try:
            rows = await asyncio.to_thread(read_reviews, self.target, groups, self.settings)
        except sources.Unavailable as exc:
            self.tables.unavailable[REVIEWS] = str(exc)
        else:
            self.tables.reviews = tables.reviews_table(rows, now=self.now())
        self._mark("reviews")


def _kind(assignment) -> str:
    kind = assignment.principal_type
    return getattr(kind, "value", kind) or ""


async def iter_vault_audit(
    target: VaultTarget,
    *,
    settings: AuditSettings | None = None,
    pacer: RequestPacer | None = None,
    workers: int = VERSION_WORKERS,
) -> AsyncIterator[AuditProgress | VaultAudit]:
    """Yield `AuditProgress` snapshots as stages complete, and finally the `VaultAudit`."""
    collector = _Collector(target, settings or AuditSettings(), pacer, workers)
    jobs = [asyncio.create_task(job()) for job in (collector.data_plane, collector.vault, collector.access)]
    done_jobs = asyncio.gather(*jobs)
    try:
        while not done_jobs.done() or not collector.events.empty():
            getter = asyncio.ensure_future(collector.events.get())
            await asyncio.wait({getter, done_jobs}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                yield getter.result()
            else:
                getter.cancel()
        await done_jobs  # re-raises the first failure
    except (ClientAuthenticationError, ServiceRequestError) as exc:
        raise AuditAccessError(f"Cannot audit {target.name}: {_short(exc)}") from None
    finally:
        for job in jobs:
            job.cancel()
    settings = replace(collector.settings, now=collector.now().to_pydatetime())
    findings, limitations = evaluate(collector.tables, settings)
    seconds = time.perf_counter() - collector.started
    yield VaultAudit(
        target.name,
        target.url,
        collector.tables,
        findings,
        limitations,
        requests=collector.pacer.stats.granted,
        throttled=collector.pacer.stats.throttled,
        seconds=seconds,
        first_results_seconds=collector.timings.get("secrets_first_page"),
        timings=collector.timings,
        now=settings.current_time(),
    )


def _short(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return text.splitlines()[0] if text else exc.__class__.__name__


async def collect_vault(
    target: VaultTarget,
    *,
    settings: AuditSettings | None = None,
    on_progress: Callable[[AuditProgress], None] | None = None,
    pacer: RequestPacer | None = None,
) -> VaultAudit:
    """Audit one vault; *on_progress* sees every intermediate snapshot (for panels and progress bars)."""
    result = None
    async for event in iter_vault_audit(target, settings=settings, pacer=pacer):
        if isinstance(event, VaultAudit):
            result = event
        elif on_progress is not None:
            on_progress(event)
    return result

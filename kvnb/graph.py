"""A small Microsoft Graph client on azure-core's pipeline (no msgraph-sdk: ~390 MB for a dozen calls).

The pipeline is the one every Azure SDK client uses: a bearer-token policy for the Graph scope,
retries (429 and 5xx, honouring ``Retry-After``), a ``client-request-id`` per request, and
collections paged by following ``@odata.nextLink`` (absolute URLs, followed only on the same
origin so the token never goes elsewhere). Failures raise azure-core's exceptions:

    HttpResponseError                  any other 4xx/5xx, Graph's ``error.code`` in ``.error.code``
    ├── ClientAuthenticationError      401 InvalidAuthenticationToken
    ├── ResourceNotFoundError          404
    ├── ResourceExistsError            409 (e.g. an approval already decided)
    └── GraphPermissionError           403 Authorization_RequestDenied (a missing Graph permission)

`permission_error` turns a `GraphPermissionError` into kvnb's `MissingGraphPermissionError`, naming
the permission each table or action needs (`REQUIREMENTS`) and how to get it.
"""

from __future__ import annotations

import email.utils
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from azure.core import PipelineClient
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ODataV4Format,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.core.paging import ItemPaged
from azure.core.pipeline.policies import (
    BearerTokenCredentialPolicy,
    HeadersPolicy,
    RetryPolicy,
    SansIOHTTPPolicy,
    UserAgentPolicy,
)
from azure.core.rest import HttpRequest

from ._version import __version__
from .errors import MissingGraphPermissionError

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
API_VERSION = "v1.0"
MAX_PAGES = 10_000  # a bound on any one listing: 10,000 pages of up to 999 items


class GraphPermissionError(HttpResponseError):
    """Graph answered 403: the caller lacks a Graph permission or directory role for this call."""


_ERRORS = {
    401: ClientAuthenticationError,
    403: GraphPermissionError,
    404: ResourceNotFoundError,
    409: ResourceExistsError,
}


class _ClientRequestId(SansIOHTTPPolicy):
    """Graph's correlation header; support asks for it, and it comes back in error bodies."""

    def on_request(self, request) -> None:
        request.http_request.headers.setdefault("client-request-id", str(uuid.uuid4()))


class _ServiceClock(SansIOHTTPPolicy):
    """Remembers the service's ``Date`` header, so dates are judged by the service's clock."""

    def __init__(self) -> None:
        self.date: datetime | None = None
        self.received = 0.0

    def on_response(self, request, response) -> None:
        header = response.http_response.headers.get("Date")
        if not header:
            return
        try:
            self.date = email.utils.parsedate_to_datetime(header).astimezone(timezone.utc)
            self.received = time.monotonic()
        except (TypeError, ValueError):
            pass


class GraphClient:
    """Microsoft Graph v1.0 at *endpoint* (``https://graph.microsoft.com`` or a local vault's URL)."""

    def __init__(
        self,
        endpoint: str,
        credential,
        *,
        scope: str = GRAPH_SCOPE,
        connection_verify: str | bool = True,
        retry_total: int = 3,
        **kwargs: Any,
    ):
        self.endpoint = endpoint.rstrip("/")
        self._origin = urlsplit(self.endpoint)[:2]
        self._clock = _ServiceClock()
        policies = [
            HeadersPolicy({"Accept": "application/json"}),
            UserAgentPolicy(sdk_moniker=f"kvnb/{__version__}"),
            _ClientRequestId(),
            RetryPolicy(retry_total=retry_total),
            BearerTokenCredentialPolicy(credential, scope),
            self._clock,
        ]
        self._client = PipelineClient(
            base_url=self.endpoint, policies=policies, connection_verify=connection_verify, **kwargs
        )

    @classmethod
    def from_target(cls, target: VaultTarget, **kwargs: Any) -> GraphClient:
        """The Graph client for a resolved vault (`kvnb.vault.open_vault`)."""
        return cls(
            target.graph_url,
            target.credential,
            scope=target.graph_scope,
            connection_verify=target.connection_verify,
            **kwargs,
        )

    # -- requests ---------------------------------------------------------------------------------------
    def _url(self, path: str, params: dict | None = None) -> str:
        url = f"{self.endpoint}/{API_VERSION}/{path.lstrip('/')}"
        if params:
            query = urlencode({k: v for k, v in params.items() if v is not None}, quote_via=quote, safe="$'(),:/")
            url += ("&" if "?" in url else "?") + query
        return url

    def _send(self, method: str, url: str, body: Any = None):
        request = HttpRequest(method, url, json=body) if body is not None else HttpRequest(method, url)
        response = self._client.send_request(request)
        if response.status_code >= 400:
            error = _ERRORS.get(response.status_code, HttpResponseError)
            raise error(response=response, error_format=ODataV4Format)
        return response

    def get(self, path: str, *, params: dict | None = None) -> dict:
        return self._send("GET", self._url(path, params)).json()

    def post(self, path: str, body: dict | None = None) -> dict | None:
        response = self._send("POST", self._url(path), body if body is not None else {})
        return response.json() if response.status_code != 204 and response.text() else None

    def patch(self, path: str, body: dict) -> dict | None:
        response = self._send("PATCH", self._url(path), body)
        return response.json() if response.status_code != 204 and response.text() else None

    def list(
        self, path: str, *, params: dict | None = None, top: int | None = None, max_pages: int = MAX_PAGES
    ) -> ItemPaged:
        """Every item of a collection, fetched page by page (``.by_page()`` gives the pages)."""
        first = self._url(path, {**(params or {}), **({"$top": top} if top else {})})
        pages = 0

        def get_next(next_link: str | None):
            nonlocal pages
            pages += 1
            if pages > max_pages:
                raise HttpResponseError(f"Stopped after {max_pages} pages of {path}: the listing did not end.")
            url = next_link or first
            if urlsplit(url)[:2] != self._origin:
                raise HttpResponseError(f"Refusing to follow @odata.nextLink to another origin: {urlsplit(url).netloc}")
            return self._send("GET", url).json()

        def extract(document: dict):
            return document.get("@odata.nextLink"), iter(document.get("value", []))

        return ItemPaged(get_next, extract)

    # -- the service's clock ------------------------------------------------------------------------------
    def service_time(self) -> datetime:
        """Now, by the service's ``Date`` header of the last response (the wall clock before any)."""
        if self._clock.date is None:
            return datetime.now(timezone.utc)
        return self._clock.date + timedelta(seconds=time.monotonic() - self._clock.received)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextmanager
def graph_for(target: VaultTarget, graph: GraphClient | None = None) -> Iterator[GraphClient]:
    """*graph* if given, else a client for *target* that is closed afterwards."""
    if graph is not None:
        yield graph
        return
    cached = getattr(target, "graph_client", None)
    if isinstance(cached, GraphClient):
        yield cached
        return
    client = GraphClient.from_target(target)
    try:
        yield client
    finally:
        client.close()


# What each table or action needs from Graph, and the sentence that tells the user how to get it.
REQUIREMENTS: dict[str, tuple[str, str]] = {
    "principals": (
        "Directory.Read.All",
        "Ask an Entra administrator to grant Directory.Read.All (or User.Read.All and GroupMember.Read.All).",
    ),
    "reviews": (
        "AccessReview.Read.All",
        "Ask an Entra administrator for AccessReview.Read.All and the Global Reader, Security Reader or "
        "Identity Governance Administrator role, or to make you a reviewer of the group's review.",
    ),
    "review_decisions": (
        "AccessReview.ReadWrite.All",
        "Only the review's reviewers can record decisions; applying them needs a reviewer or "
        "an Identity Governance Administrator.",
    ),
    "access_packages": (
        "EntitlementManagement.Read.All",
        "Ask an Entra administrator for EntitlementManagement.Read.All or a catalog reader role.",
    ),
    "access_requests": (
        "EntitlementManagement.ReadWrite.All",
        "Only an approver named in the access package's policy can approve or deny its requests.",
    ),
}


def permission_error(exc: GraphPermissionError, table: str) -> MissingGraphPermissionError:
    """Graph's 403 as a short message naming what is missing."""
    permission, fix = REQUIREMENTS[table]
    detail = getattr(getattr(exc, "error", None), "message", None) or "Graph refused the request (403)."
    return MissingGraphPermissionError(
        f"{detail} Needs {permission}. {fix}", table=table, permission=permission, fix=fix, reason=_sentence(detail)
    )


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith(".") else text + "."

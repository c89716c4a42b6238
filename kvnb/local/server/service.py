"""The running local vault's shared state: storage, token issuer, ports, fault settings.

Every route reaches it as ``request.app.state.service``. Which vault a request is for is decided by
the port it arrived on (vault URLs are scheme://host:port, so each vault has its own port).
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass, field

from starlette.requests import Request

from ..identity.issuer import Caller, InvalidToken, TokenIssuer
from ..identity.rbac import Authorizer
from ..state.paths import StatePaths
from ..state.store import Store

# Audiences each surface accepts, besides its own base URL (the Azure CLI asks for a Graph token
# for whatever `--endpoint-microsoft-graph-resource-id` says, so the local URL is accepted too).
KEYVAULT_AUDIENCES = frozenset({"https://vault.azure.net", "https://vault.azure.net/"})
ARM_AUDIENCES = frozenset(
    {
        "https://management.azure.com",
        "https://management.azure.com/",
        "https://management.core.windows.net",
        "https://management.core.windows.net/",
    }
)
GRAPH_AUDIENCES = frozenset(
    {
        "https://graph.microsoft.com",
        "https://graph.microsoft.com/",
        "00000003-0000-0000-c000-000000000000",
    }
)


@dataclass
class Faults:
    """Injected latency and throttling (`kvnb local faults`)."""

    latency_ms: int = 0
    throttle: bool = False
    limit_all: int = 4000  # requests per 10 s per vault (Key Vault's service limit)
    limit_create: int = 300  # secret creates per 10 s per vault
    window_seconds: float = 10.0


@dataclass
class LocalVaultService:
    paths: StatePaths
    store: Store
    issuer: TokenIssuer
    faults: Faults = field(default_factory=Faults)
    # "ip-parent" advertises resource=https://0.0.1:PORT, which unmodified SDK clients accept for
    # a 127.0.0.1 vault (see facts G); the default is the real service's resource.
    challenge_mode: str = "azure"
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    ports: dict[int, str] = field(default_factory=dict)  # bound port -> vault name
    authorizer: Authorizer | None = None

    def __post_init__(self) -> None:
        if self.authorizer is None:
            self.authorizer = Authorizer(self.store)

    @classmethod
    def open(cls, paths: StatePaths, **kwargs) -> LocalVaultService:
        store = Store(paths)
        return cls(paths=paths, store=store, issuer=TokenIssuer(paths, store.tenant_id), **kwargs)

    # -- where a request is going ------------------------------------------------------------------
    @property
    def first_port(self) -> int:
        return next(iter(self.ports))

    def vault_name(self, request: Request) -> str | None:
        port = request.scope.get("server", (None, None))[1]
        return self.ports.get(port)

    def vault_row(self, name: str) -> sqlite3.Row | None:
        return self.store.db.execute("SELECT * FROM vaults WHERE name = ?", (name,)).fetchone()

    @staticmethod
    def base_url(request: Request) -> str:
        """scheme://host:port that ids, links and audiences start with: the vault URL as the client
        called it when the Host header names this vault's own address (127.0.0.1 or localhost on the
        port the request came in on), the vault's own URL otherwise, so that a forged Host never
        reaches an id, a nextLink or an accepted audience."""
        port = request.scope["server"][1]
        host = (request.headers.get("host") or "").strip().lower()
        own = f"127.0.0.1:{port}"
        return f"https://{host if host in (own, f'localhost:{port}') else own}"

    def resource_id(self, vault: str) -> str:
        row = self.vault_row(vault)
        return (
            f"/subscriptions/{self.store.subscription_id}/resourceGroups/{row['resource_group']}"
            f"/providers/Microsoft.KeyVault/vaults/{row['name']}"
        )

    # -- who is calling --------------------------------------------------------------------------
    def keyvault_resource(self, request: Request) -> str:
        if self.challenge_mode == "ip-parent":
            port = request.scope["server"][1]
            return f"https://0.0.1:{port}"
        return "https://vault.azure.net"

    def audiences_for(self, surface: str, request: Request) -> frozenset[str]:
        base = self.base_url(request)
        own = {base, base + "/"}
        if surface == "keyvault":
            return KEYVAULT_AUDIENCES | {self.keyvault_resource(request)}
        if surface == "arm":
            return ARM_AUDIENCES | own
        if surface == "graph":
            return GRAPH_AUDIENCES | own
        raise ValueError(surface)

    def authenticate(self, request: Request, surface: str) -> Caller:
        """The verified caller of *request*, or InvalidToken (the surface answers 401)."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken("missing")
        return self.issuer.verify(token.strip(), self.audiences_for(surface, request))

    def principal(self, object_id: str) -> sqlite3.Row | None:
        return self.store.db.execute("SELECT * FROM principals WHERE id = ?", (object_id,)).fetchone()

    def principal_for_identity_header(self, value: str) -> sqlite3.Row | None:
        if not value:
            return None
        return self.store.db.execute("SELECT * FROM principals WHERE identity_header = ?", (value,)).fetchone()

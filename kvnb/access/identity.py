"""Who am I: read from the access token's own claims, never from Graph's ``/me``.

Managed identities and service principals cannot call ``/me``, but every token says whose it is
(``oid``, ``tid``, ``upn`` or ``appid``). The token's signature is not checked here: the caller got
it from its own credential, and nothing is decided from it that the services do not decide again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kvnb.errors import NotSignedInError
from kvnb.tokens import unverified_claims

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget


@dataclass(frozen=True)
class Identity:
    object_id: str
    tenant_id: str
    kind: str  # User | ServicePrincipal, as ARM's principalType names them
    user_principal_name: str | None = None
    app_id: str | None = None
    display_name: str | None = None
    persona: str | None = None  # the local vault's persona handle, when known

    @property
    def name(self) -> str:
        """The most readable name the token carries."""
        return self.user_principal_name or self.display_name or self.app_id or self.object_id


def identity_from_token(token: str, *, persona: str | None = None) -> Identity:
    """The identity an access token (a JWT) stands for."""
    try:
        claims = unverified_claims(token)
    except ValueError:
        raise NotSignedInError("The credential returned a token that is not a JWT; cannot tell who you are.") from None
    if not claims.get("oid") or not claims.get("tid"):
        raise NotSignedInError("The access token carries no object id (oid) or tenant (tid); sign in again.")
    upn = claims.get("upn") or claims.get("preferred_username") or claims.get("unique_name")
    is_user = claims.get("idtyp") == "user" or (claims.get("idtyp") is None and bool(claims.get("upn")))
    return Identity(
        object_id=claims["oid"],
        tenant_id=claims["tid"],
        kind="User" if is_user else "ServicePrincipal",
        user_principal_name=upn if is_user else None,
        app_id=claims.get("appid") or claims.get("azp"),
        display_name=claims.get("name"),
        persona=persona,
    )


def whoami(target: VaultTarget) -> Identity:
    """Who *target*'s credential signs in as (uses the ARM token, which governance calls need anyway).

    Needs only a token for ARM.

    :raises kvnb.errors.NotSignedInError: no credential gave a token, or not a JWT.
    """
    try:
        token = target.credential.get_token(target.arm_scope)
    except Exception as exc:  # azure-identity raises several types; all mean "no token"
        raise NotSignedInError(
            f"Could not get a token for {target.name}: {exc.__class__.__name__}. "
            "Run `az login` (Azure) or `kvnb local start` (local vault)."
        ) from None
    return identity_from_token(token.token, persona=getattr(target, "persona", None))

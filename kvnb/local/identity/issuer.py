"""Tokens for the local tenant: issued by the managed-identity endpoint, checked by every surface.

Tokens are RS256 JWTs shaped like Entra ID v1 access tokens (``iss`` https://sts.windows.net/{tid}/,
``tid``, ``oid``, ``aud``, ``iat``/``nbf``/``exp``, ``upn`` for users, ``appid`` for service
principals). Expiry is checked against the wall clock, never the vault clock.

A caller picks the identity a token stands for by the ``X-IDENTITY-HEADER`` it presents: each
local identity that can sign in has its own header value (App Service's protocol gives every app
one secret; here every persona has one), so one machine can act as several identities at once.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..state.paths import StatePaths, write_private

TOKEN_LIFETIME = 3600
# The Azure CLI's well-known client id: user tokens on Azure carry it as ``appid``.
AZURE_CLI_APP_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


class InvalidToken(Exception):
    """The bearer token is missing, expired, for another audience, or not ours."""


@dataclass(frozen=True)
class Caller:
    """Who a verified token stands for."""

    oid: str
    tid: str
    appid: str
    upn: str | None
    audience: str
    claims: dict

    @property
    def issuer(self) -> str:
        return f"https://sts.windows.net/{self.tid}/"


class TokenIssuer:
    """Mints and verifies the local tenant's tokens with one RSA key kept in the state directory."""

    def __init__(self, paths: StatePaths, tenant_id: str):
        self.tenant_id = tenant_id
        self._key = self._load_or_create(paths)
        public_der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = base64.urlsafe_b64encode(hashlib.sha1(public_der).digest()).rstrip(b"=").decode()
        self._public = self._key.public_key()
        self._verified: OrderedDict[tuple[str, frozenset], Caller] = OrderedDict()

    @staticmethod
    def _load_or_create(paths: StatePaths) -> rsa.RSAPrivateKey:
        if paths.signing_key.exists():
            return serialization.load_pem_private_key(paths.signing_key.read_bytes(), None)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        write_private(
            paths.signing_key,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        return key

    def issue(self, principal, resource: str, *, lifetime: int = TOKEN_LIFETIME) -> tuple[str, int]:
        """A token for *principal* (a row of `principals`) and *resource*; returns (token, expires_on)."""
        now = int(time.time())
        claims = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "tid": self.tenant_id,
            "oid": principal["id"],
            "sub": principal["id"],
            "ver": "1.0",
        }
        if principal["kind"] == "User":
            claims.update(
                upn=principal["upn"],
                unique_name=principal["upn"],
                name=principal["display_name"],
                appid=AZURE_CLI_APP_ID,
                idtyp="user",
            )
        else:
            claims.update(appid=principal["app_id"], idtyp="app")
        token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})
        return token, claims["exp"]

    def verify(self, token: str, audiences: frozenset[str]) -> Caller:
        """Check signature, expiry (wall clock), issuer and audience; raise InvalidToken otherwise."""
        cache_key = (token, audiences)
        cached = self._verified.get(cache_key)
        if cached is not None:
            if cached.claims["exp"] > time.time():
                return cached
            self._verified.pop(cache_key, None)
        try:
            header = jwt.get_unverified_header(token)
            if header.get("kid") != self.kid:
                raise InvalidToken("The token was signed by an unknown key.")
            claims = jwt.decode(
                token,
                self._public,
                algorithms=["RS256"],
                audience=list(audiences),
                issuer=f"https://sts.windows.net/{self.tenant_id}/",
                options={"require": ["exp", "iat", "aud", "oid", "tid"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        caller = Caller(
            oid=claims["oid"],
            tid=claims["tid"],
            appid=claims.get("appid", ""),
            upn=claims.get("upn"),
            audience=claims["aud"],
            claims=claims,
        )
        self._verified[cache_key] = caller
        if len(self._verified) > 4096:
            self._verified.popitem(last=False)
        return caller

"""Every surface refuses tokens that are missing, expired, for another audience, or not ours."""

from __future__ import annotations

import base64
import json
import ssl
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@pytest.fixture
def forge(local_vault):
    """Build tokens for `lead` with chosen claims, signed by the vault's key unless told otherwise."""
    key = serialization.load_pem_private_key(local_vault.paths.signing_key.read_bytes(), None)
    issuer = local_vault.service.issuer
    lead = local_vault.store.db.execute("SELECT * FROM principals WHERE handle = 'lead'").fetchone()

    def make(*, key=key, kid=issuer.kid, algorithm="RS256", **overrides) -> str:
        now = int(time.time())
        claims = {
            "aud": "https://vault.azure.net",
            "iss": f"https://sts.windows.net/{issuer.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "tid": issuer.tenant_id,
            "oid": lead["id"],
            "upn": lead["upn"],
            "appid": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        }
        claims.update(overrides)
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})

    return make


def _get(local_vault, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    with httpx.Client(verify=ssl.create_default_context(cafile=local_vault.ca)) as client:
        return client.get(f"{local_vault.url}/secrets?api-version=2026-04-01", headers=headers)


def _assert_challenged(response: httpx.Response) -> None:
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer authorization=")
    assert 'resource="https://vault.azure.net"' in challenge
    assert response.json()["error"]["code"] == "Unauthorized"


def test_a_good_token_is_accepted(local_vault, forge):
    assert _get(local_vault, forge()).status_code == 200


def test_missing_token_gets_the_challenge(local_vault):
    response = _get(local_vault, None)
    _assert_challenged(response)
    assert "AKV10000" in response.json()["error"]["message"]


def _unsigned(payload: dict) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{enc({'alg': 'none', 'typ': 'JWT'})}.{enc(payload)}."


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["oid"] = "00000000-0000-0000-0000-000000000001"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "not_yet_valid",
        "wrong_audience",
        "wrong_issuer",
        "wrong_signature",
        "alg_none",
        "tampered_payload",
        "unknown_key",
        "garbage",
        "hs256_with_public_key",
    ],
)
def test_bad_tokens_are_refused_with_the_challenge(local_vault, forge, case):
    now = int(time.time())
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = {
        "expired": lambda: forge(iat=now - 7200, nbf=now - 7200, exp=now - 60),
        "not_yet_valid": lambda: forge(nbf=now + 3600, exp=now + 7200),
        "wrong_audience": lambda: forge(aud="https://management.azure.com"),
        "wrong_issuer": lambda: forge(iss="https://sts.windows.net/another-tenant/"),
        "wrong_signature": lambda: forge(key=other_key),
        "alg_none": lambda: _unsigned(
            {"aud": "https://vault.azure.net", "oid": "x", "tid": "y", "exp": now + 600, "iat": now}
        ),
        "tampered_payload": lambda: _tampered(forge()),
        "unknown_key": lambda: forge(key=other_key, kid="some-other-key"),
        "garbage": lambda: "not.a.jwt",
        "hs256_with_public_key": lambda: jwt.encode(
            {"aud": "https://vault.azure.net", "exp": now + 600},
            "secret-key-material-for-hmac-test",
            algorithm="HS256",
            headers={"kid": local_vault.service.issuer.kid},
        ),
    }[case]()
    _assert_challenged(_get(local_vault, token))


def test_vault_clock_advance_does_not_expire_cached_tokens(local_vault):
    client = local_vault.secret_client("lead")
    list(client.list_properties_of_secrets())
    local_vault.admin("clock", {"advance_seconds": 30 * 86400})
    assert list(client.list_properties_of_secrets())  # the same cached token still works

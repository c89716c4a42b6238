"""The secrets data plane on the wire (httpx): exact shapes, status codes, headers, paging, bad input.

One vault serves the whole module; each test uses its own secret names. No response is ever a 5xx,
and no secret value is ever printed: comparisons of values go through `assert_same_value`.
"""

from __future__ import annotations

import base64
import gc
import json
import re
import secrets
import ssl
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from conftest import _start
from kvnb.local.identity.rbac import forbidden_by_rbac_message
from kvnb.local.state import secrets as secretstore
from kvnb.local.state.directory import Directory
from valuecheck import assert_not_leaked, assert_same_value

API = "2026-04-01"
VERSION = re.compile(r"[0-9a-f]{32}")
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NOT_FOUND = (
    "A secret with (name/id) {} was not found in this key vault. If you recently deleted this secret "
    "you may be able to recover it using the correct recovery command. For help resolving this issue, "
    "please see https://go.microsoft.com/fwlink/?linkid=2125182"
)


class Wire:
    def __init__(self, vault):
        self.vault = vault
        self.url = vault.url
        self.context = ssl.create_default_context(cafile=vault.ca)
        self.token = vault.credential().get_token("https://vault.azure.net/.default").token
        self.http = httpx.Client(base_url=self.url, verify=self.context, timeout=30)

    def call(
        self,
        method: str,
        path: str,
        *,
        api: str | None = API,
        token: str | None = "lead",
        params: dict | None = None,
        **kwargs,
    ) -> httpx.Response:
        params = dict(params or {})
        if api is not None:
            params["api-version"] = api
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {self.token if token == 'lead' else token}"
        response = self.http.request(method, path, params=params, headers=headers, **kwargs)
        assert response.status_code < 500, response.text  # error bodies never carry values
        return response

    def set(self, name: str, value: str | None = None, **body) -> dict:
        body["value"] = value if value is not None else secrets.token_urlsafe(16)
        response = self.call("PUT", f"/secrets/{name}", json=body)
        assert response.status_code == 200, response.json()["error"]
        return response.json()


@pytest.fixture(scope="module")
def wire(tmp_path_factory, key_material):
    vault = _start(tmp_path_factory.mktemp("wire"), key_material)
    vault.admin("reset", {"empty": True})
    client = Wire(vault)
    yield client
    client.http.close()
    vault.close_clients()
    gc.collect()
    vault.server.stop()


def error_of(response: httpx.Response) -> dict:
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return response.json()["error"]


# -- authentication --------------------------------------------------------------------------------
def test_no_token_gets_the_challenge_before_the_body_is_read(wire):
    tenant = wire.vault.store.tenant_id
    # The SDK's first request: no token, no body, yet a content type; and a malformed body too.
    for body in (b"", b"{not json"):
        response = wire.call(
            "PUT", "/secrets/first-request", token=None, content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == (
            f'Bearer authorization="https://login.microsoftonline.com/{tenant}", resource="https://vault.azure.net"'
        )
        assert response.json() == {
            "error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}
        }
    assert wire.call("GET", "/secrets", token=None, api="1999-01-01").status_code == 401


def test_bad_tokens_get_401_with_the_challenge(wire):
    arm_token = wire.vault.credential().get_token("https://management.azure.com/.default").token
    wrong_audience = wire.call("GET", "/secrets", token=arm_token)
    assert wrong_audience.status_code == 401 and "www-authenticate" in wrong_audience.headers
    assert error_of(wrong_audience)["message"] == (
        "AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://management.azure.com."
    )

    lead = wire.vault.store.db.execute("SELECT * FROM principals WHERE handle = 'lead'").fetchone()
    expired, _ = wire.vault.service.issuer.issue(lead, "https://vault.azure.net", lifetime=-120)
    for token in (expired, "not-a-jwt", wire.token[:-8] + "AAAAAAAA"):
        response = wire.call("GET", "/secrets", token=token)
        assert response.status_code == 401
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith('Bearer authorization="https://login.microsoftonline.com/')
        assert error_of(response)["code"] == "Unauthorized"


# -- shapes ------------------------------------------------------------------------------------------
def test_set_response_and_headers(wire):
    response = wire.call(
        "PUT",
        "/secrets/shape-set",
        json={
            "value": "v",
            "contentType": "text/plain",
            "tags": {"env": "dev"},
            "attributes": {"enabled": True, "nbf": 1893456000, "exp": 1924992000},
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["value", "id", "contentType", "attributes", "tags"]
    version = body["id"].rsplit("/", 1)[1]
    assert body["id"] == f"{wire.url}/secrets/shape-set/{version}" and VERSION.fullmatch(version)
    attributes = body["attributes"]
    assert list(attributes) == ["enabled", "nbf", "exp", "created", "updated", "recoverableDays", "recoveryLevel"]
    assert (attributes["nbf"], attributes["exp"], attributes["recoverableDays"], attributes["recoveryLevel"]) == (
        1893456000,
        1924992000,
        90,
        "Recoverable+Purgeable",
    )
    assert attributes["created"] == attributes["updated"]
    assert abs(attributes["created"] - wire.vault.store.now()) <= 5
    headers = response.headers
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["x-ms-keyvault-region"] == "westeurope"
    assert GUID.fullmatch(headers["x-ms-request-id"])
    assert headers["x-ms-keyvault-service-version"] and headers["x-ms-keyvault-network-info"].startswith("conn_type=")
    assignment = headers["x-ms-keyvault-rbac-assignment-id"]
    assert wire.vault.store.db.execute("SELECT 1 FROM role_assignments WHERE name = ?", (assignment,)).fetchone()


def test_get_latest_and_version_forms_and_patch_forms(wire):
    value = secrets.token_urlsafe(16)
    first = wire.set("forms", value)
    second = wire.set("forms")
    version = first["id"].rsplit("/", 1)[1]
    for path in ("/secrets/forms/", "/secrets/forms", "/secrets/FORMS/"):
        response = wire.call("GET", path)
        assert response.status_code == 200 and response.json()["id"] == second["id"]
    by_version = wire.call("GET", f"/secrets/forms/{version.upper()}").json()
    assert by_version["id"] == first["id"]
    assert_same_value(by_version["value"], value)

    latest = wire.call("PATCH", "/secrets/forms/", json={"tags": {"a": "b"}})
    assert latest.status_code == 200 and latest.json()["id"] == second["id"]
    assert "value" not in latest.json() and latest.json()["tags"] == {"a": "b"}
    older = wire.call("PATCH", f"/secrets/forms/{version}", json={"contentType": "x"})
    assert older.json()["id"] == first["id"] and older.json()["contentType"] == "x"
    missing = wire.call("GET", "/secrets/forms/00000000000000000000000000000000")
    assert missing.status_code == 404
    assert error_of(missing) == {
        "code": "SecretNotFound",
        "message": NOT_FOUND.format("forms/00000000000000000000000000000000"),
    }
    assert error_of(wire.call("GET", "/secrets/never-set/"))["message"] == NOT_FOUND.format("never-set")
    assert wire.call("GET", "/secrets/forms/", params={"outContentType": "application/x-pem-file"}).status_code == 200
    assert wire.call("GET", "/secrets/forms/", params={"outContentType": "text/html"}).status_code == 400


def test_paging_follows_absolute_next_links(wire):
    names = {f"paging-{i:02d}" for i in range(7)}
    for name in names:
        wire.set(name)
    seen, path, params, pages = [], "/secrets", {"maxresults": "3"}, 0
    while path and pages < 20:
        body = wire.call("GET", path, params=params, api=API if pages == 0 else "7.4").json()
        assert set(body) <= {"value", "nextLink"}
        assert len(body["value"]) <= 3
        seen += [item["id"].rsplit("/", 1)[1] for item in body["value"]]
        assert all(set(item) <= {"id", "attributes", "tags", "contentType"} for item in body["value"])
        link, pages = body.get("nextLink"), pages + 1
        if link is None:
            break
        assert len(body["value"]) == 3
        parts = urlsplit(link)
        assert f"{parts.scheme}://{parts.netloc}" == wire.url and parts.path == "/secrets"
        query = parse_qs(parts.query)
        assert query["maxresults"] == ["3"] and query["api-version"] == [API if pages == 1 else "7.4"]
        token = query["$skiptoken"][0]
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
        path, params = parts.path, {"$skiptoken": token, "maxresults": "3"}  # the SDK swaps api-version
    assert len(seen) == len(set(seen)) and names <= set(seen)
    everything = wire.call("GET", "/secrets").json()
    assert "nextLink" not in everything and {i["id"].rsplit("/", 1)[1] for i in everything["value"]} == set(seen)


def test_versions_listing_pages_and_unknown_name_is_empty(wire):
    ids = [wire.set("versioned")["id"] for _ in range(4)]
    first = wire.call("GET", "/secrets/versioned/versions", params={"maxresults": 3}).json()
    assert [item["id"] for item in first["value"]] == ids[:3]
    assert urlsplit(first["nextLink"]).path == "/secrets/versioned/versions"
    query = parse_qs(urlsplit(first["nextLink"]).query)
    rest = wire.call(
        "GET", "/secrets/versioned/versions", params={"$skiptoken": query["$skiptoken"][0], "maxresults": 3}
    ).json()
    assert rest == {"value": rest["value"]} and [item["id"] for item in rest["value"]] == ids[3:]
    unknown = wire.call("GET", "/secrets/nothing-here/versions")
    assert unknown.status_code == 200 and unknown.json() == {"value": []}


def test_delete_deleted_shapes_purge_and_after(wire):
    wire.set("wire-deleted", tags={"k": "v"})
    deleted = wire.call("DELETE", "/secrets/wire-deleted")
    assert deleted.status_code == 200
    body = deleted.json()
    assert list(body)[:4] == ["recoveryId", "deletedDate", "scheduledPurgeDate", "id"] and "value" not in body
    assert body["recoveryId"] == f"{wire.url}/deletedsecrets/wire-deleted"
    assert body["scheduledPurgeDate"] - body["deletedDate"] == 90 * 86400
    assert wire.call("GET", "/deletedsecrets/wire-deleted").json() == body
    listed = [
        i for i in wire.call("GET", "/deletedsecrets").json()["value"] if i["recoveryId"].endswith("/wire-deleted")
    ]
    assert listed[0]["id"] == f"{wire.url}/secrets/wire-deleted" and listed[0]["deletedDate"] == body["deletedDate"]

    conflict = wire.call("PUT", "/secrets/wire-deleted", json={"value": "x"})
    assert conflict.status_code == 409
    assert error_of(conflict) == {
        "code": "Conflict",
        "innererror": {"code": "ObjectIsDeletedButRecoverable"},
        "message": "Secret wire-deleted is currently in a deleted but recoverable state, "
        "and its name cannot be reused; in this state, the secret can only be "
        "recovered or purged.",
    }
    assert wire.call("GET", "/secrets/wire-deleted/").status_code == 404
    assert wire.call("DELETE", "/secrets/wire-deleted").status_code == 404

    purged = wire.call("DELETE", "/deletedsecrets/wire-deleted")
    assert purged.status_code == 204 and purged.content == b""
    gone = wire.call("GET", "/deletedsecrets/wire-deleted")
    assert gone.status_code == 404
    assert gone.json() == {"error": {"code": "SecretNotFound", "message": "Deleted Secret not found: wire-deleted"}}
    assert wire.call("POST", "/deletedsecrets/wire-deleted/recover").status_code == 404


def test_recover_returns_bundle_without_value(wire):
    created = wire.set("wire-recovered")
    wire.call("DELETE", "/secrets/wire-recovered")
    recovered = wire.call("POST", "/deletedsecrets/wire-recovered/recover")
    assert recovered.status_code == 200
    assert recovered.json() == {key: created[key] for key in created if key != "value"}


def test_disabled_secret_read_is_forbidden(wire):
    wire.set("wire-disabled", attributes={"enabled": False})
    response = wire.call("GET", "/secrets/wire-disabled/")
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "Forbidden",
            "message": "Operation get is not allowed on a disabled secret.",
            "innererror": {"code": "SecretDisabled"},
        }
    }
    listed = wire.call("GET", "/secrets/wire-disabled/versions").json()["value"]
    assert listed[0]["attributes"]["enabled"] is False


def test_forbidden_by_rbac_names_caller_action_resource_and_vault(wire):
    outsider = Directory(wire.vault.store).create_user("wire-outsider", "Wire Outsider")
    token = wire.vault.credential("wire-outsider").get_token("https://vault.azure.net/.default").token
    tenant, vault_id = wire.vault.store.tenant_id, wire.vault.service.resource_id("azDevOpsKV01")
    response = wire.call("GET", "/secrets/Some-Secret/", token=token)
    assert response.status_code == 403 and "x-ms-keyvault-rbac-assignment-id" not in response.headers
    expected = forbidden_by_rbac_message(
        "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        outsider.id,
        tenant,
        "Microsoft.KeyVault/vaults/secrets/getSecret/action",
        f"{vault_id}/secrets/Some-Secret",
        "azDevOpsKV01",
        "westeurope",
    )
    assert response.json() == {
        "error": {"code": "Forbidden", "message": expected, "innererror": {"code": "ForbiddenByRbac"}}
    }
    assert f"Resource: '{vault_id.lower()}/secrets/some-secret'\r\n" in expected
    listing = error_of(wire.call("GET", "/deletedsecrets", token=token))["message"]
    assert f"Resource: '{vault_id.lower()}'\r\n" in listing and "readMetadata/action" in listing
    assert wire.call("PUT", "/secrets/x", token=token, content=b"{bad").status_code == 403  # before the body


# -- backup and restore --------------------------------------------------------------------------------
def test_backup_blob_is_opaque_and_restores_only_once_free(wire):
    value = secrets.token_urlsafe(24)
    created = wire.set("wire-backup", value, contentType="pwd")
    backup = wire.call("POST", "/secrets/wire-backup/backup")
    assert backup.status_code == 200 and list(backup.json()) == ["value"]
    blob = backup.json()["value"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", blob)
    raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
    assert_not_leaked(value, raw)
    assert_not_leaked(value, blob)

    assert error_of(wire.call("POST", "/secrets/restore", json={"value": blob}))["code"] == "Conflict"
    wire.call("DELETE", "/secrets/wire-backup")
    deleted = wire.call("POST", "/secrets/restore", json={"value": blob})
    assert deleted.status_code == 409 and error_of(deleted)["innererror"] == {"code": "ObjectIsDeletedButRecoverable"}
    assert wire.call("DELETE", "/deletedsecrets/wire-backup").status_code == 204
    restored = wire.call("POST", "/secrets/restore", json={"value": blob})
    assert restored.status_code == 200
    assert restored.json() == {key: created[key] for key in created if key != "value"}
    assert_same_value(wire.call("GET", "/secrets/wire-backup/").json()["value"], value)

    tampered = blob[:-6] + ("AAAAAA" if not blob.endswith("AAAAAA") else "BBBBBB")
    for bad in (tampered, "!!!", "", base64.urlsafe_b64encode(b"plain").decode()):
        response = wire.call("POST", "/secrets/restore", json={"value": bad})
        assert response.status_code == 400 and error_of(response)["code"] == "BadParameter"
    assert wire.call("POST", "/secrets/restore", json={}).status_code == 400
    assert wire.call("POST", "/secrets/no-such/backup").status_code == 404


def test_backup_refuses_more_than_500_versions(wire):
    store = wire.vault.store
    with store.transaction():  # one commit for all versions
        for _ in range(501):
            secretstore.set_secret(store, "azDevOpsKV01", "many-versions", "v")
    response = wire.call("POST", "/secrets/many-versions/backup")
    assert response.status_code == 400 and error_of(response)["code"] == "BadParameter"


# -- bad input -------------------------------------------------------------------------------------------
def test_api_version_is_required_and_must_be_known(wire):
    missing = wire.call("GET", "/secrets", api=None)
    assert missing.status_code == 400 and error_of(missing)["code"] == "BadParameter"
    unknown = wire.call("GET", "/secrets", api="2099-01-01")
    assert unknown.status_code == 400
    assert error_of(unknown) == {
        "code": "BadParameter",
        "message": "The specified version (2099-01-01) is not "
        "recognized. Consider using the latest supported version (2026-04-01).",
    }
    for version in ("7.4", "2016-10-01", "7.6-preview.2", "2025-06-01-preview", "2026-03-01-preview"):
        assert wire.call("GET", "/secrets", api=version).status_code == 200, version


@pytest.mark.parametrize("name", ["bad_name", "a" * 128, "dot.ted", "spa ce", "ümlaut"])
def test_invalid_names_are_bad_parameters(wire, name):
    for method, kwargs in (("PUT", {"json": {"value": "v"}}), ("GET", {}), ("DELETE", {})):
        response = wire.call(method, f"/secrets/{name}", **kwargs)
        assert response.status_code == 400
        assert error_of(response) == {
            "code": "BadParameter",
            "message": f"The request URI contains an invalid name: {name}",
        }


def test_name_limits(wire):
    assert wire.call("PUT", f"/secrets/{'a' * 127}", json={"value": "v"}).status_code == 200
    assert wire.call("PUT", "/secrets/9-starts-with-digit", json={"value": "v"}).status_code == 200


LIMIT_CASES = {
    "value 25 KB + 1 byte": ({"value": "x" * (25 * 1024 + 1)}, "value"),
    "multi-byte value over 25 KB": ({"value": "é" * (25 * 512 + 1)}, "value"),
    "16 tags": ({"value": "v", "tags": {f"t{i}": "x" for i in range(16)}}, "tags"),
    "tag name over 512": ({"value": "v", "tags": {"n" * 513: "x"}}, "tags"),
    "tag value over 512": ({"value": "v", "tags": {"n": "x" * 513}}, "tags"),
    "contentType over 255": ({"value": "v", "contentType": "c" * 256}, "contentType"),
    "missing value": ({"contentType": "text"}, "value"),
    "null value": ({"value": None}, "value"),
    "number value": ({"value": 5}, "value"),
    "tags not an object": ({"value": "v", "tags": ["a"]}, "tags"),
    "tag value not a string": ({"value": "v", "tags": {"a": 1}}, "tags"),
    "contentType not a string": ({"value": "v", "contentType": 7}, "contentType"),
    "attributes not an object": ({"value": "v", "attributes": "on"}, "attributes"),
    "enabled not a boolean": ({"value": "v", "attributes": {"enabled": "yes"}}, "attributes.enabled"),
    "nbf a string": ({"value": "v", "attributes": {"nbf": "tomorrow"}}, "attributes.nbf"),
    "exp a fraction": ({"value": "v", "attributes": {"exp": 1.5}}, "attributes.exp"),
    "exp a boolean": ({"value": "v", "attributes": {"exp": True}}, "attributes.exp"),
    "exp beyond year 9999": ({"value": "v", "attributes": {"exp": 10**20}}, "attributes.exp"),
}


@pytest.mark.parametrize("case", list(LIMIT_CASES))
def test_set_rejects_bad_bodies(wire, case):
    body, prop = LIMIT_CASES[case]
    response = wire.call("PUT", "/secrets/limits", json=body)
    assert response.status_code == 400
    assert error_of(response) == {"code": "BadParameter", "message": f"Property {prop} has invalid value\r\n"}


def test_limits_themselves_are_accepted(wire):
    at_limits = {
        "value": "x" * (25 * 1024),
        "contentType": "c" * 255,
        "tags": {("n" * 500 + f"{i:012d}"): "v" * 512 for i in range(15)},
    }
    assert wire.call("PUT", "/secrets/at-limits", json=at_limits).status_code == 200
    assert wire.call("PUT", "/secrets/empty-value", json={"value": ""}).status_code == 200


@pytest.mark.parametrize("content", [b"", b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_malformed_bodies_are_bad_parameters(wire, content):
    for method, path in (("PUT", "/secrets/malformed"), ("PATCH", "/secrets/malformed/"), ("POST", "/secrets/restore")):
        response = wire.call(method, path, content=content, headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and error_of(response)["code"] == "BadParameter"


SURROGATES = {
    "value": b'{"value": "\\ud800"}',
    "contentType": b'{"value": "v", "contentType": "\\udfff"}',
    "tag name": b'{"value": "v", "tags": {"\\ud800": "x"}}',
    "tag value": b'{"value": "v", "tags": {"k": "\\ud800"}}',
}


@pytest.mark.parametrize("content", list(SURROGATES.values()), ids=list(SURROGATES))
def test_lone_surrogates_are_bad_parameters(wire, content):
    # Valid JSON, but no UTF-8 text: the service cannot store or return it.
    response = wire.call("PUT", "/secrets/surrogates", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and error_of(response)["code"] == "BadParameter"


def test_update_rejects_bad_properties(wire):
    wire.set("patched")
    for body in (
        {"tags": {f"t{i}": "x" for i in range(16)}},
        {"attributes": {"enabled": 1}},
        {"contentType": ["x"]},
        {"attributes": {"nbf": "soon"}},
    ):
        response = wire.call("PATCH", "/secrets/patched/", json=body)
        assert response.status_code == 400 and error_of(response)["code"] == "BadParameter"
    surrogate = wire.call(
        "PATCH",
        "/secrets/patched/",
        content=b'{"tags": {"k": "\\ud800"}}',
        headers={"Content-Type": "application/json"},
    )
    assert surrogate.status_code == 400
    assert wire.call("PATCH", "/secrets/never-there/", json={}).status_code == 404


@pytest.mark.parametrize("maxresults", ["0", "26", "-1", "abc", "", "2.5", "99999999999999999999"])
def test_maxresults_out_of_range(wire, maxresults):
    for path in ("/secrets", "/deletedsecrets", "/secrets/any/versions"):
        response = wire.call("GET", path, params={"maxresults": maxresults})
        assert response.status_code == 400 and error_of(response)["code"] == "BadParameter"


def test_maxresults_in_range_and_bad_skiptokens(wire):
    for maxresults in ("1", "25"):
        assert wire.call("GET", "/secrets", params={"maxresults": maxresults}).status_code == 200
    bad_tokens = ["%%%", "bm90LWpzb24", base64.urlsafe_b64encode(json.dumps({"NextMarker": 5}).encode()).decode()]
    for token in bad_tokens:
        for path in ("/secrets", "/secrets/any/versions", "/deletedsecrets"):
            response = wire.call("GET", path, params={"$skiptoken": token})
            assert response.status_code == 400 and error_of(response)["code"] == "BadParameter"


def test_unknown_paths_and_methods_keep_the_error_shape(wire):
    assert error_of(wire.call("GET", "/secrets/a/b/c"))["code"] == "NotFound"
    for method, path in (
        ("POST", "/secrets/x"),
        ("PUT", "/secrets"),
        ("DELETE", "/deletedsecrets/x/recover"),
        ("HEAD", "/secrets/x/versions"),
        ("PUT", "/deletedsecrets/x"),
    ):
        response = wire.call(method, path)
        assert response.status_code == 405, (method, path)
        if method != "HEAD":
            assert error_of(response)["code"] == "MethodNotAllowed"

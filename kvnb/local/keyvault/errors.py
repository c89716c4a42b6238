"""Key Vault's error vocabulary: the exceptions the secret operations raise and the bodies they become.

Every failure the data plane reports is a `KeyVaultError`; its wire form is the service's
``{"error": {"code", "message", "innererror": {"code"}}}`` (lowercase ``innererror``, as in the
spec). Messages copy the real service where its wording is known (facts A.6); the few marked
*unverified* below follow its style because no public capture was found.

    KeyVaultError                 status, code, message, inner
    ├── BadParameter              400 BadParameter
    ├── Unauthorized              401 Unauthorized (the route adds the challenge header)
    ├── Forbidden                 403 Forbidden (ForbiddenByRbac, SecretDisabled, purge refused)
    ├── SecretNotFound            404 SecretNotFound (live and deleted secrets)
    └── Conflict                  409 Conflict (ObjectIsDeletedButRecoverable, restore over a name)
"""

from __future__ import annotations

import json

try:  # orjson is optional; the stdlib is fast enough for error bodies anyway
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

LATEST_API_VERSION = "2026-04-01"
RECOVERY_HELP = (
    "If you recently deleted this secret you may be able to recover it using the correct recovery "
    "command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
)


def dumps(document) -> bytes:
    """Compact JSON bytes, as the service sends them."""
    if _orjson is not None:
        try:
            return _orjson.dumps(document)
        except TypeError:  # e.g. a lone surrogate echoed from a request: escape it below
            pass
    try:
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(document, separators=(",", ":")).encode("ascii")


class KeyVaultError(Exception):
    """A failure with Key Vault's status, error code, message and optional inner error code."""

    status = 500
    code = "InternalServerError"

    def __init__(self, message: str, *, inner: str | None = None, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.inner = inner
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def body(self) -> dict:
        error: dict = {"code": self.code, "message": self.message}
        if self.inner:
            error["innererror"] = {"code": self.inner}
        return {"error": error}


class BadParameter(KeyVaultError):
    status, code = 400, "BadParameter"


class Unauthorized(KeyVaultError):
    status, code = 401, "Unauthorized"


class Forbidden(KeyVaultError):
    status, code = 403, "Forbidden"


class SecretNotFound(KeyVaultError):
    status, code = 404, "SecretNotFound"


class Conflict(KeyVaultError):
    status, code = 409, "Conflict"


# -- the messages ------------------------------------------------------------------------------------
def secret_not_found(name_or_id: str) -> SecretNotFound:
    return SecretNotFound(f"A secret with (name/id) {name_or_id} was not found in this key vault. {RECOVERY_HELP}")


def deleted_secret_not_found(name: str) -> SecretNotFound:
    return SecretNotFound(f"Deleted Secret not found: {name}")


def secret_disabled(operation: str = "get") -> Forbidden:
    return Forbidden(f"Operation {operation} is not allowed on a disabled secret.", inner="SecretDisabled")


def deleted_but_recoverable(name: str) -> Conflict:
    return Conflict(
        f"Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; "
        "in this state, the secret can only be recovered or purged.",
        inner="ObjectIsDeletedButRecoverable",
    )


def invalid_name(name: str) -> BadParameter:
    return BadParameter(f"The request URI contains an invalid name: {name}")


def invalid_property(prop: str) -> BadParameter:
    # The service's JSON validation says "Property {name} has invalid value" with a trailing CRLF
    # (captures show the name slot, sometimes empty); kvnb always fills it in.
    return BadParameter(f"Property {prop} has invalid value\r\n")


def unknown_api_version(version: str) -> BadParameter:
    # Wording from real responses (azure-sdk-for-python#28595, azure-sdk-for-net#14789).
    return BadParameter(
        f"The specified version ({version}) is not recognized. "
        f"Consider using the latest supported version ({LATEST_API_VERSION})."
    )


def missing_api_version() -> BadParameter:
    # unverified wording: ARM's MissingApiVersionParameter sentence, under Key Vault's BadParameter.
    return BadParameter("The api-version query parameter (?api-version=) is required for all requests.")


def invalid_maxresults(value: str) -> BadParameter:
    # unverified wording; the limit itself is the spec's (1-25).
    return BadParameter(f"Invalid maxresults value: {value}. maxresults must be an integer from 1 to 25.")


def invalid_skiptoken() -> BadParameter:
    # unverified wording
    return BadParameter("The $skiptoken is invalid. Use the nextLink of the previous page as it is.")


def purge_protected(vault_name: str, location: str) -> Forbidden:
    # The service's words, as Terraform users quote them (Azure/sap-automation#200,
    # microsoft/AzureTRE#1951): two lines joined by \r\n, no trailing one.
    return Forbidden(
        'Operation "purge" is not allowed because purge protection is enabled for this vault. '
        "Key Vault service will automatically purge it after the retention period has passed."
        f"\r\nVault: {vault_name};location={location}"
    )


def undecryptable_backup() -> BadParameter:
    # The service's words as az CLI users quote them (azure-cli#8767); the code is unverified.
    return BadParameter("Cannot decrypt backup blob")


def restore_name_in_use(name: str) -> Conflict:
    # unverified wording: a restore never overwrites; the SDK retries 409s, as after a purge.
    return Conflict(
        f"Secret {name} already exists in this key vault; a backup can only be restored under a name "
        "that is not in use. Delete and purge the secret first, or restore into another vault."
    )


def too_many_versions(name: str, limit: int) -> BadParameter:
    # unverified wording; the limit is the documented one.
    return BadParameter(f"Secret {name} has more than {limit} versions and cannot be backed up.")


def missing_token() -> Unauthorized:
    return Unauthorized("AKV10000: Request is missing a Bearer or PoP token.")


def invalid_audience(expected: str, found: str) -> Unauthorized:
    return Unauthorized(f"AKV10022: Invalid audience. Expected {expected}, found: {found}.")


def invalid_token(reason: str) -> Unauthorized:
    # unverified wording; the service uses several AKV100xx codes for these cases.
    return Unauthorized(f"The bearer token is not valid for this key vault ({reason}). Get a new token.")


def not_found_path() -> KeyVaultError:
    # unverified: what the service says for a path it has no operation for.
    return KeyVaultError(
        "The requested URI does not represent any resource on the server.", code="NotFound", status=404
    )


def method_not_allowed(method: str) -> KeyVaultError:
    return KeyVaultError(
        f"The requested method {method} is not allowed on this resource.", code="MethodNotAllowed", status=405
    )

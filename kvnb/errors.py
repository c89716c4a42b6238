"""The errors kvnb shows to people: one or two lines saying what happened and what to do.

The magics turn every ``KvnbError`` into IPython's ``UsageError`` (a short message, no
traceback); Python callers catch them by type. Tracebacks are for bugs, so nothing here wraps
an unexpected exception. No message ever holds a secret value.

::

    KvnbError                      anything a user can fix
    ├── VaultReferenceError        the vault cannot be named or opened (bad name, local vault down)
    ├── NotSignedInError           no credential: `az login`, `kvnb local login NAME`, `kvnb local start`
    ├── VaultUnreachableError      network: DNS, refused connection, TLS, timeout
    ├── ThrottledError             429 after the SDK's own retries
    ├── FetchErrors                several secrets failed in one fetch; each is in ``.errors``
    ├── SecretError                about one secret (``.secret_name``)
    │   ├── InvalidSecretNameError    not 1-127 letters, digits and dashes
    │   ├── SecretNotFoundError       404; ``.close_matches`` among names the caller may list
    │   ├── SecretDisabledError       403 SecretDisabled
    │   └── AccessDeniedError         403 Forbidden; ``.action``, ``.missing_role``, ``.access_package``
    ├── kvnb.access.AccessError           roles and assignments (drawn in kvnb/access/errors.py)
    └── kvnb.governance.GovernanceError   access requests and reviews (kvnb/governance/errors.py)

    ExpiredSecretWarning (UserWarning)  the value was fetched but its ``exp`` has passed

``from_azure_error`` turns azure-core's exceptions raised by secret operations into these (the
only place that reads Key Vault's error bodies); anything nobody can fix from a notebook (a 500)
propagates unchanged.
"""

from __future__ import annotations

import difflib
from typing import Callable


class KvnbError(Exception):
    """A failure the user can fix; ``str()`` says how."""


class VaultReferenceError(KvnbError):
    """The vault reference is malformed, unknown, or the local vault cannot be started."""


class NotSignedInError(KvnbError):
    """No credential could get a token."""


class VaultUnreachableError(KvnbError):
    """The vault's endpoint did not answer (DNS, connection, TLS, timeout)."""


class ThrottledError(KvnbError):
    """Key Vault answered 429 after the SDK had retried."""


class SecretError(KvnbError):
    """A failure about one secret."""

    def __init__(self, message: str, *, secret_name: str):
        super().__init__(message)
        self.secret_name = secret_name


class InvalidSecretNameError(SecretError):
    """The name cannot be a Key Vault secret name."""


class SecretNotFoundError(SecretError):
    """No such secret (or version) in the vault."""

    def __init__(self, message: str, *, secret_name: str, close_matches: tuple[str, ...] = ()):
        super().__init__(message, secret_name=secret_name)
        self.close_matches = close_matches


class SecretDisabledError(SecretError):
    """The secret exists but is disabled: Key Vault refuses to return its value."""


class AccessDeniedError(SecretError):
    """Azure RBAC refused the operation."""

    def __init__(self, message: str, *, secret_name: str, action: str | None = None,
                 missing_role: str | None = None, access_package: str | None = None):
        super().__init__(message, secret_name=secret_name)
        self.action = action
        self.missing_role = missing_role
        self.access_package = access_package


class FetchErrors(KvnbError):
    """Several secrets failed in one fetch; each failure is in ``.errors``."""

    def __init__(self, errors: list[KvnbError]):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


class ExpiredSecretWarning(UserWarning):
    """The secret's ``exp`` has passed; Key Vault still returns it (expiry is informational)."""


# -- how azure-core's exceptions become these ---------------------------------------------------------
# The least-privileged built-in role that grants each data action (reference B.1).
ROLE_FOR_ACTION = {
    "Microsoft.KeyVault/vaults/secrets/getSecret/action": "Key Vault Secrets User",
    "Microsoft.KeyVault/vaults/secrets/readMetadata/action": "Key Vault Reader",
    "Microsoft.KeyVault/vaults/secrets/setSecret/action": "Key Vault Secrets Officer",
}
GET_SECRET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
_VERBS = {
    GET_SECRET: "read the value of",
    "Microsoft.KeyVault/vaults/secrets/readMetadata/action": "list or read the properties of",
    "Microsoft.KeyVault/vaults/secrets/setSecret/action": "set",
}


def _body(exc) -> dict:
    response = getattr(exc, "response", None)
    try:
        return response.json().get("error") or {}
    except Exception:  # no body, or not JSON: the status code has to do
        return {}


def result_code(exc) -> str:
    """Key Vault's error code for the ledger: the inner code when there is one (ForbiddenByRbac)."""
    body = _body(exc)
    inner = (body.get("innererror") or {}).get("code")
    return inner or body.get("code") or type(exc).__name__


def from_azure_error(exc, name: str, target, *, version: str | None = None,
                     list_names: Callable[[], list[str]] | None = None) -> KvnbError:
    """The kvnb error for an azure-core exception raised while working on secret *name* of *target*.

    *list_names* lists the names the caller may see, for "did you mean" after a 404. Exceptions
    nobody can fix from a notebook (500s, unexpected statuses) are re-raised as they are.
    """
    from azure.core.exceptions import (ClientAuthenticationError, HttpResponseError,
                                       ResourceNotFoundError, ServiceRequestError, ServiceResponseError)

    vault = target.name
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        hint = "Run `kvnb local start`." if target.is_local else "Check the network, VPN or proxy."
        return VaultUnreachableError(f"Cannot reach the vault {vault} at {target.url} "
                                     f"({type(exc).__name__}). {hint}")
    status = getattr(exc, "status_code", None)
    if isinstance(exc, ClientAuthenticationError) and status in (None, 401):
        return _not_signed_in(exc, target)
    if isinstance(exc, ResourceNotFoundError):
        if version:
            return SecretNotFoundError(
                f"{name} has no version {version} in {vault}. Leave out --version for the latest.",
                secret_name=name)
        return _not_found(name, target, list_names)
    if not isinstance(exc, HttpResponseError):
        raise exc
    body = _body(exc)
    inner = (body.get("innererror") or {}).get("code")
    if status == 403 and inner == "SecretDisabled":
        return SecretDisabledError(
            f"{name} is disabled in {vault}: Key Vault will not return its value. Ask its owner "
            "to enable it, or use another secret.", secret_name=name)
    if status == 403:
        return _forbidden(name, target, body.get("message") or "")
    if status == 429:
        return ThrottledError(
            f"Key Vault throttled requests to {vault} (429), still after the SDK's retries. Wait a "
            "few seconds and run it again; fetch once and reuse the variable instead of in a loop.")
    if status == 400:
        return InvalidSecretNameError(
            f"{vault} refused {name!r}: {body.get('message') or 'bad request'}", secret_name=name)
    raise exc  # anything else is not something a user can fix: a bug or an outage


def _not_signed_in(exc, target) -> NotSignedInError:
    if target.is_local:
        first = str(exc).splitlines()[0] if str(exc) else "no token"
        return NotSignedInError(
            f"Not signed in to the local vault as {target.persona!r} ({first}). Run "
            "`kvnb local login NAME` (names: `kvnb local personas`), or `kvnb local start`.")
    return NotSignedInError(
        f"Not signed in to Azure for {target.name}: no credential gave a token. Run `az login` "
        "(with `--tenant TENANT` for the vault's tenant), then run this again.")


def _not_found(name: str, target, list_names) -> SecretNotFoundError:
    from azure.core.exceptions import AzureError

    try:
        names = list_names() if list_names is not None else []
    except AzureError:  # the caller may not list: suggestions are a courtesy, not a requirement
        names = []
    by_lower = {n.lower(): n for n in names}
    matches = tuple(by_lower[m] for m in difflib.get_close_matches(name.lower(), list(by_lower), n=3))
    hint = f" Did you mean {', '.join(matches)}?" if matches else ""
    return SecretNotFoundError(f"No secret {name} in {target.name}.{hint}",
                               secret_name=name, close_matches=matches)


def _forbidden(name: str, target, message: str) -> AccessDeniedError:
    action = _line(message, "Action:") or GET_SECRET
    role = ROLE_FOR_ACTION.get(action)
    package = access_package_for(target, action)
    what = _VERBS.get(action, f"perform {action} on")
    text = f"Access denied: you may not {what} {name or 'secrets'} in {target.name}"
    text += f" (needs {role})." if role else "."
    if package:
        text += f" Request the access package {package}: `%kvaccess request {role} --reason WHY`."
    else:
        text += " Ask the vault's owner for access; `%kvaccess` shows what you have."
    return AccessDeniedError(text, secret_name=name, action=action, missing_role=role,
                             access_package=package)


def _line(message: str, prefix: str) -> str | None:
    for line in message.splitlines():
        if line.startswith(prefix):
            return line[len(prefix):].strip().strip("'")
    return None


def access_package_for(target, action: str) -> str | None:
    """The access package (named after its group) that grants *action* on the vault, if one can be found."""
    role = ROLE_FOR_ACTION.get(action)
    if role is None:
        return None
    try:
        from kvnb.governance import find_access_package
    except ImportError:  # the governance layer is optional here: the message then names the role only
        return None
    from azure.core.exceptions import AzureError

    try:
        return find_access_package(target, role=role).display_name
    except (KvnbError, AzureError):  # e.g. you may not read assignments: a hint, never a new error
        return None


__all__ = [
    "AccessDeniedError",
    "ExpiredSecretWarning",
    "FetchErrors",
    "InvalidSecretNameError",
    "KvnbError",
    "NotSignedInError",
    "SecretDisabledError",
    "SecretError",
    "SecretNotFoundError",
    "ThrottledError",
    "VaultReferenceError",
    "VaultUnreachableError",
    "from_azure_error",
]

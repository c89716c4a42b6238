"""How azure-core's exceptions from secret operations become `kvnb.errors` types.

The only place that reads Key Vault's error bodies. ``from_azure_error`` never calls the network
for hints of its own: an `AccessDeniedError` names the missing role, and a caller that knows where
to look for an access package adds it with `with_access_package` (``kvnb.governance`` finds one).
Anything nobody can fix from a notebook (a 500) propagates unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .errors import (
    AccessDeniedError,
    InvalidSecretNameError,
    KvnbError,
    NotSignedInError,
    SecretDisabledError,
    SecretNotFoundError,
    ThrottledError,
    VaultUnreachableError,
)
from .permissions import GET_SECRET, READ_METADATA, ROLE_FOR_ACTION, SET_SECRET
from .suggest import close_matches
from .surface import Placeholder, access_command

if TYPE_CHECKING:
    from .vault import VaultTarget

_VERBS = {
    GET_SECRET: "read the value of",
    READ_METADATA: "list or read the properties of",
    SET_SECRET: "set",
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


def _name_not_found(exc: BaseException) -> bool:
    """Whether a DNS lookup failed somewhere in *exc*'s chain (azure-core → requests → urllib3 → socket)."""
    import socket

    seen, todo = set(), [exc]
    while todo and len(seen) < 20:  # chains are a few links long; bound it all the same
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, socket.gaierror):  # urllib3's NameResolutionError is raised from it
            return True
        todo += [
            current.__cause__,
            current.__context__,
            getattr(current, "inner_exception", None),
            getattr(current, "reason", None),
        ]
        todo += [arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException)]
    return False


def from_azure_error(
    exc,
    name: str,
    target: VaultTarget,
    *,
    version: str | None = None,
    list_names: Callable[[], list[str]] | None = None,
) -> KvnbError:
    """The kvnb error for an azure-core exception raised while working on secret *name* of *target*.

    *list_names* lists the names the caller may see, for "did you mean" after a 404. Exceptions
    nobody can fix from a notebook (500s, unexpected statuses) are re-raised as they are.
    """
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    vault = target.name
    if isinstance(exc, ServiceRequestError) and not target.is_local and _name_not_found(exc):
        host = urlsplit(target.url).hostname
        return VaultUnreachableError(
            f"No vault named {vault} (DNS lookup of {host} failed): check the name, "
            "or the network if the name is right."
        )
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        hint = "Run `kvnb local start`." if target.is_local else "Check the network, VPN or proxy."
        return VaultUnreachableError(f"Cannot reach the vault {vault} at {target.url} ({type(exc).__name__}). {hint}")
    status = getattr(exc, "status_code", None)
    if isinstance(exc, ClientAuthenticationError) and status in (None, 401):
        return _not_signed_in(exc, target)
    if isinstance(exc, ResourceNotFoundError):
        if version:
            return SecretNotFoundError(
                f"{name} has no version {version} in {vault}. Leave out --version for the latest.", secret_name=name
            )
        return _not_found(name, target, list_names)
    if not isinstance(exc, HttpResponseError):
        raise exc
    body = _body(exc)
    inner = (body.get("innererror") or {}).get("code")
    if status == 403 and inner == "SecretDisabled":
        return SecretDisabledError(
            f"{name} is disabled in {vault}: Key Vault will not return its value. Ask its owner "
            "to enable it, or use another secret.",
            secret_name=name,
        )
    if status == 403:
        return access_denied(name, vault, _line(body.get("message") or "", "Action:") or GET_SECRET)
    if status == 429:
        return ThrottledError(
            f"Key Vault throttled requests to {vault} (429), still after the SDK's retries. Wait a "
            "few seconds and run it again; fetch once and reuse the variable instead of in a loop."
        )
    if status == 400:
        return InvalidSecretNameError(
            f"{vault} refused {name!r}: {body.get('message') or 'bad request'}", secret_name=name
        )
    raise exc  # anything else is not something a user can fix: a bug or an outage


def _not_signed_in(exc, target: VaultTarget) -> NotSignedInError:
    if target.is_local:
        first = str(exc).splitlines()[0] if str(exc) else "no token"
        return NotSignedInError(
            f"Not signed in to the local vault as {target.persona!r} ({first}). Run "
            "`kvnb local login NAME` (names: `kvnb local personas`), or `kvnb local start`."
        )
    return NotSignedInError(
        f"Not signed in to Azure for {target.name}: no credential gave a token. Run `az login` "
        "(with `--tenant TENANT` for the vault's tenant), then run this again."
    )


def _not_found(name: str, target: VaultTarget, list_names) -> SecretNotFoundError:
    from azure.core.exceptions import AzureError

    try:
        names = list_names() if list_names is not None else []
    except AzureError:  # the caller may not list: suggestions are a courtesy, not a requirement
        names = []
    matches = close_matches(name, names)
    hint = f" Did you mean {', '.join(matches)}?" if matches else ""
    return SecretNotFoundError(f"No secret {name} in {target.name}.{hint}", secret_name=name, close_matches=matches)


def access_denied(name: str, vault: str, action: str, package: str | None = None) -> AccessDeniedError:
    """The `AccessDeniedError` for *action* refused on secret *name* (or the vault, when empty)."""
    role = ROLE_FOR_ACTION.get(action)
    what = _VERBS.get(action, f"perform {action} on")
    text = f"Access denied: you may not {what} {name or 'secrets'} in {vault}"
    text += f" (needs {role})." if role else "."
    if package:
        text += (
            f" Request the access package {package}: `{access_command('request', role, reason=Placeholder('WHY'))}`."
        )
    else:
        text += f" Ask the vault's owner for access; `{access_command()}` shows what you have."
    return AccessDeniedError(
        text, secret_name=name, action=action, missing_role=role, access_package=package, vault_name=vault
    )


def with_access_package(error: KvnbError, find_package: Callable[[str], str | None]) -> KvnbError:
    """*error*, naming the access package ``find_package(role)`` returns when it is an access denial.

    Anything else (and a denial no role or package is known for) comes back as it is.
    """
    if type(error) is not AccessDeniedError or not error.missing_role or error.access_package:
        return error
    package = find_package(error.missing_role)
    if not package or error.action is None or error.vault_name is None:
        return error
    return access_denied(error.secret_name, error.vault_name, error.action, package)


def _line(message: str, prefix: str) -> str | None:
    for line in message.splitlines():
        if line.startswith(prefix):
            return line[len(prefix) :].strip().strip("'")
    return None

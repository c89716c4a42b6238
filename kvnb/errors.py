"""Every error kvnb raises on purpose: one or two lines saying what happened and what to do.

The magics turn every ``KvnbError`` into IPython's ``UsageError`` (a short message, no
traceback); Python callers catch them by type and read their fields, never their wording.
Tracebacks are for bugs, so nothing here wraps an unexpected exception. No message ever holds a
secret value. This module is a leaf: it imports nothing of kvnb (a test pins that), so any layer
may raise these without importing the layers above it. Turning azure-core's exceptions into
these is `kvnb.azure_errors`' job.

::

    KvnbError                           anything a user can fix
    ├── VaultReferenceError             the vault cannot be named or opened
    │   ├── VaultNameError              neither a URL, a vault name nor local[:NAME] (also a ValueError)
    │   └── LocalVaultError             the local vault cannot be used
    │       ├── LocalVaultNotRunningError   not running, and not to be started (`kvnb local start`)
    │       └── LocalVaultStartError        it was started but did not come up
    ├── SettingError                    a KVNB_* variable holds a value its setting cannot take
    ├── NotSignedInError                no credential: `az login`, `kvnb local login NAME`, `kvnb local start`
    ├── VaultUnreachableError           network: DNS, refused connection, TLS, timeout
    ├── ThrottledError                  429 after the SDK's own retries
    ├── FetchErrors                     several secrets failed in one fetch; each is in ``.errors``
    ├── SecretError                     about one secret (``.secret_name``)
    │   ├── InvalidSecretNameError      not 1-127 letters, digits and dashes
    │   ├── SecretNotFoundError         404; ``.close_matches`` among names the caller may list
    │   ├── SecretDisabledError         403 SecretDisabled
    │   └── AccessDeniedError           403 Forbidden; ``.action``, ``.missing_role``, ``.access_package``
    │       └── RotationRefused         the access layer says you may not set it; ``.access``
    ├── RotationError                   a rotation could not be completed as asked
    │   ├── RotationCancelled           the confirmation was declined: nothing changed
    │   └── RotationVerificationError   the vault returned another value for the new version
    ├── AuditAccessError                the vault cannot be audited at all (CLI exit code 2)
    ├── AccessError                     roles and assignments
    │   ├── PermissionMissingError      ARM said 403: ``.action``, ``.scope``, ``.roles``, ``.advice``
    │   ├── PrincipalNotFoundError      no user, group or service principal matches the reference
    │   ├── RoleNotFoundError           no role definition has that name or GUID
    │   └── PlanError                   a governance plan that cannot be read or applied
    └── GovernanceError                 access requests and reviews
        ├── MissingGraphPermissionError Graph said 403: ``.table``, ``.permission``, ``.fix``
        ├── GroupNotFoundError          no group has that id or display name
        ├── AccessPackageNotFoundError  no access package matches the role, group or name
        └── ReviewNotFoundError         no review for the group, or no instance in the state asked
                                        for (``.instance``: ``open``, ``last_completed`` or an id)

    ExpiredSecretWarning (UserWarning)  the value was fetched but its ``exp`` has passed

    The masked ``Secret`` refuses misuse with errors of Python's own kinds, so ``hasattr`` and
    ``except PermissionError`` keep working:
    PeekNotAllowed (PermissionError)    ``Secret.peek`` refused by the peek policy
    SecretValueDropped (RuntimeError)   the value left memory after its TTL and cannot be fetched again
    RevealRequired (AttributeError)     a ``str`` method used on a ``Secret``: call ``.reveal()``
"""

from __future__ import annotations

from typing import Any


class KvnbError(Exception):
    """A failure the user can fix; ``str()`` says how."""


# -- which vault ------------------------------------------------------------------------------------------
class VaultReferenceError(KvnbError):
    """The vault reference is malformed or unknown, or the local vault cannot be used."""


class VaultNameError(VaultReferenceError, ValueError):
    """The vault reference is neither a URL, a vault name, nor local[:NAME].

    Also a ``ValueError``, as it was before it joined this tree.
    """


class LocalVaultError(VaultReferenceError):
    """The local vault cannot be used (not running, failed to start, state directory unusable)."""


class LocalVaultNotRunningError(LocalVaultError):
    """The local vault is not running and was not to be started."""


class LocalVaultStartError(LocalVaultError):
    """The local vault was started but did not come up."""


class SettingError(KvnbError):
    """A KVNB_* variable holds something the setting cannot take."""


# -- talking to the vault ------------------------------------------------------------------------------
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
    """Azure RBAC refused the operation.

    ``.action`` is the dataAction refused, ``.missing_role`` the least-privileged built-in role
    that grants it, ``.access_package`` the access package that gives that role, when the caller
    that raised it could find one (see ``kvnb.azure_errors.with_access_package``).
    """

    def __init__(
        self,
        message: str,
        *,
        secret_name: str,
        action: str | None = None,
        missing_role: str | None = None,
        access_package: str | None = None,
        vault_name: str | None = None,
    ):
        super().__init__(message, secret_name=secret_name)
        self.action = action
        self.missing_role = missing_role
        self.access_package = access_package
        self.vault_name = vault_name


class FetchErrors(KvnbError):
    """Several secrets failed in one fetch; each failure is in ``.errors``."""

    def __init__(self, errors: list[KvnbError]):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


class ExpiredSecretWarning(UserWarning):
    """The secret's ``exp`` has passed; Key Vault still returns it (expiry is informational)."""


# -- rotation ---------------------------------------------------------------------------------------------
class RotationError(KvnbError):
    """The rotation could not be completed as asked (value rejected, read-back mismatch)."""


class RotationCancelled(RotationError):
    """The confirmation was declined: nothing changed."""


class RotationVerificationError(RotationError):
    """The new version was set, but the vault returned another value for it."""


class RotationRefused(AccessDeniedError):
    """The access layer's verdict: you may not set (or disable versions of) this secret.

    ``.access`` is the ``kvnb.access.EffectiveAccess`` the verdict came from.
    """

    def __init__(
        self, message: str, *, secret_name: str, access: Any, action: str, missing_role: str, access_package: str | None
    ):
        super().__init__(
            message, secret_name=secret_name, action=action, missing_role=missing_role, access_package=access_package
        )
        self.access = access


# -- audit ------------------------------------------------------------------------------------------------
class AuditAccessError(KvnbError):
    """The vault cannot be audited at all (unreachable, or no token): exit code 2 in the CLI."""


# -- roles and assignments (kvnb.access) ------------------------------------------------------------------
class AccessError(KvnbError):
    """A role or assignment problem the user can fix."""


class PermissionMissingError(AccessError):
    """The caller lacks an ARM permission at a scope.

    ``.reason`` says what was refused, ``.advice`` how to get it (``str()`` is both);
    ``.roles`` are the roles that would allow ``.action`` (least privileged first).
    """

    def __init__(
        self,
        message: str,
        *,
        action: str,
        scope: str,
        roles: tuple[str, ...] = (),
        reason: str | None = None,
        advice: str | None = None,
    ):
        super().__init__(message)
        self.action, self.scope, self.roles = action, scope, roles
        self.reason = reason if reason is not None else message
        self.advice = advice


class PrincipalNotFoundError(AccessError):
    """No principal matches the given object id, user principal name, display name or persona."""


class RoleNotFoundError(AccessError):
    """No role definition matches the given name or GUID."""


class PlanError(AccessError):
    """A governance plan that cannot be read or applied."""


# -- access requests and reviews (kvnb.governance) --------------------------------------------------------
class GovernanceError(KvnbError):
    """A governance action (access request, review) that the user can fix."""


class MissingGraphPermissionError(GovernanceError):
    """Graph refused the call with 403; ``.reason`` is Graph's own sentence."""

    def __init__(self, message: str, *, table: str, permission: str, fix: str, reason: str | None = None):
        super().__init__(message)
        self.table, self.permission, self.fix = table, permission, fix
        self.reason = reason if reason is not None else message


class GroupNotFoundError(GovernanceError):
    """No group has that object id or display name."""


class AccessPackageNotFoundError(GovernanceError):
    """No access package grants the role, group or name asked for."""


class ReviewNotFoundError(GovernanceError):
    """No access review covers the group (``.instance`` None), or it has no instance in the state
    asked for (``.instance``: ``"open"``, ``"last_completed"`` or the instance id)."""

    def __init__(self, message: str, *, instance: str | None = None):
        super().__init__(message)
        self.instance = instance


# -- the masked Secret's refusals -------------------------------------------------------------------------
class PeekNotAllowed(PermissionError):
    """``Secret.peek`` refused by the peek policy."""


class SecretValueDropped(RuntimeError):
    """The value left memory after its TTL and cannot be fetched again from here."""


class RevealRequired(AttributeError):
    """A ``str`` method used on a ``Secret``; an AttributeError so ``hasattr`` stays False."""


__all__ = [
    "AccessDeniedError",
    "AccessError",
    "AccessPackageNotFoundError",
    "AuditAccessError",
    "ExpiredSecretWarning",
    "FetchErrors",
    "GovernanceError",
    "GroupNotFoundError",
    "InvalidSecretNameError",
    "KvnbError",
    "LocalVaultError",
    "LocalVaultNotRunningError",
    "LocalVaultStartError",
    "MissingGraphPermissionError",
    "NotSignedInError",
    "PeekNotAllowed",
    "PermissionMissingError",
    "PlanError",
    "PrincipalNotFoundError",
    "RevealRequired",
    "ReviewNotFoundError",
    "RoleNotFoundError",
    "RotationCancelled",
    "RotationError",
    "RotationRefused",
    "RotationVerificationError",
    "SecretDisabledError",
    "SecretError",
    "SecretNotFoundError",
    "SecretValueDropped",
    "SettingError",
    "ThrottledError",
    "VaultNameError",
    "VaultReferenceError",
    "VaultUnreachableError",
]

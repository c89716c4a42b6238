"""Azure RBAC facts that kvnb's client side and the local vault share: pure data and matching.

* ``SECRET_DATA_ACTIONS``: each secrets operation → the dataAction Key Vault checks (facts B.1).
* ``VAULT_LEVEL_OPERATIONS``: the operations checked on the vault rather than on one secret
  (listing, and restore, whose secret is only known from inside the backup blob).
* ``ROLE_FOR_ACTION`` / ``role_for_operation``: the least-privileged built-in role that grants
  each secret dataAction — the one table the error messages, ``%kvaccess`` and rotation use.
* ``action_matches`` / ``permits``: Azure's wildcard rules. ``*`` matches any run of characters,
  ``/`` included; the whole action must match (``vaults/*/read`` never grants ``…/getSecret/action``);
  and a ``/*/`` segment also matches no segment, so ``vaults/*/read`` covers ``vaults/read`` — the
  Key Vault roles are documented to "read metadata of key vaults", which is that action.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

_SECRETS = "Microsoft.KeyVault/vaults/secrets/"

SECRET_DATA_ACTIONS: dict[str, str] = {
    "get": _SECRETS + "getSecret/action",
    "list": _SECRETS + "readMetadata/action",
    "list_versions": _SECRETS + "readMetadata/action",
    "set": _SECRETS + "setSecret/action",
    "update": _SECRETS + "update/action",
    "delete": _SECRETS + "delete",
    "get_deleted": _SECRETS + "readMetadata/action",
    "list_deleted": _SECRETS + "readMetadata/action",
    "recover": _SECRETS + "recover/action",
    "purge": _SECRETS + "purge/action",
    "backup": _SECRETS + "backup/action",
    "restore": _SECRETS + "restore/action",
}
VAULT_LEVEL_OPERATIONS = frozenset({"list", "list_deleted", "restore"})
GET_SECRET = SECRET_DATA_ACTIONS["get"]
READ_METADATA = SECRET_DATA_ACTIONS["list"]
SET_SECRET = SECRET_DATA_ACTIONS["set"]

SECRETS_USER = "Key Vault Secrets User"
SECRETS_OFFICER = "Key Vault Secrets Officer"
READER = "Key Vault Reader"
# The least-privileged built-in role granting each secret dataAction (facts B.1 and the built-in
# roles' dataActions): the Secrets User reads values, the Reader reads metadata, and everything
# else (set, update, delete, backup, restore, recover, purge) needs the Secrets Officer.
ROLE_FOR_ACTION: dict[str, str] = {
    action: SECRETS_USER if action == GET_SECRET else READER if action == READ_METADATA else SECRETS_OFFICER
    for action in SECRET_DATA_ACTIONS.values()
}


def role_for_operation(operation: str) -> str:
    """The least-privileged built-in role allowing a secrets operation (a key of SECRET_DATA_ACTIONS)."""
    return ROLE_FOR_ACTION[SECRET_DATA_ACTIONS[operation]]


def _regex(pattern: str) -> str:
    segments = [".*".join(re.escape(part) for part in segment.split("*")) for segment in pattern.split("/*/")]
    return "(?:/|/.*/)".join(segments)


@lru_cache(maxsize=4096)
def compile_patterns(patterns: tuple[str, ...]) -> re.Pattern:
    """One compiled alternation for a permission list (use ``.fullmatch``); empty matches nothing."""
    if not patterns:
        return re.compile(r"(?!)")
    return re.compile("|".join(f"(?:{_regex(p)})" for p in patterns), re.IGNORECASE | re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    """Whether one permission string (wildcards allowed) covers *action*."""
    return compile_patterns((pattern,)).fullmatch(action) is not None


def permits(allowed: Iterable[str], denied: Iterable[str], action: str) -> bool:
    """Allowed by a permission block: matched by *allowed* and by none of *denied* (notActions)."""
    return (
        compile_patterns(tuple(allowed)).fullmatch(action) is not None
        and compile_patterns(tuple(denied)).fullmatch(action) is None
    )

"""Backup and restore of secrets: opaque blobs that carry every version, never a value in the clear."""

from __future__ import annotations

import base64
import json

from cryptography.exceptions import InvalidTag

from ..keyvault import errors as kverrors
from .secrets import (
    _LIVE_LATEST,
    MAX_BACKUP_VERSIONS,
    SecretRecord,
    _name_state,
    _record,
    _vault,
    purge_expired,
    validate_name,
)
from .store import Store

# Shaped like the service's blobs (a marker, then a compact JWE-like string), sealed with AES-GCM under
# the store's key with the subscription id bound in: it restores only within the same "subscription",
# and never carries a value in the clear.
_BACKUP_MARKER = b")AzureKeyVaultSecretBackupV1.microsoft.com"
_BACKUP_HEADER = base64.urlsafe_b64encode(b'{"alg":"dir","enc":"A256GCM","kid":"kvnb-local-backup-v1"}').rstrip(b"=")
_VERSION_FIELDS = ("version", "seq", "content_type", "tags", "enabled", "nbf", "exp", "created", "updated", "managed")


def _backup_aad(store: Store) -> dict:
    return {"vault": "kvnb-secret-backup", "name": store.subscription_id, "version": "v1"}


def backup(store: Store, vault: str, name: str) -> bytes:
    """An opaque blob of every version of a live secret, values and properties included."""
    rows = store.db.execute(
        "SELECT s.name AS canonical, v.* FROM secrets s JOIN secret_versions v ON v.vault = s.vault"
        " AND v.name = s.name WHERE s.vault = ? AND s.name = ? AND s.deleted_date IS NULL ORDER BY v.seq",
        (vault, name),
    ).fetchall()
    if not rows:
        raise kverrors.secret_not_found(name)
    canonical = rows[0]["canonical"]
    if len(rows) > MAX_BACKUP_VERSIONS:
        raise kverrors.too_many_versions(canonical, MAX_BACKUP_VERSIONS)
    versions = []
    for row in rows:
        entry = {key: row[key] for key in _VERSION_FIELDS}
        entry["value"] = store.unseal(row["value"], vault=row["vault"], name=row["name"], version=row["version"])
        versions.append(entry)
    sealed = store.seal(json.dumps({"name": canonical, "versions": versions}), **_backup_aad(store))
    return _BACKUP_MARKER + _BACKUP_HEADER + b".." + base64.urlsafe_b64encode(sealed).rstrip(b"=")


def _open_backup(store: Store, blob: bytes) -> dict:
    prefix = _BACKUP_MARKER + _BACKUP_HEADER + b".."
    if not isinstance(blob, (bytes, bytearray)) or not blob.startswith(prefix):
        raise kverrors.undecryptable_backup()
    body = bytes(blob[len(prefix) :])
    try:
        sealed = base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4))
        payload = json.loads(store.unseal(sealed, **_backup_aad(store)))
        validate_name(payload["name"])
        return payload
    except (InvalidTag, ValueError, KeyError, TypeError, kverrors.BadParameter):
        raise kverrors.undecryptable_backup() from None


def restore(store: Store, vault: str, blob: bytes) -> SecretRecord:
    """Restore a `backup` blob under its name, with its versions, ids and times; never overwrites."""
    payload = _open_backup(store, blob)
    name = payload["name"]
    purge_expired(store, vault)
    with store.transaction() as db:
        vault = _vault(db, vault)["name"]
        state = _name_state(db, vault, name)
        if state is not None:
            if state["deleted_date"] is not None:
                raise kverrors.deleted_but_recoverable(state["name"])
            raise kverrors.restore_name_in_use(state["name"])
        db.execute("INSERT INTO secrets (vault, name) VALUES (?, ?)", (vault, name))
        for entry in payload["versions"]:
            version = entry["version"]
            sealed = store.seal(entry["value"], vault=vault, name=name, version=version)
            db.execute(
                "INSERT INTO secret_versions (vault, name, version, seq, value, content_type, tags, enabled, nbf,"
                " exp, created, updated, managed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (vault, name, version, entry["seq"], sealed, *(entry[key] for key in _VERSION_FIELDS[2:])),
            )
        return _record(db.execute(_LIVE_LATEST, (vault, name)).fetchone())

"""Keyed fingerprints: verify a secret value without seeing it.

``fingerprint(value, vault_url)`` is HMAC-SHA256 of the UTF-8 value under a key derived from the
vault's URL (lower-cased, without a trailing slash)::

    key = SHA-256("kvnb-fingerprint-v1:" + vault_url)

The key is documented and per vault on purpose: everyone who can name the vault computes the same
fingerprint (a lead and a member compare values by it), while the same value in two vaults gives
unrelated fingerprints, and a fingerprint is no plain hash that a lookup table of common passwords
would reverse. It is a check, not a secret: do not publish fingerprints of low-entropy values.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

SHORT_LENGTH = 12


@lru_cache(maxsize=64)  # one per vault: saves a hash on every fetch
def fingerprint_key(vault_url: str) -> bytes:
    """The HMAC key for *vault_url* (documented above; public so scanners can precompute pads)."""
    canonical = vault_url.strip().rstrip("/").lower()
    return hashlib.sha256(b"kvnb-fingerprint-v1:" + canonical.encode("utf-8")).digest()


def fingerprint(value: str | bytes, vault_url: str) -> str:
    """The full keyed fingerprint (64 hex characters)."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    return hmac.new(fingerprint_key(vault_url), data, hashlib.sha256).hexdigest()


def short_fingerprint(value: str | bytes, vault_url: str) -> str:
    """The first 12 hex characters, as shown next to a masked secret."""
    return fingerprint(value, vault_url)[:SHORT_LENGTH]

"""Keyed fingerprints: verify a secret value without seeing it.

``fingerprint(value, vault_url)`` is HMAC-SHA256 of the UTF-8 value under a key derived from the
vault's URL (lower-cased, without a trailing slash)::

    key = SHA-256("kvnb-fingerprint-v1:" + vault_url)

The key is documented and per vault on purpose: everyone who can name the vault computes the same
fingerprint (a lead and a member compare values by it), while the same value in two vaults gives
unrelated fingerprints, and a fingerprint is no plain hash that a lookup table of common passwords
would reverse.

Because the key is public, a fingerprint is a *guess checker*: anyone holding one can try
candidate values offline. For a 6-digit PIN that takes under a second. So kvnb shows no fingerprint
of a value whose estimated entropy is below ``MIN_FINGERPRINT_BITS`` (64 bits) and says why
(``WITHHELD``). The estimate, ``estimated_bits``, is the entropy of a uniformly random string of the
value's length over the character classes it uses::

    bits = length × log2(sum of the sizes of the classes present)

with the classes digits (10), lower-case ASCII (26), upper-case ASCII (26), other printable ASCII
and space (33) and anything else (non-ASCII: counted as 128 more). It is an upper bound — a
password built from a word and a year scores as if random — so passing it does not make a value
strong; failing it means a fingerprint would certainly be a cheap oracle. 64 bits is where an
offline search at 10^9 HMACs per second takes centuries: a 6-digit PIN (20 bits), an 8-character
lower-case word (38 bits) and a 10-character alphanumeric password (60 bits) are below it; a
12-character password with symbols (79 bits), a GUID-shaped client secret and every generated key
are above.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import string
from functools import lru_cache

SHORT_LENGTH = 12
MIN_FINGERPRINT_BITS = 64
WITHHELD = (
    f"no fingerprint: the value is too guessable to fingerprint (estimated entropy below "
    f"{MIN_FINGERPRINT_BITS} bits), and anyone may test guesses against a fingerprint"
)

_CLASSES = (
    (frozenset(string.digits), 10),
    (frozenset(string.ascii_lowercase), 26),
    (frozenset(string.ascii_uppercase), 26),
    (frozenset(string.punctuation + " "), 33),
)
_OTHER = 128  # any character outside printable ASCII


def estimated_bits(value: str | bytes) -> float:
    """Entropy upper bound: ``len × log2(alphabet)``, the alphabet being the classes used."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    if not text:
        return 0.0
    used = set(text)
    alphabet = 0
    for members, size in _CLASSES:
        if used & members:
            alphabet += size
            used -= members
    if used:
        alphabet += _OTHER
    return len(text) * math.log2(alphabet) if alphabet > 1 else 0.0


def may_show(value: str | bytes) -> bool:
    """Whether a fingerprint of ``value`` may be shown (see the module docstring)."""
    return estimated_bits(value) >= MIN_FINGERPRINT_BITS


@lru_cache(maxsize=64)  # one per vault: saves a hash on every fetch
def fingerprint_key(vault_url: str) -> bytes:
    """The HMAC key for *vault_url* (documented above; public so scanners can precompute pads)."""
    canonical = vault_url.strip().rstrip("/").lower()
    return hashlib.sha256(b"kvnb-fingerprint-v1:" + canonical.encode("utf-8")).digest()


def fingerprint(value: str | bytes, vault_url: str) -> str:
    """The full keyed fingerprint (64 hex characters), for comparisons; show only via ``shown``."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    return hmac.new(fingerprint_key(vault_url), data, hashlib.sha256).hexdigest()


def short_fingerprint(value: str | bytes, vault_url: str) -> str | None:
    """The first 12 hex characters, as shown next to a masked secret; None below the threshold."""
    if not may_show(value):
        return None
    return fingerprint(value, vault_url)[:SHORT_LENGTH]

"""Known-value leak scanner: find every copy of a secret's value in code, notebooks and text files.

Pure and local: the caller supplies the values (or keyed fingerprints of them); nothing here talks
to Azure. Values live only in memory, in the matching engine; findings carry masked excerpts.

    result = scan_paths(["."], {"APICaller/3f2a…": value})

Every form the engine knows (``kvnb.matching``) is searched, whole and as runs of K characters
(``KVNB_REDACT_MIN_RUN``, default 16): a finding says ``whole`` or ``partial`` with its length.

Modules: ``files`` (walk + .gitignore), ``notebook`` (cells as text), ``binary`` (pickles and
bytes, for ``binary=True``), ``matching`` and ``fingerprints`` (the two matchers), ``findings``
(results), ``core`` (the loop).
"""

from __future__ import annotations

from .core import DEFAULT_MAX_FILE_SIZE, scan_paths
from .findings import Finding, ScanResult
from .fingerprints import (
    FingerprintEntry,
    export_fingerprints,
    load_fingerprints,
    write_fingerprints,
)

__all__ = [
    "DEFAULT_MAX_FILE_SIZE",
    "Finding",
    "FingerprintEntry",
    "ScanResult",
    "export_fingerprints",
    "load_fingerprints",
    "scan_paths",
    "write_fingerprints",
]

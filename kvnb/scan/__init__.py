"""Known-value leak scanner: find every copy of a secret's value in code, notebooks and text files.

Pure and local: the caller supplies the values (or keyed fingerprints of them); nothing here talks
to Azure. Values live only in memory as search needles; findings carry masked excerpts.

    needles = needles_for(value, "APICaller/3f2a…")
    result = scan_paths(["."], needles)

Modules: ``needles`` (encoded forms), ``files`` (walk + .gitignore), ``notebook`` (cells as text),
``matching`` and ``fingerprints`` (the two matchers), ``findings`` (results), ``core`` (the loop).
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
from .needles import FORMS, MIN_VALUE_LENGTH, Needle, needles_for

__all__ = [
    "DEFAULT_MAX_FILE_SIZE",
    "FORMS",
    "Finding",
    "FingerprintEntry",
    "MIN_VALUE_LENGTH",
    "Needle",
    "ScanResult",
    "export_fingerprints",
    "load_fingerprints",
    "needles_for",
    "scan_paths",
    "write_fingerprints",
]

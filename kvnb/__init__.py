"""kvnb: use Azure Key Vault securely from Jupyter.

In a notebook::

    %load_ext kvnb
    %kvget APICaller --vault azDevOpsKV01      # api_caller: a masked Secret
    %kvaccess APICaller                        # what may I do with it, and why

From Python: ``fetch_secret``, ``fetch_secrets``, ``fetch_ledger``, ``Secret`` and ``panel(vault)``. The Azure SDKs
and pandas are imported on first use, so ``%load_ext kvnb`` stays cheap.
"""

from __future__ import annotations

from kvnb._version import __version__

__all__ = [
    "FetchEvent",
    "KvnbError",
    "Secret",
    "__version__",
    "fetch_ledger",
    "fetch_secret",
    "fetch_secrets",
    "load_ipython_extension",
    "open_vault",
    "panel",
    "unload_ipython_extension",
]

# Public name -> module that defines it; imported on first access (PEP 562).
_LAZY = {
    "FetchEvent": "kvnb.ledger",
    "KvnbError": "kvnb.errors",
    "Secret": "kvnb.secret",
    "fetch_ledger": "kvnb.ledger",
    "fetch_secret": "kvnb.fetch",
    "fetch_secrets": "kvnb.fetch",
    "open_vault": "kvnb.vault",
    "panel": "kvnb.vaultpanel",  # kvnb.panel(vault): a function returning the vault panel widget
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kvnb' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython) -> None:
    """``%load_ext kvnb``: register %kvget and %kvaccess, and scrub fetched values from output."""
    from kvnb import magics

    magics.load(ipython)
    try:
        from kvnb import redaction
    except ImportError:  # redaction is defence in depth; the masked type works without it
        return
    redaction.install(ipython)


def unload_ipython_extension(ipython) -> None:
    """``%unload_ext kvnb``: remove the magics, the redaction hooks and kept connections."""
    import sys

    from kvnb import magics

    magics.unload(ipython)
    redaction = sys.modules.get("kvnb.redaction")
    if redaction is not None:
        redaction.uninstall(ipython)
    fetch = sys.modules.get("kvnb.fetch")
    if fetch is not None:
        fetch.close_targets()
        fetch.clear_cache()

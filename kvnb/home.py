"""``KVNB_HOME`` (``~/.kvnb`` by default): kvnb's private state directory on this machine.

It holds the kernels' save-guard files and the local vault's state (its database, keys and runtime
file), so on a shared machine nobody but its owner may enter it. Whichever component creates it
first (``%load_ext kvnb`` through the save guard, the CLI, the local vault) creates it ``0700``;
the mode is given to ``mkdir`` itself, so there is never a moment when it is open.
"""

from __future__ import annotations

import os
from pathlib import Path


def default_home() -> Path:
    return Path(os.environ.get("KVNB_HOME") or Path.home() / ".kvnb").expanduser()


def make_private_dir(path: str | os.PathLike) -> Path:
    """Create *path* and any missing parent with mode 0700; an existing directory is left as it is."""
    path = Path(path)
    missing = [path, *path.parents]
    missing = missing[: next((i for i, p in enumerate(missing) if p.is_dir()), len(missing))]
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by another process, or a file: the next write says so
            pass
    return path

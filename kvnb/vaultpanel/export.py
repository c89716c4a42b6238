"""Export from the panel: a tab's rows as CSV, the whole audit as the HTML report.

Files go to a ``kvnb-exports/`` folder beside the notebook (the kernel's working directory, in
JupyterLab and VS Code alike), not among the notebooks themselves; ``%config KvMagics.export_dir``
or ``KVNB_EXPORT_DIR`` choose another. A download link in a widget would not work in VS Code's
sandboxed outputs, a file does everywhere. Everything exported is audit metadata, never a value.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from kvnb.audit import render

EXPORT_DIR = "kvnb-exports"
ENV_EXPORT_DIR = "KVNB_EXPORT_DIR"


def export_directory(chosen: str | Path | None = None) -> Path:
    """Where exports go: *chosen*, else ``KVNB_EXPORT_DIR``, else ``kvnb-exports`` in the working directory."""
    return Path(chosen or os.environ.get(ENV_EXPORT_DIR) or EXPORT_DIR).expanduser().absolute()


def _stamp(when: datetime | None = None) -> str:
    return (when or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "vault"


def export_path(directory: Path, vault: str, what: str, suffix: str) -> Path:
    """``<directory>/<vault>-<what>-<UTC time>.<suffix>``, made unique if the second repeats."""
    directory.mkdir(parents=True, exist_ok=True)
    base = f"{_safe(vault)}-{_safe(what)}-{_stamp()}"
    path = directory / f"{base}.{suffix}"
    for index in range(2, 1000):
        if not path.exists():
            return path
        path = directory / f"{base}-{index}.{suffix}"
    raise FileExistsError(f"Too many exports named {base} in {directory}; remove some.")


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    return path


def write_html_report(audit, path: Path, *, identity: str | None = None, settings=None) -> Path:
    """The report ``kvnb audit --output html`` writes: findings, the two pictures, every table."""
    path.write_text(render([audit], "html", identity=identity, settings=settings), encoding="utf-8")
    return path

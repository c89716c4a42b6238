"""The fetch ledger: one small typed event per secret fetch, never the value.

Each event carries what Key Vault's own diagnostic log (``AzureDiagnostics``, operation
``SecretGet``) records about the same call — time, vault, secret, version, caller's object id,
result — so the two can be matched; plus the value's keyed fingerprint, which lets a lead and a
member agree on *which* value was fetched without seeing it.

    from kvnb import fetch_ledger
    fetch_ledger()                       # a pandas DataFrame, newest last
    ledger.to_csv("fetches.csv")         # or .to_json(), for matching against the diagnostic log

The ledger lives in memory for the process (a kernel) and keeps the most recent ``MAX_EVENTS``.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections import deque
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

MAX_EVENTS = 10_000


@dataclass(frozen=True)
class FetchEvent:
    """One ``get_secret`` call as kvnb saw it."""

    time: datetime  # UTC, when the answer arrived
    vault: str  # the vault's name (azDevOpsKV01)
    vault_url: str
    secret: str
    version: str | None  # None when the call failed before a version was known
    identity: str | None  # the caller's UPN or app id, as the token says
    object_id: str | None  # the caller's object id (``identity_claim_oid_g`` in the diagnostic log)
    fingerprint: str | None  # short keyed fingerprint; None for a failed fetch
    result: str  # "OK", or the error: Forbidden, SecretNotFound, SecretDisabled, Throttled, …
    operation: str = "SecretGet"
    cached: bool = False  # served from kvnb's cache: no call reached the vault

    def as_row(self) -> dict:
        row = asdict(self)
        row["time"] = self.time.isoformat(timespec="milliseconds")
        return row


COLUMNS = tuple(f.name for f in fields(FetchEvent))


class FetchLedger:
    """A thread-safe, bounded, in-memory list of ``FetchEvent``."""

    def __init__(self, max_events: int = MAX_EVENTS) -> None:
        self._events: deque[FetchEvent] = deque(maxlen=max_events)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._events)

    def __repr__(self) -> str:
        return f"<FetchLedger of {len(self)} events>"

    def record(self, event: FetchEvent) -> None:
        with self._lock:
            self._events.append(event)

    def events(self) -> list[FetchEvent]:
        with self._lock:
            return list(self._events)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()

    def to_dataframe(self):
        """The events as a DataFrame (``time`` as UTC timestamps), one row per fetch."""
        import pandas as pd  # lazily: pandas must not slow `%load_ext kvnb`

        frame = pd.DataFrame([e.__dict__ for e in self.events()], columns=list(COLUMNS))
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
        return frame

    def to_csv(self, path: str | Path | None = None) -> str | None:
        """CSV with a header row; written to *path*, or returned as text when no path is given."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for event in self.events():
            writer.writerow(event.as_row())
        return _write_or_return(buffer.getvalue(), path)

    def to_json(self, path: str | Path | None = None) -> str | None:
        """A JSON array of events (ISO 8601 times); written to *path* or returned."""
        text = json.dumps([e.as_row() for e in self.events()], indent=1)
        return _write_or_return(text, path)


def _write_or_return(text: str, path: str | Path | None) -> str | None:
    if path is None:
        return text
    Path(path).write_text(text, encoding="utf-8")
    return None


def now() -> datetime:
    return datetime.now(timezone.utc)


ledger = FetchLedger()


def fetch_ledger():
    """The process's fetch ledger as a DataFrame (see ``ledger`` for CSV and JSON export)."""
    return ledger.to_dataframe()

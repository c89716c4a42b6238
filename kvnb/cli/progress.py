"""`TerminalBar`: the CLI's one progress bar, a tqdm bar on stderr.

Only where someone watches (stderr is a terminal) and only with tqdm installed (it comes with the
notebook extra); otherwise it draws nothing and the command works the same. Callers decide when a
run is long enough to deserve a bar.
"""

from __future__ import annotations

import sys


class TerminalBar:
    """Draws ``done`` of ``total`` *unit*s; ``close()`` removes the bar (``leave=False``)."""

    def __init__(self, *, unit: str, desc: str | None = None):
        self.unit, self.desc = unit, desc
        self.enabled = sys.stderr.isatty()
        self._bar = None

    def show(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            try:
                from tqdm import tqdm
            except ImportError:
                self.enabled = False
                return
            self._bar = tqdm(desc=self.desc, unit=self.unit, total=max(total, done), file=sys.stderr, leave=False)
        self._bar.total = max(total, done)
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

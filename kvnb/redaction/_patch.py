"""Replacing an attribute with a wrapper, and undoing it without breaking a later patch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_MISSING = object()


class Patch:
    """``owner.attr`` replaced by ``make(original, patch)``.

    ``undo()`` restores the original, or, when something else has since wrapped our wrapper, sets
    ``active = False`` so ours passes calls straight through (removing it would drop the later
    wrapper too). Wrappers check ``patch.active`` first.
    """

    def __init__(self, owner: Any, attr: str, make: Callable[[Any, Patch], Any]) -> None:
        self.owner, self.attr, self.active = owner, attr, True
        self._previous_own = vars(owner).get(attr, _MISSING)
        self.original = getattr(owner, attr)
        self.wrapper = make(self.original, self)
        setattr(owner, attr, self.wrapper)

    def undo(self) -> None:
        self.active = False
        if vars(self.owner).get(self.attr, _MISSING) is not self.wrapper:
            return  # patched over since: stay in place, inactive
        if self._previous_own is _MISSING:
            delattr(self.owner, self.attr)  # the class attribute shows through again
        else:
            setattr(self.owner, self.attr, self._previous_own)

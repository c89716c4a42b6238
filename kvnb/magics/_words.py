"""Words of a magic's line, as IPython hands them over."""

from __future__ import annotations

from typing import overload


@overload
def unquoted(word: str) -> str: ...
@overload
def unquoted(word: None) -> None: ...
def unquoted(word: str | None) -> str | None:
    """*word* without the quotes around it.

    IPython splits magic lines without removing quotes (``parse_argstring`` splits non-POSIX, so
    Windows paths keep their backslashes): ``'AzureAD team'`` arrives quoted.
    """
    if word and len(word) >= 2 and word[0] == word[-1] and word[0] in "'\"":
        return word[1:-1]
    return word

"""Reading a magic's line: ``$name`` expansion on demand, a parse cache, settings errors as UsageError."""

from __future__ import annotations

import argparse

from IPython.core.error import UsageError
from IPython.core.magic_arguments import parse_argstring

from kvnb.errors import SettingError

_parsed: dict[tuple[str, str], argparse.Namespace] = {}


def expand_variables(shell, line: str, local_ns: dict | None) -> str:
    """IPython's ``$name`` / ``{expression}`` expansion, done only when the line asks for it.

    IPython would expand every line, copying the whole user namespace each time: a measurable
    share of a warm ``%kvget`` (``bench/bench_kvget.py``). Same formatter, same namespaces and,
    like IPython, a line that does not format is used as written.
    """
    if "$" not in line and "{" not in line:
        return line
    from IPython.utils.text import DollarFormatter

    namespace = {**shell.user_ns, **(local_ns or {})}
    try:
        return DollarFormatter().vformat(line, args=[], kwargs=namespace)
    except Exception:
        return line


def parse(magic, line: str) -> argparse.Namespace:
    """``parse_argstring``, remembered per line: a cell re-run in a loop parses once.

    The namespace is shared by every call with that line: treat it as read-only.
    """
    key = (magic.__name__, line)
    parsed = _parsed.get(key)
    if parsed is None:
        try:
            parsed = parse_argstring(magic, line)
        except UsageError:
            raise
        except ValueError as exc:  # shlex: "No closing quotation"
            raise UsageError(str(exc)) from None
        if len(_parsed) >= 256:
            _parsed.clear()
        _parsed[key] = parsed
    return parsed


def settings_errors(function, *args):
    try:
        return function(*args)
    except SettingError as exc:
        raise UsageError(str(exc)) from None

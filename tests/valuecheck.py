"""Assertions about secret values that never print them: the frames are hidden from tracebacks and
the messages name no value, so a failing test cannot leak what it compared."""

from __future__ import annotations

import secrets

from kvnb.scan import needles_for


def new_value() -> str:
    return secrets.token_urlsafe(24)


def assert_same_value(actual, expected) -> None:
    __tracebackhide__ = True
    if actual != expected:
        raise AssertionError("the value read back differs from the value set")


def assert_not_leaked(value: str, blob) -> None:
    __tracebackhide__ = True
    needle = value.encode() if isinstance(blob, bytes) else value
    if needle in blob:
        raise AssertionError("a secret value appears in the clear")


def assert_no_trace(text: str, *values: str) -> None:
    """No trace of any of *values* in *text*: none of the forms kvnb's scanner searches for (raw,
    JSON, URL, base64, hex: ``kvnb.scan.needles_for``), and no 8 characters of a value in a row,
    so a partly printed or truncated value is caught too."""
    __tracebackhide__ = True
    for value in values:
        for needle in needles_for(value, "x"):
            if needle.text in text:
                raise AssertionError(f"the {needle.form} form of a secret value appears in the text")
        for start in range(len(value) - 7):
            if value[start:start + 8] in text:
                raise AssertionError("an 8-character piece of a secret value appears in the text")

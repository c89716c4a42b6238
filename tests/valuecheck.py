"""Assertions about secret values that never print them: the frames are hidden from tracebacks and
the messages name no value, so a failing test cannot leak what it compared."""

from __future__ import annotations

import secrets

from kvnb.matching import forms_of


def new_value() -> str:
    return secrets.token_urlsafe(24)


def assert_same_value(actual, expected) -> None:
    __tracebackhide__ = True
    if not actual == expected:
        raise AssertionError("the value read back differs from the value set")


def assert_different_value(actual, other) -> None:
    __tracebackhide__ = True
    if not actual != other:
        raise AssertionError("the value read back equals a value it must differ from")


def assert_value_in(part, whole) -> None:
    """``part in whole``, where either may be or hold a secret value (a value in a container, a
    marker in a text that may hold one); the message names neither."""
    __tracebackhide__ = True
    if part not in whole:
        raise AssertionError("an expected part is missing (neither side is shown: either may hold a value)")


def assert_value_not_in(part, whole) -> None:
    """``part not in whole``, where either may be or hold a secret value; the message names neither.
    For a value that must not appear in a text, ``assert_not_leaked`` says so more plainly."""
    __tracebackhide__ = True
    if part in whole:
        raise AssertionError("an unexpected part is present (neither side is shown: either may hold a value)")


def assert_not_leaked(value: str, blob) -> None:
    __tracebackhide__ = True
    needle = value.encode() if isinstance(blob, bytes) else value
    if needle in blob:
        raise AssertionError("a secret value appears in the clear")


def assert_no_trace(text: str, *values: str) -> None:
    """No trace of any of *values* in *text*: none of the forms kvnb's scanner searches for (raw,
    JSON, repr, HTML, URL, base64, hex: ``kvnb.matching.forms_of``), and no 8 characters of a value in a row,
    so a partly printed or truncated value is caught too."""
    __tracebackhide__ = True
    for value in values:
        for form in forms_of(value):
            if form.text in text:
                raise AssertionError(f"the {form.kind} form of a secret value appears in the text")
        for start in range(len(value) - 7):
            if value[start : start + 8] in text:
                raise AssertionError("an 8-character piece of a secret value appears in the text")

"""Assertions about secret values that never print them: the frames are hidden from tracebacks and
the messages name no value, so a failing test cannot leak what it compared."""

from __future__ import annotations

import secrets


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

"""What Key Vault accepts as a secret name and version, checked before any request is sent.

A leaf (it imports only `kvnb.errors`), so the access layer and the fetcher alike can check names.
"""

from __future__ import annotations

import re

from kvnb import errors

__all__ = ["SECRET_NAME", "SECRET_VERSION", "check_name"]

SECRET_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")
SECRET_VERSION = re.compile(r"^[0-9A-Za-z]{1,64}$")


def check_name(name: str, version: str | None = None) -> None:
    if not isinstance(name, str) or not SECRET_NAME.match(name):
        raise errors.InvalidSecretNameError(
            f"{name!r} is not a secret name: use 1-127 letters, digits and dashes.", secret_name=str(name)
        )
    if version is not None and not SECRET_VERSION.match(version):
        raise errors.InvalidSecretNameError(
            f"{version!r} is not a secret version: versions are 32 hex characters.", secret_name=name
        )

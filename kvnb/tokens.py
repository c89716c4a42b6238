"""`unverified_claims`: what an access token says about its holder, read without verifying it.

kvnb reads claims only to name who is signed in (the identity a fetch ran as, `whoami`, an audit's
label), never to decide anything: the services verify every token they are given. Plain base64 and
JSON, so the warm ``%kvget`` path does not import a JWT library.
"""

from __future__ import annotations

import base64
import json


def unverified_claims(token: str) -> dict:
    """The payload of a JWT (``header.payload.signature``) as a dict.

    :raises ValueError: *token* is not a JWT with a JSON object as payload.
    """
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, TypeError):  # binascii.Error and JSONDecodeError are ValueErrors
        raise ValueError("not a JWT") from None
    if not isinstance(claims, dict):
        raise ValueError("not a JWT: its payload is not a JSON object")
    return claims

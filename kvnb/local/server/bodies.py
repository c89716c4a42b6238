"""Request bodies read within bounds, for every surface: size while streaming, JSON nesting after parsing.

Each surface turns the `BodyError` into its own 4xx shape (Key Vault's ``BadParameter``, ARM's
``InvalidRequestContent``, Graph's ``BadRequest``; ``RequestEntityTooLarge`` for size on all three).
Nothing a client sends can exhaust memory or the stack here, nor reach the code behind a route in a
shape it cannot handle: a route sees a parsed JSON value nested at most `MAX_DEPTH` deep.
"""

from __future__ import annotations

import json

from starlette.requests import Request

# ARM and Graph refuse request bodies over 4 MB (ARM's documented request limit); no Key Vault
# secrets request is near it (values are at most 25 KB).
MAX_BODY_BYTES = 4 * 1024 * 1024
DRAIN_BYTES = 4 * MAX_BODY_BYTES
# ASP.NET's default JSON MaxDepth, which the real services' JSON readers use: the outer object counts.
MAX_DEPTH = 64


class BodyError(Exception):
    """A body the surface must refuse; ``status`` is the HTTP status to answer with."""

    status = 400


class BodyTooLarge(BodyError):
    status = 413

    def __init__(self, limit: int = MAX_BODY_BYTES):
        super().__init__(f"The request body is larger than {limit // (1024 * 1024)} MB.")


class BodyTooDeep(BodyError):
    def __init__(self):
        super().__init__(f"The request body nests JSON objects and arrays more than {MAX_DEPTH} deep.")


class BodyNotJson(BodyError):
    def __init__(self, what: str = "The request body is not valid JSON."):
        super().__init__(what)


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body; BodyTooLarge past *limit* bytes.

    Past the limit the rest is read and dropped (up to `DRAIN_BYTES`), so that the client, still
    sending, gets the error response instead of a connection reset; nothing past the limit is kept.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > DRAIN_BYTES:
        raise BodyTooLarge(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > DRAIN_BYTES:
            break
    if size > limit:
        raise BodyTooLarge(limit)
    return b"".join(chunks)


def depth_of(document) -> int:
    """How deep objects and arrays nest in *document* (a scalar is 0); iterative, so never recursing."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def parse_json(raw: bytes, *, empty=None):
    """*raw* as JSON (``empty`` for an empty body); BodyNotJson or BodyTooDeep when it cannot be used."""
    if not raw.strip():
        if empty is not None:
            return empty
        raise BodyNotJson("The request body is empty; send a JSON object.")
    try:
        document = json.loads(raw)
    except RecursionError:  # deeper than the interpreter's own limit: certainly deeper than ours
        raise BodyTooDeep() from None
    except (ValueError, UnicodeDecodeError):
        raise BodyNotJson() from None
    if depth_of(document) > MAX_DEPTH:
        raise BodyTooDeep()
    return document


async def json_object(request: Request, *, empty=None) -> dict:
    """The body as a JSON object, read within the bounds above."""
    document = parse_json(await read_body(request), empty=empty)
    if not isinstance(document, dict):
        raise BodyNotJson("The request body must be a JSON object.")
    return document

"""``%kvget`` and ``%%kvget``: parse, call ``kvnb.fetch.fetch_secrets``, put masked variables in the
namespace and print one confirmation line per secret — never a value."""

from __future__ import annotations

import keyword
import os
import re
import sys
from functools import lru_cache

from IPython.core.error import UsageError

from kvnb.magics.settings import effective

_CAMEL_RUN = re.compile(r"([A-Z]+)([A-Z][a-z])")  # APICaller -> API_Caller
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")  # signingKey -> signing_Key
_CELL_LINE = re.compile(r"^\s*(?:(?P<var>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*)?(?P<name>\S+)\s*$")
SINGLE_NAME_OPTIONS = ("as_", "version", "env", "peek")


@lru_cache(maxsize=1024)  # the same few names, fetched again and again
def variable_name(secret_name: str) -> str:
    """The default variable for a secret: snake_case; ``secret_`` before a leading digit."""
    snake = _CAMEL.sub(r"\1_\2", _CAMEL_RUN.sub(r"\1_\2", secret_name)).replace("-", "_")
    snake = re.sub(r"_+", "_", snake).strip("_").lower() or "secret"
    if snake[0].isdigit():
        snake = "secret_" + snake
    return snake + "_" if keyword.iskeyword(snake) else snake


def parse_cell(cell: str) -> list[tuple[str | None, str]]:
    """``VAR = NAME`` or ``NAME`` per line; blank lines and ``# comments`` are skipped."""
    pairs = []
    for number, line in enumerate(cell.splitlines(), 1):
        line = line.split("#", 1)[0]
        if not line.strip():
            continue
        match = _CELL_LINE.match(line)
        if match is None:
            raise UsageError(f"%%kvget line {number}: write `VAR = NAME` or `NAME`.")
        pairs.append((match["var"], match["name"]))
    return pairs


def _check_variable(var: str) -> str:
    if not var.isidentifier() or keyword.iskeyword(var):
        raise UsageError(f"{var!r} is not a Python variable name.")
    return var


def wanted(args, cell: str | None) -> list[tuple[str | None, str]]:
    """(variable or None, secret name) pairs from the line's names and the cell."""
    pairs = [(None, name) for name in args.names]
    if cell is not None:
        pairs += parse_cell(cell)
    used = [opt.rstrip("_") for opt in SINGLE_NAME_OPTIONS if getattr(args, opt) is not None]
    if used and len(pairs) != 1:
        flags = ", ".join(f"--{opt}" for opt in used)
        raise UsageError(f"{flags} need exactly one secret name (got {len(pairs)}).")
    if args.as_ is not None:
        pairs = [(args.as_, pairs[0][1])]
    if args.env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", args.env):
        raise UsageError(f"{args.env!r} is not an environment variable name.")
    if args.peek is not None and args.peek < 1:
        raise UsageError("--peek takes a positive number of characters.")
    return [(_check_variable(var) if var else None, name) for var, name in pairs]


def run(magics, args, cell: str | None):
    """The whole of %kvget: returns the ledger DataFrame for --ledger, otherwise None."""
    # Plain module imports: this runs at every call, and `from kvnb import ...` goes through
    # importlib's Python code each time. kvnb.fetch (and the Azure SDKs) load on first use.
    import kvnb.errors as errors
    import kvnb.fetch as fetch

    pairs = wanted(args, cell)
    if not pairs and not args.ledger:
        raise UsageError("Name a secret: `%kvget APICaller`, or see `%kvget?`.")
    if pairs:
        requests = [fetch.SecretRequest(name, args.version) for _, name in pairs]
        try:
            secrets = fetch.fetch_secrets(
                requests,
                vault=effective(magics, "vault", args.vault),
                persona=effective(magics, "persona", args.persona),
                peek_policy=effective(magics, "peek_policy"),
                value_ttl=effective(magics, "value_ttl"),
                cache_ttl=effective(magics, "cache_ttl"),
                credential_options=effective(magics, "credential_options") or None,
                on_expired=_print_expired,  # every time, as a line of this magic's output
            )
        except errors.KvnbError as exc:
            raise UsageError(str(exc)) from None
        for (var, name), secret in zip(pairs, secrets):
            _place(magics.shell, args, var or variable_name(name), secret)
    if args.ledger:
        from kvnb.ledger import ledger

        return ledger.to_dataframe()
    return None


def _print_expired(message: str) -> None:
    print(f"Warning: {message}", file=sys.stderr)


def _place(shell, args, var: str, secret) -> None:
    shown = None
    if args.peek is not None:
        from kvnb.secret import PeekNotAllowed

        try:
            shown = secret.peek(args.peek)
        except PeekNotAllowed as exc:
            raise UsageError(str(exc)) from None
    if args.env is not None:
        os.environ[args.env] = secret.reveal()
        target = f"${args.env}"
        if args.as_ is not None:
            shell.user_ns[var] = secret
            target += f" and {var}"
    else:
        shell.user_ns[var] = secret
        target = var
    print(confirmation(secret, target, peeked=shown))


def confirmation(secret, target: str, *, peeked: str | None = None) -> str:
    """``APICaller → api_caller  version 3f2a9c81  updated 2025-11-08 12:00 UTC  fp 3f2a9c81d0e4``."""
    version = (secret.version or "?")[:8]
    updated = secret.updated
    when = f"{updated.isoformat(' ', 'minutes')[:16]} UTC" if updated is not None else "?"
    line = f"{secret.name} → {target}  version {version}  updated {when}  fingerprint {secret.fingerprint_shown}"
    if peeked is not None:
        line += f"  first {len(peeked)}: {peeked}"
    return line

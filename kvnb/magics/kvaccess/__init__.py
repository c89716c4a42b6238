"""``%kvaccess``: who am I, what may I do and why — and thin wrappers over the governance layer.

One module per subcommand (jupysql's ``cmd/`` layout), each with its own `CmdParser` and a
``run(target, args)`` that calls one function of ``kvnb.access`` or ``kvnb.governance`` and renders
what it returns; the logic lives there. This module routes the line and is the one place where
failures become IPython's ``UsageError``.
"""

from __future__ import annotations

from IPython.core.error import UsageError

from kvnb.magics import settings as _settings

from . import _parser, decide, grant, plan, request, requests, review, revoke, show

# subcommand → (its parser, what runs it)
SUBCOMMANDS = {
    "request": (request.PARSER, request.run),
    "requests": (requests.PARSER, requests.run),
    "approve": (decide.APPROVE_PARSER, decide.approve),
    "deny": (decide.DENY_PARSER, decide.deny),
    "grant": (grant.PARSER, grant.run),
    "revoke": (revoke.PARSER, revoke.run),
    "review": (review.PARSER, review.run),
    "plan": (plan.PARSER, plan.run),
}

__all__ = ["SUBCOMMANDS", "run"]


def run(magics, line: str):
    """Parse ``%kvaccess`` *line*, open the vault as the settings say and run the subcommand."""
    from IPython.core.magic_arguments import arg_split

    from kvnb import errors, fetch

    try:
        words = arg_split(line)  # as parse_argstring splits: quotes kept, backslashes too
    except ValueError as exc:  # shlex: "No closing quotation"
        raise UsageError(str(exc)) from None
    parser, command = SUBCOMMANDS.get(words[0], (None, None)) if words else (None, None)
    if parser is None:
        parser, command, words = show.PARSER, show.run, [""] + words
    try:
        args = parser.parse_words(words[1:])
        target = fetch.open_target(
            _settings.effective(magics, "vault", args.vault),
            persona=_settings.effective(magics, "persona", args.persona),
            credential_options=_settings.effective(magics, "credential_options") or None,
        )
        return command(target, args)
    except _parser.HelpShown:
        return None
    except (_parser.CommandUsageError, errors.KvnbError) as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:  # the layers' argument checks (durations, justification)
        raise UsageError(str(exc)) from None

"""``%kvrotate NAME``: parse, call ``kvnb.rotation.rotate_secret``, print the fingerprints and show the
version history. The value comes from a hidden prompt (the kernel's ``getpass``), an environment
variable or ``secrets``; it never appears on the magic's line, so never in the history.

``KvMagics`` takes the magic with ``kvrotate = line_magic(kvrotate)`` (see the report to the lead).
"""

from __future__ import annotations

from IPython.core.error import StdinNotImplementedError, UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from kvnb.magics._words import unquoted
from kvnb.magics.settings import effective

NO_PROMPT = "this frontend cannot ask for input (a notebook run by nbclient or papermill)"


@magic_arguments()
@argument("names", nargs="*", metavar="NAME", help="The secret to rotate.")
@argument("--vault", metavar="V", help="Vault name, URL, `local` or `local:NAME`.")
@argument("--persona", metavar="NAME", help="Act as this local identity (local vault only).")
@argument("--from-env", dest="from_env", metavar="VAR", help="Take the new value from os.environ[VAR].")
@argument(
    "--generate",
    type=int,
    metavar="N",
    help="Generate N random bytes with Python's secrets, URL-safe (32 gives 43 characters).",
)
@argument("--reason", metavar="TEXT", help="Why: stored in the rotation-reason tag.")
@argument(
    "--disable-previous",
    dest="disable_previous",
    action="store_true",
    help="Disable the earlier enabled versions once the new one is verified.",
)
@argument("--yes", action="store_true", help="Do not ask before --disable-previous.")
def kvrotate(self, line: str):
    """Set a new version of a secret, tagged with who, when and why; verify it by fingerprint.

    %kvrotate APICaller                       hidden prompt (asked twice)
    %kvrotate APICaller --generate 32 --reason "suspected leak"
    %kvrotate APICaller --from-env NEW_KEY --disable-previous --yes
    """
    from kvnb.magics._parsing import parse as _parse
    from kvnb.magics._parsing import settings_errors as _settings_errors

    try:
        args = _parse(self.kvrotate, line)
    except UsageError as exc:
        if "unrecognized arguments" not in str(exc):
            raise
        # argparse would repeat the words, and one may be a value typed by mistake.
        raise UsageError(
            "%kvrotate: an unknown option or a word too many (not repeated, in case it is a value); see %kvrotate?"
        ) from None
    return _settings_errors(run, self, args)


def run(magics, args) -> None:
    """The whole of %kvrotate; prints, displays the history DataFrame, returns None."""
    from IPython.display import display

    from kvnb import errors, fetch, rotation

    if len(args.names) != 1:
        # Never echo the extra words: one may be a value typed by mistake.
        raise UsageError(
            f"%kvrotate takes one secret name (got {len(args.names)}). A value never goes on "
            "the line: leave it to the hidden prompt, or use --from-env VAR or --generate N."
        )
    if args.from_env is not None and args.generate is not None:
        raise UsageError("Choose --from-env or --generate, not both.")
    reason = unquoted(args.reason) if args.reason is not None else None
    try:
        target = fetch.open_target(
            effective(magics, "vault", args.vault),
            persona=effective(magics, "persona", args.persona),
            credential_options=effective(magics, "credential_options") or None,
        )
        result = rotation.rotate_secret(
            args.names[0],
            _value_source(args),
            target=target,
            reason=reason,
            disable_previous=args.disable_previous,
            confirm=lambda plan: _confirm(plan, args.yes),
        )
    except errors.KvnbError as exc:
        raise UsageError(str(exc)) from None
    except StdinNotImplementedError:
        hint = "add --yes to --disable-previous" if args.disable_previous else "use --from-env VAR or --generate N"
        raise UsageError(f"Nothing changed: {NO_PROMPT}; {hint}.") from None
    for text in result.summary_lines():
        print(text)
    if result.history is not None:
        from kvnb.present import Table

        display(Table(result.history, reorder=False))  # every column, also in a terminal


def _value_source(args):
    from kvnb import rotation

    if args.from_env is not None:
        return lambda: rotation.value_from_env(args.from_env)
    if args.generate is not None:
        return lambda: rotation.generated_value(args.generate)
    return lambda: rotation.prompted_value(args.names[0])


def _confirm(plan, yes: bool) -> bool:
    for text in plan.describe():
        print(text)
    if plan.to_disable and not yes:
        # input() at call time: in a kernel it is the frontend's input request.
        return input("Disable them after the new version is verified? [y/N] ").strip().lower() in ("y", "yes")
    return True

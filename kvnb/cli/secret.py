"""``kvnb secret rotate``: thin over ``kvnb.rotation.rotate_secret``.

Exit codes: 0 rotated and verified, 1 cancelled or the read-back did not match, 2 usage or access error.
"""

from __future__ import annotations

import sys

import click

from ..rotation import MAX_GENERATED_BYTES, MIN_GENERATED_BYTES
from .options import persona_option, vault_option

EXIT_FAILED, EXIT_ERROR = 1, 2


class SecretCommandError(click.ClickException):
    """A usage or access problem, in one or two lines, exit code 2."""

    exit_code = EXIT_ERROR


class RotationFailed(click.ClickException):
    exit_code = EXIT_FAILED


@click.group("secret")
def secret() -> None:
    """Work with one secret: rotate it."""


# Unknown options land in NAMES, so that a value typed by mistake (even one starting with "-") is
# refused below without click repeating it in "No such option".
@secret.command("rotate", context_settings={"ignore_unknown_options": True})
@click.argument("names", nargs=-1, metavar="NAME")
@vault_option
@persona_option
@click.option("--from-env", "from_env", metavar="VAR", help="Take the new value from environment variable VAR.")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the new value from standard input (a pipe).")
@click.option(
    "--generate",
    type=click.IntRange(MIN_GENERATED_BYTES, MAX_GENERATED_BYTES),
    metavar="N",
    help="Generate N random bytes with Python's secrets, URL-safe (32 gives 43 characters).",
)
@click.option("--reason", metavar="TEXT", help="Why: stored in the rotation-reason tag.")
@click.option(
    "--disable-previous", is_flag=True, help="Disable the earlier enabled versions once the new one is verified."
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask before --disable-previous.")
def rotate(
    names: tuple[str, ...],
    vault: str | None,
    persona: str | None,
    from_env: str | None,
    from_stdin: bool,
    generate: int | None,
    reason: str | None,
    disable_previous: bool,
    yes: bool,
) -> None:
    """Set a new version of secret NAME, tagged with who, when and why, and check it by fingerprint.

    The value comes from a hidden prompt (default), --from-env VAR, --stdin or --generate N; it is
    never echoed or printed. Without permission to set NAME this stops before asking for it.
    """
    from .. import errors, fetch, rotation

    if len(names) != 1 or names[0].startswith("-"):
        # Never repeat the extra arguments: one of them may be a value typed by mistake.
        raise click.UsageError(
            f"give one secret NAME and known options only (got {len(names)} words besides options, not "
            "repeated); a value never goes on the command line: use the hidden prompt, "
            "--from-env, --stdin or --generate"
        )
    name = names[0]
    chosen = [
        flag
        for flag, used in (("--from-env", from_env), ("--stdin", from_stdin), ("--generate", generate is not None))
        if used
    ]
    if len(chosen) > 1:
        raise click.UsageError(f"choose one value source, not {' and '.join(chosen)}")
    if from_stdin and disable_previous and not yes:
        raise click.UsageError(
            "standard input carries the value, so it cannot answer the question: add --yes to --disable-previous"
        )
    value = _value_source(name, from_env, from_stdin, generate)
    target = None
    try:
        target = fetch.open_target(vault, persona=persona)
        result = rotation.rotate_secret(
            name,
            value,
            target=target,
            reason=reason,
            disable_previous=disable_previous,
            confirm=lambda plan: _confirm(plan, yes),
        )
    except (rotation.RotationCancelled, rotation.RotationVerificationError) as exc:
        raise RotationFailed(str(exc)) from None
    except errors.KvnbError as exc:
        raise SecretCommandError(str(exc)) from None
    finally:
        if target is not None:
            fetch.forget_target(target)
    click.echo("\n".join(result.summary_lines()))
    if result.history is not None:
        click.echo("")
        click.echo(history_table(result.history))
    if not result.disabled:
        click.echo(f"\nFind hardcoded copies of earlier values: kvnb scan --secret {name} --all-versions PATH")


def _value_source(name: str, from_env: str | None, from_stdin: bool, generate: int | None):
    """A callable: rotate_secret asks for the value only after its checks pass."""
    from .. import rotation

    if from_env is not None:
        return lambda: rotation.value_from_env(from_env)
    if from_stdin:
        return lambda: rotation.value_from_stream(sys.stdin)
    if generate is not None:
        return lambda: rotation.generated_value(generate)
    return lambda: rotation.prompted_value(name)


def _confirm(plan, yes: bool) -> bool:
    for line in plan.describe():
        click.echo(line, err=True)
    if plan.to_disable and not yes:
        return click.confirm("Disable them after the new version is verified?", default=False, err=True)
    return True


def history_table(frame) -> str:
    """The version history as aligned plain text (`kvnb.present`): blanks for what is unknown."""
    from ..present import text_table

    return text_table(frame, reorder=False)

"""``kvnb run``: a command with secrets in its environment, its output masked. Thin over ``kvnb.run``.

Exit codes: the command's own (128 + N when signal N ended it); 2 when kvnb could not fetch a
secret or read its arguments, and then the command was not started; 126/127 when it could not be.
"""

from __future__ import annotations

import sys

import click

from .options import persona_option, vault_option

EXIT_ERROR = 2


class RunError(click.ClickException):
    """A usage or access problem, in one line, exit code 2; the command is not started."""

    exit_code = EXIT_ERROR


@click.command("run", context_settings={"allow_interspersed_args": False})
@click.option(
    "--secret",
    "bindings",
    multiple=True,
    required=True,
    metavar="SECRET=ENVVAR",
    help="Put the value of SECRET in environment variable ENVVAR (repeatable).",
)
@vault_option
@persona_option
@click.option(
    "--no-mask",
    is_flag=True,
    help="Do not mask the values in the command's output (it then writes to the terminal directly).",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED, metavar="-- CMD [ARGS]...")
@click.pass_context
def run(
    ctx: click.Context,
    bindings: tuple[str, ...],
    vault: str | None,
    persona: str | None,
    no_mask: bool,
    command: tuple[str, ...],
) -> None:
    """Run CMD with secrets in its environment, fetched with your identity; nothing is written to disk.

    \b
      kvnb run --secret APICaller=API_KEY -- python job.py
      kvnb run --vault azDevOpsKV01 --secret DbPassword=PGPASSWORD -- psql -h db -U app

    Every value is fetched before CMD starts; if one cannot be (no access, no such secret), kvnb
    exits 2 and CMD does not run. Its stdout and stderr are masked by default: a value it prints
    (also base64- or JSON-encoded) shows as [secret NAME redacted]. Stdin passes through. The exit
    code is CMD's (128 + N when signal N ended it).
    """
    from .. import errors, redaction
    from .. import run as runs

    try:
        parsed = [runs.parse_binding(text) for text in bindings]
        values = runs.fetch_environment(
            parsed, vault=vault, persona=persona, on_expired=lambda message: click.echo(message, err=True)
        )
    except errors.KvnbError as exc:
        raise RunError(str(exc)) from None
    if not no_mask:
        for binding in parsed:
            if len(values[binding.variable]) < redaction.MIN_LENGTH:
                click.echo(
                    f"kvnb run: {binding.secret} is shorter than {redaction.MIN_LENGTH} characters, "
                    "too short to mask: it may show in the output.",
                    err=True,
                )
    environment = runs.child_environment(values, note=lambda line: click.echo(line, err=True))
    try:
        code = runs.run_command(command, environment, mask=not no_mask)
    except FileNotFoundError:
        click.echo(f"kvnb run: command not found: {command[0]}", err=True)
        code = runs.EXIT_NOT_FOUND
    except PermissionError:
        click.echo(f"kvnb run: cannot execute {command[0]}: permission denied", err=True)
        code = runs.EXIT_NOT_EXECUTABLE
    sys.stdout.flush()
    ctx.exit(code)

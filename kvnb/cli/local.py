"""`kvnb local …`: run and steer the local vault."""

from __future__ import annotations

import json
import shlex
import sys

import click

from ..durations import parse_duration
from ..local import control
from ..local.state.paths import StateDirError, StatePaths, write_private
from ..suggest import did_you_mean
from .options import local_persona_option


def _paths() -> StatePaths:
    try:
        return StatePaths.resolve().ensure()
    except StateDirError as exc:
        raise click.ClickException(str(exc)) from None


def _admin(path: str, body: dict) -> dict:
    try:
        return control.admin(_paths(), path, body)
    except (control.NotRunning, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def local() -> None:
    """Run the local vault: Key Vault, ARM and Graph on https://127.0.0.1, no Azure needed."""


@local.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help="Port of the first vault (default 8443; 0 picks a free one).",
)
@click.option("--foreground", is_flag=True, help="Run in this terminal until Ctrl-C.")
@click.option(
    "--latency-ms",
    type=click.IntRange(0, 60000),
    default=0,
    metavar="MS",
    help="Delay every request by MS milliseconds.",
)
@click.option("--throttle", type=click.Choice(["on", "off"]), default="off", help="Enforce Key Vault's request limits.")
@click.option(
    "--challenge-resource",
    type=click.Choice(["azure", "ip-parent"]),
    default="azure",
    help="ip-parent lets unmodified SDK clients keep verify_challenge_resource on.",
)
def start(port, foreground, latency_ms, throttle, challenge_resource) -> None:
    """Start the local vault (in the background unless --foreground; does nothing if running)."""
    paths = _paths()
    tightened = paths.tighten()
    if tightened:
        click.echo(
            f"Closed the state directory {paths.home} to other users (it was readable by them): " + ", ".join(tightened)
        )
    extra = ["--latency-ms", str(latency_ms), "--throttle", throttle, "--challenge-resource", challenge_resource]
    if foreground:
        from ..local.server.process import main

        args = ["--home", str(paths.home), *extra] + (["--port", str(port)] if port is not None else [])
        sys.exit(main(args))
    try:
        runtime, started = control.start(paths, port=port, extra_args=extra)
    except control.StartFailed as exc:
        raise click.ClickException(str(exc)) from None
    verb = "Started" if started else "Already running:"
    names = ", ".join(f"{v['name']} https://127.0.0.1:{v['port']}" for v in runtime.vaults)
    click.echo(f"{verb} local vault (pid {runtime.pid}): {names}")


@local.command()
def stop() -> None:
    """Stop the background local vault."""
    if control.stop(_paths()):
        click.echo("Stopped the local vault.")
    else:
        click.echo("The local vault was not running.")


@local.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(as_json) -> None:
    """Is the local vault running, and where? Exit 0 when running, 3 when stopped."""
    info = control.status(_paths())
    if as_json:
        click.echo(json.dumps(info, indent=2))
    elif info["running"]:
        click.echo(f"Running (pid {info['pid']}), state in {info['home']}")
        for vault in info["vaults"]:
            click.echo(f"  {vault['name']}: {vault['url']}")
        click.echo(f"  ARM and Graph: {info['arm_url']}   tokens: {info['token_endpoint']}")
    else:
        click.echo(f"Stopped (state in {info['home']}). Run `kvnb local start`.")
    sys.exit(0 if info["running"] else 3)


@local.command()
@local_persona_option
@click.option("--vault", metavar="VAULT", help="Which local vault VAULT_URL points at (default: the first).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["sh", "json"]),
    default="sh",
    show_default=True,
    help="sh: export lines for eval; json: one object for programs.",
)
def env(persona, vault, fmt) -> None:
    """Print variables that make an unmodified SDK program use the local vault: eval "$(kvnb local env)"."""
    try:
        variables = control.environment(_paths(), persona, vault=vault)
    except (control.NotRunning, LookupError) as exc:
        raise click.ClickException(str(exc).strip('"')) from None
    if fmt == "json":
        click.echo(json.dumps(variables, indent=2))
        return
    for name, value in variables.items():
        click.echo(f"unset {name}" if value is None else f"export {name}={shlex.quote(value)}")


@local.command()
@click.option("--empty", is_flag=True, help="An empty vault where lead is administrator, instead of the seed.")
def reset(empty) -> None:
    """Back to the seed scenario (new random secret values), or an empty vault."""
    paths = _paths()
    if control.running(paths):
        _admin("reset", {"empty": empty})
    else:
        from ..local.seed import scenario
        from ..local.state.store import Store

        store = Store(paths)
        scenario.reset(store, empty=empty)
        store.close()
    click.echo("Reset the local vault to " + ("an empty vault." if empty else "the seed scenario."))


@local.command()
@click.option("--advance", metavar="DURATION", help="Move the vault's clock forward, e.g. 61m, 2h, 60d, PT61M.")
@click.option("--reset", "reset_", is_flag=True, help="Back to the wall clock.")
def clock(advance, reset_) -> None:
    """Shift the vault's clock for resource state (expiry, assignment end, reviews); tokens keep wall time."""
    if bool(advance) == bool(reset_):
        raise click.UsageError("Give exactly one of --advance DURATION or --reset.")
    if reset_:
        result = _admin("clock", {"reset": True})
    else:
        try:
            seconds = int(parse_duration(advance).total_seconds())
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--advance") from None
        result = _admin("clock", {"advance_seconds": seconds})
    click.echo(f"Vault clock is {result['offset_seconds']} s ahead of the wall clock.")


@local.command()
@click.option(
    "--latency-ms",
    type=click.IntRange(0, 60000),
    metavar="MS",
    help="Delay every request by MS milliseconds (0 for none).",
)
@click.option("--throttle", type=click.Choice(["on", "off"]), help="Answer 429 above Key Vault's request limits.")
def faults(latency_ms, throttle) -> None:
    """Inject latency and throttling (429 Throttled at Key Vault's real limits) at run time."""
    body = {}
    if latency_ms is not None:
        body["latency_ms"] = latency_ms
    if throttle is not None:
        body["throttle"] = throttle == "on"
    result = _admin("faults", body)
    click.echo(f"latency {result['latency_ms']} ms, throttling {'on' if result['throttle'] else 'off'}")


@local.command("add-vault")
@click.argument("name")
@click.option("--port", type=click.IntRange(0, 65535), default=0, metavar="PORT", help="Its port (0 picks a free one).")
def add_vault(name, port) -> None:
    """Serve another vault side by side (its own port; use it as local:NAME)."""
    result = _admin("vaults", {"name": name, "port": port})
    click.echo(f"Vault {result['name']} at https://127.0.0.1:{result['port']}")


def _directory():
    from ..local.state.directory import Directory
    from ..local.state.store import Store

    paths = _paths()
    if not paths.database.exists():
        raise click.ClickException("The local vault has never started here. Run `kvnb local start`.")
    return Directory(Store(paths))


def persona_rows(directory) -> list[dict]:
    """Every identity of the local tenant with its groups, for `kvnb local personas`."""
    names = {p.id: p.display_name for p in directory.groups()}
    rows = []
    for principal in directory.list_principals():
        rows.append(
            {
                "handle": principal.handle,
                "display_name": principal.display_name,
                "principal_type": principal.kind,
                "object_id": principal.id,
                "user_principal_name": principal.upn,
                "user_type": principal.user_type,
                "enabled": principal.enabled,
                "can_sign_in": principal.can_sign_in,
                "groups": sorted(names[g.id] for g in directory.groups_of(principal.id)),
            }
        )
    return rows


@local.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def personas(as_json) -> None:
    """List the local tenant's identities: who you can act as with --persona."""
    rows = persona_rows(_directory())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max(len(r["handle"] or "") for r in rows)
    people = [r for r in rows if r["principal_type"] != "Group"]
    groups = [r for r in rows if r["principal_type"] == "Group"]
    click.echo("People and apps (act as one with --persona NAME or `kvnb local login NAME`):")
    for row in people:
        flags = "" if row["can_sign_in"] else " (cannot sign in)"
        flags += " (guest)" if row["user_type"] == "Guest" else ""
        member_of = ", ".join(row["groups"]) or "-"
        click.echo(
            f"  {row['handle'] or '-':<{width}}  {row['principal_type']:<16} {row['display_name']}{flags}  "
            f"[{member_of}]"
        )
    click.echo("Groups (cannot sign in; their members hold their roles):")
    for row in groups:
        click.echo(f"  {row['handle'] or '-':<{width}}  {row['display_name']}")


@local.command()
@click.argument("name")
def login(name) -> None:
    """Act as local identity NAME by default (kvnb's `local` vault; `kvnb local env` too)."""
    principal = _directory().principal_by_handle(name)
    if principal is None:
        people = [r["handle"] for r in persona_rows(_directory()) if r["can_sign_in"]]
        raise click.ClickException(
            f"No local identity {name!r}.{did_you_mean(name, people)} See `kvnb local personas`."
        )
    if not principal.can_sign_in:
        raise click.ClickException(f"{name!r} cannot sign in (a group, or a disabled account).")
    write_private(_paths().login, (principal.handle + "\n").encode())
    click.echo(f"kvnb now acts as {principal.display_name} ({principal.upn or principal.handle}) on the local vault.")

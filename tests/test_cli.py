"""The `kvnb` command as a whole: its groups, and a start-up that does not load the heavy parts."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from kvnb.cli import cli


def test_every_command_group_is_registered():
    assert set(cli.commands) == {"access", "audit", "local", "notebook", "run", "scan", "secret"}


def test_audit_formats_match_the_audit_package():
    from kvnb.audit import FORMATS
    from kvnb.cli.audit import FORMATS as CLI_FORMATS

    assert CLI_FORMATS == FORMATS


def test_importing_the_cli_loads_no_pandas_or_azure_sdk():
    code = (
        "import sys, kvnb.cli; heavy = [m for m in ('pandas', 'azure.keyvault.secrets', "
        "'azure.mgmt.authorization') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == ""


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and "kvnb, version" in result.output


def test_vault_and_persona_options_are_shared_and_read_the_kvnb_variables(monkeypatch):
    """--vault/--persona: one definition (kvnb.cli.options) for every command that takes them."""
    import click

    from kvnb.cli.options import persona_option, vault_option

    @click.command()
    @vault_option
    @persona_option
    def show(vault, persona):
        click.echo(f"{vault}|{persona}")

    runner = CliRunner()
    monkeypatch.setenv("KVNB_VAULT", "azDevOpsKV01")
    monkeypatch.setenv("KVNB_PERSONA", "member")
    # KVNB_PERSONA is left to open_vault, which applies it to the local vault only.
    assert runner.invoke(show, []).output.strip() == "azDevOpsKV01|None"
    assert runner.invoke(show, ["--vault", "local", "--persona", "lead"]).output.strip() == "local|lead"
    for command in (["scan", "--help"], ["secret", "rotate", "--help"], ["access", "check", "--help"]):
        assert "KVNB_VAULT" in runner.invoke(cli, command).output
    for command in (["scan", "--help"], ["secret", "rotate", "--help"], ["audit", "--help"]):
        assert "KVNB_PERSONA" in runner.invoke(cli, command).output


def _commands(group, path=()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, path + (name,))
        else:
            yield path + (name,), command


def test_every_option_says_what_it_does_and_names_its_value():
    """Help for every option, and a metavar that says what to give (NAME, VAULT, MS), not click's default."""
    import click

    ctx = click.Context(cli)
    for path, command in _commands(cli):
        for param in command.params:
            if not isinstance(param, click.Option) or param.name == "help":
                continue
            where = f"kvnb {' '.join(path)} {param.opts[0]}"
            assert param.help, f"{where} has no help text"
            shown = param.make_metavar(ctx) if not param.is_flag and param.metavar is None else ""
            assert shown not in ("TEXT", "INTEGER", "INTEGER RANGE"), f"{where} shows click's default {shown}"

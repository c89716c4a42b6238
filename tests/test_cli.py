"""The `kvnb` command as a whole: its groups, and a start-up that does not load the heavy parts."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from kvnb.cli import cli


def test_every_command_group_is_registered():
    assert set(cli.commands) == {"audit", "local", "notebook", "run", "scan", "secret"}


def test_audit_formats_match_the_audit_package():
    from kvnb.audit import FORMATS
    from kvnb.cli.audit import FORMATS as CLI_FORMATS

    assert CLI_FORMATS == FORMATS


def test_importing_the_cli_loads_no_pandas_or_azure_sdk():
    code = ("import sys, kvnb.cli; heavy = [m for m in ('pandas', 'azure.keyvault.secrets', "
            "'azure.mgmt.authorization') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == ""


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and "kvnb, version" in result.output

"""%load_ext kvnb / %unload_ext kvnb, and the package's small public API."""

from __future__ import annotations

import subprocess
import sys

import pytest

import kvnb
from ipshell import ipython_shell, run
from kvnb.magics import KvMagics
from valuecheck import assert_not_leaked


def _registered(interactive) -> set[str]:
    magics = interactive.magics_manager.magics
    return {name for kind in ("line", "cell") for name in magics[kind] if name in ("kvget", "kvaccess")}


def test_public_api_is_pinned_and_sorted():
    assert kvnb.__all__ == sorted(kvnb.__all__)
    assert kvnb.__all__ == [
        "FetchEvent",
        "KvnbError",
        "Secret",
        "__version__",
        "fetch_ledger",
        "fetch_secret",
        "fetch_secrets",
        "load_ipython_extension",
        "open_vault",
        "panel",
        "unload_ipython_extension",
    ]
    for name in kvnb.__all__:
        assert getattr(kvnb, name) is not None


def test_importing_and_loading_does_not_import_azure_or_pandas():
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.instance().run_line_magic('load_ext', 'kvnb')\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('azure', 'pandas', 'msal', 'requests'))\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_load_registers_magics_redaction_and_settings(vault_env):
    from kvnb import redaction

    interactive = ipython_shell()
    interactive.run_line_magic("load_ext", "kvnb")
    try:
        assert _registered(interactive) == {"kvget", "kvaccess"}
        assert "kvget" in interactive.magics_manager.magics["cell"]
        assert redaction.installed(interactive)
        assert sum(isinstance(c, KvMagics) for c in interactive.configurables) == 1
    finally:
        interactive.run_line_magic("unload_ext", "kvnb")


def test_unload_removes_magics_and_every_hook(vault_env):
    from kvnb import fetch, redaction

    interactive = ipython_shell()
    publish_before = interactive.display_pub.publish
    format_before = interactive.displayhook.compute_format_data
    traceback_before = interactive._showtraceback
    post_execute_before = list(interactive.events.callbacks["post_execute"])
    stdout_before = sys.stdout

    interactive.run_line_magic("load_ext", "kvnb")
    run(interactive, "%kvget APICaller --persona member")
    assert fetch._targets
    interactive.run_line_magic("unload_ext", "kvnb")

    assert _registered(interactive) == set()
    assert not any(isinstance(c, KvMagics) for c in interactive.configurables)
    assert "KvMagics" not in interactive.magics_manager.registry
    assert not redaction.installed(interactive)
    assert interactive.display_pub.publish == publish_before
    assert interactive.displayhook.compute_format_data == format_before
    assert interactive._showtraceback == traceback_before
    assert interactive.events.callbacks["post_execute"] == post_execute_before
    assert sys.stdout is stdout_before
    assert not fetch._targets
    with pytest.raises(Exception, match="kvget"):
        run(interactive, "%kvget APICaller")
    del interactive.user_ns["api_caller"]

    # And it loads again as new.
    interactive.run_line_magic("load_ext", "kvnb")
    try:
        run(interactive, "%kvget APICaller --persona member")
        assert interactive.user_ns.pop("api_caller").name == "APICaller"
    finally:
        interactive.run_line_magic("unload_ext", "kvnb")
        fetch.close_targets()


def test_terminal_ipython(vault_env):
    """The real `ipython` command (TerminalInteractiveShell), as a user at a terminal runs it."""
    code = (
        "%load_ext kvnb\n%kvget APICaller --persona member\nprint(repr(api_caller))\n"
        "%kvget APICaller --persona newmember\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "IPython",
            "--no-banner",
            "--colors=NoColor",
            "--HistoryManager.hist_file=:memory:",
            "-c",
            code,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    value = vault_env.secret_client("lead").get_secret("APICaller").value
    assert "APICaller → api_caller" in result.stdout
    assert "<secret APICaller " in result.stdout
    assert "UsageError: Access denied" in result.stderr and "azDevOpsKV01_secAccess" in result.stderr
    assert_not_leaked(value, result.stdout + result.stderr)


def test_help_matches_the_parser(ip, capsys):
    ip.run_line_magic("pinfo", "%kvget")
    out = capsys.readouterr().out
    for flag in ("--as", "--version", "--vault", "--persona", "--env", "--peek", "--ledger"):
        assert flag in out

"""``kvnb scan``: exit codes, table and JSON output, fingerprint mode, and reading values from a vault.

Values are random per run or read from the seeded local vault; none may reach the output.
"""

from __future__ import annotations

import io
import json
import secrets
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kvnb.cli import cli
from kvnb.cli.scan import EXIT_CLEAN, EXIT_ERROR, EXIT_FOUND, _TerminalProgress, run_scan, scan
from kvnb.scan import write_fingerprints
from kvnb.scan.findings import MASK
from valuecheck import assert_no_trace

VAULT_URL = "https://azdevopskv01.vault.azure.net"


def make_value() -> str:
    return f'{secrets.token_urlsafe(16)}"{secrets.token_urlsafe(8)}\\{secrets.token_urlsafe(8)}'


@pytest.fixture
def value() -> str:
    return make_value()


@pytest.fixture
def tree(tmp_path, value) -> Path:
    """A raw copy in code, a JSON-escaped one in a config file and one in a notebook cell; a clean dir."""
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "clean").mkdir()
    (root / "clean/readme.md").write_text("# nothing to see\n")
    (root / "src/app.py").write_text(f"import os\nTOKEN = '{value}'\n")
    (root / "src/config.json").write_text(json.dumps({"token": value}) + "\n")
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# Demo"},
            {
                "cell_type": "code",
                "metadata": {},
                "outputs": [],
                "execution_count": 1,
                "source": ["import os\n", f"token = '{value}'"],
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root / "demo.ipynb").write_text(json.dumps(notebook, indent=1))
    return root


EXPECTED_PLACES = {
    ("src/app.py", None, None, 2, 10, "raw"),
    ("src/config.json", None, None, 1, 12, "json"),
    ("demo.ipynb", 2, "source", 2, 10, "raw"),
}


def places(document: dict, root: Path) -> set[tuple]:
    return {
        (Path(f["path"]).relative_to(root).as_posix(), f["cell"], f["part"], f["line"], f["column"], f["form"])
        for f in document["findings"]
    }


def invoke(*args: str):
    return CliRunner().invoke(scan, list(args), catch_exceptions=False)


# --- run_scan: what the command does once it holds the values ----------------------------------


def test_run_scan_prints_a_masked_table_and_returns_1(tree, value, capsys):
    code = run_scan([str(tree)], {"api/v1": value})  # outside the assert, whose report would show the value
    assert code == EXIT_FOUND
    out = capsys.readouterr().out
    assert_no_trace(out, value)
    assert "cell 2 source 2:10" in out and f"TOKEN = '{MASK}'" in out
    assert "Found 3 copies in 3 files." in out


def test_run_scan_json_names_every_place(tree, value, capsys):
    code = run_scan([str(tree)], {"api/v1": value}, output="json")  # outside the assert: the value
    assert code == EXIT_FOUND
    out = capsys.readouterr().out
    assert_no_trace(out, value)
    document = json.loads(out)
    assert places(document, tree) == EXPECTED_PLACES
    assert document["summary"]["labels"] == ["api/v1"] and document["summary"]["files_scanned"] == 4


def test_run_scan_on_a_clean_tree_returns_0(tree, value, capsys):
    code = run_scan([str(tree / "clean")], {"api/v1": value})  # outside the assert: the value
    assert code == EXIT_CLEAN
    assert "No copy found." in capsys.readouterr().out


def test_run_scan_reports_partial_copies_and_reads_pickles_with_binary(tree, value, capsys):
    import pickle

    (tree / "src/notes.md").write_text(f"the token starts {value[:20]}...\n")
    (tree / "store.pkl").write_bytes(pickle.dumps({"token": value}, protocol=pickle.HIGHEST_PROTOCOL))
    code = run_scan([str(tree)], {"api/v1": value})
    out = capsys.readouterr().out
    assert code == EXIT_FOUND and "COPY" in out.splitlines()[0]
    assert "partial, 20 chars" in out and "Skipped: 1 binary file." in out
    code = run_scan([str(tree)], {"api/v1": value}, binary=True, output="json")
    out = capsys.readouterr().out
    assert_no_trace(out, value)
    pickled = [f for f in json.loads(out)["findings"] if f["path"].endswith("store.pkl")]
    assert [(f["part"], f["whole"]) for f in pickled] == [("pickle", True)]


# --- the command in fingerprint mode: no vault at all -------------------------------------------


@pytest.fixture
def fingerprints(tmp_path, value) -> Path:
    path = tmp_path / "fingerprints.json"
    write_fingerprints(path, {"api/v1": value}, VAULT_URL)
    return path


def test_fingerprints_mode_finds_raw_and_json_copies(tree, value, fingerprints):
    result = invoke(str(tree), "--fingerprints", str(fingerprints), "--output", "json")
    assert result.exit_code == EXIT_FOUND
    assert_no_trace(result.output, value)
    assert places(json.loads(result.stdout), tree) == EXPECTED_PLACES


def test_fingerprints_mode_table_and_clean_exit(tree, value, fingerprints):
    found = invoke(str(tree), "--fingerprints", str(fingerprints))
    assert found.exit_code == EXIT_FOUND and "demo.ipynb" in found.output
    assert_no_trace(found.output, value)
    clean = invoke(str(tree / "clean"), "--fingerprints", str(fingerprints))
    assert clean.exit_code == EXIT_CLEAN and "No copy found." in clean.output


def test_the_kvnb_group_has_the_scan_command(tree, fingerprints):
    result = CliRunner().invoke(cli, ["scan", str(tree), "--fingerprints", str(fingerprints)])
    assert result.exit_code == EXIT_FOUND


@pytest.mark.parametrize(
    "args, message",
    [
        (["{tree}"], "--secret NAME"),
        (["{tree}", "--secret", "api", "--fingerprints", "{fp}"], "drop --secret"),
        (["{missing}", "--fingerprints", "{fp}"], "does not exist"),
        (["{tree}", "--fingerprints", "{bad}"], "not a kvnb fingerprint export"),
        (["--fingerprints", "{fp}"], "give at least one PATH"),
        (["--secret", "api"], "give at least one PATH"),
    ],
)
def test_usage_errors_exit_2(tree, fingerprints, tmp_path, args, message):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = invoke(*(a.format(tree=tree, fp=fingerprints, missing=tmp_path / "missing", bad=bad) for a in args))
    assert result.exit_code == EXIT_ERROR
    assert message in result.output


# --- the command reading values from the local vault ---------------------------------------------


@pytest.fixture
def vault(local_vault, monkeypatch):
    """The seeded local vault, chosen the usual way (KVNB_HOME + KVNB_VAULT=local)."""
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    monkeypatch.setenv("KVNB_VAULT", "local")
    monkeypatch.delenv("KVNB_PERSONA", raising=False)
    return local_vault


def plant(root: Path, name: str, value: str) -> None:
    (root / name).write_text(f"SECRET = '{value}'\n")


def test_member_finds_the_current_value(vault, tree):
    current = vault.secret_client("lead").get_secret("APICaller")
    plant(tree / "src", "hardcoded.py", current.value)
    result = invoke(str(tree), "--secret", "APICaller", "--persona", "member", "--output", "json")
    assert result.exit_code == EXIT_FOUND
    assert_no_trace(result.output, current.value)
    findings = json.loads(result.stdout)["findings"]
    assert [(Path(f["path"]).name, f["label"]) for f in findings] == [
        ("hardcoded.py", f"APICaller/{current.properties.version}")
    ]


def test_all_versions_finds_older_values_and_counts_disabled_ones(vault, tree):
    lead = vault.secret_client("lead")
    versions = sorted(lead.list_properties_of_secret_versions("APICaller"), key=lambda p: p.created_on)
    assert len(versions) >= 3
    oldest, disabled = versions[0], versions[1]
    old_value = lead.get_secret("APICaller", oldest.version).value
    disabled_value = lead.get_secret("APICaller", disabled.version).value
    lead.update_secret_properties("APICaller", disabled.version, enabled=False)
    plant(tree / "src", "old.py", old_value)
    plant(tree / "src", "older.py", disabled_value)
    result = invoke(str(tree), "--secret", "APICaller", "--all-versions", "--persona", "member", "--output", "json")
    assert result.exit_code == EXIT_FOUND
    assert "1 disabled version(s) of APICaller not searched" in result.stderr
    found = {(Path(f["path"]).name, f["label"]) for f in json.loads(result.stdout)["findings"]}
    assert found == {("old.py", f"APICaller/{oldest.version}")}
    assert_no_trace(result.output, old_value)


def test_export_then_scan_without_the_vault(vault, tree, tmp_path, monkeypatch):
    value = vault.secret_client("lead").get_secret("APICaller").value
    plant(tree / "src", "hardcoded.py", value)
    export = tmp_path / "apicaller.json"
    exported = invoke("--secret", "APICaller", "--persona", "member", "--export-fingerprints", str(export))
    assert exported.exit_code == EXIT_CLEAN and "Wrote fingerprints of 1 version(s)" in exported.stderr
    assert_no_trace(export.read_text(), value)

    def no_vault(*args, **kwargs):
        raise AssertionError("fingerprint mode must not open the vault")

    monkeypatch.setattr("kvnb.vault.open_vault", no_vault)
    result = invoke(str(tree), "--fingerprints", str(export), "--output", "json")
    assert result.exit_code == EXIT_FOUND
    assert [Path(f["path"]).name for f in json.loads(result.stdout)["findings"]] == ["hardcoded.py"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--secret", "APICaller", "--persona", "newmember"], "--export-fingerprints FILE --secret APICaller"),
        (["--secret", "APICaller", "--persona", "newmember"], "Key Vault Secrets User"),
        (["--secret", "APICallr", "--persona", "member"], "Did you mean APICaller?"),
        (["--secret", "LegacyFtpPassword", "--persona", "member"], "--all-versions"),
        (["--secret", "APICaller", "--vault", "not a vault"], "is not a vault name"),
    ],
)
def test_vault_errors_exit_2_and_say_what_to_do(vault, tree, args, message):
    result = invoke(str(tree), *args)
    assert result.exit_code == EXIT_ERROR
    assert message in result.output


# --- progress ------------------------------------------------------------------------------------


class TerminalLike(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_only_for_large_trees_on_a_terminal(monkeypatch):
    terminal = TerminalLike()
    monkeypatch.setattr(sys, "stderr", terminal)
    small = _TerminalProgress()
    for done in range(1, 11):
        small(done, 10)
    small.close()
    assert terminal.getvalue() == ""
    large = _TerminalProgress()
    for done in range(1, 2001):
        large(done, 2000)
    large.close()
    assert "2000" in terminal.getvalue()


def test_no_progress_when_stderr_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    progress = _TerminalProgress()
    progress(1, 5000)
    progress.close()
    assert sys.stderr.getvalue() == ""

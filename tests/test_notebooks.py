"""The tutorial notebooks run as tests: each one, top to bottom, in a real kernel, on a fresh seed.

As a user's kernel would, the kernel finds the test's local vault through ``KVNB_HOME`` and
``KVNB_VAULT=local``; parameters are injected papermill-style by rewriting the cell tagged
``parameters``. After each run the executed notebook is saved and searched for every value the
vault ever held, in every encoding a notebook file could carry it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import nbformat
import pytest
from nbclient import NotebookClient

from kvnb.fingerprint import short_fingerprint
from nboutputs import outputs_text

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
EXPECTED = ["01_team_lead_setup.ipynb", "02_new_team_member.ipynb", "03_secret_rotation.ipynb", "04_access_audit.ipynb"]
KERNEL_TIMEOUT = 180  # seconds per cell; a whole notebook takes 5-20 s


# -- running a notebook --------------------------------------------------------------------------------
def with_parameters(nb, **values):
    """Rewrite the ``parameters`` cell's assignments of *values* (each must be a parameter)."""
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "a notebook has exactly one cell tagged `parameters`"
    lines = cells[0].source.splitlines()
    for name, value in values.items():
        matches = [i for i, line in enumerate(lines) if re.match(rf"{name}\s*=", line)]
        assert len(matches) == 1, f"{name} is not a parameter of this notebook"
        lines[matches[0]] = f"{name} = {value!r}"
    cells[0].source = "\n".join(lines)
    return nb


@pytest.fixture
def kernel_env(local_vault, monkeypatch):
    """The environment of a user's kernel: the vault's home, `local`, and kvnb's CLI on PATH."""
    monkeypatch.setenv("KVNB_HOME", str(local_vault.paths.home))
    monkeypatch.setenv("KVNB_VAULT", "local")
    for name in (
        "KVNB_PERSONA",
        "KVNB_CACHE_TTL",
        "KVNB_PEEK_POLICY",
        "KVNB_REDACTION",
        "KVNB_VALUE_TTL",
        "KVNB_CREDENTIAL_OPTIONS",
    ):
        monkeypatch.delenv(name, raising=False)
    # `!kvnb …` in a notebook finds the kvnb installed next to the kernel's Python.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    return local_vault


def execute(name: str, tmp_path: Path, **parameters):
    """Run notebook *name* with *parameters*; return it executed and the path it was saved to."""
    nb = with_parameters(nbformat.read(NOTEBOOKS / name, as_version=4), **parameters)
    work = tmp_path / "cwd"
    work.mkdir(exist_ok=True)
    NotebookClient(
        nb, timeout=KERNEL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    ).execute()
    saved = tmp_path / f"executed-{name}"
    nbformat.write(nb, saved)
    return nb, saved


def text(nb, cell_id: str) -> str:
    """What cell *cell_id* showed, as text: streams, plain-text results, errors."""
    cell = next(c for c in nb.cells if c.get("id") == cell_id)
    return outputs_text(cell.outputs)


def errors(nb) -> list[str]:
    return [
        f"{c.id}: {o.ename}" for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]


# -- searching for leaked values -----------------------------------------------------------------------
def every_value(vault) -> set[str]:
    """Every version's value of every secret, read with the lead's SecretClient.

    Key Vault returns no value for a disabled version, so one is enabled for the read and
    disabled again.
    """
    client = vault.secret_client("lead")
    values = set()
    for item in client.list_properties_of_secrets():
        for version in client.list_properties_of_secret_versions(item.name):
            if version.enabled:
                values.add(client.get_secret(item.name, version.version).value)
                continue
            client.update_secret_properties(item.name, version.version, enabled=True)
            values.add(client.get_secret(item.name, version.version).value)
            client.update_secret_properties(item.name, version.version, enabled=False)
    count = len(values)  # outside the assert, whose report would show len()'s argument: the values
    assert count >= 10, "the seed holds at least ten secret versions"
    return values


def encoded_forms(value: str) -> set[str]:
    """The value as a notebook file could hold it: raw, JSON-escaped, URL-encoded, base64, hex."""
    data = value.encode()
    escaped = {json.dumps(value, ensure_ascii=ascii_only)[1:-1] for ascii_only in (True, False)}
    twice = {json.dumps(once, ensure_ascii=ascii_only)[1:-1] for once in escaped for ascii_only in (True, False)}
    forms = {value, *escaped, *twice, quote(value, safe=""), quote_plus(value), data.hex(), data.hex().upper()}
    for offset in range(3):  # inside a longer base64 blob the value can start at any of 3 alignments
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + data).decode()
            forms.add(encoded[(8 * offset + 5) // 6 : 8 * (offset + len(data)) // 6])
    return forms


def assert_no_value_in(saved: Path, values: set[str]) -> None:
    content = saved.read_text(encoding="utf-8")
    leaked = sum(1 for value in values for form in encoded_forms(value) if form in content)
    # A count, never the value: the assertion message must not leak what it looks for.
    assert leaked == 0, f"{leaked} encoded secret value(s) found in {saved.name}"


# -- the notebooks as committed ------------------------------------------------------------------------
def test_the_four_notebooks_are_committed_without_outputs():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == EXPECTED
    for name in EXPECTED:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and all(c.outputs == [] and c.execution_count is None for c in code), name
        assert "widgets" not in nb.metadata, name  # no saved widget state either
        parameters = [c for c in code if "parameters" in c.metadata.get("tags", [])]
        assert len(parameters) == 1 and parameters[0].source.startswith('VAULT = "local"'), name


# -- executed, one fresh seed each ---------------------------------------------------------------------
@pytest.mark.slow
def test_01_team_lead_sees_drift_applies_the_plan_and_reviews(kernel_env, tmp_path):
    nb, saved = execute("01_team_lead_setup.ipynb", tmp_path, VAULT="local")
    assert errors(nb) == []

    assert "You are lead@" in text(nb, "setup")
    settings = text(nb, "vault-settings")
    assert re.search(r"Azure RBAC permission model\s+True", settings)
    assert re.search(r"purge protection\s+False", settings)
    vault_findings = text(nb, "vault-findings")
    assert "V3 [medium] Purge protection is disabled" in vault_findings and "V4 [medium]" in vault_findings

    drift = text(nb, "plan-drift")
    assert "3 drift items" in drift and re.search(r"shortcut@\S+\s+Key Vault Secrets User\s+bypass\s+User", drift)
    applied_plan = text(nb, "apply")
    assert "created 0, removed 1 assignment(s)" in applied_plan
    assert applied_plan.count("kept (your own): bypass: lead@") == 2  # the lead's standing roles, as in the audit
    assert "2 drift items" in text(nb, "plan-after") and "shortcut@" not in text(nb, "plan-after")

    assert "azDevOpsKV01_secAccess (Key Vault Secrets User)" in text(nb, "packages")
    assert "pendingApproval" in text(nb, "requests")
    reviews = text(nb, "reviews")
    for group, status in [
        ("admin", "ok"),
        ("pipeline", "no_review"),
        ("reader", "overdue"),
        ("secAccess", "not_applied"),
    ]:
        assert re.search(rf"azDevOpsKV01_{group}\s+Key Vault [A-Za-z ]+?\s+{status}\s", reviews), (group, status)
    applied = text(nb, "apply-review")
    assert re.search(r"External Contractor\s+Deny\s+AppliedSuccessfully", applied)
    assert re.search(r"azDevOpsKV01_secAccess\s+Key Vault Secrets User\s+ok\s", applied)
    holding = text(nb, "still-holding")  # why whoever was reviewed still holds what they hold
    assert re.search(
        r"External Contractor: denied and removed from the group; .*Holds: Key Vault Reader "
        r"through group azDevOpsKV01_reader\.",
        holding,
    )
    assert re.search(
        r"Former Team Member: nobody decided \(recommended: \w+\), so applying changed nothing; "
        r".*Holds: .*Key Vault Secrets User through group azDevOpsKV01_secAccess",
        holding,
    )
    assert "high: R4 Guest holds access" in text(nb, "panel-summary")

    assert_no_value_in(saved, every_value(kernel_env))


@pytest.mark.slow
def test_02_new_member_is_refused_then_allowed_and_calls_the_api(kernel_env, tmp_path):
    nb, saved = execute("02_new_team_member.ipynb", tmp_path, VAULT="local", API_URL=None)
    assert errors(nb) == []
    current = kernel_env.secret_client("lead").get_secret("APICaller").value
    fingerprint = short_fingerprint(current, kernel_env.url)

    assert "Key Vault Reader: through group azDevOpsKV01_reader" in text(nb, "step1-access")
    refused = text(nb, "step1-refused")
    assert refused.startswith("Refused: Access denied") and "azDevOpsKV01_secAccess" in refused
    request = text(nb, "step2-request")  # the seed's newmember asked yesterday: one request is open
    assert "already an open request" in request or request.startswith("Requested azDevOpsKV01_secAccess")
    assert "Request " in text(nb, "step3-approve") and ": delivered" in text(nb, "step3-approve")
    assert ": delivered." in text(nb, "step3-delivered")
    fetched = text(nb, "step4-fetch")
    assert "Key Vault Secrets User: through group azDevOpsKV01_secAccess" in fetched
    assert "APICaller → api_caller" in fetched and f"fingerprint {fingerprint}" in fetched
    assert "No peeking: Peeking at APICaller is not allowed" in text(nb, "step5-peek")
    assert f"Fingerprint {fingerprint}, lead's {fingerprint}: same value" in text(nb, "step5-fingerprint")
    assert "Plain SDK, same secret: True" in text(nb, "snippet-run")
    assert "API answered 200 OK" in text(nb, "step6-call")

    assert_no_value_in(saved, every_value(kernel_env))


@pytest.mark.slow
def test_03_rotation_keeps_run_time_fetches_working_and_finds_the_copy(kernel_env, tmp_path):
    lead = kernel_env.secret_client("lead")
    before = {v.version for v in lead.list_properties_of_secret_versions("APICaller")}
    values_before = every_value(kernel_env)
    nb, saved = execute("03_secret_rotation.ipynb", tmp_path, VAULT="local", API_URL=None)
    assert errors(nb) == []

    versions = sorted(lead.list_properties_of_secret_versions("APICaller"), key=lambda v: v.created_on)
    new = [v for v in versions if v.version not in before]
    assert len(new) == 2, "option 1 and option 2 each added a version"
    by_team, by_lead = new
    assert by_team.tags["rotated-by"].startswith("aad-team@") and by_lead.tags["rotated-by"].startswith("lead@")
    assert by_lead.tags["rotation-reason"] == "suspected leak (SecOps)"
    team_fp, lead_fp = (short_fingerprint(lead.get_secret("APICaller", v.version).value, kernel_env.url) for v in new)

    assert "fetching at run time: 200\ncopy taken earlier:   200" in text(nb, "before-copies")
    assert "Granted Key Vault Secrets Officer to AzureAD team on secret APICaller until" in text(nb, "option1-grant")
    option1 = text(nb, "option1-rotate")
    assert f"new version {by_team.version[:8]} set in azDevOpsKV01 by aad-team@" in option1
    assert f"Verified: fingerprint set {team_fp} = read back {team_fp}." in option1
    assert "Matches the AzureAD team's key: True" in text(nb, "option1-verify")
    assert "Revoked Key Vault Secrets Officer from AzureAD team on secret APICaller" in text(nb, "option1-revoke")
    assert "AzureAD team after the revoke: You may not set APICaller" in text(nb, "option1-after")
    option2 = text(nb, "option2-rotate")
    assert f"Verified: fingerprint set {lead_fp} = read back {lead_fp}." in option2

    clients = text(nb, "clients-after")
    assert f"now version {by_lead.version[:8]} fingerprint {lead_fp}" in clients
    assert "fetching at run time: 200" in clients and "copy taken earlier:   401" in clients
    scan = text(nb, "scan")
    assert re.search(r"kvnb-leak-demo-\w+/partner_client\.py\s+3:12\s+APICaller/\w+\s+raw", scan), scan[-500:]
    assert "Found 1 copy in 1 file." in scan

    assert_no_value_in(saved, values_before | every_value(kernel_env))


@pytest.mark.slow
def test_04_audit_panel_findings_export_and_cli_by_vault_url(kernel_env, tmp_path):
    # VAULT as a URL: the one parameter a user changes, here pointing at the local vault's address.
    nb, saved = execute("04_access_audit.ipynb", tmp_path, VAULT=kernel_env.url)
    assert errors(nb) == []

    findings = text(nb, "findings")
    for finding in ("R4 ", "R5 ", "R2 ", "P4 ", "S1 ", "S4 ", "S6 ", "V3 ", "V4 "):
        assert re.search(rf"\s{finding}", findings), finding
    assert re.search(r"high\s+1\b", text(nb, "severity"))
    export = re.search(r"Wrote (\S+-audit\.html) \(([\d,]+) bytes\)", text(nb, "export"))
    assert export and int(export[2].replace(",", "")) > 10_000
    report = Path(export[1]).read_text(encoding="utf-8")
    assert "Guest holds access to the vault" in report
    read = text(nb, "read")  # run alone: the seed as planted
    assert "External Contractor (guest): Key Vault Secrets User at vault, via azDevOpsKV01_secAccess" in read
    assert "Developer With Direct Access: Key Vault Secrets User at vault, direct" in read
    assert re.search(
        r"plan: 3 drift items; bypass: .*the audit's R2 names 3 direct user assignments: same count",
        text(nb, "plan-agrees"),
        re.S,
    )
    cli = text(nb, "cli")
    assert "Audited as lead@" in cli and re.search(r"7 secrets; findings: 1 high, \d+ medium", cli)
    assert re.search(r"\[\s+high\] R4\s+Guest holds access to the vault", cli)
    assert "exit status 1" in text(nb, "cli-exit")

    assert_no_value_in(saved, every_value(kernel_env))
    assert_no_value_in(Path(export[1]), every_value(kernel_env))


@pytest.mark.slow
def test_04_after_01_tells_what_01_changed(kernel_env, tmp_path):
    first, _ = execute("01_team_lead_setup.ipynb", tmp_path, VAULT="local")
    assert errors(first) == []
    nb, saved = execute("04_access_audit.ipynb", tmp_path, VAULT="local")
    assert errors(nb) == []
    read = text(nb, "read")
    # 01 applied the secAccess review (the contractor left it) and removed the developer's direct grant
    assert "External Contractor (guest): Key Vault Reader at vault, via azDevOpsKV01_reader" in read
    assert "via azDevOpsKV01_secAccess" not in read.split("R5 –")[0]
    assert "Developer With Direct Access" not in read
    assert "Team Lead: Key Vault Data Access Administrator at vault, direct" in read  # R2, R7, P1: kept
    assert re.search(
        r"plan: 2 drift items; bypass: .*the audit's R2 names 2 direct user assignments: same count",
        text(nb, "plan-agrees"),
        re.S,
    )
    assert_no_value_in(saved, every_value(kernel_env))


def test_the_leak_search_finds_a_value_in_each_form(tmp_path):
    """The search above can fail: each encoding, embedded in a notebook-like file, is caught."""
    import secrets

    value = secrets.token_urlsafe(32) + "/+é"
    blobs = {
        "raw": value,
        "json": json.dumps({"text": f'key = "{value}"'}),
        "url": "https://api.example/?key=" + quote(value, safe=""),
        "base64": base64.b64encode(b"user:" + value.encode()).decode(),
        "base64url": base64.urlsafe_b64encode(b"ab" + value.encode()).decode(),
        "hex": value.encode().hex(),
    }
    for form, blob in blobs.items():
        path = tmp_path / f"{form}.ipynb"
        path.write_text(json.dumps({"cells": [{"outputs": [{"text": blob}]}]}), encoding="utf-8")
        with pytest.raises(AssertionError, match="1 encoded secret value"):
            assert_no_value_in(path, {value})
    clean = tmp_path / "clean.ipynb"
    clean.write_text(json.dumps({"cells": [{"outputs": [{"text": value[:-4]}]}]}), encoding="utf-8")
    assert_no_value_in(clean, {value})

"""``kvnb access``: %kvaccess for the terminal, run as a user runs it (a child process) against the seeded
local vault. Each seed persona's view, requests decided by someone else (never by the requestor), grants,
reviews and the plan; messages name `kvnb access …` commands, never magics; exit codes 0/1/2.
"""

from __future__ import annotations

import json
import re

from kvnbcli import kvnb_cli, run_kvnb


def kvnb(vault, *args: str, persona: str | None = None, env: dict | None = None):
    extra = {"KVNB_VAULT": "local", **({"KVNB_PERSONA": persona} if persona else {}), **(env or {})}
    return run_kvnb(vault.paths.home, *args, env=extra)


def one_line_refusal(done, *wanted: str) -> str:
    """An exit-2 refusal: one short line on stderr saying what happened, no traceback, no magic."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    message = done.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message, message
    assert "%kvaccess" not in message and "KvMagics" not in message, message
    for text in wanted:
        assert text in message, message
    return message


def test_whoami_shows_roles_and_the_cli_command_to_request_more(local_vault):
    done = kvnb(local_vault, "access", "whoami", persona="newmember")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"You are newmember@kvnblocal\.onmicrosoft\.com \(User, object id [0-9a-f-]{36}\)", out)
    assert "Key Vault Reader: through group azDevOpsKV01_reader" in out
    assert re.search(r"\bget\s+no", out) and re.search(r"\blist\s+yes\s+Key Vault Reader", out)
    assert (
        "To get: you need Key Vault Secrets User; request the access package azDevOpsKV01_secAccess "
        '(Key Vault Secrets User): `kvnb access request "Key Vault Secrets User" --reason WHY`.'
    ) in out
    assert "%kvaccess" not in out


def test_check_exits_1_when_you_may_not_read_the_value(local_vault):
    member = kvnb(local_vault, "access", "check", "APICaller", "--output", "json", persona="member")
    assert member.returncode == 0, member.stderr
    rows = {row["operation"]: row["allowed"] for row in json.loads(member.stdout)}
    assert rows["get"] is True and rows["set"] is False
    assert "Your roles on secret APICaller in azDevOpsKV01:" in member.stderr  # prose beside JSON, not in it
    newmember = kvnb(local_vault, "access", "check", "APICaller", persona="newmember")
    assert newmember.returncode == 1
    assert re.search(r"\bget\s+no", newmember.stdout)


def test_request_is_decided_by_the_approver_then_listed_no_more(local_vault):
    already = kvnb(
        local_vault,
        "access",
        "request",
        "Key Vault Secrets User",
        "--reason",
        "partner API client",
        persona="newmember",
    )  # the seed already holds one open request for this package
    assert "already an open request" in one_line_refusal(already)
    listed = kvnb(local_vault, "access", "requests", "--output", "json", persona="lead")
    (pending,) = json.loads(listed.stdout)
    assert pending["requested_by"] == "newmember@kvnblocal.onmicrosoft.com"
    approved = kvnb(local_vault, "access", "approve", pending["request_id"], "--reason", "welcome", persona="lead")
    assert approved.returncode == 0 and f"Request {pending['request_id']}: delivered" in approved.stdout
    assert kvnb(local_vault, "access", "check", "APICaller", persona="newmember").returncode == 0
    empty = kvnb(local_vault, "access", "requests", persona="lead")
    assert "No access request waits for your decision." in empty.stdout


def test_request_by_package_name_then_denied(local_vault):
    made = kvnb(
        local_vault, "access", "request", "azDevOpsKV01_reader", "--reason", "to see what exists", persona="aad-team"
    )
    assert made.returncode == 0, made.stderr
    request_id = re.search(
        r"Requested azDevOpsKV01_reader.* \(request ([0-9a-f-]{36}), \w+\)\. "
        r"Its approvers see it with `kvnb access requests`\.",
        made.stdout,
    )[1]
    denied = kvnb(local_vault, "access", "deny", request_id, "--reason", "not needed", persona="lead")
    assert f"Request {request_id}: denied" in denied.stdout


def test_a_requestor_may_not_approve_their_own_request(local_vault):
    made = kvnb(local_vault, "access", "request", "azDevOpsKV01_secAccess", "--reason", "rotation duty", persona="lead")
    assert made.returncode == 0, made.stderr
    request_id = re.search(r"\(request ([0-9a-f-]{36}),", made.stdout)[1]
    one_line_refusal(kvnb(local_vault, "access", "approve", request_id, persona="lead"))
    mine = kvnb(local_vault, "access", "requests", "--output", "json", persona="lead")
    assert request_id not in mine.stdout  # not offered to its own requestor either


def test_grant_for_an_hour_then_revoke_and_a_member_may_not_grant(local_vault):
    granted = kvnb(
        local_vault,
        "access",
        "grant",
        "AzureAD team",
        "Key Vault Secrets Officer",
        "--scope",
        "secret/APICaller",
        "--for",
        "1h",
        "--reason",
        "rotation",
        persona="lead",
    )
    assert re.search(
        r"Granted Key Vault Secrets Officer to AzureAD team on secret APICaller until .* UTC\.", granted.stdout
    ), granted.stderr
    revoked = kvnb(
        local_vault,
        "access",
        "revoke",
        "AzureAD team",
        "Key Vault Secrets Officer",
        "--scope",
        "secret/APICaller",
        persona="lead",
    )
    assert "Revoked Key Vault Secrets Officer from AzureAD team on secret APICaller" in revoked.stdout
    one_line_refusal(
        kvnb(local_vault, "access", "grant", "aad-team", "Key Vault Secrets User", persona="member"),
        "You may not grant roles",
    )


def test_review_and_plan(local_vault):
    review = kvnb(local_vault, "access", "review", "azDevOpsKV01_secAccess", persona="lead")
    assert "Decisions of the last completed review of azDevOpsKV01_secAccess:" in review.stdout, review.stderr
    assert re.search(r"External Contractor\s+User\s+Deny", review.stdout)
    plan = kvnb(local_vault, "access", "plan", "--output", "json", persona="lead")
    assert plan.returncode == 1  # drift is a failed check
    drift = json.loads(plan.stdout)
    assert any(
        d["kind"] == "bypass"
        and d["principal_name"] == "shortcut@kvnblocal.onmicrosoft.com"
        and d["role_name"] == "Key Vault Secrets User"
        for d in drift
    ), drift
    assert re.search(r"Governance plan for azDevOpsKV01: \d+ drift items?\.", plan.stderr)
    assert "1 drift items" not in plan.stderr


def test_refusals_and_usage_errors_are_one_line_with_exit_2(local_vault):
    no_vault = run_kvnb(local_vault.paths.home, "access", "whoami")
    one_line_refusal(no_vault, "No vault given", "pass --vault VAULT", "KVNB_VAULT")
    one_line_refusal(kvnb(local_vault, "access", "check", "bad_name"), "not a secret name")
    one_line_refusal(
        kvnb(local_vault, "access", "grant", "aad-team", "Key Vault Reader", "--scope", "keys/x", persona="lead"),
        "--scope takes secret/NAME",
    )
    one_line_refusal(
        kvnb(local_vault, "access", "grant", "aad-team", "Key Vault Reader", "--for", "soon", persona="lead"),
        "Cannot read the duration",
    )
    usage = kvnb(local_vault, "access", "request", "Key Vault Secrets User", persona="newmember")
    assert usage.returncode == 2 and "--reason" in usage.stderr


def test_a_stopped_local_vault_is_started_with_a_note(tmp_path):
    home = tmp_path / "home"
    kvnb_cli(home, "local", "start", "--port", "0")  # seeds on a free port, kept for the next start
    kvnb_cli(home, "local", "stop")
    try:
        done = run_kvnb(home, "access", "whoami", "--vault", "local", "--persona", "lead")
        assert done.returncode == 0, done.stderr
        assert done.stderr.startswith("Starting the local vault (not running)…\n")
        again = run_kvnb(home, "access", "whoami", "--vault", "local", "--persona", "lead")
        assert again.returncode == 0 and "Starting" not in again.stderr
    finally:
        kvnb_cli(home, "local", "stop")

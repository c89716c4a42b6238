"""%kvaccess in a real IPython shell: what each seed persona may do and why, and the governance verbs."""

from __future__ import annotations

import re

import pytest
from IPython.core.error import UsageError

from ipshell import run


def output(capsys) -> str:
    return capsys.readouterr().out


def test_newmember_sees_reader_through_the_group_and_the_package_to_request(ip, capsys):
    run(ip, "%kvaccess --persona newmember")
    out = output(capsys)
    assert re.search(
        r"You are newmember@kvnblocal\.onmicrosoft\.com \(User, object id [0-9a-f-]{36}\) "
        r"in tenant [0-9a-f-]{36}\.",
        out,
    )
    assert "Key Vault Reader: through group azDevOpsKV01_reader" in out
    assert re.search(r"\bget\s+no", out) and re.search(r"\blist\s+yes\s+Key Vault Reader", out)
    assert "To get: you need Key Vault Secrets User; request the access package azDevOpsKV01_secAccess" in out
    assert '`%kvaccess request "Key Vault Secrets User" --reason "WHY"`' in out  # typed as is, it parses
    assert "kvnb access" not in out


def test_member_may_get_the_secret_through_secaccess(ip, capsys):
    run(ip, "%kvaccess APICaller --persona member")
    out = output(capsys)
    assert "Your roles on secret APICaller in azDevOpsKV01:" in out
    assert "Key Vault Secrets User: through group azDevOpsKV01_secAccess" in out
    assert re.search(r"\bget\s+yes\s+Key Vault Secrets User", out)


def test_aad_team_has_nothing_and_cannot_list(ip, capsys):
    run(ip, "%kvaccess --persona aad-team")
    out = output(capsys)
    assert "You hold no role on vault azDevOpsKV01." in out
    assert re.search(r"\blist\s+no", out) and re.search(r"\bget\s+no", out)
    assert "To list, list_versions, get_deleted, list_deleted: you need Key Vault Reader" in out


def test_lead_grants_the_azuread_team_for_an_hour_then_revokes(ip, capsys):
    with pytest.raises(UsageError, match="Access denied"):
        run(ip, "%kvget APICaller --persona aad-team")
    run(
        ip,
        "%kvaccess grant 'AzureAD team' Key Vault Secrets Officer --scope secret/APICaller --for 1h "
        "--reason 'rotation' --persona lead",
    )
    assert re.search(
        r"Granted Key Vault Secrets Officer to AzureAD team on secret APICaller until .* UTC\.", output(capsys)
    )
    run(ip, "%kvget APICaller --persona aad-team")
    assert ip.user_ns["api_caller"].identity.startswith("aad-team@")
    run(ip, "%kvaccess APICaller --persona aad-team")
    assert "Key Vault Secrets Officer: through group AzureAD team, on secret APICaller only, until" in output(capsys)
    run(ip, "%kvaccess revoke 'AzureAD team' Key Vault Secrets Officer --scope secret/APICaller --persona lead")
    assert "Revoked Key Vault Secrets Officer from AzureAD team on secret APICaller" in output(capsys)
    with pytest.raises(UsageError, match="Access denied"):
        run(ip, "%kvget APICaller --persona aad-team")


def test_grant_twice_changes_nothing(ip, capsys):
    run(ip, "%kvaccess grant 'AzureAD team' 'Key Vault Reader' --persona lead")
    run(ip, "%kvaccess grant 'AzureAD team' 'Key Vault Reader' --persona lead")
    out = output(capsys)
    assert "Granted Key Vault Reader to AzureAD team on vault azDevOpsKV01." in out
    assert "Already granted: Key Vault Reader to AzureAD team" in out


def test_a_member_may_not_grant(ip):
    with pytest.raises(UsageError, match="You may not grant roles"):
        run(ip, "%kvaccess grant aad-team 'Key Vault Secrets User' --persona member")


def test_request_approve_and_use(ip, capsys):
    with pytest.raises(UsageError, match="already an open request"):  # the seed's pending request
        run(ip, "%kvaccess request Key Vault Secrets User --reason 'partner API client' --persona newmember")
    run(ip, "%kvaccess requests --persona lead")
    listed = output(capsys)
    request_id = re.search(r"([0-9a-f-]{36})\s+azDevOpsKV01_secAccess", listed)[1]
    run(ip, f"%kvaccess approve {request_id} --reason 'welcome' --persona lead")
    assert f"Request {request_id}: delivered" in output(capsys)
    run(ip, "%kvget APICaller --persona newmember")
    assert ip.user_ns["api_caller"].identity.startswith("newmember@")
    run(ip, "%kvaccess requests --persona lead")
    assert "No access request waits for your decision." in output(capsys)


def test_request_by_package_name_and_deny(ip, capsys):
    run(ip, "%kvaccess request azDevOpsKV01_reader --reason 'to see what exists' --persona aad-team")
    made = re.search(r"Requested azDevOpsKV01_reader.* \(request ([0-9a-f-]{36}), (\w+)\)", output(capsys))
    assert made is not None
    run(ip, f"%kvaccess deny {made[1]} --reason 'not needed' --persona lead")
    assert f"Request {made[1]}: denied" in output(capsys)


def test_request_needs_a_reason(ip):
    with pytest.raises(UsageError, match="--reason"):
        run(ip, "%kvaccess request Key Vault Secrets User --persona newmember")


def test_reviews_and_one_groups_decisions(ip, capsys):
    run(ip, "%kvaccess review --persona lead")
    out = output(capsys)
    for group, status in (
        ("azDevOpsKV01_admin", "ok"),
        ("azDevOpsKV01_reader", "overdue"),
        ("azDevOpsKV01_secAccess", "not_applied"),
        ("azDevOpsKV01_pipeline", "no_review"),
    ):
        assert re.search(rf"{group}\s.*\b{status}\b", out), group
    run(ip, "%kvaccess review azDevOpsKV01_secAccess --persona lead")
    out = output(capsys)
    assert "Decisions of the last completed review of azDevOpsKV01_secAccess:" in out
    assert re.search(r"External Contractor\s+User\s+Deny", out)


def test_plan_reports_the_shortcut_as_drift(ip, capsys):
    run(ip, "%kvaccess plan --persona lead")
    out = output(capsys)
    assert "Governance plan for azDevOpsKV01: 3 drift items." in out  # the shortcut, and the lead's own two
    assert re.search(
        r"shortcut@kvnblocal\.onmicrosoft\.com\s+Key Vault Secrets User\s+bypass\s+User", out
    )  # answer first


@pytest.mark.parametrize(
    "line, problem",
    [
        ("%kvaccess APICaller WebhookSigningKey", "one secret name or a subcommand"),
        ("%kvaccess grant aad-team", "Usage: %kvaccess grant"),
        ("%kvaccess grant aad-team 'Key Vault Reader' --scope keys/x", "--scope takes secret/NAME"),
        ("%kvaccess APICaller --for 1h", "--scope and --for go with"),
        ("%kvaccess bad_name", "not a secret name"),
        ("%kvaccess grant nobody-at-all 'Key Vault Reader' --persona lead", "No user, group or service principal"),
        ("%kvaccess grant aad-team 'Key Vault Reader' --for soon --persona lead", "Cannot read the duration"),
    ],
)
def test_usage_errors(ip, line, problem):
    with pytest.raises(UsageError, match=re.escape(problem)):
        run(ip, line)


def test_each_subcommand_has_its_own_parser_and_help(ip, capsys):
    run(ip, "%kvaccess grant -h")
    out = output(capsys)
    assert "usage: %kvaccess grant PRINCIPAL ROLE [--scope secret/NAME] [--for DURATION]" in out
    assert "--reason TEXT" in out and "--persona NAME" in out
    with pytest.raises(UsageError, match=re.escape("Usage: %kvaccess review [GROUP] (unrecognized arguments: --for")):
        run(ip, "%kvaccess review --for 1h")

"""The audit's pure parts: table builders, every check of the catalogue, the pacer, the renderers.

No vault here: tables are built from hand-made SDK-shaped inputs, so each check is seen both
failing and passing with the threshold it names.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pandas as pd
import pytest

from kvnb.audit import (
    CATALOGUE,
    AuditSettings,
    AuditTables,
    Severity,
    at_or_above,
    evaluate,
    render,
    reviews_table,
    role_assignments_table,
    secrets_table,
    vault_table,
)
from kvnb.audit.charts import expiry_timeline_svg, review_status_svg
from kvnb.audit.pacing import RequestPacer
from kvnb.audit.tables import classify_role, describe_scope, vault_table_from_recovery_level

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
DAY = timedelta(days=1)
SUB = "/subscriptions/00000000-0000-0000-0000-000000000001"
VAULT = f"{SUB}/resourceGroups/rg-devops/providers/Microsoft.KeyVault/vaults/kv1"
ROLES = {
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": {
        "role_name": "Key Vault Administrator",
        "role_type": "BuiltInRole",
        "permissions": [
            {"actions": ["Microsoft.KeyVault/vaults/*/read"], "data_actions": ["Microsoft.KeyVault/vaults/*"]}
        ],
    },
    "21090545-7ca7-4776-b22c-e363652d74d2": {
        "role_name": "Key Vault Reader",
        "role_type": "BuiltInRole",
        "permissions": [
            {
                "actions": ["Microsoft.KeyVault/vaults/*/read"],
                "data_actions": [
                    "Microsoft.KeyVault/vaults/*/read",
                    "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
                ],
            }
        ],
    },
    "4633458b-17de-408a-b874-0445c86b69e6": {
        "role_name": "Key Vault Secrets User",
        "role_type": "BuiltInRole",
        "permissions": [
            {
                "data_actions": [
                    "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                    "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
                ]
            }
        ],
    },
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": {
        "role_name": "User Access Administrator",
        "role_type": "BuiltInRole",
        "permissions": [{"actions": ["*/read", "Microsoft.Authorization/*"]}],
    },
    "11111111-2222-3333-4444-555555555555": {
        "role_name": "Vault Tinkerer",
        "role_type": "CustomRole",
        "permissions": [{"actions": ["Microsoft.KeyVault/vaults/write"]}],
    },
}
ADMIN, READER, SECRETS_USER, UAA, CUSTOM = list(ROLES)


def secret(name, *, rotated_days_ago=10, expires_in=90, enabled=True, content_type="text/plain", nbf=None):
    created = NOW - rotated_days_ago * DAY
    return SimpleNamespace(
        name=name,
        enabled=enabled,
        content_type=content_type,
        created_on=created,
        updated_on=created,
        not_before=nbf,
        expires_on=None if expires_in is None else NOW + expires_in * DAY,
        tags={"app": "x"},
        managed=False,
    )


def assignment(name, principal, kind, role, scope=VAULT, end=None):
    return SimpleNamespace(
        name=name,
        scope=scope,
        role_definition_id=f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}",
        principal_id=principal,
        principal_type=kind,
        created_on=NOW - 100 * DAY,
        created_by="creator",
        condition=None,
        end_time=end,
    )


def user(oid, name, *, guest=False, enabled=True):
    return {
        "@odata.type": "#microsoft.graph.user",
        "id": oid,
        "displayName": name,
        "userPrincipalName": f"{name}@x",
        "userType": "Guest" if guest else "Member",
        "accountEnabled": enabled,
    }


def group(oid, name):
    return {"@odata.type": "#microsoft.graph.group", "id": oid, "displayName": name}


def healthy_tables() -> AuditTables:
    """A vault where every check passes."""
    secrets = secrets_table(
        [secret("A"), secret("B", rotated_days_ago=100, expires_in=200)],
        versions={"A": (2, NOW - 200 * DAY), "B": (1, None)},
        now=NOW,
    )
    principals = {
        "g1": group("g1", "kv_admin"),
        "g2": group("g2", "kv_reader"),
        "u1": user("u1", "lead"),
        "u2": user("u2", "member"),
    }
    assignments = role_assignments_table(
        [assignment("a1", "g1", "Group", ADMIN, end=NOW + 30 * DAY), assignment("a2", "g2", "Group", READER)],
        vault_resource_id=VAULT,
        roles=ROLES,
        principals=principals,
        members={"g1": ["u1"], "g2": ["u1", "u2"]},
    )
    reviews = reviews_table(
        [
            {"group_name": "kv_admin", "group_id": "g1", "status": "ok", "last_completed": NOW - 5 * DAY},
            {"group_name": "kv_reader", "group_id": "g2", "status": "ok", "last_completed": NOW - 10 * DAY},
        ],
        now=NOW,
    )
    vault = vault_table(
        {
            "name": "kv1",
            "id": VAULT,
            "properties": {
                "enableRbacAuthorization": True,
                "enableSoftDelete": True,
                "enablePurgeProtection": True,
                "publicNetworkAccess": "Disabled",
                "privateEndpointConnections": [
                    {"properties": {"privateLinkServiceConnectionState": {"status": "Approved"}}}
                ],
            },
        },
        audit_logging=True,
        defender_for_key_vault=True,
    )
    return AuditTables(secrets=secrets, role_assignments=assignments, reviews=reviews, vault=vault)


def ids(tables, settings=None) -> dict[str, tuple[str, ...]]:
    findings, _ = evaluate(tables, settings or AuditSettings(now=NOW))
    return {f.id: f.affected for f in findings}


def test_catalogue_has_every_reference_id_with_a_severity_control_and_remediation():
    expected = (
        {f"S{i}" for i in range(1, 7)}
        | {f"V{i}" for i in range(1, 8)}
        | {f"R{i}" for i in range(1, 10)}
        | {f"P{i}" for i in range(1, 5)}
    )
    assert set(CATALOGUE) == expected
    for check in CATALOGUE.values():
        assert isinstance(check.severity, Severity) and check.remediation and check.control
        for guid in check.policy:
            assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", guid)
    assert CATALOGUE["V3"].control == "CIS 8.3.5; Azure Policy 0b60c0b2-2dc2-4e1c-b5c9-abbed971de53"
    assert CATALOGUE["S1"].cis == "8.3.3"


def test_a_healthy_vault_has_no_findings_but_r6_needs_sign_ins():
    tables = healthy_tables()
    tables.unavailable["sign_ins"] = "not read"
    findings, limitations = evaluate(tables, AuditSettings(now=NOW))
    assert findings == []
    assert [(lim.checks, lim.source) for lim in limitations] == [(("R6",), "sign_ins")]
    from kvnb.audit.findings import findings_table

    assert list(findings_table([], limitations)["title"]) == ["Could not read sign-in logs"]
    assert str(limitations[0]).startswith("sign-in logs: not available.")


def test_secret_checks_fail_and_pass_at_their_thresholds():
    rows = [
        secret("NoExpiry", expires_in=None),
        secret("Soon", expires_in=3),
        secret("Expired", expires_in=-2),
        secret("Old", rotated_days_ago=400, expires_in=30),
        secret("NoType", content_type=None),
        secret("Off", enabled=False, expires_in=None, content_type=None),
        secret("LongLived", rotated_days_ago=10, expires_in=500),
        secret("Scheduled", rotated_days_ago=400, expires_in=100, nbf=NOW - 5 * DAY),
    ]
    tables = healthy_tables()
    tables.secrets = secrets_table(rows, now=NOW)
    found = ids(tables)
    names = {key: {a.split(":")[0] for a in value} for key, value in found.items()}
    assert names["S1"] == {"NoExpiry"}  # disabled secrets are not S1's business
    assert names["S2"] == {"NoExpiry", "Old", "LongLived", "Scheduled"}
    assert names["S3"] == {"Old"}  # nbf restarts the active period
    assert names["S4"] == {"Soon"}  # expired ones go to S6
    assert names["S5"] == {"NoType"}
    assert names["S6"] == {"Expired", "Off"}
    relaxed = AuditSettings(now=NOW, max_validity_days=1000, max_active_days=500, min_days_before_expiry=2)
    relaxed_names = {key: {a.split(":")[0] for a in value} for key, value in ids(tables, relaxed).items()}
    assert relaxed_names["S2"] == {"NoExpiry"} and "S3" not in relaxed_names and "S4" not in relaxed_names


def test_secrets_table_columns_and_version_counts():
    frame = secrets_table(
        [secret("b", rotated_days_ago=5), secret("A", rotated_days_ago=20)],
        versions={"A": (3, NOW - 300 * DAY)},
        now=NOW,
    )
    assert list(frame["name"]) == ["A", "b"]
    a = frame.iloc[0]
    assert a["version_count"] == 3 and round(a["age_days"]) == 300 and round(a["days_since_rotation"]) == 20
    assert a["last_rotated"] == pd.Timestamp(NOW - 20 * DAY) and a["created"] == pd.Timestamp(NOW - 300 * DAY)
    assert pd.isna(frame.iloc[1]["version_count"]) and str(a["created"].tz) == "UTC"
    assert "value" not in frame.columns


def test_vault_checks_each_fail_alone():
    base = {
        "enableRbacAuthorization": True,
        "enableSoftDelete": True,
        "enablePurgeProtection": True,
        "publicNetworkAccess": "Disabled",
        "privateEndpointConnections": [{"properties": {"privateLinkServiceConnectionState": {"status": "Approved"}}}],
    }
    cases = {
        "V1": {"enableRbacAuthorization": False},
        "V2": {"enableSoftDelete": False},
        "V3": {"enablePurgeProtection": None},
        "V4": {"publicNetworkAccess": "Enabled"},
        "V5": {"privateEndpointConnections": []},
    }
    for check, change in cases.items():
        tables = healthy_tables()
        tables.vault = vault_table(
            {"name": "kv1", "properties": {**base, **change}}, audit_logging=True, defender_for_key_vault=True
        )
        expected = {check, "R9"} if check == "V1" else {check}
        assert set(ids(tables)) == expected, check
    tables = healthy_tables()
    tables.vault = vault_table({"name": "kv1", "properties": base}, audit_logging=False, defender_for_key_vault=False)
    assert set(ids(tables)) == {"V6", "V7"}


def test_recovery_level_tells_soft_delete_and_purge_protection_when_arm_is_refused():
    tables = healthy_tables()
    tables.vault = vault_table_from_recovery_level("kv1", "https://x", VAULT, "Recoverable+Purgeable", 90)
    tables.unavailable["vault"] = "Vault properties: access denied (403)."
    findings, limitations = evaluate(tables, AuditSettings(now=NOW))
    assert {f.id for f in findings} == {"V3"}
    assert set(limitations[0].checks) == {"V1", "V4", "V5", "V6", "V7", "R9"} and "403" in limitations[0].reason
    tables.vault = vault_table_from_recovery_level("kv1", "https://x", VAULT, "Recoverable", 90)
    assert not [f for f in evaluate(tables, AuditSettings(now=NOW))[0] if f.id in ("V2", "V3")]
    tables.vault = vault_table_from_recovery_level("kv1", "https://x", VAULT, "Purgeable", 0)
    assert {"V2", "V3"} <= set(ids(tables))


def test_access_checks_on_a_messy_vault():
    rg = f"{SUB}/resourceGroups/rg-devops"
    principals = {
        "g1": group("g1", "kv_admin"),
        "g3": group("g3", "kv_pipeline"),
        "u1": user("u1", "lead"),
        "u2": user("u2", "guesty", guest=True),
        "u3": user("u3", "leaver", enabled=False),
        "u4": user("u4", "shortcut"),
        "u5": user("u5", "a"),
        "u6": user("u6", "b"),
    }
    items = [
        assignment("a1", "g1", "Group", ADMIN),
        assignment("a2", "u4", "User", SECRETS_USER),
        assignment("a3", "u1", "User", UAA, scope=rg),
        assignment("a4", "g3", "Group", SECRETS_USER),
        assignment("a5", "dead", "User", READER),
        assignment("a6", "u5", "User", CUSTOM),
        assignment("a7", "u4", "User", "99999999-9999-9999-9999-999999999999"),
        assignment("other", "u6", "User", ADMIN, scope=f"{SUB}/resourceGroups/elsewhere"),
    ]
    tables = healthy_tables()
    tables.role_assignments = role_assignments_table(
        items,
        vault_resource_id=VAULT,
        roles=ROLES,
        principals=principals,
        members={"g1": ["u1", "u2", "u3", "u5", "u6"], "g3": []},
    )
    assert "other" not in set(tables.role_assignments["assignment_id"])  # another vault's scope
    tables.reviews = reviews_table(
        [{"group_name": "kv_admin", "group_id": "g1", "status": "overdue", "last_completed": NOW - 90 * DAY}], now=NOW
    )
    found = ids(tables)
    assert any("5 administrators" in a for a in found["R1"])
    assert {a.split(":")[0] for a in found["R2"]} == {"shortcut", "lead", "a"}  # users on privileged or reading roles
    assert found["R3"] == ("lead: User Access Administrator at inherited from resource group rg-devops, direct",)
    assert {a.split(":")[0] for a in found["R4"]} == {"guesty (guest)"}
    assert {a.split(":")[0] for a in found["R5"]} == {"dead (deleted principal)", "leaver (disabled)", "shortcut"}
    assert {a.split(":")[0] for a in found["R7"]} == {"lead"}
    assert any("custom role Vault Tinkerer" in a for a in found["R8"])
    assert {a.split(":")[0] for a in found["P1"]} >= {"lead", "a"}
    assert {a.split(":")[0] for a in found["P2"]} >= {"shortcut", "kv_pipeline (Group)"}
    assert {a.split(":")[0] for a in found["P3"]} == {"guesty (guest)"}
    assert set(found["P4"]) == {"kv_admin (Group): overdue", "kv_pipeline (Group): no_review"}
    assert ids(tables, AuditSettings(now=NOW, max_admins=5)).get("R1") is None


def test_p4_passes_open_and_due_reviews_and_flags_unapplied_denies():
    tables = healthy_tables()
    for status, flagged in (("in_progress", False), ("due", False), ("not_applied", True), ("overdue", True)):
        tables.reviews = reviews_table(
            [
                {"group_name": "kv_admin", "group_id": "g1", "status": status},
                {"group_name": "kv_reader", "group_id": "g2", "status": "ok"},
            ],
            now=NOW,
        )
        assert ("P4" in ids(tables)) is flagged, status


def test_without_the_directory_the_principal_checks_are_limitations():
    tables = healthy_tables()
    tables.role_assignments = role_assignments_table(
        [assignment("a1", "u4", "User", SECRETS_USER)], vault_resource_id=VAULT, roles=ROLES, principals=None
    )
    tables.unavailable.update(principals="Directory: access denied (403).", reviews="Access reviews: 403")
    findings, limitations = evaluate(tables, AuditSettings(now=NOW))
    assert {f.id for f in findings} == {"R2"}  # principal type comes from ARM itself
    blocked = {c for lim in limitations for c in lim.checks}
    assert {"R1", "R4", "R5", "P1", "P2", "P3", "P4"} <= blocked


def test_scopes_and_role_classes():
    assert describe_scope(VAULT, VAULT) == ("vault", None, None)
    assert describe_scope(VAULT + "/secrets/APICaller", VAULT) == ("secret", "APICaller", None)
    assert describe_scope(SUB, VAULT) == ("subscription", None, f"subscription {SUB.rsplit('/', 1)[1]}")
    assert describe_scope("/providers/Microsoft.Management/managementGroups/root-mg", VAULT)[0] == "management group"
    assert describe_scope(f"{SUB}/resourceGroups/other", VAULT)[0] == "other"
    admin, reader, user_role, uaa = (classify_role(ROLES[g]) for g in (ADMIN, READER, SECRETS_USER, UAA))
    assert admin["privileged"] and admin["reads_secret_values"] and not admin["can_assign_roles"]
    assert not reader["privileged"] and not reader["reads_secret_values"] and reader["data_plane"]
    assert user_role["reads_secret_values"] and not user_role["privileged"]
    assert uaa["can_assign_roles"] and uaa["privileged"] and not uaa["data_plane"]


def test_severity_threshold():
    tables = healthy_tables()
    tables.secrets = secrets_table([secret("NoType", content_type=None)], now=NOW)
    findings, _ = evaluate(tables, AuditSettings(now=NOW))
    assert [f.id for f in at_or_above(findings, "low")] == ["S5"]
    assert at_or_above(findings, "medium") == []


def test_renderers_share_the_json_shape_and_escape_html():
    from kvnb.audit.collect import VaultAudit

    tables = healthy_tables()
    tables.secrets = secrets_table([secret("<b>x</b>", expires_in=None)], now=NOW)
    findings, limitations = evaluate(tables, AuditSettings(now=NOW))
    audit = VaultAudit("kv1", "https://kv1.vault.azure.net/", tables, findings, limitations, now=pd.Timestamp(NOW))
    document = json.loads(render([audit], "json", identity="lead@x"))
    assert set(document) == {"vaults", "generated_at", "identity"}
    vault = document["vaults"][0]
    assert {"name", "url", "tables", "findings"} <= set(vault)
    assert set(vault["tables"]) == {"secrets", "role_assignments", "reviews", "vault"}
    assert vault["findings"][0]["id"] == "S1" and vault["findings"][0]["severity"] == "medium"
    html = render([audit], "html")
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert html.count("<svg") == 2
    csv = render([audit], "csv")
    assert csv.splitlines()[0] == "vault,id,severity,title,control,affected_count,affected,remediation"
    assert "| S1 | medium |" in render([audit], "markdown")
    assert "S1" in render([audit], "table")
    with pytest.raises(ValueError):
        render([audit], "yaml")


def test_charts_cap_rows_and_count_statuses():
    rows = [secret(f"s{i}", expires_in=i) for i in range(100)]
    svg = expiry_timeline_svg(secrets_table(rows, now=NOW), now=pd.Timestamp(NOW))
    assert svg.count("<circle") == 60 and "60 of 100" in svg and ">s0<" in svg
    reviews = reviews_table(
        [
            {"group_name": g, "group_id": g, "status": s}
            for g, s in (("a", "ok"), ("b", "ok"), ("c", "overdue"), ("d", "weird"))
        ],
        now=NOW,
    )
    svg = review_status_svg(reviews)
    assert ">weird<" in svg and "a, b" in svg


def test_pacer_never_exceeds_the_window_limit_and_pauses_after_a_429():
    async def scenario():
        pacer = RequestPacer.for_limit(limit=200, window=1.0)
        assert pacer.max_in_window(1.0) <= 0.95 * 200 + 1e-9
        stamps: list[float] = []
        loop = asyncio.get_running_loop()

        async def one():
            await pacer.acquire()
            stamps.append(loop.time())

        await asyncio.gather(*(one() for _ in range(400)))
        worst = max(sum(1 for t in stamps if start <= t < start + 1.0) for start in stamps)
        assert worst <= 200
        elapsed = max(stamps) - min(stamps)
        assert 1.4 < elapsed < 6.0  # ~ (400 - burst) / rate = 2.2 s: paced, never unpaced
        pause = pacer.throttled()
        began = loop.time()
        await pacer.acquire()
        assert loop.time() - began >= pause - 0.05 and pacer.stats.throttled == 1
        assert pacer.throttled() == 2.0  # the backoff grows while 429s keep coming

    asyncio.run(scenario())


def test_an_empty_vault_passes_every_check_it_can_see():
    tables = AuditTables(
        secrets=secrets_table([], now=NOW),
        role_assignments=role_assignments_table([], vault_resource_id=VAULT, roles={}, principals={}),
        reviews=reviews_table([], now=NOW),
    )
    findings, limitations = evaluate(tables, AuditSettings(now=NOW))
    assert findings == []
    assert [lim.source for lim in limitations] == ["vault"]  # no vault row at all: a limitation

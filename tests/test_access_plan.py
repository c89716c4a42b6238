"""The governance plan: applied to a fresh vault it builds the seed's group structure, applied again it
changes nothing, and drift names what was removed, added, or given directly around the groups."""

from __future__ import annotations

import json

import kvnb.access as access
from kvnb.vault import open_vault


def group_structure(target) -> set[tuple[str, str]]:
    frame = access.list_role_assignments(target)
    groups = frame[(frame.principal_type == "Group") & (frame.scope_kind == "vault")]
    return set(zip(groups.principal_name, groups.role_name, strict=True))


def test_plan_builds_the_seed_structure_on_a_fresh_vault_once(open_as, local_vault):
    seed_vault = open_as("lead")
    local_vault.admin("vaults", {"name": "azDevOpsKV02"})
    fresh = open_vault("local:azDevOpsKV02", persona="lead", start_local=False)
    try:
        plan = access.seed_plan(lead="lead")  # a plan that allows the creator's direct administrator roles
        assert len(access.check_plan(fresh, plan).missing) == 4
        applied = access.apply_plan(fresh, plan)
        assert len(applied.created) == 4 and applied.removed == () and applied.drift.clean
        assert (
            group_structure(fresh)
            == group_structure(seed_vault)
            == {
                ("azDevOpsKV01_admin", "Key Vault Administrator"),
                ("azDevOpsKV01_reader", "Key Vault Reader"),
                ("azDevOpsKV01_secAccess", "Key Vault Secrets User"),
                ("azDevOpsKV01_pipeline", "Key Vault Secrets User"),
            }
        )

        again = access.apply_plan(fresh, plan)
        assert not again.changed and again.drift.clean

        access.revoke(fresh, "azDevOpsKV01_reader", "Key Vault Reader")
        drift = access.check_plan(fresh, plan)
        assert [str(item) for item in drift.items()] == [
            "missing: azDevOpsKV01_reader (Group) → Key Vault Reader on the vault"
        ]
        assert list(drift.to_frame().kind) == ["missing"]
    finally:
        fresh.close()
        fresh.credential.close()


def test_drift_reports_extra_and_bypass_and_removes_only_when_asked(open_as, local_vault):
    target = open_as("lead")
    plan = access.seed_plan()
    access.grant(target, "AzureAD team", "Key Vault Reader")
    drift = access.check_plan(target, plan)
    assert drift.missing == ()
    assert [str(item) for item in drift.extra] == ["extra: AzureAD team (Group) → Key Vault Reader on the vault"]
    # The seed's plan allows no direct assignment: the lead's own are drift, as the audit flags them (R2).
    leads_own = {
        f"bypass: lead@kvnblocal.onmicrosoft.com (User) → {role} on the vault"
        for role in ("Key Vault Administrator", "Key Vault Data Access Administrator")
    }
    shortcut = "bypass: shortcut@kvnblocal.onmicrosoft.com (User) → Key Vault Secrets User on the vault"
    assert {str(item) for item in drift.bypass} == leads_own | {shortcut}

    kept = access.apply_plan(target, plan)
    assert not kept.changed and kept.drift == drift  # nothing deleted unless asked
    cleaned = access.apply_plan(target, plan, remove=True)
    assert set(cleaned.removed) == {
        item.assignment_id for item in drift.extra + drift.bypass if not str(item).startswith("bypass: lead@")
    }
    # never the caller's own: the lead would lose the right to assign roles half-way
    assert {str(item) for item in cleaned.kept} == {str(item) for item in cleaned.drift.items()} == leads_own
    after = access.effective_access(target, "shortcut", secret="APICaller")
    assert not after.allows("get") and after.allows("list")  # still a reader through the group


def test_plan_round_trips_through_json_and_rejects_unknown_groups(open_as):
    plan = access.seed_plan()
    assert access.GovernancePlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan
    typo = access.GovernancePlan((access.PlannedAssignment("azDevOpsKV01_raeder", "Key Vault Reader"),))
    try:
        access.check_plan(open_as("lead"), typo)
    except access.PlanError as exc:
        assert "azDevOpsKV01_raeder" in str(exc) and "Create the group" in str(exc)
    else:
        raise AssertionError("a plan naming an unknown group must be refused")

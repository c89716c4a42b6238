"""The access layer's building blocks against a seeded local vault: who am I, the role catalogue, the
assignments DataFrame, grant and revoke (every way of naming a principal and a role), and its errors."""

from __future__ import annotations

import gc
from datetime import timedelta

import pandas as pd
import pytest

import kvnb.access as access
from kvnb.access.assignments import secret_scope
from kvnb.local.identity import roles as local_roles
from kvnb.local.identity.rbac import role_permits


def handle_id(local_vault, handle: str) -> str:
    return local_vault.store.db.execute("SELECT id FROM principals WHERE handle = ?", (handle,)).fetchone()[0]


def failure(call, *args, **kwargs) -> access.AccessError:
    """The AccessError *call* raises; collected so its HTTP connection does not outlive the test."""
    try:
        call(*args, **kwargs)
    except access.AccessError as exc:
        error = exc
    else:
        raise AssertionError("no AccessError was raised")
    error.__context__ = error.__traceback__ = None
    gc.collect()
    return error


def test_public_api_is_sorted_and_complete():
    assert access.__all__ == sorted(access.__all__)
    assert all(hasattr(access, name) for name in access.__all__)


def test_whoami_reads_the_token_not_graph(open_as, local_vault):
    lead = access.whoami(open_as("lead"))
    assert (lead.object_id, lead.tenant_id) == (handle_id(local_vault, "lead"), local_vault.store.tenant_id)
    assert (lead.kind, lead.user_principal_name, lead.name) == (
        "User",
        "lead@kvnblocal.onmicrosoft.com",
        "lead@kvnblocal.onmicrosoft.com",
    )
    pipeline = access.whoami(open_as("pipeline"))
    assert (pipeline.kind, pipeline.user_principal_name) == ("ServicePrincipal", None)
    assert pipeline.object_id == handle_id(local_vault, "pipeline") and pipeline.app_id


def test_role_catalogue_matches_the_vaults_own_role_table(open_as):
    target = open_as("lead")
    catalogue = access.role_catalogue(target, target.resource_id)
    for role in local_roles.BUILT_IN_ROLES:
        info = catalogue.resolve(role.role_name)
        assert catalogue.resolve(role.id) == info and catalogue.resolve(info.definition_id) == info
        # The client's reading of each role must be the local vault's own evaluation (kvnb.local.rbac).
        expected = {
            op for op, action in local_roles.SECRET_DATA_ACTIONS.items() if role_permits(role, action, data_action=True)
        }
        assert set(info.secret_operations()) == expected, role.role_name
        for action in (
            "Microsoft.KeyVault/vaults/read",
            "Microsoft.Authorization/roleAssignments/write",
            "Microsoft.Authorization/roleAssignments/read",
            "Microsoft.KeyVault/vaults/write",
        ):
            assert info.allows_action(action) == role_permits(role, action, data_action=False), (role.role_name, action)
    assert catalogue.resolve("key vault reader").secret_operations() == (
        "list",
        "list_versions",
        "get_deleted",
        "list_deleted",
    )
    assert "get" not in catalogue.resolve("Key Vault Reader").secret_operations()
    assert catalogue.resolve("Owner").secret_operations() == ()  # control-plane `*` grants no data action
    with pytest.raises(access.RoleNotFoundError):
        catalogue.resolve("Key Vault Wizard")


def test_assignments_frame_has_documented_columns_and_utc_times(open_as, local_vault):
    target = open_as("lead")
    granted = access.grant(target, "member", "Key Vault Secrets Officer", secret="APICaller", duration="2h")
    frame = access.list_role_assignments(target)
    assert tuple(frame.columns) == access.ASSIGNMENT_COLUMNS
    assert len(frame) == 8
    assert str(frame["created_on"].dt.tz) == "UTC" and str(frame["end_time"].dt.tz) == "UTC"
    by_name = frame.set_index("principal_name")
    reader = by_name.loc["azDevOpsKV01_reader"]
    assert (reader.principal_type, reader.role_name, reader.role_id, reader.scope_kind) == (
        "Group",
        "Key Vault Reader",
        local_roles.KEY_VAULT_READER,
        "vault",
    )
    assert reader.created_by == handle_id(local_vault, "lead") and pd.isna(reader.end_time)
    secret_row = frame[frame.scope_kind == "secret"].iloc[0]
    assert (secret_row.secret, secret_row.principal_name) == ("APICaller", "member@kvnblocal.onmicrosoft.com")
    assert secret_row.end_time == granted.end_time
    assert granted.end_time - secret_row.created_on == timedelta(hours=2)
    only_secret = access.list_role_assignments(target, secret="APICaller")
    assert set(only_secret.scope_kind) == {"vault", "secret"}


def test_inherited_assignments_say_where_from(open_as, local_vault):
    from kvnb.local.state import assignments

    subscription = f"/subscriptions/{local_vault.store.subscription_id}"
    assignments.create_assignment(
        local_vault.store, subscription, local_roles.READER, handle_id(local_vault, "backup"), "User"
    )
    frame = access.list_role_assignments(open_as("lead"))
    [row] = frame[frame.scope_kind == "inherited"].itertuples()
    assert (row.inherited_from, row.role_name) == (subscription, "Reader")


@pytest.mark.parametrize("reference", ["object id", "upn", "persona"])
def test_grant_and_revoke_are_idempotent_whatever_the_principal_is_called(open_as, local_vault, reference):
    target = open_as("lead")
    principal = {
        "object id": handle_id(local_vault, "newmember"),
        "upn": "newmember@kvnblocal.onmicrosoft.com",
        "persona": "newmember",
    }[reference]
    first = access.grant(target, principal, "Key Vault Secrets User")
    assert first.created and first.principal.id == handle_id(local_vault, "newmember")
    again = access.grant(target, principal, local_roles.KEY_VAULT_SECRETS_USER)  # the role by GUID this time
    assert not again.created and again.assignment_id == first.assignment_id
    removed = access.revoke(target, principal, "Key Vault Secrets User")
    assert removed.removed == (first.assignment_id,)
    assert access.revoke(target, principal, "Key Vault Secrets User").removed == ()


def test_group_by_display_name_and_time_bound_revoke(open_as):
    target = open_as("lead")
    granted = access.grant(target, "AzureAD team", "Key Vault Secrets Officer", secret="APICaller", duration="1h")
    assert granted.created and granted.principal.kind == "Group" and granted.request_id
    assert granted.end_time is not None and granted.assignment_id
    assert not access.grant(
        target, "AzureAD team", "Key Vault Secrets Officer", secret="APICaller", duration="1h"
    ).created
    # A time-bound assignment is taken back with an AdminRemove request.
    removed = access.revoke(target, "AzureAD team", "Key Vault Secrets Officer", secret="APICaller")
    assert removed.removed == (granted.assignment_id,)
    requests = list(
        target.authorization_client.role_assignment_schedule_requests.list_for_scope(
            secret_scope(target, "APICaller"), filter="asRequestor()"
        )
    )
    assert [r.request_type for r in requests] == ["AdminAssign", "AdminRemove"]


def test_errors_name_the_missing_permission_and_the_fix(open_as):
    error = failure(access.grant, open_as("backup"), "newmember", "Key Vault Secrets User")
    assert isinstance(error, access.PermissionMissingError)
    assert error.action == "Microsoft.Authorization/roleAssignments/write"
    assert "Key Vault Data Access Administrator" in str(error) and "Key Vault Administrator is not enough" in str(error)
    assert len(str(error).splitlines()) == 1
    owner = failure(access.grant, open_as("lead"), "newmember", "Owner")
    assert "Key Vault roles only" in str(owner)
    reading = failure(access.list_role_assignments, open_as("pipeline"))
    assert reading.action == "Microsoft.Authorization/roleAssignments/read" and "Key Vault Reader" in str(reading)
    assert isinstance(
        failure(access.grant, open_as("lead"), "nobody-here", "Key Vault Reader"), access.PrincipalNotFoundError
    )
    with pytest.raises(ValueError):
        access.grant(open_as("lead"), "member", "Key Vault Reader", duration="1h", until="2030-01-01T00:00:00Z")


def test_graph_resolver_agrees_with_the_local_directory(open_as, local_vault):
    graph = access.default_resolver(open_as("lead"))
    local = access.local_resolver(local_vault.paths)
    try:
        for name in (
            "member",
            "aad-team",
            "AzureAD team",
            "azDevOpsKV01_admin",
            "Build Pipeline (azure-devops)",
            "newmember@kvnblocal.onmicrosoft.com",
            "nobody-at-all",
        ):
            assert [p.id for p in graph.search(name)] == [p.id for p in local.search(name)], name
        ids = [row[0] for row in local_vault.store.db.execute("SELECT id FROM principals")]
        described = [
            {i: (p.kind, p.display_name, p.user_principal_name, p.enabled) for i, p in r.lookup(ids).items()}
            for r in (graph, local)
        ]
        assert described[0] == described[1] and len(described[0]) == len(ids)
        for handle in ("member", "lead", "pipeline", "aad-team"):
            assert graph.member_of(handle_id(local_vault, handle)) == local.member_of(handle_id(local_vault, handle))
    finally:
        graph.close()


def test_without_a_directory_only_direct_assignments_count_and_it_says_so(open_as, local_vault):
    target = open_as("lead")
    member = access.effective_access(target, handle_id(local_vault, "member"), resolver=access.ids_only_resolver())
    assert not any(member.operations.values()) and "Group memberships are unknown" in " ".join(member.notes)
    shortcut = access.effective_access(target, handle_id(local_vault, "shortcut"), resolver=access.ids_only_resolver())
    assert shortcut.allows("get") and shortcut.granted_by["get"] == ("Key Vault Secrets User",)

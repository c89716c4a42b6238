"""Time-bound assignments through the real SDK's 2020-10-01 operation groups: schedule requests
(AdminAssign with each expiration, AdminRemove, cancel), the schedules and instances they produce,
and the data plane honouring the window on the vault clock."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import datetime, timedelta, timezone

from azure.core.exceptions import HttpResponseError

from armcalls import arm_client, arm_error, call, object_id, role_id, vault_id
from kvnb.local.identity import roles

OFFICER = roles.KEY_VAULT_SECRETS_OFFICER


def assign(client, scope, local_vault, principal, expiration, *, start=None, name=None, request_type="AdminAssign"):
    info = {"expiration": expiration}
    if start is not None:
        info["startDateTime"] = start
    return client.role_assignment_schedule_requests.create(
        scope,
        name or str(uuid.uuid4()),
        {
            "properties": {
                "roleDefinitionId": role_id(local_vault, OFFICER),
                "principalId": principal,
                "requestType": request_type,
                "justification": "rotate the partner key",
                "scheduleInfo": info,
            }
        },
    )


def vault_now(local_vault) -> datetime:
    return datetime.fromtimestamp(local_vault.store.now(), timezone.utc)


def test_one_hour_grant_on_a_secret_works_then_ends_on_the_vault_clock(local_vault):
    lead = arm_client(local_vault)
    secret = vault_id(local_vault) + "/secrets/APICaller"
    team = object_id(local_vault, "azuread-team")
    request = assign(lead, secret, local_vault, team, {"type": "AfterDuration", "duration": "PT1H"})
    assert (request.status, request.request_type, request.principal_type) == ("Provisioned", "AdminAssign", "Group")
    assert request.scope == secret and request.requestor_id == object_id(local_vault, "lead")
    start, end = request.schedule_info.start_date_time, request.schedule_info.expiration.end_date_time
    assert abs((start - vault_now(local_vault)).total_seconds()) < 5 and end - start == timedelta(hours=1)
    assert request.expanded_properties.role_definition.display_name == "Key Vault Secrets Officer"
    assert request.expanded_properties.principal.display_name == "AzureAD team"
    assert request.type == "Microsoft.Authorization/RoleAssignmentScheduleRequests"
    assert lead.role_assignment_schedule_requests.get(secret, request.name).as_dict() == request.as_dict()
    listed = list(lead.role_assignment_schedule_requests.list_for_scope(secret, filter="asRequestor()"))
    assert [r.name for r in listed] == [request.name]
    assert (
        list(
            lead.role_assignment_schedule_requests.list_for_scope(
                secret, filter=f"principalId eq '{object_id(local_vault, 'member')}'"
            )
        )
        == []
    )

    # The grant is a real role assignment, and a schedule with one instance carrying the end time.
    [assignment] = lead.role_assignments.list_for_scope(secret, filter=f"principalId eq '{team}'")
    [schedule] = [s for s in lead.role_assignment_schedules.list_for_scope(secret) if s.principal_id == team]
    assert schedule.id == request.target_role_assignment_schedule_id
    assert schedule.end_date_time == end and schedule.member_type == "Direct"
    [instance] = [i for i in lead.role_assignment_schedule_instances.list_for_scope(secret) if i.principal_id == team]
    assert instance.origin_role_assignment_id == assignment.id and instance.end_date_time == end
    inherited = list(lead.role_assignment_schedule_instances.list_for_scope(secret, filter="atScope()"))
    assert {i.member_type for i in inherited if i.scope != secret} == {"Inherited"}
    # aad-team may not read assignments, but sees its own (through its group) with asTarget().
    aad = arm_client(local_vault, "aad-team")
    [own] = aad.role_assignment_schedule_instances.list_for_scope(secret, filter="asTarget()")
    assert (own.principal_id, own.member_type) == (team, "Group")

    writer = local_vault.secret_client("aad-team")
    writer.set_secret("APICaller", secrets.token_urlsafe(24))
    local_vault.admin("clock", {"advance_seconds": 61 * 60})
    status = arm_error(writer.set_secret, "APICaller", secrets.token_urlsafe(24))[0]
    assert status == 403
    assert list(lead.role_assignments.list_for_scope(secret, filter=f"principalId eq '{team}'")) == []
    assert [i for i in lead.role_assignment_schedule_instances.list_for_scope(secret) if i.principal_id == team] == []
    assert lead.role_assignment_schedule_requests.get(secret, request.name).status == "Provisioned"  # history stays
    # Ended grants do not block giving the same grant again.
    again = assign(lead, secret, local_vault, team, {"type": "AfterDuration", "duration": "PT30M"})
    assert again.status == "Provisioned"


def test_after_date_time_no_expiration_and_admin_remove(local_vault):
    lead = arm_client(local_vault)
    vault = vault_id(local_vault)
    member, newmember = object_id(local_vault, "member"), object_id(local_vault, "newmember")
    until = (vault_now(local_vault) + timedelta(hours=2)).replace(microsecond=0)
    dated = assign(lead, vault, local_vault, member, {"type": "AfterDateTime", "endDateTime": until.isoformat()})
    assert dated.schedule_info.expiration.end_date_time == until
    forever = assign(lead, vault, local_vault, newmember, {"type": "NoExpiration"})
    assert forever.schedule_info.expiration.end_date_time is None
    ends = {
        s.principal_id: s.end_date_time
        for s in lead.role_assignment_schedules.list_for_scope(vault, filter=f"assignedTo('{member}')")
    }
    assert ends[member] == until
    for principal in (member, newmember):
        removed = assign(lead, vault, local_vault, principal, None, request_type="AdminRemove")
        assert (removed.status, removed.request_type) == ("Revoked", "AdminRemove")
        assert not [
            a
            for a in lead.role_assignments.list_for_scope(vault, filter=f"principalId eq '{principal}'")
            if roles.role_guid(a.role_definition_id) == OFFICER
        ]
    status, code, _ = arm_error(assign, lead, vault, local_vault, member, None, request_type="AdminRemove")
    assert (status, code) == (400, "RoleAssignmentDoesNotExist")


def test_a_grant_that_starts_later_can_be_cancelled(local_vault):
    lead = arm_client(local_vault)
    vault = vault_id(local_vault)
    member = object_id(local_vault, "member")
    tomorrow = (vault_now(local_vault) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    later = assign(lead, vault, local_vault, member, {"type": "AfterDuration", "duration": "P1D"}, start=tomorrow)
    assert later.status == "ScheduleCreated" and later.target_role_assignment_schedule_instance_id is None
    assert [s.principal_id for s in lead.role_assignment_schedules.list_for_scope(vault)].count(member) == 1
    assert member not in {i.principal_id for i in lead.role_assignment_schedule_instances.list_for_scope(vault)}
    assert member not in {a.principal_id for a in lead.role_assignments.list_for_scope(vault)}
    lead.role_assignment_schedule_requests.cancel(vault, later.name)
    assert lead.role_assignment_schedule_requests.get(vault, later.name).status == "Canceled"
    assert member not in {s.principal_id for s in lead.role_assignment_schedules.list_for_scope(vault)}
    assert arm_error(lead.role_assignment_schedule_requests.cancel, vault, later.name)[0] == 400
    now = assign(lead, vault, local_vault, member, {"type": "AfterDuration", "duration": "PT1H"})
    assert arm_error(lead.role_assignment_schedule_requests.cancel, vault, now.name)[:2] == (
        400,
        "RoleAssignmentScheduleRequestNotCancelable",
    )


def test_refusals_and_bad_requests(local_vault):
    lead = arm_client(local_vault)
    vault = vault_id(local_vault)
    member = object_id(local_vault, "member")
    hour = {"type": "AfterDuration", "duration": "PT1H"}
    made = assign(lead, vault, local_vault, member, hour)
    assert arm_error(assign, lead, vault, local_vault, member, hour)[:2] == (409, "RoleAssignmentExists")
    assert arm_error(assign, lead, vault, local_vault, object_id(local_vault, "newmember"), hour, name=made.name)[
        :2
    ] == (409, "RoleAssignmentRequestExists")
    status, code, message = arm_error(assign, arm_client(local_vault, "backup"), vault, local_vault, member, hour)
    assert (status, code) == (403, "AuthorizationFailed") and "roleAssignments/write" in message
    newmember = object_id(local_vault, "newmember")
    yesterday = (vault_now(local_vault) - timedelta(days=1)).isoformat()
    for expiration in (
        {"type": "AfterDuration", "duration": "soon"},
        {"type": "AfterDuration"},
        {"type": "AfterDateTime", "endDateTime": yesterday},
        {"type": "AfterDateTime"},
        {"type": "Sometime"},
    ):
        assert arm_error(assign, lead, vault, local_vault, newmember, expiration)[:2] == (400, "InvalidScheduleInfo"), (
            expiration
        )
    assert arm_error(assign, lead, vault, local_vault, newmember, hour, request_type="SelfActivate")[:2] == (
        400,
        "InvalidRequestType",
    )
    path = (
        f"{vault}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/{uuid.uuid4()}"
        "?api-version=2020-10-01"
    )
    next_tuesday = json.dumps(
        {
            "properties": {
                "requestType": "AdminAssign",
                "principalId": newmember,
                "roleDefinitionId": role_id(local_vault, OFFICER),
                "scheduleInfo": {"startDateTime": "next tuesday"},
            }
        }
    )
    for body in (
        b"nope",
        b'{"properties": []}',
        b'{"properties": {"requestType": "AdminAssign"}}',
        next_tuesday.encode(),
    ):
        status, error, _ = call(local_vault, path, method="PUT", body=body)
        assert status == 400 and error["error"]["code"] == "InvalidRequestContent", body
    try:
        list(lead.role_assignment_schedule_requests.list_for_scope(vault, filter="asApprover()"))
    except HttpResponseError as exc:
        assert exc.status_code == 400
    else:
        raise AssertionError("asApprover() is not supported and must say so")

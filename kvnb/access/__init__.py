"""kvnb.access: roles, effective access, grants and governance plans, on Azure and the local vault.

Everything goes through the official ``AuthorizationManagementClient`` of a `kvnb.vault.VaultTarget`
(role definitions and assignments at 2022-04-01, PIM schedule requests at 2020-10-01)::

    from kvnb import open_vault
    from kvnb.access import effective_access, grant, list_role_assignments

    vault = open_vault("local", persona="lead")
    list_role_assignments(vault)                                   # a DataFrame
    grant(vault, "AzureAD team", "Key Vault Secrets Officer", secret="APICaller", duration="1h")
    effective_access(vault, "aad-team", secret="APICaller").to_frame()

Module map: `identity` (who am I, from the token), `roles` (catalogue; operations a role allows),
`principals` (the principal type and the `Resolver` contract), `graph_principals` (the one Graph
principal layer, also governance's), `resolvers` (which directory answers), `assignments`
(the DataFrame), `effective` (verdicts and why), `grants` (grant/revoke, time-bound), `plan`
(governance plan and drift), `errors`.
"""

from __future__ import annotations

from .assignments import COLUMNS as ASSIGNMENT_COLUMNS
from .assignments import list_role_assignments
from .effective import EffectiveAccess, RoleHeld, effective_access
from .errors import AccessError, PermissionMissingError, PlanError, PrincipalNotFoundError, RoleNotFoundError
from .grants import GrantResult, RevokeResult, grant, revoke
from .graph_principals import graph_resolver
from .identity import Identity, identity_from_token, whoami
from .plan import (
    Drift,
    DriftItem,
    GovernancePlan,
    PlannedAssignment,
    PlanResult,
    apply_plan,
    check_plan,
    seed_plan,
)
from .principals import PrincipalInfo, Resolver, ids_only_resolver, local_resolver, resolve_principal
from .resolvers import default_resolver
from .roles import SECRET_OPERATIONS, RoleCatalogue, RoleInfo, role_catalogue

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "AccessError",
    "Drift",
    "DriftItem",
    "EffectiveAccess",
    "GovernancePlan",
    "GrantResult",
    "Identity",
    "PermissionMissingError",
    "PlanError",
    "PlanResult",
    "PlannedAssignment",
    "PrincipalInfo",
    "PrincipalNotFoundError",
    "Resolver",
    "RevokeResult",
    "RoleCatalogue",
    "RoleHeld",
    "RoleInfo",
    "RoleNotFoundError",
    "SECRET_OPERATIONS",
    "apply_plan",
    "check_plan",
    "default_resolver",
    "effective_access",
    "grant",
    "graph_resolver",
    "identity_from_token",
    "ids_only_resolver",
    "list_role_assignments",
    "local_resolver",
    "resolve_principal",
    "revoke",
    "role_catalogue",
    "seed_plan",
    "whoami",
]

"""Who calls and what it may do: token issuer, managed-identity endpoint, RBAC, role definitions, conditions."""

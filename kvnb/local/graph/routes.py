"""The local vault's Microsoft Graph v1.0 subset, served under ``/v1.0`` on the first vault's port.

Directory reads (`directory`), access reviews (`reviews`) and entitlement management
(`packages`); shared plumbing in `common`, permission rules in `access`. Tokens
must be for Graph (``https://graph.microsoft.com`` or the local base URL, as the Azure CLI asks).
"""

from __future__ import annotations

from . import directory, packages, reviews

routes = [*directory.routes, *reviews.routes, *packages.routes]

"""The local vault's Microsoft Graph v1.0 subset, served under ``/v1.0`` on the first vault's port.

Directory reads (`graph_directory`), access reviews (`graph_reviews`) and entitlement management
(`graph_packages`); shared plumbing in `graph_common`, permission rules in `graph_access`. Tokens
must be for Graph (``https://graph.microsoft.com`` or the local base URL, as the Azure CLI asks).
"""

from __future__ import annotations

from . import graph_directory, graph_packages, graph_reviews

routes = [*graph_directory.routes, *graph_reviews.routes, *graph_packages.routes]

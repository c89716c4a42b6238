"""Which directory answers the access layer's questions: `default_resolver`, and `resolving` for one call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .graph_principals import graph_resolver
from .principals import Resolver, local_handles

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget


def default_resolver(target: VaultTarget) -> Resolver:
    """Microsoft Graph for *target*, on Azure and on the local vault alike (where persona handles such as
    ``aad-team`` are accepted too). The caller closes it (``resolver.close()``): it owns a Graph client."""
    from kvnb.graph import GraphClient

    handles = local_handles() if target.is_local else None
    return graph_resolver(GraphClient.from_target(target), handles=handles, close=True)


@contextmanager
def resolving(target: VaultTarget, resolver: Resolver | None) -> Iterator[Resolver]:
    """*resolver*, or a default one for *target* that is closed afterwards."""
    if resolver is not None:
        yield resolver
        return
    owned = default_resolver(target)
    try:
        yield owned
    finally:
        if owned.close is not None:
            owned.close()

"""Every resolver kvnb ships keeps the resolver contract (`kvnb.testing.resolver`): ids-only, Graph, local."""

from __future__ import annotations

import pytest

from kvnb.access import default_resolver, ids_only_resolver, local_resolver
from kvnb.local.seed.scenario import FIRST_VAULT
from kvnb.local.state.directory import Directory
from kvnb.testing.resolver import DirectoryResolverContract, KnownPrincipals, ResolverContract


@pytest.fixture
def seeded_principals(local_vault) -> KnownPrincipals:
    """The seed's member, the group that gives them the secrets, and the build pipeline."""
    directory = Directory(local_vault.store)
    member = directory.principal_by_handle("member")
    group = directory.principal_by_handle(f"{FIRST_VAULT}_secAccess")
    pipeline = directory.principal_by_handle("pipeline")
    return KnownPrincipals(
        user_id=member.id,
        user_principal_name=member.upn,
        group_id=group.id,
        group_name=group.display_name,
        service_principal_id=pipeline.id,
        service_principal_name=pipeline.display_name,
    )


class TestIdsOnlyResolver(ResolverContract):
    @pytest.fixture
    def resolver(self):
        return ids_only_resolver()

    def test_knows_no_names_and_no_groups(self, resolver):
        assert not resolver.knows_groups


class TestGraphResolver(DirectoryResolverContract):
    """Microsoft Graph, here the local vault's Graph over TLS, signed in as the lead."""

    @pytest.fixture
    def resolver(self, open_as):
        resolver = default_resolver(open_as("lead"))
        yield resolver
        resolver.close()

    @pytest.fixture
    def known(self, seeded_principals):
        return seeded_principals

    def test_persona_handles_resolve_on_the_local_vault(self, resolver, known):
        (member,) = resolver.search("member")
        assert member.id == known.user_id.lower()


class TestLocalResolver(DirectoryResolverContract):
    @pytest.fixture
    def resolver(self, local_vault):
        return local_resolver(local_vault.paths)

    @pytest.fixture
    def known(self, seeded_principals):
        return seeded_principals

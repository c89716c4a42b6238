"""The `Resolver` contract as a test suite: subclass it once per resolver (keyring's ``testing/backend.py``).

A resolver answers the access layer's directory questions (``kvnb.access.principals``). kvnb ships
three — ids-only, Microsoft Graph and the local vault's — and each runs this suite; so should any
resolver written for another directory::

    from kvnb.testing.resolver import DirectoryResolverContract, KnownPrincipals

    class TestMyResolver(DirectoryResolverContract):
        @pytest.fixture
        def resolver(self):
            return my_resolver()

        @pytest.fixture
        def known(self) -> KnownPrincipals:
            return KnownPrincipals(user_id=..., user_principal_name=..., group_id=..., ...)

`ResolverContract` holds for every resolver, even one that knows no directory; a resolver backed
by a directory also keeps `DirectoryResolverContract`, about principals the test names in ``known``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from kvnb.access.principals import PrincipalInfo, Resolver, resolve_principal
from kvnb.errors import PrincipalNotFoundError

__all__ = ["DirectoryResolverContract", "KnownPrincipals", "ResolverContract"]


@dataclass(frozen=True)
class KnownPrincipals:
    """Principals the directory behind the resolver holds; *user* is a direct member of *group*."""

    user_id: str
    user_principal_name: str
    group_id: str
    group_name: str
    service_principal_id: str
    service_principal_name: str


def _unknown_id() -> str:
    return str(uuid.uuid4())


class ResolverContract:
    """What every resolver keeps; subclasses provide a ``resolver`` fixture."""

    @pytest.fixture
    def resolver(self) -> Resolver:
        raise NotImplementedError("Provide a `resolver` fixture in the subclass.")

    def test_is_a_resolver(self, resolver):
        assert isinstance(resolver, Resolver)
        assert resolver.knows_groups == (resolver.member_of is not None)

    def test_lookup_of_nothing_is_empty(self, resolver):
        assert dict(resolver.lookup([])) == {}

    def test_an_unknown_id_is_left_out_of_lookup(self, resolver):
        assert dict(resolver.lookup([_unknown_id()])) == {}
        assert resolver.get(_unknown_id()) is None

    def test_an_unknown_name_finds_nobody(self, resolver):
        assert resolver.search(f"no-such-principal-{uuid.uuid4().hex[:8]}") == []

    def test_an_object_id_always_resolves(self, resolver):
        wanted = _unknown_id().upper()
        principal = resolve_principal(wanted, resolver=resolver)
        assert isinstance(principal, PrincipalInfo) and principal.id == wanted.lower()

    def test_an_unknown_name_is_a_principal_not_found_error(self, resolver):
        with pytest.raises(PrincipalNotFoundError, match="object id"):
            resolve_principal("nobody-of-that-name", resolver=resolver)

    def test_an_unknown_principal_is_in_no_group(self, resolver):
        if resolver.knows_groups:
            assert dict(resolver.member_of(_unknown_id())) == {}


class DirectoryResolverContract(ResolverContract):
    """What a resolver backed by a directory keeps; subclasses also provide a ``known`` fixture."""

    @pytest.fixture
    def known(self) -> KnownPrincipals:
        raise NotImplementedError("Provide a `known` fixture (KnownPrincipals) in the subclass.")

    def test_lookup_keys_are_lower_case_ids_in_any_case(self, resolver, known):
        ids = [known.user_id.upper(), known.group_id, known.service_principal_id]
        found = dict(resolver.lookup(ids))
        assert set(found) == {i.lower() for i in ids}
        assert all(principal.id == key and principal.found for key, principal in found.items())

    def test_lookup_describes_each_kind(self, resolver, known):
        user, group, app = (resolver.get(i) for i in (known.user_id, known.group_id, known.service_principal_id))
        assert (user.kind, user.user_principal_name, user.app_id) == ("User", known.user_principal_name, None)
        assert user.label == known.user_principal_name and user.enabled is True
        assert (group.kind, group.display_name, group.enabled, group.user_principal_name) == (
            "Group",
            known.group_name,
            None,
            None,
        )
        assert (app.kind, app.display_name, app.user_principal_name) == (
            "ServicePrincipal",
            known.service_principal_name,
            None,
        )
        assert app.app_id

    @pytest.mark.parametrize(
        "field, kind",
        [("user_principal_name", "User"), ("group_name", "Group"), ("service_principal_name", "ServicePrincipal")],
    )
    def test_search_finds_by_user_principal_name_or_display_name(self, resolver, known, field, kind):
        (found,) = resolver.search(getattr(known, field))
        assert found.kind == kind
        assert (
            found.id
            == {"User": known.user_id, "Group": known.group_id, "ServicePrincipal": known.service_principal_id}[
                kind
            ].lower()
        )

    def test_resolve_principal_by_name_is_the_lookup_by_id(self, resolver, known):
        assert resolve_principal(known.user_principal_name, resolver=resolver) == resolver.get(known.user_id)

    def test_member_of_gives_each_group_with_its_chain(self, resolver, known):
        assert resolver.knows_groups
        chains = dict(resolver.member_of(known.user_id))
        assert chains[known.group_id.lower()] == (known.group_id.lower(),)  # a direct member
        for group_id, chain in chains.items():
            assert chain[-1] == group_id and len(set(chain)) == len(chain)
            assert resolver.get(chain[0]).kind == "Group"
        assert known.user_id.lower() not in chains

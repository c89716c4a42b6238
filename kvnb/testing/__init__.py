"""Test suites that ship with kvnb, for anything that plugs into it (keyring's ``testing`` package is the model).

`kvnb.testing.resolver`: the contract every principal `Resolver` keeps. Needs pytest.
"""

__all__: list[str] = []  # the suites are modules: kvnb.testing.resolver

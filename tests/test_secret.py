"""The masked secret type, operation by operation: what shows a mask, what raises, what reveals."""

from __future__ import annotations

import copy
import datetime as dt
import html
import json
import pickle
import pprint
import re
import secrets
from pathlib import Path

import pytest
from azure.keyvault.secrets import SecretProperties
from azure.keyvault.secrets._generated.models import SecretAttributes

from kvnb import redaction
from kvnb.fingerprint import fingerprint, short_fingerprint
from kvnb.redaction import Registry
from kvnb.secret import PeekNotAllowed, RevealRequired, Secret, SecretValueDropped
from valuecheck import (
    assert_different_value,
    assert_not_leaked,
    assert_same_value,
    assert_value_in,
)

VAULT = "https://127.0.0.1:8443"


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch) -> Registry:
    """Each test registers into its own registry, not the process-wide one."""
    registry = Registry()
    monkeypatch.setattr(redaction, "registry", registry)
    return registry


@pytest.fixture
def value() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture
def api(value) -> Secret:
    return Secret(value, name="APICaller", vault_url=VAULT, version="v1")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeVault:
    """A refetch callable: ``versions`` maps version -> value, the last one being the latest."""

    def __init__(self, versions: dict[str, str]) -> None:
        self.versions = versions
        self.calls: list[str | None] = []

    def __call__(self, version):
        self.calls.append(version)
        version = version or list(self.versions)[-1]
        return self.versions[version], SecretProperties(
            SecretAttributes(enabled=True), f"{VAULT}/secrets/APICaller/{version}"
        )


def assert_masked(text: str, value: str, name: str = "APICaller") -> None:
    assert_not_leaked(value, text)
    assert f"secret {name} " in text and "••••••••" in text


# -- display: every way of showing it gives the mask --------------------------------------------

DISPLAYS = {
    "repr": repr,
    "str": str,
    "f-string": lambda s: f"{s}",
    "f-string with spec": lambda s: f"{s:>60}",
    "f-string !r": lambda s: f"{s!r}",
    "format()": lambda s: format(s),
    "str.format": lambda s: f"key={s}",
    "%s": lambda s: "key=%s" % s,
    "%r": lambda s: "key=%r" % (s,),
    "_repr_html_": lambda s: s._repr_html_(),
    "_repr_mimebundle_": lambda s: json.dumps(s._repr_mimebundle_(), ensure_ascii=False),
    "pprint in a list": lambda s: pprint.pformat([s, {"k": s}]),
    "print": lambda s: _printed(s),
}


def _printed(obj) -> str:
    import io

    out = io.StringIO()
    print(obj, file=out)
    return out.getvalue()


@pytest.mark.parametrize("how", DISPLAYS)
def test_every_display_shows_the_mask(api, value, how):
    text = DISPLAYS[how](api)
    assert_masked(text, value)
    assert api.fingerprint in text


def test_mask_names_the_secret_and_its_short_fingerprint(api, value):
    assert_same_value(repr(api), f"<secret APICaller {short_fingerprint(value, VAULT)}… ••••••••>")


def test_ipython_pretty_printer_shows_no_value(api, value):
    from IPython.lib.pretty import pretty

    assert_masked(pretty([api]), value)


def test_ipython_display_gives_one_line_of_text_and_html_only(api, value):
    """No application/json (JupyterLab drew it as a JSON tree) and no markdown: two one-liners."""
    from IPython.core.interactiveshell import InteractiveShell

    data, _metadata = InteractiveShell.instance().display_formatter.format(api)
    assert sorted(data) == ["text/html", "text/plain"]
    assert data["text/plain"] == repr(api)
    assert data["text/html"] == f"<code>{html.escape(repr(api))}</code>"
    for mimetype, text in data.items():
        assert "\n" not in text, mimetype
        assert_masked(html.unescape(text), value)


def test_pandas_shows_the_mask_in_text_and_html(api, value):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"name": ["APICaller"], "secret": [api]})
    assert_masked(repr(frame), value)
    assert_not_leaked(value, frame.to_html())
    assert "&lt;secret APICaller" in frame.to_html()
    assert_not_leaked(value, frame.style.to_html())


# -- operations giving masked results -----------------------------------------------------------

MASKED_RESULTS = {
    "secret + str": (lambda s: s + "-suffix", lambda v: v + "-suffix"),
    "str + secret": (lambda s: "Bearer " + s, lambda v: "Bearer " + v),
    "secret + secret": (lambda s: s + s, lambda v: v + v),
    "secret % args": (lambda s: s % (), lambda v: v % ()),
    "slice": (lambda s: s[2:10], lambda v: v[2:10]),
    "slice with step": (lambda s: s[::2], lambda v: v[::2]),
    "index": (lambda s: s[0], lambda v: v[0]),
    "slice of a concatenation": (lambda s: ("Bearer " + s)[:12], lambda v: ("Bearer " + v)[:12]),
}


@pytest.mark.parametrize("how", MASKED_RESULTS)
def test_operations_give_masked_secrets_that_reveal_the_plain_result(api, value, how):
    operation, plain = MASKED_RESULTS[how]
    result = operation(api)
    assert isinstance(result, Secret) and result.derived
    assert_not_leaked(value, repr(result))
    assert_not_leaked(value, str(result))
    assert_not_leaked(value, f"{result}")
    assert_same_value(result.reveal(), plain(value))
    assert result.fingerprint == short_fingerprint(plain(value), VAULT)


def test_percent_formatting_with_a_secret_as_the_argument_shows_the_mask(api, value):
    assert_masked("token: %s" % api, value)
    assert_masked(f"token: {api}", value)


def test_secret_as_format_string_substitutes_and_stays_masked():
    template = Secret("user=%s;pw=" + secrets.token_urlsafe(12), name="Conn", vault_url=VAULT)
    filled = template % ("alice",)
    prefix = "user=alice;pw="
    assert_same_value(filled.reveal()[: len(prefix)], prefix)  # it starts with the prefix
    assert "alice" not in repr(filled)


def test_a_failing_percent_format_does_not_quote_the_value():
    value = "ab%q" + secrets.token_urlsafe(12)  # Python's own message would quote "%q"
    with pytest.raises(TypeError) as caught:
        Secret(value, name="Broken", vault_url=VAULT) % ("x",)
    assert_not_leaked("%q", str(caught.value))  # "%q" is part of the value
    assert ".reveal()" in str(caught.value)


def test_slices_are_registered_for_redaction_but_concatenations_add_nothing(api, value, fresh_registry):
    assert_same_value(fresh_registry.scrub(f"x{value}y"), "x[secret APICaller redacted]y")
    before = len(fresh_registry)
    api + "-suffix"
    assert len(fresh_registry) == before  # it contains the registered value already
    fragment = api[3:20]
    assert_value_in("redacted", fresh_registry.scrub(value[3:20]))
    assert fragment.name == "APICaller[3:20]"


# -- operations that need the plain value raise, pointing to .reveal() ------------------------

REFUSED = {
    "json.dumps": lambda s: json.dumps({"key": s}),
    "str.join": lambda s: ",".join(["a", s]),
    "pickle": lambda s: pickle.dumps(s),
    "copy.copy": lambda s: copy.copy(s),
    "copy.deepcopy": lambda s: copy.deepcopy(s),
    "encode": lambda s: s.encode(),
    "bytes()": lambda s: bytes(s),
    "len()": lambda s: len(s),
    "iter()": lambda s: iter(s),
    "list()": lambda s: list(s),
    "in": lambda s: "a" in s,
    "int()": lambda s: int(s),
    "ordering": lambda s: s < "m",
    "secret * 2": lambda s: s * 2,
    "str % secret with %d": lambda s: "%d" % s,
    "os.environ": lambda s: __import__("os").environ.__setitem__("KVNB_TEST_UNUSED", s),
}
HINTED = {"pickle", "copy.copy", "copy.deepcopy", "encode", "bytes()", "len()", "iter()", "list()", "in"}


@pytest.mark.parametrize("how", REFUSED)
def test_operations_needing_the_plain_value_raise_type_error(api, value, how):
    with pytest.raises(TypeError) as caught:
        REFUSED[how](api)
    assert_not_leaked(value, str(caught.value))
    if how in HINTED:
        assert ".reveal()" in str(caught.value)


def test_str_methods_raise_a_hint_and_hasattr_stays_false(api, value):
    with pytest.raises(RevealRequired) as caught:
        api.upper()
    assert_not_leaked(value, str(caught.value))
    assert ".reveal()" in str(caught.value)
    assert isinstance(caught.value, AttributeError)
    assert not hasattr(api, "startswith")
    assert not hasattr(api, "_ipython_canary_method_should_not_exist_")


def test_secret_is_not_a_str(api):
    assert not isinstance(api, str)
    with pytest.raises(TypeError):
        Secret(b"bytes", name="X", vault_url=VAULT)


# -- comparison and hashing ---------------------------------------------------------------------


def test_equality_with_the_plain_value_and_other_secrets(api, value):
    assert_same_value(api, value)
    assert_same_value(value, api)
    assert_different_value(api, value + "x")
    assert_different_value(api, value[:-1])
    assert_same_value(api, Secret(value, name="Copy", vault_url="https://other.vault.azure.net"))
    assert_different_value(api, Secret(secrets.token_urlsafe(24), name="Other", vault_url=VAULT))
    assert (api == 42) is False


def test_hash_agrees_with_the_plain_str(api, value):
    assert_same_value(hash(api), hash(value))
    assert_value_in(value, {api})
    assert_value_in(api, {value})
    assert bool(api) is True


# -- explicit access ----------------------------------------------------------------------------


def test_reveal_and_get_secret_value_return_the_plain_str(api, value):
    assert_same_value(api.reveal(), value)
    revealed_type = type(api.reveal())  # outside the assert, whose report would show type()'s argument
    assert revealed_type is str
    assert_same_value(api.get_secret_value(), value)


def test_fingerprint_is_keyed_per_vault(api, value):
    assert api.fingerprint == short_fingerprint(value, VAULT) and len(api.fingerprint) == 12
    assert api.fingerprint_full == fingerprint(value, VAULT)
    elsewhere = Secret(value, name="APICaller", vault_url="https://azdevopskv01.vault.azure.net/")
    assert elsewhere.fingerprint != api.fingerprint


def test_a_remembered_fingerprint_still_belongs_to_the_value(api, value):
    # Fingerprints are remembered per version; another value under the same version (a local
    # vault reset, a vault re-created) must not inherit the first one's.
    again = Secret(value, name="APICaller", vault_url=VAULT, version="v1")
    other_value = secrets.token_urlsafe(24)
    other = Secret(other_value, name="APICaller", vault_url=VAULT, version="v1")
    assert again.fingerprint_full == api.fingerprint_full == fingerprint(value, VAULT)
    other_fingerprint = fingerprint(other_value, VAULT)  # outside the assert: a failing `!=` shows call arguments
    assert other.fingerprint_full == other_fingerprint != api.fingerprint_full


def test_peek_is_denied_by_default_and_points_to_the_fingerprint(api, value):
    with pytest.raises(PeekNotAllowed) as caught:
        api.peek(8)
    message = str(caught.value)
    assert ".fingerprint" in message and "%config KvMagics.peek_policy = 8" in message
    assert_not_leaked(value[:8], message)
    assert isinstance(caught.value, PermissionError)


def test_peek_policy_allow_and_a_character_limit(value):
    allowed = Secret(value, name="A", vault_url=VAULT, peek_policy="allow")
    assert_same_value(allowed.peek(8), value[:8])
    limited = Secret(value, name="A", vault_url=VAULT, peek_policy=8)
    assert_same_value(limited.peek(8), value[:8])
    assert_same_value(limited.peek(3), value[:3])
    with pytest.raises(PeekNotAllowed, match="at most 8"):
        limited.peek(9)
    with pytest.raises(ValueError):
        allowed.peek(-3)  # value[:-3] would be nearly all of it
    with pytest.raises(ValueError):
        Secret(value, name="A", vault_url=VAULT, peek_policy="sometimes")


def test_properties_come_from_secret_properties(value):
    utc = dt.timezone.utc
    attributes = SecretAttributes(
        enabled=True, not_before=dt.datetime(2024, 1, 1, tzinfo=utc), expires=dt.datetime(2030, 1, 1, tzinfo=utc)
    )
    attributes.created = dt.datetime(2024, 1, 2, tzinfo=utc)
    attributes.updated = dt.datetime(2024, 1, 3, tzinfo=utc)
    properties = SecretProperties(
        attributes, f"{VAULT}/secrets/APICaller/abc123", content_type="text/plain", tags={"team": "devops"}
    )
    api = Secret(value, name="APICaller", vault_url=VAULT, properties=properties, identity="member@contoso.test")
    assert api.version == "abc123" and api.id == f"{VAULT}/secrets/APICaller/abc123"
    assert api.created.day == 2 and api.updated.day == 3
    assert api.expires.year == 2030 and api.not_before.year == 2024
    assert api.enabled is True and api.content_type == "text/plain"
    assert api.tags == {"team": "devops"} and api.identity == "member@contoso.test"
    assert api.vault_url == VAULT and api.properties is properties


def test_properties_without_secret_properties_are_none(api):
    assert api.created is None and api.tags is None and api.enabled is None
    assert api.id == f"{VAULT}/secrets/APICaller/v1"


# -- TTL, re-fetch and newer versions -----------------------------------------------------------


def test_value_is_dropped_after_ttl_and_fetched_again(value):
    clock, vault = FakeClock(), FakeVault({"v1": value})
    api = Secret(value, name="APICaller", vault_url=VAULT, version="v1", ttl=60, refetch=vault, clock=clock)
    clock.now += 59
    assert_same_value(api.reveal(), value)
    assert vault.calls == []
    clock.now += 1
    assert_same_value(api.reveal(), value)
    assert vault.calls == [None]  # the latest is still v1
    assert_same_value(api.reveal(), value)
    assert vault.calls == [None]  # TTL restarted
    assert "newer" not in repr(api)


def test_a_rotation_seen_when_the_ttl_runs_out_is_shown_and_the_version_kept(value):
    newer = secrets.token_urlsafe(24)
    clock, vault = FakeClock(), FakeVault({"v1": value, "v2": newer})
    api = Secret(value, name="APICaller", vault_url=VAULT, version="v1", ttl=60, refetch=vault, clock=clock)
    clock.now += 61
    assert_same_value(api.reveal(), value)
    assert vault.calls == [None, "v1"]
    assert_not_leaked(newer, repr(api))
    assert "(newer version available: v2" in repr(api)


def test_without_refetch_an_expired_value_says_to_fetch_again(value):
    clock = FakeClock()
    api = Secret(value, name="APICaller", vault_url=VAULT, ttl=5, clock=clock)
    clock.now += 5
    with pytest.raises(SecretValueDropped, match="%kvget APICaller") as caught:
        api.reveal()
    assert_not_leaked(value, str(caught.value))
    assert_masked(repr(api), value)  # display still works without the value


def test_derived_secret_is_recomputed_from_its_refetched_parent(value):
    clock, vault = FakeClock(), FakeVault({"v1": value})
    api = Secret(value, name="APICaller", vault_url=VAULT, version="v1", ttl=10, refetch=vault, clock=clock)
    header = "Bearer " + api
    clock.now += 11
    assert_same_value(header.reveal(), "Bearer " + value)
    assert vault.calls == [None]


def test_a_changed_value_for_the_same_version_is_refused(value, fresh_registry):
    other = secrets.token_urlsafe(24)
    clock, vault = FakeClock(), FakeVault({"v1": other})
    api = Secret(value, name="APICaller", vault_url=VAULT, version="v1", ttl=1, refetch=vault, clock=clock)
    clock.now += 2
    with pytest.raises(SecretValueDropped, match="changed") as caught:
        api.reveal()
    assert_not_leaked(other, str(caught.value))
    assert_value_in("redacted", fresh_registry.scrub(other))


def test_refresh_reports_a_newer_version_and_latest_switches(value, fresh_registry):
    newer = secrets.token_urlsafe(24)
    vault = FakeVault({"v1": value, "v2": newer})
    api = Secret(value, name="APICaller", vault_url=VAULT, version="v1", refetch=vault)
    assert api.refresh() is True and api.newer_version == "v2"
    assert_not_leaked(newer, repr(api))
    assert "newer version available: v2" in repr(api)
    assert_same_value(api.reveal(), value)  # the object keeps its own version
    assert_different_value(fresh_registry.scrub(newer), newer)  # the newer value reached memory: registered
    current = api.latest()
    assert current.version == "v2"
    assert_same_value(current.reveal(), newer)
    assert current.newer_version is None


def test_refresh_with_no_newer_version_restarts_the_ttl(value):
    clock, vault = FakeClock(), FakeVault({"v1": value})
    api = Secret(value, name="APICaller", vault_url=VAULT, version="v1", ttl=10, refetch=vault, clock=clock)
    clock.now += 9
    assert api.refresh() is False and "newer" not in repr(api)
    clock.now += 9
    assert_same_value(api.reveal(), value)
    assert vault.calls == [None]


def test_every_secret_registers_its_value_for_redaction(value, fresh_registry):
    Secret(value, name="APICaller", vault_url=VAULT)
    assert_same_value(fresh_registry.scrub(f"token={value}"), "token=[secret APICaller redacted]")


def test_terminal_ipython_shows_one_line(tmp_path):
    """Terminal IPython, in a child process reading a session from a pipe: `Out[3]` is the mask, on one line."""
    import subprocess
    import sys

    session = (
        "from kvnb.secret import Secret\n"
        "import secrets; s = Secret(secrets.token_urlsafe(24), name='APICaller', vault_url='https://v.example/')\n"
        "s\n"
    )
    env = {
        "HOME": str(tmp_path),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "IPython",
            "--simple-prompt",
            "--no-banner",
            "--colors=NoColor",
            "--HistoryManager.hist_file=:memory:",
        ],
        input=session,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    shown = [line for line in done.stdout.splitlines() if "Out[" in line]  # after the "In [3]: " prompt
    assert len(shown) == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert re.fullmatch(r"(In \[\d+\]: )?Out\[\d+\]: <secret APICaller [0-9a-f]{12}… ••••••••>", shown[0]), shown

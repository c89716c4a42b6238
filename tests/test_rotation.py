"""kvnb.rotation against the seeded local vault: checks before the value, tags, expiry, fingerprints.

Values are random per run (``secrets.token_urlsafe``) and never printed; ``assert_no_trace`` checks
texts for each of them in raw, JSON, URL, base64 and hex forms.
"""

from __future__ import annotations

import io
import secrets
from datetime import datetime, timedelta, timezone

import pytest
from azure.core.exceptions import HttpResponseError

from kvnb import errors, fetch
from kvnb.fingerprint import short_fingerprint
from kvnb.rotation import (
    HISTORY_COLUMNS,
    MAX_TAGS,
    RotationError,
    RotationRefused,
    RotationVerificationError,
    generated_value,
    prompted_value,
    rotate_secret,
    value_from_env,
    value_from_stream,
)
from secretreads import current, versions
from valuecheck import assert_different_value, assert_no_trace, assert_same_value


class Asked:
    """A value source that counts how often it was asked."""

    def __init__(self, value: str | None = None):
        self.value, self.calls = value, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.value is None:
            raise AssertionError("the value was asked for although the rotation had to stop before")
        return self.value


# -- the lead rotates -------------------------------------------------------------------------------
def test_lead_rotates_keeping_tags_type_and_lifetime_and_verifies_by_fingerprint(open_as, local_vault):
    lead = open_as("lead")
    before = current(local_vault)
    old = before.properties
    value = secrets.token_urlsafe(32)
    result = rotate_secret("APICaller", lambda: value, target=lead, reason="suspected leak")

    after = current(local_vault)
    assert_same_value(after.value, value)
    assert after.properties.version == result.version != old.version
    assert result.previous_version == old.version
    assert result.verified and result.fingerprint == result.fingerprint_read
    assert result.fingerprint == short_fingerprint(value, local_vault.url)
    previous_fingerprint = short_fingerprint(before.value, local_vault.url)  # a failing `!=` shows call arguments
    assert result.fingerprint != previous_fingerprint
    tags = after.properties.tags
    assert tags["app"] == "partner-api" and tags["owner"] == "devops"  # the secret's own tags are kept
    assert tags["rotated-by"] == "lead@kvnblocal.onmicrosoft.com"
    assert tags["rotation-reason"] == "suspected leak"
    rotated_on = datetime.strptime(tags["rotated-on"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs(rotated_on - after.properties.created_on) < timedelta(seconds=5)
    assert after.properties.content_type == old.content_type == "text/plain"
    # The same lifetime as the version it replaces (180 days in the seed), counted from now.
    assert abs(
        (after.properties.expires_on - after.properties.created_on) - (old.expires_on - old.created_on)
    ) < timedelta(seconds=2)
    assert old.enabled and result.disabled == ()
    assert_no_trace("\n".join(result.summary_lines()) + repr(result), value, before.value)


def test_history_is_newest_first_with_only_the_new_fingerprint(open_as, local_vault):
    result = rotate_secret("APICaller", generated_value(32), target=open_as("lead"))
    history = result.history
    assert list(history.columns) == HISTORY_COLUMNS
    assert len(history) == len(versions(local_vault)) == 4  # the seed's three, and the new one
    assert history["version"][0] == result.version[:8]
    assert history["fingerprint"][0] == result.fingerprint
    assert (history["fingerprint"][1:] == "").all()
    assert history["rotated_by"][0] == "lead@kvnblocal.onmicrosoft.com" and (history["rotated_by"][1:] == "").all()
    assert history["created"].is_monotonic_decreasing


def test_a_secret_without_expiry_gets_none(open_as, local_vault):
    result = rotate_secret("DbConnectionString", generated_value(24), target=open_as("lead"))
    assert result.expires_on is None
    assert current(local_vault, "DbConnectionString").properties.expires_on is None


def test_rotated_on_follows_the_vault_clock(open_as, local_vault):
    local_vault.admin("clock", {"advance_seconds": 10 * 86400})
    result = rotate_secret("APICaller", generated_value(32), target=open_as("lead"))
    created = current(local_vault).properties.created_on
    assert abs(result.rotated_on - created) < timedelta(seconds=5)
    assert result.rotated_on - datetime.now(timezone.utc) > timedelta(days=9)


def test_a_second_rotation_replaces_the_first_ones_tags(open_as, local_vault):
    lead = open_as("lead")
    rotate_secret("APICaller", generated_value(32), target=lead, reason="first")
    rotate_secret("APICaller", generated_value(32), target=lead)
    tags = current(local_vault).properties.tags
    assert "rotation-reason" not in tags  # a stale reason would describe the wrong rotation
    assert set(tags) == {"app", "owner", "rotated-by", "rotated-on"}


def test_disable_previous_turns_every_earlier_version_off(open_as, local_vault):
    client = local_vault.secret_client("lead")
    earlier = [p.version for p in versions(local_vault)]
    result = rotate_secret("APICaller", generated_value(32), target=open_as("lead"), disable_previous=True)
    assert sorted(result.disabled) == sorted(earlier)
    states = {p.version: p.enabled for p in versions(local_vault)}
    assert states.pop(result.version) is True and not any(states.values())
    with pytest.raises(HttpResponseError) as refused:  # a client pinned to an old version breaks
        client.get_secret("APICaller", earlier[-1])
    assert refused.value.status_code == 403
    assert client.get_secret("APICaller").properties.version == result.version


def test_the_cache_of_fetched_secrets_is_dropped(open_as, local_vault):
    lead = open_as("lead")
    fetch.clear_cache()
    old = fetch.fetch_secrets(["APICaller"], target=lead, cache_ttl=3600)[0]
    result = rotate_secret("APICaller", generated_value(32), target=lead)
    again = fetch.fetch_secrets(["APICaller"], target=lead, cache_ttl=3600)[0]
    assert again.fingerprint == result.fingerprint != old.fingerprint
    fetch.clear_cache()


# -- it stops before asking for the value ------------------------------------------------------------
@pytest.mark.parametrize(
    "persona, held",
    [
        ("member", "Key Vault Secrets User through group azDevOpsKV01_secAccess"),
        ("newmember", "Key Vault Reader through group azDevOpsKV01_reader"),
        ("aad-team", "you hold no role there"),
    ],
)
def test_without_set_permission_it_stops_before_the_value(open_as, local_vault, persona, held):
    asked = Asked()
    count = len(versions(local_vault))
    with pytest.raises(RotationRefused) as refused:
        rotate_secret("APICaller", asked, target=open_as(persona))
    message = str(refused.value)
    assert asked.calls == 0 and len(versions(local_vault)) == count
    assert "You may not set APICaller in azDevOpsKV01: that needs Key Vault Secrets Officer" in message
    assert held in message
    assert (
        f'%kvaccess grant {persona}@kvnblocal.onmicrosoft.com "Key Vault Secrets Officer" '
        "--scope secret/APICaller --for 1h" in message
    )
    assert refused.value.missing_role == "Key Vault Secrets Officer"
    assert not refused.value.access.allows("set")
    assert len(message.splitlines()) == 2


def test_an_unknown_secret_is_refused_before_the_value(open_as):
    asked = Asked()
    with pytest.raises(errors.SecretNotFoundError, match="No secret APICallr in azDevOpsKV01"):
        rotate_secret("APICallr", asked, target=open_as("lead"))
    assert asked.calls == 0


def test_the_tag_limit_is_checked_before_the_value(open_as, empty_vault):
    client = empty_vault.secret_client("lead")
    client.set_secret("Crowded", secrets.token_urlsafe(16), tags={f"t{i}": "x" for i in range(MAX_TAGS - 2)})
    client.set_secret("Roomy", secrets.token_urlsafe(16), tags={f"t{i}": "x" for i in range(MAX_TAGS - 3)})
    lead, asked = open_as("lead"), Asked()
    with pytest.raises(
        RotationError,
        match="Crowded has 13 tags of its own; with the rotation tags it would have 16, and Key Vault allows 15",
    ):
        rotate_secret("Crowded", asked, target=lead, reason="why")
    assert asked.calls == 0
    rotate_secret("Crowded", generated_value(16), target=lead)  # without a reason two tags are added: 15
    rotate_secret("Roomy", generated_value(16), target=lead, reason="why")
    assert len(client.get_secret("Roomy").properties.tags) == MAX_TAGS


def test_a_cancelled_rotation_changes_nothing(open_as, local_vault):
    asked, count = Asked(), len(versions(local_vault))
    with pytest.raises(RotationError, match="Cancelled: nothing changed"):
        rotate_secret("APICaller", asked, target=open_as("lead"), disable_previous=True, confirm=lambda plan: False)
    assert asked.calls == 0 and len(versions(local_vault)) == count


# -- the value and the read-back --------------------------------------------------------------------
def test_the_current_value_again_is_no_rotation(open_as, local_vault):
    value, count = current(local_vault).value, len(versions(local_vault))
    with pytest.raises(RotationError, match="already holds: nothing changed") as refused:
        rotate_secret("APICaller", value, target=open_as("lead"))
    assert len(versions(local_vault)) == count
    assert_no_trace(str(refused.value), value)


class _Tampering:
    """A SecretClient whose read-back of the newest version returns something else."""

    def __init__(self, client):
        self._client, self.newest = client, None

    def set_secret(self, *args, **kwargs):
        made = self._client.set_secret(*args, **kwargs)
        self.newest = made.properties.version
        return made

    def get_secret(self, name, version=None, **kwargs):
        bundle = self._client.get_secret(name, version, **kwargs)
        if version is not None and version == self.newest:
            bundle._value = secrets.token_urlsafe(32)
        return bundle

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_a_read_back_mismatch_fails_and_disables_nothing(open_as, local_vault):
    lead = open_as("lead")
    lead.__dict__["secret_client"] = _Tampering(local_vault.secret_client("lead"))
    value = secrets.token_urlsafe(32)
    with pytest.raises(RotationVerificationError, match="returned another value for the new version") as failed:
        rotate_secret("APICaller", value, target=lead, disable_previous=True)
    assert all(p.enabled for p in versions(local_vault))
    assert_no_trace(str(failed.value), value)
    lead.__dict__.pop("secret_client")


def test_value_sources(monkeypatch):
    generated = generated_value(32)
    length = len(generated)  # outside the assert, whose report would show len()'s argument
    assert length == 43
    assert_different_value(generated, generated_value(32))
    for wrong in (8, 4096):
        with pytest.raises(RotationError, match="Generate 16 to 1024 random bytes"):
            generated_value(wrong)
    value = secrets.token_urlsafe(24)
    assert_same_value(value_from_env("KVNB_TEST_NEW", {"KVNB_TEST_NEW": value}), value)
    with pytest.raises(RotationError, match="KVNB_TEST_NEW is not set or empty"):
        value_from_env("KVNB_TEST_NEW", {"KVNB_TEST_NEW": ""})
    assert_same_value(value_from_stream(io.StringIO(value + "\r\n")), value)
    assert_same_value(value_from_stream(io.StringIO(value + "\n\n")), value + "\n")  # only the shell's one newline

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    with pytest.raises(RotationError, match="a terminal would echo the value"):
        value_from_stream(Terminal(value))


def test_prompted_value_asks_twice_and_never_repeats_it(monkeypatch):
    value, prompts = secrets.token_urlsafe(24), []
    answers = iter([value, value, value, value + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or next(answers))
    assert_same_value(prompted_value("APICaller"), value)
    with pytest.raises(RotationError, match="The two values differ: nothing changed") as differ:
        prompted_value("APICaller")
    assert prompts[0] == "New value for APICaller (hidden): "
    assert_no_trace(str(differ.value) + "".join(prompts), value)


class _FailingSecondDisable(_Tampering):
    """Disables the first earlier version, then asks for one that does not exist (a 404)."""

    calls = 0

    def get_secret(self, name, version=None, **kwargs):
        return self._client.get_secret(name, version, **kwargs)

    def update_secret_properties(self, name, version=None, **kwargs):
        self.calls += 1
        return self._client.update_secret_properties(name, version if self.calls == 1 else "0" * 32, **kwargs)


def test_a_failed_disable_says_the_rotation_itself_happened(open_as, local_vault):
    lead = open_as("lead")
    lead.__dict__["secret_client"] = _FailingSecondDisable(local_vault.secret_client("lead"))
    with pytest.raises(
        RotationError,
        match=r"new version [0-9a-f]{8} is set and verified, but disabling "
        r"earlier versions stopped after 1: ",
    ) as failed:
        rotate_secret("APICaller", generated_value(32), target=lead, disable_previous=True)
    assert not isinstance(failed.value, RotationVerificationError)
    assert sum(not p.enabled for p in versions(local_vault)) == 1
    lead.__dict__.pop("secret_client")

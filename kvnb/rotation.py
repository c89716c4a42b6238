"""Rotate a secret: a new version, tagged with who, when and why, checked by fingerprint.

    from kvnb.rotation import rotate_secret, generated_value
    result = rotate_secret("APICaller", lambda: generated_value(32), vault="azDevOpsKV01",
                           reason="suspected leak")
    result.fingerprint, result.verified, result.history

Everything that can refuse is checked *before* the value is asked for (the value is a callable,
called once the checks pass): the access layer's verdict for ``set`` (and ``update`` with
``disable_previous``), that the secret exists, and the 15-tag limit. Then the value is set as a new
version, read back and compared by keyed fingerprint; only a verified rotation disables earlier
versions. No value is ever printed, logged or put in an exception message.

What the new version keeps from the current one (see docs/rotation.md): its tags (plus
``rotated-by``, ``rotated-on`` and ``rotation-reason``; an earlier rotation's are replaced), its
content type, and its lifetime — when the current version expires N days after it was created,
the new one expires N days after now. ``not_before`` is not carried: a new key is needed at once.
"""

from __future__ import annotations

import getpass
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TextIO

from kvnb import errors
from kvnb.errors import RotationCancelled, RotationError, RotationRefused, RotationVerificationError
from kvnb.fetch import explained
from kvnb.fingerprint import SHORT_LENGTH, fingerprint, may_show
from kvnb.permissions import SECRETS_OFFICER, SET_SECRET
from kvnb.surface import Placeholder, access_command

if TYPE_CHECKING:
    from kvnb.vault import VaultTarget

ROTATED_BY, ROTATED_ON, ROTATION_REASON = "rotated-by", "rotated-on", "rotation-reason"
ROTATION_TAGS = (ROTATED_BY, ROTATED_ON, ROTATION_REASON)
MAX_TAGS = 15  # Key Vault's limit per secret version
MAX_TAG_VALUE = 512
MAX_VALUE_BYTES = 25 * 1024  # Key Vault stores at most 25 KB per value
MIN_GENERATED_BYTES, MAX_GENERATED_BYTES = 16, 1024
MAX_VERSIONS_LISTED, LIST_TIME_LIMIT = 1000, 10.0
SHORT_VERSION = 8
OFFICER = SECRETS_OFFICER
SET_ACTION = SET_SECRET
HISTORY_COLUMNS = ["version", "created", "enabled", "expires", "rotated_by", "fingerprint"]

ValueSource = str | Callable[[], str]


@dataclass(frozen=True)
class RotationPlan:
    """What the checks found; the value has not been asked for yet."""

    name: str
    vault: str
    vault_url: str
    rotated_by: str
    now: datetime  # the vault's clock (its Date header), else this machine's
    current_version: str
    tags: dict[str, str]  # the new version's tags
    content_type: str | None
    expires_on: datetime | None
    to_disable: tuple[str, ...]  # enabled versions that disable_previous turns off
    can_verify: bool  # whether you may read the new value back
    access: Any = None  # EffectiveAccess, or None when it could not be determined
    notes: tuple[str, ...] = ()

    def describe(self) -> list[str]:
        """What is about to happen, and the warning ``disable_previous`` deserves."""
        lines = [
            f"Rotating {self.name} in {self.vault} as {self.rotated_by} "
            f"(current version {self.current_version[:SHORT_VERSION]})."
        ]
        lines.extend(f"Note: {note}" for note in self.notes)
        if self.to_disable:
            shown = ", ".join(v[:SHORT_VERSION] for v in self.to_disable)
            lines.append(
                f"Warning: afterwards {len(self.to_disable)} version(s) will be disabled ({shown}). "
                "Clients pinned to one of them (a version in the secret's URL) get 403 from then on."
            )
        return lines


WITHHELD = "withheld"  # in place of a short fingerprint of a value below kvnb.fingerprint's threshold


@dataclass(frozen=True)
class RotationResult:
    name: str
    vault: str
    vault_url: str
    version: str
    previous_version: str
    rotated_by: str
    rotated_on: datetime
    reason: str | None
    tags: dict[str, str]
    content_type: str | None
    expires_on: datetime | None
    fingerprint: str  # short fingerprint of the value that was set
    fingerprint_read: str | None  # ... of what the vault returned; None if it could not be read
    disabled: tuple[str, ...] = ()
    history: Any = None  # DataFrame: HISTORY_COLUMNS, newest first
    notes: tuple[str, ...] = field(default=())

    @property
    def verified(self) -> bool:
        return self.fingerprint_read is not None and self.fingerprint_read == self.fingerprint

    def summary_lines(self) -> list[str]:
        """What the magic and the CLI print: versions, tags, both fingerprints — never the value."""
        short = self.version[:SHORT_VERSION]
        expiry = f", expires {self.expires_on:%Y-%m-%d} UTC" if self.expires_on else ", no expiry"
        lines = [
            f"{self.name}: new version {short} set in {self.vault} by {self.rotated_by} "
            f"(previous {self.previous_version[:SHORT_VERSION]}{expiry})."
        ]
        if self.fingerprint == WITHHELD:
            lines.append(
                "Verified: the vault returned the value that was set (fingerprints withheld: the "
                "value is too guessable to fingerprint)."
                if self.verified
                else "Set; not read back (you may not get the value). No fingerprint: the value is too "
                "guessable to fingerprint."
            )
        elif self.fingerprint_read is None:
            lines.append(f"Fingerprint set {self.fingerprint}; not read back (you may not get the value).")
        else:
            lines.append(f"Verified: fingerprint set {self.fingerprint} = read back {self.fingerprint_read}.")
        if self.disabled:
            shown = ", ".join(v[:SHORT_VERSION] for v in self.disabled)
            lines.append(f"Disabled {len(self.disabled)} previous version(s): {shown}.")
        lines.extend(f"Note: {note}" for note in self.notes)
        return lines


# -- the new value -----------------------------------------------------------------------------------
def generated_value(nbytes: int = 32) -> str:
    """*nbytes* random bytes from ``secrets``, URL-safe base64 (about 1.34 characters per byte)."""
    if not isinstance(nbytes, int) or not MIN_GENERATED_BYTES <= nbytes <= MAX_GENERATED_BYTES:
        raise RotationError(
            f"Generate {MIN_GENERATED_BYTES} to {MAX_GENERATED_BYTES} random bytes (--generate 32 gives 43 characters)."
        )
    return secrets.token_urlsafe(nbytes)


def value_from_env(variable: str, environ=None) -> str:
    value = (os.environ if environ is None else environ).get(variable)
    if not value:
        raise RotationError(
            f"The environment variable {variable} is not set or empty; set it in "
            "this process's environment, or use another source."
        )
    return value


def value_from_stream(stream: TextIO) -> str:
    """All of *stream* (a pipe), without the one line ending a shell adds."""
    if stream.isatty():
        raise RotationError(
            "--stdin reads a pipe, and a terminal would echo the value: leave --stdin "
            "out to type it at a hidden prompt."
        )
    value = stream.read()
    return value[:-2] if value.endswith("\r\n") else value[:-1] if value.endswith("\n") else value


def prompted_value(name: str) -> str:
    """Ask twice with ``getpass`` (nothing echoed; in a notebook, the kernel's hidden input)."""
    first = getpass.getpass(f"New value for {name} (hidden): ")
    if not first:
        raise RotationError("No value typed: nothing changed.")
    if getpass.getpass("Type it again to confirm: ") != first:
        raise RotationError("The two values differ: nothing changed. Run it again.")
    return first


def check_value(value: str) -> None:
    if not isinstance(value, str) or not value:
        raise RotationError("The new value is empty: nothing changed.")
    if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
        raise RotationError("The new value is larger than Key Vault's 25 KB limit: nothing changed.")


# -- plan: every check before the value -------------------------------------------------------------
def plan_rotation(
    target: VaultTarget,
    name: str,
    *,
    reason: str | None = None,
    disable_previous: bool = False,
    check_access: bool = True,
) -> RotationPlan:
    """Check *target* lets you rotate *name* and work out the new version's tags, type and expiry."""
    from azure.core.exceptions import AzureError

    from kvnb.access import AccessError, effective_access, whoami
    from kvnb.fetch import check_name

    check_name(name)
    if reason is not None and (not reason.strip() or len(reason) > MAX_TAG_VALUE):
        raise RotationError(f"--reason takes 1 to {MAX_TAG_VALUE} characters (it becomes a tag).")
    who = whoami(target).name
    access, notes = None, ()
    if check_access:
        try:
            access = effective_access(target, secret=name)
        except AccessError as exc:  # no source for a verdict: the vault itself will decide
            notes += (f"Your access could not be checked in advance ({exc}); the vault decides.",)
    if access is not None:
        needed = ("set", "update") if disable_previous else ("set",)
        if not all(access.allows(op) for op in needed):
            raise _refusal(target, name, access, who, needed)
    seen: dict = {}
    try:
        versions = _versions(target.secret_client, name, seen)
    except AzureError as exc:
        raise explained(exc, name, target) from None
    if not versions:
        raise errors.SecretNotFoundError(
            f"No secret {name} in {target.name}. Rotation adds a version to an existing secret: check "
            "the name, or create it with set_secret first.",
            secret_name=name,
        )
    current = max(versions, key=lambda p: p.created_on or datetime.min.replace(tzinfo=timezone.utc))
    now = seen.get("date") or datetime.now(timezone.utc)
    tags = {k: v for k, v in (current.tags or {}).items() if k not in ROTATION_TAGS}
    own = len(tags)
    tags[ROTATED_BY] = who[:MAX_TAG_VALUE]
    tags[ROTATED_ON] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if reason:
        tags[ROTATION_REASON] = reason.strip()
    if len(tags) > MAX_TAGS:
        raise RotationError(
            f"{name} has {own} tags of its own; with the "
            f"rotation tags it would have {len(tags)}, and Key Vault allows {MAX_TAGS}. Remove some first "
            "(update_secret_properties(tags=...))."
        )
    return RotationPlan(
        name=name,
        vault=target.name,
        vault_url=target.url,
        rotated_by=who,
        now=now,
        current_version=current.version,
        tags=tags,
        content_type=current.content_type,
        expires_on=_same_lifetime(current, now),
        to_disable=tuple(p.version for p in versions if p.enabled) if disable_previous else (),
        can_verify=access.allows("get") if access is not None else True,
        access=access,
        notes=notes,
    )


def _versions(client, name: str, seen: dict) -> list:
    def saw(response) -> None:  # the vault's "now": created/expiry times are on its clock
        date = response.http_response.headers.get("Date")
        if date and "date" not in seen:
            try:
                seen["date"] = parsedate_to_datetime(date).astimezone(timezone.utc)
            except (TypeError, ValueError):
                pass

    found, deadline = [], time.monotonic() + LIST_TIME_LIMIT
    for properties in client.list_properties_of_secret_versions(name, raw_response_hook=saw):
        found.append(properties)
        if len(found) >= MAX_VERSIONS_LISTED or time.monotonic() > deadline:
            break
    return found


def _same_lifetime(current, now: datetime) -> datetime | None:
    if current.expires_on is None or current.created_on is None:
        return None
    lifetime = current.expires_on - current.created_on
    return (now + lifetime).replace(microsecond=0) if lifetime.total_seconds() > 0 else None


def _refusal(target: VaultTarget, name: str, access, who: str, needed: tuple[str, ...]) -> RotationRefused:
    missing = [op for op in needed if not access.allows(op)]
    from kvnb.governance import access_package_name

    package = access_package_name(target, OFFICER)
    held = "; ".join(f"{r.role_name or r.role_id} {r.how}" for r in access.roles)
    text = (
        f"You may not {' or '.join(missing)} {name} in {target.name}: that needs {OFFICER} on the secret "
        f"or the vault, "
        + (f"and your roles there ({held}) do not allow it." if held else "and you hold no role there.")
    )
    if package:
        text += f"\nRequest the access package {package}: `{access_command('request', OFFICER, reason=Placeholder('WHY'))}`."
    else:
        grant = access_command("grant", who, OFFICER, scope=f"secret/{name}", for_="1h")
        text += f"\nAsk the vault's owner for a time-bound grant, e.g. `{grant}`, or hand them the value to rotate."
    return RotationRefused(
        text, secret_name=name, access=access, action=SET_ACTION, missing_role=OFFICER, access_package=package
    )


# -- rotate ----------------------------------------------------------------------------------------
def rotate_secret(
    name: str,
    value: ValueSource,
    *,
    vault: str | None = None,
    persona: str | None = None,
    target: VaultTarget | None = None,
    reason: str | None = None,
    disable_previous: bool = False,
    confirm: Callable[[RotationPlan], bool] | None = None,
    check_access: bool = True,
) -> RotationResult:
    """Set a new version of *name* from *value* (a str, or a callable asked only after the checks).

    ``confirm(plan)`` returning False cancels before the value is asked for. What the vault answers
    otherwise comes as the other ``kvnb.errors`` (as for `kvnb.fetch.fetch_secret`).

    Needs ``secrets/setSecret/action`` on the secret (Key Vault Secrets Officer), and
    ``secrets/update/action`` with *disable_previous*.

    :raises kvnb.errors.RotationRefused: the access layer says you may not set it (checked first).
    :raises kvnb.errors.RotationCancelled: *confirm* said no: nothing changed.
    :raises kvnb.errors.RotationError: the value or the read-back is wrong.
    :raises kvnb.errors.RotationVerificationError: the new version reads back as another value.
    """
    from azure.core.exceptions import AzureError

    from kvnb import fetch

    target = target if target is not None else fetch.open_target(vault, persona=persona)
    plan = plan_rotation(target, name, reason=reason, disable_previous=disable_previous, check_access=check_access)
    if confirm is not None and not confirm(plan):
        raise RotationCancelled("Cancelled: nothing changed.")
    new_value = value() if callable(value) else value
    check_value(new_value)
    _register(new_value, name)
    client = target.secret_client
    wanted = fingerprint(new_value, target.url)
    # A guessable value's fingerprint would give it away (the key is public): compared, never shown.
    shown = (lambda full: full[:SHORT_LENGTH]) if may_show(new_value) else (lambda full: WITHHELD)
    try:
        if plan.can_verify:
            _refuse_unchanged(client, name, plan, wanted)
        made = client.set_secret(
            name, new_value, content_type=plan.content_type, tags=plan.tags, expires_on=plan.expires_on, enabled=True
        )
        version = made.properties.version
        read = None
        if plan.can_verify:
            read = fingerprint(client.get_secret(name, version).value or "", target.url)
            if read != wanted:
                raise RotationVerificationError(
                    f"{name}: the vault returned another value for the new version {version[:SHORT_VERSION]} "
                    f"(fingerprint {shown(read)}, set {shown(wanted)}); earlier versions were "
                    "left enabled. Rotate again, and tell the vault's owner."
                )
    except AzureError as exc:
        raise explained(exc, name, target) from None
    disabled = []
    try:
        for old in plan.to_disable:
            client.update_secret_properties(name, old, enabled=False)
            disabled.append(old)
    except AzureError as exc:
        # Say that the rotation itself happened: the user must not simply run it again.
        raise RotationError(
            f"{name}: new version {version[:SHORT_VERSION]} is set and verified, but disabling "
            f"earlier versions stopped after {len(disabled)}: "
            f"{explained(exc, name, target)}"
        ) from None
    fetch.clear_cache()  # a cached Secret would now serve the old value
    short = shown(wanted)
    try:
        history = version_history(target, name, fingerprints={version: short})
    except errors.KvnbError:  # the rotation is done; its table is a courtesy
        history = None
    return RotationResult(
        name=name,
        vault=target.name,
        vault_url=target.url,
        version=version,
        previous_version=plan.current_version,
        rotated_by=plan.rotated_by,
        rotated_on=plan.now,
        reason=plan.tags.get(ROTATION_REASON),
        tags=dict(plan.tags),
        content_type=plan.content_type,
        expires_on=plan.expires_on,
        fingerprint=short,
        fingerprint_read=shown(read) if read else None,
        disabled=tuple(disabled),
        history=history,
        notes=plan.notes,
    )


def _refuse_unchanged(client, name: str, plan: RotationPlan, wanted: str) -> None:
    from azure.core.exceptions import HttpResponseError

    try:
        current = client.get_secret(name, plan.current_version).value or ""
    except HttpResponseError as exc:
        if exc.status_code == 403:  # e.g. the current version is disabled: nothing to compare
            return
        raise
    if fingerprint(current, plan.vault_url) == wanted:
        raise RotationError(
            f"The new value is the one {name} already holds: nothing changed. A rotation needs a new value."
        )


def _register(value: str, label: str) -> None:
    try:
        from kvnb import redaction
    except ImportError:  # redaction is defence in depth
        return
    redaction.registry.add(value, label=label)


# -- the version history ----------------------------------------------------------------------------
def version_history(target: VaultTarget, name: str, *, fingerprints: dict[str, str] | None = None):
    """A DataFrame of *name*'s versions, newest first: HISTORY_COLUMNS.

    ``fingerprint`` is filled only for versions in *fingerprints* (reading every value to fingerprint
    it would be a get per version, logged as such).
    """
    import pandas as pd
    from azure.core.exceptions import AzureError

    fingerprints = fingerprints or {}
    try:
        versions = _versions(target.secret_client, name, {})
    except AzureError as exc:
        raise explained(exc, name, target) from None
    # "" rather than None where a version has no rotation tag or no fingerprint shown: a table to read.
    rows = [
        {
            "version": p.version[:SHORT_VERSION],
            "created": p.created_on,
            "enabled": p.enabled,
            "expires": p.expires_on,
            "rotated_by": (p.tags or {}).get(ROTATED_BY, ""),
            "fingerprint": fingerprints.get(p.version, ""),
        }
        for p in versions
    ]
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    for column in ("created", "expires"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.sort_values("created", ascending=False, na_position="last").reset_index(drop=True)


__all__ = [
    "HISTORY_COLUMNS",
    "ROTATION_TAGS",
    "RotationCancelled",
    "RotationError",
    "RotationPlan",
    "RotationRefused",
    "RotationResult",
    "RotationVerificationError",
    "check_value",
    "generated_value",
    "plan_rotation",
    "prompted_value",
    "rotate_secret",
    "value_from_env",
    "value_from_stream",
    "version_history",
]

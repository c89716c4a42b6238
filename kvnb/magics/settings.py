"""The magics' settings: traitlets on ``KvMagics``, each also read from a ``KVNB_*`` variable.

One order decides every setting, first found wins:

1. the magic's argument (``%kvget NAME --vault V``);
2. ``%config KvMagics.NAME = VALUE`` (or ``c.KvMagics.NAME`` in an IPython config file);
3. the environment variable ``KVNB_NAME`` (upper case), read at each call;
4. the default.

A trait left at ``None`` means "not configured": the environment and the default decide.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from traitlets import Bool, Dict, Enum, Float, Int, Unicode, Union, observe
from traitlets.config import Configurable

from kvnb.errors import SettingError


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not on/off")


def _peek_policy(text: str):
    text = text.strip().lower()
    return int(text) if text.isdigit() else text


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _min_run(text: str) -> int:
    from kvnb.matching import check_min_run

    return check_min_run(text, "KVNB_REDACT_MIN_RUN")


def _options(text: str) -> dict:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    return value


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]  # reads the KVNB_* variable
    default: Any

    @cached_property  # read at every magic call
    def env(self) -> str:
        return f"KVNB_{self.name.upper()}"


SETTINGS = {
    s.name: s
    for s in (
        Setting("vault", str, None),
        Setting("persona", str, None),
        Setting("cache_ttl", _non_negative, 0.0),
        Setting("value_ttl", _non_negative, None),
        Setting("peek_policy", _peek_policy, "deny"),
        Setting("redaction", _bool, True),
        Setting("redact_min_run", _min_run, 16),
        Setting("credential_options", _options, {}),
        Setting("export_dir", str, "kvnb-exports"),
    )
}


class KvSettings(Configurable):
    """Settings shared by %kvget and %kvaccess; ``KvMagics`` inherits them."""

    vault = Unicode(
        None,
        allow_none=True,
        config=True,
        help=("The default vault: a name (azDevOpsKV01), a URL, `local` or `local:NAME`. Env: KVNB_VAULT."),
    )
    persona = Unicode(
        None,
        allow_none=True,
        config=True,
        help=(
            "The local identity to act as on the local vault (ignored on Azure, where you are who "
            "`az login` says). Env: KVNB_PERSONA; default: the one `kvnb local login` chose."
        ),
    )
    cache_ttl = Float(
        None,
        allow_none=True,
        min=0,
        config=True,
        help=(
            "Seconds a fetched secret is reused by %kvget without asking the vault again; 0 turns "
            "the cache off. Env: KVNB_CACHE_TTL; default 0."
        ),
    )
    value_ttl = Float(
        None,
        allow_none=True,
        min=0,
        config=True,
        help=(
            "Seconds after which a Secret drops its value from memory and fetches it again on next "
            "use. Env: KVNB_VALUE_TTL; default: keep it."
        ),
    )
    peek_policy = Union(
        [Enum(["deny", "allow"]), Int(min=0)],
        default_value=None,
        allow_none=True,
        config=True,
        help=(
            "Whether Secret.peek(n) and %kvget --peek N may show the first characters: 'deny', "
            "'allow', or the most characters allowed. Env: KVNB_PEEK_POLICY; default 'deny'."
        ),
    )
    redaction = Bool(
        None,
        allow_none=True,
        config=True,
        help=(
            "Scrub fetched values from every output of the kernel. Turn off only if you decide so. "
            "Env: KVNB_REDACTION (on/off); default on."
        ),
    )
    redact_min_run = Int(
        None,
        allow_none=True,
        min=8,
        max=4096,
        config=True,
        help=(
            "Redaction masks any run of this many consecutive characters of a fetched value's forms "
            "(and whole forms of 6 or more). The save guard and `kvnb scan` read the same setting. "
            "Env: KVNB_REDACT_MIN_RUN; default 16."
        ),
    )
    credential_options = Dict(
        None,
        allow_none=True,
        config=True,
        help=(
            "Keyword options for DefaultAzureCredential on Azure, e.g. {'exclude_cli_credential': True}; kvnb "
            "always passes additionally_allowed_tenants=['*'] and excludes the shared token cache. "
            "Env: KVNB_CREDENTIAL_OPTIONS (JSON); default {}."
        ),
    )
    export_dir = Unicode(
        None,
        allow_none=True,
        config=True,
        help=(
            "Folder for the panel's CSV and HTML exports, relative to the notebook's folder. "
            "Env: KVNB_EXPORT_DIR; default kvnb-exports."
        ),
    )

    def effective(self, name: str, argument: Any = None) -> Any:
        """The value in force for *name*: argument → %config → KVNB_* → default."""
        return effective(self, name, argument)

    def describe(self) -> list[tuple[str, Any, str]]:
        """(setting, value in force, where it comes from) for every setting."""
        return [(name, *_lookup(self, name, None)) for name in SETTINGS]

    @observe("redaction", "redact_min_run")
    def _redaction_changed(self, change) -> None:
        apply_redaction_setting(self)


def effective(settings: Configurable | None, name: str, argument: Any = None) -> Any:
    return _lookup(settings, name, argument)[0]


def _lookup(settings, name: str, argument) -> tuple[Any, str]:
    setting = SETTINGS[name]
    if argument is not None:
        return argument, "argument"
    configured = getattr(settings, name, None) if settings is not None else None
    if configured is not None:
        return configured, "%config"
    text = os.environ.get(setting.env)
    if text is not None and text.strip():
        try:
            return setting.parse(text), setting.env
        except ValueError as exc:
            raise SettingError(f"{setting.env}={text!r} cannot be used: {exc}. Fix or unset it.") from None
    return setting.default, "default"


def apply_redaction_setting(settings) -> None:
    """Switch kvnb.redaction's registry on or off, and set its K, as the settings say."""
    try:
        from kvnb import redaction
    except ImportError:  # redaction is optional defence in depth
        return
    redaction.registry.enabled = bool(effective(settings, "redaction"))
    redaction.registry.min_run = effective(settings, "redact_min_run")

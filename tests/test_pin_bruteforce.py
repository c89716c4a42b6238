"""A 6-digit PIN against an attacker who tries all 10^6 candidates.

Everything kvnb shows about the PIN — the %kvget line, the mask, every display of the Secret, the
fetch ledger, a notebook saved through the save guard, a fingerprint export — and the save
guard's files as another local user can reach them must single out no candidate. Each attack has a
positive control: fed what kvnb used to show (a fingerprint) or what the owner can read (both
guard files), the same brute force does find the PIN, so a pass is not an attack that cannot work.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ipshell import run
from kvnb import ledger
from kvnb.fingerprint import fingerprint, fingerprint_key
from kvnb.redaction import guard
from kvnb.saveguard import MASK, pre_save_hook
from kvnb.scan import export_fingerprints
from valuecheck import assert_not_leaked, assert_same_value

NOBODY = 65534
CANDIDATES = [b"%06d" % n for n in range(10**6)]
_HEX_RUN = re.compile(r"[0-9a-f]{12,}")


def candidates_matching_fingerprints(vault_url: str, shown: str) -> list[bytes]:
    """Every candidate whose short (12 hex) fingerprint appears in ``shown``: the public-key attack."""
    prefixes = {run[i : i + 12] for run in _HEX_RUN.findall(shown) for i in range(len(run) - 11)}
    block = fingerprint_key(vault_url).ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
    found = []
    for candidate in CANDIDATES:  # HMAC-SHA256 from precomputed pads: about a second for 10^6
        first = inner.copy()
        first.update(candidate)
        second = outer.copy()
        second.update(first.digest())
        if second.hexdigest()[:12] in prefixes:
            found.append(candidate)
    return found


def candidates_in_guard(key_bytes: bytes, digests: bytes) -> list[bytes]:
    """Every candidate whose whole-form digest the guard files hold: the attack of whoever reads both."""
    key = guard.GuardKey(key_bytes)
    payloads = key.open_records(digests[len(guard.MAGIC) :], guard.MAGIC + str(os.getpid()).encode())
    table = np.unique(np.concatenate([guard.unpack_tables(p).get(6, np.empty(0, np.uint64)) for p in payloads]))
    codes = np.frombuffer(b"".join(CANDIDATES), dtype=np.uint8).reshape(-1, 6).astype(np.uint64)
    digests_of = codes[:, 0].copy()
    for j in range(1, 6):  # the guard's polynomial hash, for all candidates at once
        digests_of *= key.base
        digests_of += codes[:, j]
    return [CANDIDATES[i] for i in np.flatnonzero(np.isin(digests_of, table))]


class Unprinted(str):
    """A value whose repr, the one pytest shows for a fixture in a failure report, is not the value."""

    def __repr__(self) -> str:
        return "<the PIN>"


@pytest.fixture
def pin(vault_env):
    value = Unprinted(f"{secrets.randbelow(10**6):06d}")
    vault_env.secret_client("lead").set_secret("DoorPin", value)
    return value


def test_nothing_kvnb_shows_about_a_pin_singles_it_out(ip, vault_env, pin, capsys):
    run(ip, "%kvget DoorPin")
    secret = ip.user_ns["door_pin"]
    out = capsys.readouterr().out
    assert secret.fingerprint is None and secret.fingerprint_full is None
    assert "fingerprint withheld" in out
    shown = "\n".join(
        [
            out,
            repr(secret),
            str(secret),
            f"{secret}",
            secret._repr_html_(),
            json.dumps(secret._repr_mimebundle_()),
            ledger.ledger.to_json() or "",
        ]
    )
    assert_not_leaked(pin, shown)
    assert candidates_matching_fingerprints(vault_env.url, shown) == []
    with pytest.raises(ValueError, match="too guessable"):
        export_fingerprints({"DoorPin/1": pin}, vault_env.url)
    # Positive control: the fingerprint kvnb used to print gives the PIN away.
    recovered = candidates_matching_fingerprints(vault_env.url, fingerprint(pin, vault_env.url)[:12])
    assert len(recovered) == 1
    assert_same_value(recovered[0].decode(), pin)


def test_a_notebook_saved_through_the_guard_keeps_no_trace_of_the_pin(ip, vault_env, pin, monkeypatch):
    monkeypatch.delenv("KVNB_SAVE_GUARD", raising=False)
    run(ip, "%kvget DoorPin")
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 1,
                "metadata": {},
                "id": "c1",
                "source": ["door = door_pin.reveal()\n", f"assert door == '{pin[:3]}", f"{pin[3:]}'\n"],
                "outputs": [{"output_type": "stream", "name": "stdout", "text": [f"PIN: {pin}\n"]}],
            }
        ],
        "metadata": {"pin": pin},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    model = {"type": "notebook", "format": "json", "content": nb}
    pre_save_hook(model=model, path="door.ipynb", contents_manager=None)
    saved = json.dumps(model["content"])
    assert saved.count(MASK) == 3
    assert_not_leaked(pin, saved)
    consistent = [c for c in CANDIDATES if c.decode() in saved]  # what a reader of the file can rule in
    assert len(consistent) == 0


def test_another_local_user_cannot_read_the_guard_files(ip, vault_env, pin, tmp_path):
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip(
            "NOT TESTED: the guard files' protection from another local user needs root and setpriv "
            "to act as uid 65534; run this test as root"
        )
    run(ip, "%kvget DoorPin")
    running = guard.active()
    assert running is not None
    key_path, digests_path = running.key_path, running.path
    # Only the guard's own modes may stand between another user and its files: open every folder
    # above them for traversal (the test's set-up, undone below).
    opened = [p for p in reversed(key_path.parent.parents) if p != Path("/")]
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in opened}
    try:
        for p in opened:
            os.chmod(p, modes[p] | 0o011)
        script = (
            "import os, sys, json\n"
            "os.stat(sys.argv[1])  # reached: only the folder's own mode may refuse what follows\n"
            "got = {}\n"
            "for p in sys.argv[1:]:\n"
            "    try:\n"
            "        got[p] = open(p, 'rb').read().hex() if not os.path.isdir(p) else os.listdir(p)\n"
            "    except OSError as e:\n"
            "        got[p] = type(e).__name__\n"
            "print(json.dumps(got))\n"
        )
        completed = subprocess.run(
            [
                "setpriv",
                f"--reuid={NOBODY}",
                f"--regid={NOBODY}",
                "--clear-groups",
                sys.executable,
                "-c",
                script,
                str(key_path.parent),
                str(key_path),
                str(digests_path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": os.environ.get("PATH", "")},
            check=False,
        )
    finally:
        for p in opened:
            os.chmod(p, modes[p])
    assert completed.returncode == 0, completed.stderr[-500:]
    got = json.loads(completed.stdout)
    assert got == {
        str(key_path.parent): "PermissionError",
        str(key_path): "PermissionError",
        str(digests_path): "PermissionError",
    }
    # Positive control: whoever reads both files (the kernel's own user) does find the PIN.
    recovered = candidates_in_guard(key_path.read_bytes(), digests_path.read_bytes())
    assert len(recovered) == 1
    assert_same_value(recovered[0].decode(), pin)
    # And the digests file alone holds nothing to test a guess against: sealed, not a table.
    digests = digests_path.read_bytes()
    for candidate in (pin.encode(), pin.encode().hex().encode()):
        assert_not_leaked(candidate.decode(), digests)


def test_rotating_to_a_pin_shows_no_fingerprint_of_it(vault_env, pin, open_as):
    from kvnb.rotation import rotate_secret

    new_pin = Unprinted(f"{(int(pin) + 1 + secrets.randbelow(10**6 - 1)) % 10**6:06d}")
    result = rotate_secret("DoorPin", new_pin, target=open_as("lead"), reason="PIN changed")
    shown = (
        "\n".join(result.summary_lines()) + "\n" + (result.history.to_string() if result.history is not None else "")
    )
    assert result.verified and "fingerprints withheld" in shown
    assert candidates_matching_fingerprints(vault_env.url, shown) == []
    assert_not_leaked(new_pin, shown)

"""An acknowledged write survives `kill -9` of the local vault, and no value is stored in the clear.

Several writer processes set secrets through the real HTTPS API while the background vault
(`kvnb local start`) is killed with SIGKILL mid-stream and started again (as `kvnb local start`
starts it: `control.start`), 20 times. After each
restart: `PRAGMA integrity_check` is ok, every write a writer got a 200 for is listed, and the
writes acknowledged since the previous restart (plus a sample of older ones) read back through the
SDK with their values; at the end every acknowledged write is read back, and no value appears in
`state.db`, `state.db-wal`, `state.db-shm` or the server log.

Values are HMAC-SHA256(run key, name), base64url: the run key lives only in this process and the
writers' memory (passed on stdin), writers report only names, and comparisons never print values.

This module also runs as the writer: ``python tests/test_durability.py writer N`` (config on stdin).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import secrets
import signal
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kvnb.local import control
from kvnb.local.state.paths import StatePaths
from kvnbcli import kvnb_cli

WRITERS = 4
KILLS = 20
ACKS_BEFORE_KILL = 5  # new acknowledged writes per round before the kill lands
OLD_SAMPLE = 50  # older acknowledged writes re-read after each restart
ROUND_TIMEOUT = 30.0  # seconds for the writers to make progress in one round
WRITER_MAX_SECONDS = 300.0
WRITER_MAX_WRITES = 20_000
VALUE_LENGTH = 43  # base64url of 32 bytes, unpadded
NAME_LENGTH = 13  # "dur" + 2-digit writer + "x" + 7-digit sequence


def value_for(key: bytes, name: str) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, name.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()


# -- the writer process ------------------------------------------------------------------------------
def writer(index: int) -> None:
    """Set new secrets one after another; print the name of each write that got a 200."""
    config = json.loads(sys.stdin.readline())
    key, port = bytes.fromhex(config["key"]), config["port"]
    context = ssl.create_default_context(cafile=config["ca"])
    headers = {"Authorization": f"Bearer {config['token']}", "Content-Type": "application/json"}
    deadline = time.monotonic() + WRITER_MAX_SECONDS
    connection = None
    for seq in range(WRITER_MAX_WRITES):
        if time.monotonic() > deadline:
            break
        name = f"dur{index:02d}x{seq:07d}"
        body = json.dumps({"value": value_for(key, name)})
        try:
            if connection is None:
                connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
            connection.request("PUT", f"/secrets/{name}?api-version=2026-04-01", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):  # the vault is down (killed): try again soon
            if connection is not None:
                print("cut", flush=True)  # the kill cut this writer's connection
                connection.close()
            connection = None
            time.sleep(0.02)
            continue
        if response.status == 200:
            print(name, flush=True)
        else:
            print(f"status {response.status}", flush=True)


# -- the test ----------------------------------------------------------------------------------------------
def _server_pid(home: Path) -> int:
    return json.loads((home / "server.json").read_text())["pid"]


def _kill_9(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            return
        if state == "Z":  # dead; its parent (`kvnb local start`, gone) cannot reap it
            return
        time.sleep(0.005)
    raise AssertionError(f"the local vault (pid {pid}) survived SIGKILL")


class Acks:
    """Names the writers report as acknowledged, read from their stdout by threads."""

    def __init__(self, processes):
        self.names: list[str] = []
        self.cut = 0
        self.unexpected: list[str] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._read, args=(p,), daemon=True) for p in processes]
        for thread in self._threads:
            thread.start()

    def _read(self, process) -> None:
        for line in process.stdout:
            line = line.strip()
            with self._lock:
                if line == "cut":
                    self.cut += 1
                else:
                    (self.names if re.fullmatch(r"dur\d{2}x\d{7}", line) else self.unexpected).append(line)

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self.names)

    def join(self) -> None:
        for thread in self._threads:
            thread.join(30)


def _integrity_ok(home: Path) -> None:
    db = sqlite3.connect(f"file:{home / 'state.db'}?mode=ro", uri=True, timeout=30)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        db.close()


def _secret_client(env: dict, ca: str):
    """A new SDK client (its pooled connections died with the vault), as the lead."""
    from azure.keyvault.secrets import SecretClient

    from kvnb.credentials import LocalVaultCredential

    credential = LocalVaultCredential(env["IDENTITY_ENDPOINT"], env["IDENTITY_HEADER"], connection_verify=ca)
    return SecretClient(
        env["VAULT_URL"], credential, verify_challenge_resource=False, connection_verify=ca, read_timeout=60
    )


def _check_acknowledged(client, key: bytes, all_acked: list[str], to_read: list[str]) -> None:
    listed = {p.name for p in client.list_properties_of_secrets(max_page_size=25)}
    missing = sorted(set(all_acked) - listed)
    assert not missing, f"{len(missing)} acknowledged writes are gone after kill -9, e.g. {missing[:5]}"
    wrong = [name for name in to_read if client.get_secret(name).value != value_for(key, name)]
    assert not wrong, f"{len(wrong)} acknowledged writes read back with another value, e.g. {wrong[:5]}"


def _tokens(data: bytes, length: int) -> set[bytes]:
    """Every *length*-byte window of every run of base64url characters in *data*."""
    found = set()
    for run in re.findall(rb"[A-Za-z0-9_-]{%d,}" % length, data):
        found.update(run[i : i + length] for i in range(len(run) - length + 1))
    return found


@pytest.mark.slow
def test_acknowledged_writes_survive_kill_9_and_values_are_never_stored_in_clear(tmp_path):
    from kvnb.credentials import LocalVaultCredential

    home = tmp_path / "home"
    kvnb_cli(home, "local", "start", "--port", "0")
    writers = []
    try:
        kvnb_cli(home, "local", "reset", "--empty")
        env = json.loads(kvnb_cli(home, "local", "env", "--format", "json"))
        port, ca = int(env["VAULT_URL"].rsplit(":", 1)[1]), str(home / "ca.pem")
        token = (
            LocalVaultCredential(env["IDENTITY_ENDPOINT"], env["IDENTITY_HEADER"], connection_verify=ca)
            .get_token("https://vault.azure.net/.default")
            .token
        )
        key = secrets.token_bytes(32)
        config = json.dumps({"key": key.hex(), "port": port, "ca": ca, "token": token}) + "\n"
        for index in range(WRITERS):
            process = subprocess.Popen(
                [sys.executable, __file__, "writer", str(index)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            process.stdin.write(config)
            process.stdin.close()
            writers.append(process)
        acks = Acks(writers)

        verified = 0
        for round_number in range(KILLS):
            start_count = len(acks.snapshot())
            deadline = time.monotonic() + ROUND_TIMEOUT
            while len(acks.snapshot()) < start_count + ACKS_BEFORE_KILL:
                assert time.monotonic() < deadline, f"round {round_number}: the writers made no progress"
                assert all(w.poll() is None for w in writers), "a writer exited early"
                time.sleep(0.005)
            time.sleep(random.uniform(0, 0.03))  # land the kill at an arbitrary point of a write
            _kill_9(_server_pid(home))
            # Pause the writers while the vault restarts and is checked, so the rounds stay small.
            for process in writers:
                process.send_signal(signal.SIGSTOP)
            # What `kvnb local start --port P` runs, without a CLI process per round (20 of them).
            control.start(StatePaths.resolve(home), port=port)

            _integrity_ok(home)
            acked = acks.snapshot()
            older = random.sample(acked[:verified], min(OLD_SAMPLE, verified))
            client = _secret_client(env, ca)
            try:
                _check_acknowledged(client, key, acked, acked[verified:] + older)
            finally:
                client.close()
            verified = len(acked)
            for process in writers:
                process.send_signal(signal.SIGCONT)

        for process in writers:
            process.terminate()
            process.send_signal(signal.SIGCONT)
            process.wait(30)
        acks.join()
        assert not acks.unexpected, f"writers got unexpected answers: {sorted(set(acks.unexpected))[:5]}"
        acked = acks.snapshot()
        assert len(acked) >= KILLS * ACKS_BEFORE_KILL
        print(
            f"\n{KILLS} kills: {len(acked)} acknowledged writes, all present; "
            f"{acks.cut} writer connections cut by the kills"
        )
        client = _secret_client(env, ca)
        try:
            _check_acknowledged(client, key, acked, acked)
        finally:
            client.close()
        _integrity_ok(home)

        stored = b"".join(
            path.read_bytes()
            for path in (home / "state.db", home / "state.db-wal", home / "state.db-shm", home / "server.log")
            if path.exists()
        )
        # The scan is sound: it finds every acknowledged name, which the database holds in the clear.
        # (pytest.fail, not assert: assertion introspection would print the sets it compares.)
        unseen = {n.encode() for n in acked} - _tokens(stored, NAME_LENGTH)
        if unseen:
            pytest.fail(f"the plaintext scan missed {len(unseen)} secret names; it cannot be trusted", pytrace=False)
        # Every value a writer may have sent, acknowledged or cut off by a kill (names are sequential).
        last = {
            index: max((int(n[6:]) for n in acked if n.startswith(f"dur{index:02d}x")), default=0)
            for index in range(WRITERS)
        }
        sent = [f"dur{i:02d}x{seq:07d}" for i, top in last.items() for seq in range(top + 100)]
        leaked = {value_for(key, n).encode() for n in sent} & _tokens(stored, VALUE_LENGTH)
        if leaked:
            pytest.fail(f"{len(leaked)} secret values appear in plaintext in the state files", pytrace=False)
    finally:
        for process in writers:
            if process.poll() is None:
                process.kill()  # SIGKILL ends a stopped process too
            process.wait(30)
        kvnb_cli(home, "local", "stop")


if __name__ == "__main__" and sys.argv[1:2] == ["writer"]:
    writer(int(sys.argv[2]))

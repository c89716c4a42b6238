"""The save guard: the kernel's guard file, the server's pre-save hook, the CLI, and a real Jupyter server."""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets as random_source
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import nbformat
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from kvnb.cli.notebook import CONFIG_LINE, CONFIG_NAME, add_hook_line, notebook
from kvnb.redaction import Registry, guard, needles
from kvnb.saveguard import MASK, SaveRefused, load_guards, pre_save_hook, sweep_stale
from labbrowser import stop_server

REPO = Path(__file__).resolve().parents[1]


def forms_of(value: str) -> dict[str, str]:
    """The forms the issue names, computed here independently of kvnb's needles."""
    data = value.encode()
    return {
        "raw": value,
        "json": json.dumps(value)[1:-1],
        "url": quote(value, safe=""),
        "base64": base64.b64encode(data).decode(),
        "base64url": base64.urlsafe_b64encode(data).decode(),
        "hex": data.hex(),
    }


def leaked_forms(text: str, value: str) -> list[str]:
    """The names of the forms of ``value`` in ``text`` (also JSON-escaped) — names only, so a failing
    assertion never prints the value."""
    return [name for name, form in forms_of(value).items() if form in text or json.dumps(form)[1:-1] in text]


def a_value() -> str:
    # Quotes, a backslash and a slash make the JSON, URL and base64url forms differ from raw.
    return random_source.token_urlsafe(12) + '"q\\/+' + random_source.token_hex(4)


@pytest.fixture
def kvnb_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KVNB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KVNB_SAVE_GUARD", raising=False)
    return tmp_path / "home"


class Planted:
    """A registered value and its running guard; the repr names neither, so a failing test shows none."""

    def __init__(self, value: str, running) -> None:
        self.value, self.running = value, running

    def __repr__(self) -> str:
        return "<planted value>"

    def __iter__(self):
        return iter((self.value, self.running))


@pytest.fixture
def planted(kvnb_home):
    """A value registered as a kernel would: the guard files are written, the value kept only here."""
    registry = Registry()
    value = a_value()
    running = guard.start(registry)
    registry.add(value, label="APICaller")
    yield Planted(value, running)
    guard.stop()


def values_guarded(home: Path) -> int:
    """How many values the live guards in ``home`` hold (each value is one record)."""
    guards = load_guards(home / "guard")
    return sum(len({int(v) for table in g.tables.values() for v in table.values}) for g in guards.guards)


# -- the guard files -------------------------------------------------------------------------------
def test_guard_files_are_private_from_creation_and_hold_no_form_of_the_value(planted, kvnb_home):
    value, running = planted
    folder = kvnb_home / "guard"
    assert running.path == folder / f"{os.getpid()}.digests"
    assert running.key_path == folder / f"{os.getpid()}.key"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in (running.path, running.key_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key, digests = running.key_path.read_bytes(), running.path.read_bytes()
    assert key not in digests  # the key sits apart from what it unlocks
    for blob in (key, digests):
        text = blob.decode("latin-1")
        inside = [form for needle, form in needles(value).items() if needle in text]
        assert inside == []
    assert values_guarded(kvnb_home) == 1


def test_guard_files_are_created_private_under_a_permissive_umask(kvnb_home):
    old = os.umask(0)
    try:
        running = guard.start(Registry())
        modes = [stat.S_IMODE(p.stat().st_mode) for p in (running.path.parent, running.path, running.key_path)]
    finally:
        os.umask(old)
        guard.stop()
    assert modes == [0o700, 0o600, 0o600]


def test_guard_refuses_a_folder_others_can_read(kvnb_home):
    (kvnb_home / "guard").mkdir(parents=True, mode=0o755)
    os.chmod(kvnb_home / "guard", 0o755)  # the test's set-up, not the guard's: mkdir obeys the umask
    with pytest.warns(UserWarning, match="not a private folder"):
        running = guard.start(Registry())
    guard.stop()
    assert not running.key_path.exists()


def test_guard_files_follow_the_registry_and_go_on_stop(kvnb_home):
    registry = Registry()
    early = a_value()
    registry.add(early, label="Early")  # before the guard starts: picked up by subscribe
    running = guard.start(registry)
    try:
        registry.add(a_value(), label="Late")
        registry.add(early, label="Early")  # again: no second record
        assert values_guarded(kvnb_home) == 2
    finally:
        guard.stop()
    assert not running.path.exists() and not running.key_path.exists()
    registry.add(a_value(), label="AfterStop")
    assert not running.path.exists()


def test_redaction_install_on_a_shell_writes_the_guard_and_uninstall_removes_it(kvnb_home):
    from IPython.core.interactiveshell import InteractiveShell

    from kvnb import redaction

    shell = InteractiveShell.instance()
    redaction.install(shell)
    try:
        path = kvnb_home / "guard" / f"{os.getpid()}.digests"
        assert path.exists()
        value = a_value()
        redaction.registry.add(value, label="ViaShell")
        model = notebook_with(value)
        masks = pre_save_scrubbed(model)
        assert masks == 6
    finally:
        redaction.uninstall(shell)
    assert not path.exists()


def test_plain_library_use_writes_no_guard_file(kvnb_home):
    from kvnb import redaction

    redaction.install()
    try:
        redaction.registry.add(a_value(), label="Library")
        assert not (kvnb_home / "guard").exists()
    finally:
        redaction.uninstall()


def test_files_of_dead_kernels_are_deleted_and_never_used(planted, kvnb_home):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(10)
    folder = kvnb_home / "guard"
    for suffix in (".key", ".digests"):
        (folder / f"{dead.pid}{suffix}").write_bytes((folder / f"{os.getpid()}{suffix}").read_bytes())
    assert len(load_guards(folder).guards) == 1
    assert sorted(p.name for p in folder.iterdir()) == [f"{os.getpid()}.digests", f"{os.getpid()}.key"]


def test_a_reused_pid_does_not_keep_old_files_alive(planted, kvnb_home):
    folder = kvnb_home / "guard"
    stale = folder / "1.key"  # pid 1 runs, but started long before this file was written
    stale.write_bytes(b"\0" * 32)
    os.utime(stale, (0, 0))
    assert sweep_stale(folder) == (1 if Path("/proc/1/stat").exists() else 0)


def test_the_server_sweeps_stale_files_when_it_starts(kvnb_home):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(10)
    folder = kvnb_home / "guard"
    folder.mkdir(parents=True, mode=0o700)
    (folder / f"{dead.pid}.key").write_bytes(b"k" * 32)
    (folder / f"{dead.pid}.digests").write_bytes(b"d")
    # What jupyter_server does at start-up: import the hook's module.
    subprocess.run(
        [sys.executable, "-c", "import kvnb.saveguard"],
        check=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert list(folder.iterdir()) == []


# -- the hook --------------------------------------------------------------------------------------
def notebook_with(text: str) -> dict:
    """A notebook model holding ``text`` in a cell source, a stream output, display data and an attachment."""
    code = new_code_cell(
        f"token = '{text}'\nprint(token)",
        outputs=[
            new_output("stream", name="stdout", text=f"{text}\n"),
            new_output("display_data", data={"text/plain": f"'{text}'", "application/json": {"k": text}}),
        ],
    )
    markdown = new_markdown_cell("![a](attachment:a.txt)")
    markdown["attachments"] = {"a.txt": {"text/plain": base64.b64encode(f"key={text}".encode()).decode()}}
    nb = new_notebook(cells=[code, markdown], metadata={"kvnb": {"note": text}})
    return {"type": "notebook", "format": "json", "content": json.loads(json.dumps(nb))}


def pre_save_scrubbed(model: dict) -> int:
    """Run the hook; the number of masks in the scrubbed model."""
    pre_save_hook(model=model, path="x.ipynb", contents_manager=None)
    return json.dumps(model["content"]).count(MASK)


@pytest.mark.parametrize("form", ["raw", "json", "url", "base64", "base64url", "hex"])
def test_hook_scrubs_every_form_everywhere(planted, form):
    value, _ = planted
    model = notebook_with(forms_of(value)[form])
    masks = pre_save_scrubbed(model)
    assert leaked_forms(json.dumps(model["content"]), value) == []
    # source, stream, text/plain, application/json, metadata — and the attachment when it is raw
    # text inside base64 (then the value's own base64 needle is what is found)
    assert masks >= 5
    nbformat.validate(nbformat.from_dict(model["content"]))


def test_hook_finds_a_multi_line_value_split_over_nbformat_lines(kvnb_home):
    registry = Registry()
    body = random_source.token_urlsafe(24)
    pem_like = f"-----BEGIN KEY-----\n{body}\n-----END KEY-----"
    guard.start(registry)
    try:
        registry.add(pem_like, label="Key")
        model = notebook_with("plain")
        # On disk nbformat keeps multi-line strings as lists of lines: no single item holds the value.
        model["content"]["cells"][0]["source"] = ["x = 1\n", *(line + "\n" for line in pem_like.split("\n"))]
        pre_save_scrubbed(model)
    finally:
        guard.stop()
    source = model["content"]["cells"][0]["source"]
    assert leaked_forms("".join(source), pem_like) == []
    # The key's body is masked whole; its armour is public boilerplate (kvnb.matching.boilerplate),
    # of which no more than K - 1 characters next to the body fall under the mask.
    assert isinstance(source, str) and source.startswith("x = 1\n") and source.count(MASK) == 1
    assert longest_piece(source, body) < 4
    nbformat.validate(nbformat.from_dict(model["content"]))


K = 16  # KVNB_REDACT_MIN_RUN's default; the fixture clears the variable


def longest_piece(text: str, value: str) -> int:
    """The longest run of ``value``'s characters found in ``text`` (a number: safe to print)."""
    best = 0
    for start in range(len(value)):
        while start + best < len(value) and value[start : start + best + 1] in text:
            best += 1
    return best


def test_hook_joins_a_source_list_split_without_a_newline(planted):
    value, _ = planted
    model = notebook_with("plain")
    # nbformat joins list items as they are: the value exists only in the joined text.
    model["content"]["cells"][0]["source"] = ["token = '" + value[:9], value[9:] + "'\n", "print(token)\n"]
    assert pre_save_scrubbed(model) >= 1
    source = model["content"]["cells"][0]["source"]
    assert longest_piece(source if isinstance(source, str) else "".join(source), value) < K
    assert source == f"token = '{MASK}'\nprint(token)\n"
    nbformat.validate(nbformat.from_dict(model["content"]))


def test_hook_masks_a_partial_copy_of_k_characters_and_leaves_shorter_ones(planted):
    value, _ = planted
    model = notebook_with("plain")
    outputs = model["content"]["cells"][0]["outputs"]
    outputs[0]["text"] = f"head of the key: {value[2 : 2 + K]}...\n"
    outputs[1]["data"]["text/plain"] = f"tail ...{value[-(K - 1) :]}"  # below K: out of scope, documented
    pre_save_scrubbed(model)
    assert outputs[0]["text"] == f"head of the key: {MASK}...\n"
    assert outputs[1]["data"]["text/plain"] != MASK and MASK not in outputs[1]["data"]["text/plain"]


def test_hook_masks_a_value_spread_over_metadata_list_items_keeping_the_list(planted):
    value, _ = planted
    model = notebook_with("plain")
    cell = model["content"]["cells"][0]
    cell["metadata"]["tags"] = ["run", value[:12], value[12:], "done"]
    model["content"]["metadata"]["kvnb"] = {"history": [f"fetched {value}"], value: "as a key"}
    pre_save_scrubbed(model)
    assert cell["metadata"]["tags"] == ["run", MASK, "done"]
    metadata = json.dumps(model["content"]["metadata"])
    assert longest_piece(metadata, value) < K and metadata.count(MASK) == 2
    nbformat.validate(nbformat.from_dict(model["content"]))


def test_hook_masks_an_attachment_holding_the_value(planted):
    value, _ = planted
    model = notebook_with("plain")
    attachment = base64.b64encode(f"user=lead\npassword={value}\n".encode()).decode()
    model["content"]["cells"][1]["attachments"] = {"notes.txt": {"text/plain": attachment}}
    pre_save_scrubbed(model)
    kept = model["content"]["cells"][1]["attachments"]["notes.txt"]["text/plain"]
    assert MASK in kept and longest_piece(kept, base64.b64encode(value.encode()).decode()) < K


def test_a_five_megabyte_notebook_with_a_pem_key_is_checked_in_seconds(kvnb_home, caplog):
    caplog.set_level(logging.WARNING, logger="kvnb.saveguard")
    registry = Registry()
    guard.start(registry)
    try:
        pem = pem_key()
        registry.add(pem, label="Pem")
        model = notebook_with("plain")
        outputs = model["content"]["cells"][0]["outputs"]
        outputs[1]["data"]["image/png"] = base64.b64encode(os.urandom(3_500_000)).decode()
        outputs[0]["text"] = [random_source.token_urlsafe(60) + "\n" for _ in range(5_000)] + [pem[100:400]]
        started = time.perf_counter()
        pre_save_scrubbed(model)
        seconds = time.perf_counter() - started
    finally:
        guard.stop()
    # About 0.5 s on a quiet 2-core machine; the bound leaves room for a loaded one, and still fails
    # an HMAC per window in Python (0.7 MB/s: over 7 s).
    assert seconds < 7.0, f"{seconds:.2f} s"
    assert longest_piece(outputs[0]["text"], pem) < K
    assert "scrubbed 1 fetched value(s)" in caplog.text  # found directly and in the joined-base64 reading


def pem_key() -> str:
    body = base64.b64encode(os.urandom(1190)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END PRIVATE KEY-----\n"


def context_forms(value: str) -> dict[str, tuple[str, str]]:
    """Where real code puts a value, computed here with the libraries' own encoders: name ->
    (the text shown, the part of it that carries the value alone)."""
    import html
    from urllib.parse import quote_plus

    head = b'{"password": "'
    body = head + json.dumps(value)[1:-1].encode() + b'"}'  # a JWT claim, a request body
    encoded = base64.b64encode(body).decode()
    carried = encoded[-(-8 * len(head) // 6) : 8 * (len(body) - 2) // 6]  # bits of the value alone
    before = b"user: lead\npassword: "
    mime = base64.encodebytes(before + value.encode() + b"\n" * 40).decode()  # lines of 76
    in_mime = mime.replace("\n", "")[-(-8 * len(before) // 6) : 8 * (len(before) + len(value.encode())) // 6]
    forms = {
        "repr, both quotes": repr(value),
        "ascii()": ascii(value),
        "html.escape": html.escape(value),
        "xml &apos;": value.replace("&", "&amp;").replace("<", "&lt;").replace("'", "&apos;"),
        "htmlsafe json": json.dumps(value).replace("<", "\\u003c").replace("&", "\\u0026").replace("'", "\\u0027"),
        "json, no ensure_ascii": json.dumps(value, ensure_ascii=False),
        "requests url": quote(value, safe="!#$%&'()*+,/:;=?@[]~"),
        "form url": quote_plus(value),
        "hex": value.encode().hex().upper(),
    }
    shown = {name: (text, text) for name, text in forms.items()}
    shown["base64 of a json body"] = (encoded, carried)
    shown["mime base64"] = (mime, in_mime)
    return shown


def test_hook_masks_the_context_forms(kvnb_home):
    value = "P@ss'wö\"rd<&--+/%" + random_source.token_urlsafe(12)
    registry = Registry()
    guard.start(registry)
    try:
        registry.add(value, label="Awkward")
        forms = context_forms(value)
        model = notebook_with("plain")
        model["content"]["cells"][0]["outputs"] = [
            new_output("stream", name="stdout", text=f"{name}: {shown}\n") for name, (shown, _) in forms.items()
        ]
        pre_save_scrubbed(model)
    finally:
        guard.stop()
    kept = {
        name: output["text"].replace("\n", "") for name, output in zip(forms, model["content"]["cells"][0]["outputs"])
    }
    pieces = {name: longest_piece(kept[name], carried) for name, (_, carried) in forms.items()}
    assert {name: length for name, length in pieces.items() if length >= K} == {}


def test_hook_joins_mime_lines_so_a_value_cut_in_two_short_pieces_is_masked(kvnb_home):
    value = random_source.token_urlsafe(15)  # 20 characters: 27 of base64, under 2K
    before = b"#" * 47  # base64 of the value starts at character 63, the MIME line break is at 76
    mime = base64.encodebytes(before + value.encode() + b"\n").decode()
    carried = mime.replace("\n", "")[63 : 63 + 26]
    registry = Registry()
    guard.start(registry)
    try:
        registry.add(value, label="Short")
        model = notebook_with("plain")
        model["content"]["cells"][0]["outputs"][0]["text"] = mime
        pre_save_scrubbed(model)
    finally:
        guard.stop()
    kept = model["content"]["cells"][0]["outputs"][0]["text"]
    assert longest_piece(kept.replace("\n", ""), carried) < K


def test_hook_leaves_a_notebook_without_values_untouched(planted):
    model = notebook_with("nothing secret here " + random_source.token_urlsafe(16))
    before = json.dumps(model["content"], sort_keys=True)
    assert pre_save_scrubbed(model) == 0
    assert json.dumps(model["content"], sort_keys=True) == before


def test_hook_does_nothing_without_guard_files(kvnb_home):
    value = a_value()
    model = notebook_with(value)
    assert pre_save_scrubbed(model) == 0
    assert leaked_forms(json.dumps(model["content"]), value) == ["raw", "json"]  # the same text here


def test_refuse_mode_raises_an_http_400_without_the_value(planted, monkeypatch):
    from tornado.web import HTTPError

    value, _ = planted
    monkeypatch.setenv("KVNB_SAVE_GUARD", "refuse")
    model = notebook_with(value)
    before = json.dumps(model["content"])
    with pytest.raises(SaveRefused) as raised:
        pre_save_hook(model=model, path="x.ipynb", contents_manager=None)
    assert isinstance(raised.value, HTTPError) and raised.value.status_code == 400
    assert leaked_forms(str(raised.value), value) == [] and "1 value" in str(raised.value)
    unchanged = json.dumps(model["content"]) == before
    assert unchanged


def test_text_files_are_scrubbed_too(planted):
    value, _ = planted
    model = {"type": "file", "format": "text", "content": f"API_KEY={value}\n"}
    pre_save_hook(model=model, path="x.env", contents_manager=None)
    scrubbed = model["content"] == f"API_KEY={MASK}\n"
    assert scrubbed


def test_a_hundred_kilobytes_of_output_is_checked_quickly(planted):
    model = notebook_with("x")
    model["content"]["cells"][0]["outputs"][0]["text"] = random_source.token_urlsafe(75_000)
    started = time.perf_counter()
    pre_save_scrubbed(model)
    assert time.perf_counter() - started < 2.0


# -- the CLI ---------------------------------------------------------------------------------------
def test_install_save_guard_adds_one_line_idempotently(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    config = tmp_path / "jupyter_server_config.py"
    config.write_text("c.ServerApp.open_browser = False")
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(notebook, ["install-save-guard", "--user"])
        assert result.exit_code == 0, result.output
    text = config.read_text()
    assert text.startswith("c.ServerApp.open_browser = False\n")
    assert text.count(CONFIG_LINE) == 1


def test_install_save_guard_will_not_replace_another_hook(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    config = tmp_path / "jupyter_server_config.py"
    config.write_text('c.FileContentsManager.pre_save_hook = "mine.hook"\n')
    result = CliRunner().invoke(notebook, ["install-save-guard"])
    assert result.exit_code == 1 and "already sets a pre-save hook" in result.output
    assert config.read_text() == 'c.FileContentsManager.pre_save_hook = "mine.hook"\n'


def test_install_save_guard_sys_prefix(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    result = CliRunner().invoke(notebook, ["install-save-guard", "--sys-prefix"])
    assert result.exit_code == 0, result.output
    assert CONFIG_LINE in (tmp_path / "etc" / "jupyter" / "jupyter_server_config.py").read_text()


# -- acceptance: a real Jupyter server -------------------------------------------------------------
def start_jupyter_server(base: Path, home: Path, mode: str):
    root, config, runtime = (base / n for n in ("root", "config", "runtime"))
    for directory in (root, config, runtime):
        directory.mkdir(parents=True)
    add_hook_line(config / CONFIG_NAME)  # what `kvnb notebook install-save-guard` writes
    token = random_source.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "KVNB_HOME": str(home),
        "KVNB_SAVE_GUARD": mode,
        "PYTHONPATH": str(REPO),
    }
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "server",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = (base / "server.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"jupyter server exited: {(base / 'server.log').read_text()[-3000:]}")
        info = runtime / f"jpserver-{server.pid}.json"
        if info.exists():
            try:
                port = json.loads(info.read_text())["port"]
                return server, log, f"http://127.0.0.1:{port}", token, root
            except (json.JSONDecodeError, KeyError):
                pass
        time.sleep(0.2)
    stop_server(server, log)
    raise AssertionError("jupyter server did not start within 60 s")


def put_notebook(url: str, token: str, value: str) -> httpx.Response:
    forms = forms_of(value)
    cell = new_code_cell(
        f"api_key = '{value}'",
        outputs=[
            new_output("stream", name="stdout", text=f'{{"key": "{forms["json"]}"}}\n'),
            new_output("execute_result", data={"text/plain": f"b'{forms['base64']}'"}, execution_count=1),
        ],
    )
    cell["execution_count"] = 1
    body = {"type": "notebook", "format": "json", "content": json.loads(json.dumps(new_notebook(cells=[cell])))}
    return httpx.put(f"{url}/api/contents/x.ipynb", json=body, headers={"Authorization": f"token {token}"}, timeout=30)


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("mode", ["scrub", "refuse"])
def test_a_real_jupyter_server_never_writes_the_value(planted, kvnb_home, tmp_path, mode):
    value, _ = planted
    server, log, url, token, root = start_jupyter_server(tmp_path / "jupyter", kvnb_home, mode)
    try:
        response = put_notebook(url, token, value)
    finally:
        stop_server(server, log)
    server_log = (tmp_path / "jupyter" / "server.log").read_text()
    assert leaked_forms(server_log, value) == [] and leaked_forms(response.text, value) == []
    saved = root / "x.ipynb"
    if mode == "refuse":
        assert response.status_code == 400, response.text
        assert "kvnb save guard" in response.json()["message"]
        assert not saved.exists()
        return
    assert response.status_code in (200, 201), response.text
    on_disk = saved.read_text()
    assert leaked_forms(on_disk, value) == []
    assert on_disk.count(MASK) == 3
    assert "scrubbed 1 fetched value(s) from x.ipynb" in server_log


def put_model(url: str, token: str, name: str, content: dict) -> httpx.Response:
    body = {"type": "notebook", "format": "json", "content": content}
    return httpx.put(f"{url}/api/contents/{name}", json=body, headers={"Authorization": f"token {token}"}, timeout=30)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_real_jupyter_server_scrubs_split_sources_attachments_metadata_and_pieces(planted, kvnb_home, tmp_path):
    value, _ = planted
    cell = new_code_cell(
        "",
        outputs=[
            new_output("stream", name="stdout", text=[f"first part {value[:10]}", f"{value[10:]} end\n"]),
            new_output("display_data", data={"text/plain": f"...{value[1 : 1 + K]}..."}),
        ],
    )
    cell["source"] = [f"key = '{value[:7]}", f"{value[7:]}'"]  # no newline between the items
    cell["metadata"]["tags"] = ["secret", value]
    note = new_markdown_cell("![n](attachment:n.txt)")
    note["attachments"] = {"n.txt": {"text/plain": base64.b64encode(f"pw={value}".encode()).decode()}}
    content = json.loads(json.dumps(new_notebook(cells=[cell, note], metadata={"kvnb": {"copied": value}})))
    server, log, url, token, root = start_jupyter_server(tmp_path / "jupyter", kvnb_home, "scrub")
    try:
        response = put_model(url, token, "y.ipynb", content)
        read_back = httpx.get(f"{url}/api/contents/y.ipynb", headers={"Authorization": f"token {token}"}, timeout=30)
    finally:
        stop_server(server, log)
    assert response.status_code in (200, 201), response.text
    on_disk = (root / "y.ipynb").read_text()
    saved = nbformat.reads(on_disk, as_version=4)  # nbformat's own reading: joined lists
    texts = [
        saved.cells[0].source,
        saved.cells[0].outputs[0].text,
        saved.cells[0].outputs[1].data["text/plain"],
        json.dumps(saved.cells[0].metadata),
        json.dumps(saved.metadata),
        base64.b64decode(saved.cells[1].attachments["n.txt"]["text/plain"] + "==").decode("latin-1"),
    ]
    assert [longest_piece(text, value) < K for text in texts] == [True] * 6
    assert leaked_forms(on_disk, value) == [] and leaked_forms(read_back.text, value) == []
    assert saved.cells[0].source == f"key = '{MASK}'"


def kernel_with_a_value(home: Path):
    """A real ipykernel with kvnb loaded and one value registered; (manager, client)."""
    from jupyter_client import KernelManager

    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env={**os.environ, "KVNB_HOME": str(home), "PYTHONPATH": str(REPO)})
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    reply = client.execute_interactive(
        "%load_ext kvnb\nimport secrets\nfrom kvnb import redaction\n"
        "redaction.registry.add(secrets.token_urlsafe(24), label='InKernel')",
        timeout=60,
    )
    assert reply["content"]["status"] == "ok"
    return manager, client


def guard_files(home: Path) -> list[str]:
    folder = home / "guard"
    return sorted(p.suffix for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_kernel_shutdown_removes_its_guard_files(kvnb_home):
    manager, client = kernel_with_a_value(kvnb_home)
    try:
        assert guard_files(kvnb_home) == [".digests", ".key"]
        assert values_guarded(kvnb_home) == 1
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)  # the shutdown_request a Jupyter server sends
    assert guard_files(kvnb_home) == []


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_killed_kernels_files_go_when_the_server_starts(kvnb_home, tmp_path):
    manager, client = kernel_with_a_value(kvnb_home)
    client.stop_channels()
    manager.shutdown_kernel(now=True)  # SIGKILL: no atexit
    assert guard_files(kvnb_home) == [".digests", ".key"]
    server, log, *_ = start_jupyter_server(tmp_path / "jupyter", kvnb_home, "scrub")
    stop_server(server, log)
    assert guard_files(kvnb_home) == []

"""Leak corpus v2 (issue 15): real-world value shapes through the displays that cut, wrap and
re-escape them, in a real kernel (nbclient), redaction on and off.

Values, made at random by the test process and handed to the kernel through its environment:
a PEM private key (5 lines of 64 characters, trailing newline), a 184-character SQL connection
string with spaces, an 88-character base64 storage key, a password with ' " < & -- + / % and a
non-ASCII letter, a non-ASCII password and a 6-digit PIN.

What is searched, per case: the cell's outputs in the saved ``.ipynb``, every iopub message of
the cell and its ``execute_reply`` (payloads: ``pem?`` pages), and for the shell cases the
``inspect_reply`` (Shift-Tab) and ``complete_reply``. Each is read in every way ``leakreading``
knows; with redaction on no reading shows K (16) characters in a row of a value (boilerplate-only
runs excepted) or a whole value; with redaction off (the positive control) every case leaks.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import string
import subprocess
from dataclasses import dataclass, field

import pytest

from leakreading import leaks, strings_in

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("tabulate")
pytest.importorskip("rich")

K = 16


def make_values() -> dict[str, str]:
    rng = secrets.SystemRandom()
    body = base64.b64encode(secrets.token_bytes(240)).decode()
    pem = (
        "-----BEGIN PRIVATE KEY-----\n"
        + "\n".join(body[i : i + 64] for i in range(0, 320, 64))
        + "\n-----END PRIVATE KEY-----\n"
    )
    pw = list("'\"<&+/%é") + [rng.choice(string.ascii_letters + string.digits) for _ in range(14)]
    rng.shuffle(pw)
    pw = "".join(pw[:11]) + "--" + "".join(pw[11:])
    head = "Server=tcp:orders-sql.database.windows.net,1433;Initial Catalog=orders;User ID=orders app;Password="
    tail = ";Encrypt=True;TrustServerCertificate=False;Connection Timeout=30;"
    conn_pw = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(184 - len(head) - len(tail)))
    conn = head + conn_pw + tail
    assert len(conn) == 184
    nonascii = "Ä" + "".join(rng.choice("äöüßÅÆØñçéłžšÐþ") for _ in range(9)) + str(rng.randrange(100, 999))
    return {
        "KVNB_V2_PEM": pem,
        "KVNB_V2_CONN": conn,
        "KVNB_V2_KEY": base64.b64encode(secrets.token_bytes(64)).decode(),
        "KVNB_V2_PW": pw,
        "KVNB_V2_NONASCII": nonascii,
        "KVNB_V2_PIN": f"{rng.randrange(10**6):06d}",
    }


SETUP = """\
import base64, json, logging, os, pprint, subprocess, sys, textwrap, time, warnings
import urllib.parse, xml.sax.saxutils
from xml.etree import ElementTree
import pandas as pd
import ipywidgets as w
from IPython.display import HTML, JSON, Code, Markdown, display
import kvnb.redaction as r
from kvnb.secret import Secret
r.install(get_ipython())
r.registry.enabled = {enabled}
vault = "https://127.0.0.1:8443"
def fetched(var, name):
    return Secret(os.environ.pop(var), name=name, vault_url=vault).reveal()
pem = fetched("KVNB_V2_PEM", "TlsKey")
conn = fetched("KVNB_V2_CONN", "OrdersDb")
key = fetched("KVNB_V2_KEY", "StorageKey")
pw = fetched("KVNB_V2_PW", "DbPassword")
nonascii = fetched("KVNB_V2_NONASCII", "Nordic")
pin = fetched("KVNB_V2_PIN", "Pin")
conn_password = conn.split("Password=")[1].split(";")[0]
lookup = {key: "storage", pw: "db"}
log = logging.getLogger("corpus")
"""


@dataclass(frozen=True)
class Case:
    id: str
    code: str = ""
    inspect: str = ""  # shell cases: an inspect_request (Shift-Tab) of this code
    complete: str = ""  # shell cases: a complete_request at the end of this code


CASES = [
    # Displays that cut or wrap a value
    Case("print-pem", "print(pem)"),
    Case("pprint-pem", "pprint.pprint(pem)"),
    Case("pprint-dict-wraps", 'pprint.pprint({"conn": conn, "key": key, "pw": pw})'),
    Case("pprint-narrow", "pprint.pprint([conn, nonascii], width=40)"),
    Case("whos", "%whos"),
    Case(
        "dataframe-repr",
        'pd.DataFrame({"name": ["conn", "key", "pw", "nonascii"], "value": [conn, key, pw, nonascii]})',
    ),
    Case("dataframe-print", 'print(pd.DataFrame({"value": [conn, key, pw]}))'),
    Case("dataframe-pem", 'pd.DataFrame({"pem": [pem]})'),
    Case("series-repr", "pd.Series([conn, key], name='secrets')"),
    Case("series-print", "print(pd.Series([pem, nonascii]))"),
    Case("to-markdown", 'print(pd.DataFrame({"value": [conn, pw]}).to_markdown())'),
    Case("dataframe-pin", 'pd.DataFrame({"pin": [pin], "n": [1]})'),
    Case(
        "verbose-traceback-conn",
        """\
%xmode Verbose
def connect(connection_string):
    timeout = 30
    raise ConnectionError("login failed")
connect(conn)""",
    ),
    Case(
        "verbose-traceback-pem",
        """\
def sign(private_key, payload):
    return payload / 0
sign(pem, 1)""",
    ),
    Case("reset-xmode-and-key-error", "%xmode Context\n{}[key]"),
    Case("rich-print-dict", 'import rich\nrich.print({"conn": conn, "pw": pw})'),
    Case("rich-print-pem", "rich.print(pem)"),
    Case("rich-console-narrow", "from rich.console import Console\nConsole(width=30).print(conn)"),
    Case("code-display-pem", "display(Code(pem))"),
    Case("code-display-conn", 'display(Code(f"conn = {conn!r}", language="python"))'),
    Case("textwrap-key", "print(textwrap.fill(key, 20))"),
    Case("lines-of-pem", "for line in pem.splitlines():\n    print(repr(line))"),
    Case("pem-question-mark", "pem?"),
    Case("conn-question-mark", "conn?"),
    Case("inspect-pem", inspect="pem"),
    Case("inspect-key-detail", inspect="key"),
    Case("complete-dict-key", complete='lookup["'),
    Case("complete-dict-key-pw", complete="lookup['"),
    # Contexts that escape a value
    Case("repr-both-quotes", "print(repr(pw))"),
    Case("repr-list", "print([pw, nonascii, pin])"),
    Case("ascii-nonascii", "print(ascii(nonascii))"),
    Case("bytes-repr-pem", "print(pem.encode())"),
    Case(
        "requests-query",
        "import requests\n"
        'print(requests.Request("GET", "https://db.test/login", '
        'params={"pw": pw, "key": key}).prepare().url)',
    ),
    Case(
        "requests-userinfo",
        'print(requests.Request("GET", f"https://svc:{urllib.parse.quote(pw, safe=\'\')}@db.test/").prepare().url)',
    ),
    Case("httpx-query", 'import httpx\nprint(httpx.URL("https://db.test/q", params={"pw": pw}))'),
    Case("httpx-path", 'print(httpx.URL("https://db.test/").join(urllib.parse.quote(nonascii)))'),
    Case("urlencode", "print(urllib.parse.urlencode({'conn': conn}))"),
    Case("encode-uri-component", 'print(urllib.parse.quote(pw, safe="!~*\'()"))'),
    Case(
        "jinja-htmlsafe-json",
        'from jinja2.utils import htmlsafe_json_dumps\nprint(htmlsafe_json_dumps({"pw": pw, "n": nonascii}))',
    ),
    Case("jinja-autoescape", 'import jinja2\nprint(jinja2.Template("<td>{{ v }}</td>", autoescape=True).render(v=pw))'),
    Case("xml-apos", """print(xml.sax.saxutils.escape(pw, {"'": "&apos;", '"': "&quot;"}))"""),
    Case(
        "xml-attribute-newlines",
        'print(ElementTree.tostring(ElementTree.Element("key", value=pem), encoding="unicode"))',
    ),
    Case("html-numeric-refs", 'print(nonascii.encode("ascii", "xmlcharrefreplace").decode())'),
    Case("html-display-escaped", "import html\ndisplay(HTML(f'<pre>{html.escape(pem)}</pre>'))"),
    Case("markdown-conn", 'display(Markdown(f"```\\n{conn}\\n```"))'),
    Case("json-display", 'display(JSON({"conn": conn, "pw": pw}))'),
    Case("json-dumps-pem", "print(json.dumps({'pem': pem}))"),
    Case("json-in-json", "print(json.dumps(json.dumps({'pw': pw, 'n': nonascii})))"),
    Case("json-non-ascii", "print(json.dumps(nonascii, ensure_ascii=False))"),
    Case("jwt-claim", 'import jwt\nprint(jwt.encode({"conn": conn}, "signing-key", algorithm="HS256"))'),
    Case("json-then-base64", 'print(base64.urlsafe_b64encode(json.dumps({"pw": pw}).encode()).decode())'),
    Case("mime-base64-pem", "print(base64.encodebytes(pem.encode()).decode())"),
    Case("mime-base64-conn", 'print(base64.encodebytes(b"header:" + conn.encode()).decode())'),
    Case("basic-auth", 'print("Basic " + base64.b64encode(f"svc:{pw}".encode()).decode())'),
    Case("hex-key", "print(key.encode().hex())"),
    Case("hex-upper-nonascii", "print(nonascii.encode().hex().upper())"),
    Case("base64-pin", "print(base64.b64encode(pin.encode()).decode())"),
    # Pieces of a value: truncated, split, printed in parts
    Case("key-prefix", "print(key[:40])"),
    Case("conn-in-two-prints", 'print(conn[:100], end="")\nprint(conn[100:])'),
    Case("conn-char-by-char", "for c in conn:\n    sys.stdout.write(c)\nprint()"),
    Case("password-part-alone", 'print("password:", conn_password)'),
    Case("parsed-connection-string", 'dict(p.split("=", 1) for p in conn.split(";") if p)'),
    Case("pin-f-string", 'print(f"PIN {pin} accepted")'),
    Case("widget-textarea", "w.Textarea(value=pem)"),
    Case("logging-conn", 'logging.basicConfig(force=True)\nlog.warning("connecting with %s", conn)'),
    Case("warning-key", 'warnings.warn(f"key {key} rotates soon")'),
    Case("exception-pem", 'raise ValueError(f"bad key {pem}")'),
    # Output that reaches the kernel through file descriptors (pipe reads of 1000 bytes)
    Case(
        "fd-write-pem-in-pieces",
        """\
data = pem.encode()
for i in range(0, len(data), 50):
    os.write(1, data[i:i + 50])
    time.sleep(0.25)
time.sleep(0.6)""",
    ),
    Case(
        "fd-write-split-character",
        """\
data = nonascii.encode()
os.write(1, b"x" * 7 + data[:1])
time.sleep(0.4)
os.write(1, data[1:] + b"\\n")
time.sleep(0.6)""",
    ),
    Case(
        "fd-pipe-read-boundary",
        """\
os.write(1, b"y" * 999 + nonascii.encode() + b"\\n")
time.sleep(0.6)""",
    ),
    Case(
        "subprocess-key",
        """\
subprocess.run(["printf", "%s\\n", key])
time.sleep(0.6)""",
    ),
    Case(
        "subprocess-across-reads",
        """\
subprocess.run(["sh", "-c", 'printf "%0990d" 0; printf "%s\\n" "$1"', "sh", conn])
time.sleep(0.6)""",
    ),
]


# -- running it ---------------------------------------------------------------------------------


@dataclass(repr=False)  # a failing assert shows its arguments: never the values
class Run:
    values: dict[str, str]
    texts: dict[str, str] = field(default_factory=dict)  # case id -> everything the case showed
    file_text: str = ""
    setup_ok: bool = False


class RecordingClient(nbclient.NotebookClient):
    """Keeps every iopub message per cell, as a frontend receives it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.messages: dict[int, list] = {}

    def process_message(self, msg, cell, cell_index):
        self.messages.setdefault(cell_index, []).append(msg.get("content"))
        return super().process_message(msg, cell, cell_index)


def _reply(client, msg_id: str) -> dict:
    get = nbclient.util.run_sync(client.kc.get_shell_msg)
    for _ in range(50):
        msg = get(timeout=10)
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg["content"]
    raise AssertionError("no reply from the kernel")


def execute_corpus(tmp_path, enabled: bool) -> Run:
    values = make_values()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(values, IPYTHONDIR=str(tmp_path / "ipython"))
    cells = [nbformat.v4.new_code_cell(SETUP.replace("{enabled}", str(enabled)))]
    executed = [case for case in CASES if case.code]
    for case in executed:
        cell = nbformat.v4.new_code_cell(case.code)
        cell.metadata["kvnb_case"] = case.id
        cells.append(cell)
    notebook = nbformat.v4.new_notebook(cells=cells)
    replies: dict[int, dict] = {}
    client = RecordingClient(
        notebook,
        kernel_name="python3",
        timeout=60,
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
        on_cell_executed=lambda cell, cell_index, execute_reply: replies.__setitem__(cell_index, execute_reply),
    )
    run = Run(values)
    shell_texts: dict[str, str] = {}
    with client.setup_kernel(env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        for case in CASES:
            if case.inspect:
                msg_id = client.kc.inspect(case.inspect, len(case.inspect), detail_level=1)
                shell_texts[case.id] = json.dumps(_reply(client, msg_id), ensure_ascii=False)
            elif case.complete:
                msg_id = client.kc.complete(case.complete, len(case.complete))
                shell_texts[case.id] = json.dumps(_reply(client, msg_id), ensure_ascii=False)
    path = tmp_path / "corpus.ipynb"
    try:
        nbformat.write(notebook, path)
        run.file_text = path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)  # the positive control's file holds the values: keep none
    run.setup_ok = not any(o.get("output_type") == "error" for o in notebook.cells[0].outputs)
    for index, cell in enumerate(notebook.cells):
        case_id = cell.metadata.get("kvnb_case")
        if case_id is None:
            continue
        shown = [cell.outputs, client.messages.get(index, []), replies.get(index, {})]
        # As a reader of the saved file and of the wire sees it: JSON text, and its strings.
        text = json.dumps(shown, ensure_ascii=False, default=str)
        run.texts[case_id] = text + "\n" + "\n".join(strings_in(json.loads(text)))
    run.texts.update(shell_texts)
    return run


def leaks_in(text: str, values: dict[str, str]) -> set[str]:
    return {f"{name}:{how}" for name, value in values.items() for how in leaks(text, value, K)}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """``corpus(enabled)``: the corpus run once per module with redaction on, once with it off."""
    done: dict[bool, Run] = {}

    def run(enabled: bool) -> Run:
        if enabled not in done:
            done[enabled] = execute_corpus(tmp_path_factory.mktemp("v2"), enabled=enabled)
        return done[enabled]

    return run


CASE_IDS = [case.id for case in CASES]


def test_the_corpus_covers_issue_15():
    assert len(CASES) >= 60 and len(set(CASE_IDS)) == len(CASES)
    values = make_values()
    assert len(values["KVNB_V2_CONN"]) == 184 and " " in values["KVNB_V2_CONN"]
    assert len(values["KVNB_V2_KEY"]) == 88
    assert values["KVNB_V2_PEM"].count("\n") == 7 and values["KVNB_V2_PEM"].endswith("-----\n")
    assert all(c in values["KVNB_V2_PW"] for c in "'<&+/%é\"") and "--" in values["KVNB_V2_PW"]
    assert not values["KVNB_V2_NONASCII"][:5].isascii()
    assert values["KVNB_V2_PIN"].isdigit() and len(values["KVNB_V2_PIN"]) == 6


@pytest.mark.slow
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_with_redaction_on_no_case_shows_a_run_of_k(corpus, case_id):
    redaction_on = corpus(True)
    assert redaction_on.setup_ok
    found = leaks_in(redaction_on.texts[case_id], redaction_on.values)
    assert found == set()  # names the value and the reading only, never the text


@pytest.mark.slow
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_positive_control_every_case_leaks_with_redaction_off(corpus, case_id):
    redaction_off = corpus(False)
    assert redaction_off.setup_ok
    assert leaks_in(redaction_off.texts[case_id], redaction_off.values)


@pytest.mark.slow
def test_the_saved_notebook_holds_no_run_of_k(corpus):
    redaction_on = corpus(True)
    assert leaks_in(redaction_on.file_text, redaction_on.values) == set()

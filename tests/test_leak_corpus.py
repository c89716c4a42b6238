"""The leak corpus of issue 7, run in a real kernel: no fetched value reaches the saved notebook.

Each case is one code cell that sends a value towards the output some way. Two values are used:
``plain`` (``APICaller``, a URL-safe token) and ``pw`` (``DbPassword``, with quotes, backslash,
``&<>``, ``%+=/`` and a non-ASCII letter, so its JSON, repr, HTML, URL and UTF-8 forms differ from
the raw text). The test process makes both at random and hands them to the kernel through its
environment; the first cell takes them out of ``os.environ`` again.

The executed notebook is saved and searched by ``leaked_forms`` — written here independently of
kvnb.redaction, by decoding rather than by reusing its needles — in every form.

Kinds of case:

* ``revealed`` — the plain value, after ``.reveal()``: redaction must scrub it. With redaction
  off (the positive control) every one of them must leak, which proves the corpus and the search.
* ``masked`` — the ``Secret`` object itself: the type shows a mask, redaction on or off.
* ``exempt`` — documented as not preventable (docs/redaction.md); they leak in both runs, and the
  test says so, so a fix shows up as a failure that asks for the docs to change. There are none
  now: MIME base64 cut by a line break and fd-level writes in pieces (separate stream messages)
  are caught since redaction v2 (tests/test_leak_corpus_v2.py has the rest of issue 15's shapes).
"""

from __future__ import annotations

import base64
import binascii
import copy
import html
import json
import os
import re
import secrets
import string
import subprocess
from dataclasses import dataclass
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import pytest

from leakreading import strings_in
from valuecheck import assert_value_not_in

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # "revealed" | "masked" | "exempt"
    code: str
    shows: str = ""  # for masked cases: text the output must contain


def revealed(id: str, code: str) -> Case:
    return Case(id, "revealed", code)


def masked(id: str, code: str, shows: str = "secret APICaller") -> Case:
    return Case(id, "masked", code, shows)


SETUP = """\
import base64, binascii, html, json, logging, os, pprint, sys, threading, time, traceback
import urllib.parse, warnings
import pandas as pd
import ipywidgets as w
from IPython.display import HTML, JSON, SVG, Javascript, Latex, Markdown, display
# A handler made before install holds the kernel's raw stream: logging's own hooks must work.
logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s", force=True)
log = logging.getLogger("corpus")
import kvnb.redaction as r
from kvnb.secret import Secret
r.install(get_ipython())
r.registry.enabled = {enabled}
vault = "https://127.0.0.1:8443"
api = Secret(os.environ.pop("KVNB_CORPUS_API"), name="APICaller", vault_url=vault)
db = Secret(os.environ.pop("KVNB_CORPUS_DB"), name="DbPassword", vault_url=vault)
plain, pw = api.reveal(), db.reveal()
"""

CASES = [
    revealed("print", "print(plain)"),
    revealed("execute-result-repr", "plain"),
    revealed("underscore-cache", "_"),
    revealed("out-cache", "Out"),
    revealed("display", "display(plain)"),
    revealed("f-string", 'print(f"token={plain}")'),
    revealed("percent-format", 'print("token=%s" % pw)'),
    revealed("str-format", 'print("token={}".format(plain))'),
    revealed("slices-printed-back-to-back", 'print(plain[:10], plain[10:], sep="")'),
    revealed("concatenation", 'print("Bearer " + plain)'),
    revealed("print-a-dict-repr", 'print({"password": pw})'),
    revealed("print-repr", "print(repr(pw))"),
    revealed("pprint", 'pprint.pprint({"token": plain, "password": pw})'),
    revealed("dataframe-cell", 'pd.DataFrame({"name": ["APICaller", "DbPassword"], "value": [plain, pw]})'),
    revealed("series", 'pd.Series([pw], name="value")'),
    revealed("styler-html", 'pd.DataFrame({"value": [pw]}).style.set_caption("vault")'),
    revealed("json-dumps", 'print(json.dumps({"password": pw}))'),
    revealed("json-dumps-non-ascii", "print(json.dumps(pw, ensure_ascii=False))"),
    revealed("ipython-json-display", 'display(JSON({"token": plain, "password": pw}))'),
    revealed("html-display", 'display(HTML(f"<b>{pw}</b>"))'),
    revealed("html-escaped-display", 'display(HTML(f"<b>{html.escape(pw)}</b>"))'),
    revealed("markdown-display", 'display(Markdown(f"token: `{plain}`"))'),
    revealed("javascript-display", 'display(Javascript(f"window.kv = {json.dumps(pw)};"))'),
    revealed(
        "svg-display",
        """display(SVG(
        f'<svg xmlns="http://www.w3.org/2000/svg"><text>{html.escape(pw)}</text></svg>'))""",
    ),
    revealed("latex-display", 'display(Latex(f"$\\\\mathtt{{{plain}}}$"))'),
    revealed(
        "syntax-highlighted-code",
        """\
from IPython.display import Code
display(Code(f"token = {pw!r}", language="python"))""",
    ),
    revealed("raw-mimebundle", 'display({"text/plain": plain, "text/html": f"<p>{pw}</p>"}, raw=True)'),
    revealed(
        "update-display",
        """\
handle = display("waiting", display_id=True)
handle.update(plain)""",
    ),
    revealed(
        "object-with-repr-html",
        """\
class Card:
    def _repr_html_(self):
        return f"<i>{pw}</i>"
Card()""",
    ),
    revealed("logging-debug", 'log.debug("token %s", plain)'),
    revealed("logging-info", 'log.info(f"password {pw}")'),
    revealed("logging-warning-root", 'logging.warning("token %s", plain)'),
    revealed("logging-error", 'log.error("password %s", pw)'),
    revealed("logging-critical", "log.critical(plain)"),
    revealed(
        "logging-exception",
        """\
try:
    raise RuntimeError(f"auth failed for {plain}")
except RuntimeError:
    log.exception("request failed")""",
    ),
    revealed("logging-exc-info-instance", 'log.warning("retrying", exc_info=ValueError(pw))'),
    revealed("warnings-warn", 'warnings.warn(f"token {plain} expires soon")'),
    revealed("exception-message", 'raise ValueError(f"bad token {plain}")'),
    revealed("key-error-repr", "{}[pw]"),
    revealed("chained-exception", 'raise RuntimeError("wrapped") from ValueError(pw)'),
    revealed("assert-message", 'assert plain == "x", f"mismatch: {plain}"'),
    revealed(
        "verbose-traceback-local",
        """\
%xmode Verbose
def call_api(token):
    header = "Bearer " + token
    return len(header) / 0
call_api(plain)""",
    ),
    revealed("syntax-error-line", 'exec(f"x = = {plain!r}")'),
    revealed(
        "traceback-print-exc",
        """\
try:
    raise KeyError(plain)
except KeyError:
    traceback.print_exc()""",
    ),
    revealed("system-exit", "raise SystemExit(plain)"),
    revealed("ipywidgets-text", "w.Text(value=plain)"),
    revealed("ipywidgets-html", 'w.HTML(value=f"<b>{pw}</b>")'),
    revealed("whos", "%whos"),
    revealed(
        "env-after-env-var",
        """\
os.environ["API_CALLER"] = plain
%env API_CALLER""",
    ),
    revealed("env-listing", "%env"),
    revealed("base64", "print(base64.b64encode(plain.encode()).decode())"),
    revealed("base64url", "print(base64.urlsafe_b64encode(pw.encode()).decode())"),
    # HTTP Basic credentials: the value sits at offset 1 and 2 (mod 3) of the encoded bytes.
    revealed("basic-auth-offset-1", 'print(base64.b64encode(f"svc:{pw}".encode()).decode())'),
    revealed("basic-auth-offset-2", 'print(base64.b64encode(f"user:{plain}".encode()).decode())'),
    revealed("url-quote", 'print(urllib.parse.quote(pw, safe=""))'),
    revealed("url-query-string", 'print("https://x.test/?" + urllib.parse.urlencode({"pw": pw}))'),
    revealed("hex", "print(plain.encode().hex())"),
    revealed("hex-upper", "print(binascii.hexlify(pw.encode()).decode().upper())"),
    revealed("bytes-repr", "print(pw.encode())"),
    revealed("ascii", "print(ascii(pw))"),
    revealed(
        "character-by-character",
        """\
for c in plain:
    print(c, end="", flush=True)
    time.sleep(0.01)
print()""",
    ),
    revealed(
        "stdout-write-in-chunks",
        """\
for i in range(0, len(pw), 3):
    sys.stdout.write(pw[i:i + 3])
    sys.stdout.flush()
    time.sleep(0.05)
print()""",
    ),
    revealed("stderr", "print(plain, file=sys.stderr)"),
    revealed(
        "thread-print",
        """\
t = threading.Thread(target=print, args=(plain,))
t.start()
t.join()""",
    ),
    revealed(
        "captured-then-shown",
        """\
from IPython.utils.capture import capture_output
with capture_output() as cap:
    print(plain)
cap.show()""",
    ),
    revealed("shell-command", "!echo {plain}"),
    # fd-level output reaches the kernel through a pipe-reading thread: give it time to arrive.
    revealed(
        "os-system",
        """\
os.system(f"echo {plain}")
time.sleep(0.5)""",
    ),
    revealed(
        "sys-dunder-stdout",
        """\
sys.__stdout__.write(plain + "\\n")
sys.__stdout__.flush()
time.sleep(0.5)""",
    ),
    revealed(
        "tqdm-description",
        """\
from tqdm import tqdm
for _ in tqdm(range(3), desc=plain):
    pass""",
    ),
    revealed("mime-base64-across-a-line-break", 'print(base64.encodebytes(b"x" * 40 + plain.encode()).decode())'),
    revealed(
        "fd-writes-in-pieces",
        """\
for i in range(0, len(plain), 8):
    os.write(1, plain[i:i + 8].encode())
    time.sleep(0.3)
os.write(1, b"\\n")
time.sleep(0.5)""",
    ),
    masked("secret-print", "print(api)"),
    masked("secret-repr", "api"),
    masked("secret-display", "display(api, db)"),
    masked("secret-f-string", 'print(f"token={api}")'),
    masked("secret-percent", 'print("token=%s" % api)'),
    masked("secret-slice", "api[2:12]"),
    masked("secret-concatenation", '"Bearer " + api', shows="secret …+APICaller"),
    masked("secret-dataframe", 'pd.DataFrame({"value": [api, db]})'),
    masked("secret-json-dumps", "json.dumps({'token': api})", shows="not JSON serializable"),
    masked("secret-logging", 'log.info("token %s", api)'),
    masked("secret-pprint", "pprint.pprint([api, db])"),
    masked("secret-peek", "api.peek(8)", shows="PeekNotAllowed"),
    masked("secret-widget", "w.Text(value=api)", shows="secret APICaller"),
]
# The verbose case leaves %xmode Verbose on; this cell (not a case) resets it.
RESET_XMODE = "%xmode Context"

PW_SPECIALS = "\"'\\&<>%+=/ é#?"


def make_values() -> dict[str, str]:
    rng = secrets.SystemRandom()
    alphabet = string.ascii_letters + string.digits
    chars = list(PW_SPECIALS) + [rng.choice(alphabet) for _ in range(18)]
    rng.shuffle(chars)
    return {"KVNB_CORPUS_API": secrets.token_urlsafe(24), "KVNB_CORPUS_DB": "".join(chars)}


# -- the independent search ---------------------------------------------------------------------

_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{12,}")
_HEX_RUN = re.compile(r"[0-9A-Fa-f]{12,}")


def leaked_forms(text: str, value: str) -> set[str]:
    """The forms in which ``value`` can be read back from ``text`` (empty when none).

    The text is also read without colour codes and HTML tags (syntax highlighting may split a
    value), HTML-unescaped and URL-decoded; each reading is searched for the value as typed,
    JSON-escaped, repr'd and hex-encoded, and every base64 or hex run in it is decoded.
    """
    data = value.encode("utf-8")
    bare = re.sub(r"\x1b\[[0-9;]*m", "", text)
    untagged = re.sub(r"<[^<>]*>", "", bare)
    readings = {
        "": text,
        "bare ": bare,
        "untagged ": untagged,
        "html ": html.unescape(untagged),
        "url ": unquote(text),
        "url+ ": unquote_plus(text),
    }
    literal = {
        "raw": [value],
        "json": [json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]],
        "repr": [repr(value)[1:-1], ascii(value)[1:-1], repr(data)[2:-1]],
        "hex": [data.hex(), data.hex().upper()],
    }
    found = set()
    for reading, readable in readings.items():
        for form, texts in literal.items():
            if any(t in readable for t in texts):
                found.add(reading + form)
    # base64 in any alphabet and alignment; line breaks (MIME) and JSON escapes removed first.
    joined = re.sub(r"\\n|\\r|\s", "", text)
    for run in _BASE64_RUN.findall(joined):
        run = run.translate(str.maketrans("-_", "+/"))
        for shift in range(4):
            chunk = run[shift:]
            if len(chunk) % 4 == 1:
                chunk = chunk[:-1]
            chunk += "=" * (-len(chunk) % 4)  # the value may end in the last, partial group
            if chunk and data in base64.b64decode(chunk):
                found.add("base64")
    for run in _HEX_RUN.findall(text):
        for shift in range(2):
            chunk = run[shift:]
            if data in binascii.unhexlify(chunk[: len(chunk) - len(chunk) % 2]):
                found.add("hex")
    return found


def test_the_search_reads_back_every_encoding():
    value = make_values()["KVNB_CORPUS_DB"]
    data = value.encode()
    encodings = {
        "raw": f"x {value} y",
        "json": json.dumps({"k": value}),
        "repr": repr({"k": value}),
        "html": html.escape(value),
        "url": quote(value, safe="") + "&" + quote_plus(value),
        "base64": "Basic " + base64.b64encode(b"ab" + data).decode(),
        "hex": "0x" + data.hex().upper(),
    }
    for form, text in encodings.items():
        assert any(form in found.split() for found in leaked_forms(text, value)), form
    # The searches run outside the asserts: a failing `in` would show leaked_forms' arguments.
    found = leaked_forms(base64.encodebytes(b"x" * 40 + data).decode(), value)
    assert "base64" in found
    found = leaked_forms(base64.urlsafe_b64encode(b"q" + data).decode(), value)
    assert "base64" in found
    for prefix in (b"", b"a", b"ab"):  # each alignment, the value last in the encoding
        found = leaked_forms(base64.b64encode(prefix + data).decode().rstrip("="), value)
        assert "base64" in found
    assert leaked_forms("[secret DbPassword redacted] " + value[:-1], value) == set()
    split = f"<span>{html.escape(value[:5])}</span>\x1b[31m<i>{html.escape(value[5:])}</i>"
    found = leaked_forms(split, value)
    assert "html raw" in found
    found = leaked_forms(f"{value[:5]}\x1b[31m{value[5:]}", value)
    assert "bare raw" in found
    highlighted = f"<span>{html.escape(repr(value)[:6])}</span><span>{html.escape(repr(value)[6:])}"
    found = leaked_forms(highlighted, value)
    assert "html repr" in found


def test_the_corpus_is_large_and_exemptions_are_rare():
    kinds = [case.kind for case in CASES]
    assert len({case.id for case in CASES}) == len(CASES)
    assert kinds.count("revealed") >= 40
    assert kinds.count("exempt") < 0.1 * len(CASES)


# -- running it ---------------------------------------------------------------------------------


def build_notebook(enabled: bool):
    cells = [nbformat.v4.new_code_cell(SETUP.replace("{enabled}", str(enabled)))]
    for case in CASES:
        cell = nbformat.v4.new_code_cell(case.code)
        cell.metadata["kvnb_case"] = case.id
        cells.append(cell)
        if case.id == "verbose-traceback-local":
            cells.append(nbformat.v4.new_code_cell(RESET_XMODE))
    return nbformat.v4.new_notebook(cells=cells)


@dataclass(repr=False)  # a failing assert shows its arguments: never the values
class Run:
    notebook: object
    file_text: str
    values: dict[str, str]
    ran_setup: bool


def execute_corpus(tmp_path, enabled: bool) -> Run:
    values = make_values()
    # ipykernel does not capture fd-level output when it sees PYTEST_CURRENT_TEST; a real kernel
    # does, and that path must be covered.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(values, IPYTHONDIR=str(tmp_path / "ipython"))
    notebook = build_notebook(enabled)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=60,
        allow_errors=True,
        coalesce_streams=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    # The kernel's own stdout/stderr receive ipykernel's echo of fd-level output: discard it.
    client.execute(env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = tmp_path / ("corpus-on.ipynb" if enabled else "corpus-off.ipynb")
    try:
        nbformat.write(notebook, path)
        text = path.read_text(encoding="utf-8")
        saved = nbformat.reads(text, as_version=4)
    finally:
        path.unlink(missing_ok=True)  # the positive control's file holds the values: keep none
    setup_ok = not any(o.get("output_type") == "error" for o in saved.cells[0].outputs)
    return Run(saved, text, values, setup_ok)


def case_texts(notebook) -> dict[str, str]:
    """Per case: the strings of its outputs and of the saved state of any widget they show."""
    states = notebook.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    texts = {}
    for cell in notebook.cells:
        case_id = cell.metadata.get("kvnb_case")
        if case_id is None:
            continue
        parts = [cell.outputs]
        for output in cell.outputs:
            view = output.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view:
                parts.append(states.get(view["model_id"], {}))
        texts[case_id] = "\n".join(strings_in(json.loads(json.dumps(parts))))
    return texts


def leaks_in(text: str, values: dict[str, str]) -> set[str]:
    return {f"{name}:{form}" for name, value in values.items() for form in leaked_forms(text, value)}


@pytest.fixture(scope="module")
def redaction_on(tmp_path_factory) -> Run:
    return execute_corpus(tmp_path_factory.mktemp("corpus-on"), enabled=True)


@pytest.fixture(scope="module")
def redaction_off(tmp_path_factory) -> Run:
    return execute_corpus(tmp_path_factory.mktemp("corpus-off"), enabled=False)


CASE_IDS = [case.id for case in CASES]
BY_ID = {case.id: case for case in CASES}
EXEMPT_IDS = {case.id for case in CASES if case.kind == "exempt"}


@pytest.mark.slow
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_with_redaction_on_no_case_leaks_except_the_exempt(redaction_on, case_id):
    assert redaction_on.ran_setup
    case = BY_ID[case_id]
    text = case_texts(redaction_on.notebook)[case_id]
    leaks = leaks_in(text, redaction_on.values)
    if case.kind == "exempt":
        assert leaks, "an exempt case no longer leaks: update docs/redaction.md and the corpus"
    else:
        assert leaks == set()
    if case.kind == "revealed":
        assert "redacted" in text  # the output was scrubbed, not lost
    if case.kind == "masked":
        assert case.shows in text


@pytest.mark.slow
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_positive_control_with_redaction_off_every_revealed_case_leaks(redaction_off, case_id):
    assert redaction_off.ran_setup
    case = BY_ID[case_id]
    text = case_texts(redaction_off.notebook)[case_id]
    leaks = leaks_in(text, redaction_off.values)
    if case.kind == "masked":
        assert leaks == set() and case.shows in text  # the type masks without redaction
    else:
        assert leaks
        assert_value_not_in("redacted", text)  # the text holds the value here: never shown


@pytest.mark.slow
def test_the_saved_file_holds_no_value_outside_the_exempt_cases(redaction_on):
    values = redaction_on.values
    notebook = copy.deepcopy(redaction_on.notebook)
    for cell in notebook.cells:
        if cell.metadata.get("kvnb_case") in EXEMPT_IDS:
            cell.outputs = []
    remaining = nbformat.writes(notebook)
    # As stored (every string JSON-escaped once more) and as read back.
    assert leaks_in(remaining, values) == set()
    assert leaks_in("\n".join(strings_in(json.loads(remaining))), values) == set()

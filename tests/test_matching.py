"""The matching engine: every form real code shows a value in, whole and in runs of K characters."""

from __future__ import annotations

import base64
import html
import json
import secrets
import string
from urllib.parse import quote, quote_plus

import pytest

from kvnb.matching import (
    Match,
    Matcher,
    MinRunError,
    StreamScrubber,
    forms_of,
    redact_min_run,
    secret_parts,
)
from valuecheck import (
    assert_not_leaked,
    assert_same_value,
    assert_value_in,
    assert_value_not_in,
)


def password() -> str:
    """A random password with ' < & -- + / % and a non-ASCII letter."""
    rng = secrets.SystemRandom()
    chars = list("'<&+/%é\"") + [rng.choice(string.ascii_letters + string.digits) for _ in range(16)]
    rng.shuffle(chars)
    return "".join(chars[:10]) + "--" + "".join(chars[10:])


def connection_string(
    pw: str, server: str = "orders-sql-weu", user: str = "orders_app", database: str = "orders"
) -> str:
    """An Azure SQL connection string as the portal shows it (184 characters with a 24-character
    password)."""
    return (
        f"Server=tcp:{server}.database.windows.net,1433;Initial Catalog={database};"
        f"Persist Security Info=False;User ID={user};Password={pw};"
        "MultipleActiveResultSets=False;Encrypt=True;TrustServerCertificate=False;"
        "Connection Timeout=30;"
    )


def pem() -> str:
    body = base64.b64encode(secrets.token_bytes(240)).decode()
    lines = [body[i : i + 64] for i in range(0, 320, 64)]
    return "-----BEGIN PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END PRIVATE KEY-----\n"


class Case:
    """A password and a matcher holding it; ``repr`` shows neither (pytest prints arguments)."""

    def __init__(self) -> None:
        self.pw = password()
        self.matcher = Matcher(min_run=16)
        self.matcher.add(self.pw, "DbPassword")

    def __repr__(self) -> str:
        return "<Case>"


@pytest.fixture
def case() -> Case:
    return Case()


def test_every_listed_form_is_found(case):
    import jinja2.utils
    import requests

    matcher, pw = case.matcher, case.pw
    data = pw.encode()
    shown = {
        "json": json.dumps({"k": pw}),
        "json-unicode": json.dumps({"k": pw}, ensure_ascii=False),
        "json-upper-escapes": json.dumps(pw).replace("\\u00e9", "\\u00E9"),
        "htmlsafe-json": str(jinja2.utils.htmlsafe_json_dumps({"k": pw})),
        "json-in-json": json.dumps(json.dumps({"k": pw})),
        "repr": repr(pw),
        "ascii": ascii(pw),
        "repr-in-dict": repr({"k": pw}),
        "bytes-repr": repr(data),
        "html": html.escape(pw),
        "xml-apos": pw.replace("&", "&amp;").replace("<", "&lt;").replace("'", "&apos;"),
        "html-numeric": html.escape(pw).replace("é", "&#233;"),
        "url": quote(pw, safe=""),
        "url-plus": quote_plus(pw),
        "requests": requests.Request("GET", "https://x.test/a", params={"p": pw}).prepare().url,
        "base64": base64.b64encode(data).decode(),
        "basic-auth": base64.b64encode(b"svc:" + data).decode(),
        "jwt-claim": base64.urlsafe_b64encode(json.dumps({"pw": pw}).encode()).decode().rstrip("="),
        "mime": base64.encodebytes(b"x" * 50 + data + b"y" * 60).decode(),
        "hex": data.hex(),
        "hex-upper": data.hex().upper(),
    }
    for name, text in shown.items():
        clean = matcher.mask(text)
        assert "redacted" in clean, name
        assert_not_leaked(pw, clean)


def test_a_run_of_k_characters_is_masked_and_a_shorter_piece_is_not():
    value = secrets.token_urlsafe(48)
    matcher = Matcher(min_run=16)
    matcher.add(value, "token")
    truncated = f"| {value[5:21]}... |"  # 16 characters, as a DataFrame cell cuts it
    found = matcher.find(truncated)
    assert [(m.start, m.end, m.whole) for m in found] == [(2, 18, False)]
    assert matcher.find(f"| {value[5:20]}... |") == []  # 15: below K


def test_k_is_one_setting_with_a_clear_error(monkeypatch):
    monkeypatch.delenv("KVNB_REDACT_MIN_RUN", raising=False)
    assert redact_min_run() == 16
    monkeypatch.setenv("KVNB_REDACT_MIN_RUN", "24")
    assert redact_min_run() == 24
    assert Matcher().min_run == 24
    for bad in ("sixteen", "3", "1e9", "16.5"):
        monkeypatch.setenv("KVNB_REDACT_MIN_RUN", bad)
        with pytest.raises(MinRunError, match="KVNB_REDACT_MIN_RUN must be a whole number"):
            redact_min_run()


def test_boilerplate_only_runs_do_not_count_and_everything_else_does(case):
    conn = connection_string(case.pw)
    # Another team's string shares keywords, domain and settings; its own names differ. (A run
    # with one character of anything else besides the boilerplate counts: names that share a
    # prefix next to a keyword are masked there.)
    other = connection_string("~Ledger#Reporting*2026~", "billing-db", "reporter", "ledger")
    matcher = Matcher(min_run=16)
    matcher.add(conn, "Orders")
    keywords = ";MultipleActiveResultSets=False;Encrypt=True;TrustServerCertificate=False;"
    assert matcher.find(f"x {keywords} y") == []
    assert matcher.find("host.database.windows.net,1433;Initial Catalog=") == []
    assert_same_value(matcher.mask(other), other)
    found = matcher.find("Server=tcp:orders-sql-weu.database.windows.net")
    assert len(found) == 1 and found[0].start == 0


def test_pem_armour_is_public_but_a_line_of_the_key_is_not():
    key = pem()
    matcher = Matcher(min_run=16)
    matcher.add(key, "TlsKey")
    assert matcher.find("-----BEGIN PRIVATE KEY-----\n") == []
    line = key.splitlines()[2]
    assert_same_value(matcher.mask(f"  '{line}'\n"), "  '[secret TlsKey redacted]'\n")
    shown = matcher.mask(key.rstrip("\n"))  # IPython.display.Code drops the trailing newline
    assert_value_not_in(line[:16], shown)


def test_structured_values_register_their_secret_parts(case):
    pw = case.pw
    conn = connection_string(pw)
    assert_same_value(secret_parts(conn), [pw])
    url = f"https://svc:{quote(pw, safe='')}@db.test/x"
    assert_value_in(pw, secret_parts(url))
    storage = (
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey="
        + base64.b64encode(secrets.token_bytes(64)).decode()
        + ";EndpointSuffix=core.windows.net"
    )
    assert len(secret_parts(storage)) == 1 and len(secret_parts(storage)[0]) == 88
    short = "Zx9!kq2Lp"
    matcher = Matcher(min_run=16)
    matcher.add(connection_string(short), "Orders")
    assert_same_value(matcher.mask(f"password: {short}"), "password: [secret Orders redacted]")


def test_a_character_split_by_a_pipe_read_does_not_protect_the_rest():
    value = "ÅngströmÆøß-" + secrets.token_urlsafe(6) + "çé"
    matcher = Matcher(min_run=16)
    matcher.add(value, "Nordic")
    data = value.encode()
    for cut in range(1, len(data)):
        left = data[:cut].decode("utf-8", "replace")
        right = data[cut:].decode("utf-8", "replace")
        scrubber = StreamScrubber(matcher)
        shown = scrubber.write(left) + scrubber.write(right) + scrubber.write("\n") + scrubber.flush()
        assert "redacted" in shown, f"cut at byte {cut}"
        assert_not_leaked(value, shown)
        for i in range(len(value) - 7):
            assert_value_not_in(value[i : i + 8], shown)


def test_a_stream_written_in_pieces_is_masked_across_writes(case):
    matcher, pw = case.matcher, case.pw
    for size in (1, 3, 7):
        scrubber = StreamScrubber(matcher)
        shown = "".join(scrubber.write(pw[i : i + size]) for i in range(0, len(pw), size))
        shown += scrubber.write("\n") + scrubber.flush()
        assert_same_value(shown, "[secret DbPassword redacted]\n")


def test_a_short_print_passes_at_once_and_a_line_end_releases_the_tail(case):
    scrubber = StreamScrubber(case.matcher)
    assert scrubber.write("epoch 3: loss 0.25\n") == "epoch 3: loss 0.25\n"
    shown = scrubber.write("progress 10%")
    shown += scrubber.write("\n")
    assert shown == "progress 10%\n"
    assert not scrubber.holding


def test_whole_short_values_and_pins(monkeypatch):
    matcher = Matcher(min_run=16)
    pin = f"{secrets.randbelow(10**6):06d}"
    matcher.add(pin, "Pin")
    assert_same_value(matcher.mask(f"PIN: {pin}."), "PIN: [secret Pin redacted].")
    matcher.add("abc", "TooShort")  # below 6 characters: nothing to search
    assert matcher.find("abc abc") == []


def test_markup_inside_a_value_does_not_hide_it(case):
    matcher, pw = case.matcher, case.pw
    escaped = html.escape(repr(pw))
    highlighted = f'<span class="s">{escaped[:9]}</span><span class="se">{escaped[9:]}</span>'
    shown = matcher.mask(highlighted)
    assert "redacted" in shown
    coloured = f"\x1b[31m{pw[:10]}\x1b[0m\x1b[32m{pw[10:]}\x1b[0m"
    assert "redacted" in matcher.mask(coloured)


def test_matches_and_forms_never_show_text(case):
    matcher, pw = case.matcher, case.pw
    found = matcher.find(f"x {pw} y")
    assert found and all(isinstance(m, Match) for m in found)
    for m in found:
        assert_value_not_in(pw[:6], repr(m))
    for form in forms_of(pw):
        assert_value_not_in(pw[:6], repr(form))
    assert_value_not_in(pw[:6], repr(matcher))


def test_discard_forgets_a_label(case):
    matcher, pw = case.matcher, case.pw
    matcher.add(secrets.token_urlsafe(20), "Other")
    matcher.discard("DbPassword")
    assert len(matcher) == 1
    assert matcher.find(pw) == []


def test_may_match_is_a_fast_test_on_bytes(case):
    matcher, pw = case.matcher, case.pw
    assert matcher.may_match(b"prefix " + pw.encode("utf-8") + b" suffix")
    assert not matcher.may_match(b"nothing to see here, nothing at all")


def test_a_value_among_many_in_a_long_text(case):
    pw = case.pw
    matcher = Matcher(min_run=16)
    values = [secrets.token_urlsafe(30) for _ in range(50)] + [pw, pem()]
    for i, value in enumerate(values):
        matcher.add(value, f"v{i}")
    filler = "epoch 12: loss=0.0412, acc=0.9876 <b>ok</b>\n" * 5000
    text = filler + values[17][3:40] + filler + pw + filler + values[-1][40:140] + filler
    shown = matcher.mask(text)
    assert shown.count("redacted") == 3
    assert_value_in(filler, shown)
    for value in values:
        for i in range(len(value) - 15):
            assert_value_not_in(value[i : i + 16], shown)

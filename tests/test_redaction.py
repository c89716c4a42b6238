"""Redaction: the registry's needles and scrubbing, and its hooks in a real IPython shell."""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
import logging
import re
import secrets
import string
import sys
import time
import warnings
from urllib.parse import quote, quote_plus

import pytest

from ipshell import ipython_shell
from kvnb import redaction
from kvnb.redaction import MIN_LENGTH, Registry, ScrubbingStream, needles
from valuecheck import (
    assert_different_value,
    assert_not_leaked,
    assert_same_value,
    assert_value_in,
)


def special_value() -> str:
    """A random value with quotes, backslash, &<>, %+=/ and a non-ASCII letter in it."""
    rng = secrets.SystemRandom()
    chars = list("\"'\\&<>%+=/ é") + [rng.choice(string.ascii_letters) for _ in range(20)]
    rng.shuffle(chars)
    return "".join(chars)


@pytest.fixture
def value() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture
def registry(value) -> Registry:
    registry = Registry()
    registry.add(value, label="APICaller")
    return registry


# -- needles ------------------------------------------------------------------------------------


def test_needles_cover_every_listed_form():
    value = special_value()
    data = value.encode()
    found = needles(value)
    expected = {
        "raw": value,
        "json": json.dumps(value)[1:-1],
        "repr": repr(value)[1:-1],
        "html": html.escape(value),
        "url": quote(value, safe=""),
        "base64": base64.b64encode(data).decode(),
        "base64url": base64.urlsafe_b64encode(data).decode().rstrip("="),
        "hex": data.hex().upper(),
    }
    for form, text in expected.items():
        # Without "+" or "/" in it a base64url text is the standard one, named "base64".
        # The lookups stay outside the asserts: a failing one would show found.get's argument.
        got = found.get(text)
        assert got == form or (form == "base64url" and got == "base64"), form
    got = found.get(quote_plus(value))
    assert got == "url"
    got = found.get(json.dumps(value, ensure_ascii=False)[1:-1])
    assert got == "json"
    assert all(len(needle) >= MIN_LENGTH for needle in found)


@pytest.mark.parametrize("prefix", [b"", b"u", b"us", b"svc:", b"user:", b"admin:"])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_base64_is_caught_at_every_alignment_inside_a_larger_blob(registry, value, prefix, encode):
    blob = encode(prefix + value.encode() + b";tail").decode()
    scrubbed = registry.scrub("Authorization: Basic " + blob)
    assert_value_in("redacted", scrubbed)
    # What remains cannot be decoded back to the value at any alignment.
    remainder = scrubbed.split("redacted")
    for part in remainder:
        for shift in range(4):
            chunk = "".join(c for c in part if c.isalnum() or c in "+/-_")[shift:]
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            decoded = base64.b64decode(chunk.translate(str.maketrans("-_", "+/")) or b"")
            assert_not_leaked(value, decoded)


def test_values_shorter_than_the_minimum_are_not_registered():
    registry = Registry()
    assert registry.add("abc12", label="Pin") is False
    assert registry.scrub("pin abc12") == "pin abc12" and len(registry) == 0
    with pytest.raises(TypeError):
        registry.add(b"bytes-value", label="X")


# -- scrubbing ----------------------------------------------------------------------------------


def test_scrub_names_the_secret_and_the_form(registry, value):
    assert_same_value(registry.scrub(f"token={value};"), "token=[secret APICaller redacted];")
    assert_same_value(registry.scrub(value.encode().hex()), "[secret APICaller redacted, hex]")


def test_the_longest_form_wins_so_padding_is_not_left_behind():
    value = secrets.token_urlsafe(23)  # 31 characters: the standalone base64 ends in "=="
    registry = Registry()
    registry.add(value, label="APICaller")
    encoded = base64.b64encode(value.encode()).decode()
    assert_same_value(encoded[-1:], "=")  # it ends with "=" (the encoded value stays out of the report)
    assert_same_value(registry.scrub(f"[{encoded}]"), "[[secret APICaller redacted, base64]]")


def test_every_encoding_of_a_special_value_is_scrubbed():
    value = special_value()
    registry = Registry()
    registry.add(value, label="DbPassword")
    outputs = [
        value,
        json.dumps({"pw": value}),
        repr({"pw": value}),
        html.escape(value),
        quote(value, safe=""),
        quote_plus(value),
        value.encode().hex(),
        str(value.encode()),
        ascii(value),
        base64.b64encode(value.encode()).decode(),
        base64.urlsafe_b64encode(b"x" + value.encode()).decode(),
    ]
    for text in outputs:
        assert_value_in("redacted", registry.scrub(text))
        assert_not_leaked(value, registry.scrub(text))


def test_a_value_broken_up_by_colour_codes_or_html_tags_is_still_found(registry, value):
    coloured = f"x = '{value[:9]}\x1b[31m{value[9:20]}\x1b[39m{value[20:]}'"
    assert_not_leaked(value, re.sub(r"\x1b\[[0-9;]*m", "", registry.scrub(coloured)))
    highlighted = f'<span class="s">{value[:9]}</span><span class="se">{value[9:]}</span>'
    assert_value_in("redacted", registry.scrub(highlighted))
    assert registry.scrub("<b>plain markup</b>") == "<b>plain markup</b>"
    ready, held = registry.scrub_partial(coloured + "\n")
    assert_same_value(held, "")
    assert_value_in("redacted", ready)


def test_disabled_registry_scrubs_nothing_and_remembers(registry, value):
    registry.enabled = False
    assert_same_value(registry.scrub(value), value)
    assert not registry.active
    registry.enabled = True
    assert_different_value(registry.scrub(value), value)
    assert registry.active


def test_scrub_bytes_and_json_like_data(registry, value):
    assert_same_value(registry.scrub_bytes(b"<" + value.encode() + b">"), b"<[secret APICaller redacted]>")
    data = {"text/plain": value, "nested": [1, (value, None)], value: {"k": "ok"}}
    clean = registry.scrub_data(data)
    assert_not_leaked(value, json.dumps(clean))
    assert clean["nested"][0] == 1
    untouched = {"a": ["b", 1]}
    assert registry.scrub_data(untouched) is untouched


def test_registry_repr_shows_no_value(registry, value):
    assert_not_leaked(value, repr(registry))
    assert "1 values" in repr(registry)


def test_scrubbing_a_megabyte_is_fast():
    registry = Registry()
    for i in range(20):
        registry.add(secrets.token_urlsafe(24), label=f"Secret{i}")
    text = secrets.token_hex(250_000) + base64.b64encode(secrets.token_bytes(375_000)).decode()
    registry.scrub("warm up")  # builds the pattern
    started = time.perf_counter()
    assert registry.scrub(text) == text
    assert time.perf_counter() - started < 2.0  # about 0.1 s on a laptop; generous for CI


# -- text split over several writes -------------------------------------------------------------


def test_a_value_written_character_by_character_is_scrubbed(registry, value):
    out = io.StringIO()
    stream = ScrubbingStream(out, registry)
    for char in "id: " + value + " ok":
        stream.write(char)
        stream.flush()  # flush does not release a possible start of the value
    stream.release()
    assert_same_value(out.getvalue(), "id: [secret APICaller redacted] ok")


def test_a_value_split_across_writes_at_every_point_is_scrubbed(registry, value):
    for cut in range(1, len(value)):
        out = io.StringIO()
        stream = ScrubbingStream(out, registry)
        stream.write("x" + value[:cut])
        stream.write(value[cut:] + "\n")
        assert_same_value(out.getvalue(), "x[secret APICaller redacted]\n")


def test_a_registered_fragment_does_not_cut_a_longer_value_short(registry, value):
    registry.add(value[:10], label="APICaller[:10]")
    out = io.StringIO()
    stream = ScrubbingStream(out, registry)
    for char in value:
        stream.write(char)
    stream.release()
    assert_same_value(out.getvalue(), "[secret APICaller redacted]")


def test_ordinary_output_is_not_held_back(registry):
    out = io.StringIO()
    stream = ScrubbingStream(out, registry)
    stream.write("progress: 10%\n")
    assert out.getvalue() == "progress: 10%\n"
    _ready, held = registry.scrub_partial("no value here\n")
    assert held == ""


def test_stream_passes_other_attributes_through(registry):
    out = io.StringIO()
    stream = ScrubbingStream(out, registry)
    assert stream.writable() and stream.inner is out
    assert stream.write("abc\n") == 4


# -- hooks in a real IPython shell --------------------------------------------------------------


@pytest.fixture
def shell():
    """The process's IPython shell, without kvnb loaded (redaction is installed by each test)."""
    return ipython_shell()


@pytest.fixture
def published(shell, monkeypatch) -> list[dict]:
    """Display data as it reaches the shell's display publisher (after our wrapper)."""
    seen: list[dict] = []
    original = shell.display_pub.publish

    def spy(data, metadata=None, *args, **kwargs):
        seen.append(data)
        return original(data, metadata, *args, **kwargs)

    monkeypatch.setattr(shell.display_pub, "publish", spy)  # ours wraps it, and puts it back
    return seen


@contextlib.contextmanager
def installed(shell, registry):
    """Redaction on ``shell`` for the block.

    Installed inside the test, not in a fixture: pytest puts its own ``sys.stdout`` back between
    the setup and call phases, which would unwrap ours.
    """
    redaction.install(shell, registry=registry)
    try:
        yield shell
    finally:
        redaction.uninstall(shell)


def run_as_typed(shell, code: str) -> None:
    """Run a cell as if typed in: kept in the history, its error shown (through the hooks), not raised."""
    shell.run_cell(code, store_history=True)


def test_print_and_execute_result_are_scrubbed(shell, registry, value, capsys):
    with installed(shell, registry) as hooked:
        hooked.user_ns["plain"] = value
        run_as_typed(hooked, "print(plain)")
        run_as_typed(hooked, "plain")
        run_as_typed(hooked, "_")
        run_as_typed(hooked, "Out")
        out = capsys.readouterr().out
        assert_not_leaked(value, out)
        assert out.count("[secret APICaller redacted]") >= 4


def test_every_mimetype_of_display_data_is_scrubbed(shell, registry, value, published):
    with installed(shell, registry) as hooked:
        hooked.user_ns["plain"] = value
        run_as_typed(
            hooked,
            "from IPython.display import display, HTML, JSON, Markdown\n"
            "display(HTML(f'<b>{plain}</b>'), Markdown(plain), JSON({'k': plain}))\n"
            "display({'text/plain': plain, 'application/x-custom': {'deep': [plain]}},"
            " raw=True)",
        )
        assert_not_leaked(value, json.dumps(published))  # first: a failing len() would show what was published
        assert len(published) == 4
        assert "redacted" in published[2]["application/json"]["k"]


def test_tracebacks_and_verbose_tracebacks_are_scrubbed(shell, registry, value, capsys):
    with installed(shell, registry) as hooked:
        hooked.user_ns["plain"] = value
        run_as_typed(hooked, "raise ValueError(plain)")
        run_as_typed(hooked, "%xmode Verbose")
        run_as_typed(hooked, "def call(token):\n    local = token * 2\n    1 / 0\ncall(plain)")
        run_as_typed(hooked, "%xmode Context")
        run_as_typed(hooked, "exec(f'x = = {plain!r}')")
        out = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)  # no colours
        assert_not_leaked(value, out)
        assert "ValueError: [secret APICaller redacted]" in out
        assert "call(token='[secret APICaller redacted]')" in out  # verbose: the argument
        assert "ZeroDivisionError" in out and "SyntaxError" in out


def test_whos_and_the_output_cache_are_scrubbed(shell, registry, value, capsys):
    with installed(shell, registry) as hooked:
        hooked.user_ns["plain"] = value
        run_as_typed(hooked, "%whos")
        out = capsys.readouterr().out
        assert_not_leaked(value, out)
        assert "plain" in out and "redacted" in out
        assert_value_in(value, hooked.user_ns["plain"])  # the variable itself is untouched


def test_held_output_is_released_at_the_end_of_the_cell(shell, registry, value, capsys):
    with installed(shell, registry) as hooked:
        hooked.user_ns["start"] = value[:5]
        run_as_typed(hooked, "print(start, end='')")
        out = capsys.readouterr().out
        assert_same_value(out[-len(value[:5]) :], value[:5])  # it ends with them


def test_logging_records_are_scrubbed_with_exc_info(shell, registry, value):
    with installed(shell, registry):
        early = io.StringIO()
        logger = logging.getLogger("kvnb.test.redaction")
        logger.propagate = False
        handler = logging.StreamHandler(early)  # holds the raw stream, not our wrapper
        logger.addHandler(handler)
        try:
            logger.warning("token %s", value)
            try:
                raise RuntimeError(f"auth failed for {value}")
            except RuntimeError:
                logger.exception("request failed")
            logger.error("stack", stack_info=True, extra={"token": value})
        finally:
            logger.removeHandler(handler)
        text = early.getvalue()
        assert_not_leaked(value, text)
        assert text.count("redacted") >= 2
        assert "RuntimeError: auth failed for [secret APICaller redacted]" in text


def test_a_record_made_without_the_factory_is_scrubbed_by_the_handler_filter(registry, value):
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    root = logging.getLogger()
    root.addHandler(handler)  # present at install, so it gets the filter
    redaction.install(None, registry=registry)
    try:
        record = logging.LogRecord("direct", logging.ERROR, __file__, 1, "token %s", (value,), None)
        handler.handle(record)
    finally:
        redaction.uninstall(None)
        root.removeHandler(handler)
    assert_not_leaked(value, out.getvalue())
    assert "redacted" in out.getvalue()
    assert not handler.filters  # removed again


def test_warnings_are_scrubbed(shell, registry, value, recwarn):
    # recwarn's recorder is the showwarning in place at install: ours wraps it.
    with installed(shell, registry):
        warnings.warn(f"token {value}", UserWarning, stacklevel=1)
        formatted = warnings.formatwarning(f"token {value}", UserWarning, "cell.py", 3)
    assert_same_value([str(w.message) for w in recwarn], ["token [secret APICaller redacted]"])
    assert_not_leaked(value, formatted)
    assert "UserWarning: token [secret APICaller redacted]" in formatted


# -- install and uninstall ----------------------------------------------------------------------


def test_uninstall_restores_everything(shell, registry, capsys):
    patched = [(shell.display_pub, "publish"), (shell.displayhook, "compute_format_data"), (shell, "_showtraceback")]
    before = {
        "stdout": sys.stdout,
        "stderr": sys.stderr,
        "factory": logging.getLogRecordFactory(),
        "showwarning": warnings.showwarning,
        "formatwarning": warnings.formatwarning,
        "callbacks": list(shell.events.callbacks["post_execute"]),
        "own attributes": [vars(owner).get(name) for owner, name in patched],
    }
    redaction.install(shell, registry=registry)
    assert redaction.installed(shell)
    assert isinstance(sys.stdout, ScrubbingStream) and "publish" in vars(shell.display_pub)
    redaction.uninstall(shell)
    assert not redaction.installed(shell)
    assert sys.stdout is before["stdout"] and sys.stderr is before["stderr"]
    assert logging.getLogRecordFactory() is before["factory"]
    assert warnings.showwarning is before["showwarning"]
    assert warnings.formatwarning is before["formatwarning"]
    assert shell.events.callbacks["post_execute"] == before["callbacks"]
    assert [vars(owner).get(name) for owner, name in patched] == before["own attributes"]


def test_installing_twice_is_a_no_op_and_a_second_registry_is_refused(shell, registry):
    redaction.install(shell, registry=registry)
    try:
        stdout = sys.stdout
        redaction.install(shell, registry=registry)
        assert sys.stdout is stdout and not isinstance(stdout.inner, ScrubbingStream)
        with pytest.raises(RuntimeError, match="another registry"):
            redaction.install(None, registry=Registry())
    finally:
        redaction.uninstall(shell)
    assert not isinstance(sys.stdout, ScrubbingStream)


def test_uninstall_under_a_later_wrapper_leaves_it_working(registry, value, capsys):
    class Later:
        def __init__(self, inner):
            self.inner = inner

        def write(self, text):
            return self.inner.write(text)

        def flush(self):
            self.inner.flush()

    original = sys.stdout
    redaction.install(None, registry=registry)
    ours = sys.stdout
    sys.stdout = Later(ours)
    try:
        redaction.uninstall(None)
        assert sys.stdout.inner is ours and ours.active is False
        # Active, ours would hold back the start of the value; inactive, it passes through.
        sys.stdout.write(value[:5])
        assert_same_value(capsys.readouterr().out, value[:5])
    finally:
        sys.stdout = original

"""The known-value scanner on a generated tree with copies planted in every form and place.

Values are made at random per test run; assertions name plants by place, never by value.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from kvnb.fingerprint import fingerprint
from kvnb.matching import forms_of
from kvnb.scan import (
    export_fingerprints,
    load_fingerprints,
    scan_paths,
    write_fingerprints,
)
from kvnb.scan.findings import MASK
from kvnb.scan.fingerprints import FingerprintMatcher
from valuecheck import assert_no_trace, assert_not_leaked

VAULT_URL = "https://azdevopskv01.vault.azure.net"
SMALL_LIMIT = 64 * 1024


def awkward_value() -> str:
    """A value whose raw, JSON and URL forms all differ: quote, backslash, slash, space, non-ASCII."""
    token = secrets.token_urlsafe
    return f'{token(12)}"{token(6)}/\\{token(6)} +&é{token(6)}'


def changed(value: str, index: int) -> str:
    """The value with one character changed (the lowest bit flipped: the hardest decoy)."""
    index %= len(value)
    char = value[index]
    replacement = chr(ord(char) ^ 1)
    if replacement in '"\\\n' or not replacement.isprintable():
        replacement = "A" if char != "A" else "B"
    return value[:index] + replacement + value[index + 1 :]


def decoys_of(value: str) -> list[str]:
    return [changed(value, len(value) // 2), changed(value, -1), changed(value, 0), value[:-1], value[1:]]


def b64(data: bytes, urlsafe: bool = False, padded: bool = True) -> str:
    text = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode("ascii")
    return text if padded else text.rstrip("=")


def json_form(value: str, ascii_only: bool = True) -> str:
    return json.dumps(value, ensure_ascii=ascii_only)[1:-1]


@dataclass
class PlantedTree:
    root: Path
    value: str = field(repr=False)  # version "v1"; never shown, not even in a failing test's report
    other: str = field(repr=False)  # version "v2"
    expected: set[tuple] = field(default_factory=set)  # (path, label, form, cell, part, line, column)

    def needles(self) -> dict[str, str]:
        return {"api/v1": self.value, "api/v2": self.other}

    def write_text(self, relative: str, lines: list[tuple[str, list[tuple[str, str, str]]]]) -> None:
        """Write ``lines``; each comes with plants (label, form, planted text) expected at their column."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(text for text, _ in lines) + "\n", encoding="utf-8")
        for number, (text, plants) in enumerate(lines, start=1):
            for label, form, planted in plants:
                column = text.index(planted) + 1
                self.expected.add((str(path), label, form, None, None, number, column))

    def expect(self, relative: str, label: str, form: str, cell, part, line: int, column: int) -> None:
        self.expected.add((str(self.root / relative), label, form, cell, part, line, column))


def base64_column(text_before: str, prefix: bytes) -> int:
    """Column of the first base64 character that carries a value after ``prefix`` alone (the
    characters before it mix in the prefix's bits)."""
    return len(text_before) + -(-8 * len(prefix) // 6) + 1


@pytest.fixture
def planted(tmp_path) -> PlantedTree:
    tree = PlantedTree(tmp_path / "repo", awkward_value(), secrets.token_urlsafe(32))
    value, other = tree.value, tree.other
    (tree.root).mkdir()
    (tree.root / ".git").mkdir()  # the walk honours the enclosing repository's .git/info/exclude
    (tree.root / ".gitignore").write_text("ignored.env\nbuild/\n*.log\n!keep.log\n")

    header = b64(b"user:" + value.encode())
    data_uri = b64(b"a" + value.encode(), urlsafe=True, padded=False)
    tree.write_text(
        "app/settings.py",
        [
            ("import os", []),
            (f'API_KEY = "{value}"', [("api/v1", "raw", value)]),
            (
                f'CALLBACK = "https://example.org/cb?token={quote_plus(value)}&x=1"',
                [("api/v1", "url", quote_plus(value))],
            ),
            (f'OLD_KEY = "{other}"  # the previous version', [("api/v2", "raw", other)]),
            (f"TWICE = ['{other}', '{other}']", [("api/v2", "raw", other)]),
        ],
    )
    # The second copy on the TWICE line sits at a later column.
    twice = f"TWICE = ['{other}', '{other}']"
    tree.expect("app/settings.py", "api/v2", "raw", None, None, 5, twice.rindex(other) + 1)
    tree.write_text(
        "config/app.yaml",
        [
            ("service:", []),
            (f'  password: "{json_form(value, ascii_only=False)}"', [("api/v1", "json", json_form(value, False))]),
            (f"  url: https://example.org/?k={quote(value, safe='')}", [("api/v1", "url", quote(value, safe=""))]),
        ],
    )
    (tree.root / "config/settings.json").write_text(
        "{\n" + f'  "secret": "{json_form(value)}",\n  "hex": "{value.encode().hex()}"\n' + "}\n", encoding="utf-8"
    )
    tree.expect("config/settings.json", "api/v1", "json", None, None, 2, 14)
    tree.expect("config/settings.json", "api/v1", "hex", None, None, 3, 11)
    tree.write_text(
        "docs/README.md",
        [
            ("# Service", []),
            (f"    Authorization: Basic {header}", []),
            (f"![x](data:text/plain;base64,{data_uri})", []),
            (f"standalone: {b64(value.encode())}", []),
            (f"url-safe: {b64(other.encode(), urlsafe=True, padded=False)}", []),
            (f"HEX DUMP {value.encode().hex().upper()} END", [("api/v1", "hex", value.encode().hex().upper())]),
        ],
    )
    readme = "docs/README.md"
    tree.expect(readme, "api/v1", "base64", None, None, 2, base64_column("    Authorization: Basic ", b"user:"))
    tree.expect(readme, "api/v1", "base64", None, None, 3, base64_column("![x](data:text/plain;base64,", b"a"))
    tree.expect(readme, "api/v1", "base64", None, None, 4, len("standalone: ") + 1)
    tree.expect(readme, "api/v2", "base64", None, None, 5, len("url-safe: ") + 1)

    # Decoys: one character changed (first, middle, last), a prefix, a suffix, and the encoded
    # forms of a changed value. None may be reported.
    decoy_lines = []
    for decoy in decoys_of(value) + decoys_of(other):
        decoy_lines += [
            f"x = '{decoy}'",
            f'j = "{json_form(decoy)}"',
            f"u = {quote_plus(decoy)}",
            f"h = {decoy.encode().hex()}",
        ]
        # Prefix bytes no value contains, so a suffix decoy never rebuilds the whole value.
        for prefix in (b"", b"\x01", b"\x01\x02"):
            decoy_lines.append(f"b = Basic {b64(prefix + decoy.encode())}")
            decoy_lines.append(f"b = {b64(prefix + decoy.encode(), urlsafe=True, padded=False)}")
    (tree.root / "docs/decoys.txt").write_text("\n".join(decoy_lines) + "\n", encoding="utf-8")

    attachment = b"\x89PNG\r\n\x1a\n" + os.urandom(40) + value.encode() + os.urandom(40)
    decoy = changed(value, len(value) // 2)
    notebook = {
        "cells": [
            {
                "cell_type": "markdown",
                "id": "intro",
                "metadata": {},
                "source": ["# Analysis\n", "![chart](attachment:chart.png)"],
                "attachments": {"chart.png": {"image/png": b64(attachment)}},
            },
            {
                "cell_type": "code",
                "id": "fetch",
                "execution_count": 1,
                "metadata": {},
                "source": ["import os\n", f'key = "{value}"\n', "print(connect(key))"],
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": ["connecting\n", f"token={value}\n"]},
                    {
                        "output_type": "execute_result",
                        "execution_count": 1,
                        "metadata": {},
                        "data": {"text/plain": [f"'{other}'"]},
                    },
                ],
            },
            {
                "cell_type": "code",
                "id": "tagged",
                "execution_count": 2,
                "metadata": {"note": value},
                "source": ["x = 1"],
                "outputs": [],
            },
            {
                "cell_type": "code",
                "id": "config",
                "execution_count": 3,
                "metadata": {},
                "source": [f'cfg = \'{{"k": "{json_form(value, False)}"}}\''],
                "outputs": [],
            },
            {
                "cell_type": "code",
                "id": "decoy",
                "execution_count": 4,
                "metadata": {},
                "source": [f'almost = "{decoy}"\n', f'prefix = "{value[:-1]}"'],
                "outputs": [],
            },
        ],
        "metadata": {"kernelspec": {"name": "python3"}, "kvnb": {"note": value}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tree.root / "notebooks/analysis.ipynb"
    path.parent.mkdir()
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False), encoding="utf-8")
    nb = "notebooks/analysis.ipynb"
    tree.expect(nb, "api/v1", "base64", 1, "attachments", 1, base64_column("", attachment[:48]))
    tree.expect(nb, "api/v1", "raw", 2, "source", 2, 8)
    tree.expect(nb, "api/v1", "raw", 2, "output", 2, 7)
    tree.expect(nb, "api/v2", "raw", 2, "output", 1, 2)
    tree.expect(nb, "api/v1", "raw", 3, "metadata", 1, 1)
    tree.expect(nb, "api/v1", "json", 4, "source", 1, 15)
    tree.expect(nb, "api/v1", "raw", None, "metadata", 1, 1)

    # Files the scan must not report: binary, ignored (by pattern, directory, nested file, exclude).
    (tree.root / "assets").mkdir()
    (tree.root / "assets/blob.bin").write_bytes(b"\x00\x01\x02" + value.encode() + b"\x00")
    (tree.root / "ignored.env").write_text(f"KEY={value}\n")
    (tree.root / "build").mkdir()
    (tree.root / "build/out.txt").write_text(f"KEY={value}\n")
    (tree.root / "app/debug.log").write_text(f"KEY={value}\n")
    (tree.root / "app/.gitignore").write_text("local_*.py\n")
    (tree.root / "app/local_dev.py").write_text(f"KEY = '{value}'\n")
    (tree.root / ".git/info").mkdir()
    (tree.root / ".git/info/exclude").write_text("scratch/\n")
    (tree.root / "scratch").mkdir()
    (tree.root / "scratch/notes.md").write_text(f"{value}\n")
    (tree.root / "big.txt").write_text("x" * SMALL_LIMIT + f"\n{value}\n")
    # ...and one the negation pattern brings back.
    tree.write_text("app/keep.log", [(f"KEY={value}", [("api/v1", "raw", value)])])
    return tree


def found_set(result) -> set[tuple]:
    """The whole copies found, by place. Base64 and base64url are one form here: a value whose
    encoding holds neither ``+/`` nor ``-_`` is the same text in both alphabets."""
    return {
        (f.path, f.label, f.form.replace("base64url", "base64"), f.cell, f.part, f.line, f.column)
        for f in result.findings
        if f.whole
    }


def test_every_planted_copy_is_found_at_its_place_and_decoys_only_as_partial_copies(planted):
    result = scan_paths([planted.root], planted.needles(), max_file_size=SMALL_LIMIT)
    found = found_set(result)
    assert found - planted.expected == set(), "reported something that was not planted"
    assert planted.expected - found == set(), "missed a planted copy"
    assert {f.form for f in result.findings if f.whole} - {"base64url"} == {"raw", "json", "url", "base64", "hex"}
    # A decoy shares long runs with the value (all but one character): a partial copy, with its length.
    decoys = [f for f in result.findings if Path(f.path).name == "decoys.txt"]
    assert decoys and not any(f.whole for f in decoys)
    assert all(f.run >= 16 and f.copy == f"partial, {f.run} chars" for f in decoys)
    in_cell = {(f.cell, f.line, f.whole) for f in result.findings if f.cell == 5}
    assert in_cell == {(5, 1, False), (5, 2, False)}


def test_skipped_files_are_counted_in_the_summary(planted):
    result = scan_paths([planted.root], planted.needles(), max_file_size=SMALL_LIMIT)
    assert result.files_binary == 1
    assert result.files_too_large == 1
    assert result.files_ignored == 3  # ignored.env, app/debug.log, app/local_dev.py
    assert result.dirs_ignored == 2  # build/, scratch/
    assert result.files_scanned == 9  # the two .gitignore files are read too
    assert result.skipped_examples["binary"] == [str(planted.root / "assets/blob.bin")]
    assert result.summary()["files_with_findings"] == 7  # decoys.txt: partial copies


def test_without_gitignore_the_ignored_files_are_reported(planted):
    result = scan_paths([planted.root], planted.needles(), respect_gitignore=False, max_file_size=SMALL_LIMIT)
    paths = {Path(f.path).relative_to(planted.root).as_posix() for f in result.findings}
    assert {"ignored.env", "build/out.txt", "app/debug.log", "app/local_dev.py", "scratch/notes.md"} <= paths
    assert result.files_ignored == 0


def test_a_file_named_explicitly_is_scanned_even_if_ignored(planted):
    result = scan_paths([planted.root / "ignored.env"], planted.needles())
    assert [(f.form, f.line, f.column) for f in result.findings] == [("raw", 1, 5)]


def test_findings_show_masked_excerpts_only(planted):
    result = scan_paths([planted.root], planted.needles(), max_file_size=SMALL_LIMIT)
    assert_no_trace(json.dumps(result.as_dict(), ensure_ascii=False), planted.value, planted.other)
    assert_no_trace(repr(result), planted.value, planted.other)
    by_place = {(Path(f.path).name, f.line, f.column): f.excerpt for f in result.findings}
    assert by_place[("settings.py", 2, 12)] == f'API_KEY = "{MASK}"'
    # Both copies on one line are masked in each finding's excerpt.
    twice = [excerpt for (name, line, _), excerpt in by_place.items() if name == "settings.py" and line == 5]
    assert twice and all(excerpt.count(MASK) == 2 for excerpt in twice)


def test_forms_never_show_their_text():
    value = secrets.token_urlsafe(24)
    for form in forms_of(value):
        assert_not_leaked(form.text, repr(form))  # a form of the value
        assert_not_leaked(value, repr(form))


def test_too_short_values_are_refused_without_echoing_them(tmp_path):
    value = secrets.token_urlsafe(4)[:5]
    with pytest.raises(ValueError) as raised:
        scan_paths([tmp_path], {"pin/v1": value})
    assert_not_leaked(value, str(raised.value))
    assert "pin/v1" in str(raised.value)


@pytest.mark.parametrize("offset", [0, 1, 2])
@pytest.mark.parametrize("urlsafe", [False, True])
def test_base64_decoy_differing_in_the_last_bits_is_only_a_partial_copy(tmp_path, offset, urlsafe):
    """The alignment forms leave a value's edge bits uncovered; decoding settles whole or partial."""
    value = secrets.token_urlsafe(31) + "~?>"  # characters that produce + and / in base64
    decoy = value[:-1] + chr(ord(value[-1]) ^ 1)
    prefix = secrets.token_bytes(offset)
    (tmp_path / "real.txt").write_text(f"x {b64(prefix + value.encode(), urlsafe)} y\n")
    (tmp_path / "decoy.txt").write_text(f"x {b64(prefix + decoy.encode(), urlsafe)} y\n")
    result = scan_paths([tmp_path], {"v": value})
    kind = "base64url" if urlsafe else "base64"
    whole = [(Path(f.path).name, f.column) for f in result.findings if f.whole]
    assert whole == [("real.txt", 3 + -(-8 * offset // 6))] and {f.form for f in result.findings} <= {
        kind,
        "base64",
        "base64url",
    }
    assert [f.whole for f in result.findings if Path(f.path).name == "decoy.txt"] == [False]


def test_base64_decoys_exercise_the_decoding_check():
    value = secrets.token_urlsafe(31) + "~?>"
    decoy = value[:-1] + chr(ord(value[-1]) ^ 1)
    cores = [f.text for f in forms_of(value) if f.kind == "base64"]
    # An alignment form does occur whole in the decoy's encoding for two of the three alignments, so
    # the test above calls those decoys partial by decoding, not because no form matched whole.
    hits = sum(any(core in b64(b"\0" * k + decoy.encode()) for core in cores) for k in range(3))
    assert hits >= 2


def test_multi_line_value_is_found_in_notebook_source_and_crlf_text(tmp_path):
    body = secrets.token_urlsafe(48) + "\n" + secrets.token_urlsafe(48)
    value = "-----BEGIN KEY-----\n" + body + "\n-----END KEY-----"
    lines = ("key = '''" + value + "'''\n").splitlines(keepends=True)
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "outputs": [],
                "execution_count": None,
                "source": ["import ssl\n"] + lines,
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "pem.ipynb").write_text(json.dumps(notebook, indent=1))
    (tmp_path / "pem.txt").write_bytes(("key:\r\n" + value.replace("\n", "\r\n") + "\r\n").encode())
    result = scan_paths([tmp_path], {"pem": value})
    assert sorted((Path(f.path).name, f.cell, f.part, f.line, f.column) for f in result.findings) == [
        ("pem.ipynb", 1, "source", 2, 10),
        ("pem.txt", None, None, 2, 1),
    ]
    assert_no_trace(json.dumps(result.as_dict()), value.splitlines()[1])


def test_broken_notebook_is_scanned_as_text(tmp_path):
    value = secrets.token_urlsafe(24)
    second_line = '{"source": ["k = \\"' + value + '\\"'
    (tmp_path / "half.ipynb").write_text('{"cells": [\n' + second_line)
    result = scan_paths([tmp_path], {"v": value})
    assert [(f.cell, f.part, f.line, f.column) for f in result.findings] == [
        (None, None, 2, second_line.index(value) + 1)
    ]


def test_progress_reports_each_file(tmp_path):
    for index in range(5):
        (tmp_path / f"f{index}.txt").write_text("nothing here\n")
    calls = []
    scan_paths([tmp_path], {"v": secrets.token_urlsafe(16)}, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(done, 5) for done in range(1, 6)]


def test_missing_path_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        scan_paths([tmp_path / "nope"], {"v": secrets.token_urlsafe(16)})


def test_gitignore_above_the_scan_root_applies_inside_a_repository(tmp_path):
    value = secrets.token_urlsafe(24)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("sub/secret.txt\n*.tmp\n")
    (tmp_path / "sub").mkdir()
    for name in ("secret.txt", "x.tmp", "plain.txt"):
        (tmp_path / "sub" / name).write_text(value)
    result = scan_paths([tmp_path / "sub"], {"v": value})
    assert [Path(f.path).name for f in result.findings] == ["plain.txt"]
    assert result.files_ignored == 2


# --- fingerprint mode -------------------------------------------------------------------------


def test_fingerprint_export_holds_no_value(tmp_path):
    value = f'{secrets.token_urlsafe(20)}"é/{secrets.token_urlsafe(4)}'
    path = tmp_path / "fp.json"
    write_fingerprints(path, {"api/v1": value}, VAULT_URL)
    text = path.read_text()
    assert_no_trace(text, value)
    document = json.loads(text)
    [entry] = document["entries"]
    length = len(value)  # outside the assert, whose report would show len()'s argument
    assert entry["length"] == length and entry["vault_url"] == VAULT_URL
    assert {form["form"] for form in entry["forms"]} == {"raw", "json"}
    assert not any(form["whitespace"] for form in entry["forms"])
    expected = fingerprint(value, VAULT_URL)  # outside: unless both sides are str, the report shows the call
    assert entry["forms"][0]["fingerprint"] == expected


def test_fingerprint_matcher_agrees_with_kvnb_fingerprint():
    value = secrets.token_urlsafe(20) + "é"
    entries = load_fingerprints_from(export_fingerprints({"v": value}, VAULT_URL))
    hits = FingerprintMatcher(entries).hits(f"a = '{value}'\nb = '{value[:-1]}x'\n")
    assert [(hit.start, hit.label, hit.form) for hit in hits] == [(5, "v", "raw")]


def load_fingerprints_from(document: dict):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fp.json"
        path.write_text(json.dumps(document))
        return load_fingerprints(path)


def test_fingerprint_mode_finds_raw_and_json_plants_without_the_value(planted, tmp_path):
    export = tmp_path / "fingerprints.json"
    write_fingerprints(export, {"api/v1": planted.value, "api/v2": planted.other}, VAULT_URL)
    entries = load_fingerprints(export)
    result = scan_paths([planted.root], entries, max_file_size=SMALL_LIMIT)
    expected = {item for item in planted.expected if item[2] in ("raw", "json")}
    found = found_set(result)
    assert found == expected
    assert_no_trace(json.dumps(result.as_dict(), ensure_ascii=False), planted.value, planted.other)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"format": "something-else"}),
        json.dumps({"format": "kvnb-fingerprints", "format_version": 1, "entries": [{"label": "x"}]}),
        json.dumps({"format": "kvnb-fingerprints", "format_version": 1, "entries": []}),
        json.dumps({"format": "kvnb-fingerprints", "format_version": 9, "entries": []}),
    ],
)
def test_bad_fingerprint_files_are_refused(tmp_path, content):
    path = tmp_path / "fp.json"
    path.write_text(content)
    with pytest.raises(ValueError):
        load_fingerprints(path)


def test_public_api_is_pinned_and_sorted():
    import kvnb.scan

    assert kvnb.scan.__all__ == sorted(kvnb.scan.__all__)
    assert kvnb.scan.__all__ == [
        "DEFAULT_MAX_FILE_SIZE",
        "Finding",
        "FingerprintEntry",
        "ScanResult",
        "export_fingerprints",
        "load_fingerprints",
        "scan_paths",
        "write_fingerprints",
    ]
    assert all(hasattr(kvnb.scan, name) for name in kvnb.scan.__all__)


# --- partial copies -----------------------------------------------------------------------------


def test_partial_copies_are_reported_with_their_length_and_shorter_pieces_are_not(tmp_path):
    value = f"Server=tcp:db01.database.windows.net;Password={secrets.token_urlsafe(30)};Encrypt=True;"
    head = value[:46]  # what a pandas cell shows before its "..."
    password = value.split("Password=")[1].split(";")[0]
    (tmp_path / "df.txt").write_text(f"   connection\n0  {head}...\n")
    (tmp_path / "whos.txt").write_text(f"conn   str   {value[:25]} ... {value[-25:]}\n")
    (tmp_path / "piece.txt").write_text(f"x = '{password[3 : 3 + 16]}'\n")
    (tmp_path / "short.txt").write_text(f"x = '{password[3 : 3 + 15]}'\n")
    (tmp_path / "alone.txt").write_text(f"pw: {password}\n")
    result = scan_paths([tmp_path], {"db/v1": value})
    found = sorted((Path(f.path).name, f.copy) for f in result.findings)
    assert ("short.txt", "partial, 15 chars") not in found
    assert {name for name, _ in found} == {"df.txt", "whos.txt", "piece.txt", "alone.txt"}
    assert ("piece.txt", "partial, 16 chars") in found
    assert ("alone.txt", "whole") in found  # a connection string's password is a value of its own
    df = [f for f in result.findings if Path(f.path).name == "df.txt"]
    assert [(f.whole, f.line) for f in df] == [(False, 2)] and df[0].run >= 16
    assert_no_trace(json.dumps(result.as_dict()), password)


def test_the_run_length_setting_is_read_from_the_environment(tmp_path, monkeypatch):
    value = secrets.token_urlsafe(40)
    (tmp_path / "a.txt").write_text(f"{value[:12]}\n")
    monkeypatch.setenv("KVNB_REDACT_MIN_RUN", "12")
    assert [f.run for f in scan_paths([tmp_path], {"v": value}).findings] == [12]
    monkeypatch.setenv("KVNB_REDACT_MIN_RUN", "13")
    assert scan_paths([tmp_path], {"v": value}).findings == ()


# --- binary files (--binary) ---------------------------------------------------------------------


def test_binary_files_are_skipped_unless_asked_and_then_read_as_pickles_and_bytes(tmp_path):
    import pickle

    value = secrets.token_urlsafe(18) + "é" + secrets.token_urlsafe(6)
    store = tmp_path / ".ipython/profile_default/db/autorestore"
    store.mkdir(parents=True)
    # what %store writes (IPython's PickleShareDB: pickle.dump, the highest protocol)
    (store / "api_key").write_bytes(pickle.dumps({"key": value, "n": 1}, protocol=pickle.HIGHEST_PROTOCOL))
    # Protocol 0 is text, with é as one Latin-1 byte: a text file that is not UTF-8.
    (tmp_path / "old.pkl").write_bytes(pickle.dumps([value], protocol=0))
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01" + value.encode() + b"\x00" + value.encode("latin-1"))
    (tmp_path / "head.bin").write_bytes(b"\x00" * 10 + value[:20].encode() + b"\x00")
    skipped = scan_paths([tmp_path], {"v": value}, respect_gitignore=False)
    assert [(Path(f.path).name, f.whole) for f in skipped.findings] == [("old.pkl", False)]
    assert skipped.files_binary == 3
    result = scan_paths([tmp_path], {"v": value}, respect_gitignore=False, binary=True)
    found = sorted((Path(f.path).name, f.part, f.copy) for f in result.findings)
    assert found == [
        ("api_key", "pickle", "whole"),
        ("blob.bin", "bytes", "whole"),
        ("blob.bin", "bytes", "whole"),
        ("head.bin", "bytes", "partial, 20 chars"),
        ("old.pkl", "pickle", "whole"),
    ]
    assert result.files_binary == 0 and result.files_scanned == 4
    locations = {f.location for f in result.findings if Path(f.path).name == "blob.bin"}
    assert locations == {"bytes utf-8, byte 2", f"bytes latin-1, byte {2 + len(value.encode()) + 1}"}
    assert_no_trace(json.dumps(result.as_dict(), ensure_ascii=False), value)

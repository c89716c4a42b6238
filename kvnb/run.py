"""Run a command with secrets in its environment: "retrieve at run time, store nowhere" for scripts.

    bindings = [parse_binding("APICaller=API_KEY")]
    environment = fetch_environment(bindings, vault="azDevOpsKV01")   # fails before anything runs
    exit_code = run_command(["python", "job.py"], environment)

The values are fetched with the caller's identity (``kvnb.fetch``) into memory and handed to the
child in its environment; nothing is written to disk. With ``mask`` (the default, as in 1Password's
``op run``) the child's stdout and stderr go through pipes and the redaction engine, so a value the
child prints (raw, JSON-escaped, base64, …, even split across writes) reaches the terminal masked.
Stdin is the child's own. The child's exit code is returned, 128 + N when signal N ended it.
"""

from __future__ import annotations

import codecs
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

from kvnb import errors, fetch, names, redaction

# POSIX: "names ... consist solely of uppercase letters, digits, and the '_' ... and do not begin
# with a digit"; lowercase is allowed by every shell and by Windows, so it is accepted too.
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
READ_SIZE = 64 * 1024
EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND = 126, 127  # the shell's codes for a command it cannot start
# Signals kvnb passes on to the child. SIGINT (Ctrl-C) and SIGQUIT are not: the terminal sends them
# to the whole foreground process group, the child included; kvnb only outlives them to wait.
FORWARDED = ("SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2")
IGNORED_WHILE_WAITING = ("SIGINT", "SIGQUIT")


class BindingError(errors.KvnbError, ValueError):
    """A ``SECRET=ENVVAR`` argument that cannot be used; ``.text`` is what was given."""

    def __init__(self, message: str, text: str):
        super().__init__(message)
        self.text = text


@dataclass(frozen=True)
class Binding:
    """One secret to put in one environment variable of the child."""

    secret: str
    variable: str


def parse_binding(text: str) -> Binding:
    """``"APICaller=API_KEY"`` → ``Binding("APICaller", "API_KEY")``, or ``BindingError``.

    A wrong argument is never repeated in the message: it may be a value pasted by mistake.
    """
    secret, sep, variable = text.partition("=")
    if not sep or not secret or not variable:
        raise BindingError(
            "--secret takes SECRET=ENVVAR, the secret's name then the variable to set, "
            "e.g. --secret APICaller=API_KEY (the argument given is not repeated)",
            text,
        )
    if not names.SECRET_NAME.match(secret):
        raise BindingError(
            "the left side of --secret SECRET=ENVVAR is not a secret name: use 1-127 letters, "
            "digits and dashes (not repeated, in case it is a value)",
            text,
        )
    if not ENV_NAME.match(variable):
        raise BindingError(
            f"the right side of --secret {secret}=ENVVAR is not an environment variable name: "
            "use letters, digits and _, not starting with a digit (not repeated, in case it "
            "is a value)",
            text,
        )
    return Binding(secret, variable)


def check_bindings(bindings: Sequence[Binding]) -> None:
    """One secret per variable: two secrets for the same variable is a mistake, not an override."""
    seen: dict[str, str] = {}
    for binding in bindings:
        if seen.setdefault(binding.variable, binding.secret) != binding.secret:
            raise BindingError(
                f"{binding.variable} is given twice ({seen[binding.variable]} and "
                f"{binding.secret}): one secret per variable",
                binding.variable,
            )


def fetch_environment(
    bindings: Sequence[Binding],
    *,
    vault: str | None = None,
    persona: str | None = None,
    on_expired: Callable[[str], None] | None = None,
) -> dict[str, str]:
    """Variable → value for every binding, fetched concurrently; kvnb's errors if any fails."""
    check_bindings(bindings)
    secret_names = list(dict.fromkeys(b.secret for b in bindings))
    secrets = fetch.fetch_secrets(secret_names, vault=vault, persona=persona, on_expired=on_expired)
    values = {secret.name: secret.reveal() for secret in secrets}
    return {binding.variable: values[binding.secret] for binding in bindings}


def child_environment(
    values: Mapping[str, str], base: Mapping[str, str] | None = None, note: Callable[[str], None] | None = None
) -> dict[str, str]:
    """``base`` (the process's environment) with ``values`` set; ``note`` hears of each replaced one."""
    environment = dict(os.environ if base is None else base)
    for variable in values:
        if variable in environment and note is not None:
            note(f"kvnb run: {variable} is set in the environment; the secret replaces it for the command.")
    environment.update(values)
    return environment


def run_command(
    command: Sequence[str],
    environment: Mapping[str, str],
    *,
    mask: bool = True,
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
) -> int:
    """Run ``command`` with ``environment``; its exit code (128 + N for signal N).

    With ``mask`` its output is scrubbed on the way to ``stdout``/``stderr`` (binary streams,
    ``sys.stdout.buffer``/``sys.stderr.buffer`` by default). ``OSError`` when it cannot be started.
    """
    pipe = subprocess.PIPE if mask else None
    child = subprocess.Popen(list(command), env=dict(environment), stdout=pipe, stderr=pipe)
    pumps = []
    if mask:
        assert child.stdout is not None and child.stderr is not None  # both are pipes when masking
        pumps = [
            _MaskedPipe(child.stdout, stdout or sys.stdout.buffer),
            _MaskedPipe(child.stderr, stderr or sys.stderr.buffer),
        ]
        for pump in pumps:
            pump.start()
    with _signals_to(child):
        returncode = child.wait()
        for pump in pumps:
            pump.join()
    return 128 - returncode if returncode < 0 else returncode


def masking_stream(sink: BinaryIO) -> redaction.ScrubbingStream:
    """A text stream that writes to ``sink`` with every fetched value masked, even across writes.

    The one place the engine is chosen: ``kvnb.redaction``'s registry holds every value this
    process fetched (``Secret`` registers itself).
    """
    return redaction.ScrubbingStream(_BinarySink(sink), redaction.registry)


class _BinarySink:
    """Text in, bytes out: invalid UTF-8 from the child went through as surrogates and comes back."""

    def __init__(self, buffer: BinaryIO):
        self._buffer = buffer

    def write(self, text: str) -> int:
        self._buffer.write(text.encode("utf-8", "surrogateescape"))
        self._buffer.flush()  # the child's output is shown as it comes, not when kvnb exits
        return len(text)

    def flush(self) -> None:
        self._buffer.flush()


class _MaskedPipe(threading.Thread):
    """Copies one of the child's pipes to a sink as it arrives, masked; never the whole output at once."""

    def __init__(self, source: IO[bytes], sink: BinaryIO):
        super().__init__(name="kvnb-run-pipe", daemon=True)
        self._fd = source.fileno()
        self._source = source
        self._stream = masking_stream(sink)

    def run(self) -> None:
        # surrogateescape: any bytes survive the round trip; a character cut between reads waits.
        decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        try:
            while chunk := os.read(self._fd, READ_SIZE):
                self._stream.write(decoder.decode(chunk))
            self._stream.write(decoder.decode(b"", final=True))
        finally:
            self._stream.release()  # the end of the output: the held tail goes out, scrubbed
            self._source.close()


class _signals_to:
    """While the child runs: pass on termination signals to it, outlive the terminal's Ctrl-C."""

    def __init__(self, child: subprocess.Popen):
        self._child = child
        self._previous: dict[int, Any] = {}

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self  # signal handlers can only be set from the main thread
        for name in FORWARDED + IGNORED_WHILE_WAITING:
            number = getattr(signal, name, None)
            if number is not None:
                handler = signal.SIG_IGN if name in IGNORED_WHILE_WAITING else self._forward
                self._previous[number] = signal.signal(number, handler)
        return self

    def __exit__(self, *exc_info) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _forward(self, number, frame) -> None:
        if self._child.poll() is None:
            self._child.send_signal(number)

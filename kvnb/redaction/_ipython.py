"""Per-shell hooks: display data, execute results, tracebacks, and ipykernel's message session.

Each output path is wrapped where IPython and ipykernel both route it, so the same hooks work in
terminal IPython and in a kernel:

* ``display_pub.publish`` — ``display()``, widgets' views, every mimetype of display data;
* ``displayhook.compute_format_data`` — the execute result (``Out``/``_`` rendered), and the copy
  IPython keeps in its history and logs;
* ``_showtraceback`` — every traceback (plain, verbose with locals, syntax errors) and its message.

In ipykernel everything the kernel emits — including stream text that reaches the kernel through
file descriptors (``os.system``, C extensions), comm messages carrying widget state, and the
``execute_reply`` — leaves through ``Session.send``. That is wrapped too: the last line of defence.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from kvnb.redaction._iopub import StreamJoiner
from kvnb.redaction._patch import Patch
from kvnb.redaction._registry import Registry


class _ScrubbedException:
    """Stands in for an exception whose message holds a value: ``str()`` gives the scrubbed text."""

    def __init__(self, exception: BaseException, text: str) -> None:
        self._exception, self._text = exception, text

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"{type(self._exception).__name__}({self._text!r})"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._exception, name)


class ShellHooks:
    """The hooks of one shell; ``undo()`` removes them."""

    def __init__(self, shell, registry: Registry, release_streams: Callable[[], None]) -> None:
        self.shell = shell
        self.registry = registry
        self._patches: list[Patch] = []
        self._joiners: list[StreamJoiner] = []
        self._release_streams = release_streams
        self._patches.append(Patch(shell.display_pub, "publish", self._make_publish))
        self._patches.append(Patch(shell.displayhook, "compute_format_data", self._make_format))
        self._patches.append(Patch(shell, "_showtraceback", self._make_showtraceback))
        for session in _sessions(shell):
            self._patches.append(Patch(session, "send", self._make_send))
        # post_execute runs after every execution, silent ones included.
        shell.events.register("post_execute", self._end_of_cell)

    def undo(self) -> None:
        try:
            self.shell.events.unregister("post_execute", self._end_of_cell)
        except ValueError:
            pass
        for joiner in self._joiners:
            joiner.close()
        for patch in reversed(self._patches):
            patch.undo()

    def _end_of_cell(self) -> None:
        self._release_streams()

    def _make_publish(self, original, patch: Patch):
        scrub = self.registry.scrub_data

        def publish(data, metadata=None, *args, **kwargs):
            if patch.active:
                data, metadata = scrub(data), scrub(metadata)
            return original(data, metadata, *args, **kwargs)

        return publish

    def _make_format(self, original, patch: Patch):
        scrub = self.registry.scrub_data

        def compute_format_data(result):
            format_dict, md_dict = original(result)
            if patch.active:
                format_dict, md_dict = scrub(format_dict), scrub(md_dict)
            return format_dict, md_dict

        return compute_format_data

    def _make_showtraceback(self, original, patch: Patch):
        registry = self.registry

        def showtraceback(etype, evalue, stb):
            if patch.active and registry.active:
                stb = registry.scrub_data(stb)
                try:
                    text = str(evalue)
                except Exception:
                    text = None
                if text is not None and registry.scrub(text) != text:
                    evalue = _ScrubbedException(evalue, registry.scrub(text))
            return original(etype, evalue, stb)

        return showtraceback

    def _make_send(self, original, patch: Patch):
        scrub = self.registry.scrub_data
        joiner = StreamJoiner(self.registry, original)
        self._joiners.append(joiner)

        def send(
            stream,
            msg_or_type,
            content=None,
            parent=None,
            ident=None,
            buffers=None,
            track=False,
            header=None,
            metadata=None,
        ):
            if patch.active and self.registry.active:
                if _is_stream(msg_or_type):
                    text = msg_or_type["content"].get("text")
                    if isinstance(text, str):
                        ready = joiner.stream_text(msg_or_type, text, (stream, ident, buffers, track, header, metadata))
                        if not ready:
                            return None  # all of it held: it goes out with what follows
                        msg_or_type = {**msg_or_type, "content": {**msg_or_type["content"], "text": ready}}
                        return original(stream, msg_or_type, None, None, ident, buffers, track, header, metadata)
                joiner.release()  # held stream text goes out before anything else
            if patch.active:
                if isinstance(msg_or_type, dict):
                    msg = msg_or_type
                    clean = {key: scrub(msg.get(key)) for key in ("content", "metadata", "buffers") if key in msg}
                    if any(clean[key] is not msg[key] for key in clean):
                        msg_or_type = {**msg, **clean}
                else:
                    content, metadata = scrub(content), scrub(metadata)
                if buffers:
                    buffers = scrub(list(buffers))
            return original(stream, msg_or_type, content, parent, ident, buffers, track, header, metadata)

        return send


def _is_stream(msg_or_type) -> bool:
    return (
        isinstance(msg_or_type, dict)
        and (msg_or_type.get("header") or {}).get("msg_type") == "stream"
        and isinstance(msg_or_type.get("content"), dict)
    )


def _sessions(shell) -> list:
    """The distinct jupyter_client sessions an ipykernel shell sends through (none in terminals)."""
    owners = [getattr(shell, "kernel", None), shell.display_pub, shell.displayhook]
    streams = [s for s in (sys.stdout, sys.stderr) if s is not None]
    owners += [getattr(stream, "inner", stream) for stream in streams]
    found: dict[int, Any] = {}
    for owner in owners:
        session = getattr(owner, "session", None)
        if session is not None and callable(getattr(session, "send", None)):
            found.setdefault(id(session), session)
    return list(found.values())

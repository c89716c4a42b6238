"""Process-wide hooks: ``sys.stdout``/``sys.stderr``, ``logging`` and ``warnings``."""

from __future__ import annotations

import logging
import sys
import warnings

from kvnb.redaction._patch import Patch
from kvnb.redaction._registry import Registry
from kvnb.redaction._streams import ScrubbingStream

_EXCEPTION_FORMATTER = logging.Formatter()


def scrub_record(record: logging.LogRecord, registry: Registry) -> None:
    """Scrub a log record in place: its message, formatted exception, stack and extra fields."""
    if not registry.active:
        return
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: logging reports it (through stderr, scrubbed)
        message = None
    if message is not None:
        clean = registry.scrub(message)
        if clean != message:
            record.msg, record.args = clean, ()
    # Formatters cache the formatted exception in exc_text and reuse it: fill it in scrubbed.
    if record.exc_info and not record.exc_text:
        text = _EXCEPTION_FORMATTER.formatException(record.exc_info)
        clean = registry.scrub(text)
        if clean != text:
            record.exc_text = clean
    for key, value in list(vars(record).items()):
        if isinstance(value, str) and key != "msg":
            clean = registry.scrub(value)
            if clean != value:
                setattr(record, key, clean)


class ScrubbingFilter(logging.Filter):
    """A handler filter that scrubs each record it sees (and never drops one)."""

    def __init__(self, registry: Registry) -> None:
        super().__init__()
        self.registry = registry

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record, self.registry)
        return True


class StdlibHooks:
    """Installed once per process; ``undo()`` puts everything back."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._patches: list[Patch] = []
        self.streams: list[ScrubbingStream] = []
        for name in ("stdout", "stderr"):
            if getattr(sys, name, None) is not None:
                patch = Patch(sys, name, lambda original, _: ScrubbingStream(original, registry))
                self._patches.append(patch)
                self.streams.append(patch.wrapper)
        self._install_logging()
        self._patches.append(Patch(warnings, "showwarning", self._make_showwarning))
        self._patches.append(Patch(warnings, "formatwarning", self._make_formatwarning))

    def release_streams(self) -> None:
        for stream in self.streams:
            stream.release()

    def undo(self) -> None:
        self.release_streams()
        for patch in reversed(self._patches):
            patch.undo()
        for stream in self.streams:
            stream.active = False
        for handler in self._filtered_handlers:
            handler.removeFilter(self._filter)
        if logging.getLogRecordFactory() is self._record_factory:
            logging.setLogRecordFactory(self._previous_factory)
        self._factory_active = False

    def _install_logging(self) -> None:
        registry = self.registry
        previous = self._previous_factory = logging.getLogRecordFactory()
        self._factory_active = True

        def record_factory(*args, **kwargs):
            record = previous(*args, **kwargs)
            if self._factory_active:
                scrub_record(record, registry)
            return record

        self._record_factory = record_factory
        logging.setLogRecordFactory(record_factory)
        # The factory scrubs every new record; the filter also covers records made before
        # install, or by code that builds LogRecord directly instead of through the factory.
        self._filter = ScrubbingFilter(registry)
        handlers = list(logging.getLogger().handlers)
        if logging.lastResort is not None:
            handlers.append(logging.lastResort)
        self._filtered_handlers = handlers
        for handler in handlers:
            handler.addFilter(self._filter)

    def _make_showwarning(self, original, patch: Patch):
        registry = self.registry

        def showwarning(message, category, filename, lineno, file=None, line=None):
            if patch.active and registry.active:
                text = str(message)
                clean = registry.scrub(text)
                if clean != text:
                    message = clean
                if line:
                    line = registry.scrub(line)
            return original(message, category, filename, lineno, file, line)

        return showwarning

    def _make_formatwarning(self, original, patch: Patch):
        registry = self.registry

        def formatwarning(message, category, filename, lineno, line=None):
            text = original(message, category, filename, lineno, line)
            return registry.scrub(text) if patch.active else text

        return formatwarning

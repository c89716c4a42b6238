"""One matching engine for output redaction, the save guard and ``kvnb scan``.

A registered value is searched in every form real code shows it in (``forms``), whole and in
runs of K or more consecutive characters of any form (K: ``redact_min_run()``, default 16),
except runs made only of public boilerplate (``boilerplate``)::

    matcher = Matcher()                       # K from KVNB_REDACT_MIN_RUN
    matcher.add(value, label="DbPassword")    # its secret parts too, if it is a connection string
    matcher.find(text)                        # [Match(start, end, label, form, whole), ...]
    matcher.mask(text)                        # "… [secret DbPassword redacted] …"
    scrubber = StreamScrubber(matcher)        # for text written in pieces
    shown = scrubber.write(piece); shown += scrubber.flush()

docs/redaction.md lists the forms, the boilerplate and what is out of scope.
"""

from __future__ import annotations

from kvnb.matching.boilerplate import public_mask
from kvnb.matching.forms import Form, forms_of
from kvnb.matching.index import Match, Matcher, apply, default_mask
from kvnb.matching.settings import (
    DEFAULT_MIN_RUN,
    ENV_MIN_RUN,
    MIN_WHOLE,
    MinRunError,
    check_min_run,
    redact_min_run,
)
from kvnb.matching.stream import StreamScrubber
from kvnb.matching.structured import secret_parts

__all__ = [
    "DEFAULT_MIN_RUN",
    "ENV_MIN_RUN",
    "Form",
    "MIN_WHOLE",
    "Match",
    "Matcher",
    "MinRunError",
    "StreamScrubber",
    "apply",
    "check_min_run",
    "default_mask",
    "forms_of",
    "public_mask",
    "redact_min_run",
    "secret_parts",
]

"""Find copies of known values with the one engine (``kvnb.matching``): whole forms and runs of K.

The engine reports every run of K or more characters of any form of a value; a scan turns the
overlapping runs at one place into one hit (a whole form first, then the longest run) and decides
whether a base64 run is a whole copy by decoding it with its edges (``kvnb.matching.confirm``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kvnb.matching import MIN_WHOLE, Matcher, forms_of, secret_parts
from kvnb.matching.confirm import base64_confirmed

_BASE64_KINDS = ("base64", "base64url")
_ENCODED_KINDS = ("raw", "line", "json")  # the text forms the engine base64-encodes


@dataclass(frozen=True)
class Hit:
    """A copy at ``start:end`` of the text searched (the span that gets masked): ``whole`` when it
    is an entire form of the value, else a run of ``end - start`` characters of one."""

    start: int
    end: int
    label: str
    form: str
    whole: bool = True


class ValueMatcher:
    """Searches for every form of known values (label → value), whole or in runs of K characters."""

    # The engine's byte test never misses a file with a copy, so a file that passes it but yields
    # no hit in its parsed notebook cells is still reported, by line and column.
    confirms_hits = True

    def __init__(self, values: Mapping[str, str], *, min_run: int | None = None):
        if not values:
            raise ValueError("nothing to search for: give at least one value")
        self._matcher = Matcher(min_run)
        for label, value in values.items():
            if len(value) < MIN_WHOLE:
                raise ValueError(
                    f"{label}: values shorter than {MIN_WHOLE} characters cannot be searched without false positives"
                )
            self._matcher.add(value, label)
        self._values = dict(values)
        self._encoded: dict[str, list[bytes]] = {}  # filled on the first base64 hit of a label
        self._labels = sorted(values)
        # Notebooks split multi-line strings into one JSON string per line, so a multi-line value
        # never appears whole in the file; such notebooks must always be parsed.
        self._multiline = any("\n" in value for value in values.values())

    @property
    def min_run(self) -> int:
        return self._matcher.min_run

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def may_match(self, data: bytes, *, notebook: bool = False) -> bool:
        if notebook and self._multiline:
            return True
        return self._matcher.may_match(data)

    def may_match_each(self, datas: list[bytes], notebooks: list[bool]) -> list[bool]:
        """``may_match`` of each of ``datas`` (``notebooks``: which are), in one engine call."""
        passed = self._matcher.may_match_each(datas)
        if self._multiline:
            passed = [may or notebook for may, notebook in zip(passed, notebooks)]
        return passed

    def hits(self, text: str) -> list[Hit]:
        clusters: list[list] = []  # overlapping matches of one label: one copy
        for match in self._matcher.find(text):
            for cluster in reversed(clusters[-4:]):
                if cluster[0].label == match.label and match.start < cluster[1]:
                    cluster[1] = max(cluster[1], match.end)
                    cluster.append(match)
                    break
            else:
                clusters.append([match, match.end, match])
        hits = [self._hit(text, cluster[0].start, cluster[1], cluster[2:]) for cluster in clusters]
        hits.sort(key=lambda hit: (hit.start, hit.label, hit.form))
        return hits

    def _hit(self, text: str, start: int, end: int, matches: list) -> Hit:
        def whole(match) -> bool:
            if match.form in _BASE64_KINDS:  # decoding settles it either way: an unpadded standalone
                # encoding is a run of the padded form, a trimmed core may differ in its edge bits
                return base64_confirmed(text, match.start, match.end, self._encoded_forms(match.label))
            return match.whole

        best = max(matches, key=lambda m: (whole(m), m.end - m.start))
        return Hit(start, end, best.label, best.form, whole(best))

    def _encoded_forms(self, label: str) -> list[bytes]:
        """The byte strings the engine base64-encodes for ``label``'s value (and its secret parts)."""
        if label not in self._encoded:
            value = self._values[label]
            self._encoded[label] = [
                form.text.encode("utf-8", "surrogatepass")
                for text in [value, *secret_parts(value)]
                for form in forms_of(text, text_only=True)
                if form.kind in _ENCODED_KINDS
            ]
        return self._encoded[label]

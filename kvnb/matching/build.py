"""Building the index: the forms of every value, their grams, the compiled literal shards.

Grams are q = K // 2 characters long, taken at offsets 0, q, 2q, … of each form of K characters or
more (and at the edges of boilerplate), so that any run of K characters holds one whole.
"""

from __future__ import annotations

from kvnb.matching.forms import Form, forms_of, split_forms
from kvnb.matching.literals import SHARD_SIZE, literal_set, release_freed_memory
from kvnb.matching.search import BLOOM_BITS, PIECE, Entry, Index
from kvnb.matching.settings import MIN_WHOLE


def _edge_offsets(public: bytes, q: int) -> set[int]:
    """Where the grams start that hold the last character before a stretch of boilerplate (and
    q - 1 of it), or the first one after it.

    A run of K = 2q characters whose other characters are all fewer than q, at one edge of a
    stretch of boilerplate, holds no aligned gram with any of them; it holds one of these.
    """
    offsets = set()
    for i in range(len(public) - 1):
        if public[i] == 0 and public[i + 1] == 1 and i + q <= len(public):
            offsets.add(i)
        elif public[i] == 1 and public[i + 1] == 0 and i + 2 - q >= 0:
            offsets.add(i + 2 - q)
    return offsets


class IndexBuilder:
    """Builds index snapshots, reusing what did not change since the last one.

    A kernel adds values one at a time (each ``%kvget``) and the next output needs a new
    snapshot: the forms of each value, the compiled literal shards whose literals are the same
    and the Bloom filter's bits of values already in are kept.
    """

    def __init__(self, min_run: int) -> None:
        self.min_run = min_run
        self._forms: dict[str, list[Form]] = {}
        self._shards: dict[tuple[str, ...], object] = {}
        self._bloom = bytearray(BLOOM_BITS // 8)
        self._bloomed: set[str] = set()
        self._alphabet: set[str] = set()

    def build(self, values: dict[str, str]) -> Index | None:
        if not values:
            return None
        if any(value not in values for value in self._bloomed):  # a value was dropped
            self._bloom, self._bloomed, self._alphabet = bytearray(BLOOM_BITS // 8), set(), set()
        for value in list(self._forms):
            if value not in values:
                del self._forms[value]
        entries: list[Entry] = []
        seen: set[str] = set()
        for value_id, (value, label) in enumerate(values.items()):
            forms = self._forms.get(value)
            if forms is None:
                forms = forms_of(value, min_length=MIN_WHOLE)
                forms = self._forms[value] = forms + split_forms(forms, self.min_run)
            for form in forms:
                if form.text not in seen:
                    seen.add(form.text)
                    entries.append(Entry(form, label, value_id))
            if value not in self._bloomed:
                self._add_to_bloom(forms)
                self._bloomed.add(value)
        literals, postings = _grams(entries, self.min_run)
        shards, reused = [], {}
        for first in range(0, len(literals), SHARD_SIZE):
            chunk = tuple(literals[first : first + SHARD_SIZE])
            compiled = self._shards.get(chunk) or literal_set(chunk)
            reused[chunk] = compiled
            shards.append((compiled, postings[first : first + SHARD_SIZE]))
        if len(reused) > len(set(reused) & set(self._shards)):
            release_freed_memory()  # a shard was compiled
        self._shards = reused
        return Index(entries, self.min_run, shards, frozenset(self._alphabet), bytes(self._bloom))

    def _add_to_bloom(self, forms: list[Form]) -> None:
        bloom, mask = self._bloom, BLOOM_BITS - 1
        for form in forms:
            text = form.text
            self._alphabet.update(text)
            for i in range(len(text) - PIECE + 1):
                bit = hash(text[i : i + PIECE]) & mask
                bloom[bit >> 3] |= 1 << (bit & 7)


def _grams(entries: list[Entry], min_run: int) -> tuple[list[str], list[list[tuple[int, int]]]]:
    """The distinct grams to search for, and per gram the (entry number, offset) it stands for."""
    q = max(1, min_run // 2)
    literal_ids: dict[str, int] = {}
    literals: list[str] = []
    postings: list[list[tuple[int, int]]] = []
    for number, entry in enumerate(entries):
        text, public = entry.form.text, entry.form.public
        if len(text) < min_run:
            grams = [(text, 0)]
        else:
            offsets = set(range(0, len(text) - q + 1, q))
            if public is not None:
                offsets |= _edge_offsets(public, q)
            grams = [(text[i : i + q], i) for i in sorted(offsets)]
        for gram, offset in grams:
            if public is not None and 0 not in public[offset : offset + len(gram)]:
                # Boilerplate only: every connection string has it, ordinary output too. A run
                # that counts holds another character, and the grams at the edges of each
                # stretch of boilerplate (``_edge_offsets``) catch one that holds only a few.
                continue
            literal_id = literal_ids.get(gram)
            if literal_id is None:
                literal_id = literal_ids[gram] = len(literals)
                literals.append(gram)
                postings.append([])
            postings[literal_id].append((number, offset))
    return literals, postings

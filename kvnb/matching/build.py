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
    """Builds index snapshots, redoing only what a new value changes.

    A kernel adds values one at a time (each ``%kvget``) and the next output needs a new
    snapshot. While values are only added, the entries, grams and Bloom filter grow in place
    (a posting list is copied before it grows, so older snapshots stay as they were) and only the
    last literal shard is compiled again; a dropped value starts everything afresh.
    """

    def __init__(self, min_run: int) -> None:
        self.min_run = min_run
        self._shards: dict[tuple[str, ...], object] = {}
        self._reset()

    def _reset(self) -> None:
        self._order: list[str] = []  # the values taken in, in order
        self._entries: list[Entry] = []
        self._seen: set[str] = set()
        self._literal_ids: dict[str, int] = {}
        self._literals: list[str] = []
        self._postings: list[list[tuple[int, int]]] = []
        self._bloom = bytearray(BLOOM_BITS // 8)
        self._alphabet: set[str] = set()

    def build(self, values: dict[str, str]) -> Index | None:
        if not values:
            self._reset()
            return None
        names = list(values)
        if names[: len(self._order)] != self._order:  # a value was dropped
            self._reset()
        for value_id in range(len(self._order), len(names)):
            value = names[value_id]
            forms = forms_of(value, min_length=MIN_WHOLE)
            forms += split_forms(forms, self.min_run)
            for form in forms:
                if form.text not in self._seen:
                    self._seen.add(form.text)
                    self._entries.append(Entry(form, values[value], value_id))
                    self._add_grams(len(self._entries) - 1)
            self._add_to_bloom(forms)
            self._order.append(value)
        shards, kept = [], {}
        for first in range(0, len(self._literals), SHARD_SIZE):
            chunk = tuple(self._literals[first : first + SHARD_SIZE])
            compiled = self._shards.get(chunk)
            if compiled is None:
                compiled = literal_set(chunk)
                release_freed_memory()  # what the compiler freed, before the next one takes more
            kept[chunk] = compiled
            shards.append((compiled, self._postings[first : first + SHARD_SIZE]))
        self._shards = kept
        return Index(list(self._entries), self.min_run, shards, frozenset(self._alphabet),
                     bytes(self._bloom))

    def _add_grams(self, number: int) -> None:
        """Register the grams of entry ``number`` (see the module docstring)."""
        form = self._entries[number].form
        text, public = form.text, form.public
        q = max(1, self.min_run // 2)
        if len(text) < self.min_run:
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
            literal_id = self._literal_ids.get(gram)
            if literal_id is None:
                self._literal_ids[gram] = len(self._literals)
                self._literals.append(gram)
                self._postings.append([(number, offset)])
            else:  # a new list: a snapshot holding the old one must not see it change
                self._postings[literal_id] = [*self._postings[literal_id], (number, offset)]

    def _add_to_bloom(self, forms: list[Form]) -> None:
        bloom, mask = self._bloom, BLOOM_BITS - 1
        for form in forms:
            text = form.text
            self._alphabet.update(text)
            for i in range(len(text) - PIECE + 1):
                bit = hash(text[i : i + PIECE]) & mask
                bloom[bit >> 3] |= 1 << (bit & 7)

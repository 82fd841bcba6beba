"""The fast TF-IDF columns equal what the fitted scikit-learn vectorizers give."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer

from tgportrait.classify.intent_models import CHAR_PARAMS, WORD_PARAMS, prepare_texts
from tgportrait.classify.ngram_features import NgramFeatures

TRAIN = ["where is my order 0", "I want a refund please", "berapa harganya kak", "где мой заказ", "我想退款 谢谢",
         "o produto chegou quebrado", "is it good for sensitive skin?", "cancel my subscription now"]
UNSEEN = ["", "a", "ab\tcd\u3000ef  gh", "where   is my refund", "заказ не пришёл", "我想 退款", "x" * 300,
          "I I I want want", "sensitive, skin; good!", "zzz qqq"]


def fitted() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    prepared = prepare_texts(TRAIN)
    return TfidfVectorizer(**WORD_PARAMS).fit(prepared), TfidfVectorizer(**CHAR_PARAMS).fit(prepared)


def test_columns_equal_sklearn() -> None:
    word, char = fitted()
    texts = prepare_texts(TRAIN + UNSEEN)
    expected = hstack([word.transform(texts), char.transform(texts)]).tocsr()
    got = NgramFeatures(word, char).transform(texts)
    assert got.shape == expected.shape
    assert got.nnz == expected.nnz
    assert np.abs((got - expected).toarray()).max() < 1e-6
    again = NgramFeatures(word, char)
    again.transform(texts[::-1])  # the word cache filled in another order gives the same rows
    assert np.abs((again.transform(texts) - expected).toarray()).max() < 1e-6


def test_rows_without_known_ngrams_are_zero() -> None:
    word, char = fitted()
    matrix = NgramFeatures(word, char).transform(["", "ßßß"])
    assert matrix.shape[0] == 2
    assert matrix[0].nnz == 0


def test_needs_word_and_char_wb() -> None:
    word, _ = fitted()
    with pytest.raises(ValueError, match="char_wb"):
        NgramFeatures(word, TfidfVectorizer(analyzer="char").fit(TRAIN))


def test_word_ngrams_across_many_texts_equal_sklearn() -> None:
    """Random texts over a small vocabulary: many word bigrams and trigrams known, repeated, or split by a word
    whose tokens the vocabulary has never paired (and by punctuation inside a whitespace word)."""
    chooser = np.random.default_rng(5)
    words = ["where", "is", "my", "order", "order?", "refund", "the", "card", "card,please", "new", "x-y", "我想"]
    texts = [" ".join(chooser.choice(words, size=chooser.integers(0, 12))) for _ in range(400)]
    prepared = prepare_texts(texts)
    word = TfidfVectorizer(**WORD_PARAMS).fit(prepared[:200])
    char = TfidfVectorizer(**CHAR_PARAMS).fit(prepared[:200])
    assert sum(" " in term for term in word.vocabulary_) > 100  # the test exercises word n-grams
    expected = hstack([word.transform(prepared), char.transform(prepared)]).tocsr()
    features = NgramFeatures(word, char)
    for batch in (prepared, prepared[::-1][:50], prepared[:1]):
        got = features.transform(batch)
        want = expected[[prepared.index(text) for text in batch]]
        assert got.nnz == want.nnz and np.abs((got - want).toarray()).max() < 1e-6

"""The int8 ONNX encoder: the same network as the NumPy encoder, vectors close to its vectors, and the cascade head."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.classify.test_embeddings import tiny_model
from tests.classify.test_intent_models import LABELS, TEXTS, KeywordEncoder
from tests.classify.test_static_embeddings import identity_embedder
from tgportrait.classify import onnx_encoder
from tgportrait.classify.embeddings import load_encoder, packaged_model_dir
from tgportrait.classify.intent_models import CASCADE_BELOW, TrainedIntentModel, _softmax, fit_model, save_model
from tgportrait.classify.intents import ClassifierContext, LanguageGatedClassifier, open_classifier
from tgportrait.classify.onnx_encoder import NAME, build_graph, encoder_name, encoder_named, load_onnx_encoder
from tgportrait.errors import ConfigError

TEXTS_TINY = ["where is my order?", "un cafe a la carte!", "这个", "orders", "", "my my my order order ?"]


def test_the_float_graph_computes_what_the_numpy_encoder_does(tmp_path: Path) -> None:
    import onnxruntime

    folder = tiny_model(tmp_path / "tiny")
    numpy_encoder = load_encoder(folder)
    session = onnxruntime.InferenceSession(build_graph(numpy_encoder).SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    float_encoder = onnx_encoder.OnnxEncoder(numpy_encoder.tokenizer, session, numpy_encoder.dimensions)
    np.testing.assert_allclose(float_encoder.encode(TEXTS_TINY), numpy_encoder.encode(TEXTS_TINY), atol=2e-5)


def test_the_int8_encoder_is_close_to_the_numpy_one(tmp_path: Path) -> None:
    folder = tiny_model(tmp_path / "tiny")
    int8, reference = load_onnx_encoder(folder).encode(TEXTS_TINY), load_encoder(folder).encode(TEXTS_TINY)
    assert int8.shape == reference.shape and int8.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(int8, axis=1), 1.0, rtol=1e-5)
    assert (int8 * reference).sum(axis=1).min() > 0.95
    assert encoder_name(load_onnx_encoder(folder)) == NAME and encoder_name(load_encoder(folder)) != NAME


@pytest.mark.skipif(packaged_model_dir() is None, reason="the packaged MiniLM is not installed")
def test_the_int8_minilm_is_close_to_the_float_one() -> None:
    texts = ["I am still waiting on my card?", "Can I get a refund for this order", "Berapa harganya kak?",
             "Where is my parcel, it has been two weeks", "hi"]
    cosines = (load_onnx_encoder().encode(texts) * load_encoder().encode(texts)).sum(axis=1)
    assert cosines.min() > 0.97, cosines


def test_saved_encoder_names_load_the_right_encoder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown sentence encoder"):
        encoder_named("something else")
    int8 = encoder_named(NAME, dimensions=8)
    assert isinstance(int8, onnx_encoder.LazyEncoder) and (int8.dimensions, int8.loaded) == (8, False)
    if packaged_model_dir() is not None:  # a model saved before the int8 encoder (no name) runs the NumPy one
        from tgportrait.classify.embeddings import SentenceEncoder

        assert isinstance(encoder_named(None), SentenceEncoder)
        assert encoder_named(None) is encoder_named(onnx_encoder.NUMPY_NAME)


def _model_with_every_head() -> TrainedIntentModel:
    return fit_model(TEXTS * 2, LABELS * 2, embeddings=True, encoder=KeywordEncoder(),
                     static_embedder=identity_embedder())


def test_the_cascade_asks_the_accurate_head_only_where_the_static_head_is_unsure() -> None:
    model = _model_with_every_head()
    texts = ["where is my order?", "refund my money", "hello there", "return the parcel money", "is it"]
    static, accurate = replace(model, fast_only=True).scores(texts), model.scores(texts)
    assert replace(model, cascade_below=0.0).scores(texts) == pytest.approx(static)  # nobody is less sure than 0
    assert replace(model, cascade_below=1.01).scores(texts) == pytest.approx(accurate)  # everybody is
    confidence = _softmax(static * 4.0).max(axis=1)
    threshold = float(np.median(confidence))
    cascade = replace(model, cascade_below=threshold)
    assert cascade.head == "cascade"
    margins, asked = cascade.routed_scores(texts)
    np.testing.assert_array_equal(asked, confidence < threshold)
    assert 0 < asked.sum() < len(texts)
    np.testing.assert_allclose(margins[asked], accurate[asked], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(margins[~asked], static[~asked], rtol=1e-5, atol=1e-5)
    assert model.routed_scores(texts)[1].all() and not replace(model, fast_only=True).routed_scores(texts)[1].any()


def test_auto_runs_the_cascade_only_for_a_model_trained_with_the_int8_encoder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tiny_model(tmp_path / "tiny")
    int8 = load_onnx_encoder(folder)
    monkeypatch.setattr(onnx_encoder, "load_onnx_encoder", lambda folder=None: int8)  # the tiny model's, not MiniLM's
    save_model(fit_model(TEXTS * 2, LABELS * 2, embeddings=True, encoder=int8, static_embedder=identity_embedder()),
               tmp_path / "models")
    assert json.loads((tmp_path / "models" / "intents" / "default" / "model.json").read_text())["embedding"][
        "encoder"] == NAME
    classifier = open_classifier("auto", ClassifierContext(models_dir=tmp_path / "models"))
    assert isinstance(classifier, LanguageGatedClassifier) and isinstance(classifier.primary, TrainedIntentModel)
    assert (classifier.primary.head, classifier.primary.cascade_below) == ("cascade", CASCADE_BELOW)
    save_model(_model_with_every_head(), tmp_path / "old")  # trained with another encoder: the static head
    classifier = open_classifier("auto", ClassifierContext(models_dir=tmp_path / "old"))
    assert isinstance(classifier, LanguageGatedClassifier) and isinstance(classifier.primary, TrainedIntentModel)
    assert (classifier.primary.head, classifier.primary.embedding) == ("static", None)


def test_token_ids_from_the_word_cache_equal_the_tokenizer(tmp_path: Path) -> None:
    from tgportrait.classify.embeddings import MAX_TOKENS, basic_tokens

    tokenizer = load_onnx_encoder(tiny_model(tmp_path / "tiny")).tokenizer

    def whole_text(text: str) -> list[int]:  # the basic tokenizer over the whole text, no word cache
        ids = [tokenizer.first, *(token for word in basic_tokens(text) for token in tokenizer.word_ids(word))]
        return [*ids[:MAX_TOKENS - 1], tokenizer.last]

    texts = [*TEXTS_TINY, "Where IS my order?!", "a\x1cb order", "un\u200baffable", "cafe\u00a0a la carte", "这个ok",
             "order " * 300, "  my   order\tis\nwhere  ", "Café à la carte"]
    for text in texts:
        assert tokenizer.encode(text) == whole_text(text), text
        assert tokenizer.encode(text) == whole_text(text), text  # again, from the cache
    assert "order?" in tokenizer._text_word_cache  # printable texts went word by word


def test_a_text_s_vector_does_not_depend_on_the_texts_beside_it(tmp_path: Path) -> None:
    encoder = load_onnx_encoder(tiny_model(tmp_path / "tiny"))
    alone = encoder.encode(["where is my order?"])[0]
    among = encoder.encode(["un cafe a la carte!" * 5, "where is my order?", "这个"])[1]
    np.testing.assert_array_equal(alone, among)


def test_a_loaded_cascade_builds_the_int8_encoder_only_when_it_asks_the_accurate_head(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tgportrait.classify.intent_models import load_model

    int8 = load_onnx_encoder(tiny_model(tmp_path / "tiny"))
    built: list[int] = []
    monkeypatch.setattr(onnx_encoder, "load_onnx_encoder", lambda folder=None: built.append(1) or int8)
    save_model(fit_model(TEXTS * 2, LABELS * 2, embeddings=True, encoder=int8, static_embedder=identity_embedder()),
               tmp_path / "models")
    model = load_model(tmp_path / "models", "default", cascade=True)
    assert model.head == "cascade" and model.embedding is not None
    assert isinstance(model.embedding.encoder, onnx_encoder.LazyEncoder) and not model.embedding.encoder.loaded
    model.cascade_below = 0.0  # nothing is unsure enough: the accurate head is not asked, nothing is built
    model.classify(["where is my order?", "refund please"])
    assert built == []
    model.cascade_below = 1.01  # everything is: built once, on first use
    model.classify(["where is my order?"])
    model.classify(["refund please"])
    assert built == [1] and model.embedding.encoder.loaded


def test_the_quantizer_advice_is_dropped_and_other_warnings_kept(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    filters = list(logging.getLogger().filters)
    with caplog.at_level(logging.WARNING), onnx_encoder._without_quantizer_advice():
        logging.warning("Please consider to run pre-processing before quantization. Refer to example: ...")
        logging.warning("something else")
    assert [record.getMessage() for record in caplog.records] == ["something else"]
    assert logging.getLogger().filters == filters


@pytest.mark.parametrize(("variable", "threads"), [(None, 1), ("2", 2)])
def test_the_encoder_runs_on_one_thread_unless_told_otherwise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              variable: str | None, threads: int) -> None:
    if variable is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", variable)
    encoder = load_onnx_encoder(tiny_model(tmp_path / "tiny"))
    options = encoder.session.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (threads, threads)

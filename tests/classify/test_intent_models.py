"""Trained intent models and labelled data: fit, save/load as plain data, training files, corrections."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.classify.test_embeddings import VOCABULARY
from tests.classify.test_static_embeddings import identity_embedder
from tgportrait.classify.intent_data import (
    accept_corrections,
    corrected_event_ids,
    read_corrections,
    read_labelled_csv,
    review_queue,
    train_from_file,
)
from tgportrait.classify.intent_models import (
    TrainedIntentModel,
    fit_model,
    load_model,
    model_exists,
    prepare_texts,
    save_model,
)
from tgportrait.classify.intents import (
    OTHER,
    ClassifierContext,
    IntentPrediction,
    LanguageGatedClassifier,
    open_classifier,
)
from tgportrait.classify.onnx_encoder import NUMPY_NAME
from tgportrait.errors import ConfigError, InputError

TEXTS = ["where is my order", "track my parcel please", "when will my package arrive", "refund please",
         "i want my money back", "return this item for a refund", "hello", "good morning", "hi everyone"]
LABELS = ["logistics"] * 3 + ["aftersales"] * 3 + ["greeting"] * 3


def test_fit_save_load_round_trip(tmp_path: Path) -> None:
    model = fit_model(TEXTS * 2, LABELS * 2, name="shop")
    folder = save_model(model, tmp_path)
    assert sorted(path.name for path in folder.iterdir()) == ["arrays.npz", "model.json"]
    assert json.loads((folder / "model.json").read_text())["labels"] == ["aftersales", "greeting", "logistics"]
    loaded = load_model(tmp_path, "shop")
    texts = ["where is my parcel?", "money back please", "", "good morning all"]
    assert [p.intent for p in loaded.classify(texts)] == ["logistics", "aftersales", OTHER, "greeting"]
    assert [p.confidence for p in loaded.classify(texts)] == [p.confidence for p in model.classify(texts)]
    assert loaded.classify([""])[0].reason == "empty message"


def test_binary_label_sets_and_abstention(tmp_path: Path) -> None:
    model = fit_model(["yes please", "sure thing", "no thanks", "not now"], ["yes", "yes", "no", "no"],
                      abstain_below=0.0)
    assert model.labels == ("no", "yes")
    sure = model.classify(["sure, yes please"])[0]
    assert (sure.intent, sure.abstained, sure.reason) == ("yes", False, None)
    model.abstain_below = 1.01  # above every confidence
    unsure = model.classify(["sure, yes please"])[0]
    assert (unsure.intent, unsure.confidence, unsure.abstained, unsure.reason) == (
        "yes", sure.confidence, True, "low confidence")


class KeywordEncoder:
    """A stand-in sentence encoder: one dimension per keyword family (tests the head's mechanics offline)."""

    dimensions = 3

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        families = (("order", "parcel", "package", "arrive"), ("refund", "money", "return"), ("hello", "morning", "hi"))
        rows = [[float(any(word in text.lower() for word in family)) for family in families] for text in texts]
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), 3)


def test_embedding_head_round_trip_and_fast_only_view(tmp_path: Path) -> None:
    encoder = KeywordEncoder()
    model = fit_model(TEXTS * 2, LABELS * 2, name="both", embeddings=True, encoder=encoder, embedding_weight=2.0)
    assert model.embedding is not None and model.uses_embeddings
    assert model.embedding.coef.shape == (3, model.coef.shape[1] + 3)
    save_model(model, tmp_path)
    document = json.loads((tmp_path / "intents" / "both" / "model.json").read_text())
    assert (document["embedding"], document["fold_digits"]) == (
        {"model": "all-MiniLM-L6-v2", "weight": 2.0, "dimensions": 3, "encoder": NUMPY_NAME}, True)
    loaded = load_model(tmp_path, "both", encoder=encoder)
    texts = ["my parcel did not arrive", "money back now", "morning!"]
    np.testing.assert_allclose(loaded.scores(texts), model.scores(texts), rtol=1e-5, atol=1e-5)
    fast = load_model(tmp_path, "both", fast_only=True)  # no encoder needed
    assert (fast.embedding, fast.uses_embeddings) == (None, False)
    np.testing.assert_allclose(fast.scores(texts), replace(model, fast_only=True).scores(texts), rtol=1e-5, atol=1e-5)
    assert not np.allclose(fast.scores(texts), model.scores(texts))  # the heads differ


def test_static_head_round_trip_and_the_views_of_its_heads(tmp_path: Path) -> None:
    embedder = identity_embedder()
    model = fit_model(TEXTS * 2, LABELS * 2, name="static", static_embedder=embedder, static_weight=3.0)
    assert model.static is not None and model.head == "static"
    assert model.static.coef.shape == (3, model.coef.shape[1] + len(VOCABULARY))
    save_model(model, tmp_path)
    folder = tmp_path / "intents" / "static"
    assert json.loads((folder / "model.json").read_text())["static"] == {
        "source": "all-MiniLM-L6-v2 input token embeddings, centred", "weight": 3.0, "dimensions": len(VOCABULARY),
        "tokens": VOCABULARY}
    with np.load(folder / "arrays.npz") as arrays:
        assert (arrays["static_table"].dtype, arrays["static_table"].shape) == (np.float16, (20, 20))
    texts = ["where is my order?", "refund my money", "hello there"]
    loaded = load_model(tmp_path, "static")
    assert loaded.head == "static" and load_model(tmp_path, "static", fast_only=True).head == "static"
    np.testing.assert_allclose(loaded.scores(texts), model.scores(texts), rtol=1e-5, atol=1e-5)
    tfidf = replace(loaded, tfidf_only=True)
    assert tfidf.head == "tfidf"
    np.testing.assert_allclose(tfidf.scores(texts), replace(model, tfidf_only=True).scores(texts), rtol=1e-5)
    assert not np.allclose(tfidf.scores(texts), loaded.scores(texts))  # the heads differ
    assert [p.intent for p in loaded.classify(texts)] == ["logistics", "aftersales", "greeting"]
    without = fit_model(TEXTS * 2, LABELS * 2, name="plain", static=False)
    assert (without.static, without.head) == (None, "tfidf")
    assert "static" not in json.loads((save_model(without, tmp_path) / "model.json").read_text())


def test_the_static_head_abstains_where_the_tfidf_head_alone_would() -> None:
    model = fit_model(TEXTS * 2, LABELS * 2, static_embedder=identity_embedder(), abstain_below=0.5)
    sure = model.classify(["where is my order?"])[0]
    assert (sure.intent, sure.abstained) == ("logistics", False)
    model.coef, model.intercept = np.zeros_like(model.coef), np.zeros_like(model.intercept)  # TF-IDF head: 1/3 each
    assert replace(model, tfidf_only=True).classify(["where is my order?"])[0].confidence == pytest.approx(1 / 3)
    # the static head's own answer and confidence stand; it abstains because the TF-IDF head is unsure
    assert model.classify(["where is my order?"])[0] == IntentPrediction("logistics", sure.confidence, True,
                                                                         "low confidence")


def test_a_model_with_every_head_scores_with_the_best_it_may_use(tmp_path: Path) -> None:
    model = fit_model(TEXTS * 2, LABELS * 2, embeddings=True, encoder=KeywordEncoder(),
                      static_embedder=identity_embedder())
    assert [model.head, replace(model, fast_only=True).head, replace(model, tfidf_only=True).head] == [
        "accurate", "static", "tfidf"]
    save_model(model, tmp_path)
    # auto must classify 10,000 messages per second: the static head, the sentence encoder never loaded
    classifier = open_classifier("auto", ClassifierContext(models_dir=tmp_path))
    assert isinstance(classifier, LanguageGatedClassifier)
    assert isinstance(classifier.primary, TrainedIntentModel) and classifier.primary.head == "static"
    assert classifier.primary.embedding is None


def test_digit_runs_are_one_token_and_old_models_keep_digits(tmp_path: Path) -> None:
    assert prepare_texts(["Order 12345 and 67", "ORDER 1"]) == ["order 0 and 0", "order 0"]
    assert prepare_texts(["Order 12345"], fold_digits=False) == ["order 12345"]
    save_model(fit_model(TEXTS, LABELS, name="old"), tmp_path)
    path = tmp_path / "intents" / "old" / "model.json"
    document = json.loads(path.read_text())
    del document["fold_digits"]  # a model saved before digit folding existed
    path.write_text(json.dumps(document))
    assert load_model(tmp_path, "old").fold_digits is False


def test_training_languages_are_recorded_and_saved(tmp_path: Path) -> None:
    languages = ["en"] * 14 + ["ru"] * 2 + ["id", None]  # ru: 2 of 17 determined (>= 0.1); id: 1 of 17
    model = fit_model(TEXTS * 2, LABELS * 2, name="shop", text_languages=languages)
    assert model.languages == {"en": 14, "id": 1, "ru": 2}
    assert model.trained_languages == ("en", "ru")
    save_model(model, tmp_path)
    assert json.loads((tmp_path / "intents" / "shop" / "model.json").read_text())["languages"] == model.languages
    assert load_model(tmp_path, "shop").trained_languages == ("en", "ru")
    detected = fit_model(TEXTS, LABELS, text_languages=None)  # detected as at ingest
    assert detected.trained_languages == ("en",)
    path = tmp_path / "intents" / "shop" / "model.json"
    document = json.loads(path.read_text())
    del document["languages"]  # a model saved before languages were recorded
    path.write_text(json.dumps(document))
    assert load_model(tmp_path, "shop").trained_languages == ()


def test_auto_is_the_model_with_the_lexicon_behind_it_outside_its_languages(tmp_path: Path) -> None:
    save_model(fit_model(TEXTS * 2, LABELS * 2), tmp_path)  # English texts: trained languages ("en",)
    context = ClassifierContext(models_dir=tmp_path, abstain_below=1.0)  # the model abstains on everything
    classifier = open_classifier("auto", context)
    assert classifier.name == "default+lexicon-by-language"
    english, indonesian = classifier.classify(["how much does it cost to send it, tell me please",
                                               "berapa harganya kak, tolong dibalas ya"])
    assert english.abstained and english.intent in {"logistics", "aftersales", "greeting"}  # a keyword of price
    assert indonesian == IntentPrediction("price", 0.9, False)  # untrained language: the lexicon answers


def test_missing_model_and_bad_files(tmp_path: Path) -> None:
    assert not model_exists(tmp_path, "default")
    with pytest.raises(ConfigError, match="no intent model 'default'"):
        load_model(tmp_path, "default")
    folder = tmp_path / "intents" / "broken"
    folder.mkdir(parents=True)
    (folder / "model.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read the intent model"):
        load_model(tmp_path, "broken")


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "labels.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_training_files_name_the_row_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no column 'label' \(columns: message, intent\)"):
        read_labelled_csv(_csv(tmp_path, "message,intent\nhi,greeting\n"), "message", "label")
    with pytest.raises(InputError, match=r"row 3: empty label in 'intent' \(label it or delete the row\)"):
        read_labelled_csv(_csv(tmp_path, "message,intent\nhi,greeting\nwhere is it,\n"), "message", "intent")
    with pytest.raises(InputError, match=r"row 2: empty text"):
        read_labelled_csv(_csv(tmp_path, "message,intent\n,greeting\n"), "message", "intent")
    with pytest.raises(InputError, match="row 2: more fields than the header"):
        read_labelled_csv(_csv(tmp_path, "message,intent\nhi, there,greeting\n"), "message", "intent")
    with pytest.raises(InputError, match="only 1 distinct label"):
        read_labelled_csv(_csv(tmp_path, "message,intent\nhi,greeting\nhey,greeting\n"), "message", "intent")
    path = tmp_path / "latin1.csv"
    path.write_bytes("message,intent\ncaf\xe9,x\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8 text"):
        read_labelled_csv(path, "message", "intent")


def test_corrections_feed_the_next_training(tmp_path: Path) -> None:
    rows = "".join(f'"{text}",{label}\n' for text, label in zip(TEXTS, LABELS, strict=True))
    path = _csv(tmp_path, "text,label\n" + rows)
    models = tmp_path / "models"
    first = train_from_file(path, "text", "label", models)
    assert (first["examples"], first["corrections"]) == (9, 0)
    messages = [("e1", "yo what's up"), ("e2", "parcel stuck at customs")]
    classifier = open_classifier("trained", ClassifierContext(models_dir=models, abstain_below=0.9))
    queue = review_queue(messages, classifier, below=0.9)
    assert {item["event_id"] for item in queue} <= {"e1", "e2"}
    assert accept_corrections(models, messages, ["e1=greeting", "e2=logistics"]) == 2
    assert corrected_event_ids(models) == {"e1", "e2"}
    assert read_corrections(models).labels == ["greeting", "logistics"]
    with pytest.raises(InputError, match="no message 'e9' in the current run"):
        accept_corrections(models, messages, ["e9=greeting"])
    second = train_from_file(path, "text", "label", models)
    assert (second["examples"], second["corrections"]) == (11, 2)
    assert review_queue(messages, classifier, already={"e1", "e2"}) == []

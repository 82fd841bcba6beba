"""The classifier interface: bad input, the lexicon classifier, the combination and the registry."""

from __future__ import annotations

import pytest

from tgportrait.classify.intents import (
    CLASSIFIERS,
    OTHER,
    ClassifierContext,
    CombinedClassifier,
    IntentPrediction,
    LanguageGatedClassifier,
    LexiconClassifier,
    load_vocabulary,
    open_classifier,
    screen_text,
)
from tgportrait.errors import ConfigError


def test_vocabulary_keeps_the_lexicon_ids_and_adds_other() -> None:
    from tgportrait.label.lexicon import load_lexicon

    vocabulary = load_vocabulary()
    assert vocabulary.ids == ("presales", "suitability", "price", "new_product", "logistics", "aftersales",
                              "complaint", "praise", "cancellation", "payment", "human", "other")
    assert set(vocabulary.ids) - {OTHER} == set(load_lexicon("ecommerce").intent_ids)
    assert vocabulary.names["human"] == "Wants a human"


@pytest.mark.parametrize(("text", "reason"), [
    (None, "empty message"), ("", "empty message"), ("  \n", "empty message"),
    ("😀😀🔥", "no letters (emoji, digits or punctuation only)"),
    ("12345 !!", "no letters (emoji, digits or punctuation only)"),
    ("\ufffd\ufffd\ufffd", "undecodable text (invalid UTF-8 at import)"),
    ("\udcff\udcfe", "undecodable text (invalid UTF-8 at import)"),
])
def test_bad_input_abstains_with_a_reason(text: str | None, reason: str) -> None:
    assert screen_text(text) == (None, reason)
    assert LexiconClassifier().classify([text]) == [IntentPrediction(OTHER, 0.0, True, reason)]


def test_long_and_mixed_input_is_clipped_and_classified() -> None:
    cleaned, reason = screen_text("refund " + "x" * 50_000)
    assert reason is None and cleaned is not None and len(cleaned) == 2000
    assert screen_text("ok\ufffd good")[0] == "ok good"
    predictions = LexiconClassifier().classify(["berapa price 多少钱 " * 5000, "where is my order 🙏"])
    assert [p.intent for p in predictions] == ["price", "logistics"]


def test_lexicon_classifier() -> None:
    predictions = LexiconClassifier().classify(["Berapa harganya kak?", "hello there",
                                                "terrible service, I want a refund"])
    assert predictions[0] == IntentPrediction("price", 0.9, False)
    assert predictions[1] == IntentPrediction(OTHER, 0.5, True, "no keyword of any intent")
    assert (predictions[2].intent, predictions[2].confidence) == ("complaint", 0.7)  # two intents: priority


class _Fixed:
    name = "fixed"

    def __init__(self, answer: IntentPrediction) -> None:
        self.answer = answer

    @property
    def labels(self) -> tuple[str, ...]:
        return (self.answer.intent,)

    def classify(self, texts: object) -> list[IntentPrediction]:
        return [self.answer for _ in texts]  # type: ignore[attr-defined]


def test_combined_asks_the_fallback_only_where_the_primary_abstains() -> None:
    unsure = _Fixed(IntentPrediction("praise", 0.3, True, "low confidence"))
    combined = CombinedClassifier(unsure, LexiconClassifier())
    assert [p.intent for p in combined.classify(["how much is it?", "hello"])] == ["price", "praise"]
    sure = CombinedClassifier(_Fixed(IntentPrediction("praise", 0.9, False)), LexiconClassifier())
    assert [p.intent for p in sure.classify(["how much is it?"])] == ["praise"]


def _no_detection(texts: object) -> list[str | None]:
    raise AssertionError("languages detected although the model was sure or languages were given")


def test_language_gate_lets_the_model_answer_stand_on_its_trained_languages() -> None:
    unsure = _Fixed(IntentPrediction("praise", 0.3, True, "low confidence"))
    texts = ["how much is it?", "berapa harganya kak?", "hello", "ok?", "harga?"]
    asked: list[list[str | None]] = []

    def languages_of(batch: list[str | None]) -> list[str | None]:
        asked.append(list(batch))
        return ["en", "id", "en", None, "ms"]

    gated = LanguageGatedClassifier(unsure, LexiconClassifier(), ["en", "ms"], languages_of)
    assert gated.name == "fixed+lexicon-by-language"
    predictions = gated.classify(texts)
    assert asked == [texts]  # every unsure message, detected once
    # en, ms: the model's (abstained) answer stands although a keyword matches; id: the lexicon answers;
    # undetermined: the lexicon is asked, finds no keyword, and the model's abstention stays
    assert predictions == [IntentPrediction("praise", 0.3, True, "low confidence"),
                           IntentPrediction("price", 0.9, False),
                           IntentPrediction("praise", 0.3, True, "low confidence"),
                           IntentPrediction("praise", 0.3, True, "low confidence"),
                           IntentPrediction("praise", 0.3, True, "low confidence")]
    stored = gated.classify(texts, languages=["ru", "en", "ru", "ru", "ru"])  # the events' stored lang
    assert [p.intent for p in stored] == ["price", "praise", "praise", "praise", "price"]
    assert len(asked) == 1
    sure = LanguageGatedClassifier(_Fixed(IntentPrediction("praise", 0.95, False)), LexiconClassifier(), ["en"],
                                   _no_detection)
    assert sure.classify(["berapa harganya kak?"]) == [IntentPrediction("praise", 0.95, False)]
    untrained = LanguageGatedClassifier(unsure, LexiconClassifier(), [])  # a model saved without languages
    assert [p.intent for p in untrained.classify(["how much is it?"])] == ["price"]  # = CombinedClassifier


def test_language_gate_detects_languages_itself() -> None:
    unsure = _Fixed(IntentPrediction("praise", 0.3, True, "low confidence"))
    gated = LanguageGatedClassifier(unsure, LexiconClassifier(), ["en"])
    predictions = gated.classify(["How much does this jacket cost in total?", "Berapa harganya kak, tolong dibalas"])
    assert [p.intent for p in predictions] == ["praise", "price"]


def test_registry_is_an_explicit_table() -> None:
    assert list(CLASSIFIERS) == ["auto", "lexicon", "trained", "combined", "combined-by-language", "llm"]
    context = ClassifierContext(models_dir=None)
    assert open_classifier("auto", context).name == "lexicon"
    with pytest.raises(ConfigError, match="unknown intent classifier 'bert'"):
        open_classifier("bert", context)
    with pytest.raises(ConfigError, match="a trained intent model needs a workspace"):
        open_classifier("trained", context)

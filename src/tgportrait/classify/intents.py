"""Intent classifiers behind one interface: reads message texts, writes (intent, confidence, abstained, reason).

Every classifier takes a batch of texts and returns one ``IntentPrediction`` per text, in order. Bad
input never reaches a model: ``screen_text`` turns empty, letterless (emoji-only) and undecodable texts
into an abstention with a reason, and clips very long ones to ``MAX_CLASSIFIED_CHARS``.

``CLASSIFIERS`` is the registry, one row per classifier name -> factory; a plugin adds a row to the same
table. ``open_classifier(name, context)`` builds one; ``auto`` is the default chosen by measurement
(docs/intents.md, BENCHMARKS.md "Intents and language"; ``benchmarks.intent_default.choose_default``, which
admits only candidates of at least 10,000 messages per CPU second): the workspace's trained model
``default`` through its cascade (static head, accurate head where the static one is unsure; its static
or TF-IDF head when it has no int8 accurate head) with the lexicon behind it on messages outside the
model's trained languages when that model exists, else the lexicon alone; the build runs the same
(``classify.message_intents``). ``trained``, ``combined`` and ``combined-by-language`` use the model's
best head, the accurate (MiniLM) one when it has it: more accurate, ~900 messages per second.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import yaml

from tgportrait.errors import ConfigError

OTHER = "other"
MAX_CLASSIFIED_CHARS = 2000  # a 50,000-character message is classified by its first 2,000 characters
LEXICON_SINGLE_MATCH_CONFIDENCE = 0.9
LEXICON_MULTI_MATCH_CONFIDENCE = 0.7


@dataclass(frozen=True)
class IntentPrediction:
    """One text's intent; ``abstained`` means the classifier is not sure (intent is then its best guess)."""

    intent: str
    confidence: float
    abstained: bool
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"intent": self.intent, "confidence": round(self.confidence, 4), "abstained": self.abstained,
                "reason": self.reason}


class IntentClassifier(Protocol):
    """What every classifier offers: a name, its label set and batch classification."""

    name: str

    @property
    def labels(self) -> tuple[str, ...]: ...

    def classify(self, texts: Sequence[str | None]) -> list[IntentPrediction]: ...


# ---------------------------------------------------------------------------------------------------
# The vocabulary and bad input.


@dataclass(frozen=True)
class IntentVocabulary:
    """Our intents (ids stable: features ``asked_<id>_90d`` use them), each with a name and description."""

    ids: tuple[str, ...]
    names: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)


@cache
def load_vocabulary() -> IntentVocabulary:
    """The vocabulary from ``defaults/intents.yaml`` (its lexicon lives in ``defaults/lexicon.yaml``)."""
    path = Path(str(resources.files("tgportrait.defaults").joinpath("intents.yaml")))
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = document.get("intents") or {}
    if OTHER not in entries:
        raise ConfigError(f"{path}: the intent vocabulary must contain '{OTHER}'")
    return IntentVocabulary(tuple(entries), {key: str(value["name"]) for key, value in entries.items()},
                            {key: str(value["description"]) for key, value in entries.items()})


UNDECODABLE = re.compile("[\ufffd\ud800-\udfff]")  # replacement characters and lone surrogates


def screen_text(text: str | None) -> tuple[str | None, str | None]:
    """(text to classify, None) or (None, reason to abstain); long texts are clipped, never refused."""
    if text is None or not text.strip():
        return None, "empty message"
    clipped = text[:MAX_CLASSIFIED_CHARS]
    replaced = len(UNDECODABLE.findall(clipped))
    if not replaced:  # the common case: one letter is enough (``any`` stops at it)
        if not any(char.isalpha() for char in clipped):
            return None, "no letters (emoji, digits or punctuation only)"
        return unicodedata.normalize("NFC", clipped), None
    letters = sum(char.isalpha() for char in clipped)
    if replaced >= letters:
        return None, "undecodable text (invalid UTF-8 at import)"
    return unicodedata.normalize("NFC", UNDECODABLE.sub("", clipped)), None


def abstention(reason: str) -> IntentPrediction:
    return IntentPrediction(OTHER, 0.0, True, reason)


# ---------------------------------------------------------------------------------------------------
# The lexicon classifier.


class LexiconClassifier:
    """Keywords of ``defaults/lexicon.yaml`` in ten languages; the highest-priority matching intent wins."""

    name = "lexicon"

    def __init__(self, industry: str = "ecommerce", lexicon_path: Path | None = None) -> None:
        from tgportrait.label.lexicon import load_lexicon

        self._lexicon = load_lexicon(industry, lexicon_path)

    @property
    def labels(self) -> tuple[str, ...]:
        return (*self._lexicon.intent_ids, OTHER)

    def classify(self, texts: Sequence[str | None]) -> list[IntentPrediction]:
        predictions: list[IntentPrediction] = []
        for text in texts:
            cleaned, reason = screen_text(text)
            if cleaned is None:
                predictions.append(abstention(reason or "empty message"))
                continue
            matches = self._lexicon.match_intents(cleaned)
            if not matches:
                predictions.append(IntentPrediction(OTHER, 0.5, True, "no keyword of any intent"))
            else:
                confidence = LEXICON_SINGLE_MATCH_CONFIDENCE if len(matches) == 1 else LEXICON_MULTI_MATCH_CONFIDENCE
                predictions.append(IntentPrediction(matches[0], confidence, False))
        return predictions


class CombinedClassifier:
    """One classifier first; where it abstains, the other answers if it does not abstain too.

    ``CombinedClassifier(model, lexicon)`` is the model with the lexicon behind it (the measured default);
    ``CombinedClassifier(lexicon, model)`` trusts keywords first (measured too: see BENCHMARKS.md).
    """

    def __init__(self, primary: IntentClassifier, fallback: IntentClassifier) -> None:
        self.primary, self.fallback = primary, fallback
        self.name = f"{primary.name}+{fallback.name}"

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.primary.labels, *self.fallback.labels)))

    def classify(self, texts: Sequence[str | None]) -> list[IntentPrediction]:
        first = self.primary.classify(texts)
        unsure = [index for index, prediction in enumerate(first) if prediction.abstained]
        if not unsure:
            return first
        second = self.fallback.classify([texts[index] for index in unsure])
        for index, prediction in zip(unsure, second, strict=True):
            if not prediction.abstained:
                first[index] = prediction
        return first


LanguagesOf = Callable[[Sequence[str | None]], list[str | None]]


class LanguageGatedClassifier:
    """The model first; the fallback (the lexicon) answers only where the model abstains on a message in a
    language the model was not trained on (``TrainedIntentModel.trained_languages``).

    On a message in a trained language the model's answer stands, abstaining below its threshold as always
    (its best guess stays the intent): the keywords do not overturn a model on the language it learned.
    Elsewhere, and when the language is undetermined, it is ``CombinedClassifier``. Languages come from
    ``languages=`` (the events' stored ``lang``) or are detected (``detect_message_languages``).
    """

    def __init__(self, primary: IntentClassifier, fallback: IntentClassifier, trained_languages: Sequence[str],
                 languages_of: LanguagesOf | None = None) -> None:
        self.primary, self.fallback = primary, fallback
        self.trained_languages = frozenset(trained_languages)
        self._languages_of = languages_of
        self.name = f"{primary.name}+{fallback.name}-by-language"

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.primary.labels, *self.fallback.labels)))

    def classify(self, texts: Sequence[str | None],
                 languages: Sequence[str | None] | None = None) -> list[IntentPrediction]:
        first = self.primary.classify(texts)
        unsure = [index for index, prediction in enumerate(first) if prediction.abstained]
        if not unsure:
            return first
        if languages is None:
            from tgportrait.classify.language import detect_message_languages

            languages = (self._languages_of or detect_message_languages)([texts[index] for index in unsure])
        else:
            languages = [languages[index] for index in unsure]
        gated = [index for index, code in zip(unsure, languages, strict=True) if code not in self.trained_languages]
        second = self.fallback.classify([texts[index] for index in gated]) if gated else []
        for index, prediction in zip(gated, second, strict=True):
            if not prediction.abstained:
                first[index] = prediction
        return first


# ---------------------------------------------------------------------------------------------------
# The registry.


@dataclass(frozen=True)
class ClassifierContext:
    """What a factory may use: the workspace's models folder, settings values and a model name."""

    models_dir: Path | None
    industry: str = "ecommerce"
    model_name: str = "default"
    abstain_below: float = 0.9
    llm_settings: Any = None


ClassifierFactory = Callable[[ClassifierContext], IntentClassifier]


def _open_trained(context: ClassifierContext) -> IntentClassifier:
    from tgportrait.classify.intent_models import load_model

    return load_model(_require_models_dir(context), context.model_name, abstain_below=context.abstain_below)


def _open_combined(context: ClassifierContext) -> IntentClassifier:
    return CombinedClassifier(_open_trained(context), LexiconClassifier(context.industry))


def _open_combined_by_language(context: ClassifierContext, cascade: bool = False) -> IntentClassifier:
    from tgportrait.classify.intent_models import load_model

    model = load_model(_require_models_dir(context), context.model_name, abstain_below=context.abstain_below,
                       cascade=cascade)
    return LanguageGatedClassifier(model, LexiconClassifier(context.industry), model.trained_languages)


def _open_llm(context: ClassifierContext) -> IntentClassifier:
    from tgportrait.classify.llm import LlmClassifier

    if context.llm_settings is None:
        raise ConfigError("the llm classifier needs the [intents] settings of a workspace",
                          hint="Run inside a workspace and set intents.llm_base_url.")
    return LlmClassifier.from_settings(context.llm_settings, load_vocabulary())


def _open_auto(context: ClassifierContext) -> IntentClassifier:
    from tgportrait.classify.intent_models import model_exists

    if context.models_dir is not None and model_exists(context.models_dir, context.model_name):
        return _open_combined_by_language(context, cascade=True)  # the default must classify 10,000 messages/s
    return LexiconClassifier(context.industry)


def _require_models_dir(context: ClassifierContext) -> Path:
    if context.models_dir is None:
        raise ConfigError("a trained intent model needs a workspace", hint="Pass --workspace or run inside one.")
    return context.models_dir


CLASSIFIERS: dict[str, ClassifierFactory] = {
    "auto": _open_auto,
    "lexicon": lambda context: LexiconClassifier(context.industry),
    "trained": _open_trained,
    "combined": _open_combined,
    "combined-by-language": _open_combined_by_language,
    "llm": _open_llm,
}


def open_classifier(name: str, context: ClassifierContext) -> IntentClassifier:
    """The classifier registered as ``name``, built for ``context``."""
    factory = CLASSIFIERS.get(name)
    if factory is None:
        raise ConfigError(f"unknown intent classifier '{name}'",
                          hint=f"Use one of: {', '.join(CLASSIFIERS)}.")
    return factory(context)

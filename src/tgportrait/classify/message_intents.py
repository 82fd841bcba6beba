"""Per-message intents for the build: reads the lake's message events (Parquet, in batches), writes message_intents.

The build's engine stage tags intents with the lexicon's regexes (``label.features.tag_intents``). When
the workspace has a trained model (``models/intents/default/``) and the configured classifier is
one that uses it (``auto``, ``trained``, ``combined``), the build runs that classifier here instead, with
the model's fast head (static embeddings + TF-IDF, or TF-IDF alone for a model without one), in Python,
streaming ``event_id, type, text, lang`` from the event parts in batches, and writes one row per message to
``<run>/message_intents/part-0.parquet``:

    event_id, intent (null when the classifier abstains), intent_confidence, lang

``lang`` is the event's own ``lang`` (detected at ingest) or, for events imported before ingest detected
languages, detected here with the fast detector. ``tag_intents(..., classified=...)`` then takes the
intent from this table for the messages it holds. Budget: a 1-million-message build may spend at most
3 minutes here (``benchmarks/build_intents.py``; figure in BENCHMARKS.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from tgportrait.classify.intents import (
    CombinedClassifier,
    IntentClassifier,
    LanguageGatedClassifier,
    LexiconClassifier,
)

if TYPE_CHECKING:
    from tgportrait.workspace import Workspace

MESSAGE_INTENTS = pa.schema([("event_id", pa.string()), ("intent", pa.string()),
                             ("intent_confidence", pa.float32()), ("lang", pa.string())])
# the event types whose text is classified: the same as label.features.MESSAGE_TYPES
CLASSIFIED_TYPES = ("message", "forward", "media", "sticker", "poll")
MODEL_CLASSIFIERS = ("auto", "trained", "combined", "combined-by-language")  # classifiers using the trained model
BATCH_ROWS = 50_000
BUILD_MODEL_NAME = "default"  # the model ``tgportrait intents train FILE`` writes without --name


@dataclass
class MessageIntentsReport:
    """What the pass did: messages read, how many got an intent, languages filled here, seconds."""

    classifier: str
    messages: int = 0
    with_intent: int = 0
    languages_detected: int = 0
    seconds: float = 0.0
    path: Path | None = None
    by_intent: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"classifier": self.classifier, "messages": self.messages, "with_intent": self.with_intent,
                "languages_detected": self.languages_detected, "seconds": round(self.seconds, 3),
                "by_intent": dict(sorted(self.by_intent.items()))}


def message_batches(event_parts: Sequence[Path], batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """``event_id, text, lang`` of the message events that have text, streamed in batches of ``batch_rows``."""
    from tgportrait.store.tables import EVENTS

    if not event_parts:
        return
    dataset = ds.dataset([str(part) for part in event_parts], schema=EVENTS, format="parquet")
    wanted = pc.field("type").isin(list(CLASSIFIED_TYPES)) & pc.field("text").is_valid()
    for batch in dataset.to_batches(columns=["event_id", "text", "lang"], filter=wanted, batch_size=batch_rows):
        if batch.num_rows:
            yield batch


def classify_batch(batch: pa.RecordBatch, classifier: IntentClassifier, *, detect_missing_languages: bool = True,
                   report: MessageIntentsReport | None = None) -> pa.RecordBatch:
    """One batch of messages -> rows of ``MESSAGE_INTENTS`` (abstentions keep a null intent)."""
    texts: list[str | None] = batch.column("text").to_pylist()
    languages: list[str | None] = batch.column("lang").to_pylist()
    missing = [index for index, language in enumerate(languages) if language is None]
    if detect_missing_languages and missing:
        from tgportrait.classify.language import detect_message_languages

        for index, language in zip(missing, detect_message_languages([texts[i] for i in missing]), strict=True):
            languages[index] = language
    # the language gate reads the stored languages instead of detecting them again
    predictions = classifier.classify(texts, languages=languages) if isinstance(
        classifier, LanguageGatedClassifier) else classifier.classify(texts)
    intents = [None if prediction.abstained else prediction.intent for prediction in predictions]
    if report is not None:
        report.messages += batch.num_rows
        report.languages_detected += sum(languages[index] is not None for index in missing)
        for intent in intents:
            if intent is not None:
                report.with_intent += 1
                report.by_intent[intent] = report.by_intent.get(intent, 0) + 1
    return pa.RecordBatch.from_arrays(
        [batch.column("event_id"), pa.array(intents, pa.string()),
         pa.array([prediction.confidence for prediction in predictions], pa.float32()),
         pa.array(languages, pa.string())], schema=MESSAGE_INTENTS)


def classify_message_events(event_parts: Sequence[Path], classifier: IntentClassifier, out_folder: Path, *,
                            batch_rows: int = BATCH_ROWS, detect_missing_languages: bool = True
                            ) -> MessageIntentsReport:
    """Classify every message of ``event_parts`` and write ``out_folder/part-0.parquet``; memory stays one batch."""
    started = time.perf_counter()
    report = MessageIntentsReport(classifier.name)
    out_folder.mkdir(parents=True, exist_ok=True)
    path = out_folder / "part-0.parquet"
    with pq.ParquetWriter(path, MESSAGE_INTENTS, compression="zstd") as writer:
        for batch in message_batches(event_parts, batch_rows):
            writer.write_batch(classify_batch(batch, classifier, detect_missing_languages=detect_missing_languages,
                                              report=report))
    report.path, report.seconds = path, time.perf_counter() - started
    return report


def build_classifier(workspace: Workspace) -> IntentClassifier | None:
    """The classifier the build runs in Python, or None: the engine's lexicon tagging is enough.

    A trained model (the cascade, or its fast head: the static head, or TF-IDF) is used when the workspace
    has a model ``default`` and the configured classifier is one that uses it; ``lexicon`` (or ``llm``, too slow
    and costly for every message of every build) leaves the build on the lexicon in the engine.
    """
    from tgportrait.classify.intent_models import load_model, model_exists

    settings, models_dir = workspace.settings.intents, workspace.root / "models"
    if settings.classifier not in MODEL_CLASSIFIERS or not model_exists(models_dir, BUILD_MODEL_NAME):
        return None
    # what auto runs: the cascade when the model has it, else the static head (TF-IDF when it has none); the
    # accurate head alone classifies ~1,000 messages per second, the build's budget needs 10,000
    model = load_model(models_dir, BUILD_MODEL_NAME, abstain_below=settings.abstain_below, cascade=True)
    if settings.classifier == "trained":
        return model
    lexicon = LexiconClassifier(workspace.settings.industry)
    if settings.classifier == "combined":
        return CombinedClassifier(model, lexicon)
    # auto: the measured default's combination (the lexicon answers outside the model's trained languages)
    return LanguageGatedClassifier(model, lexicon, model.trained_languages)


def message_intents_for_build(workspace: Workspace, run_folder: Path) -> MessageIntentsReport | None:
    """The build's pass: classify the lake's messages into ``run_folder/message_intents`` (None: no model)."""
    classifier = build_classifier(workspace)
    if classifier is None:
        return None
    return classify_message_events(workspace.lake.event_parts(), classifier, run_folder / "message_intents")

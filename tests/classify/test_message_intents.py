"""classify.message_intents in the build: a model tags messages; lang stored at ingest; person language falls back."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.store.conftest import module_engine
from tgportrait.build import build
from tgportrait.classify.intent_models import fit_model, save_model
from tgportrait.classify.intents import LexiconClassifier
from tgportrait.classify.message_intents import (
    MESSAGE_INTENTS,
    build_classifier,
    classify_batch,
    classify_message_events,
)
from tgportrait.collect import import_file
from tgportrait.label.features import detected_languages, tag_intents
from tgportrait.label.lexicon import load_lexicon
from tgportrait.store.engine import Engine
from tgportrait.workspace import Workspace

AS_OF = datetime(2026, 11, 30)
# (tg id, questionnaire language or "", messages)
MEMBERS = [
    ("800001", "", ["Где мой заказ? Уже неделю жду посылку", "Когда приедет доставка моего заказа?"]),
    ("800002", "en", ["Хочу вернуть деньги за крем", "Верните деньги, товар не подошёл"]),
]
TRAINING = [("где мой заказ", "where_is_it"), ("когда доставка посылки", "where_is_it"),
            ("посылка не пришла", "where_is_it"), ("верните деньги", "money_back"),
            ("хочу вернуть товар и деньги", "money_back"), ("возврат денег за крем", "money_back")]


def _export(path: Path) -> Path:
    messages = []
    for number, (tg_id, _language, texts) in enumerate(MEMBERS):
        for index, text in enumerate(texts):
            messages.append({"id": 10 * number + index + 1, "type": "message", "date": f"2026-11-0{index + 1}T10:00:00",
                             "date_unixtime": str(1793959200 + 86400 * index + number), "from": f"Member {tg_id}",
                             "from_id": f"user{tg_id}", "text": text,
                             "text_entities": [{"type": "plain", "text": text}]})
    path.write_text(json.dumps({"name": "Shop", "type": "private_supergroup", "id": 1555, "messages": messages},
                               ensure_ascii=False), encoding="utf-8")
    return path


def _questionnaire(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["telegram_user_id", "answered_at", "region", "age", "language", "consent_profiling",
                         "consent_marketing", "consent_sensitive"])
        for tg_id, language, _texts in MEMBERS:
            writer.writerow([tg_id, "2026-06-01T10:00:00Z", "ID", "30", language, "yes", "yes", "yes"])
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("message_intents")
    Workspace.init(root / "ws", "beauty").close()
    with (root / "ws" / "tgportrait.toml").open("a") as handle:  # two people: too few pairs for Splink
        handle.write("\n[identity]\nfuzzy_linkage = false\n")
    workspace = Workspace.open(root / "ws")
    import_file(workspace, "questionnaire", _questionnaire(root / "questionnaire.csv"))
    import_file(workspace, "telegram-export", _export(root / "result.json"))
    texts, labels = zip(*TRAINING, strict=True)
    save_model(fit_model(list(texts) * 2, list(labels) * 2, name="default", abstain_below=0.0),
               workspace.root / "models")
    build(workspace, as_of=AS_OF)
    return workspace


def test_ingest_stores_each_message_language(built: Workspace) -> None:
    events = built.lake.read_events(["type", "lang"]).to_pylist()
    assert sorted(row["lang"] for row in events if row["type"] == "message") == ["ru"] * 4
    assert {row["lang"] for row in events if row["type"] != "message"} == {None}


def test_build_tags_messages_with_the_trained_model(built: Workspace) -> None:
    run_id = built.lake.require_current_run()
    table = pq.read_table(built.lake.run_dir(run_id) / "message_intents" / "part-0.parquet")
    assert table.schema == MESSAGE_INTENTS
    assert sorted(table.column("intent").to_pylist()) == ["money_back", "money_back", "where_is_it", "where_is_it"]
    assert table.column("lang").to_pylist() == ["ru"] * 4
    clean = built.lake.read_run_table("events_clean").to_pylist()
    assert sorted(row["intent"] for row in clean if row["type"] == "message") == [
        "money_back", "money_back", "where_is_it", "where_is_it"]  # the operator's labels, not the lexicon's
    manifest = built.lake.read_manifest()
    assert "intents" in manifest["timings"]  # type: ignore[operator]


def test_person_language_falls_back_to_their_messages(built: Workspace) -> None:
    features = built.lake.read_run_table("features").to_pylist()
    assert sorted(row["language"] for row in features) == ["en", "ru"]  # 800002 answered "en"; 800001 did not


def test_without_a_model_the_build_keeps_the_lexicon(workspace: Workspace) -> None:
    assert build_classifier(workspace) is None


def test_classify_batch_keeps_abstentions_null_and_fills_missing_languages() -> None:
    batch = pa.RecordBatch.from_pydict({"event_id": ["a", "b", "c"], "text": ["Где мой заказ?", "😀😀", "hello"],
                                        "lang": [None, None, "en"]})
    rows = classify_batch(batch, LexiconClassifier()).to_pylist()
    assert [(row["event_id"], row["intent"], row["lang"]) for row in rows] == [
        ("a", "logistics", "ru"), ("b", None, None), ("c", None, "en")]
    assert [row["intent_confidence"] for row in rows] == pytest.approx([0.9, 0.0, 0.5])


def test_classify_message_events_streams_in_batches(built: Workspace, tmp_path: Path) -> None:
    report = classify_message_events(built.lake.event_parts(), LexiconClassifier(), tmp_path / "out", batch_rows=1)
    # the lexicon has no keyword in "Верните деньги, товар не подошёл"; the model above learnt it
    assert (report.messages, report.with_intent, report.languages_detected) == (4, 3, 0)
    assert report.by_intent == {"aftersales": 1, "logistics": 2}
    assert pq.read_table(tmp_path / "out" / "part-0.parquet").num_rows == 4


engine = module_engine("message-intents")


def test_tag_intents_join_and_language_fallback_on_each_engine(engine: Engine) -> None:
    """The engine side of the model path (the join and the majority language), the same on DuckDB and Spark."""
    events = engine.from_arrow(pa.table({
        "event_id": ["e1", "e2", "e3", "e4", "e5"], "person_id": ["p1", "p1", "p1", "p2", "p2"],
        "type": ["message", "message", "message", "message", "order"],
        "text": ["Где мой заказ", "Верните деньги", "ok", "Where is my order", None],
        "text_folded": ["где мой заказ", "верните деньги", "ok", "where is my order", None],
        "lang": ["ru", None, None, "en", None], "language_code": pa.array([None] * 5, pa.string()),
        "occurred_at": pa.array([datetime(2026, 11, day) for day in range(1, 6)], pa.timestamp("us"))}),
        "events_under_test")
    classified = engine.from_arrow(pa.table({
        "event_id": ["e1", "e2", "e3"], "intent": ["where_is_it", "money_back", None],
        "intent_confidence": pa.array([0.97, 0.95, 0.2], pa.float32()), "lang": ["ru", "ru", None]}),
        "message_intents_under_test")
    tagged = tag_intents(events, load_lexicon("ecommerce"), classified)
    rows = engine.execute(tagged.select("event_id", "intent", "lang"), "tagged").to_pylist()
    assert sorted((row["event_id"], row["intent"], row["lang"]) for row in rows) == [
        ("e1", "where_is_it", "ru"), ("e2", "money_back", "ru"), ("e3", None, None),
        ("e4", "logistics", "en"),  # not in the table: the lexicon, in the engine
        ("e5", None, None)]
    languages = engine.execute(detected_languages(tagged), "detected_languages").to_pylist()
    assert sorted((row["person_id"], row["detected_language"]) for row in languages) == [("p1", "ru"), ("p2", "en")]


def test_the_build_runs_the_measured_combination(built: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from tgportrait.classify.intents import CombinedClassifier, LanguageGatedClassifier

    chosen = build_classifier(built)
    assert isinstance(chosen, LanguageGatedClassifier)   # auto: the lexicon only outside the trained languages
    for name, expected in (("combined", CombinedClassifier), ("lexicon", type(None))):
        intents = built.settings.intents.model_copy(update={"classifier": name})
        monkeypatch.setattr(built, "settings", built.settings.model_copy(update={"intents": intents}))
        assert isinstance(build_classifier(built), expected)

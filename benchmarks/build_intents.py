"""What intents add to a build: reads Bitext + our fixtures, writes synthetic event parts and eval/build-intents.json.

    python -m benchmarks.build_intents [--messages 1000000] [--data /work/shared/data/intent] [--out FILE]

The build's budget (issue 5): a 1-million-message build adds at most 3 minutes. This script writes
``--messages`` distinct message events (Bitext and our multilingual set, a number appended to each) as
lake parts in the ``EVENTS`` schema, with ``lang`` and ``text_folded`` filled as ingest fills them, then
times, on one core:

1. the build's Python pass (``classify.message_intents.classify_message_events``): the trained model as the
   build loads it (the cascade when MiniLM is installed, else the TF-IDF head; ``head`` in the result) with the lexicon
   behind it outside the model's trained languages (the events' stored ``lang``), as ``auto`` runs it,
   streamed in batches, writing ``message_intents``;
2. the engine step on DuckDB: ``tag_intents`` with the lexicon only (today's path without a model) and
   with the ``message_intents`` join, each counted to the end (``intent`` per message computed);
3. language detection at ingest (``detect_message_languages``) on a sample, scaled to the same count.

"Added by intents" = pass 1 + the join path's engine time - the lexicon path's engine time, in CPU seconds
of this process (one core: BLAS and DuckDB pinned to one thread); wall seconds are printed too (on a
shared machine they also count time other jobs held the core).
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402 - after pinning the thread counts
import csv  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from benchmarks.eval_intents import BITEXT_TO_OURS, DEFAULT_DATA, FIXTURES  # noqa: E402
from tgportrait.classify.embeddings import packaged_model_dir  # noqa: E402
from tgportrait.classify.intent_models import fit_model, load_model, save_model  # noqa: E402
from tgportrait.classify.intents import LanguageGatedClassifier, LexiconClassifier  # noqa: E402
from tgportrait.classify.language import detect_message_languages  # noqa: E402
from tgportrait.classify.message_intents import classify_message_events  # noqa: E402
from tgportrait.classify.text import fold_texts  # noqa: E402
from tgportrait.label.lexicon import load_lexicon  # noqa: E402
from tgportrait.store.tables import EVENTS  # noqa: E402

BUDGET_SECONDS = 180
PART_ROWS = 250_000
LANGUAGE_SAMPLE = 20_000


def corpus(data: Path) -> tuple[list[str], list[str], list[str]]:
    """(texts, labels, languages): Bitext (English) and our multilingual set."""
    with (data / "bitext_customer_support" / "bitext_train.csv").open(encoding="utf-8", newline="") as handle:
        bitext = list(csv.DictReader(handle))
    with (FIXTURES / "intents_multilingual.csv").open(encoding="utf-8", newline="") as handle:
        ours = list(csv.DictReader(handle))
    return ([row["instruction"] for row in bitext] + [row["text"] for row in ours],
            [BITEXT_TO_OURS[row["intent"]] for row in bitext] + [row["intent"] for row in ours],
            ["en"] * len(bitext) + [row["language"] for row in ours])


def write_parts(folder: Path, texts: Sequence[str], languages: Sequence[str], count: int, seed: int = 5) -> list[Path]:
    """``count`` distinct message events in parts of ``PART_ROWS`` rows (the lake's layout)."""
    chooser = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    parts: list[Path] = []
    for start in range(0, count, PART_ROWS):
        size = min(PART_ROWS, count - start)
        picks = [chooser.randrange(len(texts)) for _ in range(size)]
        batch_texts = [f"{texts[pick]} #{start + index}" for index, pick in enumerate(picks)]
        columns: dict[str, Any] = {name: pa.nulls(size, field.type) for name, field in
                                   zip(EVENTS.names, EVENTS, strict=True)}
        columns |= {"event_id": pa.array([f"m{start + index}" for index in range(size)]),
                    "type": pa.array(["message"] * size), "source": pa.array(["telegram"] * size),
                    "text": pa.array(batch_texts), "text_folded": pa.array(fold_texts(batch_texts)),
                    "lang": pa.array([languages[pick] for pick in picks])}
        path = folder / f"part-{len(parts):04d}.parquet"
        pq.write_table(pa.table(columns, schema=EVENTS), path)
        parts.append(path)
    return parts


def engine_seconds(parts: list[Path], classified: Path | None) -> tuple[float, float]:
    """DuckDB on one thread: tag_intents over the parts (with or without the message_intents join), counted by
    intent; (CPU seconds of this process, wall seconds)."""
    import ibis

    from tgportrait.label.features import tag_intents

    connection = ibis.duckdb.connect()
    connection.raw_sql("SET threads = 1")
    events = connection.read_parquet([str(part) for part in parts])
    table = connection.read_parquet(str(classified)) if classified is not None else None
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    tagged = tag_intents(events, load_lexicon("ecommerce"), table)
    connection.execute(tagged.group_by("intent").aggregate(n=tagged.count()))
    return time.process_time() - cpu_started, time.perf_counter() - wall_started


def measure(data: Path, count: int, work: Path) -> dict[str, Any]:
    texts, labels, languages = corpus(data)
    parts = write_parts(work / "events", texts, languages, count)
    # the model as the build loads it (``load_model(..., cascade=True)``): the cascade when MiniLM and ONNX Runtime
    # are installed, else its fast head
    save_model(fit_model(texts, labels, embeddings=packaged_model_dir() is not None), work / "models")
    fast = load_model(work / "models", "default", cascade=True)
    # what the build runs for ``auto``: the lexicon behind the model outside its trained languages (stored ``lang``)
    classifier = LanguageGatedClassifier(fast, LexiconClassifier(), fast.trained_languages)
    cpu_started = time.process_time()
    report = classify_message_events(parts, classifier, work / "message_intents")
    python_cpu = time.process_time() - cpu_started
    lexicon_cpu, lexicon_wall = engine_seconds(parts, None)
    join_cpu, join_wall = engine_seconds(parts, report.path)
    sample = [f"{text} #{index}" for index, text in enumerate(random.Random(9).choices(texts, k=LANGUAGE_SAMPLE))]
    detect_message_languages(sample[:50])  # load lingua's models before timing
    language_started = time.process_time()
    detect_message_languages(sample)
    language_per_second = LANGUAGE_SAMPLE / (time.process_time() - language_started)
    return {"messages": count, "budget_seconds": BUDGET_SECONDS, "head": fast.head,
            "python_pass_cpu_seconds": round(python_cpu, 1), "python_pass_wall_seconds": round(report.seconds, 1),
            "engine_lexicon_cpu_seconds": round(lexicon_cpu, 1), "engine_with_model_cpu_seconds": round(join_cpu, 1),
            "engine_lexicon_wall_seconds": round(lexicon_wall, 1),
            "engine_with_model_wall_seconds": round(join_wall, 1),
            "added_cpu_seconds": round(python_cpu + join_cpu - lexicon_cpu, 1),
            "added_wall_seconds": round(report.seconds + join_wall - lexicon_wall, 1),
            "with_intent": report.with_intent, "ingest_language_per_cpu_second": round(language_per_second),
            "ingest_language_cpu_seconds_for_all": round(count / language_per_second, 1)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        result = measure(args.data, args.messages, Path(work))
    verdict = "within" if result["added_cpu_seconds"] <= BUDGET_SECONDS else "OVER"
    print(f"{result['messages']:,} messages, {result['head']} head: Python pass "
          f"{result['python_pass_cpu_seconds']} s CPU ({result['python_pass_wall_seconds']} s wall); "
          f"engine (1 thread) {result['engine_lexicon_cpu_seconds']} s "
          f"CPU with the lexicon, {result['engine_with_model_cpu_seconds']} s with the model's intents joined")
    print(f"added by intents: {result['added_cpu_seconds']} s of one core ({verdict} the {BUDGET_SECONDS} s budget; "
          f"wall {result['added_wall_seconds']} s on this machine); {result['with_intent']:,} messages got an intent")
    print(f"language at ingest: {result['ingest_language_per_cpu_second']:,} messages per CPU second "
          f"(≈ {result['ingest_language_cpu_seconds_for_all']} s of one core for all of them)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

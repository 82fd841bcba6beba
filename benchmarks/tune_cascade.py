"""Choosing the cascade's threshold (``CASCADE_BELOW``): reads banking77's train split, writes per threshold the
share of messages sent to the accurate head, the hold-out accuracy and the speed, and the rule's choice.

    python -m benchmarks.tune_cascade [--data /work/shared/data/intent] [--runs 3] [--sample N] [--out FILE]

Never the test split: the model (TF-IDF, static and int8 accurate heads, as ``fit_model`` fits them) is fitted
on 80 % of banking77's *train* split and scored on the other 20 % (stratified, ``random_state=7``, as
``benchmarks.tune_static_intents``). The hold-out's messages, made distinct (2,000, a number appended; 100
others to warm up), are the traffic the speed is timed on. The rule: the largest threshold of
``THRESHOLDS`` whose cascade classifies at least ``REQUIRED_PER_SECOND`` messages per CPU second (the
10,000 target and a tenth to spare), the median of ``--runs`` timings. One core: BLAS/OpenMP threads
pinned to 1 before NumPy loads. Figures quoted in docs/intents.md ("The cascade").
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402 - after pinning the thread counts
import json  # noqa: E402
import statistics  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.eval_intents import DEFAULT_DATA, read_csv, sample_rows  # noqa: E402
from benchmarks.intents_speed import distinct_messages, throughput  # noqa: E402
from tgportrait.classify.intent_models import fit_model  # noqa: E402

THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
REQUIRED_PER_SECOND = 11_000
TIMED_MESSAGES = 2_000


def tune(data: Path, runs: int, sample: int | None = None, timed_messages: int = TIMED_MESSAGES) -> dict[str, Any]:
    from collections import Counter

    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits

    from tgportrait.classify.onnx_encoder import load_onnx_encoder

    rows = sample_rows(read_csv(data / "banking77" / "train.csv"), sample)
    texts, labels = [row["text"] for row in rows], [row["category"] for row in rows]
    stratify = labels if min(Counter(labels).values()) >= 2 else None  # a small sample may have a label once
    fit_index, hold_index = train_test_split(range(len(rows)), test_size=0.2, stratify=stratify, random_state=7)
    model = fit_model([texts[i] for i in fit_index], [labels[i] for i in fit_index], embeddings=True, static=True,
                      encoder=load_onnx_encoder(), text_languages=[None] * len(fit_index))
    held, truth = [texts[i] for i in hold_index], np.asarray([labels[i] for i in hold_index])
    messages = distinct_messages(held, timed_messages + 100)
    timed, warm_up = messages[:timed_messages], messages[timed_messages:]
    names = np.asarray(model.labels)
    result: dict[str, Any] = {"holdout_rows": len(held), "timed_messages": timed_messages, "runs": runs,
                              "required_per_second": REQUIRED_PER_SECOND, "thresholds": {}}
    with threadpool_limits(limits=1):
        for threshold in THRESHOLDS:
            cascade = replace(model, cascade_below=threshold)
            margins, asked = cascade.routed_scores(held)
            speeds = [throughput(cascade, timed, batch=len(timed), warm_up=warm_up, runs=1)[0] for _ in range(runs)]
            result["thresholds"][f"{threshold:g}"] = {
                "accurate_share": round(float(asked.mean()), 4),
                "holdout_accuracy": round(float(np.mean(names[margins.argmax(axis=1)] == truth)), 4),
                "per_second": round(statistics.median(speeds)), "per_second_runs": [round(s) for s in speeds]}
    fast_enough = [float(name) for name, row in result["thresholds"].items()
                   if row["per_second"] >= REQUIRED_PER_SECOND]
    result["chosen"] = max(fast_enough) if fast_enough else None
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=None, help="Only this many training rows (a quick check).")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    result = tune(args.data, args.runs, args.sample)
    print(f"{'threshold':>9}{'asked':>8}{'hold-out':>10}{'msg/CPU-s':>11}  runs")
    for name, row in result["thresholds"].items():
        print(f"{name:>9}{row['accurate_share']:>8.3f}{row['holdout_accuracy']:>10.4f}{row['per_second']:>11}  "
              f"{row['per_second_runs']}")
    print(f"chosen (largest with >= {REQUIRED_PER_SECOND} msg/CPU-s): {result['chosen']}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Choosing the static intent head's token table and weight: reads banking77's train split and Bitext, writes a table
of hold-out accuracy and cross-validation errors to stdout (and JSON with ``--out``).

    python -m benchmarks.tune_static_intents [--data /work/shared/data/intent] [--tables input-centred,distilled]
                                             [--weights 1,2,3] [--idf] [--sample N] [--out FILE]

Never the test split: banking77 is scored on a stratified 20 % hold-out of its *train* split
(``random_state=7``), Bitext by 5-fold cross-validation (errors of its rows). Each row is the TF-IDF
head's columns plus the static vectors of one token table times one weight, a LinearSVC (C=1), as
``classify.intent_models.fit_model`` fits the static head. Tables: ``input-centred`` (what the static head
uses: MiniLM's input token embeddings minus their mean row), ``input``, ``distilled`` and
``distilled-centred`` (model2vec-style: each token run through the whole encoder as ``[CLS] token [SEP]``
with mean pooling; ~150 CPU seconds). ``--idf`` also weights tokens by their IDF over the training texts.
Figures quoted in docs/intents.md, "How the static head was chosen".
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.eval_intents import BITEXT_TO_OURS, DEFAULT_DATA, read_csv, sample_rows
from tgportrait.classify.embeddings import load_encoder
from tgportrait.classify.intent_models import CHAR_PARAMS, WORD_PARAMS, prepare_texts
from tgportrait.classify.static_embeddings import StaticEmbedder, static_embedder_from_minilm


def distilled_table(batch: int = 1024) -> np.ndarray:
    """Every token's sentence vector as the encoder computes it for ``[CLS] token [SEP]`` (mean pooling)."""
    encoder = load_encoder()
    tokenizer, size = encoder.tokenizer, len(encoder.tokenizer.vocabulary)
    table = np.zeros((size, encoder.dimensions), dtype=np.float32)
    for start in range(0, size, batch):
        ids = np.arange(start, min(size, start + batch))
        rows = np.stack([np.full(len(ids), tokenizer.first), ids, np.full(len(ids), tokenizer.last)], axis=1)
        table[ids] = encoder._forward(rows, np.ones_like(rows))
    return table


def token_tables(names: Sequence[str]) -> dict[str, StaticEmbedder]:
    base = static_embedder_from_minilm()
    raw = load_encoder().weights["embeddings.word_embeddings.weight"]
    tables: dict[str, StaticEmbedder] = {}
    for name in names:
        if name.startswith("distilled"):
            table = distilled_table()
        elif name.startswith("input"):
            table = np.array(raw, dtype=np.float32)
        else:
            raise SystemExit(f"unknown table '{name}' (input, input-centred, distilled, distilled-centred)")
        if name.endswith("-centred"):
            table = table - table.mean(axis=0)
        tables[name] = StaticEmbedder(base.tokens, table.astype(np.float32))
    return tables


def static_columns(embedder: StaticEmbedder, train: list[str], test: list[str], idf: bool) -> tuple[Any, Any]:
    """Unit-length (IDF-weighted) static vectors of the prepared train and test texts."""
    train_counts, test_counts = embedder.token_counts(train), embedder.token_counts(test)
    weights = np.ones(len(embedder.tokens), dtype=np.float32)
    if idf:
        documents = np.bincount(train_counts.indices, minlength=len(embedder.tokens))
        weights = (np.log((train_counts.shape[0] + 1) / (documents + 1)) + 1).astype(np.float32)
    table = embedder.table * weights[:, None]

    def unit(vectors: np.ndarray) -> np.ndarray:
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    return unit(np.asarray(train_counts @ table)), unit(np.asarray(test_counts @ table))


def score_split(train: list[str], train_labels: list[str], test: list[str], test_labels: list[str],
                tables: dict[str, StaticEmbedder], weights: Sequence[float], idf: bool) -> dict[str, int]:
    """Right answers on ``test`` per setting (``tfidf`` alone, then ``table[+idf] xweight``)."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    train, test = prepare_texts(train), prepare_texts(test)
    word, char = TfidfVectorizer(**WORD_PARAMS), TfidfVectorizer(**CHAR_PARAMS)
    train_matrix = hstack([word.fit_transform(train), char.fit_transform(train)]).tocsr()
    test_matrix = hstack([word.transform(test), char.transform(test)]).tocsr()
    truth = np.asarray(test_labels)

    def right(fit_on: Any, score_on: Any) -> int:
        return int(np.sum(LinearSVC(C=1.0).fit(fit_on, train_labels).predict(score_on) == truth))

    result = {"tfidf": right(train_matrix, test_matrix)}
    for name, embedder in tables.items():
        for use_idf in (False, True) if idf else (False,):
            train_static, test_static = static_columns(embedder, train, test, use_idf)
            label = f"{name}{'+idf' if use_idf else ''}"
            result[f"{label} alone"] = right(train_static, test_static)
            for weight in weights:
                fit_on = hstack([train_matrix, csr_matrix(train_static * weight)]).tocsr()
                result[f"{label} x{weight:g}"] = right(fit_on, hstack([test_matrix, csr_matrix(test_static * weight)]))
    return result


def tune(data: Path, tables: dict[str, StaticEmbedder], weights: Sequence[float], idf: bool,
         sample: int | None) -> dict[str, Any]:
    from sklearn.model_selection import StratifiedKFold, train_test_split

    rows = sample_rows(read_csv(data / "banking77" / "train.csv"), sample)
    texts, labels = [row["text"] for row in rows], [row["category"] for row in rows]
    fit_index, hold_index = train_test_split(range(len(rows)), test_size=0.2, stratify=labels, random_state=7)
    right = score_split([texts[i] for i in fit_index], [labels[i] for i in fit_index], [texts[i] for i in hold_index],
                        [labels[i] for i in hold_index], tables, weights, idf)
    banking = {name: round(count / len(hold_index), 4) for name, count in right.items()}
    rows = sample_rows(read_csv(data / "bitext_customer_support" / "bitext_train.csv"), sample)
    texts, labels = [row["instruction"] for row in rows], [BITEXT_TO_OURS[row["intent"]] for row in rows]
    errors: dict[str, int] = {}
    for train_index, test_index in StratifiedKFold(n_splits=5, shuffle=True, random_state=7).split(texts, labels):
        right = score_split([texts[i] for i in train_index], [labels[i] for i in train_index],
                            [texts[i] for i in test_index], [labels[i] for i in test_index], tables, weights, idf)
        for name, count in right.items():
            errors[name] = errors.get(name, 0) + len(test_index) - count
    return {"banking77_holdout": {"rows": len(hold_index), "accuracy": banking},
            "bitext_cv": {"rows": len(texts), "errors": errors}}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--tables", default="input-centred,distilled,distilled-centred")
    parser.add_argument("--weights", default="1,2,3")
    parser.add_argument("--idf", action="store_true", help="Also weight tokens by IDF.")
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    result = tune(args.data, token_tables(args.tables.split(",")), [float(w) for w in args.weights.split(",")],
                  args.idf, args.sample)
    accuracy, errors = result["banking77_holdout"]["accuracy"], result["bitext_cv"]["errors"]
    print(f"{'setting':<32}{'banking77 hold-out':>20}{'Bitext errors':>15}")
    for name in accuracy:
        print(f"{name:<32}{accuracy[name]:>20.4f}{errors[name]:>15}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Trained intent models: reads labelled texts, writes models/intents/<name>/ (JSON + NumPy arrays, no pickle).

Up to three heads over one label set. The TF-IDF head: word (1-3) plus character (2-5, within word
boundaries) TF-IDF features of the folded text (``label.lexicon.fold_text``: case, accents and letter
variants unified, so it works across scripts; digit runs as ``0``) and a linear SVM per label
(one-vs-rest, ``C=1``); its columns come from per-word caches (``classify.ngram_features``); ~50,000
messages per CPU second. The static head (when the packaged MiniLM is installed at training time): the
same TF-IDF columns plus the message's static embedding (the mean of MiniLM's token vectors,
``classify.static_embeddings``) times ``STATIC_WEIGHT``, another linear SVM; about as fast. The accurate
head (optional, MiniLM installed): the TF-IDF columns plus the message's sentence embedding (int8 MiniLM
on ONNX Runtime, ``classify.onnx_encoder``; older models: the NumPy encoder, ``classify.embeddings``)
times ``EMBEDDING_WEIGHT``; ~900 messages per CPU second. The cascade (``CASCADE_BELOW``): the static head,
and the accurate head where the static head is unsure; what ``auto`` and the build run when the model has
both. C, the weights and the digit folding were chosen
on a hold-out of banking77's train split and on Bitext's cross-validation, never on a test split
(docs/intents.md). Confidence is the softmax of the SVM margins times ``MARGIN_SCALE``; below
``abstain_below`` (0.9: on our non-English set a less sure model is worse than the keywords) the model
abstains and the combined classifier asks the lexicon.

Trust boundary: a saved model is plain data, ``model.json`` (parameters, labels, vocabularies) and
``arrays.npz`` (IDF weights, coefficients; loaded with ``allow_pickle=False``). Loading never executes
code from the file, so a model copied from elsewhere can give wrong answers but cannot run anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tgportrait.classify.intents import IntentPrediction, abstention, screen_text
from tgportrait.classify.ngram_features import NgramFeatures
from tgportrait.classify.onnx_encoder import encoder_name
from tgportrait.classify.static_embeddings import SOURCE
from tgportrait.errors import ConfigError, InputError

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer

    from tgportrait.classify.embeddings import TextEncoder
    from tgportrait.classify.static_embeddings import StaticEmbedder

FORMAT_VERSION = 1
MARGIN_SCALE = 4.0
SVM_C = 1.0
WORD_PARAMS: dict[str, Any] = {"analyzer": "word", "ngram_range": (1, 3), "sublinear_tf": True,
                               "token_pattern": r"(?u)\b\w+\b", "lowercase": False, "dtype": np.float32}
CHAR_PARAMS: dict[str, Any] = {"analyzer": "char_wb", "ngram_range": (2, 5), "sublinear_tf": True,
                               "lowercase": False, "dtype": np.float32}


EMBEDDING_WEIGHT = 1.0  # scale of the sentence-embedding columns beside the TF-IDF ones (see docs/intents.md)
# The cascade: messages on which the static head's confidence is below this go to the accurate head. Chosen on
# banking77's train split (a 20 % hold-out as traffic), never a test split (``make tune-cascade``,
# docs/intents.md): the largest of 0.2, 0.25, ..., 0.5 whose cascade classifies at least 11,000 messages per CPU
# second (the 10,000 target and a tenth to spare) on the hold-out's messages. 0.3 sends 2.7 % of them to the
# accurate head (12,414/s; 0.35: 3.9 %, 10,419/s; eval/tune-cascade.json) and none of Bitext's. It was 0.25 until
# the static head's features became array work (2026-12-05); the rule admitted 0.3 after that.
CASCADE_BELOW = 0.3
STATIC_WEIGHT = 2.0  # scale of the static-embedding columns beside the TF-IDF ones (see docs/intents.md)
# A language the model "knows": at least this share of its training texts (whose language is determined) is in
# it. Set a priori (a language the operator labelled in earnest, not a sprinkle of examples); in our evaluations
# English is 96-99 % of the training texts (Bitext, banking77) and no other language reaches 1 %, so any value
# from 0.01 to 0.9 gives the same figures.
TRAINED_LANGUAGE_SHARE = 0.1


def models_root(models_dir: Path) -> Path:
    return models_dir / "intents"


def model_exists(models_dir: Path, name: str) -> bool:
    return (models_root(models_dir) / name / "model.json").is_file()


DIGITS = re.compile(r"\d+")


def prepare_texts(texts: Sequence[str], fold_digits: bool = True) -> list[str]:
    """The text the features see: folded like the lexicon does (cheap, repeated texts folded once), and each
    run of digits as one ``0`` (order numbers and amounts say nothing about the intent; measured in
    docs/intents.md). Models saved before ``fold_digits`` existed keep their digits."""
    from tgportrait.classify.text import fold_texts

    folded = [text or "" for text in fold_texts(texts)]
    return [DIGITS.sub("0", text) for text in folded] if fold_digits else folded


@dataclass
class EmbeddingHead:
    """The accurate head: linear scorers over [TF-IDF, ``weight`` x sentence embedding] (``classify.embeddings``)."""

    encoder: TextEncoder
    weight: float
    coef: np.ndarray
    intercept: np.ndarray


@dataclass
class StaticHead:
    """The static head: linear scorers over [TF-IDF, ``weight`` x static embedding] (``classify.static_embeddings``)."""

    embedder: StaticEmbedder
    weight: float
    coef: np.ndarray
    intercept: np.ndarray


@dataclass
class TrainedIntentModel:
    """A fitted model: two vectorizers and one linear scorer per label (the TF-IDF head), and optionally a
    static head and an embedding head. It scores with the best head it may use (``head``): the embedding
    head unless ``fast_only`` (the build's setting: docs/intents.md), then the static head unless
    ``tfidf_only``, then the TF-IDF head."""

    name: str
    labels: tuple[str, ...]
    word: TfidfVectorizer
    char: TfidfVectorizer
    coef: np.ndarray
    intercept: np.ndarray
    abstain_below: float = 0.9
    examples: int = 0
    embedding: EmbeddingHead | None = None
    fast_only: bool = False
    fold_digits: bool = True
    languages: dict[str, int] = field(default_factory=dict)  # training texts per detected language
    static: StaticHead | None = None
    tfidf_only: bool = False
    cascade_below: float | None = None  # the cascade: the accurate head on messages the static head is less sure of
    _ngrams: NgramFeatures | None = field(default=None, init=False, repr=False)
    _tfidf_weights: dict[str, tuple[list[Any], np.ndarray]] = field(default_factory=dict, init=False, repr=False)

    @property
    def trained_languages(self) -> tuple[str, ...]:
        """The languages of at least ``TRAINED_LANGUAGE_SHARE`` of the training texts (most frequent first);
        the language-gated combination lets the model's answer stand on messages in these languages."""
        total = sum(self.languages.values())
        ranked = sorted(self.languages.items(), key=lambda item: (-item[1], item[0]))
        return tuple(code for code, count in ranked if total and count / total >= TRAINED_LANGUAGE_SHARE)

    def features(self, texts: Sequence[str], prepared: Sequence[str] | None = None) -> csr_matrix:
        """The TF-IDF columns of ``texts`` (``prepared``: the texts already through ``prepare_texts``)."""
        prepared = prepare_texts(texts, self.fold_digits) if prepared is None else prepared
        if self._ngrams is None:
            self._ngrams = NgramFeatures(self.word, self.char)
        return self._ngrams.transform(prepared)

    @property
    def uses_embeddings(self) -> bool:
        return self.embedding is not None and not self.fast_only and not self.tfidf_only

    @property
    def head(self) -> str:
        """The head ``scores`` uses: ``cascade`` (static, then accurate where the static head is unsure),
        ``accurate``, ``static`` or ``tfidf``."""
        if self.uses_embeddings:
            return "cascade" if self.cascade_below is not None and self.static is not None else "accurate"
        return "static" if self.static is not None and not self.tfidf_only else "tfidf"

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Margins of the head in use (``head``), one row per text and one column per label."""
        return self._margins(texts)[0]

    def routed_scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(``scores``, which texts the accurate head answered): all of them for the accurate head, those the
        static head was unsure of for the cascade, none for the others."""
        margins, _, accurate = self._margins(texts)
        return margins, accurate

    def _margins(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(margins of the head in use, margins of the TF-IDF head, which rows the accurate head answered)."""
        prepared = prepare_texts(texts, self.fold_digits)
        tfidf = self.features(texts, prepared)
        head = self.head
        accurate = np.full(len(texts), head == "accurate")
        if head in ("tfidf", "accurate"):
            tfidf_margins = np.asarray(tfidf @ self._weights_of_tfidf("tfidf")) + self.intercept
            if head == "tfidf":
                return tfidf_margins, tfidf_margins, accurate
            return self._accurate_margins(texts, tfidf), tfidf_margins, accurate
        assert self.static is not None
        static = self.static
        both = np.asarray(tfidf @ self._weights_of_tfidf("tfidf+static"))  # one pass over the sparse rows
        tfidf_margins = both[:, :len(self.labels)] + self.intercept
        vectors = static.embedder.encode(prepared) * np.float32(static.weight)
        margins = both[:, len(self.labels):] + vectors @ static.coef[:, tfidf.shape[1]:].T + static.intercept
        if head == "cascade":
            assert self.cascade_below is not None
            accurate = _softmax(margins * MARGIN_SCALE).max(axis=1) < self.cascade_below
            if accurate.any():
                rows = np.flatnonzero(accurate)
                margins[rows] = self._accurate_margins([texts[int(row)] for row in rows], tfidf[rows])
        return margins, tfidf_margins, accurate

    def _weights_of_tfidf(self, heads: str) -> np.ndarray:
        """The heads' coefficients of the TF-IDF columns, transposed and contiguous (what a sparse product reads
        fastest), side by side for ``tfidf+static``; made again only when a head's coefficients are replaced."""
        parts = {"tfidf": self.coef, "static": self.static.coef if self.static else None,
                 "accurate": self.embedding.coef if self.embedding else None}
        sources = [parts[name] for name in heads.split("+")]
        cached = self._tfidf_weights.get(heads)
        if cached is None or any(old is not new for old, new in zip(cached[0], sources, strict=True)):
            width = len(self.word.vocabulary_) + len(self.char.vocabulary_)
            blocks = [source[:, :width] for source in sources if source is not None]
            assert len(blocks) == len(sources)
            cached = self._tfidf_weights[heads] = (sources, np.ascontiguousarray(np.vstack(blocks).T, np.float32))
        return cached[1]

    def _accurate_margins(self, texts: Sequence[str], tfidf: csr_matrix) -> np.ndarray:
        assert self.embedding is not None
        embedding, width = self.embedding, tfidf.shape[1]
        vectors = embedding.encoder.encode(list(texts)) * np.float32(embedding.weight)
        return (np.asarray(tfidf @ self._weights_of_tfidf("accurate")) + vectors @ embedding.coef[:, width:].T
                + embedding.intercept)

    def classify(self, texts: Sequence[str | None]) -> list[IntentPrediction]:
        """One prediction per text; abstained below ``abstain_below``. The static head also abstains where the
        TF-IDF head alone would: its token vectors are English MiniLM's, and on a message in another language it
        can be sure of a wrong intent (docs/intents.md)."""
        cleaned = [screen_text(text) for text in texts]
        unique = list(dict.fromkeys(text for text, _ in cleaned if text is not None))
        results: dict[str, IntentPrediction] = {}
        if unique:
            margins, tfidf_margins, accurate = self._margins(unique)
            probabilities = _softmax(margins * MARGIN_SCALE)
            best = probabilities.argmax(axis=1)
            confidences = probabilities[np.arange(len(unique)), best]
            unsure = confidences < self.abstain_below
            if self.head in ("static", "cascade"):  # the static head's answers (not the accurate head's)
                unsure |= ~accurate & (_softmax(tfidf_margins * MARGIN_SCALE).max(axis=1) < self.abstain_below)
            for text, index, confidence, abstained in zip(unique, best, confidences, unsure, strict=True):
                results[text] = IntentPrediction(self.labels[index], float(confidence), bool(abstained),
                                                 "low confidence" if abstained else None)
        return [results[text] if text is not None else abstention(reason or "empty message")
                for text, reason in cleaned]


def _softmax(margins: np.ndarray) -> np.ndarray:
    shifted = np.exp(margins - margins.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _fit_svm(matrix: Any, labels: Sequence[str], svm_c: float) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    from sklearn.svm import LinearSVC

    svm = LinearSVC(C=svm_c).fit(matrix, list(labels))
    coef, intercept = svm.coef_.astype(np.float32), svm.intercept_.astype(np.float32)
    if len(svm.classes_) == 2:  # binary: sklearn keeps one row (the second class); make it one per label
        coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
    return tuple(str(label) for label in svm.classes_), coef, intercept


def fit_model(texts: Sequence[str], labels: Sequence[str], *, name: str = "default",
              abstain_below: float = 0.9, svm_c: float = SVM_C, embeddings: bool = False,
              embedding_weight: float = EMBEDDING_WEIGHT, encoder: TextEncoder | None = None,
              text_vectors: np.ndarray | None = None,
              text_languages: Sequence[str | None] | None = None, static: bool | None = None,
              static_weight: float = STATIC_WEIGHT,
              static_embedder: StaticEmbedder | None = None) -> TrainedIntentModel:
    """Fit on labelled texts (any label set with at least two labels).

    ``embeddings``: also fit the embedding head (needs the packaged MiniLM, ``classify.embeddings``);
    ``text_vectors`` are the texts' embeddings when the caller has them already (the evaluation reuses them).
    ``static``: also fit the static head (its token table from the packaged MiniLM unless ``static_embedder``
    is given; ``classify.static_embeddings``); None = when a ``static_embedder`` is given or the packaged MiniLM
    is installed (what ``tgportrait intents train`` does).
    The texts' languages (``detect_message_languages``, or ``text_languages`` when the caller has them) are
    counted on the model: ``trained_languages``.
    """
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    label_set = sorted(set(labels))
    if len(label_set) < 2:
        raise InputError(f"the training set has {len(label_set)} label(s); a model needs at least two",
                         hint="Add examples of at least two labels.")
    word, char = TfidfVectorizer(**WORD_PARAMS), TfidfVectorizer(**CHAR_PARAMS)
    prepared = prepare_texts(texts)
    matrix = hstack([word.fit_transform(prepared), char.fit_transform(prepared)]).tocsr()
    classes, coef, intercept = _fit_svm(matrix, labels, svm_c)
    if text_languages is None:
        from tgportrait.classify.language import detect_message_languages

        text_languages = detect_message_languages(texts)
    counts: dict[str, int] = {}
    for code in text_languages:
        if code is not None:
            counts[code] = counts.get(code, 0) + 1
    model = TrainedIntentModel(name, classes, word, char, coef, intercept, abstain_below, len(texts),
                               languages=dict(sorted(counts.items())))
    if static is None:
        from tgportrait.classify.embeddings import packaged_model_dir

        static = static_embedder is not None or packaged_model_dir() is not None
    if static:
        from tgportrait.classify.static_embeddings import static_embedder_from_minilm

        embedder = static_embedder or static_embedder_from_minilm()
        static_vectors = embedder.encode(prepared) * np.float32(static_weight)
        _, static_coef, static_intercept = _fit_svm(hstack([matrix, csr_matrix(static_vectors)]).tocsr(), labels,
                                                    svm_c)
        model.static = StaticHead(embedder, static_weight, static_coef, static_intercept)
    if embeddings:
        from tgportrait.classify.onnx_encoder import default_encoder

        encoder = encoder or default_encoder()
        vectors = text_vectors if text_vectors is not None else encoder.encode(list(texts))
        combined = hstack([matrix, csr_matrix(vectors * np.float32(embedding_weight))]).tocsr()
        _, full_coef, full_intercept = _fit_svm(combined, labels, svm_c)
        model.embedding = EmbeddingHead(encoder, embedding_weight, full_coef, full_intercept)
    return model


def save_model(model: TrainedIntentModel, models_dir: Path) -> Path:
    """Write ``models/intents/<name>/model.json`` and ``arrays.npz``; returns the folder."""
    folder = models_root(models_dir) / model.name
    folder.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "format": FORMAT_VERSION, "name": model.name, "labels": list(model.labels), "examples": model.examples,
        "margin_scale": MARGIN_SCALE, "fold_digits": model.fold_digits, "languages": model.languages,
        "word_vocabulary": {term: int(index) for term, index in model.word.vocabulary_.items()},
        "char_vocabulary": {term: int(index) for term, index in model.char.vocabulary_.items()}}
    arrays = {"word_idf": model.word.idf_, "char_idf": model.char.idf_, "coef": model.coef,
              "intercept": model.intercept}
    if model.embedding is not None:
        document["embedding"] = {"model": "all-MiniLM-L6-v2", "weight": model.embedding.weight,
                                 "dimensions": model.embedding.encoder.dimensions,
                                 "encoder": encoder_name(model.embedding.encoder)}
        arrays |= {"embedding_coef": model.embedding.coef, "embedding_intercept": model.embedding.intercept}
    if model.static is not None:
        embedder = model.static.embedder
        document["static"] = {"source": SOURCE, "weight": model.static.weight, "dimensions": embedder.dimensions,
                              "tokens": list(embedder.tokens)}
        arrays |= {"static_table": embedder.table.astype(np.float16), "static_coef": model.static.coef,
                   "static_intercept": model.static.intercept}
    np.savez_compressed(folder / "arrays.npz", **arrays)
    (folder / "model.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return folder


def load_model(models_dir: Path, name: str, *, abstain_below: float = 0.9, fast_only: bool = False,
               cascade: bool = False, encoder: TextEncoder | None = None) -> TrainedIntentModel:
    """The saved model ``name`` (plain data; see the trust boundary above).

    ``fast_only``: the static head (or the TF-IDF head when the model has none), even when the model has an
    embedding head (the encoder is then not loaded, so the embedding package need not be installed: the
    static head's token table is in the model). ``cascade``: the cascade head (``CASCADE_BELOW``) when the
    model has a static head and an embedding head trained with the int8 encoder, and ONNX Runtime and the
    packaged MiniLM are installed (or ``encoder`` is given), else as ``fast_only`` (what ``auto`` and the build
    ask for: the default must stay fast). ``encoder``: the one the embedding head uses (default: the one it
    was trained with).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    from tgportrait.classify.embeddings import packaged_model_dir
    from tgportrait.classify.onnx_encoder import NAME as INT8_ENCODER
    from tgportrait.classify.onnx_encoder import onnx_available

    folder = models_root(models_dir) / name
    if not (folder / "model.json").is_file():
        raise ConfigError(f"no intent model '{name}' in {models_root(models_dir)}",
                          hint=f"Train one: tgportrait intents train FILE.csv --text-column C --label-column L "
                               f"--name {name}")
    try:
        document = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        arrays = np.load(folder / "arrays.npz", allow_pickle=False)
        if document.get("format") != FORMAT_VERSION:
            raise ConfigError(f"{folder}: model format {document.get('format')} is not {FORMAT_VERSION}",
                              hint="Retrain the model with this version of tgportrait.")
        word, char = TfidfVectorizer(**WORD_PARAMS), TfidfVectorizer(**CHAR_PARAMS)
        word.vocabulary_, char.vocabulary_ = document["word_vocabulary"], document["char_vocabulary"]
        word.idf_, char.idf_ = arrays["word_idf"], arrays["char_idf"]
        model = TrainedIntentModel(name, tuple(document["labels"]), word, char, arrays["coef"], arrays["intercept"],
                                   abstain_below, int(document.get("examples", 0)), fast_only=fast_only,
                                   fold_digits=bool(document.get("fold_digits", False)),
                                   languages={str(code): int(count)
                                              for code, count in (document.get("languages") or {}).items()})
        static, embedding = document.get("static"), document.get("embedding")
        if cascade:
            cascade = (static is not None and embedding is not None and embedding.get("encoder") == INT8_ENCODER
                       and (encoder is not None or (onnx_available() and packaged_model_dir() is not None)))
            model.fast_only = fast_only = fast_only or not cascade
            model.cascade_below = CASCADE_BELOW if cascade else None
        if static is not None:
            from tgportrait.classify.static_embeddings import StaticEmbedder

            embedder = StaticEmbedder(tuple(static["tokens"]), arrays["static_table"].astype(np.float32))
            model.static = StaticHead(embedder, float(static["weight"]), arrays["static_coef"],
                                      arrays["static_intercept"])
        if embedding is not None and not fast_only:
            from tgportrait.classify.onnx_encoder import encoder_named

            model.embedding = EmbeddingHead(encoder or encoder_named(embedding.get("encoder"),
                                                                     int(embedding["dimensions"])),
                                            float(embedding["weight"]), arrays["embedding_coef"],
                                            arrays["embedding_intercept"])
        return model
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot read the intent model {folder}: {exc}",
                          hint="Retrain it with tgportrait intents train.") from exc

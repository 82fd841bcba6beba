"""Trained intent models: reads labelled texts, writes models/intents/<name>/ (JSON + NumPy arrays, no pickle).

The model is word (1-3) plus character (2-5, within word boundaries) TF-IDF features of the folded text
(``label.lexicon.fold_text``: case, accents and letter variants unified, so it works across scripts)
and a linear SVM per label (one-vs-rest, ``C=1``, chosen on banking77's train split; see BENCHMARKS.md).
Confidence is the softmax of the SVM margins times ``MARGIN_SCALE``; below ``abstain_below`` (0.9: on
our non-English set a less sure model is worse than the keywords) the model abstains and the combined
classifier asks the lexicon.

Trust boundary: a saved model is plain data, ``model.json`` (parameters, labels, vocabularies) and
``arrays.npz`` (IDF weights, coefficients; loaded with ``allow_pickle=False``). Loading never executes
code from the file, so a model copied from elsewhere can give wrong answers but cannot run anything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tgportrait.classify.intents import IntentPrediction, abstention, screen_text
from tgportrait.errors import ConfigError, InputError

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer

FORMAT_VERSION = 1
MARGIN_SCALE = 4.0
SVM_C = 1.0
WORD_PARAMS: dict[str, Any] = {"analyzer": "word", "ngram_range": (1, 3), "sublinear_tf": True,
                               "token_pattern": r"(?u)\b\w+\b", "lowercase": False, "dtype": np.float32}
CHAR_PARAMS: dict[str, Any] = {"analyzer": "char_wb", "ngram_range": (2, 5), "sublinear_tf": True,
                               "lowercase": False, "dtype": np.float32}


def models_root(models_dir: Path) -> Path:
    return models_dir / "intents"


def model_exists(models_dir: Path, name: str) -> bool:
    return (models_root(models_dir) / name / "model.json").is_file()


def prepare_texts(texts: Sequence[str]) -> list[str]:
    """The text the features see: folded like the lexicon does (cheap, repeated texts folded once)."""
    from tgportrait.label.lexicon import fold_texts

    return [text or "" for text in fold_texts(texts)]


@dataclass
class TrainedIntentModel:
    """A fitted model: two vectorizers and one linear scorer per label."""

    name: str
    labels: tuple[str, ...]
    word: TfidfVectorizer
    char: TfidfVectorizer
    coef: np.ndarray
    intercept: np.ndarray
    abstain_below: float = 0.9
    examples: int = 0

    def features(self, texts: Sequence[str]) -> csr_matrix:
        from scipy.sparse import hstack

        prepared = prepare_texts(texts)
        return hstack([self.word.transform(prepared), self.char.transform(prepared)]).tocsr()

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Margins, one row per text and one column per label."""
        return np.asarray(self.features(texts) @ self.coef.T) + self.intercept

    def classify(self, texts: Sequence[str | None]) -> list[IntentPrediction]:
        cleaned = [screen_text(text) for text in texts]
        unique = list(dict.fromkeys(text for text, _ in cleaned if text is not None))
        results: dict[str, IntentPrediction] = {}
        if unique:
            margins = self.scores(unique) * MARGIN_SCALE
            margins -= margins.max(axis=1, keepdims=True)
            probabilities = np.exp(margins)
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            best = probabilities.argmax(axis=1)
            for text, index, row in zip(unique, best, probabilities, strict=True):
                confidence = float(row[index])
                unsure = confidence < self.abstain_below
                results[text] = IntentPrediction(self.labels[index], confidence, unsure,
                                                 "low confidence" if unsure else None)
        return [results[text] if text is not None else abstention(reason or "empty message")
                for text, reason in cleaned]


def fit_model(texts: Sequence[str], labels: Sequence[str], *, name: str = "default",
              abstain_below: float = 0.9, svm_c: float = SVM_C) -> TrainedIntentModel:
    """Fit on labelled texts (any label set with at least two labels)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    label_set = sorted(set(labels))
    if len(label_set) < 2:
        raise InputError(f"the training set has {len(label_set)} label(s); a model needs at least two",
                         hint="Add examples of at least two labels.")
    word, char = TfidfVectorizer(**WORD_PARAMS), TfidfVectorizer(**CHAR_PARAMS)
    prepared = prepare_texts(texts)
    from scipy.sparse import hstack

    matrix = hstack([word.fit_transform(prepared), char.fit_transform(prepared)]).tocsr()
    svm = LinearSVC(C=svm_c).fit(matrix, list(labels))
    coef, intercept = svm.coef_.astype(np.float32), svm.intercept_.astype(np.float32)
    if len(svm.classes_) == 2:  # binary: sklearn keeps one row (the second class); make it one per label
        coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
    return TrainedIntentModel(name, tuple(str(label) for label in svm.classes_), word, char, coef, intercept,
                              abstain_below, len(texts))


def save_model(model: TrainedIntentModel, models_dir: Path) -> Path:
    """Write ``models/intents/<name>/model.json`` and ``arrays.npz``; returns the folder."""
    folder = models_root(models_dir) / model.name
    folder.mkdir(parents=True, exist_ok=True)
    document = {"format": FORMAT_VERSION, "name": model.name, "labels": list(model.labels),
                "examples": model.examples, "margin_scale": MARGIN_SCALE,
                "word_vocabulary": {term: int(index) for term, index in model.word.vocabulary_.items()},
                "char_vocabulary": {term: int(index) for term, index in model.char.vocabulary_.items()}}
    np.savez_compressed(folder / "arrays.npz", word_idf=model.word.idf_, char_idf=model.char.idf_,
                        coef=model.coef, intercept=model.intercept)
    (folder / "model.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return folder


def load_model(models_dir: Path, name: str, *, abstain_below: float = 0.9) -> TrainedIntentModel:
    """The saved model ``name`` (plain data; see the trust boundary above)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

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
        return TrainedIntentModel(name, tuple(document["labels"]), word, char, arrays["coef"], arrays["intercept"],
                                  abstain_below, int(document.get("examples", 0)))
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot read the intent model {folder}: {exc}",
                          hint="Retrain it with tgportrait intents train.") from exc

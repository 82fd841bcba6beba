"""Labelled intent data: reads training CSVs and the current run's messages, writes the corrections set.

``read_labelled_csv`` checks an operator's file row by row and names the row and the fix of the first
problems. The review queue lists the current run's messages the classifier is least sure of;
corrections accepted from it go to ``models/intents/corrections.csv`` (text, label, event id), which the
next ``tgportrait intents train`` adds to its file.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tgportrait.classify.intents import IntentClassifier
from tgportrait.errors import InputError

CORRECTIONS_FILE = "corrections.csv"
CORRECTION_COLUMNS = ("text", "label", "event_id")
MAX_LABEL_CHARS = 80
MAX_PROBLEMS_SHOWN = 5


@dataclass(frozen=True)
class LabelledSet:
    texts: list[str]
    labels: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def plus(self, other: LabelledSet) -> LabelledSet:
        return LabelledSet(self.texts + other.texts, self.labels + other.labels)


def read_labelled_csv(path: Path, text_column: str, label_column: str) -> LabelledSet:
    """Texts and labels of a CSV; any problem raises ``InputError`` naming the rows and the fix."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            missing = [name for name in (text_column, label_column) if name not in columns]
            if missing:
                raise InputError(f"{path}: no column {', '.join(repr(name) for name in missing)} "
                                 f"(columns: {', '.join(columns) or 'none'})",
                                 hint="Pass the right --text-column and --label-column.")
            rows = list(reader)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})",
                         hint="Save the file as UTF-8 CSV.") from exc
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", hint="Check the path.") from exc
    except csv.Error as exc:
        raise InputError(f"{path}: not a valid CSV file: {exc}", hint="Save the file as comma-separated CSV.") from exc
    texts, labels, problems = [], [], []
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        text, label = (row.get(text_column) or "").strip(), (row.get(label_column) or "").strip()
        if None in row:
            problems.append(f"row {number}: more fields than the header has columns (quote texts with commas)")
        elif not text:
            problems.append(f"row {number}: empty text in '{text_column}' (fill it in or delete the row)")
        elif not label:
            problems.append(f"row {number}: empty label in '{label_column}' (label it or delete the row)")
        elif len(label) > MAX_LABEL_CHARS or "\n" in label:
            problems.append(f"row {number}: the label looks like a text (columns swapped? use --label-column)")
        else:
            texts.append(text)
            labels.append(label)
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = f" (and {len(problems) - MAX_PROBLEMS_SHOWN} more)" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        raise InputError(f"{path}: {shown}{more}", hint="Fix or delete these rows and train again.")
    if len(set(labels)) < 2:
        raise InputError(f"{path}: {len(texts)} rows but only {len(set(labels))} distinct label(s)",
                         hint="A model needs examples of at least two labels.")
    return LabelledSet(texts, labels)


def corrections_path(models_dir: Path) -> Path:
    return models_dir / "intents" / CORRECTIONS_FILE


def read_corrections(models_dir: Path) -> LabelledSet:
    """The corrections accepted so far (empty when there are none); the latest correction of an event wins."""
    path = corrections_path(models_dir)
    if not path.is_file():
        return LabelledSet([], [])
    with path.open(encoding="utf-8", newline="") as handle:
        latest = {(row.get("event_id") or row["text"]): (row["text"], row["label"]) for row in csv.DictReader(handle)}
    return LabelledSet([text for text, _ in latest.values()], [label for _, label in latest.values()])


def add_corrections(models_dir: Path, rows: Sequence[tuple[str, str, str]]) -> Path:
    """Append (text, label, event_id) rows to the corrections set."""
    path = corrections_path(models_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(CORRECTION_COLUMNS)
        writer.writerows(rows)
    return path


def run_messages(lake: Any, run_id: str | None = None) -> list[tuple[str, str]]:
    """(event_id, text) of the message events of a published run (``events_clean``)."""
    from tgportrait.label.features import MESSAGE_TYPES

    table = lake.read_run_table("events_clean", run_id).select(["event_id", "type", "text"]).to_pylist()
    return [(row["event_id"], row["text"]) for row in table if row["type"] in MESSAGE_TYPES and row["text"]]


def review_queue(messages: Sequence[tuple[str, str]], classifier: IntentClassifier, *, limit: int = 20,
                 below: float = 0.6, already: set[str] | None = None) -> list[dict[str, Any]]:
    """The messages the classifier is least sure of (abstained or under ``below``), least sure first."""
    skip = already or set()
    pending = [(event_id, text) for event_id, text in messages if event_id not in skip]
    predictions = classifier.classify([text for _, text in pending])
    queue = [{"event_id": event_id, "text": text, **prediction.as_dict()}
             for (event_id, text), prediction in zip(pending, predictions, strict=True)
             if prediction.abstained or prediction.confidence < below]
    queue.sort(key=lambda item: (item["confidence"], item["event_id"]))
    return queue[:limit]


def corrected_event_ids(models_dir: Path) -> set[str]:
    path = corrections_path(models_dir)
    if not path.is_file():
        return set()
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["event_id"] for row in csv.DictReader(handle) if row.get("event_id")}


def read_texts_column(path: Path, text_column: str) -> list[str]:
    """One column of a CSV, every row in order (empty cells stay empty: they classify as abstentions)."""
    try:
        with path.open(encoding="utf-8", errors="replace", newline="") as handle:
            reader = csv.DictReader(handle)
            if text_column not in (reader.fieldnames or []):
                raise InputError(f"{path}: no column '{text_column}' (columns: {', '.join(reader.fieldnames or [])})",
                                 hint="Pass the right --text-column.")
            return [row.get(text_column) or "" for row in reader]
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", hint="Check the path.") from exc


def train_from_file(path: Path, text_column: str, label_column: str, models_dir: Path, *, name: str = "default",
                    use_corrections: bool = True, embeddings: bool | None = None) -> dict[str, Any]:
    """Train and save a model from an operator's CSV plus the corrections whose labels the file uses.

    ``embeddings``: also fit the accurate head (sentence embeddings); None = when the packaged MiniLM is
    installed (the measured default, docs/intents.md). The fast head is always fitted (the build uses it).
    """
    from tgportrait.classify.embeddings import packaged_model_dir
    from tgportrait.classify.intent_models import fit_model, save_model

    labelled = read_labelled_csv(path, text_column, label_column)
    extra = LabelledSet([], [])
    if use_corrections:
        known = set(labelled.labels)
        corrections = read_corrections(models_dir)
        pairs = [(text, label) for text, label in zip(corrections.texts, corrections.labels, strict=True)
                 if label in known]
        extra = LabelledSet([text for text, _ in pairs], [label for _, label in pairs])
    combined = labelled.plus(extra)
    with_embeddings = packaged_model_dir() is not None if embeddings is None else embeddings
    model = fit_model(combined.texts, combined.labels, name=name, embeddings=with_embeddings)
    folder = save_model(model, models_dir)
    return {"name": name, "examples": len(combined), "corrections": len(extra),
            "labels": sorted(set(combined.labels)), "embeddings": with_embeddings,
            "static": model.static is not None, "path": str(folder)}


def accept_corrections(models_dir: Path, messages: Sequence[tuple[str, str]], corrections: Sequence[str]) -> int:
    """Store ``EVENT_ID=INTENT`` corrections of the current run's messages; unknown ids are an error."""
    texts = dict(messages)
    rows: list[tuple[str, str, str]] = []
    for item in corrections:
        event_id, _, label = item.partition("=")
        event_id, label = event_id.strip(), label.strip()
        if not label:
            raise InputError(f"correction '{item}' has no intent", hint="Write it as EVENT_ID=INTENT.")
        if event_id not in texts:
            raise InputError(f"correction '{item}': no message '{event_id}' in the current run",
                             hint="Copy the event id from 'tgportrait intents review'.")
        rows.append((texts[event_id], label, event_id))
    add_corrections(models_dir, rows)
    return len(rows)

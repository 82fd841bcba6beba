"""``tgportrait intents classify``, ``train`` and ``review``: thin skins over ``tgportrait.classify``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from tgportrait.cli.common import console, json_option, open_workspace, print_json, workspace_option
from tgportrait.errors import InputError, WorkspaceNotFound


def _context(workspace_dir: str | None, model: str, *, required: bool) -> Any:
    from tgportrait.classify.intents import ClassifierContext

    try:
        workspace = open_workspace(workspace_dir)
    except WorkspaceNotFound:
        if required:
            raise
        return ClassifierContext(models_dir=None, model_name=model)
    settings = workspace.settings
    return ClassifierContext(models_dir=workspace.root / "models", industry=settings.industry, model_name=model,
                             abstain_below=settings.intents.abstain_below, llm_settings=settings.intents)


def _open(workspace_dir: str | None, model: str | None, classifier: str | None) -> Any:
    from tgportrait.classify.intents import open_classifier

    context = _context(workspace_dir, model or "default", required=model is not None)
    chosen = classifier or ("combined-by-language" if model else None) or (
        context.llm_settings.classifier if context.llm_settings is not None else "auto")
    return open_classifier(chosen, context)


@click.group("intents")
def intents_group() -> None:
    """Classify messages into intents, train a model on your labels, review unsure predictions."""


@intents_group.command("classify")
@click.argument("text", required=False)
@click.option("--file", "file_path", type=click.Path(dir_okay=False, exists=True), default=None,
              help="CSV file of messages; prints one JSON object per row, in input order.")
@click.option("--text-column", default="text", show_default=True, help="Column of --file holding the text.")
@click.option("--model", default=None, help="Trained model name (models/intents/NAME); default: the workspace's.")
@click.option("--classifier", default=None, help="Registry name: auto, lexicon, trained, combined, llm.")
@workspace_option
@json_option
def classify_command(text: str | None, file_path: str | None, text_column: str, model: str | None,
                     classifier: str | None, workspace_dir: str | None, as_json: bool) -> None:
    """Classify TEXT (or every row of --file): intent, confidence, language, abstained."""
    from tgportrait.classify.intent_data import read_texts_column
    from tgportrait.classify.language import detect_languages

    if (text is None) == (file_path is None):
        raise InputError("give either TEXT or --file", hint="tgportrait intents classify 'where is my order?'")
    texts = read_texts_column(Path(file_path), text_column) if file_path else [text or ""]
    predictions = _open(workspace_dir, model, classifier).classify(texts)
    languages = detect_languages(texts)
    rows = [{"intent": prediction.intent, "confidence": round(prediction.confidence, 4),
             "language": language.language, "abstained": prediction.abstained, "reason": prediction.reason}
            for prediction, language in zip(predictions, languages, strict=True)]
    if file_path or as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    row = rows[0]
    status = f"abstained: {row['reason']}" if row["abstained"] else f"confidence {row['confidence']:.2f}"
    console.print(f"[bold]{row['intent']}[/] ({status}; language {row['language'] or 'unknown'})")


@intents_group.command("train")
@click.argument("file_path", metavar="FILE.csv", type=click.Path(dir_okay=False))
@click.option("--text-column", required=True, help="Column holding the message text.")
@click.option("--label-column", required=True, help="Column holding the label (any label set).")
@click.option("--name", default="default", show_default=True, help="Model name; 'default' is used by the build.")
@click.option("--no-corrections", is_flag=True, help="Ignore corrections accepted in 'intents review'.")
@click.option("--embeddings/--no-embeddings", default=None,
              help="Also fit the accurate head on MiniLM sentence embeddings (default: when it is installed).")
@workspace_option
@json_option
def train_command(file_path: str, text_column: str, label_column: str, name: str, no_corrections: bool,
                  embeddings: bool | None, workspace_dir: str | None, as_json: bool) -> None:
    """Train a character n-gram model on FILE.csv (plus accepted review corrections) and save it."""
    from tgportrait.classify.intent_data import train_from_file

    workspace = open_workspace(workspace_dir)
    summary = train_from_file(Path(file_path), text_column, label_column, workspace.root / "models", name=name,
                              use_corrections=not no_corrections, embeddings=embeddings)
    if as_json:
        print_json(summary)
        return
    console.print(f"Trained intent model [bold]{name}[/] on {summary['examples']:,} examples "
                  f"({summary['corrections']:,} from review), {len(summary['labels'])} labels → {summary['path']}")


@intents_group.command("review")
@click.option("--limit", type=int, default=20, show_default=True, help="How many unsure messages to list.")
@click.option("--model", default=None, help="Trained model name; default: the workspace's classifier.")
@click.option("--correct", "corrections", multiple=True, metavar="EVENT_ID=INTENT",
              help="Accept a correction (repeatable); the next 'intents train' learns from it.")
@workspace_option
@json_option
def review_command(limit: int, model: str | None, corrections: tuple[str, ...], workspace_dir: str | None,
                   as_json: bool) -> None:
    """List the current run's messages the classifier is least sure of, or accept corrections."""
    from tgportrait.classify.intent_data import accept_corrections, corrected_event_ids, review_queue, run_messages

    workspace = open_workspace(workspace_dir)
    models_dir = workspace.root / "models"
    messages = run_messages(workspace.lake)
    if corrections:
        accepted = accept_corrections(models_dir, messages, corrections)
        if as_json:
            print_json({"accepted": accepted})
        else:
            console.print(f"Accepted {accepted} correction(s); run 'tgportrait intents train' to learn from them.")
        return
    queue = review_queue(messages, _open(workspace_dir, model, None), limit=limit,
                         already=corrected_event_ids(models_dir))
    if as_json:
        print_json(queue)
        return
    for item in queue:
        console.print(f"{item['event_id']}  {item['intent']} ({item['confidence']:.2f})  {item['text'][:80]!r}")


COMMANDS = [intents_group]

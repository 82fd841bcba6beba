"""The bot's words and questions: reads ``texts.yaml`` and ``questionnaire.yaml`` (package data), builds keyboards.

Texts are chosen by the person's ``language_code`` (first two letters), falling back to English per
key. Button callback data (at most 64 bytes) is the whole conversation state: ``c:PURPOSE:y|n`` for
consent, ``q:KEY:VALUE`` for an answer (``q:KEY:done`` ends a multiple-choice question), ``f:yes|no``
for the erasure confirmation, so the bot keeps no session and survives restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

PURPOSES: tuple[str, ...] = ("profiling", "marketing", "sensitive")
FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class Question:
    key: str
    text: dict[str, str]
    options: tuple[tuple[str, dict[str, str]], ...]
    multiple: bool = False


@cache
def load_texts() -> dict[str, dict[str, str]]:
    text = resources.files("tgportrait.bot").joinpath("texts.yaml").read_text(encoding="utf-8")
    loaded: dict[str, dict[str, str]] = yaml.safe_load(text)
    return loaded


@cache
def load_questionnaire() -> tuple[Question, ...]:
    text = resources.files("tgportrait.bot").joinpath("questionnaire.yaml").read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return tuple(Question(q["key"], q["text"], tuple((str(o["value"]), o["label"]) for o in q["options"]),
                          bool(q.get("multiple", False))) for q in document["questions"])


def language_of(language_code: str | None) -> str:
    """The texts' language for a Telegram ``language_code`` ("pt-br" → "pt"; unknown or empty → "en")."""
    short = (language_code or "").split("-")[0].lower()
    return short if short in load_texts() else FALLBACK_LANGUAGE


def say(language: str, key: str, **values: str) -> str:
    texts = load_texts()
    template = texts.get(language, {}).get(key) or texts[FALLBACK_LANGUAGE][key]
    return template.format(**values)


def _pick(labels: dict[str, str], language: str) -> str:
    return labels.get(language) or labels[FALLBACK_LANGUAGE]


def keyboard(rows: list[list[tuple[str, str]]]) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": text, "callback_data": data} for text, data in row] for row in rows]}


def consent_prompt(language: str, purpose: str) -> tuple[str, dict[str, Any]]:
    text = say(language, "consent_question", purpose=say(language, f"purpose_{purpose}"))
    return text, keyboard([[(say(language, "yes"), f"c:{purpose}:y"), (say(language, "no"), f"c:{purpose}:n")]])


def next_purpose(purpose: str) -> str | None:
    index = PURPOSES.index(purpose) + 1
    return PURPOSES[index] if index < len(PURPOSES) else None


def question_prompt(language: str, question: Question) -> tuple[str, dict[str, Any]]:
    buttons = [(_pick(labels, language), f"q:{question.key}:{value}") for value, labels in question.options]
    rows = [buttons[i:i + 3] for i in range(0, len(buttons), 3)]
    if question.multiple:
        rows.append([(say(language, "done_button"), f"q:{question.key}:done")])
    return _pick(question.text, language), keyboard(rows)


def question_after(key: str | None) -> Question | None:
    """The question that follows ``key`` (the first one when ``key`` is None); None at the end."""
    questions = load_questionnaire()
    if key is None:
        return questions[0]
    keys = [q.key for q in questions]
    index = keys.index(key) + 1 if key in keys else len(keys)
    return questions[index] if index < len(questions) else None


def find_question(key: str) -> Question | None:
    return next((q for q in load_questionnaire() if q.key == key), None)

"""Bot handlers: read one stored update, write replies through the Bot API and consent decisions to the ledger.

One plain function per update kind, dispatched by ``handle_update``; the webhook and the poller
both call it *after* the update is committed to the inbox, so a failing handler never loses an
update (the build maps it to events regardless). Telegram errors (blocked bot, rate limits after
retries, an unreachable API) are logged and swallowed here: the update is already safe.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tgportrait.activate.telegram import BotBlocked, TelegramClient, TelegramError
from tgportrait.bot.conversation import (
    PURPOSES,
    consent_prompt,
    find_question,
    keyboard,
    language_of,
    next_purpose,
    question_after,
    question_prompt,
    say,
)
from tgportrait.clean.consent import consents_of, record_consent
from tgportrait.collect.telegram_updates import COMMAND
from tgportrait.errors import NotFound, TgPortraitError
from tgportrait.workspace import Workspace

log = logging.getLogger("tgportrait.bot")


@dataclass
class BotContext:
    workspace: Workspace
    client: TelegramClient
    bot_username: str | None = None


def person_key(user_id: int) -> str:
    return f"tg_user_id:{user_id}"


def _now(unix: object) -> datetime:
    if isinstance(unix, int) and unix > 0:
        return datetime.fromtimestamp(unix, UTC)
    return datetime.now(UTC)


def _send(context: BotContext, chat_id: int, text: str, markup: dict[str, Any] | None = None) -> None:
    context.client.send_message(chat_id, text, markup)


def on_message(context: BotContext, message: Mapping[str, Any]) -> None:
    user, chat = message.get("from") or {}, message.get("chat") or {}
    text, user_id = message.get("text") or "", user.get("id")
    language = language_of(user.get("language_code"))
    if message.get("new_chat_members"):
        for member in message["new_chat_members"]:
            invite_to_questionnaire(context, member)
        return
    command = COMMAND.match(text)
    if command is None or not isinstance(user_id, int) or chat.get("type") != "private":
        return
    name, chat_id = command.group("name"), chat["id"]
    if name == "start":
        _send(context, chat_id, say(language, "privacy_notice"))
        _send(context, chat_id, *consent_prompt(language, PURPOSES[0]))
    elif name == "stop":
        record_consent(context.workspace.state, person_key(user_id), "marketing", False, "bot:stop",
                       datetime.now(UTC))
        _send(context, chat_id, say(language, "stop_done"))
    elif name == "forget":
        _send(context, chat_id, say(language, "forget_confirm"),
              keyboard([[(say(language, "yes"), "f:yes"), (say(language, "no"), "f:no")]]))
    elif name == "mydata":
        _send(context, chat_id, my_data_summary(context.workspace, user_id, language))


def on_callback_query(context: BotContext, query: Mapping[str, Any]) -> None:
    user = query.get("from") or {}
    user_id, language = user.get("id"), language_of(user.get("language_code"))
    chat_id = ((query.get("message") or {}).get("chat") or {}).get("id") or user_id
    data = str(query.get("data") or "").split(":")
    try:
        context.client.answer_callback_query(str(query.get("id")), say(language, "recorded"))
    except TelegramError as exc:    # e.g. "query is too old": the answer still counts
        log.info("answerCallbackQuery failed: %s", exc.message)
    if not isinstance(user_id, int) or not isinstance(chat_id, int):
        return
    if len(data) == 3 and data[0] == "c" and data[1] in PURPOSES:
        record_consent(context.workspace.state, person_key(user_id), data[1], data[2] == "y", "bot:button",
                       datetime.now(UTC))
        following = next_purpose(data[1])
        profiling = consents_of(context.workspace.state, person_key(user_id)).get("profiling")
        if following is not None:
            _send(context, chat_id, *consent_prompt(language, following))
        elif profiling is None or not profiling.granted:   # no profiling consent: no questionnaire
            _send(context, chat_id, say(language, "questionnaire_done"))
        else:
            _send(context, chat_id, say(language, "questionnaire_intro"))
            first = question_after(None)
            if first is not None:
                _send(context, chat_id, *question_prompt(language, first))
    elif len(data) == 3 and data[0] == "q":
        question = find_question(data[1])
        if question is None or (question.multiple and data[2] != "done"):
            return
        upcoming = question_after(question.key)
        if upcoming is None:
            _send(context, chat_id, say(language, "questionnaire_done"))
        else:
            _send(context, chat_id, *question_prompt(language, upcoming))
    elif data == ["f", "yes"]:
        erased = forget(context.workspace, user_id)
        _send(context, chat_id, say(language, "forget_done" if erased else "forget_recorded"))
    elif data == ["f", "no"]:
        _send(context, chat_id, say(language, "forget_cancelled"))


def forget(workspace: Workspace, user_id: int) -> bool:
    """Erase the person: ``tgportrait.clean.erasure.forget_person`` plus the inbox and tracked-link rows.

    Returns False when the erasure could not be carried out here (module missing or it failed): the
    request stays in the inbox and the failure is logged for an operator, and the person is told so.
    """
    from tgportrait.collect.inbox import erase_user_updates
    from tgportrait.collect.links import erase_user_links

    if importlib.util.find_spec("tgportrait.clean.erasure") is None:
        log.warning("erasure requested by a Telegram user; tgportrait.clean.erasure is missing, request kept")
        return False
    from importlib import import_module

    forget_person: Callable[[Workspace, str], object] = import_module("tgportrait.clean.erasure").forget_person
    try:
        forget_person(workspace, person_key(user_id))
    except Exception:  # noqa: BLE001 - translated: the person is told the request is recorded, the operator sees why
        log.exception("erasure of a Telegram user failed; the request stays in the inbox for an operator")
        return False
    erase_user_updates(workspace.state, user_id)
    erase_user_links(workspace.state, user_id)
    return True


def my_data_summary(workspace: Workspace, user_id: int, language: str) -> str:
    """What is held: consent decisions and the portrait summary of the current run (if any)."""
    lines = [say(language, "mydata_header")]
    for purpose, decision in sorted(consents_of(workspace.state, person_key(user_id)).items()):
        lines.append(f"• {purpose}: {'yes' if decision.granted else 'no'} ({decision.at:%Y-%m-%d})")
    from tgportrait.portrait.query import portrait

    try:
        document = portrait(workspace, str(user_id))
    except NotFound:
        lines.append(say(language, "mydata_nothing"))
    else:
        lines.append(str(document.get("summary") or ""))
        lines.extend(f"• {' › '.join(label['path'])}" for label in document.get("labels", [])[:10])
    return "\n".join(lines)


def invite_to_questionnaire(context: BotContext, user: Mapping[str, Any]) -> None:
    """Invite a new group member in private; Telegram refuses (403) unless they started the bot before."""
    if not isinstance(user.get("id"), int) or user.get("is_bot"):
        return
    language = language_of(user.get("language_code"))
    markup = None
    if context.bot_username:
        markup = {"inline_keyboard": [[{"text": say(language, "start_button"),
                                        "url": f"https://t.me/{context.bot_username}?start=group_join"}]]}
    try:
        _send(context, user["id"], say(language, "group_invite"), markup)
    except BotBlocked:
        log.info("cannot write to user %s in private (never started the bot or blocked it)", user["id"])


def on_my_chat_member(context: BotContext, change: Mapping[str, Any]) -> None:
    """A user blocking the bot in private withdraws marketing consent at once."""
    user, chat = change.get("from") or {}, change.get("chat") or {}
    blocked = (change.get("new_chat_member") or {}).get("status") == "kicked"
    if chat.get("type") == "private" and blocked and isinstance(user.get("id"), int):
        record_consent(context.workspace.state, person_key(user["id"]), "marketing", False, "bot:blocked",
                       _now(change.get("date")))


HANDLERS: dict[str, Callable[[BotContext, Mapping[str, Any]], None]] = {
    "message": on_message,
    "callback_query": on_callback_query,
    "my_chat_member": on_my_chat_member,
}


def handle_update(context: BotContext, update: Mapping[str, Any]) -> None:
    """Run the handler of the update's kind (if any); errors are logged, the update is already stored."""
    kind = next((key for key in update if key != "update_id"), "unknown")
    handler = HANDLERS.get(kind)
    payload = update.get(kind)
    if handler is None or not isinstance(payload, Mapping):
        return
    try:
        handler(context, payload)
    except TgPortraitError as exc:
        log.warning("update %s (%s): handler failed: %s", update.get("update_id"), kind, exc.message)

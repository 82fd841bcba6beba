"""Bot handlers (an aiogram 3 ``Router``): read updates, write replies through the Bot API and consent to the ledger.

``build_router`` registers one handler per conversation step: ``/start`` (with or without a deep-link
payload: the payload itself becomes campaign attribution in the build, from the stored update),
the consent buttons, the questionnaire, ``/stop``, ``/forget`` with its confirmation, ``/mydata``,
a user blocking the bot, and the invitation of new group members. Commands are answered in private
chats only. State-store work runs in a worker thread so the event loop (which also serves the
webhook) never waits on the database. The dispatcher passes ``workspace`` and ``bot_username``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, ChatMemberUpdated, InlineKeyboardMarkup, Message, User

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
from tgportrait.errors import NotFound
from tgportrait.store.state import utcnow
from tgportrait.workspace import Workspace

log = logging.getLogger("tgportrait.bot")
JOINED = (ChatMemberStatus.MEMBER, ChatMemberStatus.RESTRICTED)
LEFT = (ChatMemberStatus.LEFT, ChatMemberStatus.KICKED)


def person_key(user_id: int) -> str:
    return f"tg_user_id:{user_id}"


def _markup(markup: Mapping[str, Any] | None) -> InlineKeyboardMarkup | None:
    return None if markup is None else InlineKeyboardMarkup.model_validate(markup)


async def _send(bot: Bot, chat_id: int, text: str, markup: Mapping[str, Any] | None = None) -> None:
    await bot.send_message(chat_id, text, reply_markup=_markup(markup))


def _record(workspace: Workspace, user_id: int, purpose: str, granted: bool, source: str) -> None:
    record_consent(workspace.state, person_key(user_id), purpose, granted, source, utcnow())


async def on_start(message: Message, bot: Bot) -> None:
    """``/start`` (any payload): the privacy notice, then the first consent question. /start is not consent."""
    language = language_of(message.from_user.language_code if message.from_user else None)
    await _send(bot, message.chat.id, say(language, "privacy_notice"))
    await _send(bot, message.chat.id, *consent_prompt(language, PURPOSES[0]))


async def on_stop(message: Message, bot: Bot, workspace: Workspace) -> None:
    """``/stop``: marketing consent is withdrawn at once (recorded before the reply)."""
    if message.from_user is None:
        return
    await asyncio.to_thread(_record, workspace, message.from_user.id, "marketing", False, "bot:stop")
    await _send(bot, message.chat.id, say(language_of(message.from_user.language_code), "stop_done"))


async def on_forget(message: Message, bot: Bot) -> None:
    """``/forget``: ask for confirmation (the ``f:yes`` / ``f:no`` buttons)."""
    language = language_of(message.from_user.language_code if message.from_user else None)
    await _send(bot, message.chat.id, say(language, "forget_confirm"),
                keyboard([[(say(language, "yes"), "f:yes"), (say(language, "no"), "f:no")]]))


async def on_mydata(message: Message, bot: Bot, workspace: Workspace) -> None:
    """``/mydata``: consent decisions and the current portrait's summary and labels."""
    if message.from_user is None:
        return
    language = language_of(message.from_user.language_code)
    summary = await asyncio.to_thread(my_data_summary, workspace, message.from_user.id, language)
    await _send(bot, message.chat.id, summary)


async def on_new_members(message: Message, bot: Bot, bot_username: str | None) -> None:
    for member in message.new_chat_members or []:
        await invite_to_questionnaire(bot, member, bot_username)


async def on_chat_member(change: ChatMemberUpdated, bot: Bot, bot_username: str | None) -> None:
    """A ``chat_member`` update in which someone joins a group (needs admin rights and ``allowed_updates``)."""
    if change.old_chat_member.status in LEFT and change.new_chat_member.status in JOINED:
        await invite_to_questionnaire(bot, change.new_chat_member.user, bot_username)


async def invite_to_questionnaire(bot: Bot, user: User, bot_username: str | None) -> None:
    """Invite a new group member in private; Telegram refuses (403) unless they started the bot before."""
    if user.is_bot:
        return
    language = language_of(user.language_code)
    markup = None
    if bot_username:
        markup = {"inline_keyboard": [[{"text": say(language, "start_button"),
                                        "url": f"https://t.me/{bot_username}?start=group_join"}]]}
    try:
        await _send(bot, user.id, say(language, "group_invite"), markup)
    except TelegramForbiddenError:
        log.info("cannot write to user %s in private (never started the bot or blocked it)", user.id)


async def on_blocked(change: ChatMemberUpdated, workspace: Workspace) -> None:
    """A user blocking the bot in private withdraws marketing consent at once."""
    if change.new_chat_member.status == ChatMemberStatus.KICKED:
        await asyncio.to_thread(record_consent, workspace.state, person_key(change.from_user.id), "marketing",
                                False, "bot:blocked", change.date)


async def on_callback_query(query: CallbackQuery, bot: Bot, workspace: Workspace) -> None:
    """A button: consent (``c:PURPOSE:y|n``), an answer (``q:KEY:VALUE``) or the erasure confirmation."""
    user, language = query.from_user, language_of(query.from_user.language_code)
    chat_id = query.message.chat.id if query.message is not None else user.id
    data = (query.data or "").split(":")
    try:
        await query.answer(say(language, "recorded"))
    except TelegramAPIError as exc:    # e.g. "query is too old": the answer still counts
        log.info("answerCallbackQuery failed: %s", exc.message)
    if len(data) == 3 and data[0] == "c" and data[1] in PURPOSES:
        await on_consent(bot, workspace, user.id, chat_id, language, data[1], data[2] == "y")
    elif len(data) == 3 and data[0] == "q":
        question = find_question(data[1])
        if question is None or (question.multiple and data[2] != "done"):
            return
        upcoming = question_after(question.key)
        if upcoming is None:
            await _send(bot, chat_id, say(language, "questionnaire_done"))
        else:
            await _send(bot, chat_id, *question_prompt(language, upcoming))
    elif data == ["f", "yes"]:
        erased = await asyncio.to_thread(forget, workspace, user.id)
        await _send(bot, chat_id, say(language, "forget_done" if erased else "forget_recorded"))
    elif data == ["f", "no"]:
        await _send(bot, chat_id, say(language, "forget_cancelled"))


async def on_consent(bot: Bot, workspace: Workspace, user_id: int, chat_id: int, language: str, purpose: str,
                     granted: bool) -> None:
    """Record one consent decision, then ask the next purpose, or start the questionnaire (profiling allowed)."""
    await asyncio.to_thread(_record, workspace, user_id, purpose, granted, "bot:button")
    following = next_purpose(purpose)
    if following is not None:
        await _send(bot, chat_id, *consent_prompt(language, following))
        return
    decisions = await asyncio.to_thread(consents_of, workspace.state, person_key(user_id))
    profiling = decisions.get("profiling")
    if profiling is None or not profiling.granted:      # no profiling consent: no questionnaire
        await _send(bot, chat_id, say(language, "questionnaire_done"))
        return
    await _send(bot, chat_id, say(language, "questionnaire_intro"))
    first = question_after(None)
    if first is not None:
        await _send(bot, chat_id, *question_prompt(language, first))


def forget(workspace: Workspace, user_id: int) -> bool:
    """Erase the person (``tgportrait.clean.erasure.forget_person``: lake, runs, exports, state, inbox, links).

    Returns False when the erasure failed: the request stays in the inbox, the failure is logged for an
    operator, and the person is told that the request is recorded.
    """
    from tgportrait.clean import erasure

    try:
        erasure.forget_person(workspace, person_key(user_id))
    except Exception:  # noqa: BLE001 - translated: the person is told the request is recorded, the operator sees why
        log.exception("erasure of a Telegram user failed; the request stays in the inbox for an operator")
        return False
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


def build_router() -> Router:
    """A fresh router with every handler registered (a router can belong to one dispatcher only)."""
    router = Router(name="tgportrait")
    private = F.chat.type == ChatType.PRIVATE
    router.message.register(on_start, CommandStart(), private)
    router.message.register(on_stop, Command("stop"), private)
    router.message.register(on_forget, Command("forget"), private)
    router.message.register(on_mydata, Command("mydata"), private)
    router.message.register(on_new_members, F.new_chat_members)
    router.callback_query.register(on_callback_query)
    router.my_chat_member.register(on_blocked, private)
    router.chat_member.register(on_chat_member, F.chat.type.in_({ChatType.GROUP, ChatType.SUPERGROUP}))
    return router

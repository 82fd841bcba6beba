"""The aiogram dispatcher behind webhook and polling: joins, rate limits, shapes aiogram cannot parse, group chats."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.telegram_stub import BotApiStub
from tgportrait.bot.dispatch import BotContext, BotRuntime
from tgportrait.workspace import Workspace

ANA = {"id": 42, "is_bot": False, "first_name": "Ana", "language_code": "pt-br"}
DATE = 1767225600


def dispatch(context: BotContext, *updates: dict[str, Any]) -> tuple[list[bool], list[float]]:
    """Feed updates to a fresh runtime; (handled per update, 429 waits)."""
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    async def run() -> list[bool]:
        runtime = BotRuntime(context, retry_sleep=wait)
        try:
            return [await runtime.dispatch(update) for update in updates]
        finally:
            await runtime.close()

    return asyncio.run(run()), waits


def context_of(workspace: Workspace, stub: BotApiStub) -> BotContext:
    return BotContext(workspace, stub.base_url, stub.token, "portrait_test_bot")


def test_someone_joining_a_group_is_invited_in_private(stub: BotApiStub, workspace: Workspace) -> None:
    joined = {"update_id": 1, "chat_member": {
        "chat": {"id": -100123, "type": "supergroup", "title": "Glow"}, "from": ANA, "date": DATE,
        "old_chat_member": {"user": ANA, "status": "left"}, "new_chat_member": {"user": ANA, "status": "member"}}}
    left = {"update_id": 2, "chat_member": {**joined["chat_member"],
                                            "old_chat_member": {"user": ANA, "status": "member"},
                                            "new_chat_member": {"user": ANA, "status": "left"}}}
    assert dispatch(context_of(workspace, stub), joined, left)[0] == [True, True]
    sends = [params for method, params in stub.calls if method == "sendMessage"]
    assert len(sends) == 1 and sends[0]["chat_id"] == 42
    assert sends[0]["reply_markup"] == {"inline_keyboard": [[
        {"text": "Começar", "url": "https://t.me/portrait_test_bot?start=group_join"}]]}


def test_a_rate_limited_reply_is_retried_after_retry_after(stub: BotApiStub, workspace: Workspace) -> None:
    stub.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    start = {"update_id": 3, "message": {"message_id": 1, "date": DATE, "from": ANA,
                                         "chat": {"id": 42, "type": "private"}, "text": "/start c-june"}}
    handled, waits = dispatch(context_of(workspace, stub), start)
    assert (handled, waits, stub.methods().count("sendMessage")) == ([True], [3], 3)
    assert stub.sent_texts(42)[-1] == "Podemos usar seus dados para montar seu perfil de interesses?"


def test_updates_aiogram_cannot_parse_are_skipped_quietly(stub: BotApiStub, workspace: Workspace) -> None:
    unknown_kind = {"update_id": 4, "brand_new_kind": {"a": 1}}
    broken_message = {"update_id": 5, "message": {"text": "no chat, no date"}}
    assert dispatch(context_of(workspace, stub), unknown_kind, broken_message)[0] == [False, False]
    assert stub.calls == []


def test_commands_in_groups_are_not_answered(stub: BotApiStub, workspace: Workspace) -> None:
    in_group = {"update_id": 6, "message": {"message_id": 1, "date": DATE, "from": ANA,
                                            "chat": {"id": -5, "type": "group", "title": "Glow"}, "text": "/start"}}
    assert dispatch(context_of(workspace, stub), in_group)[0] == [False]
    assert stub.calls == []

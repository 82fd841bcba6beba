"""Long polling: reads updates with ``getUpdates``, writes them to the inbox, then feeds them to the bot's dispatcher.

An update is confirmed to Telegram (the next ``offset``) only after it is committed, so a crash
between the two means redelivery, which the inbox ignores. ``allowed_updates`` is sent explicitly on
every call (it is sticky on Telegram's side) and includes ``chat_member`` and ``message_reaction``.
``getUpdates`` goes through ``TelegramClient`` (raw JSON, so recording never depends on aiogram
parsing); new updates then go to the same aiogram dispatcher the webhook uses (``BotRuntime``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from tgportrait.activate.telegram import TelegramClient, TelegramError
from tgportrait.bot.dispatch import BotContext, BotRuntime
from tgportrait.collect.inbox import store_updates, validate_update
from tgportrait.errors import InputError

log = logging.getLogger("tgportrait.bot")


@dataclass
class PollReport:
    polls: int = 0
    received: int = 0
    stored: int = 0
    offset: int | None = None


def poll(context: BotContext, *, timeout: int = 30, max_polls: int | None = None,
         sleep: Callable[[float], None] = time.sleep) -> PollReport:
    """Poll until interrupted (or ``max_polls`` calls); return what was received and stored."""
    return asyncio.run(poll_async(context, timeout=timeout, max_polls=max_polls, sleep=sleep))


async def poll_async(context: BotContext, *, timeout: int = 30, max_polls: int | None = None,
                     sleep: Callable[[float], None] = time.sleep) -> PollReport:
    """``poll`` inside a running event loop (the Bot API client's calls run in a worker thread)."""
    client = TelegramClient(context.api_base_url, context.token)
    runtime = BotRuntime(context)
    try:
        return await _poll(client, runtime, timeout, max_polls, sleep)
    finally:
        await runtime.close()
        client.close()


async def _poll(client: TelegramClient, runtime: BotRuntime, timeout: int, max_polls: int | None,
                sleep: Callable[[float], None]) -> PollReport:
    state = runtime.context.workspace.state
    report = PollReport()
    # getUpdates fails with 409 while a webhook is set
    await asyncio.to_thread(client.delete_webhook, drop_pending_updates=False)
    while max_polls is None or report.polls < max_polls:
        report.polls += 1
        try:
            updates = await asyncio.to_thread(client.get_updates, report.offset, timeout=timeout)
        except TelegramError as exc:
            if not exc.transient:
                raise
            log.warning("getUpdates failed (%s); retrying in 5 s", exc.message)
            await asyncio.to_thread(sleep, 5)
            continue
        valid = []
        for update in updates:
            try:
                valid.append(validate_update(update))
            except InputError as exc:
                log.warning("skipping a malformed update from getUpdates: %s", exc.message)
        stored = await asyncio.to_thread(store_updates, state, valid)
        report.received += len(updates)
        report.stored += sum(stored)
        if updates:
            report.offset = max(int(u.get("update_id", 0)) for u in updates) + 1
        for update, is_new in zip(valid, stored, strict=True):
            if is_new:
                await runtime.dispatch(update)
    return report

"""Long polling: reads updates with ``getUpdates``, writes them to the inbox, then runs the handlers.

An update is confirmed to Telegram (the next ``offset``) only after it is committed, so a crash
between the two means redelivery, which the inbox ignores. ``allowed_updates`` is sent explicitly on
every call (it is sticky on Telegram's side) and includes ``chat_member`` and ``message_reaction``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from tgportrait.activate.telegram import TelegramClient, TelegramError
from tgportrait.bot.handlers import BotContext, handle_update
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
    client: TelegramClient = context.client
    report = PollReport()
    client.delete_webhook(drop_pending_updates=False)    # getUpdates fails with 409 while a webhook is set
    while max_polls is None or report.polls < max_polls:
        report.polls += 1
        try:
            updates = client.get_updates(report.offset, timeout=timeout)
        except TelegramError as exc:
            if not exc.transient:
                raise
            log.warning("getUpdates failed (%s); retrying in 5 s", exc.message)
            sleep(5)
            continue
        valid = []
        for update in updates:
            try:
                valid.append(validate_update(update))
            except InputError as exc:
                log.warning("skipping a malformed update from getUpdates: %s", exc.message)
        stored = store_updates(context.workspace.state, valid)
        report.received += len(updates)
        report.stored += sum(stored)
        if updates:
            report.offset = max(int(u.get("update_id", 0)) for u in updates) + 1
        for update, is_new in zip(valid, stored, strict=True):
            if is_new:
                handle_update(context, update)
    return report

"""Feeds stored updates to the bot: reads raw updates (already committed to the inbox), runs the aiogram 3 dispatcher.

The webhook (``tgportrait serve``) and long polling (``tgportrait bot``) both call
``BotRuntime.dispatch`` with the raw update dict *after* the inbox commit, so recording never depends
on aiogram: an update aiogram cannot parse is logged and skipped here, and it is in the inbox anyway.
The aiogram ``Bot`` talks to ``telegram.api_base_url`` (``TelegramAPIServer.from_base``), so tests use
the local stub. Telegram errors (a user who blocked the bot, a query that is too old, an unreachable
API) are logged and swallowed: the update is already safe. A 429 is retried after ``retry_after``.

This module imports aiogram at the top: import it only where the bot runs (never from ``tgportrait``
or ``tgportrait.cli`` at import time).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import AiogramError, TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Update
from pydantic import ValidationError

from tgportrait.activate.telegram import is_placeholder_token
from tgportrait.config import TelegramSettings
from tgportrait.errors import TgPortraitError
from tgportrait.workspace import Workspace

log = logging.getLogger("tgportrait.bot")

REQUEST_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class BotContext:
    """Where the bot lives: its workspace, the Bot API it talks to, its token and @username."""

    workspace: Workspace
    api_base_url: str
    token: str
    bot_username: str | None = None

    @classmethod
    def from_settings(cls, workspace: Workspace, telegram: TelegramSettings) -> BotContext | None:
        """The bot of ``workspace``; None when the token is missing or a placeholder (then nothing is sent)."""
        token = telegram.bot_token.get_secret_value() if telegram.bot_token else None
        if token is None or is_placeholder_token(token):
            return None
        return cls(workspace, telegram.api_base_url, token, telegram.bot_username)


class RetryAfterMiddleware(BaseRequestMiddleware):
    """Retry a Bot API call answered 429 after its ``retry_after`` (at most ``max_retries`` times)."""

    def __init__(self, max_retries: int = 3, max_wait_seconds: float = 30.0,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.max_retries, self.max_wait_seconds, self.sleep = max_retries, max_wait_seconds, sleep

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        for _attempt in range(self.max_retries):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if exc.retry_after > self.max_wait_seconds:
                    raise
                log.info("%s: rate limited, retrying in %s s", type(method).__name__, exc.retry_after)
                await self.sleep(exc.retry_after)
        return await make_request(bot, method)


def build_dispatcher(context: BotContext) -> Dispatcher:
    """A dispatcher with the conversation router; handlers receive ``workspace`` and ``bot_username``."""
    from tgportrait.bot.handlers import build_router

    dispatcher = Dispatcher(workspace=context.workspace, bot_username=context.bot_username)
    dispatcher.include_router(build_router())
    return dispatcher


class BotRuntime:
    """An aiogram ``Bot`` (session on ``api_base_url``) and ``Dispatcher``; create and close it in one event loop."""

    def __init__(self, context: BotContext, *, retry_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.context = context
        session = AiohttpSession(api=TelegramAPIServer.from_base(context.api_base_url.rstrip("/")),
                                 timeout=REQUEST_TIMEOUT_SECONDS)
        session.middleware(RetryAfterMiddleware(sleep=retry_sleep))
        self.bot = Bot(context.token, session=session)
        self.dispatcher = build_dispatcher(context)

    async def dispatch(self, update: Mapping[str, Any]) -> bool:
        """Run the handler for one stored update; True when one ran, False when none applies or it failed (logged)."""
        update_id = update.get("update_id")
        if not any(kind in Update.model_fields for kind in update if kind != "update_id"):
            return False     # a kind this aiogram does not know (aiogram would warn and print the update)
        try:
            result = await self.dispatcher.feed_raw_update(self.bot, dict(update))
        except ValidationError as exc:       # a shape aiogram does not know: stored raw, nothing to handle
            log.info("update %s: not handled, aiogram cannot parse it (%d errors)", update_id, exc.error_count())
            return False
        except (AiogramError, TgPortraitError) as exc:
            log.warning("update %s: handler failed: %s", update_id, exc)
            return False
        return result is not UNHANDLED

    async def close(self) -> None:
        await self.bot.session.close()

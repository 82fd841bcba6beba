"""The app factory: reads the workspace's settings, serves the webhook, tracked links and the health check.

``create_app(workspace)`` builds a fresh FastAPI app (no global app). The inbox writer (group
commit) starts and stops with the app. The webhook secret is required: without it the app
refuses to start. Without a real bot token the bot does not answer, but updates are recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from tgportrait.activate.telegram import TelegramClient, is_placeholder_token
from tgportrait.bot.handlers import BotContext
from tgportrait.collect.inbox import InboxWriter
from tgportrait.collect.links import link_key
from tgportrait.errors import ConfigError
from tgportrait.web.api import health, links, webhook
from tgportrait.web.errors import install_error_handlers
from tgportrait.workspace import Workspace


def create_app(workspace: Workspace, *, transport: httpx.BaseTransport | None = None) -> FastAPI:
    """The server app for ``workspace`` (``transport`` reaches a test Bot API)."""
    telegram = workspace.settings.telegram
    if telegram.webhook_secret is None or not telegram.webhook_secret.get_secret_value():
        raise ConfigError("telegram.webhook_secret is not set; the webhook would accept anyone's updates",
                          hint="Set TGPORTRAIT_TELEGRAM_WEBHOOK_SECRET (1-256 of A-Z a-z 0-9 _ -) and pass the "
                               "same value to setWebhook.")
    token = telegram.bot_token.get_secret_value() if telegram.bot_token else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.writer = InboxWriter(workspace.state)
        try:
            yield
        finally:
            app.state.writer.close()
            if app.state.bot is not None:
                app.state.bot.client.close()

    app = FastAPI(title="tgportrait", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.workspace = workspace
    app.state.webhook_secret = telegram.webhook_secret.get_secret_value().encode()
    app.state.link_key = link_key(workspace.root)
    app.state.bot = None if is_placeholder_token(token) else BotContext(
        workspace, TelegramClient.from_settings(telegram, transport), telegram.bot_username)
    install_error_handlers(app)
    for module in (webhook, links, health):
        app.include_router(module.router)
    return app

"""The app factory: reads the workspace's settings, serves the webhook, tracked links and the health check.

``create_app(workspace)`` builds a fresh FastAPI app (no global app). The inbox writer (group
commit) starts and stops with the app. ``POST /telegram/webhook`` is answered by the
``WebhookEndpoint`` middleware in front of the routers (the one hot path); the bot (an aiogram
dispatcher, ``tgportrait.bot.dispatch``) handles each new update after it is committed. The
webhook secret is required: without it the app refuses to start. Without a real bot token the bot
does not answer, but updates are recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tgportrait.activate.telegram import is_placeholder_token
from tgportrait.collect.inbox import InboxWriter
from tgportrait.collect.links import link_key
from tgportrait.errors import ConfigError
from tgportrait.web.api import health, links
from tgportrait.web.api.webhook import WebhookEndpoint
from tgportrait.web.errors import install_error_handlers
from tgportrait.workspace import Workspace


def create_app(workspace: Workspace) -> FastAPI:
    """The server app for ``workspace``; its bot talks to ``telegram.api_base_url``."""
    telegram = workspace.settings.telegram
    if telegram.webhook_secret is None or not telegram.webhook_secret.get_secret_value():
        raise ConfigError("telegram.webhook_secret is not set; the webhook would accept anyone's updates",
                          hint="Set TGPORTRAIT_TELEGRAM_WEBHOOK_SECRET (1-256 of A-Z a-z 0-9 _ -) and pass the "
                               "same value to setWebhook.")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.writer = InboxWriter(workspace.state)
        token = telegram.bot_token.get_secret_value() if telegram.bot_token else None
        if not is_placeholder_token(token):     # aiogram is imported only when there is a bot to run
            from tgportrait.bot.dispatch import BotContext, BotRuntime

            context = BotContext.from_settings(workspace, telegram)
            app.state.bot = BotRuntime(context) if context is not None else None
        try:
            yield
        finally:
            app.state.writer.close()
            if app.state.bot is not None:
                await app.state.bot.close()

    app = FastAPI(title="tgportrait", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.workspace = workspace
    app.state.webhook_secret = telegram.webhook_secret.get_secret_value().encode()
    app.state.link_key = link_key(workspace.root)
    app.state.bot = None
    install_error_handlers(app)
    app.add_middleware(WebhookEndpoint)
    for module in (links, health):
        app.include_router(module.router)
    return app

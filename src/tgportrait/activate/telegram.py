"""Bot API client: reads settings (base URL, token), sends HTTP requests to the Bot API, returns results.

httpx with an injectable transport (tests point it at ``tests/telegram_stub.py``). Errors are typed:
``TelegramError.transient`` says whether retrying makes sense (429, 5xx, network) or not (403 blocked,
400). A 429 is retried after ``parameters.retry_after`` seconds (up to ``max_retries``). Placeholder
or missing tokens refuse to send. The token never appears in an error message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from tgportrait.config import TelegramSettings
from tgportrait.errors import ConfigError, TgPortraitError

ALLOWED_UPDATES: tuple[str, ...] = (
    "message", "edited_message", "channel_post", "edited_channel_post", "callback_query", "inline_query",
    "chosen_inline_result", "poll", "poll_answer", "my_chat_member", "chat_member", "chat_join_request",
    "message_reaction", "message_reaction_count",
)
PLACEHOLDER_TOKENS = frozenset({"", "changeme", "change-me", "placeholder", "token", "your-token", "xxx", "test"})


class TelegramError(TgPortraitError):
    """The Bot API answered ``ok: false`` (or could not be reached)."""

    code = "TGP-B001"

    def __init__(self, message: str, *, status: int | None = None, description: str = "",
                 retry_after: float | None = None, transient: bool = False, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.transient = transient


class BotBlocked(TelegramError):
    """403: the user blocked the bot (or deleted the account): stop sending to them."""

    code = "TGP-B002"


class BotApiUnreachable(TelegramError):
    """The Bot API could not be reached (network): retry later."""

    code = "TGP-B003"


def is_placeholder_token(token: str | None) -> bool:
    return token is None or token.strip().lower() in PLACEHOLDER_TOKENS or ":" not in token


class TelegramClient:
    """A small Bot API client; one method per API method used by tgportrait."""

    def __init__(self, base_url: str, token: str | None, *, transport: httpx.BaseTransport | None = None,
                 max_retries: int = 3, timeout: float = 10.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.max_retries = max_retries
        self.sleep = sleep
        self._http = httpx.Client(transport=transport, timeout=timeout)

    @classmethod
    def from_settings(cls, settings: TelegramSettings, transport: httpx.BaseTransport | None = None) -> TelegramClient:
        token = settings.bot_token.get_secret_value() if settings.bot_token else None
        return cls(settings.api_base_url, token, transport=transport)

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        """Call ``method``; return its ``result`` or raise a typed ``TelegramError``."""
        if is_placeholder_token(self._token):
            raise ConfigError("the Telegram bot token is missing or a placeholder; nothing was sent",
                              hint="Set TGPORTRAIT_TELEGRAM_BOT_TOKEN to the token from @BotFather.")
        url = f"{self.base_url}/bot{self._token}/{method}"
        for attempt in range(self.max_retries + 1):
            try:
                response = self._http.post(url, json=params or {}, timeout=timeout or self._http.timeout)
            except httpx.HTTPError as exc:
                raise BotApiUnreachable(f"Bot API at {self.base_url} unreachable during {method}: "
                                        f"{type(exc).__name__}", transient=True,
                                        hint="Check telegram.api_base_url and the network; updates are still "
                                             "recorded.") from None
            error = _error_of(method, response)
            if error is None:
                return response.json()["result"]
            if error.retry_after is not None and attempt < self.max_retries:
                self.sleep(error.retry_after)
                continue
            raise error
        raise AssertionError("unreachable")

    def get_me(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("getMe")
        return result

    def send_message(self, chat_id: int, text: str, reply_markup: dict[str, Any] | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"chat_id": chat_id, "text": text[:4096]}
        if reply_markup is not None:
            params["reply_markup"] = reply_markup
        result: dict[str, Any] = self.call("sendMessage", params)
        return result

    def answer_callback_query(self, callback_query_id: str, text: str | None = None) -> bool:
        params: dict[str, Any] = {"callback_query_id": callback_query_id}
        if text:
            params["text"] = text[:200]
        return bool(self.call("answerCallbackQuery", params))

    def set_webhook(self, url: str, secret_token: str | None,
                    allowed_updates: Sequence[str] = ALLOWED_UPDATES) -> bool:
        params: dict[str, Any] = {"url": url, "allowed_updates": list(allowed_updates)}
        if secret_token:
            params["secret_token"] = secret_token
        return bool(self.call("setWebhook", params))

    def delete_webhook(self, drop_pending_updates: bool = False) -> bool:
        return bool(self.call("deleteWebhook", {"drop_pending_updates": drop_pending_updates}))

    def get_updates(self, offset: int | None, timeout: int = 30,
                    allowed_updates: Sequence[str] = ALLOWED_UPDATES) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"timeout": timeout, "allowed_updates": list(allowed_updates), "limit": 100}
        if offset is not None:
            params["offset"] = offset
        result: list[dict[str, Any]] = self.call("getUpdates", params, timeout=timeout + 10)
        return result


def _error_of(method: str, response: httpx.Response) -> TelegramError | None:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and isinstance(body, dict) and body.get("ok"):
        return None
    description = str(body.get("description") or response.reason_phrase) if isinstance(body, dict) else ""
    parameters = body.get("parameters") or {} if isinstance(body, dict) else {}
    status = response.status_code
    message = f"Bot API {method} failed: {status} {description}"
    if status == 429 or description.startswith("Too Many Requests"):
        return TelegramError(message, status=status, description=description,
                             retry_after=float(parameters.get("retry_after", 1)), transient=True,
                             hint="Slow down: Telegram allows about 30 messages/s overall, 1/s per chat.")
    if status == 403:
        return BotBlocked(message, status=status, description=description, transient=False,
                          hint="Stop sending to this chat; the person blocked the bot or left.")
    return TelegramError(message, status=status, description=description, transient=status >= 500,
                         hint="See the description; 5xx errors are retried later, 4xx errors are not.")

"""``POST /telegram/webhook``: reads a request, writes its update to the inbox (group commit), answers, dispatches it.

The answer is 200 only after the update is committed to the inbox; a redelivered update answers
200 with ``"stored": false`` and is not handled twice. The bot's handlers run after the response
is sent, so a slow or unreachable Bot API never delays Telegram's queue.

This endpoint is the one hot path of the server, so it is a plain ASGI middleware in front of the
FastAPI app (``WebhookEndpoint``): it answers ``POST /telegram/webhook`` itself — no routing, request
object, dependency resolution or pydantic validation of the Update — and passes every other request
on. Its errors use the API's one JSON error shape (``tgportrait.web.errors``).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from tgportrait.collect.inbox import validate_update
from tgportrait.errors import InputError
from tgportrait.web.errors import ApiError

log = logging.getLogger("tgportrait.web")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PATH = "/telegram/webhook"
MAX_BODY_BYTES = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET_KEY = SECRET_HEADER.lower().encode()
STORED = b'{"ok":true,"stored":true}'
DUPLICATE = b'{"ok":true,"stored":false}'
INTERNAL = ApiError(500, "TGP-W500", "internal error; nothing was stored, please retry")


def check_secret(expected: bytes, given: bytes | None) -> None:
    if given is None:
        raise ApiError(401, "TGP-W401", f"missing {SECRET_HEADER} header")
    if not hmac.compare_digest(given, expected):
        raise ApiError(403, "TGP-W403", f"wrong {SECRET_HEADER}")


def parse_update(body: bytes) -> dict[str, Any]:
    """The update in ``body``, or an ``ApiError`` (400 not JSON, 422 not an Update) that reveals no internals."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "TGP-W400", "body is not valid JSON") from None
    try:
        return validate_update(document)
    except InputError as exc:
        raise ApiError(422, exc.code, exc.message) from None


def header_values(scope: Scope) -> tuple[bytes | None, bytes | None]:
    """(secret token, content length) from the raw ASGI headers (names arrive lower-cased)."""
    secret, declared = None, None
    for name, value in scope["headers"]:
        if name == b"content-length":
            declared = value
        elif name == _SECRET_KEY:
            secret = value
    return secret, declared


async def read_body(receive: Receive, declared: bytes | None) -> bytes:
    """The request body, refusing (413) a declared or actual size over 1 MB without reading the rest."""
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, "TGP-W413", "body larger than 1 MB")
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body"):
        return bytes(body)
    chunks, size = [body], len(body)
    while message.get("more_body"):
        message = await receive()
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, "TGP-W413", "body larger than 1 MB")
    return b"".join(chunks)


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def receive_update(scope: Scope, receive: Receive, send: Send) -> None:
    """Check the secret, read and validate the update, wait for its commit, answer, then dispatch it."""
    app_state = scope["app"].state
    secret, declared = header_values(scope)
    try:
        check_secret(app_state.webhook_secret, secret)       # before reading the body
        update = parse_update(await read_body(receive, declared))
        stored = await app_state.writer.submit_async(update)
    except ApiError as exc:
        await _answer(send, exc.status, json.dumps({"error": {"code": exc.code, "message": exc.message}}).encode())
        return
    except Exception:  # noqa: BLE001 - translated: the client learns only that nothing was stored
        log.exception("storing an update failed")
        await _answer(send, 500, json.dumps({"error": {"code": INTERNAL.code, "message": INTERNAL.message}}).encode())
        return
    await _answer(send, 200, STORED if stored else DUPLICATE)
    if stored and app_state.bot is not None:
        await app_state.bot.dispatch(update)


class WebhookEndpoint:
    """ASGI middleware: answers ``POST /telegram/webhook`` directly, passes everything else to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "POST":
            await receive_update(scope, receive, send)
        else:
            await self.app(scope, receive, send)

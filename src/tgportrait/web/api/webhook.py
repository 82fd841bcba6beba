"""``POST /telegram/webhook``: check the secret, store the update (group commit), answer 200, then handle it.

The answer is 200 only after the update is committed to the inbox; a redelivered update answers
200 with ``"stored": false`` and is not handled twice. The bot's handlers run after the response
(in a worker thread), so a slow or unreachable Bot API never delays Telegram's queue.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask

from tgportrait.collect.inbox import validate_update
from tgportrait.errors import InputError
from tgportrait.web.errors import ApiError

router = APIRouter()

MAX_BODY_BYTES = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def check_secret(expected: bytes, given: str | None) -> None:
    if given is None:
        raise ApiError(401, "TGP-W401", f"missing {SECRET_HEADER} header")
    if not hmac.compare_digest(given.encode(), expected):
        raise ApiError(403, "TGP-W403", f"wrong {SECRET_HEADER}")


async def read_update(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, "TGP-W413", "body larger than 1 MB")
    chunks, size = [], 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, "TGP-W413", "body larger than 1 MB")
    body = b"".join(chunks)
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "TGP-W400", "body is not valid JSON") from None
    try:
        return validate_update(document)
    except InputError as exc:
        raise ApiError(422, exc.code, exc.message) from None


STORED = b'{"ok":true,"stored":true}'
DUPLICATE = b'{"ok":true,"stored":false}'


async def receive_update(request: Request) -> Response:
    """The endpoint (a plain Starlette route: no dependency resolution or response model on the hot path)."""
    app_state = request.app.state
    check_secret(app_state.webhook_secret, request.headers.get(SECRET_HEADER))
    update = await read_update(request)
    stored = await asyncio.wrap_future(app_state.writer.submit(update))
    task = None
    if stored and app_state.bot is not None:
        from tgportrait.bot.handlers import HANDLERS, handle_update

        if any(kind in update for kind in HANDLERS):
            task = BackgroundTask(handle_update, app_state.bot, update)
    return Response(STORED if stored else DUPLICATE, media_type="application/json", background=task)


router.add_route("/telegram/webhook", receive_update, methods=["POST"])

"""A local Bot API stub: a real HTTP server on 127.0.0.1 (in a thread) that answers like Telegram.

Records every call as ``(method, params)``. Scripted failures: ``fail_next(method, status, description,
retry_after)`` makes the next call of ``method`` answer like Telegram does (429 with
``parameters.retry_after``, 403 ``Forbidden: bot was blocked by the user``, ...). ``blocked_chats``
answers 403 for ``sendMessage`` to those chats. ``pending_updates`` are served by ``getUpdates``
with offset handling.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

BOT_USER = {"id": 777000111, "is_bot": True, "first_name": "Portrait", "username": "portrait_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}


def decode_params(content_type: str | None, body: bytes) -> dict[str, Any]:
    """Parameters as Telegram reads them: a JSON body, or a form (aiogram) whose JSON-looking values are decoded."""
    if not (content_type or "").startswith("application/x-www-form-urlencoded"):
        return dict(json.loads(body or b"{}"))
    params: dict[str, Any] = {}
    for name, value in parse_qsl(body.decode(), keep_blank_values=True):
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError:
            decoded = value
        params[name] = decoded if isinstance(decoded, (dict, list, int, bool)) else value
    return params


class BotApiStub:
    def __init__(self, token: str = "123456:TEST-token") -> None:
        self.token = token
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: dict[str, list[tuple[int, str, int | None]]] = {}
        self.blocked_chats: set[int] = set()
        self.pending_updates: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._message_id = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b"{}"
                status, answer = stub.answer(self.path, decode_params(self.headers.get("Content-Type"), body))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> BotApiStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, method: str, status: int, description: str, retry_after: int | None = None) -> None:
        self.failures.setdefault(method, []).append((status, description, retry_after))

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]

    def sent_texts(self, chat_id: int) -> list[str]:
        return [params["text"] for method, params in self.calls
                if method == "sendMessage" and params.get("chat_id") == chat_id]

    def answer(self, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        prefix = f"/bot{self.token}/"
        if not path.startswith(prefix):
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        method = path[len(prefix):]
        with self._lock:
            self.calls.append((method, params))
            if self.failures.get(method):
                status, description, retry_after = self.failures[method].pop(0)
                error: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
                if retry_after is not None:
                    error["parameters"] = {"retry_after": retry_after}
                return status, error
            return self._result(method, params)

    def _result(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method == "sendMessage":
            if params.get("chat_id") in self.blocked_chats:
                return 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
            if not params.get("text"):
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
            self._message_id += 1
            return 200, {"ok": True, "result": {"message_id": self._message_id, "date": 1700000000,
                                                "chat": {"id": params["chat_id"], "type": "private"},
                                                "from": BOT_USER, "text": params["text"]}}
        if method in ("answerCallbackQuery", "setWebhook", "deleteWebhook"):
            return 200, {"ok": True, "result": True}
        if method == "getUpdates":
            offset = params.get("offset")
            if offset is not None:
                self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]
            return 200, {"ok": True, "result": self.pending_updates[: params.get("limit", 100)]}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}

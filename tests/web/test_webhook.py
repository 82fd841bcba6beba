"""POST /telegram/webhook: real updates are stored once and mapped; bad requests get one JSON error shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import SECRET
from tgportrait.collect.inbox import flush_inbox, inbox_stats
from tgportrait.collect.telegram_updates import update_events
from tgportrait.workspace import Workspace

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def full_updates(shared_data: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every complete Update object in the shared sample folders (some files are bare objects, skipped)."""
    found = []
    for path in sorted((shared_data / "botapi_updates").glob("*/*.json")):
        document = json.loads(path.read_text())
        if isinstance(document, dict) and "update_id" in document:
            found.append((f"{path.parent.name}/{path.name}", document))
    return found


def test_every_real_update_goes_through_the_webhook_and_maps(api: TestClient, live_workspace: Workspace,
                                                              shared_data: Path) -> None:
    updates = full_updates(shared_data)
    assert len(updates) == 34     # 13 teloxide + 8 pyTelegramBotAPI + 13 Telegram docs
    by_id: dict[int, dict[str, Any]] = {}
    for name, update in updates:
        response = api.post("/telegram/webhook", json=update, headers=HEADERS)
        assert response.status_code == 200, name
        assert response.json()["stored"] is (update["update_id"] not in by_id), name
        by_id.setdefault(update["update_id"], update)
    stats = inbox_stats(live_workspace.state)
    assert stats["updates"] == len(by_id)
    report = flush_inbox(live_workspace)
    expected = sorted((e["type"], e.get("subtype")) for u in by_id.values() for e in update_events(u))
    events = live_workspace.lake.read_events(["type", "subtype", "source_row"]).to_pylist()
    assert sorted((e["type"], e["subtype"]) for e in events) == expected
    assert report.updates == len(by_id) and {e["source_row"] for e in events} == set(by_id)


def test_redelivery_is_acknowledged_but_stored_once(api: TestClient, live_workspace: Workspace) -> None:
    update = {"update_id": 10, "message": {"message_id": 1, "date": 1767225600, "chat": {"id": -5, "type": "group"},
                                           "from": {"id": 7, "is_bot": False, "first_name": "B"}, "text": "hi"}}
    answers = [api.post("/telegram/webhook", json=update, headers=HEADERS).json() for _ in range(3)]
    assert answers == [{"ok": True, "stored": True}, {"ok": True, "stored": False}, {"ok": True, "stored": False}]
    assert inbox_stats(live_workspace.state)["updates"] == 1


@pytest.mark.parametrize(("headers", "body", "status", "error"), [
    ({}, b'{"update_id": 1}', 401, {"code": "TGP-W401", "message": "missing X-Telegram-Bot-Api-Secret-Token header"}),
    ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, b'{"update_id": 1}', 403,
     {"code": "TGP-W403", "message": "wrong X-Telegram-Bot-Api-Secret-Token"}),
    (HEADERS, b'{"update_id": 1, "message": ', 400, {"code": "TGP-W400", "message": "body is not valid JSON"}),
    (HEADERS, b"\xff\xfe", 400, {"code": "TGP-W400", "message": "body is not valid JSON"}),
    (HEADERS, b'{"update_id": 1, "message": {}, "poll": {}}', 422,
     {"code": "TGP-I001", "message": "an update has at most one payload field, got ['message', 'poll']"}),
    (HEADERS, b'{"update_id": -3}', 422,
     {"code": "TGP-I001", "message": "update_id must be a non-negative integer"}),
    (HEADERS, b'{"update_id": 1, "message": {"text": "' + b"x" * (1024 * 1024) + b'"}}', 413,
     {"code": "TGP-W413", "message": "body larger than 1 MB"}),
])
def test_bad_requests_get_a_clear_4xx_and_store_nothing(api: TestClient, live_workspace: Workspace,
                                                        headers: dict[str, str], body: bytes, status: int,
                                                        error: dict[str, str]) -> None:
    response = api.post("/telegram/webhook", content=body, headers={**headers, "Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (status, {"error": error})
    assert inbox_stats(live_workspace.state)["updates"] == 0
    assert api.get("/healthz").json() == {"status": "ok", "inbox": 0}   # still serving


def test_unknown_routes_use_the_same_error_shape(api: TestClient) -> None:
    response = api.get("/nope")
    assert (response.status_code, response.json()) == (404, {"error": {"code": "HTTP-404", "message": "Not Found"}})
    response = api.get("/l/unknowncode", follow_redirects=False)
    assert response.status_code == 404 and response.json()["error"]["code"] == "TGP-N001"


def test_updates_are_recorded_when_the_bot_api_is_unreachable(live_workspace: Workspace,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from tgportrait.web.app import create_app

    monkeypatch.setenv("TGPORTRAIT_TELEGRAM_API_BASE_URL", "http://127.0.0.1:9")
    workspace = Workspace.open(live_workspace.root)
    start = {"update_id": 11, "message": {"message_id": 1, "date": 1767225600, "chat": {"id": 42, "type": "private"},
                                          "from": {"id": 42, "is_bot": False, "first_name": "A"}, "text": "/start"}}
    with TestClient(create_app(workspace), raise_server_exceptions=False) as api:
        assert api.post("/telegram/webhook", json=start, headers=HEADERS).json() == {"ok": True, "stored": True}
    assert inbox_stats(workspace.state)["by_kind"] == {"message": 1}
    workspace.close()


def test_a_failing_store_answers_500_without_internals(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import tgportrait.collect.inbox as inbox

    def broken(_state: object, _updates: object) -> list[bool]:      # what the writer thread commits with
        raise OSError("database is locked at /secret/path/state.db")

    monkeypatch.setattr(inbox, "store_updates", broken)
    response = api.post("/telegram/webhook", json={"update_id": 1, "message": {}}, headers=HEADERS)
    assert (response.status_code, response.json()) == (500, {"error": {
        "code": "TGP-W500", "message": "internal error; nothing was stored, please retry"}})
    monkeypatch.undo()
    assert api.post("/telegram/webhook", json={"update_id": 1, "message": {}}, headers=HEADERS).json() == {
        "ok": True, "stored": True}     # the writer thread survived the failure

"""The inbox stores each update once (also under concurrency) and the flush turns it into events once."""

from __future__ import annotations

import threading

import pytest

from tgportrait.collect.inbox import InboxWriter, flush_inbox, inbox_stats, store_update, stored_updates
from tgportrait.errors import InputError
from tgportrait.workspace import Workspace


def _message(update_id: int, text: str = "hello", user_id: int = 42) -> dict[str, object]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1767225600, "chat": {"id": user_id, "type": "private"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Ana"}, "text": text}}


def test_each_update_is_stored_once_and_unknown_kinds_raw(workspace: Workspace) -> None:
    assert store_update(workspace.state, _message(1)) is True
    assert store_update(workspace.state, _message(1, "a redelivery")) is False
    assert store_update(workspace.state, {"update_id": 2, "brand_new_kind": {"a": [1, 2]}}) is True
    assert inbox_stats(workspace.state) == {"updates": 2, "by_kind": {"brand_new_kind": 1, "message": 1},
                                            "unprocessed": 2}
    assert stored_updates(workspace.state)[0]["message"]["text"] == "hello"
    assert stored_updates(workspace.state)[1] == {"update_id": 2, "brand_new_kind": {"a": [1, 2]}}


@pytest.mark.parametrize(("update", "message"), [
    ([1, 2], "an update must be a JSON object"),
    ({"message": {}}, "update_id must be a non-negative integer"),
    ({"update_id": "7", "message": {}}, "update_id must be a non-negative integer"),
    ({"update_id": 7, "message": {}, "edited_message": {}},
     "an update has at most one payload field, got ['edited_message', 'message']"),
    ({"update_id": 7, "message": "text"}, "field 'message' must be an object"),
])
def test_malformed_updates_are_refused(workspace: Workspace, update: object, message: str) -> None:
    with pytest.raises(InputError) as error:
        store_update(workspace.state, update)  # type: ignore[arg-type]
    assert error.value.message == message
    assert inbox_stats(workspace.state)["updates"] == 0


def test_concurrent_duplicates_are_stored_exactly_once(workspace: Workspace) -> None:
    results: list[bool] = []
    lock = threading.Lock()

    def send(offset: int) -> None:
        for update_id in range(100):
            stored = store_update(workspace.state, _message((update_id + offset) % 100))
            with lock:
                results.append(stored)

    threads = [threading.Thread(target=send, args=(offset,)) for offset in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(results), sum(results), inbox_stats(workspace.state)["updates"]) == (600, 100, 100)


def test_group_commit_writer_resolves_each_update_after_commit(workspace: Workspace) -> None:
    writer = InboxWriter(workspace.state, max_batch=50)
    futures = [writer.submit(_message(i % 120)) for i in range(240)]
    results = [future.result(timeout=10) for future in futures]
    writer.close()
    assert (sum(results), results[:120].count(True), inbox_stats(workspace.state)["updates"]) == (120, 120, 120)


def test_requests_of_one_event_loop_are_committed_as_one_batch(workspace: Workspace,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    import tgportrait.collect.inbox as inbox

    batches: list[int] = []
    real_store = inbox.store_updates

    def counting_store(state: object, updates: list[dict[str, object]]) -> list[bool]:
        batches.append(len(updates))
        return real_store(workspace.state, updates)

    monkeypatch.setattr(inbox, "store_updates", counting_store)
    writer = InboxWriter(workspace.state)

    async def requests() -> list[bool]:
        return list(await asyncio.gather(*(writer.submit_async(_message(i % 30)) for i in range(60))))

    results = asyncio.run(requests())
    writer.close()
    assert (batches, results[:30], results[30:]) == ([60], [True] * 30, [False] * 30)
    assert stored_updates(workspace.state)[29]["update_id"] == 29


def test_flush_turns_updates_into_events_once(workspace: Workspace) -> None:
    store_update(workspace.state, _message(1, "/start c-spring"))
    store_update(workspace.state, _message(2, "I love this serum"))
    report = flush_inbox(workspace)
    assert (report.updates, report.clicks, report.events.imported if report.events else None) == (2, 0, 2)
    events = workspace.lake.read_events(["type", "campaign", "text", "tg_user_id", "source"]).to_pylist()
    assert sorted((e["type"], e["campaign"], e["tg_user_id"], e["source"]) for e in events) == [
        ("message", None, 42, "telegram_bot"), ("start", "spring", 42, "telegram_bot")]
    assert flush_inbox(workspace).as_dict() == {"updates": 0, "clicks": 0, "events": None}
    assert inbox_stats(workspace.state)["unprocessed"] == 0


def test_flush_works_in_bounded_chunks(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    import tgportrait.collect.inbox as inbox

    monkeypatch.setattr(inbox, "FLUSH_CHUNK", 3)
    for update_id in range(1, 8):
        store_update(workspace.state, _message(update_id, f"message {update_id}"))
    report = flush_inbox(workspace)
    assert (report.updates, report.events.imported if report.events else None) == (7, 7)
    assert len(workspace.lake.event_parts()) == 3
    assert workspace.lake.read_events(["event_id"]).num_rows == 7


def test_erasing_a_user_removes_every_update_they_appear_in(workspace: Workspace) -> None:
    from tgportrait.collect.inbox import erase_user_updates

    store_update(workspace.state, _message(1, "mine", user_id=42))
    store_update(workspace.state, _message(2, "someone else", user_id=7))
    store_update(workspace.state, _message(3, "id 42 in the text only", user_id=7))
    reply = _message(4, "a reply to 42", user_id=7)
    reply["message"]["reply_to_message"] = _message(1, "mine", user_id=42)["message"]  # type: ignore[index]
    store_update(workspace.state, reply)
    assert erase_user_updates(workspace.state, 42) == 2
    assert [u["update_id"] for u in stored_updates(workspace.state)] == [2, 3]

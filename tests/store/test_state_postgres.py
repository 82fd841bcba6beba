"""The state store on a real PostgreSQL: tables, quarantine, imports, runs, inbox, consent, overrides, a build.

Every test gets a fresh database on the throwaway server from ``tests/store/postgres.py``.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import DBAPIError

from tgportrait.build import build
from tgportrait.clean.consent import consent_ledger, consents_of, forget_consents, record_consent
from tgportrait.clean.overrides import Override, active_overrides, override_log, record_override
from tgportrait.collect import import_file
from tgportrait.collect.inbox import InboxWriter, inbox_stats, store_update, store_updates, stored_updates
from tgportrait.collect.links import create_link, find_link
from tgportrait.errors import InputError
from tgportrait.store.state import State, connect_state
from tgportrait.workspace import Workspace


@pytest.fixture
def state(postgres_url: str, tmp_path: Path) -> Iterator[State]:
    opened = State(connect_state(postgres_url, tmp_path))
    yield opened
    opened.engine.dispose()


def message(update_id: int, user: int = 7, text: str = "hi") -> dict[str, object]:
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 1780000000, "text": text,
                                                "from": {"id": user, "is_bot": False, "first_name": "Ann"},
                                                "chat": {"id": user, "type": "private"}}}


def test_connect_creates_the_state_tables_on_postgresql(state: State) -> None:
    engine: Engine = state.engine
    assert engine.dialect.name == "postgresql"
    assert {"quarantine", "imports", "runs"} <= set(inspect(engine).get_table_names())


def test_quarantine_is_added_listed_and_deduplicated(state: State) -> None:
    rows = [{"file": "a.csv", "row": 2, "reason": "customer_id is blank", "raw": "{\"x\": \"ü\"}"},
            {"file": "a.csv", "row": 3, "reason": "bad phone"},
            {"file": "a.csv", "row": 2, "reason": "customer_id is blank"}]
    assert state.add_quarantine("crm_customers", rows) == 2
    assert state.add_quarantine("crm_customers", rows[:2]) == 0
    listed = state.quarantine()
    assert [(r["file"], r["row"], r["reason"], r["raw"]) for r in listed] == [
        ("a.csv", 2, "customer_id is blank", "{\"x\": \"ü\"}"), ("a.csv", 3, "bad phone", None)]
    assert [r["row"] for r in state.quarantine(limit=1)] == [2]
    assert datetime.fromisoformat(listed[0]["quarantined_at"]).tzinfo is None


def test_imports_keep_their_json_counts(state: State) -> None:
    state.record_import("crm_customers", "/data/c.csv", 5, 1, 2, {"customer": 5})
    state.record_import("crm_orders", "/data/o.csv", 0, 0, 0, {})
    rows = state.imports()
    assert [(r["source"], r["imported"], r["duplicates"], r["quarantined"], r["by_type"]) for r in rows] == [
        ("crm_customers", 5, 1, 2, {"customer": 5}), ("crm_orders", 0, 0, 0, {})]


def test_runs_are_registered_and_finished(state: State) -> None:
    state.start_run("r1", "duckdb")
    long_master = "spark://" + "spark-master.analytics.internal.example.org:7077," * 3
    state.start_run("r2", long_master)
    state.finish_run("r1", "published", {"persons": 3, "as_of": datetime(2026, 1, 1)}, {"clean": 0.5})
    state.finish_run("r2", "failed", error="ValueError: boom")
    runs = {r["run_id"]: r for r in state.runs()}
    assert runs["r1"]["status"] == "published"
    assert runs["r1"]["counts"] == {"persons": 3, "as_of": "2026-01-01 00:00:00"}
    assert runs["r1"]["timings"] == {"clean": 0.5}
    assert runs["r1"]["finished_at"] >= runs["r1"]["started_at"]
    assert (runs["r2"]["engine"], runs["r2"]["status"], runs["r2"]["counts"], runs["r2"]["error"]) == (
        long_master, "failed", {}, "ValueError: boom")


def test_the_inbox_stores_each_update_exactly_once_under_concurrent_writers(state: State) -> None:
    assert store_update(state, message(1)) is True
    assert store_update(state, message(1)) is False
    assert store_updates(state, [message(2), message(2), message(1), message(3)]) == [True, False, False, True]
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def writer(offset: int) -> None:
        barrier.wait()
        for update_id in range(100, 160):
            stored = store_update(state, message(update_id, text=f"w{offset}"))
            with lock:
                results.append(stored)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 8 * 60
    assert results.count(True) == 60
    stats = inbox_stats(state)
    assert stats == {"updates": 63, "by_kind": {"message": 63}, "unprocessed": 63}
    assert [u["update_id"] for u in stored_updates(state)] == [1, 2, 3, *range(100, 160)]


def test_concurrent_batches_in_opposite_orders_do_not_deadlock(state: State) -> None:
    errors: list[DBAPIError] = []
    new_counts: list[int] = []
    barrier = threading.Barrier(6)

    def writer(reverse: bool) -> None:
        barrier.wait()
        try:
            for batch in range(4):
                ids = list(range(batch * 1000, batch * 1000 + 400))
                updates = [message(update_id) for update_id in (reversed(ids) if reverse else ids)]
                new_counts.append(sum(store_updates(state, updates)))
        except DBAPIError as exc:  # collected and asserted below (PostgreSQL reports a deadlock here)
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n % 2 == 1,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(new_counts) == 4 * 400
    assert inbox_stats(state)["updates"] == 1600


def test_an_update_with_a_long_payload_field_name_is_stored(state: State) -> None:
    field = "x" * 100
    assert store_update(state, {"update_id": 9, field: {"a": 1}}) is True
    assert inbox_stats(state)["by_kind"] == {"x" * 64: 1}
    assert stored_updates(state) == [{"update_id": 9, field: {"a": 1}}]


def test_the_group_commit_writer_on_postgresql(state: State) -> None:
    writer = InboxWriter(state, max_batch=50)
    try:
        futures = [writer.submit(message(update_id)) for update_id in [*range(500, 700), *range(600, 650)]]
        results = [future.result(timeout=30) for future in futures]
    finally:
        writer.close()
    assert results == [True] * 200 + [False] * 50
    assert inbox_stats(state)["updates"] == 200


def test_the_consent_ledger_keeps_the_latest_decision_per_purpose(state: State) -> None:
    day = datetime(2026, 6, 1, 10, tzinfo=UTC)
    record_consent(state, "tg_user_id:7", "profiling", True, "bot:button", day)
    record_consent(state, "phone:+6281234567890", "profiling", False, "crm", day + timedelta(hours=1))
    record_consent(state, "tg_user_id:7", "marketing", True, "bot:button", day)
    record_consent(state, "tg_user_id:7", "marketing", False, "bot:stop" + "x" * 100, day + timedelta(days=1))
    decisions = consents_of(state, ["tg_user_id:7", "phone:+6281234567890"])
    assert {purpose: (d.granted, d.source, d.at) for purpose, d in decisions.items()} == {
        "profiling": (False, "crm", datetime(2026, 6, 1, 11)),
        "marketing": (False, ("bot:stop" + "x" * 100)[:80], datetime(2026, 6, 2, 10))}
    assert {p: d.granted for p, d in consents_of(state, "tg_user_id:7").items()} == {
        "profiling": True, "marketing": False}
    long_email = "email:" + "a" * 240 + "@example.org"
    record_consent(state, long_email, "profiling", True, "crm", day)
    assert consents_of(state, long_email)["profiling"].granted is True
    assert len(consent_ledger(state)) == 5
    assert forget_consents(state, ["tg_user_id:7"]) == 3
    assert [r["person_key"] for r in consent_ledger(state)] == [long_email, "phone:+6281234567890"]  # by time


def test_identity_overrides_are_logged_and_deactivated(state: State) -> None:
    engine = state.engine
    first = record_override(engine, Override("merge", "email:ann@shop.id", "tg_user_id:7"), "p_1", "same person")
    second = record_override(engine, Override("split", "tg_user_id:7", "email:ann@shop.id"), "p_1")
    assert second > first > 0
    assert active_overrides(engine) == [("split", "tg_user_id:7", "email:ann@shop.id")]
    log = override_log(engine)
    assert [(row["action"], row["active"], row["note"]) for row in log] == [
        ("merge", False, "same person"), ("split", True, None)]
    assert all(isinstance(row["created_at"], str) for row in log)


def test_tracked_links_and_their_campaign_length_limit(state: State) -> None:
    link = create_link(state, "https://shop.example/sale", "c" * 120)
    assert find_link(state, link.code) == link
    with pytest.raises(InputError, match="121 characters"):
        create_link(state, "https://shop.example/sale", "c" * 121)


def test_a_workspace_on_postgresql_imports_and_builds(postgres_url: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TGPORTRAIT_STATE_URL", postgres_url)
    workspace = Workspace.init(tmp_path / "ws", "beauty")
    try:
        assert workspace.state.engine.dialect.name == "postgresql"
        customers = tmp_path / "customers.csv"
        with customers.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["customer_id", "first_name", "last_name", "birth_date", "phone", "email", "country",
                             "telegram_user_id"])
            # a same-name pair without a shared identifier gives the fuzzy linkage something to score
            writer.writerow(["C1", "Ann", "Lee", "1990-01-01", "+6591234567", "ann@shop.id", "SG", "7"])
            writer.writerow(["C2", "Ann", "Lee", "1990-01-01", "+6591234568", "ann.lee@mail.sg", "SG", ""])
            writer.writerow(["C3", "Bob", "Tan", "1985-05-05", "+6591234569", "bob@shop.id", "SG", "8"])
            writer.writerow(["", "No", "Id", "", "", "", "SG", ""])
        report = import_file(workspace, "crm-customers", customers)
        assert (report.imported, report.quarantined) == (3, 1)
        assert store_update(workspace.state, message(1, user=7, text="hello")) is True
        built = build(workspace)
        runs = workspace.state.runs()
        assert [(r["run_id"], r["status"]) for r in runs] == [(built.run_id, "published")]
        assert runs[0]["counts"] == built.counts and (built.counts["events"], built.counts["persons"]) == (4, 3)
        assert [(r["source"], r["imported"]) for r in workspace.state.imports()] == [
            ("crm_customers", 3), ("telegram_bot", 1)]
        assert [r["reason"] for r in workspace.state.quarantine()] == ["customer_id is blank"]
        assert inbox_stats(workspace.state)["unprocessed"] == 0
        assert not (workspace.root / "state.db").exists()
    finally:
        workspace.close()

"""Erasure helpers: the tombstone key and digests, dropping tombstoned events at ingest, the export registry."""

from __future__ import annotations

import hashlib
import hmac
import stat
from datetime import datetime
from pathlib import Path

import pyarrow as pa
from click.testing import CliRunner
from sqlalchemy import insert, select

from tgportrait.clean.erasure import (
    KEY_FILE,
    TOMBSTONE_DROPS,
    TOMBSTONES,
    drop_tombstoned,
    ensure_tombstone_key,
    exported_files,
    register_export,
    tombstone_digest,
)
from tgportrait.cli.compliance import COMMANDS
from tgportrait.store.tables import EVENTS
from tgportrait.workspace import Workspace


def test_init_creates_a_private_key_once(workspace: Workspace) -> None:
    path = workspace.root / KEY_FILE
    key = path.read_text()
    assert len(key) == 64 and int(key, 16) >= 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_tombstone_key(workspace.root).read_text() == key
    assert key not in (workspace.root / "tgportrait.toml").read_text()


def test_digest_is_hmac_sha256_of_type_and_value() -> None:
    expected = hmac.new(b"k", b"phone:+6281234567001", hashlib.sha256).hexdigest()
    assert tombstone_digest(b"k", "phone", "+6281234567001") == expected
    assert tombstone_digest(b"k", "email", "+6281234567001") != expected


def _events(rows: list[dict[str, object]]) -> pa.Table:
    full = [{name: row.get(name) for name in EVENTS.names} for row in rows]
    return pa.Table.from_pylist(full, schema=EVENTS)


def test_drop_tombstoned_drops_and_counts(workspace: Workspace) -> None:
    key = (workspace.root / KEY_FILE).read_text().strip().encode()
    events = _events([{"event_id": "a", "tg_user_id": 700001}, {"event_id": "b", "email": "x@y.io"},
                      {"event_id": "c", "tg_user_id": 700002, "phone": "+6281234567001"}])
    assert drop_tombstoned(workspace, events, "f.csv").num_rows == 3       # no tombstones yet: unchanged
    with workspace.state.engine.begin() as connection:
        connection.execute(insert(TOMBSTONES), [
            {"digest": tombstone_digest(key, "tg_user_id", "700001"), "created_at": datetime(2026, 1, 1)},
            {"digest": tombstone_digest(key, "phone", "+6281234567001"), "created_at": datetime(2026, 1, 1)}])
    kept = drop_tombstoned(workspace, events, "f.csv")
    assert kept.column("event_id").to_pylist() == ["b"]
    with workspace.state.engine.connect() as connection:
        rows = [(row.file, row.dropped) for row in connection.execute(select(TOMBSTONE_DROPS))]
    assert rows == [("f.csv", 2)]


def test_export_registry_lists_existing_files_once(workspace: Workspace, tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.parquet"
    first.write_text("person_id\n")
    register_export(workspace.root, first)
    register_export(workspace.root, first)
    register_export(workspace.root, second)                                 # never written
    assert exported_files(workspace) == [first.resolve()]
    assert (workspace.root / ".exports").read_text().count("a.csv") == 1


def test_forget_needs_confirmation(workspace: Workspace) -> None:
    forget = next(command for command in COMMANDS if command.name == "forget")
    result = CliRunner().invoke(forget, ["700001", "-w", str(workspace.root)])
    assert result.exit_code != 0
    assert "'forget 700001' erases data for good and needs confirmation" in str(result.exception)


def test_forget_person_by_typed_key_works_before_any_build(workspace: Workspace, tmp_path: Path) -> None:
    from tests.test_privacy_end_to_end import write_inputs
    from tgportrait.clean.consent import consent_ledger, record_consent
    from tgportrait.clean.erasure import forget_person
    from tgportrait.collect import import_file

    paths = write_inputs(tmp_path / "inputs")
    import_file(workspace, "questionnaire", paths["questionnaire"])
    record_consent(workspace.state, "tg_user_id:700003", "profiling", True, "bot:button", datetime(2026, 8, 1))
    record_consent(workspace.state, "tg_user_id:700002", "profiling", True, "bot:button", datetime(2026, 8, 1))
    from tgportrait.collect.inbox import INBOX
    from tgportrait.collect.links import LINK_RECIPIENTS

    for table in (INBOX, LINK_RECIPIENTS):
        table.create(workspace.state.engine, checkfirst=True)
    at = datetime(2026, 8, 2)
    with workspace.state.engine.begin() as connection:      # the bot's tables hold the same person
        connection.execute(insert(INBOX), [
            {"update_id": n, "kind": "message", "payload": f'{{"from": {{"id": {user}}}}}', "received_at": at,
             "processed": False} for n, user in ((1, 700003), (2, 700002))])
        connection.execute(insert(LINK_RECIPIENTS), [
            {"recipient": f"r{user}", "code": "abc", "tg_user_id": user, "created_at": at}
            for user in (700003, 700002)])
    before = workspace.lake.read_events(["tg_user_id"]).column("tg_user_id").to_pylist()
    result = forget_person(workspace, "tg_user_id:700003")
    with workspace.state.engine.connect() as connection:
        assert [row.update_id for row in connection.execute(select(INBOX))] == [2]
        assert [row.tg_user_id for row in connection.execute(select(LINK_RECIPIENTS))] == [700002]
    after = workspace.lake.read_events(["tg_user_id", "tg_username"]).to_pylist()
    assert result["removed"]["event_rows"] == before.count(700003) > 0
    assert {row["tg_user_id"] for row in after} == {700001, 700002, 700004, 700007, 700008}
    assert "rina_no" not in {row["tg_username"] for row in after}
    assert [row["person_key"] for row in consent_ledger(workspace.state)] == ["tg_user_id:700002"]
    assert result["tombstones"] == 2 and result["request"]["jurisdiction"] == "default"
    assert result["request"]["due_at"] > result["request"]["received_at"]


def test_redaction_matches_whole_words_and_full_names_only() -> None:
    from tgportrait.clean.erasure import _redact, erasure_needles

    needles = erasure_needles({("tg_user_id", "4242"), ("tg_username", "siti_glow"), ("tg_user_id", "77")},
                              {"Siti Rahmawati", "Rina", "Beauty"})
    assert needles == ["Siti Rahmawati", "siti_glow", "4242"]
    texts = pa.table({"text": ["thanks Siti Rahmawati!", "ask @siti_glow", "Marina loves Beauty serum",
                               "order 142420 shipped", "id 4242.", None]})
    assert _redact(texts, needles).column("text").to_pylist() == [
        "thanks [erased]!", "ask @[erased]", "Marina loves Beauty serum", "order 142420 shipped", "id [erased].", None]


def test_cli_forget_erases_the_bot_inbox_and_links_by_telegram_id(workspace: Workspace) -> None:
    import json

    from tgportrait.collect.inbox import inbox_stats, store_update, stored_updates
    from tgportrait.collect.links import LINK_CLICKS, LINK_RECIPIENTS, create_link, link_key, personal_link

    def reaction(update_id: int, user_id: int) -> dict[str, object]:   # 77 is too short to be searched as text
        return {"update_id": update_id, "message_reaction": {
            "chat": {"id": -5, "type": "group"}, "message_id": 9, "date": 1767225600,
            "user": {"id": user_id, "is_bot": False, "first_name": "A"}, "old_reaction": [], "new_reaction": []}}

    store_update(workspace.state, reaction(1, 77))
    store_update(workspace.state, reaction(2, 770))
    link = create_link(workspace.state, "https://shop.example/a", "june")
    for user in (77, 770):
        personal_link(workspace.state, link_key(workspace.root), link, user, "http://x")
    forget = next(command for command in COMMANDS if command.name == "forget")
    result = CliRunner().invoke(forget, ["tg_user_id:77", "--yes", "-w", str(workspace.root), "--json"],
                                catch_exceptions=False)
    removed = json.loads(result.output)["removed"]
    assert (removed["inbox_updates"], removed["link_rows"]) == (1, 1)
    assert [u["update_id"] for u in stored_updates(workspace.state)] == [2]
    assert inbox_stats(workspace.state)["updates"] == 1
    with workspace.state.engine.connect() as connection:
        assert [row.tg_user_id for row in connection.execute(select(LINK_RECIPIENTS))] == [770]
        assert connection.execute(select(LINK_CLICKS)).all() == []

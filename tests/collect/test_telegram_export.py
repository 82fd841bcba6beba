"""Tests for collect/telegram_export: real Telegram Desktop exports, small hand-written fixtures, the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tgportrait.collect import import_file
from tgportrait.collect import telegram_export as telegram_export_module
from tgportrait.collect.telegram_export import parse_telegram_export
from tgportrait.config import Settings
from tgportrait.errors import InputError
from tgportrait.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures"
SETTINGS = Settings.model_validate({})
REAL_EXPORTS = {  # file under shared/data/telegram_export → events the importer writes for it
    "langchain_telegram_chat_json/result.json": 6,
    "mlomb_chat_analytics/BIG_20A_5475M.json": 5475,
    "mlomb_chat_analytics/DM_2A_7M.json": 8,
    "mlomb_chat_analytics/MultiChat_2C_6M.json": 6,
    "tsu2000_tele_dashboard/sample.json": 272,
}
CONTENT_TYPES = {"message", "forward", "sticker", "media", "poll"}
SERVICE_TYPES = {"service", "join", "leave", "pin"}
DAMAGED_HINT = ("The export is damaged or incomplete. Export it again from Telegram Desktop (Export chat history, "
                "format 'Machine-readable JSON') and wait until it finishes.")
SHAPE_HINT = ("Pass the result.json of a Telegram Desktop export: it holds a top-level 'messages' list (one chat) "
              "or 'chats': {'list': [...]} (the whole account).")


def parse(path: Path) -> pa.Table:
    return parse_telegram_export(path, SETTINGS, {}).events


def counts_from_json(export: dict[str, Any]) -> dict[int, dict[str, int]]:
    """What the import must hold per chat, counted straight from the export's JSON."""
    if "messages" in export:
        chats = [export]
    else:
        chats = [chat for section in ("chats", "left_chats") for chat in export.get(section, {}).get("list", [])]
    counts = {}
    for chat in chats:
        offset = {"private_group": 0, "personal_chat": None, "bot_chat": None}.get(chat["type"], 1_000_000_000_000)
        chat_id = chat["id"] if offset is None else -(offset + chat["id"])
        messages = [m for m in chat["messages"] if isinstance(m, dict)]
        senders = [m.get("from_id", m.get("actor_id")) for m in messages]
        counts[chat_id] = {
            "content": sum(m["type"] == "message" for m in messages),
            "service": sum(len(m["members"]) if m.get("action") in ("invite_members", "remove_members")
                           and m.get("members") else 1 for m in messages if m["type"] != "message"),
            "users": len({s if isinstance(s, int) else int(s[4:]) for s in senders
                          if isinstance(s, int) or (isinstance(s, str) and re.fullmatch(r"user\d+", s))}),
            "reactions": sum(r["count"] for m in messages for r in m.get("reactions", [])),
            "edits": sum("edited" in m or "edited_unixtime" in m for m in messages),
            "forwards": sum("forwarded_from" in m for m in messages),
        }
    return counts


def counts_from_events(events: pa.Table) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    users: dict[int, set[int]] = {}
    for row in events.select(["chat_id", "type", "tg_user_id", "count"]).to_pylist():
        chat = counts.setdefault(row["chat_id"], dict.fromkeys(
            ("content", "service", "users", "reactions", "edits", "forwards"), 0))
        chat["content"] += row["type"] in CONTENT_TYPES
        chat["service"] += row["type"] in SERVICE_TYPES
        chat["reactions"] += row["count"] if row["type"] == "reaction" else 0
        chat["edits"] += row["type"] == "edited_message"
        chat["forwards"] += row["type"] == "forward"
        if row["type"] in CONTENT_TYPES | SERVICE_TYPES and row["tg_user_id"] is not None:
            users.setdefault(row["chat_id"], set()).add(row["tg_user_id"])
    for chat_id, chat in counts.items():
        chat["users"] = len(users.get(chat_id, ()))
    return counts


def test_the_real_data_folder_holds_exactly_the_listed_exports(shared_data: Path) -> None:
    folder = shared_data / "telegram_export"
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*.json")) == sorted(REAL_EXPORTS)


@pytest.mark.parametrize("name", sorted(REAL_EXPORTS))
def test_real_export_counts_match_the_file(shared_data: Path, name: str) -> None:
    path = shared_data / "telegram_export" / name
    parsed = parse_telegram_export(path, SETTINGS, {})
    assert parsed.source == "telegram_export"
    assert parsed.quarantined == []
    assert parsed.events.num_rows == REAL_EXPORTS[name]
    assert len(set(parsed.events["event_id"].to_pylist())) == parsed.events.num_rows
    assert counts_from_events(parsed.events) == counts_from_json(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", sorted(REAL_EXPORTS))
def test_real_export_reimport_adds_nothing(shared_data: Path, workspace: Workspace, name: str) -> None:
    path = shared_data / "telegram_export" / name
    first = import_file(workspace, "telegram-export", path)
    assert (first.imported, first.duplicates, first.quarantined) == (REAL_EXPORTS[name], 0, 0)
    again = import_file(workspace, "telegram-export", path)
    assert (again.imported, again.duplicates, again.by_type) == (0, REAL_EXPORTS[name], {})


def test_scrubbed_sample_keeps_every_message_although_ids_and_unixtimes_repeat(shared_data: Path) -> None:
    events = parse(shared_data / "telegram_export" / "tsu2000_tele_dashboard" / "sample.json")
    assert set(events["message_id"].to_pylist()) == {69420}
    assert Counter(events["type"].to_pylist()) == {"message": 220, "edited_message": 16, "media": 17, "sticker": 13,
                                                   "join": 3, "pin": 2, "service": 1}
    # date_unixtime is "0000000000" everywhere, so the local dates are used (as UTC)
    assert min(events["occurred_at"].to_pylist()) == datetime(2022, 3, 21, 11, 11, 11)
    assert events["tg_user_id"].unique().to_pylist() == [None, 280666525]  # "user000AX6969" is not a user id


def test_text_as_a_list_of_strings_and_entities_is_joined(shared_data: Path) -> None:
    events = parse(shared_data / "telegram_export" / "langchain_telegram_chat_json" / "result.json")
    assert events["text"].to_pylist()[4:] == ["this is bold text: BOLD TEXT", "this is an email: admin@example.com"]
    assert events["chat_id"].unique().to_pylist() == [5965280513]
    assert events["occurred_at"][0].as_py() == datetime(2023, 8, 23, 20, 11, 23)  # from date_unixtime, not date


def test_supergroup_fixture_maps_every_message_kind() -> None:
    parsed = parse_telegram_export(FIXTURES / "telegram_export_supergroup.json", SETTINGS, {})
    columns = ["type", "subtype", "message_id", "occurred_at", "tg_user_id", "display_name", "reply_to_message_id",
               "text", "reaction", "count", "url"]
    rows = [tuple(row.values()) for row in parsed.events.select(columns).to_pylist()]
    at = datetime
    assert rows == [
        ("message", None, -999999990, at(2023, 12, 31, 0, 0), 1001, "Anna Lima", None, "old group hello", None, None,
         None),
        ("service", "migrate_to_supergroup", -999999989, at(2023, 12, 31, 1, 0), None, "Glow Test Buyers", None, None,
         None, None, None),
        ("service", "migrate_from_group", 1, at(2024, 1, 1, 0, 0), None, "Glow Test Buyers", None, "Glow Test Buyers",
         None, None, None),
        ("message", None, 2, at(2024, 1, 1, 1, 0), 1001, "Anna Lima", None, "Is the vitamin C serum back in stock?",
         None, None, None),
        ("message", None, 3, at(2024, 1, 1, 1, 5), 1002, "Bao Tran", 2,
         "Yes! 20% off today: shop or https://shop.example/all", None, None, "https://shop.example/serum"),
        ("edited_message", None, 3, at(2024, 1, 1, 1, 10), 1002, "Bao Tran", 2,
         "Yes! 20% off today: shop or https://shop.example/all", None, None, "https://shop.example/serum"),
        ("reaction", "emoji", 3, at(2024, 1, 1, 1, 6), 1001, "Anna Lima", None, None, "👍", 1, None),
        ("reaction", "emoji", 3, at(2024, 1, 1, 1, 7), 1003, "Chen Wei", None, None, "👍", 1, None),
        ("reaction", "emoji", 3, at(2024, 1, 1, 1, 5), None, None, None, None, "👍", 1, None),
        ("reaction", "paid", 3, at(2024, 1, 1, 1, 5), None, None, None, None, None, 2, None),
        ("reaction", "custom_emoji", 3, at(2024, 1, 1, 1, 8), 1001, "Anna Lima", None, None,
         "stickers/AnimatedSticker.tgs", 1, None),
        ("forward", "photo", 4, at(2024, 1, 1, 2, 0), 1003, "Chen Wei", None, "New arrivals", None, None, None),
        ("sticker", None, 5, at(2024, 1, 1, 2, 1), 1001, "Anna Lima", None, "😍", None, None, None),
        ("media", "voice_message", 6, at(2024, 1, 1, 2, 2), 1002, "Bao Tran", None, None, None, None, None),
        ("poll", None, 7, at(2024, 1, 1, 2, 3), 1001, "Anna Lima", None, "Best serum?", None, 5, None),
        ("join", "by_link", 8, at(2024, 1, 2, 10, 0), 1004, "Dmitri Orlov", None, None, None, None, None),
        ("join", "by_request", 9, at(2024, 1, 2, 10, 5), 1005, "Eva Souza", None, None, None, None, None),
        ("join", "invited", 10, at(2024, 1, 2, 11, 0), None, "Farah Aziz", None, None, None, None, None),
        ("join", "invited", 10, at(2024, 1, 2, 11, 0), None, None, None, None, None, None, None),
        ("join", "returned", 10, at(2024, 1, 2, 11, 0), 1001, "Anna Lima", None, None, None, None, None),
        ("leave", "left", 11, at(2024, 1, 3, 12, 0), 1006, "Gleb Ivanov", None, None, None, None, None),
        ("leave", "removed", 12, at(2024, 1, 3, 12, 30), None, "Farah Aziz", None, None, None, None, None),
        ("pin", None, 13, at(2024, 1, 3, 13, 0), 1001, "Anna Lima", None, None, None, None, None),
        ("service", "custom", 14, at(2024, 1, 3, 13, 30), 1001, "Anna Lima", None, "Anna Lima boosted the group",
         None, None, None),
        ("service", "unsupported", 15, None, None, None, None, None, None, None, None),
        ("message", None, 16, at(2024, 1, 4, 8, 0), None, "Glow Official", None, "Flash sale at noon", None, None,
         None),
        ("message", None, 17, at(2024, 1, 4, 8, 30), None, "Glow Test Buyers", None, "Please keep it on topic", None,
         None, None),
        ("message", None, 18, at(2024, 1, 4, 9, 0), 1007, None, None, "refund please", None, None, None),
        ("message", None, 19, at(2021, 3, 1, 10, 0), 1008, "Old Client", None, "an old export shape", None, None,
         None),
        ("message", "no_date", 20, None, 1001, "Anna Lima", None, "no date at all", None, None, None),
        ("message", None, 21, at(2024, 1, 5, 8, 0), 1002, "Bao Tran", 5, "same id, first", None, None, None),
        ("forward", None, 21, at(2024, 1, 5, 8, 0), 1002, "Bao Tran", None, "same id, second", None, None, None),
    ]
    events = parsed.events
    assert set(events["chat_id"].to_pylist()) == {-1001987654321}
    assert set(events["chat_type"].to_pylist()) == {"private_supergroup"}
    assert set(events["source"].to_pylist()) == {"telegram_export"}
    assert events["source_row"].to_pylist() == events["message_id"].to_pylist()
    assert len(set(events["event_id"].to_pylist())) == events.num_rows
    assert [q.as_dict() for q in parsed.quarantined] == [{
        "file": str(FIXTURES / "telegram_export_supergroup.json"), "row": 25, "raw": "42",
        "reason": "chat -1001987654321: message 25 is not a JSON object"}]


def test_raw_is_the_original_message_as_compact_json() -> None:
    path = FIXTURES / "telegram_export_supergroup.json"
    originals = [m for m in json.loads(path.read_text(encoding="utf-8"))["messages"] if isinstance(m, dict)]
    raws = list(dict.fromkeys(parse(path)["raw"].to_pylist()))
    assert [json.loads(raw) for raw in raws] == originals
    assert raws[3] == ('{"id":2,"type":"message","date":"2024-01-01T08:00:00","date_unixtime":"1704070800",'
                       '"from":"Anna Lima","from_id":"user1001","text":"Is the vitamin C serum back in stock?",'
                       '"text_entities":[{"type":"plain","text":"Is the vitamin C serum back in stock?"}]}')


def test_full_account_export_reads_chats_and_left_chats() -> None:
    events = parse(FIXTURES / "telegram_export_full_account.json")
    columns = ["type", "subtype", "chat_id", "chat_type", "message_id", "tg_user_id", "display_name", "is_bot", "count"]
    assert [tuple(row.values()) for row in events.select(columns).to_pylist()] == [
        ("message", None, 5002, "personal_chat", 101, 5002, "Lan", None, None),
        ("message", None, 5002, "personal_chat", 102, 5001, "Mai Pham", None, None),
        ("message", None, 6001, "bot_chat", 201, 5001, "Mai Pham", None, None),
        ("message", None, 6001, "bot_chat", 202, 6001, "Glow Shop Bot", True, None),
        ("service", "create_group", -7001, "private_group", 301, 5001, "Mai Pham", None, None),
        ("message", None, -7001, "private_group", 302, 5002, "Lan", None, None),
        ("service", "create_channel", -1000000008001, "public_channel", 1, None, "Beauty Deals", None, None),
        ("message", None, -1000000008001, "public_channel", 2, None, "Beauty Deals", None, None),
        ("reaction", "emoji", -1000000008001, "public_channel", 2, None, None, None, 12),
    ]
    assert counts_from_events(events) == counts_from_json(
        json.loads((FIXTURES / "telegram_export_full_account.json").read_text(encoding="utf-8")))


def test_invalid_control_escapes_are_repaired_and_escaped_backslashes_kept() -> None:
    events = parse(FIXTURES / "telegram_export_control_escapes.json")
    assert events.select(["display_name", "text"]).to_pylist() == [
        {"display_name": "Lan\x01", "text": "bell\x07 unit\x1f path C:\\x41\\\x02"}]


def test_results_do_not_depend_on_chunk_or_batch_size(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [FIXTURES / "telegram_export_supergroup.json", FIXTURES / "telegram_export_control_escapes.json"]
    expected = [parse(path).drop_columns(["received_at"]) for path in paths]
    monkeypatch.setattr(telegram_export_module, "CHUNK_BYTES", 3)
    monkeypatch.setattr(telegram_export_module, "BATCH_ROWS", 4)
    assert [parse(path).drop_columns(["received_at"]) for path in paths] == expected


def test_event_ids_are_stable_across_parses() -> None:
    path = FIXTURES / "telegram_export_supergroup.json"
    assert parse(path)["event_id"].to_pylist() == parse(path)["event_id"].to_pylist()


def test_truncated_export_names_the_file_and_position_and_stores_nothing(workspace: Workspace) -> None:
    path = FIXTURES / "telegram_export_truncated.json"
    with pytest.raises(InputError) as raised:
        import_file(workspace, "telegram-export", path)
    assert raised.value.message == (f"{path}: not a readable Telegram export at line 39, column 22: the file ends "
                                    "too early, the JSON is cut short (Unterminated string starting at)")
    assert raised.value.hint == DAMAGED_HINT
    assert len(workspace.lake.existing_event_ids()) == 0
    assert workspace.state.imports() == []


@pytest.mark.parametrize(("content", "problem", "hint"), [
    (b'{"messages": ["caf\xe9"]}', "not UTF-8 text (invalid byte near offset 18)",
     "Telegram Desktop writes UTF-8: export the chat again, or convert the file to UTF-8."),
    (b"", "the file is empty", SHAPE_HINT),
    (b"not json", "not a readable Telegram export at line 1, column 1: expected '{', found 'n'", SHAPE_HINT),
    (b"[]", "not a readable Telegram export at line 1, column 1: expected '{', found '['", SHAPE_HINT),
    (b'{"about": "x"}', "no 'messages' list and no 'chats' or 'left_chats' list: this is not a Telegram Desktop "
                        "export", SHAPE_HINT),
    (b'{\n "messages": [\n  {"id": 1,, "type": "message"}\n ]\n}\n',
     "not a readable Telegram export at line 3, column 12: Expecting property name enclosed in double quotes",
     DAMAGED_HINT),
    (b'{"messages": []} x', "not a readable Telegram export at line 1, column 18: unexpected data after the end "
                            "of the export's top-level object", DAMAGED_HINT),
])
def test_unreadable_files_raise_input_error(tmp_path: Path, content: bytes, problem: str, hint: str) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(content)
    with pytest.raises(InputError) as raised:
        parse(path)
    assert (raised.value.message, raised.value.hint) == (f"{path}: {problem}", hint)


def test_a_column_mapping_is_refused() -> None:
    path = FIXTURES / "telegram_export_full_account.json"
    with pytest.raises(InputError) as raised:
        parse_telegram_export(path, SETTINGS, {"text": "body"})
    assert raised.value.message == f"{path}: telegram-export takes no column mapping (got text)"


def run_cli(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "tgportrait"), *map(str, arguments)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_cli_import_prints_the_report_and_reimport_counts_duplicates(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    path = FIXTURES / "telegram_export_supergroup.json"
    first = run_cli("-w", tmp_path / "ws", "import", "telegram-export", path, "--json")
    assert (first.returncode, first.stderr) == (0, "")
    assert json.loads(first.stdout) == {
        "imported": 32, "duplicates": 0, "quarantined": 1,
        "by_type": {"edited_message": 1, "forward": 2, "join": 5, "leave": 2, "media": 1, "message": 9, "pin": 1,
                    "poll": 1, "reaction": 5, "service": 4, "sticker": 1}}
    again = run_cli("-w", tmp_path / "ws", "import", "telegram-export", path, "--json")
    assert json.loads(again.stdout) == {"imported": 0, "duplicates": 32, "quarantined": 1, "by_type": {}}


def test_cli_truncated_file_exits_2_with_the_error(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    path = FIXTURES / "telegram_export_truncated.json"
    result = run_cli("-w", tmp_path / "ws", "import", "telegram-export", path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"Error [TGP-I001]: {path}: not a readable Telegram export at line 39, column 22: the file ends too early, "
        f"the JSON is cut short (Unterminated string starting at)\nHint: {DAMAGED_HINT}\n")


def test_messages_written_before_the_chat_id_still_get_the_chat(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text('{"messages": [{"id": 1, "type": "message", "date_unixtime": "1700000000", "from_id": "user5", '
                    '"text": "hi"}], "id": 42, "type": "private_group", "name": "Family"}', encoding="utf-8")
    assert parse(path).select(["chat_id", "chat_type", "tg_user_id", "text"]).to_pylist() == [
        {"chat_id": -42, "chat_type": "private_group", "tg_user_id": 5, "text": "hi"}]

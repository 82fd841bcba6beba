"""Bot API updates → canonical events: real captured updates plus the bot's own shapes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tgportrait.collect.telegram_updates import map_updates, parse_start_payload, update_events

RECEIVED = datetime(2026, 1, 1, 12, 0)


def _load(shared_data: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((shared_data / "botapi_updates" / name).read_text())
    return loaded


def _summary(update: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(e["type"], e.get("subtype"), e.get("tg_user_id")) for e in update_events(update)]


@pytest.mark.parametrize(("name", "expected"), [
    ("teloxide_core/types__update__issue_523.json", [("stop", "blocked_bot", 0)]),
    ("teloxide_core/types__update__message_reaction_updated.json", [("reaction", "added", 1459074222)]),
    ("teloxide_core/types__update__message_reaction_updated_1.json", [("reaction", "removed", None)]),
    ("teloxide_core/types__update__message_reaction_count_updated.json", [("reaction", "count", None)]),
    ("teloxide_core/types__update__pinned_message_works.json", [("pin", None, 408258968)]),
    ("teloxide_core/types__update__dice_works.json", [("media", "dice", 408258968)]),
    ("teloxide_core/types__update__issue_1107.json", [("media", "story", 6962620676)]),
    ("teloxide_core/types__update__chat_boost_updated.json", [("service", "chat_boost", None)]),
    ("telegram_docs_webhooks_examples/03_forwarded_message_legacy_forward_from.json", [("forward", "legacy", 1111111)]),
    ("telegram_docs_webhooks_examples/06_edited_message.json", [("edited_message", None, 1111111)]),
    ("telegram_docs_webhooks_examples/11_inline_query.json", [("service", "inline_query", 1111111)]),
    ("telegram_docs_webhooks_examples/13_callback_query.json", [("button_click", None, 1111111)]),
    ("pytelegrambotapi_2024/test_message_entity_3.json", [("forward", "legacy", 927266710)]),
])
def test_real_updates_map_to_the_right_events(shared_data: Path, name: str, expected: list[tuple[Any, ...]]) -> None:
    assert _summary(_load(shared_data, name)) == expected


def test_forward_origin_chat_keys_on_the_sender_chat_not_the_placeholder_user(shared_data: Path) -> None:
    message = _load(shared_data, "teloxide_core/types__message__issue_419.json")
    [event] = update_events({"update_id": 5, "message": message})
    assert (event["type"], event["subtype"], event.get("tg_user_id"), event["display_name"]) == (
        "forward", "chat", None, "a")


def test_poll_answers_with_user_and_with_voter_chat(shared_data: Path) -> None:
    vote = _load(shared_data, "pytelegrambotapi_2024/test_json_poll_answer.json")
    [event] = update_events({"update_id": 6, "poll_answer": vote})
    assert (event["type"], event["subtype"], event["tg_user_id"], event["tg_username"], event["answer_key"],
            event["answer_value"]) == ("poll_answer", "vote", 329343347, "test_user", "5895675970559410186", "1")
    retracted = _load(shared_data, "teloxide_core/types__poll_answer__poll_answer_with_user_de.json")
    [event] = update_events({"update_id": 6, "poll_answer": retracted})
    assert (event["subtype"], event["tg_user_id"], event["answer_value"]) == ("retracted", 42, None)
    voter_chat = _load(shared_data, "teloxide_core/types__poll_answer__poll_answer_with_voter_chat_de.json")
    [event] = update_events({"update_id": 7, "poll_answer": voter_chat})
    assert event.get("tg_user_id") is None and event["display_name"] == voter_chat["voter_chat"]["title"]


def test_start_deep_link_payloads() -> None:
    assert parse_start_payload("spring_sale") == {"campaign": "spring_sale"}
    assert parse_start_payload("c-spring__src-instagram") == {"c": "spring", "src": "instagram"}
    assert parse_start_payload("Yz1zcHJpbmcmc3JjPWln") == {"c": "spring", "src": "ig"}   # base64url("c=spring&src=ig")
    [event] = update_events({"update_id": 1, "message": {
        "message_id": 1, "date": 1700000000, "chat": {"id": 42, "type": "private"},
        "from": {"id": 42, "is_bot": False, "first_name": "Ana", "username": "@Ana_Beauty", "language_code": "pt-br"},
        "text": "/start c-spring__src-instagram"}})
    assert (event["type"], event["subtype"], event["campaign"], event["tg_username"], event["display_name"]) == (
        "start", "deep_link", "spring", "ana_beauty", "Ana")
    assert (event["language_code"], event.get("lang")) == ("pt-br", None)   # the app's language, not the message's


def test_bot_buttons_become_questionnaire_answers_and_tracked_clicks() -> None:
    def click(data: str) -> dict[str, Any]:
        [event] = update_events({"update_id": 2, "callback_query": {
            "id": "9", "from": {"id": 42, "is_bot": False, "first_name": "Ana"}, "chat_instance": "1", "data": data}})
        return event

    assert (click("c:marketing:n")["answer_key"], click("c:marketing:n")["answer_value"]) == ("consent_marketing", "no")
    assert (click("q:region:ID")["type"], click("q:region:ID")["answer_value"]) == ("questionnaire_answer", "ID")
    assert (click("q:interests:skincare")["answer_key"]) == "interest"
    done = click("q:interests:done")
    assert (done["type"], done["text"]) == ("button_click", "q:interests:done")
    assert (click("cmp:spring:buy")["campaign"], click("cmp:spring:buy")["subtype"]) == ("spring", "tracked")


def test_chat_member_join_by_invite_link_is_attributed_to_the_link_name() -> None:
    user = {"id": 42, "is_bot": False, "first_name": "Ana"}
    update = {"update_id": 3, "chat_member": {
        "chat": {"id": -1001, "type": "supergroup", "title": "Club"}, "from": user, "date": 1700000000,
        "old_chat_member": {"user": user, "status": "left"}, "new_chat_member": {"user": user, "status": "member"},
        "invite_link": {"invite_link": "https://t.me/+AbC…", "name": "tiktok-june", "creator": user,
                        "creates_join_request": False, "is_primary": False, "is_revoked": False}}}
    [event] = update_events(update)
    assert (event["type"], event["subtype"], event["campaign"], event["tg_user_id"]) == (
        "join", "invite_link", "tiktok-june", 42)
    update["chat_member"]["old_chat_member"], update["chat_member"]["new_chat_member"] = (
        {"user": user, "status": "member"}, {"user": user, "status": "kicked", "until_date": 0})
    assert _summary(update) == [("leave", "kicked", 42)]


def test_own_contact_gives_an_e164_phone_and_someone_elses_does_not() -> None:
    sender = {"id": 42, "is_bot": False, "first_name": "Ana"}
    own = {"message_id": 3, "date": 1700000000, "chat": {"id": 42, "type": "private"}, "from": sender,
           "contact": {"phone_number": "6281234567890", "first_name": "Ana", "user_id": 42}}
    [event] = update_events({"update_id": 4, "message": own})
    assert (event["subtype"], event["phone"]) == ("contact", "+6281234567890")
    other = {**own, "contact": {"phone_number": "+6281299999999", "first_name": "Bo", "user_id": 7}}
    [event] = update_events({"update_id": 5, "message": other})
    assert event.get("phone") is None


def test_reaction_diff_and_unknown_kinds_and_ids() -> None:
    user = {"id": 42, "is_bot": False, "first_name": "Ana"}
    update = {"update_id": 8, "message_reaction": {
        "chat": {"id": -1001, "type": "supergroup"}, "message_id": 9, "user": user, "date": 1700000000,
        "old_reaction": [{"type": "emoji", "emoji": "👍"}, {"type": "emoji", "emoji": "🔥"}],
        "new_reaction": [{"type": "emoji", "emoji": "🔥"}, {"type": "emoji", "emoji": "❤"}]}}
    assert [(e["subtype"], e["reaction"]) for e in update_events(update)] == [("added", "❤"), ("removed", "👍")]
    rows = map_updates([(update, RECEIVED), ({"update_id": 9, "future_kind": {"x": 1}}, RECEIVED)])
    assert [(r["type"], r["subtype"], r["source_row"]) for r in rows] == [
        ("reaction", "added", 8), ("reaction", "removed", 8), ("service", "future_kind", 9)]
    assert len({r["event_id"] for r in rows}) == 3
    assert rows[2]["occurred_at"] == RECEIVED
    assert json.loads(rows[2]["raw"]) == {"update_id": 9, "future_kind": {"x": 1}}

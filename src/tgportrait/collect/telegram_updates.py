"""Map stored Bot API updates (the inbox) to canonical events (``EVENTS`` rows, source ``telegram_bot``).

One update gives zero or more events; event ids are ``make_event_id("telegram_bot", update_id, n)``.
Messages (private, group, channel), edits, service messages (joins, leaves, pins), forwards
(``forward_origin``, else the legacy ``forward_from*``), contacts (phone in E.164 when a user
shares their own), ``/start PAYLOAD`` deep links (campaign key/value pairs), callback queries
(button clicks; the bot's own consent and questionnaire buttons become ``questionnaire_answer``
events), ``chat_member`` / ``my_chat_member`` (join, leave, blocked bot; the invite link's name is
the campaign), ``message_reaction`` (the diff of the old and new lists), ``poll_answer`` and join
requests. Other kinds become one ``service`` event with the kind as subtype; ``raw`` always keeps
the whole update. The sender's ``language_code`` goes to its own column: the language of their Telegram
app, a weak region hint (``tgportrait.clean.compliance`` reports it, never decides by it), never the
message language (``lang``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from tgportrait.collect.ingest import make_event_id, rejected_identifier, with_invalid_identifiers
from tgportrait.collect.normalize import normalize_phone, normalize_username

Update = Mapping[str, Any]
Event = dict[str, Any]

MEMBER_STATUSES = frozenset({"member", "administrator", "creator"})
MEDIA_KINDS = ("photo", "video", "document", "voice", "audio", "video_note", "animation", "location", "venue", "dice",
               "story")
SERVICE_KINDS = ("new_chat_title", "new_chat_photo", "group_chat_created", "supergroup_chat_created",
                 "migrate_to_chat_id", "migrate_from_chat_id", "forum_topic_created", "boost_added")
CONSENT_PURPOSES = ("profiling", "marketing", "sensitive")
START_COMMAND = re.compile(r"^/start(?:@\w+)?(?:\s+(?P<payload>\S+))?\s*$")
COMMAND = re.compile(r"^/(?P<name>[a-z]+)(?:@\w+)?\b")


def _time(unix: object) -> datetime | None:
    if isinstance(unix, int | float) and not isinstance(unix, bool) and unix > 0:
        return datetime.fromtimestamp(unix, UTC).replace(tzinfo=None)
    return None


def person_columns(user: Mapping[str, Any] | None) -> Event:
    """Identifier columns of a Bot API ``User`` (username normalised) and its ``language_code`` (a weak hint)."""
    if not isinstance(user, Mapping) or not isinstance(user.get("id"), int):
        return {}
    name = " ".join(str(user[part]) for part in ("first_name", "last_name") if user.get(part)) or None
    username, reason = normalize_username(user.get("username")) if user.get("username") else (None, None)
    refused = rejected_identifier(user.get("username"), reason) if reason else None
    language_code = user.get("language_code")
    return {**({"invalid_identifiers": {"telegram_username": refused}} if refused else {}),
            "tg_user_id": user["id"], "tg_username": username, "display_name": name,
            "is_bot": bool(user.get("is_bot", False)), "first_name": user.get("first_name"),
            "last_name": user.get("last_name"),
            "language_code": language_code.strip().lower()[:35] or None if isinstance(language_code, str) else None}


def parse_start_payload(payload: str) -> dict[str, str]:
    """Deep-link parameters: ``k1-v1__k2-v2`` (or base64url of ``k1=v1&k2=v2``); a bare word is the campaign."""
    try:
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if decoded and "=" in decoded and decoded.isprintable():
        pairs = [part.split("=", 1) for part in decoded.split("&") if "=" in part]
        return {key.strip().lower(): value.strip() for key, value in pairs if key.strip()}
    params: dict[str, str] = {}
    for part in payload.split("__"):
        key, separator, value = part.partition("-")
        if separator and key:
            params[key.lower()] = value
        elif part:
            params.setdefault("campaign", part)
    return params


def campaign_of(params: Mapping[str, str]) -> str | None:
    return params.get("campaign") or params.get("c") or params.get("utm_campaign") or params.get("ref")


def _chat(message: Mapping[str, Any]) -> Event:
    chat: Mapping[str, Any] = message["chat"] if isinstance(message.get("chat"), Mapping) else {}
    return {"chat_id": chat.get("id"), "chat_type": chat.get("type"), "message_id": message.get("message_id") or None}


def _sender(message: Mapping[str, Any]) -> Event:
    if isinstance(message.get("sender_chat"), Mapping):   # the `from` is a placeholder user: never profile it
        return {"display_name": message["sender_chat"].get("title")}
    return person_columns(message.get("from"))


def _forward(message: Mapping[str, Any]) -> dict[str, Any] | None:
    origin = message.get("forward_origin")
    if isinstance(origin, Mapping):
        return {"origin": origin.get("type"), "date": origin.get("date"),
                "user": (origin.get("sender_user") or {}).get("id"),
                "chat": (origin.get("sender_chat") or origin.get("chat") or {}).get("id"),
                "name": origin.get("sender_user_name")}
    if any(key in message for key in ("forward_from", "forward_from_chat", "forward_sender_name", "forward_date")):
        return {"origin": "legacy", "date": message.get("forward_date"),
                "user": (message.get("forward_from") or {}).get("id"),
                "chat": (message.get("forward_from_chat") or {}).get("id"), "name": message.get("forward_sender_name")}
    return None


def _message_events(message: Mapping[str, Any], edited: bool) -> list[Event]:
    base = {**_chat(message), **_sender(message), "occurred_at": _time(message.get("edit_date") if edited else None)
            or _time(message.get("date")), "reply_to_message_id": (message.get("reply_to_message") or {}).get(
                "message_id")}
    text = message.get("text") or message.get("caption")
    if edited:
        return [{**base, "type": "edited_message", "text": text}]
    if message.get("new_chat_members"):
        return [{**base, **person_columns(member), "type": "join", "subtype": "service"}
                for member in message["new_chat_members"]]
    if message.get("left_chat_member"):
        return [{**base, **person_columns(message["left_chat_member"]), "type": "leave", "subtype": "service"}]
    if message.get("pinned_message"):
        return [{**base, "type": "pin"}]
    if isinstance(message.get("contact"), Mapping):
        return [_contact_event(base, message["contact"])]
    forward = _forward(message)
    if forward is not None:
        return [{**base, "type": "forward", "subtype": forward["origin"], "text": text}]
    if isinstance(text, str) and message.get("text"):
        start = START_COMMAND.match(text)
        if start:
            params = parse_start_payload(start.group("payload") or "")
            return [{**base, "type": "start", "subtype": "deep_link" if params else None, "text": text,
                     "campaign": campaign_of(params)}]
        command = COMMAND.match(text)
        if command and command.group("name") == "stop":
            return [{**base, "type": "stop", "subtype": "command", "text": text}]
    if message.get("sticker"):
        return [{**base, "type": "sticker", "text": (message["sticker"] or {}).get("emoji")}]
    if message.get("poll"):
        return [{**base, "type": "poll", "text": (message["poll"] or {}).get("question")}]
    for kind in MEDIA_KINDS:
        if kind in message:
            return [{**base, "type": "media", "subtype": kind, "text": text}]
    for kind in SERVICE_KINDS:
        if kind in message:
            return [{**base, "type": "service", "subtype": kind}]
    return [{**base, "type": "message", "text": text}]


def _contact_event(base: Event, contact: Mapping[str, Any]) -> Event:
    event = {**base, "type": "message", "subtype": "contact"}
    own = contact.get("user_id") is not None and contact.get("user_id") == base.get("tg_user_id")
    raw_phone = str(contact.get("phone_number") or "").strip()
    if own and raw_phone:
        phone, reason = normalize_phone(raw_phone if raw_phone.startswith("+") else "+" + raw_phone, None)
        event["phone"] = phone
        if (refused := rejected_identifier(raw_phone, reason) if reason else None) is not None:
            event["invalid_identifiers"] = {**event.get("invalid_identifiers", {}), "phone": refused}
    return event


def _callback_events(query: Mapping[str, Any]) -> list[Event]:
    message: Mapping[str, Any] = query["message"] if isinstance(query.get("message"), Mapping) else {}
    base = {**person_columns(query.get("from")), **_chat(message), "occurred_at": None}
    data = str(query.get("data") or "")
    parts = data.split(":")
    if len(parts) == 3 and parts[0] == "c" and parts[1] in CONSENT_PURPOSES:
        return [{**base, "type": "questionnaire_answer", "subtype": "bot", "answer_key": f"consent_{parts[1]}",
                 "answer_value": "yes" if parts[2] == "y" else "no"}]
    if len(parts) == 3 and parts[0] == "q" and parts[2] not in ("done", "skip"):
        key = "interest" if parts[1] == "interests" else parts[1]
        return [{**base, "type": "questionnaire_answer", "subtype": "bot", "answer_key": key,
                 "answer_value": parts[2]}]
    campaign = parts[1] if len(parts) >= 2 and parts[0] == "cmp" else None
    return [{**base, "type": "button_click", "subtype": "tracked" if campaign else None, "text": data or None,
             "campaign": campaign}]


def _is_member(member: Mapping[str, Any]) -> bool:
    status = member.get("status")
    return status in MEMBER_STATUSES or (status == "restricted" and bool(member.get("is_member")))


def _member_events(change: Mapping[str, Any], own: bool) -> list[Event]:
    old, new = change.get("old_chat_member") or {}, change.get("new_chat_member") or {}
    chat = change.get("chat") or {}
    base = {"chat_id": chat.get("id"), "chat_type": chat.get("type"), "occurred_at": _time(change.get("date"))}
    link = change.get("invite_link") or {}
    campaign = link.get("name") or link.get("invite_link")
    if own:   # the bot's own membership: in a private chat this is the user blocking / unblocking it
        who = person_columns(change.get("from"))
        if chat.get("type") == "private" and new.get("status") == "kicked":
            return [{**base, **who, "type": "stop", "subtype": "blocked_bot"}]
        if chat.get("type") == "private" and old.get("status") == "kicked":
            return [{**base, **who, "type": "start", "subtype": "unblocked_bot"}]
        return [{**base, **who, "type": "service", "subtype": f"bot_{new.get('status')}"}]
    who = person_columns(new.get("user"))
    if _is_member(new) and not _is_member(old):
        how = "invite_link" if link else "join_request" if change.get("via_join_request") else (
            "folder_link" if change.get("via_chat_folder_invite_link") else "member")
        return [{**base, **who, "type": "join", "subtype": how, "campaign": campaign}]
    if _is_member(old) and not _is_member(new):
        return [{**base, **who, "type": "leave", "subtype": new.get("status")}]
    return [{**base, **who, "type": "service", "subtype": f"member_{old.get('status')}_{new.get('status')}"}]


def _reaction_key(reaction: Mapping[str, Any]) -> str:
    return str(reaction.get("emoji") or reaction.get("custom_emoji_id") or reaction.get("type"))


def _reaction_events(change: Mapping[str, Any]) -> list[Event]:
    chat = change.get("chat") or {}
    base = {**person_columns(change.get("user")), "chat_id": chat.get("id"), "chat_type": chat.get("type"),
            "message_id": change.get("message_id"), "occurred_at": _time(change.get("date"))}
    if "user" not in change and isinstance(change.get("actor_chat"), Mapping):
        base["display_name"] = change["actor_chat"].get("title")
    old = {_reaction_key(r) for r in change.get("old_reaction") or []}
    new = {_reaction_key(r) for r in change.get("new_reaction") or []}
    return ([{**base, "type": "reaction", "subtype": "added", "reaction": key, "count": 1} for key in sorted(new - old)]
            + [{**base, "type": "reaction", "subtype": "removed", "reaction": key, "count": -1}
               for key in sorted(old - new)])


def _poll_answer_events(answer: Mapping[str, Any]) -> list[Event]:
    options = answer.get("option_ids") or []
    base = person_columns(answer.get("user"))
    if not base and isinstance(answer.get("voter_chat"), Mapping):
        base = {"display_name": answer["voter_chat"].get("title")}
    return [{**base, "type": "poll_answer", "subtype": "vote" if options else "retracted", "occurred_at": None,
             "answer_key": str(answer.get("poll_id")), "answer_value": ",".join(map(str, options)) or None}]


def update_events(update: Update) -> list[Event]:
    """The events one update gives (without ids, times of receipt or raw; see ``map_updates``)."""
    kind = next((key for key in update if key != "update_id"), "unknown")
    payload = update.get(kind)
    if not isinstance(payload, Mapping):
        return [{"type": "service", "subtype": kind}]
    if kind in ("message", "channel_post", "business_message"):
        return _message_events(payload, edited=False)
    if kind in ("edited_message", "edited_channel_post", "edited_business_message"):
        return _message_events(payload, edited=True)
    if kind == "callback_query":
        return _callback_events(payload)
    if kind in ("chat_member", "my_chat_member"):
        return _member_events(payload, own=kind == "my_chat_member")
    if kind == "message_reaction":
        return _reaction_events(payload)
    if kind == "message_reaction_count":
        chat = payload.get("chat") or {}
        total = sum(int(r.get("total_count") or 0) for r in payload.get("reactions") or [])
        return [{"type": "reaction", "subtype": "count", "chat_id": chat.get("id"), "chat_type": chat.get("type"),
                 "message_id": payload.get("message_id"), "count": total, "occurred_at": _time(payload.get("date"))}]
    if kind == "poll_answer":
        return _poll_answer_events(payload)
    if kind == "chat_join_request":
        link = payload.get("invite_link") or {}
        chat = payload.get("chat") or {}
        return [{**person_columns(payload.get("from")), "type": "join", "subtype": "request",
                 "chat_id": chat.get("id"), "chat_type": chat.get("type"), "occurred_at": _time(payload.get("date")),
                 "campaign": link.get("name") or link.get("invite_link")}]
    return [{**person_columns(payload.get("from")), "type": "service", "subtype": kind,
             "occurred_at": _time(payload.get("date"))}]


def map_updates(updates: Iterable[tuple[Update, datetime]], timezone: str = "UTC") -> list[Event]:
    """Canonical event rows for stored updates ``(update, received_at)``; time falls back to receipt."""
    del timezone  # Bot API times are Unix seconds (UTC); kept for the importer signature
    rows: list[Event] = []
    for update, received_at in updates:
        update_id = update.get("update_id")
        raw = json.dumps(update, ensure_ascii=False, separators=(",", ":"))
        for index, event in enumerate(update_events(update)):
            refused = event.pop("invalid_identifiers", None)  # counted at ingest from raw (see collect.ingest)
            event.update({"event_id": make_event_id("telegram_bot", update_id, index), "source": "telegram_bot",
                          "source_file": "inbox", "source_row": update_id, "received_at": received_at,
                          "occurred_at": event.get("occurred_at") or received_at,
                          "raw": with_invalid_identifiers(raw, refused) if refused else raw})
            rows.append(event)
    return rows

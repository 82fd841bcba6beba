"""Read a Telegram Desktop JSON export (``result.json``) and write its messages as canonical ``EVENTS`` rows.

One chat (top-level ``messages``) or the whole account (``chats.list``, ``left_chats.list``), in every shape
Telegram Desktop has written (``reference/telegram-notes.md`` section D); read and repaired (``\\xNN`` becomes
``\\u00NN``) chunk by chunk, one message at a time. A message gives ``forward``, ``poll`` (voters in ``count``),
``sticker`` (caption or emoji in ``text``), ``media`` (subtype = kind) or ``message``; a service message gives
``join`` (``by_link``, ``by_request``, ``invited`` per member or ``returned`` if the member is the actor),
``leave`` (``left``/``removed``), ``pin`` or ``service`` (subtype = action, ``custom``, ``unsupported``). Edits
add ``edited_message`` at the edit time; reactions add one ``reaction`` per listed reactor (count 1) and one
unattributed event with the rest, so ``count`` sums to the file's counts.

Times come from ``*_unixtime``; without it (old exports, or 0 in a scrubbed file) the local ``date`` is read as
UTC, and reactors' local dates are shifted by the offset their message's two dates show. No time at all: null
``occurred_at`` and ``no_date`` in the subtype. ``user<N>`` or a bare number is a user; ``channel<N>``/``chat<N>``
senders are chats (null ``tg_user_id``, ``raw`` keeps the id). Event ids hash chat, message id, the event's role
and how often that id already came in the chat: re-imports add nothing, repeated ids lose nothing.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import pyarrow as pa

from tgportrait.collect.ingest import ParsedInput, QuarantineRow, make_event_id
from tgportrait.config import Settings
from tgportrait.errors import InputError
from tgportrait.store.tables import EVENTS

SOURCE = "telegram_export"
CHUNK_BYTES = 8 * 1024 * 1024
BATCH_ROWS = 100_000

# Bot API dialog ids: supergroups and channels are -(10^12 + id), basic groups -id, people and bots id.
SUPERGROUP_CHAT_TYPES = frozenset({"private_supergroup", "public_supergroup", "private_channel", "public_channel"})
SUPERGROUP_ID_OFFSET = 1_000_000_000_000
JOIN_ACTIONS = {"join_group_by_link": "by_link", "join_group_by_request": "by_request"}
# Media kind of a message without ``media_type``: the first key present wins (a venue also has a location).
MEDIA_KEYS: tuple[tuple[str, str], ...] = (
    ("photo", "photo"), ("file", "file"), ("contact_information", "contact"), ("place_name", "venue"),
    ("live_location_period_seconds", "live_location"), ("location_information", "location"),
    ("game_title", "game"), ("invoice_information", "invoice"), ("todo_list", "todo_list"),
    ("giveaway_information", "giveaway"), ("giveaway_results", "giveaway_results"),
    ("paid_stars_amount", "paid_media"),
)
MEDIA_KEY_NAMES = frozenset(key for key, _ in MEDIA_KEYS)
# The event columns filled per row, in the order of the row tuples; the others are constant or null.
ROW_COLUMNS: tuple[str, ...] = (
    "event_id", "source_row", "type", "subtype", "occurred_at", "tg_user_id", "display_name", "is_bot",
    "chat_id", "chat_type", "message_id", "reply_to_message_id", "text", "reaction", "count", "url", "raw",
)
EPOCH = datetime(1970, 1, 1)
INVALID_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\x([0-9A-Fa-f]{2})")
WHITESPACE = re.compile(r"[ \t\n\r]*")
DAMAGED_HINT = ("The export is damaged or incomplete. Export it again from Telegram Desktop (Export chat history, "
                "format 'Machine-readable JSON') and wait until it finishes.")
SHAPE_HINT = ("Pass the result.json of a Telegram Desktop export: it holds a top-level 'messages' list (one chat) "
              "or 'chats': {'list': [...]} (the whole account).")


def parse_telegram_export(path: Path, settings: Settings, mapping: dict[str, str]) -> ParsedInput:
    """Parse a Telegram Desktop ``result.json`` into canonical events; ``InputError`` if it cannot be read."""
    if mapping:
        raise InputError(f"{path}: telegram-export takes no column mapping (got {', '.join(sorted(mapping))})",
                         hint="Drop --map and --mapping-file: a Telegram Desktop export has a fixed format.")
    builder = EventRowBuilder(str(path), datetime.now(UTC).replace(tzinfo=None))
    try:
        with path.open("rb") as handle:
            read_export(JsonStream(path, handle), builder)
    except OSError as error:
        raise InputError(f"{path}: cannot read the file ({error.strerror or error})",
                         hint="Check the path and that the file is readable.") from error
    return ParsedInput(SOURCE, str(path), builder.finish(), builder.quarantined)


def repair_control_escapes(text: str) -> str:
    """Rewrite Telegram Desktop's invalid ``\\xNN`` escapes as ``\\u00NN``; an escaped backslash stays."""
    return INVALID_ESCAPE.sub(r"\1\\u00\2", text)


class JsonStream:
    """A JSON file decoded (UTF-8), repaired and scanned chunk by chunk, one value at a time."""

    def __init__(self, path: Path, handle: BinaryIO) -> None:
        self.path, self.handle = path, handle
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.json_decoder = json.JSONDecoder()
        self.buffer, self.pos, self.carry, self.eof, self.bytes_read = "", 0, "", False, 0
        # what was consumed and dropped from the buffer, for error positions
        self.dropped_chars, self.dropped_lines, self.dropped_line_start = 0, 0, 0

    def fill(self) -> bool:
        """Append the next chunk, forgetting what was consumed; False at the end of the file."""
        if self.eof:
            return False
        data = self.handle.read(CHUNK_BYTES)
        try:
            text = self.carry + self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as error:
            raise InputError(f"{self.path}: not UTF-8 text (invalid byte near offset {self.bytes_read + error.start})",
                             hint="Telegram Desktop writes UTF-8: export the chat again, or convert the file "
                                  "to UTF-8.") from error
        if self.carry or b"\\x" in data:  # checking the bytes is much faster than searching the text
            text = repair_control_escapes(text)
        self.bytes_read += len(data)
        self.eof = not data
        # An escape cut by the chunk's end waits for the next chunk: keep back any backslash in the last 3 chars.
        cut = len(text)
        while not self.eof and cut > 0 and "\\" in text[max(cut - 3, 0):cut]:
            cut -= 1
        text, self.carry = text[:cut], text[cut:]
        if self.pos:
            newline = self.buffer.rfind("\n", 0, self.pos)
            if newline >= 0:
                self.dropped_lines += self.buffer.count("\n", 0, self.pos)
                self.dropped_line_start = self.dropped_chars + newline + 1
            self.dropped_chars += self.pos
        self.buffer = self.buffer[self.pos:] + text
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next non-blank character, not consumed ('' at the end of the file)."""
        while True:
            blank = WHITESPACE.match(self.buffer, self.pos)
            if blank:
                self.pos = blank.end()
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self.fill():
                return ""

    def expect(self, char: str, what: str, hint: str = DAMAGED_HINT) -> None:
        found = self.peek()
        if found != char:
            raise self.error(f"expected {what}, found {found!r}", hint=hint)
        self.pos += 1

    def value(self) -> Any:
        """Decode the next JSON value whole (reading more chunks while it is cut by the buffer's end)."""
        self.peek()
        while True:
            try:
                value, end = self.json_decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as error:
                unterminated = error.msg.startswith("Unterminated")
                if (unterminated or error.pos >= len(self.buffer) - 8) and self.fill():
                    continue  # the value may be cut by the end of the buffer, not of the file
                truncated = unterminated or error.pos >= len(self.buffer)
                raise self.error(error.msg, len(self.buffer) if truncated else error.pos) from error
            except (ValueError, RecursionError) as error:
                raise self.error(str(error)) from error
            if end >= len(self.buffer) and self.fill():  # a number may go on in the next chunk
                continue
            self.pos = end
            return value

    def items(self, opening: str, closing: str) -> Iterator[int]:
        """Positions (from 1) of the items of the array or object starting here; the caller consumes each item."""
        self.expect(opening, f"'{opening}'", hint=SHAPE_HINT)
        if self.peek() == closing:
            self.pos += 1
            return
        index = 0
        while True:
            index += 1
            yield index
            separator = self.peek()
            if separator not in (",", closing):
                raise self.error(f"expected ',' or '{closing}', found {separator!r}")
            self.pos += 1
            if separator == closing:
                return

    def object_keys(self) -> Iterator[str]:
        """Keys of the object starting here; the caller consumes each key's value before the next."""
        for _ in self.items("{", "}"):
            if self.peek() != '"':
                raise self.error(f"expected a quoted key, found {self.peek()!r}")
            key = self.value()
            self.expect(":", "':' after a key")
            yield key

    def array_values(self) -> Iterator[Any]:
        for _ in self.items("[", "]"):
            yield self.value()

    def error(self, problem: str, position: int | None = None, hint: str = DAMAGED_HINT) -> InputError:
        """An ``InputError`` naming the file, the line and the column (of the repaired text)."""
        pos = self.pos if position is None else position
        newline = self.buffer.rfind("\n", 0, pos)
        line = self.dropped_lines + self.buffer.count("\n", 0, pos) + 1
        line_start = self.dropped_chars + newline + 1 if newline >= 0 else self.dropped_line_start
        column = self.dropped_chars + pos - line_start + 1
        if self.eof and pos >= len(self.buffer):
            problem = f"the file ends too early, the JSON is cut short ({problem})"
        return InputError(f"{self.path}: not a readable Telegram export at line {line}, column {column}: {problem}",
                          hint=hint)


def read_export(stream: JsonStream, builder: EventRowBuilder) -> None:
    """Walk the export's top level: one chat, or the account's ``chats``/``left_chats`` lists."""
    if stream.peek() == "":
        raise InputError(f"{stream.path}: the file is empty", hint=SHAPE_HINT)
    found = read_chat(stream, builder, top_level=True)
    if stream.peek() != "":
        raise stream.error("unexpected data after the end of the export's top-level object")
    if not found:
        raise InputError(f"{stream.path}: no 'messages' list and no 'chats' or 'left_chats' list: "
                         "this is not a Telegram Desktop export", hint=SHAPE_HINT)


def read_chat(stream: JsonStream, builder: EventRowBuilder, *, top_level: bool) -> bool:
    """Read one chat object (``name``/``type``/``id``/``messages``); True if it had a messages list."""
    header: dict[str, Any] = {}
    pending: list[Any] | None = None  # messages met before the chat's id and type: kept until the end
    found = False
    for key in stream.object_keys():
        if key == "messages" and stream.peek() == "[":
            found = True
            if "id" in header and "type" in header:
                builder.add_messages(header, stream.array_values())
            else:
                pending = list(stream.array_values())
        elif top_level and key in ("chats", "left_chats") and stream.peek() == "{":
            for section_key in stream.object_keys():
                if section_key == "list" and stream.peek() == "[":
                    found = True
                    for index in stream.items("[", "]"):
                        if stream.peek() == "{":
                            read_chat(stream, builder, top_level=False)
                        else:
                            builder.quarantine(index, f"{key}.list item {index} is not a chat object", stream.value())
                else:
                    stream.value()
        else:
            value = stream.value()
            if key in ("name", "type", "id"):
                header[key] = value
    if pending is not None:
        builder.add_messages(header, iter(pending))
    return found


class MessageRef(NamedTuple):
    """What every event of one message shares."""

    chat_id: int | None
    chat_type: str | None
    bot_user_id: int | None  # the bot of a bot_chat, so its messages get is_bot
    message_id: int | None
    occurrence: int  # how many times this message id came earlier in the same chat
    occurred: int | None  # microseconds since the epoch, naive UTC
    reply_to: int | None
    raw: str


class EventRowBuilder:
    """Turns export messages into rows of the canonical event columns, converted to Arrow in batches."""

    def __init__(self, file: str, received_at: datetime) -> None:
        self.file = file
        self.received_at = (received_at - EPOCH) // timedelta(microseconds=1)
        self.rows: list[tuple[Any, ...]] = []
        self.tables: list[pa.Table] = []
        self.quarantined: list[QuarantineRow] = []
        self.seen_message_ids: dict[int | None, dict[int | None, int]] = {}
        self.user_ids: dict[str, int | None] = {}
        self.raw_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

    def quarantine(self, row: int, reason: str, value: Any) -> None:
        self.quarantined.append(QuarantineRow(self.file, row, reason, self.raw_encoder.encode(value)))

    def add_messages(self, header: dict[str, Any], messages: Iterator[Any]) -> None:
        chat_type = header.get("type") if isinstance(header.get("type"), str) else None
        bare_id = as_int(header.get("id"))
        chat_id = bot_api_chat_id(bare_id, chat_type)
        bot_user_id = bare_id if chat_type == "bot_chat" else None
        seen = self.seen_message_ids.setdefault(chat_id, {})
        for position, message in enumerate(messages, 1):
            if not isinstance(message, dict):
                self.quarantine(position, f"chat {chat_id}: message {position} is not a JSON object", message)
                continue
            message_id = as_int(message.get("id"))
            occurrence = seen.get(message_id, 0)
            seen[message_id] = occurrence + 1
            occurred = timestamp_us(message.get("date_unixtime"), message.get("date"))
            ref = MessageRef(chat_id, chat_type, bot_user_id, message_id, occurrence, occurred,
                             as_int(message.get("reply_to_message_id")), self.raw_encoder.encode(message))
            self.add_message(ref, message)

    def add_message(self, ref: MessageRef, message: dict[str, Any]) -> None:
        kind = message.get("type")
        by_actor = kind == "service" or "from_id" not in message  # service messages name an actor, not a sender
        user_id = self.user_id(message.get("actor_id" if by_actor else "from_id"))
        name = name_of(message.get("actor" if by_actor else "from"))
        text, url = text_and_url(message["text"] if "text" in message else message.get("text_entities"))
        if kind == "message":
            self.add_content(ref, message, user_id, name, text, url)
        elif kind == "service":
            self.add_service(ref, message, user_id, name, text)
        else:
            self.emit(ref, "service", "service", "unsupported" if kind == "unsupported" else "unknown",
                      user_id, name, text=text, url=url)
        if "edited_unixtime" in message or "edited" in message:
            edited_at = timestamp_us(message.get("edited_unixtime"), message.get("edited"))
            stamp = message.get("edited_unixtime", message.get("edited"))
            self.emit(ref._replace(occurred=edited_at), f"edited:{stamp}", "edited_message", None, user_id, name,
                      text=text, url=url)
        reactions = message.get("reactions")
        if isinstance(reactions, list):
            self.add_reactions(ref._replace(reply_to=None), reactions, local_offset_us(message))

    def user_id(self, sender: Any) -> int | None:
        """``user_id_of``, remembered per sender string (the same few senders repeat on every message)."""
        if type(sender) is not str:
            return user_id_of(sender)
        if sender not in self.user_ids:
            self.user_ids[sender] = user_id_of(sender)
        return self.user_ids[sender]

    def add_content(self, ref: MessageRef, message: dict[str, Any], user_id: int | None, name: str | None,
                    text: str | None, url: str | None) -> None:
        media = media_kind(message)
        poll = message.get("poll")
        if "forwarded_from" in message:
            self.emit(ref, "message", "forward", "poll" if poll is not None else media, user_id, name, text=text,
                      url=url)
        elif isinstance(poll, dict):
            question, _ = text_and_url(poll.get("question"))
            voters = as_int(poll.get("total_voters"))
            self.emit(ref, "message", "poll", None, user_id, name, text=question, count=voters)
        elif media == "sticker":
            emoji = message.get("sticker_emoji")
            self.emit(ref, "message", "sticker", None, user_id, name, text=text or name_of(emoji), url=url)
        elif media is not None or poll is not None:
            self.emit(ref, "message", "media", media or "poll", user_id, name, text=text, url=url)
        else:
            self.emit(ref, "message", "message", None, user_id, name, text=text, url=url)

    def add_service(self, ref: MessageRef, message: dict[str, Any], actor_id: int | None, actor: str | None,
                    text: str | None) -> None:
        action = message.get("action")
        members = message.get("members")
        if action in JOIN_ACTIONS:
            self.emit(ref, "service", "join", JOIN_ACTIONS[action], actor_id, actor)
        elif action in ("invite_members", "remove_members") and isinstance(members, list) and members:
            joining = action == "invite_members"
            for index, member in enumerate(members):
                member_name = name_of(member)
                is_actor = member_name is not None and member_name == actor
                subtype = ("returned" if is_actor else "invited") if joining else ("left" if is_actor else "removed")
                self.emit(ref, f"member:{index}", "join" if joining else "leave", subtype,
                          actor_id if is_actor else None, member_name)
        elif action == "pin_message":
            self.emit(ref, "service", "pin", None, actor_id, actor)
        else:
            for fallback in ("information_text", "title", "new_title"):
                if text is None:
                    text = name_of(message.get(fallback))
            self.emit(ref, "service", "service", "custom" if action is None else str(action), actor_id, actor,
                      text=text)

    def add_reactions(self, ref: MessageRef, reactions: list[Any], local_offset: int) -> None:
        """One event per recent reactor (count 1), plus one unattributed event holding the rest of ``count``."""
        roles_used: dict[str, int] = {}
        for reaction in reactions:
            if not isinstance(reaction, dict):
                continue
            kind = name_of(reaction.get("type")) or "emoji"
            label = name_of(reaction.get("emoji")) or name_of(reaction.get("document_id"))
            recent = [r for r in reaction.get("recent") or () if isinstance(r, dict)]
            for reactor in recent:
                reacted_at = timestamp_us(None, reactor.get("date"))
                reacted_at = ref.occurred if reacted_at is None else reacted_at - local_offset
                role = unique_role(roles_used, f"reaction:{label or kind}:{reactor.get('from_id')}")
                self.emit(ref._replace(occurred=reacted_at), role, "reaction", kind, user_id_of(reactor.get("from_id")),
                          name_of(reactor.get("from")), reaction=label, count=1)
            total = as_int(reaction.get("count"))
            rest = (len(recent) if total is None else total) - len(recent)
            if rest > 0:
                self.emit(ref, unique_role(roles_used, f"reaction:{label or kind}:rest"), "reaction", kind, None,
                          None, reaction=label, count=rest)

    def emit(self, ref: MessageRef, role: str, event_type: str, subtype: str | None, user_id: int | None,
             name: str | None, *, text: str | None = None, url: str | None = None, reaction: str | None = None,
             count: int | None = None) -> None:
        if ref.occurred is None and subtype != "unsupported":
            subtype = f"{subtype};no_date" if subtype else "no_date"
        is_bot = True if user_id is not None and user_id == ref.bot_user_id else None
        self.rows.append((
            make_event_id(SOURCE, ref.chat_id, ref.message_id, role, ref.occurrence), ref.message_id, event_type,
            subtype, ref.occurred, user_id, name, is_bot, ref.chat_id, ref.chat_type, ref.message_id, ref.reply_to,
            text, reaction, count, url, ref.raw,
        ))
        if len(self.rows) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Convert the collected rows into one Arrow table in the canonical schema."""
        if not self.rows:
            return
        size = len(self.rows)
        collected = dict(zip(ROW_COLUMNS, map(list, zip(*self.rows, strict=True)), strict=True))
        self.rows = []
        constants = {"source": SOURCE, "source_file": self.file, "received_at": self.received_at}
        arrays = {field.name: pa.array(collected[field.name], type=field.type) if field.name in collected
                  else pa.repeat(pa.scalar(constants[field.name], type=field.type), size) if field.name in constants
                  else pa.nulls(size, type=field.type) for field in EVENTS}
        self.tables.append(pa.Table.from_pydict(arrays, schema=EVENTS))

    def finish(self) -> pa.Table:
        self.flush()
        return pa.concat_tables(self.tables) if self.tables else EVENTS.empty_table()


def bot_api_chat_id(bare_id: int | None, chat_type: str | None) -> int | None:
    """The export's bare chat id as a Bot API dialog id."""
    if bare_id is None:
        return None
    if chat_type in SUPERGROUP_CHAT_TYPES:
        return -(SUPERGROUP_ID_OFFSET + bare_id)
    if chat_type == "private_group":
        return -bare_id
    return bare_id


def user_id_of(sender: Any) -> int | None:
    """``"user123"`` or ``123`` (before v2.7.2) → 123; chats (``channel``/``chat``) and anything else → None."""
    if type(sender) is int:
        return sender
    if isinstance(sender, str):
        digits = sender[4:] if sender.startswith("user") else sender
        if digits.isascii() and digits.isdigit():
            return int(digits)
    return None


def name_of(value: Any) -> str | None:
    """A display name or other label: a non-empty string, else None (``null`` is a deleted account)."""
    return value if isinstance(value, str) and value else None


def as_int(value: Any) -> int | None:
    if type(value) is int:
        return value
    try:
        return int(value) if isinstance(value, str) else None
    except ValueError:
        return None


def timestamp_us(unixtime: Any, iso_date: Any) -> int | None:
    """Microseconds since the epoch from ``*_unixtime`` (digits; 0 = absent), else ``date`` read as UTC."""
    seconds = as_int(unixtime)
    if seconds:
        return seconds * 1_000_000
    try:
        moment = datetime.fromisoformat(iso_date)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return (moment - EPOCH) // timedelta(microseconds=1)


def local_offset_us(message: dict[str, Any]) -> int:
    """The exporting computer's UTC offset (to 15 minutes) from a message's local ``date`` and ``date_unixtime``."""
    local, utc = timestamp_us(None, message.get("date")), timestamp_us(message.get("date_unixtime"), None)
    quarter_hour = 15 * 60 * 1_000_000
    return 0 if local is None or utc is None else round((local - utc) / quarter_hour) * quarter_hour


def text_and_url(value: Any) -> tuple[str | None, str | None]:
    """The full text of a string or a list of strings and entity objects, and the first link in it."""
    if isinstance(value, str):
        return value or None, None
    if not isinstance(value, list):
        return None, None
    parts: list[str] = []
    url: str | None = None
    for part in value:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict):
            piece = part.get("text")
            if isinstance(piece, str):
                parts.append(piece)
            if url is None and part.get("type") in ("link", "text_link"):
                url = name_of(piece if part["type"] == "link" else part.get("href"))
    return "".join(parts) or None, url


def media_kind(message: dict[str, Any]) -> str | None:
    """``media_type`` (sticker, voice_message, video_file...), else the kind named by the first media key."""
    media_type = name_of(message.get("media_type"))
    if media_type is not None:
        return media_type
    if MEDIA_KEY_NAMES.isdisjoint(message):  # the usual text message, checked in one call
        return None
    return next(kind for key, kind in MEDIA_KEYS if key in message)


def unique_role(used: dict[str, int], role: str) -> str:
    """``role``, suffixed ``#n`` when the same message already produced it n times."""
    times = used.get(role, 0)
    used[role] = times + 1
    return role if times == 0 else f"{role}#{times}"

"""The canonical table schemas every stage reads and writes (Arrow types, engine-neutral).

``EVENTS`` is the one event schema all collectors produce. Timestamps are naive UTC
microseconds (the same on DuckDB and Spark). Typed payload columns carry everything the
pipeline reads; ``raw`` keeps the original record as JSON for audit and re-processing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

TIMESTAMP = pa.timestamp("us")

EVENT_TYPES: tuple[str, ...] = (
    "message", "edited_message", "service", "reaction", "forward", "poll", "poll_answer",
    "sticker", "media", "pin", "join", "leave", "invite", "link_click", "button_click", "start", "stop",
    "questionnaire_answer", "customer_profile", "order", "refund", "cancellation", "order_status",
)

EVENTS = pa.schema([
    ("event_id", pa.string()),          # deterministic: source kind + the source's own id
    ("source", pa.string()),            # telegram_export, telegram_bot, crm_customers, crm_orders, questionnaire
    ("source_file", pa.string()),
    ("source_row", pa.int64()),         # row number (1-based, header excluded) or message id
    ("type", pa.string()),
    ("subtype", pa.string()),           # service action, media kind, order status...
    ("occurred_at", TIMESTAMP),
    ("received_at", TIMESTAMP),
    # identifiers (already normalised: phone E.164, e-mail lower-case, username without @ lower-case)
    ("tg_user_id", pa.int64()),
    ("tg_username", pa.string()),
    ("phone", pa.string()),
    ("email", pa.string()),
    ("crm_customer_id", pa.string()),
    ("display_name", pa.string()),
    ("is_bot", pa.bool_()),
    # chat context
    ("chat_id", pa.int64()),
    ("chat_type", pa.string()),
    ("message_id", pa.int64()),
    ("reply_to_message_id", pa.int64()),
    # message payload
    ("text", pa.string()),
    ("text_folded", pa.string()),       # fold_text(text): lower-case, accents folded (filled at ingest)
    ("lang", pa.string()),
    ("language_code", pa.string()),     # the sender's Telegram app language (IETF tag): a weak region hint only
    ("reaction", pa.string()),
    ("count", pa.int64()),
    ("url", pa.string()),
    ("campaign", pa.string()),
    # commerce payload
    ("order_id", pa.string()),
    ("amount", pa.float64()),
    ("currency", pa.string()),
    ("amount_usd", pa.float64()),
    ("quantity", pa.float64()),
    ("product", pa.string()),
    ("category", pa.string()),
    ("status", pa.string()),
    # profile payload (CRM customers, questionnaires)
    ("first_name", pa.string()),
    ("last_name", pa.string()),
    ("full_name", pa.string()),
    ("birth_date", pa.date32()),
    ("gender", pa.string()),
    ("city", pa.string()),
    ("country", pa.string()),
    ("answer_key", pa.string()),
    ("answer_value", pa.string()),
    ("raw", pa.string()),
])

EVENT_COLUMNS: tuple[str, ...] = tuple(EVENTS.names)

IDENTIFIER_TYPES: tuple[str, ...] = ("tg_user_id", "crm_customer_id", "phone", "email", "tg_username")

PERSONS = pa.schema([
    ("person_id", pa.string()),
    ("id_type", pa.string()),
    ("id_value", pa.string()),
    ("rule", pa.string()),              # how this identifier joined the person
    ("probability", pa.float64()),
    ("first_seen", TIMESTAMP),
    ("sources", pa.string()),
])

LABELS = pa.schema([
    ("person_id", pa.string()),
    ("label_id", pa.string()),
    ("level1", pa.string()),
    ("level2", pa.string()),
    ("level3", pa.string()),
    ("weight", pa.float64()),
    ("score", pa.float64()),
    ("evidence", pa.string()),          # JSON: the values that made the rule true
    ("consent_purpose", pa.string()),
    ("sensitive", pa.bool_()),
    ("computed_at", TIMESTAMP),
])


def event_rows_to_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Arrow table in the canonical event schema; missing keys become nulls, unknown keys are an error."""
    columns: dict[str, list[Any]] = {name: [] for name in EVENT_COLUMNS}
    for row in rows:
        unknown = set(row) - columns.keys()
        if unknown:
            raise KeyError(f"not event columns: {sorted(unknown)}")
        for name, values in columns.items():
            values.append(row.get(name))
    return pa.Table.from_pydict(columns, schema=EVENTS)


def empty_events() -> pa.Table:
    return EVENTS.empty_table()

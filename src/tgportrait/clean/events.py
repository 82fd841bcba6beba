"""Clean events: reads the lake's ``events`` and the identity map, writes ``events_clean``.

Pure Ibis. Every event gets an ``invalid_reason`` (null when valid) and a ``person_id``; the
build keeps only valid, attributed events for features, and counts the rest per source and
reason for the quality report. Nothing is deleted: invalid events stay in the lake.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from tgportrait.store.tables import IDENTIFIER_TYPES

BOT_NAME_PATTERN = r"(?i)(bot)$"

INVALID_REASONS = (
    "no date", "date in the future", "date before 1990", "blank questionnaire", "impossible age",
    "bot account", "negative amount", "no identifier",
)


def flag_invalid(events: ir.Table, as_of: datetime) -> ir.Table:
    """Add ``invalid_reason``: the first rule an event breaks, or null."""
    future_limit = ibis.literal(as_of + timedelta(days=1))
    earliest = ibis.literal(datetime(1990, 1, 1))
    age_value = events.answer_value.cast("float64")
    is_bot = (
        events.is_bot.fill_null(False)
        | events.tg_username.fill_null("").re_search(BOT_NAME_PATTERN)
        | (events.source.isin(["telegram_export", "telegram_bot"])
           & events.display_name.fill_null("").re_search(BOT_NAME_PATTERN))
    )
    has_identifier = ibis.or_(*[events[name].notnull() for name in IDENTIFIER_TYPES])
    reason = ibis.cases(
        (events.occurred_at.isnull() & events.type.isin(["order", "refund", "cancellation", "message"]), "no date"),
        (events.occurred_at > future_limit, "date in the future"),
        (events.occurred_at < earliest, "date before 1990"),
        ((events.type == "questionnaire_answer") & (events.subtype == "blank"), "blank questionnaire"),
        ((events.type == "questionnaire_answer") & (events.answer_key == "age")
         & ((age_value < 0) | (age_value > 120)), "impossible age"),
        (is_bot, "bot account"),
        ((events.type == "order") & (events.amount_usd < 0), "negative amount"),
        (~has_identifier, "no identifier"),
        else_=ibis.null("string"),
    )
    return events.mutate(invalid_reason=reason)


def attach_person(events: ir.Table, identity_map: ir.Table) -> ir.Table:
    """Add ``person_id`` from the identity map, trying identifier types strongest first."""
    joined = events
    person_columns = []
    for id_type in IDENTIFIER_TYPES:
        lookup = identity_map.filter(identity_map.id_type == id_type).select(
            **{f"_value_{id_type}": identity_map.id_value, f"_person_{id_type}": identity_map.person_id})
        joined = joined.left_join(lookup, joined[id_type].cast("string") == lookup[f"_value_{id_type}"])
        joined = joined.drop(f"_value_{id_type}")
        person_columns.append(joined[f"_person_{id_type}"])
    joined = joined.mutate(person_id=ibis.coalesce(*person_columns))
    return joined.drop(*[f"_person_{id_type}" for id_type in IDENTIFIER_TYPES])


def possible_duplicate_persons(events: ir.Table) -> ir.IntegerScalar:
    """Persons beyond the first that share a CRM full name and birth date (likely missed merges)."""
    profiles = events.filter((events.type == "customer_profile") & events.person_id.notnull())
    name = ibis.coalesce(profiles.full_name, profiles.first_name + " " + profiles.last_name).lower().strip()
    keys = profiles.filter(profiles.birth_date.notnull()).select(
        "person_id", key=name + "|" + profiles.birth_date.cast("string"))
    keys = keys.filter(keys.key.notnull()).distinct()
    ranked = keys.mutate(_rank=ibis.row_number().over(group_by=keys.key, order_by=keys.person_id))
    return ranked.filter(ranked._rank > 0).person_id.nunique()

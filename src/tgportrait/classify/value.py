"""Value tiers: reads cleaned events, writes each event's ``value_tier`` (core, auxiliary or redundant).

Core events say who a person is or what they bought (orders, profiles, questionnaire answers,
messages with words); auxiliary events are the rest of the activity (reactions, joins, clicks);
redundant events repeat what is already known: emoji-only messages, stickers beyond a daily
allowance, and the same notification link or button clicked again on the same day. Redundant
events are kept in ``events_clean`` with their tier and counted in the quality report, but the
feature stage does not read them. The mapping lives in ``[value_tiers]`` settings.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tgportrait.config import ValueTierSettings

TIERS = ("core", "auxiliary", "redundant")
# a message whose text has no letter and no digit (emoji, punctuation, "+1" counts as a digit: kept)
NO_WORDS_PATTERN = r"^[^\p{L}\p{N}]+$"
STICKER_SUBTYPE = "sticker"


def _day(events: ir.Table) -> ir.Value:
    return events.occurred_at.truncate("D")


def value_tiers(events: ir.Table, settings: ValueTierSettings) -> ir.Table:
    """``events`` plus ``value_tier``; needs person_id, type, subtype, occurred_at, text, url, campaign."""
    is_sticker = (events.type == STICKER_SUBTYPE) | (events.subtype.fill_null("") == STICKER_SUBTYPE)
    is_click = events.type.isin(settings.click_types)
    click_target = ibis.coalesce(events.url, events.campaign, ibis.literal(""))
    sticker_rank = ibis.row_number().over(
        group_by=[events.person_id, _day(events), is_sticker], order_by=[events.occurred_at, events.event_id])
    click_rank = ibis.row_number().over(
        group_by=[events.person_id, _day(events), events.type, click_target],
        order_by=[events.occurred_at, events.event_id])
    text = events.text.fill_null("").strip()
    emoji_only = (events.type == "message") & ~is_sticker & (text != "") & text.re_search(NO_WORDS_PATTERN)
    redundant = (
        events.type.isin(settings.redundant_types or [""])
        | (emoji_only if settings.emoji_only_redundant else ibis.literal(False))
        | (is_sticker & (sticker_rank >= settings.sticker_daily_limit))
        | (is_click & (click_rank >= settings.repeated_click_daily_limit))
    )
    core = events.type.isin(settings.core_types) | ((events.type == "message") & ~is_sticker & (text != "")
                                                    & ~text.re_search(NO_WORDS_PATTERN))
    tier = ibis.cases((redundant, "redundant"), (core, "core"), else_="auxiliary")
    return events.mutate(value_tier=tier)


def without_redundant(events: ir.Table) -> ir.Table:
    """The events the feature stage reads."""
    return events.filter(events.value_tier != "redundant")

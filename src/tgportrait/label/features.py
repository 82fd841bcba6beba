"""Compute features: reads clean, attributed events (+ the identity map), writes ``features``.

One row per person, one typed column per trait of the catalogue (``label.catalogue``). Pure
Ibis expressions built here; the store executes them, on DuckDB or Spark alike. Times are
measured against ``as_of`` (the build's reference time). Local hours use the person's region
offset (standard time), see ``clean.regions``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import ibis
import ibis.expr.types as ir

from tgportrait.classify.language import (
    HINT_WEIGHTS,
    ID_MARKERS,
    LEGACY_LANGUAGE_CODES,
    MS_MARKERS,
    REGION_LANGUAGE,
    WORD_LETTERS,
)

MESSAGE_TYPES = ("message", "forward", "media", "sticker", "poll")
TELEGRAM_ACTIVITY_TYPES = (*MESSAGE_TYPES, "edited_message", "reaction", "poll_answer", "link_click",
                           "button_click", "join", "start", "questionnaire_answer")
ATTRIBUTE_KEYS = ("region", "age_band", "gender", "language", "device")
DISCOUNT_PATTERN = r"(?i)(discount|promo|sale|coupon|voucher|deal|diskon|giam-gia|khuyen-mai|desconto|oferta|skidka)"
SUITABILITY_INTENT = "suitability"   # a message of this intent that names a topic counts as suitability_<topic>
REPURCHASE_COLUMNS = ("p_alive", "expected_purchases_90d", "expected_value_90d_usd")
AGE_BANDS = ((18, 24, "18-24"), (25, 34, "25-34"), (35, 44, "35-44"), (45, 54, "45-54"))


class DemandLexicon(Protocol):
    """What the features stage needs from the lexicon (``label.lexicon.Lexicon``)."""

    @property
    def intent_ids(self) -> Sequence[str]: ...

    @property
    def topic_ids(self) -> Sequence[str]: ...

    def intent_case_expression(self, column: ir.StringValue, *, prefolded: bool = False) -> ir.StringValue: ...

    def topic_hit_expressions(self, column: ir.StringValue, *,
                              prefolded: bool = False) -> Mapping[str, ir.BooleanValue]: ...

    def category_hit_expressions(self, column: ir.StringValue) -> Mapping[str, ir.BooleanValue]: ...
MONEY_DECIMAL = "decimal(38, 9)"   # exact sums (see ``_exact``)


@dataclass(frozen=True)
class FeatureInputs:
    events: ir.Table            # valid events with person_id and intent (clean.events, tag_intents)
    persons: ir.Table           # person_id, has_phone, has_email, is_customer, is_telegram_member, phone_region
    regions: ir.Table           # region, timezone, offset_minutes
    language_hints: ir.Table    # language, region
    as_of: datetime
    repurchase: ir.Table | None = None  # person_id, p_alive, expected_purchases_90d, expected_value_90d_usd


def _days_since(column: ir.TimestampValue, as_of: datetime) -> ir.IntegerValue:
    seconds = ibis.literal(int(as_of.timestamp())) - column.epoch_seconds()
    return (seconds / 86400).floor().cast("int64")


def _since(column: ir.TimestampValue, as_of: datetime, days: int) -> ir.BooleanValue:
    return _days_since(column, as_of) < days


def _latest_per(table: ir.Table, keys: list[str]) -> ir.Table:
    window = ibis.window(group_by=[table[k] for k in keys], order_by=[table.occurred_at.desc(), table.event_id])
    return table.mutate(_rank=ibis.row_number().over(window)).filter(lambda t: t._rank == 0).drop("_rank")


def _age_band(age: ir.NumericValue) -> ir.StringValue:
    cases = [((age >= low) & (age <= high), band) for low, high, band in AGE_BANDS]
    return ibis.cases(*cases, (age >= 55, "55+"), else_=ibis.null("string"))


def attribute_features(inputs: FeatureInputs) -> ir.Table:
    """region (+source), language, age_band, gender, device, timezone, offset per person."""
    events = inputs.events
    answers = events.filter((events.type == "questionnaire_answer") & events.answer_key.isin(ATTRIBUTE_KEYS))
    latest = _latest_per(answers, ["person_id", "answer_key"])
    questionnaire = latest.group_by("person_id").aggregate(**{
        f"q_{key}": latest.answer_value.max(where=latest.answer_key == key) for key in ATTRIBUTE_KEYS})
    profiles = _latest_per(events.filter(events.type == "customer_profile"), ["person_id"])
    crm = profiles.select("person_id", crm_country=profiles.country.upper(), crm_gender=profiles.gender.lower(),
                          crm_birth_date=profiles.birth_date)
    base = inputs.persons.select("person_id", "phone_region")
    joined = (base.left_join(questionnaire, "person_id").drop("person_id_right")
              .left_join(crm, "person_id").drop("person_id_right"))
    hints = inputs.language_hints
    joined = joined.left_join(hints, joined.q_language == hints.language).drop("language")
    joined = joined.rename(hint_region="region")
    # strongest evidence first, the same order as the compliance stage: questionnaire, phone, CRM, language
    region = ibis.coalesce(joined.q_region.upper(), joined.phone_region, joined.crm_country, joined.hint_region)
    region_source = ibis.cases(
        (joined.q_region.notnull(), "questionnaire"), (joined.phone_region.notnull(), "phone"),
        (joined.crm_country.notnull(), "crm"), (joined.hint_region.notnull(), "language"),
        else_=ibis.null("string"))
    birth_age = (_days_since(joined.crm_birth_date.cast("timestamp"), inputs.as_of) / 365.25).floor()
    gender = ibis.coalesce(joined.q_gender.lower(), joined.crm_gender)
    gender = ibis.cases((gender.isin(["f", "female", "woman"]), "female"), (gender.isin(["m", "male", "man"]), "male"),
                        (gender.notnull(), "other"), else_=ibis.null("string"))
    strong_region = ibis.coalesce(joined.q_region.upper(), joined.phone_region, joined.crm_country)
    languages = detected_languages(events, joined.select("person_id", region=strong_region))
    joined = joined.left_join(languages, "person_id").drop("person_id_right")
    attributes = joined.select(  # language: the questionnaire's, else the one most of their messages are in
        "person_id", region=region, region_source=region_source,
        language=ibis.coalesce(joined.q_language.lower(), joined.detected_language),
        age_band=ibis.coalesce(joined.q_age_band, _age_band(birth_age)), gender=gender,
        device=joined.q_device.lower())
    regions = inputs.regions
    attributes = attributes.left_join(regions, attributes.region == regions.region).drop("region_right")
    return attributes.mutate(offset_minutes=attributes.offset_minutes.fill_null(0))


def detected_languages(events: ir.Table, hint_regions: ir.Table | None = None) -> ir.Table:
    """person_id, detected_language: the language with the most evidence, as ``classify.language``'s
    ``detect_person_language`` weighs it, computed in the engine from the ``lang`` stored at ingest.

    Each message counts by its length (``min(1, 0.3 + characters / 60)``, a Han or kana character
    counting three); the Telegram app language (``language_code``, 1.5) and the main language of the
    person's region (``hint_regions``: person_id, region; 0.5) are weak hints. Indonesian and Malay are
    pooled on the side the hints name; without hints, when the person has evidence for both, on the side
    whose function words (``ID_MARKERS``, ``MS_MARKERS``) all their messages use more; else on the larger.
    Ties: the alphabetically last language.
    """
    texts = events.filter(events.type.isin(MESSAGE_TYPES) & events.lang.notnull())
    dense = texts.lang.isin(["zh", "ja"]).ifelse(3, 1)
    evidence = [texts.select("person_id", language=texts.lang, score=ibis.least(
        1.0, 0.3 + (texts.text.length().fill_null(0) * dense).cast("float64") / 60))]
    coded = events.filter(events.language_code.notnull())
    code = coded.language_code.lower().re_extract(r"^([a-z]+)", 1)
    code = code.substitute(LEGACY_LANGUAGE_CODES, else_=code)
    latest = _latest_per(coded.mutate(language=code).filter(code != ""), ["person_id"])
    evidence.append(latest.select("person_id", "language",
                                  score=ibis.literal(HINT_WEIGHTS["language_code"], type="float64")))
    hinted = latest.select("person_id", hint_language=latest.language)
    if hint_regions is not None:
        regional = hint_regions.filter(hint_regions.region.notnull()).select(
            "person_id", language=hint_regions.region.upper().substitute(REGION_LANGUAGE, else_=ibis.null("string")))
        regional = regional.filter(regional.language.notnull())
        evidence.append(regional.mutate(score=ibis.literal(HINT_WEIGHTS["region"], type="float64")))
        hinted = ibis.union(hinted, regional.rename(hint_language="language"), distinct=False)
    scores = ibis.union(*evidence, distinct=False)
    scores = scores.group_by(["person_id", "language"]).aggregate(score=scores.score.sum())
    sides = hinted.group_by("person_id").aggregate(
        hinted_ms=(hinted.hint_language == "ms").any(), hinted_id=(hinted.hint_language == "id").any())
    pair = scores.filter(scores.language.isin(["id", "ms"])).group_by("person_id").aggregate(
        id_score=scores.score.sum(where=scores.language == "id").fill_null(0.0),
        ms_score=scores.score.sum(where=scores.language == "ms").fill_null(0.0))
    pair = pair.left_join(sides, "person_id").drop("person_id_right")
    both = pair.filter((pair.id_score > 0) & (pair.ms_score > 0))  # only they have words counted (else 0, 0)
    words = _malay_pair_words(events.filter(events.type.isin(MESSAGE_TYPES) & events.text.notnull())
                              .semi_join(both.select("person_id"), "person_id"))
    pair = pair.left_join(words, "person_id").drop("person_id_right")
    id_words, ms_words = pair.id_words.fill_null(0), pair.ms_words.fill_null(0)
    side = ibis.cases((pair.hinted_ms.fill_null(False) & ~pair.hinted_id.fill_null(False), "ms"),
                      (pair.hinted_id.fill_null(False), "id"),
                      (ms_words != id_words, ibis.ifelse(ms_words > id_words, "ms", "id")),
                      (pair.ms_score > pair.id_score, "ms"), else_="id")
    pair = pair.select("person_id", _side=side)
    merged = scores.left_join(pair, "person_id").drop("person_id_right")
    merged = merged.mutate(language=ibis.ifelse(merged.language.isin(["id", "ms"]), merged._side, merged.language))
    totals = merged.group_by(["person_id", "language"]).aggregate(score=merged.score.sum())
    ranked = totals.mutate(_rank=ibis.row_number().over(group_by=totals.person_id,
                                                        order_by=[totals.score.desc(), totals.language.desc()]))
    return ranked.filter(ranked._rank == 0).select("person_id", detected_language=ranked.language)


def _malay_pair_words(texts: ir.Table) -> ir.Table:
    """person_id, id_words, ms_words: how many Indonesian and Malay function words their messages use, counted as
    ``classify.language`` does (words are runs of ``WORD_LETTERS`` in the lower-cased text). Each run is set
    between double spaces, each function word with its spaces replaced by a marker character, and the markers
    counted: plain string functions every engine has."""
    spaced = "  " + texts.text.lower().re_replace(f"[^{WORD_LETTERS}]+", "  ") + "  "

    def count(words: frozenset[str]) -> ir.IntegerValue:
        marked = spaced.re_replace(" (?:" + "|".join(re.escape(word) for word in sorted(words)) + ") ", " \x01 ")
        counted = marked.length() - marked.replace("\x01", "").length()
        assert isinstance(counted, ir.IntegerValue)
        return counted

    per_text = texts.select("person_id", id_words=count(ID_MARKERS), ms_words=count(MS_MARKERS))
    return per_text.group_by("person_id").aggregate(id_words=per_text.id_words.sum(), ms_words=per_text.ms_words.sum())


def _exact(amount: ir.Value) -> ir.NumericValue:
    """Money summed as decimals: a float sum depends on the order the engine adds in (threads, batches), and
    277.42499999 vs 277.425 would flip a label's evidence between two builds of the same data."""
    exact = amount.cast(MONEY_DECIMAL)
    assert isinstance(exact, ir.NumericValue)
    return exact


def consumption_features(events: ir.Table, as_of: datetime) -> ir.Table:
    paid = events.filter(events.type == "order")
    orders = paid.group_by(["person_id", ibis.coalesce(paid.order_id, paid.event_id).name("order_key")]).aggregate(
        amount=_exact(paid.amount_usd).sum(), at=paid.occurred_at.min())
    per_person = orders.group_by("person_id").aggregate(
        **{f"orders_{d}d": orders.count(where=_since(orders.at, as_of, d)) for d in (30, 90, 365)},
        orders_total=orders.count(),
        **{f"spend_{d}d_usd": orders.amount.sum(where=_since(orders.at, as_of, d)).cast("float64")
           for d in (30, 90, 365)},
        spend_total_usd=orders.amount.sum().cast("float64"),
        avg_order_usd=orders.amount.mean().cast("float64"),
        max_order_usd=orders.amount.max().cast("float64"),
        last_order_days=_days_since(orders.at.max(), as_of),
        first_order_days=_days_since(orders.at.min(), as_of),
        _order_dates=orders.at.date().nunique(),
        _order_span_days=(orders.at.max().epoch_seconds() - orders.at.min().epoch_seconds()) / 86400,
    )
    per_person = per_person.mutate(repurchase_interval_days=ibis.cases(
        (per_person._order_dates >= 2, per_person._order_span_days / (per_person._order_dates - 1)),
        else_=ibis.null("float64"))).drop("_order_dates", "_order_span_days")
    returns = events.filter(events.type.isin(["refund", "cancellation"])).group_by("person_id").aggregate(
        refunds_total=(events.type == "refund").sum().cast("int64"),
        cancellations_total=(events.type == "cancellation").sum().cast("int64"))
    by_category = paid.filter(paid.category.notnull()).group_by(["person_id", "category"]).aggregate(
        spend=_exact(paid.amount_usd).sum())
    ranked = by_category.mutate(_rank=ibis.row_number().over(
        group_by=by_category.person_id, order_by=[by_category.spend.desc(), by_category.category]))
    categories = ranked.group_by("person_id").aggregate(
        top_category=ranked.category.max(where=ranked._rank == 0), categories_count=ranked.category.nunique())
    recent = paid.filter(_since(paid.occurred_at, as_of, 90) & paid.product.notnull())
    by_product = recent.group_by(["person_id", "product"]).aggregate(
        product_orders=ibis.coalesce(recent.order_id, recent.event_id).nunique())
    ranked_products = by_product.mutate(_rank=ibis.row_number().over(
        group_by=by_product.person_id, order_by=[by_product.product_orders.desc(), by_product.product]))
    products = ranked_products.filter(ranked_products._rank == 0).select(
        "person_id", top_product_90d=ranked_products.product, top_product_90d_orders=ranked_products.product_orders)
    result = per_person
    for extra in (returns, categories, products):
        result = result.outer_join(extra, "person_id")
        result = result.mutate(person_id=ibis.coalesce(result.person_id, result.person_id_right)).drop(
            "person_id_right")
    total = result.orders_total.fill_null(0) + result.cancellations_total.fill_null(0)
    refunds = result.refunds_total.fill_null(0) + result.cancellations_total.fill_null(0)
    return result.mutate(refund_rate=ibis.cases((total > 0, refunds.cast("float64") / total),
                                                else_=ibis.null("float64")))


def behaviour_features(events: ir.Table, attributes: ir.Table, as_of: datetime) -> ir.Table:
    recent = _since(events.occurred_at, as_of, 90)
    is_message = events.type.isin(MESSAGE_TYPES)
    is_activity = events.type.isin(TELEGRAM_ACTIVITY_TYPES)
    link_text = ibis.coalesce(events.url, "") + " " + ibis.coalesce(events.campaign, "")
    discount = events.type.isin(["link_click", "button_click", *MESSAGE_TYPES]) & link_text.re_search(DISCOUNT_PATTERN)
    counts = events.group_by("person_id").aggregate(
        messages_30d=(is_message & _since(events.occurred_at, as_of, 30)).sum().cast("int64"),
        messages_90d=(is_message & recent).sum().cast("int64"),
        messages_total=is_message.sum().cast("int64"),
        replies_90d=(is_message & recent & events.reply_to_message_id.notnull()).sum().cast("int64"),
        reactions_90d=events["count"].fill_null(1).sum(where=(events.type == "reaction") & recent).cast("int64"),
        forwards_90d=((events.type == "forward") & recent).sum().cast("int64"),
        link_clicks_90d=((events.type == "link_click") & recent).sum().cast("int64"),
        discount_link_clicks_90d=(discount & recent).sum().cast("int64"),
        button_clicks_90d=((events.type == "button_click") & recent).sum().cast("int64"),
        stickers_90d=((events.type == "sticker") & recent).sum().cast("int64"),
        joins_total=(events.type == "join").sum().cast("int64"),
        leaves_total=(events.type == "leave").sum().cast("int64"),
        active_days_90d=events.occurred_at.date().nunique(where=is_activity & recent),
        last_seen_days=_days_since(events.occurred_at.max(where=is_activity), as_of),
        first_seen_days=_days_since(events.occurred_at.min(), as_of),
    )
    messages = events.filter(events.type.isin(MESSAGE_TYPES) & events.occurred_at.notnull())
    messages = messages.join(attributes.select("person_id", "offset_minutes"), "person_id")
    minutes = messages.occurred_at.hour().cast("int64") * 60 + messages.occurred_at.minute().cast("int64")
    local_hour = ((minutes + messages.offset_minutes + 1440) % 1440) // 60
    hourly = messages.mutate(hour=local_hour.cast("int64")).group_by(["person_id", "hour"]).aggregate(n=ibis._.count())
    shifted = hourly.mutate(hour=((hourly.hour + 23) % 24).cast("int64"))
    windows = hourly.union(shifted).group_by(["person_id", "hour"]).aggregate(n=ibis._.n.sum())
    best = windows.mutate(_rank=ibis.row_number().over(
        group_by=windows.person_id, order_by=[windows.n.desc(), windows.hour]))
    preferred = best.filter(best._rank == 0).select(
        "person_id", preferred_hour_start=best.hour, preferred_hour_end=(best.hour + 2).cast("int64"))
    return counts.left_join(preferred, "person_id").drop("person_id_right")


def tag_intents(events: ir.Table, lexicon: DemandLexicon, classified: ir.Table | None = None) -> ir.Table:
    """Add ``intent`` to message events; null elsewhere. Computed once per build.

    Without ``classified``: the lexicon, in the engine. With it (the build's ``message_intents`` table:
    event_id, intent, intent_confidence, lang; ``classify.message_intents``): the classifier's intent for
    every message it holds (null where it abstained), and its ``lang`` where the event has none.
    """
    is_text = events.type.isin(MESSAGE_TYPES) & events.text_folded.notnull()
    lexicon_intent = lexicon.intent_case_expression(events.text_folded, prefolded=True)
    if classified is None:
        return events.mutate(intent=ibis.cases((is_text, lexicon_intent), else_=ibis.null("string")))
    renamed = classified.select(_mi_event_id=classified.event_id, _mi_intent=classified.intent,
                                _mi_lang=classified.lang, _mi_seen=ibis.literal(True))
    joined = events.left_join(renamed, events.event_id == renamed._mi_event_id)
    return joined.mutate(
        intent=ibis.cases((joined._mi_seen.notnull(), joined._mi_intent), (is_text, lexicon_intent),
                          else_=ibis.null("string")),
        lang=ibis.coalesce(joined.lang, joined._mi_lang)).drop("_mi_event_id", "_mi_intent", "_mi_lang", "_mi_seen")


def demand_features(events: ir.Table, lexicon: DemandLexicon, as_of: datetime) -> ir.Table:
    """Per-person demand columns: topic interest (messages, questionnaire, purchases) and intents asked."""
    texts = events.filter(events.type.isin(MESSAGE_TYPES) & events.text_folded.notnull()
                          & _since(events.occurred_at, as_of, 365))
    hits = lexicon.topic_hit_expressions(texts.text_folded, prefolded=True)
    quarter = _since(texts.occurred_at, as_of, 90)
    message_counts = texts.group_by("person_id").aggregate(
        **{f"_msg_{topic}": hits[topic].sum().cast("int64") for topic in lexicon.topic_ids},
        **{f"asked_{intent}_90d": ((texts.intent == intent) & quarter).sum().cast("int64")
           for intent in lexicon.intent_ids},
        **{f"suitability_{topic}": ((texts.intent == SUITABILITY_INTENT) & hits[topic]).sum().cast("int64")
           for topic in lexicon.topic_ids})
    interests = events.filter((events.type == "questionnaire_answer") & (events.answer_key == "interest"))
    interest_text = interests.answer_value.lower()
    interest_hits = lexicon.topic_hit_expressions(interest_text)
    stated = interests.group_by("person_id").aggregate(**{
        f"_said_{topic}": (interest_hits[topic] | (interest_text.replace(" ", "_") == topic)).sum().cast("int64")
        for topic in lexicon.topic_ids})
    paid = events.filter((events.type == "order") & _since(events.occurred_at, as_of, 365))
    category_hits = lexicon.category_hit_expressions(paid.category)
    product_hits = lexicon.topic_hit_expressions(paid.product)
    bought = paid.group_by("person_id").aggregate(**{
        f"_bought_{topic}": (category_hits[topic] | product_hits[topic]).sum().cast("int64")
        for topic in lexicon.topic_ids})
    combined = message_counts
    for extra in (stated, bought):
        combined = combined.outer_join(extra, "person_id")
        combined = combined.mutate(person_id=ibis.coalesce(combined.person_id, combined.person_id_right)).drop(
            "person_id_right")
    return combined.select("person_id", **{
        f"interest_{topic}": (combined[f"_msg_{topic}"].fill_null(0) + combined[f"_said_{topic}"].fill_null(0)
                              + combined[f"_bought_{topic}"].fill_null(0)).cast("int64")
        for topic in lexicon.topic_ids}, **{f"asked_{intent}_90d": combined[f"asked_{intent}_90d"]
                                            for intent in lexicon.intent_ids},
        **{f"suitability_{topic}": combined[f"suitability_{topic}"] for topic in lexicon.topic_ids})


def message_examples(events: ir.Table, lexicon: DemandLexicon, as_of: datetime, max_chars: int = 200) -> ir.Table:
    """Messages that can show why a demand label holds: (person_id, key, text, priority, occurred_at).

    ``key`` is a topic (messages naming it, last 365 days) or ``intent:<id>`` (messages of that intent, last
    90 days); ``priority`` 0 marks suitability questions, shown first (``label.assign.with_message_examples``).
    """
    texts = events.filter(events.type.isin(MESSAGE_TYPES) & events.text_folded.notnull() & events.text.notnull()
                          & _since(events.occurred_at, as_of, 365))
    hits = lexicon.topic_hit_expressions(texts.text_folded, prefolded=True)
    priority = ibis.ifelse(texts.intent == SUITABILITY_INTENT, 0, 1).cast("int64")
    base = {"person_id": texts.person_id, "text": texts.text.substr(0, max_chars), "priority": priority,
            "occurred_at": texts.occurred_at}
    parts = [texts.filter(hits[topic]).select(**base, key=ibis.literal(topic, type="string"))
             for topic in lexicon.topic_ids]
    recent = texts.filter(texts.intent.notnull() & _since(texts.occurred_at, as_of, 90))
    parts.append(recent.select(person_id=recent.person_id, text=recent.text.substr(0, max_chars),
                               priority=ibis.ifelse(recent.intent == SUITABILITY_INTENT, 0, 1).cast("int64"),
                               occurred_at=recent.occurred_at, key=ibis.literal("intent:").concat(recent.intent)))
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def build_features(inputs: FeatureInputs, lexicon: DemandLexicon, column_order: Sequence[str]) -> ir.Table:
    """The features table: every person of the identity map, one column per catalogue entry."""
    events = inputs.events
    attributes = attribute_features(inputs)
    consumption = consumption_features(events, inputs.as_of)
    behaviour = behaviour_features(events, attributes, inputs.as_of)
    demand = demand_features(events, lexicon, inputs.as_of)
    answered = events.filter(events.type == "questionnaire_answer").group_by("person_id").aggregate(
        questionnaire_answered=ibis.literal(True))
    table = inputs.persons.drop("phone_region")
    for part in (attributes, consumption, behaviour, demand, answered):
        table = table.left_join(part, "person_id").drop("person_id_right")
    zero_filled = {name: table[name].fill_null(0) for name in table.columns
                   if name.startswith(("orders_", "spend_", "messages_", "interest_", "asked_", "suitability_"))
                   or name.endswith(
                       ("_90d", "_total")) and not name.startswith(("top_",))}
    table = table.mutate(**zero_filled, questionnaire_answered=table.questionnaire_answered.fill_null(False))
    table = _with_repurchase(table, inputs.repurchase)
    return table.select("person_id", *column_order)


def _with_repurchase(table: ir.Table, repurchase: ir.Table | None) -> ir.Table:
    """Join the repurchase model's columns (``label.repurchase``); null for everyone when no model was fitted."""
    if repurchase is None:
        return table.mutate(**{name: ibis.null("float64") for name in REPURCHASE_COLUMNS})
    chosen = repurchase.select("person_id", *REPURCHASE_COLUMNS)
    return table.left_join(chosen, table.person_id == chosen.person_id.cast(table.person_id.type())).drop(
        "person_id_right")

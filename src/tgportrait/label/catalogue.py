"""The feature catalogue: every computed trait's name, type, unit, window and meaning.

Reads nothing; it is the contract between ``label.features`` (which computes these columns,
one row per person) and everything that refers to them by name: the rule language, the
taxonomy's leaf rules, portraits and docs (``docs/features.md`` is generated from it).
Demand topics and intents come from the lexicon (``defaults/lexicon.yaml``): one
``interest_<topic>`` and one ``asked_<intent>_90d`` column each, plus ``suitability_<topic>``: suitability
questions that name the topic in the same message ("does this moisturiser suit sensitive skin?").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FeatureType = Literal["int", "float", "str", "bool"]
FeatureGroup = Literal["consumption", "behaviour", "attributes", "demand", "identity"]


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    type: FeatureType
    group: FeatureGroup
    description: str
    unit: str = ""
    window: str = ""


def _spec(name: str, type_: FeatureType, group: FeatureGroup, description: str, unit: str = "",
          window: str = "") -> FeatureSpec:
    return FeatureSpec(name, type_, group, description, unit, window)


CORE_FEATURES: tuple[FeatureSpec, ...] = (
    # consumption
    *(_spec(f"orders_{d}d", "int", "consumption", f"Paid orders in the last {d} days.", "orders", f"{d}d")
      for d in (30, 90, 365)),
    _spec("orders_total", "int", "consumption", "Paid orders ever.", "orders", "all"),
    *(_spec(f"spend_{d}d_usd", "float", "consumption", f"Spend on paid orders in the last {d} days.", "USD", f"{d}d")
      for d in (30, 90, 365)),
    _spec("spend_total_usd", "float", "consumption", "Spend on paid orders ever.", "USD", "all"),
    _spec("avg_order_usd", "float", "consumption", "Average paid order value (orders grouped by order id).",
          "USD", "all"),
    _spec("max_order_usd", "float", "consumption", "Largest paid order value.", "USD", "all"),
    _spec("last_order_days", "int", "consumption", "Days since the last paid order (null: never ordered).",
          "days"),
    _spec("first_order_days", "int", "consumption", "Days since the first paid order (null: never ordered).",
          "days"),
    _spec("repurchase_interval_days", "float", "consumption",
          "Mean days between distinct paid order dates (null: fewer than two).", "days", "all"),
    _spec("refunds_total", "int", "consumption", "Refunds ever.", "refunds", "all"),
    _spec("cancellations_total", "int", "consumption", "Cancelled orders ever.", "orders", "all"),
    _spec("refund_rate", "float", "consumption", "(refunds + cancellations) / (orders + cancellations).",
          "share", "all"),
    _spec("top_category", "str", "consumption", "Category with the highest paid spend."),
    _spec("categories_count", "int", "consumption", "Distinct categories bought.", "categories", "all"),
    _spec("top_product_90d", "str", "consumption", "Product bought most often in the last 90 days."),
    _spec("top_product_90d_orders", "int", "consumption", "Orders of that product in the last 90 days.",
          "orders", "90d"),
    _spec("p_alive", "float", "consumption",
          "BG/NBD probability that the customer is still buying (null: no orders, or no model fitted).",
          "share", "all"),
    _spec("expected_purchases_90d", "float", "consumption",
          "BG/NBD expected purchase days in the next 90 days (null: no orders, or no model fitted).",
          "purchases", "next 90d"),
    _spec("expected_value_90d_usd", "float", "consumption",
          "Expected spend in the next 90 days: BG/NBD purchases x Gamma-Gamma value per purchase.",
          "USD", "next 90d"),
    # behaviour
    *(_spec(f"messages_{d}d", "int", "behaviour", f"Messages written in the last {d} days.", "messages", f"{d}d")
      for d in (30, 90)),
    _spec("messages_total", "int", "behaviour", "Messages written ever.", "messages", "all"),
    _spec("replies_90d", "int", "behaviour", "Messages that reply to another message, last 90 days.",
          "messages", "90d"),
    _spec("reactions_90d", "int", "behaviour", "Reactions given in the last 90 days.", "reactions", "90d"),
    _spec("forwards_90d", "int", "behaviour", "Messages forwarded into the community, last 90 days.",
          "messages", "90d"),
    _spec("link_clicks_90d", "int", "behaviour", "Tracked-link clicks in the last 90 days.", "clicks", "90d"),
    _spec("discount_link_clicks_90d", "int", "behaviour",
          "Clicks on (or shared links to) discount, promo, sale or coupon URLs, last 90 days.", "clicks", "90d"),
    _spec("button_clicks_90d", "int", "behaviour", "Inline-button clicks in the last 90 days.", "clicks", "90d"),
    _spec("stickers_90d", "int", "behaviour", "Stickers sent in the last 90 days.", "stickers", "90d"),
    _spec("joins_total", "int", "behaviour", "Times the person joined a chat.", "joins", "all"),
    _spec("leaves_total", "int", "behaviour", "Times the person left a chat.", "leaves", "all"),
    _spec("active_days_90d", "int", "behaviour", "Distinct days with any activity, last 90 days.", "days", "90d"),
    _spec("last_seen_days", "int", "behaviour", "Days since the last Telegram activity (null: none).", "days"),
    _spec("first_seen_days", "int", "behaviour", "Days since the first recorded activity.", "days"),
    _spec("preferred_hour_start", "int", "behaviour",
          "Start of the person's busiest two-hour window, in their local time (0–23).", "hour", "all"),
    _spec("preferred_hour_end", "int", "behaviour", "End of that window (exclusive, 0–24).", "hour", "all"),
    # attributes
    _spec("region", "str", "attributes", "Country (ISO 3166-1 alpha-2) from the strongest evidence."),
    _spec("region_source", "str", "attributes", "Where region came from: questionnaire, crm, phone, language."),
    _spec("language", "str", "attributes", "Preferred language (ISO 639-1): the questionnaire's, else the one with "
          "the most evidence: messages' detected `lang` weighted by length, plus the Telegram `language_code` (1.5) "
          "and the region's main language (0.5) as weak hints."),
    _spec("age_band", "str", "attributes", "Age band: 18-24, 25-34, 35-44, 45-54, 55+."),
    _spec("gender", "str", "attributes", "female, male or other (as given)."),
    _spec("device", "str", "attributes", "ios, android, desktop or web (as given)."),
    _spec("timezone", "str", "attributes", "IANA time zone used for local hours."),
    _spec("has_phone", "bool", "identity", "A valid phone number is known."),
    _spec("has_email", "bool", "identity", "A valid e-mail address is known."),
    _spec("is_customer", "bool", "identity", "Has a CRM customer record or an order."),
    _spec("is_telegram_member", "bool", "identity", "Has a Telegram user id."),
    _spec("questionnaire_answered", "bool", "identity", "Answered the entry questionnaire (not blank)."),
)


def demand_features(topics: list[str], intents: list[str]) -> tuple[FeatureSpec, ...]:
    """Demand columns for the lexicon's topics and intents."""
    specs = [
        _spec(f"interest_{topic}", "int", "demand",
              f"Evidence of interest in '{topic}': message keyword hits + questionnaire interest + purchases "
              "in the category, last 365 days.", "hits", "365d")
        for topic in topics
    ]
    specs += [
        _spec(f"asked_{intent}_90d", "int", "demand",
              f"Messages with the '{intent}' intent (lexicon) in the last 90 days.", "messages", "90d")
        for intent in intents
    ]
    specs += [
        _spec(f"suitability_{topic}", "int", "demand",
              f"Suitability questions (intent 'suitability') that name '{topic}' in the same message, last 365 days.",
              "messages", "365d")
        for topic in topics
    ]
    return tuple(specs)


def catalogue_for(industry: str) -> tuple[FeatureSpec, ...]:
    """Every feature of a workspace of this industry: the core ones plus the lexicon's demand columns."""
    from tgportrait.label.lexicon import load_lexicon

    lexicon = load_lexicon(industry)
    return (*CORE_FEATURES, *demand_features(list(lexicon.topic_ids), list(lexicon.intent_ids)))


def feature_names(industry: str) -> list[str]:
    return [spec.name for spec in catalogue_for(industry)]

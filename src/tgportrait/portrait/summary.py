"""Write the one-sentence summary of a portrait from its features and labels (pure functions).

Example: "25–34-year-old Indonesian woman, medium spend, sensitive skin; bought moisturiser twice
in the last 3 months; most active 20:00–22:00".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tgportrait.clean.regions import demonym

TIMES = {1: "once", 2: "twice"}
SPEND_TIERS = ((1000.0, "high spend"), (200.0, "medium spend"), (0.01, "low spend"))


def spend_tier(spend_365d_usd: float | None) -> str:
    spend = spend_365d_usd or 0.0
    for threshold, name in SPEND_TIERS:
        if spend >= threshold:
            return name
    return "no purchases this year"


def _who(features: Mapping[str, Any]) -> str:
    age = features.get("age_band")
    nationality = demonym(features.get("region"))
    gender = {"female": "woman", "male": "man"}.get(str(features.get("gender") or ""), "person")
    parts = []
    if age:
        parts.append(f"{str(age).replace('-', '–')}-year-old")
    if nationality:
        parts.append(nationality)
    parts.append(gender)
    text = " ".join(parts)
    return text[0].upper() + text[1:]


def _times(count: int) -> str:
    return TIMES.get(count, f"{count} times")


def summarise(features: Mapping[str, Any], labels: Sequence[Mapping[str, Any]]) -> str:
    """One sentence a marketer reads; ``labels`` sorted by weight, each with ``name`` and ``level1``."""
    head = [_who(features), spend_tier(features.get("spend_365d_usd"))]
    demand = [str(label["name"]).lower() for label in labels if label.get("level1_id") == "demand"][:2]
    head.extend(demand)
    clauses = [", ".join(head)]
    product = features.get("top_product_90d")
    product_orders = int(features.get("top_product_90d_orders") or 0)
    if product and product_orders:
        clauses.append(f"bought {str(product).lower()} {_times(product_orders)} in the last 3 months")
    elif int(features.get("orders_total") or 0) == 0 and int(features.get("messages_90d") or 0) > 0:
        clauses.append(f"{int(features['messages_90d'])} messages in the last 3 months, no orders yet")
    start, end = features.get("preferred_hour_start"), features.get("preferred_hour_end")
    if start is not None and end is not None:
        clauses.append(f"most active {int(start):02d}:00–{int(end) % 24:02d}:00")
    return "; ".join(clauses)

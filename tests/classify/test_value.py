"""Value tiers on DuckDB: emoji-only messages, sticker spam and repeated clicks are redundant."""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import pyarrow as pa

from tgportrait.classify.value import value_tiers, without_redundant
from tgportrait.config import ValueTierSettings

START = datetime(2026, 11, 1, 9)


def event(number: int, type_: str, text: str | None = None, subtype: str | None = None, url: str | None = None,
          person: str = "p_a") -> dict[str, object]:
    return {"event_id": f"e{number:02d}", "person_id": person, "type": type_, "subtype": subtype,
            "occurred_at": START + timedelta(minutes=number), "text": text, "url": url, "campaign": None}


EVENTS = [
    event(1, "message", "Do you ship to Bandung?"),
    event(2, "message", "😍😍🔥"),
    event(3, "message", "+1"),
    event(4, "message", "💄", subtype="sticker"),
    event(5, "message", "💄", subtype="sticker"),
    event(6, "message", "💄", subtype="sticker"),
    event(7, "message", "💄", subtype="sticker"),
    event(8, "link_click", url="https://t.me/shop/1"),
    event(9, "link_click", url="https://t.me/shop/1"),
    event(10, "link_click", url="https://t.me/shop/2"),
    event(11, "order"),
    event(12, "reaction"),
    event(13, "link_click", url="https://t.me/shop/1", person="p_b"),
]


def tiers(settings: ValueTierSettings) -> dict[str, str]:
    table = ibis.memtable(pa.Table.from_pylist(EVENTS))
    result = ibis.duckdb.connect().to_pyarrow(value_tiers(table, settings).select("event_id", "value_tier"))
    return dict(zip(result.column("event_id").to_pylist(), result.column("value_tier").to_pylist(), strict=True))


def test_default_tiers() -> None:
    assert tiers(ValueTierSettings()) == {
        "e01": "core", "e02": "redundant", "e03": "core", "e04": "auxiliary", "e05": "auxiliary",
        "e06": "auxiliary", "e07": "redundant", "e08": "auxiliary", "e09": "redundant", "e10": "auxiliary",
        "e11": "core", "e12": "auxiliary", "e13": "auxiliary"}


def test_settings_change_the_mapping() -> None:
    settings = ValueTierSettings(emoji_only_redundant=False, sticker_daily_limit=1, repeated_click_daily_limit=5,
                                 redundant_types=["reaction"])
    result = tiers(settings)
    assert result["e02"] == "auxiliary"
    assert [result[f"e0{n}"] for n in (4, 5, 6, 7)] == ["auxiliary", "redundant", "redundant", "redundant"]
    assert result["e09"] == "auxiliary"
    assert result["e12"] == "redundant"


def test_features_read_everything_but_redundant_events() -> None:
    table = value_tiers(ibis.memtable(pa.Table.from_pylist(EVENTS)), ValueTierSettings())
    kept = ibis.duckdb.connect().to_pyarrow(without_redundant(table).select("event_id"))
    assert sorted(kept.column("event_id").to_pylist()) == [
        f"e{n:02d}" for n in (1, 3, 4, 5, 6, 8, 10, 11, 12, 13)]

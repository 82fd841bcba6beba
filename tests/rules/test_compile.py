"""CheckedRule.compile: the Ibis expression selects exactly the right persons, on DuckDB and on Spark."""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pytest

from tgportrait.rules import RuleCatalog, RuleCheckError, RuleTables, check_rule
from tgportrait.store.engine import Engine

NOW = datetime(2025, 3, 31, 12, 0)

# Five persons. 3 knows nothing about themselves (every feature missing); 4 has orders_365d = 0.
FEATURES = pa.table({
    "person_id": pa.array([1, 2, 3, 4, 5], pa.int64()),
    "orders_90d": pa.array([2, 0, None, 1, 3], pa.int64()),
    "orders_365d": pa.array([6, 2, None, 0, 10], pa.int64()),
    "spend_365d_usd": pa.array([900.0, 240.0, None, 500.0, 1200.0]),
    "avg_order_usd": pa.array([650.0, 120.0, None, 500.0, 80.0]),
    "last_seen_days": pa.array([45, 5, None, 31, 2], pa.int64()),
    "messages_90d": pa.array([25, 40, 0, 20, 3], pa.int64()),
    "region": pa.array(["ID", "MY", None, "MY", "SG"]),
    "age_band": pa.array(["25-34", "35-44", None, "25-34", "25-34"]),
    "language": pa.array(["id", "en", None, "en", "zh"]),
    "gender": pa.array(["female", None, None, "male", "female"]),
    "interest_moisturizing": pa.array([3, 0, None, 1, 1], pa.int64()),
    "top_category": pa.array(["serum", "moisturiser", None, "moisturiser", "cleanser"]),
    "has_phone": pa.array([True, False, None, True, True]),
})


def _event(person: int, type_: str, days_ago: float, intent: str | None = None,
           campaign: str | None = None) -> dict[str, object]:
    return {"person_id": person, "type": type_, "intent": intent, "occurred_at": NOW - timedelta(days=days_ago),
            "campaign": campaign, "url": None}


EVENTS = pa.Table.from_pylist([
    _event(1, "message", 10, intent="new_product"),
    _event(2, "message", 120, intent="new_product"),  # outside 90 days
    _event(4, "message", 89, intent="new_product"),  # exactly at the edge of 89 days
    _event(5, "message", 1, intent="price"),
    _event(1, "link_click", 5, campaign="spring"),
    _event(2, "button_click", 20),
    _event(3, "link_click", 40, campaign="spring"),
    _event(4, "link_click", 2),
    _event(5, "link_click", 29, campaign="summer"),
    _event(4, "join", 3, campaign="spring"),
    _event(1, "join", 60),
    _event(2, "join", -1),  # in the future of NOW: never counted
], schema=pa.schema([("person_id", pa.int64()), ("type", pa.string()), ("intent", pa.string()),
                     ("occurred_at", pa.timestamp("us")), ("campaign", pa.string()), ("url", pa.string())]))

LABEL_ROWS = pa.table({
    "person_id": pa.array([1, 2, 2, 5, 4], pa.int64()),
    "label_id": ["skin/sensitive", "skin/sensitive", "price/price_sensitive", "price/price_sensitive", "skin/dry"],
})


@pytest.fixture(scope="module")
def tables(rule_engine: Engine) -> RuleTables:
    return RuleTables(features=rule_engine.from_arrow(FEATURES, "features"),
                      labels=rule_engine.from_arrow(LABEL_ROWS, "labels"),
                      events=rule_engine.from_arrow(EVENTS, "events"), now=NOW)


def persons(engine: Engine, tables: RuleTables, condition: ir.BooleanValue) -> list[int]:
    rows = engine.execute(tables.features.filter(condition).select("person_id"), "rule")
    return sorted(rows.column("person_id").to_pylist())


def flags(engine: Engine, tables: RuleTables, value: ir.Value) -> list[object]:
    """The value for persons 1..5 in order, computed as a column (not a filter)."""
    rows = engine.execute(tables.features.select("person_id", value=value).order_by("person_id"), "rule")
    return rows.column("value").to_pylist()


@pytest.mark.parametrize(("text", "expected"), [
    ('orders_90d >= 1 and asked("new_product", days=90)', [1, 4]),
    ("avg_order_usd >= 500", [1, 4]),
    ('has_label("skin/sensitive") and not has_label("price/price_sensitive")', [1]),
    ("last_seen_days > 30 and messages_90d >= 20", [1, 4]),
    ('region in ("ID", "MY") and age_band == "25-34"', [1, 4]),
    ('language != "en" or gender is null', [1, 2, 3, 5]),
    ('spend_365d_usd / orders_365d > 100 and (interest_moisturizing >= 2 or top_category == "moisturiser")', [1, 2]),
    ("clicked(days=30) and not joined(days=7)", [1, 2, 5]),
])
def test_examples_select_exact_persons(rule_engine: Engine, tables: RuleTables, catalog: RuleCatalog,
                                       text: str, expected: list[int]) -> None:
    condition = check_rule(text, catalog).compile(tables)
    assert persons(rule_engine, tables, condition) == expected
    assert flags(rule_engine, tables, condition) == [person in expected for person in range(1, 6)]


@pytest.mark.parametrize(("text", "expected"), [
    ("orders_90d < 1", [2]),
    ("not (orders_90d >= 1)", [2, 3]),  # a missing value makes the comparison false, so 'not' includes 3
    ('region != "ID"', [2, 4, 5]),
    ('not region == "ID"', [2, 3, 4, 5]),
    ('region not in ("ID")', [2, 4, 5]),
    ('not region in ("ID", "MY")', [3, 5]),
    ("has_phone", [1, 4, 5]),
    ("not has_phone", [2, 3]),
    ("has_phone == false", [2]),
    ("gender is not null", [1, 4, 5]),
    ("spend_365d_usd / orders_365d is null", [3, 4]),  # division by zero is missing, not an error
    ("orders_90d in (0, 3)", [2, 5]),
    ("orders_90d * 2 - 1 == 3", [1]),
    ("-orders_90d < -1", [1, 5]),
    ("avg_order_usd > 80.5", [1, 2, 4]),
    ("1_000 <= spend_365d_usd", [5]),
    ("true", [1, 2, 3, 4, 5]),
    ("false", []),
    ("has_phone and (has_phone or false)", [1, 4, 5]),
])
def test_missing_values_and_operators(rule_engine: Engine, tables: RuleTables, catalog: RuleCatalog, text: str,
                                      expected: list[int]) -> None:
    assert persons(rule_engine, tables, check_rule(text, catalog).compile(tables)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ('asked("new_product", days=89)', [1, 4]),
    ('asked("new_product", days=88)', [1]),
    ('asked("new_product", days=365)', [1, 2, 4]),
    ('asked("price")', [5]),
    ('clicked("spring", days=30)', [1]),
    ('clicked(campaign="spring", days=60)', [1, 3]),
    ("clicked()", [1, 2, 3, 4, 5]),
    ('joined(campaign="spring")', [4]),
    ("joined(days=90)", [1, 4]),
    ('has_label("discount-sensitive")', [2, 5]),
    ('has_label("skin/dry") or has_label("sensitive-skin")', [1, 2, 4]),
    ('not has_label("price/promotion_focused")', [1, 2, 3, 4, 5]),
])
def test_functions(rule_engine: Engine, tables: RuleTables, catalog: RuleCatalog, text: str,
                   expected: list[int]) -> None:
    assert persons(rule_engine, tables, check_rule(text, catalog).compile(tables)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("coalesce(spend_365d_usd / orders_365d, 0)", [150.0, 120.0, 0.0, 0.0, 120.0]),
    ("min(orders_90d, 2) * 10", [20, 0, None, 10, 20]),
    ("max(last_seen_days, messages_90d)", [45, 40, None, 31, 3]),
    ("max(coalesce(last_seen_days, 0), messages_90d)", [45, 40, 0, 31, 3]),
    ("abs(2 - orders_90d) + 0.5", [0.5, 2.5, None, 1.5, 1.5]),
    ("1 + 2 * 3 - 8 / 4", [5.0, 5.0, 5.0, 5.0, 5.0]),
])
def test_scores(rule_engine: Engine, tables: RuleTables, catalog: RuleCatalog, text: str,
                expected: list[object]) -> None:
    score = check_rule(text, catalog, expect="number").compile(tables)
    assert flags(rule_engine, tables, score) == expected


def test_long_flat_chains_compile_balanced(rule_engine: Engine, tables: RuleTables, catalog: RuleCatalog) -> None:
    conditions = " or ".join(f"messages_90d == {count}" for count in range(100, 400)) + " or messages_90d == 3"
    assert persons(rule_engine, tables, check_rule(conditions, catalog).compile(tables)) == [5]
    many_values = "orders_90d in (" + ", ".join(str(count) for count in range(3, 1500)) + ")"
    assert persons(rule_engine, tables, check_rule(many_values, catalog).compile(tables)) == [5]


def test_a_plugin_function_compiles(rule_engine: Engine, tables: RuleTables, catalog: RuleCatalog,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from tgportrait.rules import FUNCTIONS, Parameter, RuleFunction

    monkeypatch.setitem(FUNCTIONS, "visited", RuleFunction(
        "visited", (Parameter("url_part", "str", literal=True),), "bool", "Clicked a URL containing the text.",
        compile=lambda call: call.person_in(call.tables.events.filter(  # type: ignore[union-attr]
            call.tables.events.campaign == ibis.literal(str(call.literal("url_part"))))),  # type: ignore[union-attr]
        explain=lambda call: f"{'did not visit' if call.negated else 'visited'} {call.literal('url_part')}",
        needs=frozenset({"events"})))
    assert persons(rule_engine, tables, check_rule('visited("summer")', catalog).compile(tables)) == [5]


def test_missing_tables_and_columns_are_rule_errors(catalog: RuleCatalog) -> None:
    features = ibis.memtable(FEATURES.select(["person_id", "orders_90d", "region"]))
    rule = check_rule('orders_90d >= 1 and has_label("skin/dry") and asked("price") and last_seen_days > 3', catalog)
    with pytest.raises(RuleCheckError) as caught:
        rule.compile(RuleTables(features, now=NOW))
    assert [(p.code, p.column, p.message) for p in caught.value.problems] == [
        ("TGP-R030", 21, "has_label() needs the labels table, but RuleTables has none"),
        ("TGP-R030", 47, "asked() needs the events table, but RuleTables has none"),
        ("TGP-R031", 66, "the features table has no column 'last_seen_days'"),
    ]
    wrong_type = ibis.memtable({"person_id": [1], "region": [3]})
    with pytest.raises(RuleCheckError) as caught:
        check_rule('region == "ID"', catalog).compile(RuleTables(wrong_type, now=NOW))
    assert caught.value.problems[0].message == "features column 'region' is int64, but the catalogue says str"


def test_compiled_sql_is_portable(catalog: RuleCatalog) -> None:
    """No engine-specific SQL sneaks in: the same expression compiles for DuckDB and for Spark."""
    features = ibis.table({"person_id": "int64", "orders_90d": "int64", "region": "string"}, name="features")
    events = ibis.table({"person_id": "int64", "type": "string", "intent": "string", "occurred_at": "timestamp",
                         "campaign": "string", "url": "string"}, name="events")
    rule = check_rule('orders_90d / orders_90d > 1 and region in ("ID") and asked("price") and not clicked()',
                      catalog)
    expression = features.filter(rule.compile(RuleTables(features, events=events, now=NOW)))
    for dialect in ("duckdb", "pyspark"):
        sql = ibis.to_sql(expression, dialect=dialect)
        assert "IN (" in sql and "NULLIF" in sql.upper() and "COALESCE" in sql.upper()

"""Label assignment on a handful of persons: rules, scores, evidence, has_label order, consent; every engine."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa
import pytest

from tests.store.conftest import module_engine
from tgportrait.label.assign import assign_labels
from tgportrait.label.taxonomy import DIMENSIONS, Taxonomy, default_taxonomy_path, load_taxonomy, parse_taxonomy
from tgportrait.rules import RuleTables
from tgportrait.store.engine import Engine
from tgportrait.store.tables import LABELS

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 3, 1, 12, 0)
ARROW_TYPES = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(), "bool": pa.bool_()}


engine = module_engine("assign")


@pytest.fixture(scope="module")
def ecommerce() -> Taxonomy:
    return load_taxonomy(default_taxonomy_path())


@pytest.fixture(scope="module")
def small() -> Taxonomy:
    return load_taxonomy(FIXTURES / "small.yaml")


def features_table(engine: Engine, taxonomy: Taxonomy, people: dict[str, dict[str, Any]]) -> ir.Table:
    """One row per person with every feature of the taxonomy's catalogue (missing unless given)."""
    schema = pa.schema([("person_id", pa.string())] + [(name, ARROW_TYPES[spec.type])
                                                       for name, spec in taxonomy.features.items()])
    rows = [{"person_id": person, **values} for person, values in people.items()]
    return engine.from_arrow(pa.Table.from_pylist(rows, schema=schema), "features")


def assign(engine: Engine, taxonomy: Taxonomy, people: dict[str, dict[str, Any]],
           allowed: list[dict[str, Any]] | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """person -> label id -> LABELS row, for features given per person (every other feature missing)."""
    features = features_table(engine, taxonomy, people)
    allowed_table = None
    if allowed is not None:
        allowed_schema = pa.schema([("person_id", pa.string()), ("profiling", pa.bool_()),
                                    ("marketing", pa.bool_()), ("sensitive", pa.bool_())])
        allowed_table = engine.from_arrow(pa.Table.from_pylist(allowed, schema=allowed_schema), "allowed")
    expression = assign_labels(taxonomy, RuleTables(features=features, now=NOW), NOW, allowed_table)
    result = engine.execute(expression, "labels")
    assert result.schema == LABELS
    labels: dict[str, dict[str, dict[str, Any]]] = {person: {} for person in people}
    for row in result.to_pylist():
        labels[row["person_id"]][row["label_id"]] = row
    return labels


def test_big_spender_clicking_discounts_end_to_end(engine: Engine, ecommerce: Taxonomy) -> None:
    labels = assign(engine, ecommerce, {
        "big": {"avg_order_usd": 612.4, "discount_link_clicks_90d": 3, "asked_price_90d": 4},
        "bargain": {"avg_order_usd": 40.0, "discount_link_clicks_90d": 3, "asked_price_90d": 4},
    })
    assert sorted(labels["big"]) == ["price/promotion_focused", "unit_price/high_consumption"]
    assert sorted(labels["bargain"]) == ["behaviour/discount_clicker", "price/price_sensitive",
                                         "unit_price/low_consumption"]
    turned = labels["big"]["price/promotion_focused"]
    assert (turned["score"], turned["weight"], turned["consent_purpose"]) == (0.8, pytest.approx(0.48), "marketing")
    assert json.loads(turned["evidence"]) == {
        "rule": "asked_price_90d >= 2", "values": {"asked_price_90d": 4},
        "conflicts": [{"rule": "big_spender_discount_clicker", "action": "replaced", "from": "price/price_sensitive"}]}


def test_evidence_is_json_with_the_values_the_rule_used(engine: Engine, small: Taxonomy) -> None:
    labels = assign(engine, small, {
        "p": {"avg_order_usd": 612.4, "has_phone": True, "last_seen_days": 5, "orders_total": None,
              "top_category": 'Sun "care"\\ \n'},
    })["p"]
    assert labels["unit_price/high_consumption"]["evidence"] == (
        '{"rule": "avg_order_usd >= 500", "values": {"avg_order_usd": 612.40}}')
    assert json.loads(labels["unit_price/high_consumption"]["evidence"]) == {
        "rule": "avg_order_usd >= 500", "values": {"avg_order_usd": 612.4}}
    assert json.loads(labels["shopping/phone_known"]["evidence"]) == {"rule": "has_phone",
                                                                      "values": {"has_phone": True}}
    assert json.loads(labels["lifecycle/prospect"]["evidence"]) == {
        "rule": "coalesce(orders_total, 0) == 0 and last_seen_days <= 90",
        "values": {"orders_total": None, "last_seen_days": 5}}
    assert json.loads(labels["shopping/top_category_known"]["evidence"]) == {
        "rule": 'top_category != "none"', "values": {"top_category": 'Sun "care"\\  '}}


def test_columns_score_weight_and_levels(engine: Engine, small: Taxonomy) -> None:
    row = assign(engine, small, {"p": {"interest_sensitive_skin": 3}})["p"]["concern/sensitive"]
    assert row == {"person_id": "p", "label_id": "concern/sensitive", "level1": "Demand preferences",
                   "level2": "Main skin concern", "level3": "Sensitive skin", "weight": pytest.approx(0.4),
                   "score": 0.5, "evidence": '{"rule": "interest_sensitive_skin >= 2", '
                                             '"values": {"interest_sensitive_skin": 3}}',
                   "consent_purpose": "profiling", "sensitive": True, "computed_at": NOW}


def test_computed_at_is_stored_as_naive_utc(engine: Engine, small: Taxonomy) -> None:
    features = features_table(engine, small, {"p": {"has_phone": True}})
    computed_at = datetime(2026, 3, 1, 20, 0, tzinfo=timezone(timedelta(hours=8)))
    expression = assign_labels(small, RuleTables(features=features, now=NOW), computed_at)
    leaf = small.leaf("shopping/phone_known")
    only = expression.filter(expression.label_id == leaf.id)
    assert engine.execute(only, "labels").column("computed_at").to_pylist() == [NOW]


def test_exclusive_groups_give_one_leaf(engine: Engine, small: Taxonomy) -> None:
    labels = assign(engine, small, {"p": {"active_days_90d": 40, "avg_order_usd": 600.0,
                                          "interest_sensitive_skin": 2, "interest_moisturizing": 5}})
    assert sorted(labels["p"]) == ["activity/highly_active", "concern/dry", "unit_price/high_consumption"]


def test_has_label_rules_see_the_resolved_labels_of_earlier_leaves(engine: Engine, small: Taxonomy) -> None:
    labels = assign(engine, small, {
        "fan": {"asked_praise_90d": 2, "orders_total": 3},
        "unhappy_fan": {"asked_praise_90d": 2, "asked_complaint_90d": 1, "orders_total": 3},
    })
    assert sorted(labels["fan"]) == ["potential/advocate", "service/praiser"]
    assert json.loads(labels["fan"]["potential/advocate"]["evidence"]) == {
        "rule": 'has_label("service/praiser") and orders_total >= 2', "values": {"orders_total": 3},
        "labels": ["service/praiser"]}
    assert sorted(labels["unhappy_fan"]) == ["service/complainer"]  # praise dropped by complaint_over_praise


def test_a_merged_leaf_holds_when_any_of_its_rules_does(engine: Engine, small: Taxonomy) -> None:
    labels = assign(engine, small, {"p": {"discount_link_clicks_90d": 1, "asked_price_90d": 1}})
    assert list(labels["p"]) == ["price/promotion_focused"]
    assert json.loads(labels["p"]["price/promotion_focused"]["evidence"]) == {
        "rule": "(discount_link_clicks_90d >= 2 and orders_90d >= 1) or "
                "(discount_link_clicks_90d >= 1 and asked_price_90d >= 1)",
        "values": {"discount_link_clicks_90d": 1, "orders_90d": None, "asked_price_90d": 1}}
    assert labels["p"]["price/promotion_focused"]["weight"] == 0.6  # the canonical leaf's weight


def test_labels_need_the_consent_of_their_purpose(engine: Engine, small: Taxonomy) -> None:
    traits = {"age_band": "25-34", "interest_sensitive_skin": 4, "discount_link_clicks_90d": 2}
    labels = assign(engine, small, {person: traits for person in ("all", "profiling", "marketing", "unknown")},
                    allowed=[{"person_id": "all", "profiling": True, "marketing": True, "sensitive": True},
                             {"person_id": "profiling", "profiling": True, "marketing": False, "sensitive": False},
                             {"person_id": "marketing", "profiling": False, "marketing": True, "sensitive": True}])
    assert sorted(labels["all"]) == ["age/25_34", "behaviour/discount_clicker", "concern/sensitive"]
    assert sorted(labels["profiling"]) == ["age/25_34"]
    assert sorted(labels["marketing"]) == ["behaviour/discount_clicker"]
    assert labels["unknown"] == {}


def test_a_replaced_label_needs_consent_too(engine: Engine, small: Taxonomy) -> None:
    traits = {"spend_365d_usd": 2500.0, "asked_price_90d": 3}
    labels = assign(engine, small, {"vip": traits, "vip_marketing": traits},
                    allowed=[{"person_id": "vip", "profiling": True, "marketing": False, "sensitive": False},
                             {"person_id": "vip_marketing", "profiling": True, "marketing": True,
                              "sensitive": False}])
    assert sorted(labels["vip"]) == ["spend/vip"]  # price-sensitive became promotion-focused: marketing
    assert sorted(labels["vip_marketing"]) == ["price/promotion_focused", "spend/vip"]


def test_a_taxonomy_without_leaves_gives_an_empty_labels_table(engine: Engine) -> None:
    empty = parse_taxonomy("version: 1\ndimensions:\n" + "".join(
        f"  - {{id: {dimension}, groups: []}}\n" for dimension in DIMENSIONS))
    features = engine.from_arrow(pa.table({"person_id": ["p"]}), "features")
    result = engine.execute(assign_labels(empty, RuleTables(features=features, now=NOW), NOW), "labels")
    assert (result.num_rows, result.schema) == (0, LABELS)

"""Label governance on small hand-built label tables: exclusivity and conflict rules, on every engine."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.store.conftest import module_engine
from tgportrait.label.governance import resolve_labels
from tgportrait.label.taxonomy import Taxonomy, default_taxonomy_path, load_taxonomy
from tgportrait.store.engine import Engine
from tgportrait.store.tables import LABELS

FIXTURES = Path(__file__).parent / "fixtures"
STAMP = datetime(2026, 3, 1, 12, 0)


engine = module_engine("governance")


@pytest.fixture(scope="module")
def ecommerce() -> Taxonomy:
    return load_taxonomy(default_taxonomy_path())


@pytest.fixture(scope="module")
def small() -> Taxonomy:
    return load_taxonomy(FIXTURES / "small.yaml")


def label_row(taxonomy: Taxonomy, person: str, label_id: str, score: float = 1.0) -> dict[str, Any]:
    leaf = taxonomy.leaf(label_id)
    return {"person_id": person, "label_id": leaf.id, "level1": leaf.dimension_name, "level2": leaf.group_name,
            "level3": leaf.name, "weight": leaf.weight * score, "score": score,
            "evidence": json.dumps({"rule": leaf.rule_text, "values": {}}), "consent_purpose": leaf.purpose,
            "sensitive": leaf.sensitive, "computed_at": STAMP}


def resolve(engine: Engine, taxonomy: Taxonomy, rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """person -> label id -> resolved row."""
    assigned = engine.from_arrow(pa.Table.from_pylist(rows, schema=LABELS), "assigned_labels")
    result = engine.execute(resolve_labels(assigned, taxonomy), "resolved_labels")
    assert result.schema.names == LABELS.names
    people: dict[str, dict[str, dict[str, Any]]] = {}
    for row in result.to_pylist():
        people.setdefault(row["person_id"], {})[row["label_id"]] = row
    return people


def test_exclusive_group_keeps_the_first_leaf_in_file_order(engine: Engine, small: Taxonomy) -> None:
    rows = [label_row(small, "p1", label) for label in ("activity/occasional", "activity/highly_active",
                                                         "activity/active", "behaviour/discount_clicker")]
    rows += [label_row(small, "p2", "activity/occasional")]
    people = resolve(engine, small, rows)
    assert sorted(people["p1"]) == ["activity/highly_active", "behaviour/discount_clicker"]
    assert sorted(people["p2"]) == ["activity/occasional"]


def test_exclusive_group_can_pick_the_highest_score(engine: Engine, small: Taxonomy) -> None:
    rows = [label_row(small, "p1", "concern/sensitive", 0.5), label_row(small, "p1", "concern/dry", 5 / 6),
            label_row(small, "p2", "concern/sensitive", 0.5), label_row(small, "p2", "concern/dry", 0.5)]
    people = resolve(engine, small, rows)
    assert list(people["p1"]) == ["concern/dry"]
    assert list(people["p2"]) == ["concern/sensitive"]  # a tie: file order


def test_big_spender_clicking_discounts_keeps_high_consumption_and_becomes_promotion_focused(
        engine: Engine, ecommerce: Taxonomy) -> None:
    both = ["unit_price/high_consumption", "behaviour/discount_clicker"]
    rows = [label_row(ecommerce, "big", label) for label in both]
    rows.append(label_row(ecommerce, "big", "price/price_sensitive", 0.8))
    rows += [label_row(ecommerce, "small", label) for label in ("behaviour/discount_clicker", "price/price_sensitive")]
    rows += [label_row(ecommerce, "both", label) for label in (*both, "price/price_sensitive",
                                                                "price/promotion_focused")]
    people = resolve(engine, ecommerce, rows)

    assert sorted(people["big"]) == ["price/promotion_focused", "unit_price/high_consumption"]
    turned = people["big"]["price/promotion_focused"]
    assert (turned["level1"], turned["level2"], turned["level3"]) == ("Consumption capacity", "Price attitude",
                                                                      "Promotion-focused")
    assert (turned["score"], turned["weight"], turned["consent_purpose"], turned["sensitive"]) == (
        0.8, pytest.approx(0.48), "marketing", False)
    assert json.loads(turned["evidence"]) == {
        "rule": "asked_price_90d >= 2", "values": {},
        "conflicts": [{"rule": "big_spender_discount_clicker", "action": "replaced", "from": "price/price_sensitive"}]}
    assert json.loads(people["big"]["unit_price/high_consumption"]["evidence"])["conflicts"] == [
        {"rule": "big_spender_discount_clicker", "action": "kept"}]

    assert sorted(people["small"]) == ["behaviour/discount_clicker", "price/price_sensitive"]
    assert "conflicts" not in json.loads(people["small"]["price/price_sensitive"]["evidence"])

    assert sorted(people["both"]) == ["price/promotion_focused", "unit_price/high_consumption"]
    own = people["both"]["price/promotion_focused"]
    assert json.loads(own["evidence"]) == {"rule": ecommerce.leaf("price/promotion_focused").rule_text, "values": {}}


def test_conflict_rule_without_keep_only_replaces(engine: Engine, ecommerce: Taxonomy) -> None:
    rows = [label_row(ecommerce, "vip", "spend/vip"), label_row(ecommerce, "vip", "price/price_sensitive", 0.6)]
    people = resolve(engine, ecommerce, rows)
    assert sorted(people["vip"]) == ["price/promotion_focused", "spend/vip"]
    assert json.loads(people["vip"]["price/promotion_focused"]["evidence"])["conflicts"] == [
        {"rule": "vip_not_price_sensitive", "action": "replaced", "from": "price/price_sensitive"}]
    assert json.loads(people["vip"]["spend/vip"]["evidence"])["conflicts"] == [
        {"rule": "vip_not_price_sensitive", "action": "kept"}]


def test_a_label_touched_by_two_rules_lists_both(engine: Engine, ecommerce: Taxonomy) -> None:
    labels = ["service/complainer", "service/praiser", "potential/advocate"]
    people = resolve(engine, ecommerce, [label_row(ecommerce, "p", label) for label in labels])
    assert list(people["p"]) == ["service/complainer"]
    assert json.loads(people["p"]["service/complainer"]["evidence"])["conflicts"] == [
        {"rule": "complaint_over_praise", "action": "kept"}, {"rule": "no_referral_while_unhappy", "action": "kept"}]


def test_resolving_twice_changes_nothing(engine: Engine, ecommerce: Taxonomy) -> None:
    rows = [label_row(ecommerce, "big", label) for label in ("unit_price/high_consumption",
                                                              "behaviour/discount_clicker", "price/price_sensitive")]
    assigned = engine.from_arrow(pa.Table.from_pylist(rows, schema=LABELS), "assigned_twice")
    once = engine.execute(resolve_labels(assigned, ecommerce), "once").sort_by("label_id")
    twice = engine.execute(resolve_labels(resolve_labels(assigned, ecommerce), ecommerce), "twice").sort_by("label_id")
    assert once.equals(twice)

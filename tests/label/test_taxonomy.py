"""The taxonomy: the default files for every industry, validation with positions, synonyms, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tgportrait.cli import main
from tgportrait.label.taxonomy import (
    DIMENSIONS,
    TaxonomyCheckError,
    default_taxonomy_path,
    load_taxonomy,
    load_workspace_taxonomy,
    parse_taxonomy,
)
from tgportrait.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures"
LEAF_COUNTS = {"ecommerce": 96, "beauty": 89, "3c": 86, "apparel": 85, "fmcg": 85, "education": 85}
CONFLICTS = ["big_spender_discount_clicker", "vip_not_price_sensitive", "complaint_over_praise",
             "no_referral_while_unhappy"]
FIVE_DIMENSIONS_HEADER = """version: 1
dimensions:
  - {id: attributes, groups: []}
  - {id: behaviour, groups: []}
  - {id: consumption, groups: []}
  - {id: demand, groups: []}
  - id: conversion
    groups:
      - id: g
        name: G
        leaves:
"""


def problems_of(error: TaxonomyCheckError) -> list[tuple[int, int, str, str]]:
    return [(problem.line, problem.column, problem.code, problem.message) for problem in error.problems]


@pytest.mark.parametrize("industry", LEAF_COUNTS)
def test_default_taxonomy_loads_for_every_industry(industry: str) -> None:
    taxonomy = load_taxonomy(default_taxonomy_path(industry), industry)
    assert [dimension.id for dimension in taxonomy.dimensions] == list(DIMENSIONS)
    assert [dimension.name for dimension in taxonomy.dimensions] == list(DIMENSIONS.values())
    assert len(taxonomy.leaves) == LEAF_COUNTS[industry] >= 40
    assert all(group.leaf_ids for dimension in taxonomy.dimensions for group in dimension.groups)
    assert [rule.id for rule in taxonomy.conflicts] == CONFLICTS
    assert taxonomy.merges == ()
    assert taxonomy.industry == industry
    assert taxonomy.layers[1:] == (("potential/advocate",),)


@pytest.mark.parametrize("industry", ["beauty", "3c", "apparel", "fmcg", "education"])
def test_industry_variants_share_the_ecommerce_core(industry: str) -> None:
    def core(path: Path, name: str) -> list[tuple[object, ...]]:
        taxonomy = load_taxonomy(path, name)
        return [(leaf.id, leaf.name, leaf.rule_text, leaf.weight, leaf.purpose, leaf.sensitive, leaf.synonyms)
                for leaf in taxonomy.leaves if leaf.dimension_id != "demand" or leaf.group_id == "service"]

    assert core(default_taxonomy_path(industry), industry) == core(default_taxonomy_path(), "ecommerce")


def test_default_leaves_levels_and_flags() -> None:
    taxonomy = load_taxonomy(default_taxonomy_path())
    high = taxonomy.leaf("unit_price/high_consumption")
    assert (high.dimension_name, high.group_name, high.name) == ("Consumption capacity", "Customer unit price",
                                                                  "High consumption")
    assert (high.rule_text, high.weight, high.purpose, high.sensitive) == ("avg_order_usd >= 500", 0.9,
                                                                           "profiling", False)
    assert [leaf.id for leaf in taxonomy.leaves if leaf.sensitive] == ["skin/sensitive", "skin/acne"]
    assert [group.id for group in taxonomy.groups if group.exclusive] == [
        "age", "gender", "language", "region", "device", "activity", "timing", "unit_price", "spend", "frequency",
        "lifecycle"]
    example = taxonomy.conflicts[0]
    assert example.when_all == ("unit_price/high_consumption", "behaviour/discount_clicker")
    assert example.keep == ("unit_price/high_consumption",)
    assert example.drop == ("behaviour/discount_clicker",)
    assert dict(example.replace) == {"price/price_sensitive": "price/promotion_focused"}
    assert taxonomy.leaf("discount-sensitive").id == "price/promotion_focused"
    assert taxonomy.leaf("consumption/price_sensitive").id == "price/price_sensitive"


def test_rule_catalogue_follows_the_industry() -> None:
    beauty = load_taxonomy(default_taxonomy_path("beauty"), "beauty").rule_catalog()
    assert "interest_sensitive_skin" in beauty.features and "interest_phones" not in beauty.features
    assert "asked_new_product_90d" in beauty.features
    assert beauty.labels["skin/sensitive"] == "Sensitive skin"
    assert beauty.label_aliases["promotion-sensitive"] == "price/promotion_focused"
    assert beauty.intents == frozenset({"presales", "suitability", "price", "new_product", "logistics", "aftersales",
                                        "complaint", "praise", "cancellation", "payment", "human"})


def test_rules_are_checked_against_the_workspace_industry() -> None:
    with pytest.raises(TaxonomyCheckError) as caught:
        load_taxonomy(default_taxonomy_path("ecommerce"), "beauty")
    unknown = sorted({problem.message for problem in caught.value.problems})
    assert unknown == sorted(f"unknown feature '{prefix}_{topic}'" for prefix in ("interest", "suitability")
                             for topic in ["phones", "laptops", "audio", "gaming", "dresses", "shoes", "bags",
                                           "snacks", "beverages", "baby"])
    assert len(caught.value.problems) == 30  # interest_ in the rule and in the score, suitability_ in the rule


def test_workspace_taxonomy_is_the_industry_default(workspace: Workspace) -> None:
    taxonomy = load_workspace_taxonomy(str(workspace.root))
    assert (taxonomy.path, taxonomy.industry, len(taxonomy.leaves)) == (str(workspace.taxonomy_path), "beauty", 89)
    assert taxonomy.leaf("skin/sensitive").sensitive


def test_synonyms_merge_into_one_label() -> None:
    taxonomy = load_taxonomy(FIXTURES / "small.yaml")
    assert taxonomy.summary() == "18 leaves in 5 dimensions, 3 conflict rules, 1 synonyms merged"
    assert [merge.describe() for merge in taxonomy.merges] == [
        "'price/discount_sensitive' (Discount-sensitive) merged into 'price/promotion_focused' "
        "(synonym 'discount-sensitive')"]
    merged = taxonomy.leaf("price/discount_sensitive")
    assert merged.id == "price/promotion_focused"
    assert merged.rule_text == ("(discount_link_clicks_90d >= 2 and orders_90d >= 1) or "
                                "(discount_link_clicks_90d >= 1 and asked_price_90d >= 1)")
    assert set(merged.aliases) == {"promotion-sensitive", "discount-sensitive", "price/discount_sensitive",
                                   "Discount-sensitive"}
    assert next(g for g in taxonomy.groups if g.id == "price").leaf_ids == ("price/price_sensitive",
                                                                           "price/promotion_focused")


def test_a_leaf_named_by_id_in_synonyms_is_merged() -> None:
    taxonomy = parse_taxonomy(FIVE_DIMENSIONS_HEADER + """\
          - {id: buyer, name: Buyer, rule: orders_total >= 1, synonyms: [g/customer]}
          - {id: customer, name: Customer, rule: is_customer}
""")
    assert [leaf.id for leaf in taxonomy.leaves] == ["g/buyer"]
    assert taxonomy.leaf("g/buyer").rule_text == "(orders_total >= 1) or (is_customer)"


def test_a_synonym_may_name_only_one_label() -> None:
    with pytest.raises(TaxonomyCheckError) as caught:
        parse_taxonomy(FIVE_DIMENSIONS_HEADER + """\
          - {id: a, name: A, rule: orders_total >= 1, synonyms: [deal]}
          - {id: b, name: B, rule: orders_total >= 2, synonyms: [deal]}
""", "t.yaml")
    assert problems_of(caught.value) == [
        (13, 18, "TGP-T001", "synonym 'deal' of 'g/b' is also a synonym of 'g/a'; a synonym must name one label")]


def test_a_bad_taxonomy_reports_every_problem_with_its_position() -> None:
    path = FIXTURES / "bad.yaml"
    with pytest.raises(TaxonomyCheckError) as caught:
        load_taxonomy(path)
    assert problems_of(caught.value) == [
        (3, 1, "TGP-T001", "missing dimensions: conversion (Conversion potential)"),
        (9, 75, "TGP-T001", "weight of leaf 'age/young' must be a number from 0 to 1, not 1.5"),
        (10, 18, "TGP-T001", "duplicate leaf id 'age/young' (first at line 9)"),
        (18, 19, "TGP-R012", "unknown feature 'activ_days_90d'"),
        (19, 13, "TGP-T001", "unknown key 'wieght' in leaf 'activity/active'; did you mean 'weight'?"),
        (27, 62, "TGP-R014", "unknown label 'skin/dry'"),
        (28, 20, "TGP-R021", "the rule gives a string, but a number (a score) is needed"),
        (29, 22, "TGP-T001", "purpose of leaf 'skin/sensitive' must be one of profiling, marketing, sensitive, "
                             "not 'medical'"),
        (34, 27, "TGP-T001", "conflict rule 'nonsense' names unknown label 'price/price_sensitive'; did you mean "
                             "'skin/sensitive'?"),
    ]
    rendered = caught.value.render()
    assert rendered.startswith(f"Error [TGP-T001]: 9 problems in {path}:\n{path}:3:1: missing dimensions")
    assert (f"{path}:18:19: unknown feature 'activ_days_90d' [TGP-R012]\n    activ_days_90d >= 8\n"
            "    ^^^^^^^^^^^^^^\n  did you mean 'active_days_90d'?") in rendered


def test_rule_positions_in_multi_line_scalars() -> None:
    with pytest.raises(TaxonomyCheckError) as caught:
        parse_taxonomy(FIVE_DIMENSIONS_HEADER + """\
          - id: folded
            name: Folded
            rule: >-
              orders_total >= 1
                and ordrs_90d >= 1
          - id: plain
            name: Plain
            rule: orders_total >= 1
              and ordrs_90d >= 1
          - id: quoted
            name: Quoted
            rule: "orders_total >= 1 and ordrs_90d >= 1"
""", "t.yaml")
    assert [(line, column) for line, column, *_ in problems_of(caught.value)] == [(16, 21), (20, 19), (23, 42)]


def test_yaml_syntax_error_has_a_position() -> None:
    with pytest.raises(TaxonomyCheckError) as caught:
        parse_taxonomy("version: 1\ndimensions:\n  - id: attributes\n   name: x\n", "t.yaml")
    assert problems_of(caught.value) == [
        (4, 4, "TGP-T001", "not valid YAML: expected <block end>, but found '<block mapping start>'")]


def test_has_label_cycle_is_an_error() -> None:
    with pytest.raises(TaxonomyCheckError) as caught:
        load_taxonomy(FIXTURES / "cycle.yaml")
    assert problems_of(caught.value) == [
        (12, 18, "TGP-T002", "has_label() references form a cycle: loop/a -> loop/b -> loop/a")]


def test_has_label_leaves_come_after_the_labels_they_name() -> None:
    taxonomy = load_taxonomy(FIXTURES / "small.yaml")
    assert len(taxonomy.layers) == 2
    assert taxonomy.layers[1] == ("potential/advocate",)
    assert taxonomy.leaf("potential/advocate").labels_used == ("service/praiser",)


# The CLI --------------------------------------------------------------------------------------------

def test_labels_check_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    main(["labels", "check", str(FIXTURES / "small.yaml")])
    assert capsys.readouterr().out == (
        "OK: 18 leaves in 5 dimensions, 3 conflict rules, 1 synonyms merged\n"
        "  'price/discount_sensitive' (Discount-sensitive) merged into 'price/promotion_focused' "
        "(synonym 'discount-sensitive')\n")


def test_labels_check_the_workspace_taxonomy(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--workspace", str(workspace.root), "labels", "check"])
    assert capsys.readouterr().out == "OK: 89 leaves in 5 dimensions, 4 conflict rules, 0 synonyms merged\n"


def test_labels_check_without_a_workspace_uses_the_ecommerce_default(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TGPORTRAIT_WORKSPACE", raising=False)
    main(["labels", "check", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert (report["ok"], report["industry"], report["leaves"], report["conflicts"]) == (True, "ecommerce", 96, 4)


def test_labels_check_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURES / "bad.yaml"
    with pytest.raises(SystemExit) as exited:
        main(["labels", "check", str(path)])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"Error [TGP-T001]: 9 problems in {path}:\n")
    assert captured.err.endswith("Hint: Fix each place named above, then run 'tgportrait labels check' again.\n")


def test_labels_check_missing_file_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = subprocess.run([str(Path(sys.executable).parent / "tgportrait"), "labels", "check", str(missing)],
                            capture_output=True, text=True, cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr == (f"Error [TGP-T001]: cannot read the taxonomy {missing}: No such file or directory\n"
                             "Hint: Check the path, or create the workspace's taxonomy with 'tgportrait init'.\n")


def test_labels_list(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--workspace", str(workspace.root), "labels", "list"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[:4] == ["Beauty default (version 2026.1, industry beauty): 89 leaves in 5 dimensions, 4 conflict "
                         "rules, 0 synonyms merged",
                         "User attributes (attributes)",
                         "  Age band (age, exclusive: first)",
                         "    age/18_24  18-24  (weight 0.5, profiling)"]
    assert "    skin/sensitive  Sensitive skin  (weight 0.8, profiling, sensitive)" in lines
    main(["--workspace", str(workspace.root), "labels", "list", "--json"])
    tree = json.loads(capsys.readouterr().out)
    assert [dimension["id"] for dimension in tree["dimensions"]] == list(DIMENSIONS)
    assert tree["conflicts"][0]["drop"] == ["behaviour/discount_clicker"]

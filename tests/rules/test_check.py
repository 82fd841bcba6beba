"""check_rule / check_rules: names, types and function arguments against a catalogue; every problem at once."""

from __future__ import annotations

from collections.abc import Iterator

import ibis
import pytest

from tgportrait.errors import RuleError
from tgportrait.label.catalogue import CORE_FEATURES
from tgportrait.rules import (
    FUNCTIONS,
    PROBLEM_KINDS,
    CheckedRule,
    Parameter,
    RuleCatalog,
    RuleCheckError,
    RuleFunction,
    RuleOrigin,
    check_rule,
    check_rules,
    register_function,
)

EXAMPLES = [
    ('orders_90d >= 1 and asked("new_product", days=90)', ("orders_90d",), (), ("asked",)),
    ("avg_order_usd >= 500", ("avg_order_usd",), (), ()),
    ('has_label("skin/sensitive") and not has_label("price/price_sensitive")', (),
     ("skin/sensitive", "price/price_sensitive"), ("has_label",)),
    ("last_seen_days > 30 and messages_90d >= 20", ("last_seen_days", "messages_90d"), (), ()),
    ('region in ("ID", "MY") and age_band == "25-34"', ("region", "age_band"), (), ()),
    ('language != "en" or gender is null', ("language", "gender"), (), ()),
    ('spend_365d_usd / orders_365d > 100 and (interest_moisturizing >= 2 or top_category == "moisturiser")',
     ("spend_365d_usd", "orders_365d", "interest_moisturizing", "top_category"), (), ()),
    ("clicked(days=30) and not joined(days=7)", (), (), ("clicked", "joined")),
]


def problems_of(text: str, catalog: RuleCatalog, expect: str = "bool") -> list[tuple[str, str]]:
    with pytest.raises(RuleCheckError) as caught:
        check_rule(text, catalog, expect=expect)  # type: ignore[arg-type]
    return [(problem.code, problem.message) for problem in caught.value.problems]


@pytest.mark.parametrize(("text", "features", "labels", "functions"), EXAMPLES)
def test_examples_check_and_report_what_they_use(catalog: RuleCatalog, text: str, features: tuple[str, ...],
                                                  labels: tuple[str, ...], functions: tuple[str, ...]) -> None:
    rule = check_rule(text, catalog)
    assert isinstance(rule, CheckedRule)
    assert (rule.text, rule.expect) == (text, "bool")
    assert rule.features_used == features
    assert rule.labels_used == labels
    assert rule.functions_used == functions


def test_names_are_listed_once_in_order_of_appearance(catalog: RuleCatalog) -> None:
    rule = check_rule('messages_90d > 1 and has_label("skin/dry") and orders_90d > 1 and messages_90d < 9 '
                      'and has_label("skin/dry") and clicked()', catalog)
    assert rule.features_used == ("messages_90d", "orders_90d")
    assert rule.labels_used == ("skin/dry",)
    assert rule.functions_used == ("has_label", "clicked")


def test_label_aliases_resolve_to_label_ids(catalog: RuleCatalog) -> None:
    rule = check_rule('has_label("discount-sensitive") or has_label("sensitive-skin")', catalog)
    assert rule.labels_used == ("price/price_sensitive", "skin/sensitive")


def test_unknown_feature_renders_location_caret_and_suggestion(catalog: RuleCatalog) -> None:
    with pytest.raises(RuleError) as caught:
        check_rule("msgs_30d > 3 and orders_90d >= 1", catalog, RuleOrigin("rules/segments.yaml", 14, 9))
    assert caught.value.code == "TGP-R012"
    assert caught.value.render() == (
        "Error [TGP-R012]: rules/segments.yaml:14:9: unknown feature 'msgs_30d'\n"
        "    msgs_30d > 3 and orders_90d >= 1\n"
        "    ^^^^^^^^\n"
        "  did you mean 'messages_30d'?\n"
        "Hint: Use a feature name from the catalogue (docs/features.md lists them)."
    )


def test_comparing_text_with_a_number(catalog: RuleCatalog) -> None:
    with pytest.raises(RuleError) as caught:
        check_rule("region > 3", catalog)
    assert caught.value.render() == (
        "Error [TGP-R020]: <rule>:1:1: cannot compare str feature 'region' with a number\n"
        "    region > 3\n"
        "    ^^^^^^^^^^\n"
        "Hint: 'region' holds text; compare it with quoted text, e.g. region == \"...\"."
    )


@pytest.mark.parametrize(("text", "problems"), [
    ('region > "A"', [("TGP-R020", "cannot use '>' on str feature 'region'; only numbers can be ordered")]),
    ("has_phone == 1", [("TGP-R020", "cannot compare bool feature 'has_phone' with a number")]),
    ("orders_90d and has_phone", [("TGP-R020", "'and' needs a condition on each side, not int feature 'orders_90d'")]),
    ("has_phone or spend_90d_usd", [("TGP-R020", "'or' needs a condition on each side, not float feature "
                                                 "'spend_90d_usd'")]),
    ("not orders_90d", [("TGP-R020", "'not' needs a condition, not int feature 'orders_90d'")]),
    ("region + 1 > 2", [("TGP-R020", "cannot use '+' on str feature 'region'; arithmetic needs numbers")]),
    ("-region == 1", [("TGP-R020", "cannot negate str feature 'region'; only numbers can be negated")]),
    ("(orders_90d > 1) == 3", [("TGP-R020", "cannot compare a condition with a number")]),
    ('asked("price") > 1', [("TGP-R020", "cannot compare asked() (a condition) with a number")]),
    ('region in ("ID", 3, true)', [("TGP-R022", "the 'in' list for str feature 'region' holds a number: 3"),
                                   ("TGP-R022", "the 'in' list for str feature 'region' holds a condition: true")]),
    ("orders_90d in (1, 2.5, -3)", []),
    ('region in ("ID", language)', [("TGP-R022", "values in an 'in' list must be written out, like \"ID\" or 3")]),
    ("orders_90d", [("TGP-R021", "the rule gives a number, but a condition (true/false) is needed")]),
    ("region", [("TGP-R021", "the rule gives a string, but a condition (true/false) is needed")]),
    ('has_labl("skin/sensitive")', [("TGP-R013", "unknown function 'has_labl'")]),
    ("orders_90d(1) > 0", [("TGP-R013", "unknown function 'orders_90d'")]),
    ("asked", [("TGP-R012", "unknown feature 'asked'")]),
    ('has_label("skin/sensitiv")', [("TGP-R014", "unknown label 'skin/sensitiv'")]),
    ('asked("new_prodct")', [("TGP-R015", "unknown intent 'new_prodct'")]),
    ('asked("price", day=30)', [("TGP-R016", "asked() has no parameter 'day'")]),
    ("asked()", [("TGP-R017", "asked() needs the argument 'intent'")]),
    ('asked("price", 30, 4)', [("TGP-R017", "asked() takes 2 arguments but 3 were given")]),
    ('asked("price", 30, days=30)', [("TGP-R017", "asked() got 'days' twice")]),
    ("min(orders_90d) > 1", [("TGP-R017", "min() needs the argument 'b'")]),
    ('asked("price", days=orders_90d)', [("TGP-R018", "argument 'days' of asked() must be written out as a "
                                                      "value, not computed")]),
    ('has_label("skin/" + "dry")', [("TGP-R020", "cannot use '+' on a string; arithmetic needs numbers"),
                                    ("TGP-R018", "argument 'label' of has_label() must be written out as a value, "
                                                 "not computed"),
                                    ("TGP-R020", "cannot use '+' on a string; arithmetic needs numbers")]),
    ('asked("price", days=0)', [("TGP-R019", "days must be a whole number from 1 to 3650, not 0")]),
    ('asked("price", days=2.5)', [("TGP-R019", "days must be a whole number from 1 to 3650, not 2.5")]),
    ("joined(days=3651)", [("TGP-R019", "days must be a whole number from 1 to 3650, not 3651")]),
    ("asked(3)", [("TGP-R020", "argument 'intent' of asked() must be a string, not a number")]),
    ("clicked(campaign=true)", [("TGP-R020", "argument 'campaign' of clicked() must be a string, not true")]),
    ('min(orders_90d, "a") > 1', [("TGP-R020", "argument 'b' of min() must be a number, not a string")]),
    ("max(has_phone, 1) > 0", [("TGP-R020", "argument 'a' of max() must be a number, not bool feature 'has_phone'")]),
    ("abs(msgs) > 1", [("TGP-R012", "unknown feature 'msgs'")]),
    ("nope(msgs_30d) > 1", [("TGP-R013", "unknown function 'nope'"), ("TGP-R012", "unknown feature 'msgs_30d'")]),
])
def test_problems(catalog: RuleCatalog, text: str, problems: list[tuple[str, str]]) -> None:
    if not problems:
        check_rule(text, catalog)
        return
    assert problems_of(text, catalog) == problems


def test_every_problem_of_a_rule_is_reported_at_once(catalog: RuleCatalog) -> None:
    text = 'msgs_30d > 3 and regoin == "ID" and has_label("skin/sensitiv") and asked("new_prodct", days=0)'
    with pytest.raises(RuleError) as caught:
        check_rule(text, catalog, RuleOrigin("rules/segments.yaml", 3, 11))
    assert caught.value.code == "TGP-R012"
    assert caught.value.render() == (
        "Error [TGP-R012]: 5 problems in rules/segments.yaml:\n"
        "rules/segments.yaml:3:11: unknown feature 'msgs_30d' [TGP-R012]\n"
        f"    {text}\n"
        "    ^^^^^^^^\n"
        "  did you mean 'messages_30d'?\n"
        "rules/segments.yaml:3:28: unknown feature 'regoin' [TGP-R012]\n"
        f"    {text}\n"
        "                     ^^^^^^\n"
        "  did you mean 'region'?\n"
        "rules/segments.yaml:3:57: unknown label 'skin/sensitiv' [TGP-R014]\n"
        f"    {text}\n"
        "                                                  ^^^^^^^^^^^^^^^\n"
        "  did you mean 'skin/sensitive'?\n"
        "rules/segments.yaml:3:84: unknown intent 'new_prodct' [TGP-R015]\n"
        f"    {text}\n"
        "                                                                             ^^^^^^^^^^^^\n"
        "  did you mean 'new_product'?\n"
        "rules/segments.yaml:3:103: days must be a whole number from 1 to 3650, not 0 [TGP-R019]\n"
        f"    {text}\n"
        "                                                                                                ^\n"
        "Hint: Use a feature name from the catalogue (docs/features.md lists them).\n"
        "      Use a label id or alias defined in the taxonomy.\n"
        "      Use an intent the classifier knows (the lexicon lists them).\n"
        "      Give the window in whole days, e.g. days=30."
    )


def test_unknown_keyword_argument_suggests_the_parameter(catalog: RuleCatalog) -> None:
    with pytest.raises(RuleError) as caught:
        check_rule('asked("price", day=30)', catalog)
    assert caught.value.render() == (
        "Error [TGP-R016]: <rule>:1:16: asked() has no parameter 'day'\n"
        '    asked("price", day=30)\n'
        "                   ^^^\n"
        "  did you mean 'days'?\n"
        "Hint: Call it as asked(intent, days=90)."
    )


def test_alias_typo_suggests_the_alias(catalog: RuleCatalog) -> None:
    with pytest.raises(RuleCheckError) as caught:
        check_rule('has_label("discount-sensitve")', catalog)
    assert caught.value.problems[0].suggestion == "did you mean 'discount-sensitive'?"


def test_check_rules_reports_the_problems_of_every_rule_in_one_error(catalog: RuleCatalog) -> None:
    items = [
        ("orders_90d >= 1", RuleOrigin("rules/labels.yaml", 4, 11)),
        ("regoin == 'ID'", RuleOrigin("rules/labels.yaml", 9, 11)),
        ("avg_order_usd >= 500", RuleOrigin("rules/segments.yaml", 2, 9)),
        ("orders_90d >", RuleOrigin("rules/segments.yaml", 5, 9)),
    ]
    with pytest.raises(RuleCheckError) as caught:
        check_rules(items, catalog)
    assert [(p.code, p.location, p.message) for p in caught.value.problems] == [
        ("TGP-R012", "rules/labels.yaml:9:11", "unknown feature 'regoin'"),
        ("TGP-R001", "rules/segments.yaml:5:21", "unexpected end of rule where a value was expected"),
    ]
    assert caught.value.render().splitlines()[0] == "Error [TGP-R012]: 2 problems:"
    checked = check_rules(items[:1] + items[2:3], catalog)
    assert [rule.origin.line for rule in checked] == [4, 2]


def test_scores_are_numbers(catalog: RuleCatalog) -> None:
    score = check_rule("coalesce(spend_365d_usd / orders_365d, 0) + max(orders_90d, 1) * 2", catalog, expect="number")
    assert score.expect == "number"
    assert problems_of("orders_90d >= 1", catalog, expect="number") == [
        ("TGP-R021", "the rule gives a condition, but a number (a score) is needed")]
    with pytest.raises(ValueError, match="expect must be 'bool' or 'number'"):
        check_rule("orders_90d >= 1", catalog, expect="text")  # type: ignore[arg-type]


def test_any_intent_is_accepted_when_the_catalogue_lists_none() -> None:
    catalog = RuleCatalog.from_specs(CORE_FEATURES)
    assert check_rule('asked("anything", days=7)', catalog).functions_used == ("asked",)


def test_has_label_without_labels_in_the_catalogue_says_so() -> None:
    with pytest.raises(RuleCheckError) as caught:
        check_rule('has_label("skin/dry")', RuleCatalog.from_specs(CORE_FEATURES))
    assert caught.value.hint == "No labels are defined: check rules against a catalogue built from the taxonomy."


@pytest.fixture
def plugin_function() -> Iterator[RuleFunction]:
    function = RuleFunction(
        "clamp", (Parameter("x", "number"), Parameter("low", "number", 0, literal=True),
                  Parameter("high", "number", 100, literal=True)), "number", "x limited to low..high.",
        compile=lambda call: ibis.greatest(ibis.literal(call.literal("low")),
                                           ibis.least(call.values["x"], ibis.literal(call.literal("high")))),
        explain=lambda call: f"{call.phrases['x']} limited to {call.literal('low')}..{call.literal('high')}")
    register_function(function)
    yield function
    del FUNCTIONS["clamp"]


def test_a_plugin_function_is_checked_like_a_built_in(catalog: RuleCatalog, plugin_function: RuleFunction) -> None:
    assert check_rule("clamp(spend_90d_usd, high=50) > 10", catalog).functions_used == ("clamp",)
    assert problems_of("clamp(region) > 1", catalog) == [
        ("TGP-R020", "argument 'x' of clamp() must be a number, not str feature 'region'")]
    with pytest.raises(ValueError, match="already registered"):
        register_function(plugin_function)


def test_every_problem_code_has_a_kind() -> None:
    assert all(code.startswith("TGP-R0") for code in PROBLEM_KINDS)
    assert {"TGP-R001", "TGP-R012", "TGP-R013", "TGP-R014", "TGP-R020"} <= set(PROBLEM_KINDS)
    assert all(kind.hint.endswith(".") for kind in PROBLEM_KINDS.values())


def test_a_flood_of_problems_is_kept_whole_but_shown_in_part() -> None:
    text = " and ".join(f"x{number} > 1" for number in range(60))
    with pytest.raises(RuleCheckError) as caught:
        check_rule(text, RuleCatalog.from_specs(CORE_FEATURES))
    assert len(caught.value.problems) == 60
    rendered = caught.value.render()
    assert rendered.count("unknown feature") == 50
    assert "\n... and 10 more problems\n" in rendered

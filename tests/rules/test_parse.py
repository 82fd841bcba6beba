"""parse_rule: text -> syntax tree with positions; syntax errors with exact messages, carets and hints."""

from __future__ import annotations

import pytest

from tgportrait.errors import RuleError
from tgportrait.rules import RuleCheckError, RuleOrigin, parse_rule
from tgportrait.rules.tree import (
    Arithmetic,
    BoolLiteral,
    Call,
    Comparison,
    FeatureRef,
    InList,
    IsNull,
    KeywordArgument,
    Logical,
    Negate,
    Node,
    Not,
    NumberLiteral,
    Span,
    StringLiteral,
)


def shape(node: Node) -> object:
    """The tree without positions, as nested tuples, so precedence tests read like the rule."""
    if isinstance(node, FeatureRef):
        return node.name
    if isinstance(node, NumberLiteral | StringLiteral | BoolLiteral):
        return node.value
    if isinstance(node, Logical):
        return (node.operator, *(shape(operand) for operand in node.operands))
    if isinstance(node, Comparison | Arithmetic):
        return (node.operator, shape(node.left), shape(node.right))
    if isinstance(node, Not):
        return ("not", shape(node.operand))
    if isinstance(node, Negate):
        return ("-", shape(node.operand))
    if isinstance(node, InList):
        return ("not in" if node.negated else "in", shape(node.operand), tuple(shape(item) for item in node.items))
    if isinstance(node, IsNull):
        return ("is not null" if node.negated else "is null", shape(node.operand))
    assert isinstance(node, Call)
    return ("call", node.name, tuple(shape(a) for a in node.arguments),
            tuple((k.name, shape(k.value)) for k in node.keywords))


def parse_error(text: str, origin: RuleOrigin | None = None) -> RuleCheckError:
    with pytest.raises(RuleCheckError) as caught:
        parse_rule(text, origin)
    return caught.value


def test_comparison_tree_has_positions() -> None:
    assert parse_rule("orders_90d >= 1") == Comparison(
        ">=", FeatureRef("orders_90d", Span(0, 10)), NumberLiteral(1, "1", Span(14, 15)), Span(11, 13), Span(0, 15))


def test_call_with_positional_and_keyword_arguments() -> None:
    assert parse_rule('asked("new_product", days=90)') == Call(
        "asked", Span(0, 5), (StringLiteral("new_product", Span(6, 19)),),
        (KeywordArgument("days", NumberLiteral(90, "90", Span(26, 28)), Span(21, 25)),), Span(0, 29))


@pytest.mark.parametrize(("text", "expected"), [
    ("a or b and c", ("or", "a", ("and", "b", "c"))),
    ("a and b or c", ("or", ("and", "a", "b"), "c")),
    ("a and b and c", ("and", "a", "b", "c")),
    ("(a or b) and c", ("and", ("or", "a", "b"), "c")),
    ("not a > 1 and b", ("and", ("not", (">", "a", 1)), "b")),
    ("not not a", ("not", ("not", "a"))),
    ("1 + 2 * 3 == 7", ("==", ("+", 1, ("*", 2, 3)), 7)),
    ("a - b - c > 0", (">", ("-", ("-", "a", "b"), "c"), 0)),
    ("a / (b - c) <= 2.5", ("<=", ("/", "a", ("-", "b", "c")), 2.5)),
    ("-a * 2 < -3", ("<", ("*", ("-", "a"), 2), -3)),
    ("- -3 == 3", ("==", ("-", -3), 3)),
    ('region in ("ID", "MY")', ("in", "region", ("ID", "MY"))),
    ('region NOT IN ("ID",)', ("not in", "region", ("ID",))),
    ("gender is null", ("is null", "gender")),
    ("gender Is Not Null", ("is not null", "gender")),
    ("A > 1 AND NOT b Or c", ("or", ("and", (">", "A", 1), ("not", "b")), "c")),
    ("has_phone == TRUE or x == False", ("or", ("==", "has_phone", True), ("==", "x", False))),
    ('clicked("spring", days=30,)', ("call", "clicked", ("spring",), (("days", 30),))),
    ("min(a, max(b, 2)) > abs(-c)", (">", ("call", "min", ("a", ("call", "max", ("b", 2), ())), ()),
                                     ("call", "abs", (("-", "c"),), ()))),
    ("f() == 1", ("==", ("call", "f", (), ()), 1)),
])
def test_precedence_and_shapes(text: str, expected: object) -> None:
    assert shape(parse_rule(text)) == expected


@pytest.mark.parametrize(("text", "value"), [
    ("1_000", 1000),
    ("1_000.25", 1000.25),
    ("0.5", 0.5),
    ("007", 7),
    ("'it\\'s'", "it's"),
    ('"say \\"hi\\""', 'say "hi"'),
    ("'a\\nb\\tc\\\\'", "a\nb\tc\\"),
    ("'caf\\u00e9'", "café"),
    ("'#not a comment'", "#not a comment"),
    ("\"it's\"", "it's"),
])
def test_literals(text: str, value: object) -> None:
    node = parse_rule(f"x == {text}")
    assert isinstance(node, Comparison)
    assert isinstance(node.right, NumberLiteral | StringLiteral)
    assert node.right.value == value
    assert type(node.right.value) is type(value)


def test_comments_and_newlines_are_skipped() -> None:
    text = "orders_90d >= 1   # buyers\n  and has_phone # reachable\n"
    assert shape(parse_rule(text)) == ("and", (">=", "orders_90d", 1), "has_phone")


def test_parse_rule_never_evaluates_names() -> None:
    assert shape(parse_rule("__import__ == exec")) == ("==", "__import__", "exec")


@pytest.mark.parametrize(("text", "rendered"), [
    ("orders_90d >=",
     "Error [TGP-R001]: <rule>:1:14: unexpected end of rule where a value was expected\n"
     "    orders_90d >=\n"
     "                 ^\n"
     "Hint: The rule stops in the middle of an expression; finish it, e.g. 'orders_90d >= 1'."),
    ("(orders_90d >= 1",
     "Error [TGP-R001]: <rule>:1:1: '(' is never closed\n"
     "    (orders_90d >= 1\n"
     "    ^\n"
     "Hint: Add the missing ')'."),
    ("orders_90d >= 1)",
     "Error [TGP-R001]: <rule>:1:16: unexpected ')' after a complete expression\n"
     "    orders_90d >= 1)\n"
     "                   ^\n"
     "Hint: This ')' closes nothing; remove it or add the missing '('."),
    ("orders_90d >= 1 has_phone",
     "Error [TGP-R001]: <rule>:1:17: unexpected name 'has_phone' after a complete expression\n"
     "    orders_90d >= 1 has_phone\n"
     "                    ^^^^^^^^^\n"
     "Hint: Join conditions with 'and' or 'or'."),
    ('region = "ID"',
     "Error [TGP-R001]: <rule>:1:8: unexpected '=' after a complete expression\n"
     '    region = "ID"\n'
     "           ^\n"
     "Hint: Use '==' to compare; '=' only names a function argument, e.g. days=30."),
    ("a < b < c",
     "Error [TGP-R001]: <rule>:1:7: comparisons cannot be chained: unexpected '<'\n"
     "    a < b < c\n"
     "          ^\n"
     "Hint: Join comparisons with 'and', e.g. 'a > 1 and a < 5'."),
    ('region in "ID"',
     "Error [TGP-R001]: <rule>:1:11: expected '(' after 'in', found string \"ID\"\n"
     '    region in "ID"\n'
     "              ^^^^\n"
     'Hint: Write the values in parentheses, e.g. region in ("ID", "MY").'),
    ("region in ()",
     "Error [TGP-R001]: <rule>:1:11: 'in' needs at least one value\n"
     "    region in ()\n"
     "              ^^\n"
     'Hint: List the values, e.g. region in ("ID", "MY").'),
    ('gender is "f"',
     "Error [TGP-R001]: <rule>:1:11: expected 'null' after 'is', found string \"f\"\n"
     '    gender is "f"\n'
     "              ^^^\n"
     "Hint: Write 'x is null' or 'x is not null'; compare values with '=='."),
    ("gender == null",
     "Error [TGP-R001]: <rule>:1:11: 'null' can only be used in 'is null' or 'is not null'\n"
     "    gender == null\n"
     "              ^^^^\n"
     "Hint: Test for a missing value with 'x is null'."),
    ('asked(days=30, "price")',
     "Error [TGP-R001]: <rule>:1:16: positional argument after a keyword argument\n"
     '    asked(days=30, "price")\n'
     "                   ^^^^^^^\n"
     'Hint: Put positional arguments first, e.g. asked("x", days=30).'),
    ("and has_phone",
     "Error [TGP-R001]: <rule>:1:1: unexpected 'and' where a value was expected\n"
     "    and has_phone\n"
     "    ^^^\n"
     "Hint: Put a condition on both sides of 'and'."),
    ("orders_90d => 1",
     "Error [TGP-R002]: <rule>:1:12: '=>' is not an operator\n"
     "    orders_90d => 1\n"
     "               ^^\n"
     "Hint: Write '>=' for 'at least'."),
    ("orders_90d && has_phone",
     "Error [TGP-R002]: <rule>:1:12: unexpected character '&&'\n"
     "    orders_90d && has_phone\n"
     "               ^^\n"
     "Hint: Use 'and' to join conditions."),
    ("!has_phone",
     "Error [TGP-R002]: <rule>:1:1: unexpected character '!'\n"
     "    !has_phone\n"
     "    ^\n"
     "Hint: Use 'not' to negate a condition ('!=' means 'is not equal to')."),
    ('region == "ID',
     "Error [TGP-R002]: <rule>:1:11: unterminated string\n"
     '    region == "ID\n'
     "              ^^^\n"
     'Hint: Close the string with " on the same line.'),
    ("region == 'a\\qb'",
     "Error [TGP-R002]: <rule>:1:13: unknown escape '\\q' in a string\n"
     "    region == 'a\\qb'\n"
     "                ^^\n"
     "Hint: Known escapes: \\\\ \\' \\\" \\n \\t \\r \\uXXXX."),
    ("90d_orders > 1",
     "Error [TGP-R002]: <rule>:1:1: invalid number '90d_orders'\n"
     "    90d_orders > 1\n"
     "    ^^^^^^^^^^\n"
     "Hint: Numbers are digits with an optional decimal part and '_' between digit groups (1_000, 2.5); "
     "names start with a letter."),
    ("orders_90d > 99999999999999999999",
     "Error [TGP-R002]: <rule>:1:14: number 99999999999999999999 is too large\n"
     "    orders_90d > 99999999999999999999\n"
     "                 ^^^^^^^^^^^^^^^^^^^^\n"
     "Hint: Use a number below 9_223_372_036_854_775_807."),
    ("é > 1",
     "Error [TGP-R002]: <rule>:1:1: unexpected character 'é' (U+00E9)\n"
     "    é > 1\n"
     "    ^\n"
     "Hint: Only names, numbers, quoted strings, parentheses, commas and the operators == != < <= > >= + - * / "
     "are allowed."),
    ("  # only a comment",
     "Error [TGP-R005]: <rule>:1:1: rule is empty\n"
     "      # only a comment\n"
     "    ^^^^^^^^^^^^^^^^^^\n"
     "Hint: Write a condition, e.g. 'orders_90d >= 1'."),
])
def test_syntax_errors_render_exactly(text: str, rendered: str) -> None:
    assert parse_error(text).render() == rendered


def test_every_bad_character_is_reported_at_once() -> None:
    error = parse_error('region[0] == "I"')
    assert [(p.code, p.message, p.column) for p in error.problems] == [
        ("TGP-R002", "unexpected character '['", 7),
        ("TGP-R002", "unexpected character ']'", 9),
    ]
    assert error.render() == (
        "Error [TGP-R002]: 2 problems:\n"
        "<rule>:1:7: unexpected character '[' [TGP-R002]\n"
        '    region[0] == "I"\n'
        "          ^\n"
        "<rule>:1:9: unexpected character ']' [TGP-R002]\n"
        '    region[0] == "I"\n'
        "            ^\n"
        'Hint: Write lists in parentheses, e.g. region in ("ID", "MY").'
    )


def test_positions_account_for_the_origin_on_the_first_line_only() -> None:
    origin = RuleOrigin("rules/segments.yaml", line=14, column=9)
    first_line = parse_error("orders_90d >= 1 and and", origin)
    assert first_line.problems[0].location == "rules/segments.yaml:14:29"
    second_line = parse_error("orders_90d >= 1\n  and and", origin)
    assert second_line.problems[0].location == "rules/segments.yaml:15:7"
    assert second_line.render().splitlines()[:3] == [
        "Error [TGP-R001]: rules/segments.yaml:15:7: unexpected 'and' where a value was expected",
        "      and and",
        "          ^^^",
    ]


def test_syntax_error_is_a_rule_error_with_its_code() -> None:
    error = parse_error("orders_90d >")
    assert isinstance(error, RuleError)
    assert error.code == "TGP-R001"
    assert error.hint == "The rule stops in the middle of an expression; finish it, e.g. 'orders_90d >= 1'."

"""The rule checker: reads rule text and a ``RuleCatalog``, writes a ``CheckedRule`` or one ``RuleError``.

Parses, then walks the whole tree once, collecting every problem instead of stopping at the first:
unknown features, functions, labels and intents (with "did you mean"), function arguments (count,
names, literal-ness, values) and types (numbers compare with numbers, text with text, ``and``/``or``/
``not`` take conditions, arithmetic takes numbers). A ``CheckedRule`` is what later stages use: it
compiles itself to Ibis (``compile.py``) and explains itself in words (``explain.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import ibis.expr.types as ir

from tgportrait.label.catalogue import FeatureSpec
from tgportrait.rules.compile import compile_rule
from tgportrait.rules.context import RuleCatalog, RuleOrigin, RuleTables
from tgportrait.rules.explain import explain_rule
from tgportrait.rules.functions import FUNCTIONS, BoundCall, CallCheck, ConstantValue, RuleFunction, ValueType
from tgportrait.rules.parse import parse_into
from tgportrait.rules.problems import (
    ARGUMENT_COUNT,
    ARGUMENT_NOT_LITERAL,
    IN_LIST,
    RESULT_TYPE,
    TYPE_MISMATCH,
    UNKNOWN_ARGUMENT,
    UNKNOWN_FEATURE,
    UNKNOWN_FUNCTION,
    ProblemList,
    RuleProblem,
    did_you_mean,
    raise_problems,
)
from tgportrait.rules.tree import (
    LITERAL_NODES,
    Arithmetic,
    BoolLiteral,
    Call,
    Comparison,
    FeatureRef,
    InList,
    Logical,
    Negate,
    Node,
    Not,
    NumberLiteral,
    StringLiteral,
    walk,
)

Expectation = Literal["bool", "number"]
_NO_ORIGIN = RuleOrigin()
_ARITHMETIC_HINT = "Arithmetic (+ - * / and a leading -) works on numbers only."
_FEATURE_VALUE_TYPES: dict[str, ValueType] = {"int": "number", "float": "number", "str": "str", "bool": "bool"}
_TYPE_WORDS: dict[ValueType, str] = {"number": "a number", "str": "a string", "bool": "a condition"}


@dataclass(frozen=True)
class CheckedRule:
    """A rule that parsed and checked; ``compile`` and ``explain`` cannot fail on its text any more."""

    text: str
    tree: Node
    origin: RuleOrigin
    expect: Expectation
    features_used: tuple[str, ...]
    labels_used: tuple[str, ...]
    functions_used: tuple[str, ...]
    feature_specs: Mapping[str, FeatureSpec]
    calls: Mapping[Call, BoundCall]

    def compile(self, tables: RuleTables) -> ir.Value:
        """An Ibis BooleanValue (never null) or NumericValue over ``tables.features``' rows."""
        return compile_rule(self, tables)

    def explain(self) -> str:
        """The rule in plain English."""
        return explain_rule(self)


def check_rule(text: str, catalog: RuleCatalog, origin: RuleOrigin = _NO_ORIGIN,
               expect: Expectation = "bool") -> CheckedRule:
    """Parse and check one rule; raises one ``RuleError`` listing every problem."""
    return check_rules([(text, origin)], catalog, expect=expect)[0]


def check_rules(items: Sequence[tuple[str, RuleOrigin]], catalog: RuleCatalog,
                expect: Expectation = "bool") -> list[CheckedRule]:
    """Check every rule; raises one ``RuleError`` with the problems of all of them."""
    if expect not in ("bool", "number"):
        raise ValueError(f"expect must be 'bool' or 'number', not {expect!r}")
    checked: list[CheckedRule] = []
    problems: list[RuleProblem] = []
    for text, origin in items:
        rule_problems = ProblemList(text, origin)
        rule = _check_one(text, origin, catalog, expect, rule_problems)
        problems.extend(sorted(rule_problems.problems, key=lambda problem: problem.start))
        if rule is not None:
            checked.append(rule)
    if problems:
        raise_problems(problems)
    return checked


def _check_one(text: str, origin: RuleOrigin, catalog: RuleCatalog, expect: Expectation,
               problems: ProblemList) -> CheckedRule | None:
    tree = parse_into(text, problems)
    if tree is None:
        return None
    checker = _Checker(catalog, problems)
    result = checker.check(tree)
    if result is not None and result != expect:
        if expect == "bool":
            problems.add(RESULT_TYPE, f"the rule gives {_TYPE_WORDS[result]}, but a condition (true/false) is "
                         "needed", tree.span, hint=_make_condition_hint(tree, result))
        else:
            problems.add(RESULT_TYPE, f"the rule gives {_TYPE_WORDS[result]}, but a number (a score) is needed",
                         tree.span, hint="Use a numeric feature or arithmetic, e.g. 'spend_365d_usd / 100'.")
    if problems:
        return None
    nodes = walk(tree)
    features = _unique(node.name for node in nodes if isinstance(node, FeatureRef))
    calls = [checker.calls[node] for node in nodes if isinstance(node, Call)]
    return CheckedRule(
        text=text, tree=tree, origin=origin, expect=expect, features_used=features,
        labels_used=_unique(str(call.literals["label"]) for call in calls if "label" in call.literals),
        functions_used=_unique(call.function.name for call in calls),
        feature_specs={name: catalog.features[name] for name in features}, calls=dict(checker.calls))


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def _comparison_hint(node: Comparison, left: ValueType) -> str | None:
    if isinstance(node.left, FeatureRef) and left == "str":
        return f"'{node.left.name}' holds text; compare it with quoted text, e.g. {node.left.name} == \"...\"."
    return None


def _make_condition_hint(node: Node, result: ValueType) -> str:
    if isinstance(node, FeatureRef) and result == "number":
        return f"Compare it, e.g. '{node.name} >= 1'."
    if isinstance(node, FeatureRef) and result == "str":
        return f"Compare it, e.g. '{node.name} == \"...\"'."
    return "Compare the value, e.g. 'orders_90d >= 1'."


class _Checker:
    """Walks a tree, returning each node's type (None when unknown because of an earlier problem)."""

    def __init__(self, catalog: RuleCatalog, problems: ProblemList) -> None:
        self.catalog = catalog
        self.problems = problems
        self.calls: dict[Call, BoundCall] = {}

    def describe(self, node: Node, value_type: ValueType) -> str:
        """How a message names an operand: "str feature 'region'", "a number", "asked(), a condition"."""
        if isinstance(node, FeatureRef):
            return f"{self.catalog.features[node.name].type} feature '{node.name}'"
        if isinstance(node, BoolLiteral):
            return "true" if node.value else "false"
        if isinstance(node, NumberLiteral | StringLiteral):
            return _TYPE_WORDS[value_type]
        if isinstance(node, Call):
            return f"{node.name}() ({_TYPE_WORDS[value_type]})"
        return _TYPE_WORDS[value_type] if value_type == "bool" else f"{_TYPE_WORDS[value_type]} expression"

    def check(self, node: Node) -> ValueType | None:
        if isinstance(node, NumberLiteral):
            return "number"
        if isinstance(node, StringLiteral):
            return "str"
        if isinstance(node, BoolLiteral):
            return "bool"
        if isinstance(node, FeatureRef):
            return self.feature(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Not):
            self.expect_type(node.operand, "bool", "'not' needs a condition, not {what}")
            return "bool"
        if isinstance(node, Negate):
            self.expect_type(node.operand, "number", "cannot negate {what}; only numbers can be negated",
                             hint=_ARITHMETIC_HINT)
            return "number"
        if isinstance(node, Logical):
            for operand in node.operands:
                self.expect_type(operand, "bool", f"'{node.operator}' needs a condition on each side, not {{what}}")
            return "bool"
        if isinstance(node, Arithmetic):
            for operand in (node.left, node.right):
                self.expect_type(operand, "number", f"cannot use '{node.operator}' on {{what}}; arithmetic needs "
                                 "numbers", hint=_ARITHMETIC_HINT)
            return "number"
        if isinstance(node, Comparison):
            return self.comparison(node)
        if isinstance(node, InList):
            return self.in_list(node)
        self.check(node.operand)  # IsNull: any operand type
        return "bool"

    def expect_type(self, node: Node, wanted: ValueType, message: str, hint: str | None = None) -> None:
        found = self.check(node)
        if found is not None and found != wanted:
            what = self.describe(node, found)
            if wanted == "bool":
                hint = _make_condition_hint(node, found)
            self.problems.add(TYPE_MISMATCH, message.format(what=what), node.span, hint=hint)

    def feature(self, node: FeatureRef) -> ValueType | None:
        spec = self.catalog.features.get(node.name)
        if spec is not None:
            return _FEATURE_VALUE_TYPES[spec.type]
        hint = None
        if node.name in FUNCTIONS:
            hint = f"'{node.name}' is a function; call it, e.g. {FUNCTIONS[node.name].signature()}."
        self.problems.add(UNKNOWN_FEATURE, f"unknown feature '{node.name}'", node.span,
                          suggestion=did_you_mean(node.name, self.catalog.features), hint=hint)
        return None

    def comparison(self, node: Comparison) -> ValueType:
        left, right = self.check(node.left), self.check(node.right)
        if left is None or right is None:
            return "bool"
        if left != right:
            self.problems.add(TYPE_MISMATCH, f"cannot compare {self.describe(node.left, left)} with "
                              f"{self.describe(node.right, right)}", node.span, hint=_comparison_hint(node, left))
        elif left != "number" and node.operator not in ("==", "!="):
            self.problems.add(TYPE_MISMATCH, f"cannot use '{node.operator}' on {self.describe(node.left, left)}; "
                              "only numbers can be ordered", node.operator_span,
                              hint="Use == or != (or 'in (...)') for text and true/false values.")
        return "bool"

    def in_list(self, node: InList) -> ValueType:
        operand = self.check(node.operand)
        for item in node.items:
            if not isinstance(item, LITERAL_NODES):
                self.problems.add(IN_LIST, "values in an 'in' list must be written out, like \"ID\" or 3", item.span)
                continue
            item_type = self.check(item)
            if operand is not None and item_type != operand:
                assert item_type is not None
                self.problems.add(IN_LIST, f"the 'in' list for {self.describe(node.operand, operand)} holds "
                                  f"{_TYPE_WORDS[item_type]}: {_source(self.problems.text, item)}", item.span,
                                  hint=f"Every value in the list must be {_TYPE_WORDS[operand]}, like the "
                                       "value it is compared with.")
        return "bool"

    def call(self, node: Call) -> ValueType | None:
        function = FUNCTIONS.get(node.name)
        if function is None:
            hint = None
            if node.name in self.catalog.features:
                hint = f"'{node.name}' is a feature; write it without parentheses."
            self.problems.add(UNKNOWN_FUNCTION, f"unknown function '{node.name}'", node.name_span,
                              suggestion=did_you_mean(node.name, FUNCTIONS), hint=hint)
            for child in node.children():
                self.check(child)
            return None
        before = len(self.problems.problems)
        arguments, literals, complete = self.bind(function, node)
        if complete and function.check is not None:
            function.check(CallCheck(function, node, self.catalog, arguments, literals, self.problems))
        if len(self.problems.problems) == before:
            self.calls[node] = BoundCall(function, node, arguments, literals)
        return function.returns

    def bind(self, function: RuleFunction, node: Call) -> tuple[dict[str, Node], dict[str, ConstantValue], bool]:
        """Arguments by parameter name, literal values, and whether every literal parameter got a usable
        value (only then can the function's own checker run; other problems are reported regardless)."""
        usage = f"Call it as {function.signature()}."
        given: dict[str, Node] = {}
        for position, argument in enumerate(node.arguments):
            if position < len(function.parameters):
                given[function.parameters[position].name] = argument
                continue
            if position == len(function.parameters):
                count = len(function.parameters)
                self.problems.add(ARGUMENT_COUNT, f"{function.name}() takes {count} argument"
                                  f"{'' if count == 1 else 's'} but {len(node.arguments)} were given",
                                  argument.span, hint=usage)
            self.check(argument)
        for keyword in node.keywords:
            if function.parameter(keyword.name) is None:
                self.problems.add(UNKNOWN_ARGUMENT, f"{function.name}() has no parameter '{keyword.name}'",
                                  keyword.span, hint=usage,
                                  suggestion=did_you_mean(keyword.name, [p.name for p in function.parameters]))
                self.check(keyword.value)
            elif keyword.name in given:
                self.problems.add(ARGUMENT_COUNT, f"{function.name}() got '{keyword.name}' twice", keyword.span,
                                  hint=usage)
                self.check(keyword.value)
            else:
                given[keyword.name] = keyword.value
        literals: dict[str, ConstantValue] = {}
        complete = True
        for parameter in function.parameters:
            value = given.get(parameter.name)
            if value is None:
                if parameter.required:
                    self.problems.add(ARGUMENT_COUNT, f"{function.name}() needs the argument '{parameter.name}'",
                                      node.span, hint=usage)
                    complete = False
                elif parameter.literal:
                    literals[parameter.name] = parameter.default_value
            elif parameter.literal:
                complete = self.bind_literal(function, parameter.name, parameter.type, value, literals) and complete
            else:
                self.expect_type(value, parameter.type, f"argument '{parameter.name}' of {function.name}() must "
                                 f"be {_TYPE_WORDS[parameter.type]}, not {{what}}", hint=usage)
        return given, literals, complete

    def bind_literal(self, function: RuleFunction, name: str, wanted: ValueType, argument: Node,
                     literals: dict[str, ConstantValue]) -> bool:
        """Store a literal argument's value; False after reporting why it cannot be used."""
        if not isinstance(argument, LITERAL_NODES):
            self.check(argument)
            self.problems.add(ARGUMENT_NOT_LITERAL, f"argument '{name}' of {function.name}() must be written out "
                              "as a value, not computed", argument.span)
            return False
        found = self.check(argument)
        if found != wanted:
            assert found is not None
            self.problems.add(TYPE_MISMATCH, f"argument '{name}' of {function.name}() must be "
                              f"{_TYPE_WORDS[wanted]}, not {self.describe(argument, found)}", argument.span,
                              hint=f"Call it as {function.signature()}.")
            return False
        literals[name] = argument.value
        return True


def _source(text: str, node: Node) -> str:
    return text[node.span.start:node.span.end]

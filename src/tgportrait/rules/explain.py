"""The rule explainer: reads a ``CheckedRule``, writes the rule in plain English.

Features are named by their catalogue description ("Paid orders in the last 90 days." becomes
"paid orders in the last 90 days"), operators by words ("is at least", "divided by"), functions by
their registered explainer. Parentheses appear where the rule groups ``or`` inside ``and`` (or the
reverse) or where arithmetic needs them, so the sentence groups the way the rule does.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tgportrait.label.catalogue import FeatureSpec
from tgportrait.rules.functions import CallExplain
from tgportrait.rules.tree import (
    Arithmetic,
    BoolLiteral,
    Call,
    Comparison,
    FeatureRef,
    InList,
    IsNull,
    Logical,
    Negate,
    Node,
    Not,
    NumberLiteral,
    StringLiteral,
)

if TYPE_CHECKING:
    from tgportrait.rules.check import CheckedRule

_COMPARISON_WORDS = {"==": "is", "!=": "is not", "<": "is less than", "<=": "is at most", ">": "is more than",
                     ">=": "is at least"}
_NEGATED_COMPARISON_WORDS = {"==": "is not", "!=": "is", "<": "is not less than", "<=": "is not at most",
                             ">": "is not more than", ">=": "is not at least"}
_ARITHMETIC_WORDS = {"+": "plus", "-": "minus", "*": "times", "/": "divided by"}
_ARITHMETIC_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
_PARENTHETICAL = re.compile(r"\s*\([^)]*\)")


def explain_rule(rule: CheckedRule) -> str:
    """``rule`` in words, e.g. "paid orders in the last 90 days is at least 1"."""
    return _Explainer(rule).phrase(rule.tree)


def feature_phrase(spec: FeatureSpec) -> str:
    """A noun phrase for a feature: its description's first clause, or its name when that does not read."""
    first_sentence = spec.description.strip().split(". ")[0].rstrip(".")
    clause = _PARENTHETICAL.sub("", first_sentence).split(":")[0].strip()
    if not clause or not first_sentence[:1].isupper():
        return spec.name.replace("_", " ")
    if clause[1:2].isupper():  # an acronym such as "IANA time zone"
        return clause
    return clause[0].lower() + clause[1:]


def _quote(value: str) -> str:
    if "'" in value and '"' not in value:
        return f'"{value}"'
    return "'" + value.replace("'", "\\'") + "'"


def _alternatives(values: list[str], last: str) -> str:
    if len(values) == 1:
        return values[0]
    return ", ".join(values[:-1]) + f" {last} " + values[-1]


class _Explainer:
    def __init__(self, rule: CheckedRule) -> None:
        self.rule = rule

    def phrase(self, node: Node) -> str:
        if isinstance(node, NumberLiteral):
            return node.text
        if isinstance(node, StringLiteral):
            return _quote(node.value)
        if isinstance(node, BoolLiteral):
            return "true" if node.value else "false"
        if isinstance(node, FeatureRef):
            return feature_phrase(self.rule.feature_specs[node.name])
        if isinstance(node, Call):
            return self.call(node, negated=False)
        if isinstance(node, Not):
            return self.negated(node.operand)
        if isinstance(node, Negate):
            return f"minus {self.operand(node.operand, '-', right_side=True)}"
        if isinstance(node, Logical):
            return f" {node.operator} ".join(self.logical_part(operand, node.operator) for operand in node.operands)
        if isinstance(node, Comparison):
            return self.comparison(node, negated=False)
        if isinstance(node, Arithmetic):
            left = self.operand(node.left, node.operator, right_side=False)
            right = self.operand(node.right, node.operator, right_side=True)
            return f"{left} {_ARITHMETIC_WORDS[node.operator]} {right}"
        if isinstance(node, InList):
            return self.in_list(node, negated=False)
        return self.is_null(node, negated=False)

    def negated(self, node: Node) -> str:
        """Words for ``not node``, worded positively where English allows."""
        if isinstance(node, Not):
            return self.phrase(node.operand)
        if isinstance(node, Comparison):
            return self.comparison(node, negated=True)
        if isinstance(node, InList):
            return self.in_list(node, negated=True)
        if isinstance(node, IsNull):
            return self.is_null(node, negated=True)
        if isinstance(node, Call):
            return self.call(node, negated=True)
        if isinstance(node, BoolLiteral):
            return "false" if node.value else "true"
        if isinstance(node, FeatureRef):
            return f"it is not true that {self.phrase(node)}"
        return f"not ({self.phrase(node)})"

    def logical_part(self, node: Node, operator: str) -> str:
        text = self.phrase(node)
        if isinstance(node, Logical) and node.operator != operator:
            return f"({text})"
        return text

    def operand(self, node: Node, parent: str, *, right_side: bool) -> str:
        """An arithmetic operand, parenthesised unless the words can only group one way."""
        text = self.phrase(node)
        if isinstance(node, Arithmetic):
            own, parents = _ARITHMETIC_PRECEDENCE[node.operator], _ARITHMETIC_PRECEDENCE[parent]
            if own < parents or (own == parents and (right_side or node.operator != parent)):
                return f"({text})"
        elif isinstance(node, Logical | Comparison | InList | IsNull | Not | Call):
            return f"({text})"
        return text

    def comparison(self, node: Comparison, *, negated: bool) -> str:
        left, right = node.left, node.right
        if isinstance(left, FeatureRef) and isinstance(right, BoolLiteral):
            holds = (node.operator == "==") == right.value
            return self.phrase(left) if holds != negated else self.negated(left)
        words = (_NEGATED_COMPARISON_WORDS if negated else _COMPARISON_WORDS)[node.operator]
        right_text = self.phrase(right)
        if isinstance(left, FeatureRef) and isinstance(right, NumberLiteral):
            unit = self.rule.feature_specs[left.name].unit
            if unit == "USD":
                right_text += " USD"
        return f"{self.comparison_side(left)} {words} {right_text}"

    def comparison_side(self, node: Node) -> str:
        text = self.phrase(node)
        return f"({text})" if isinstance(node, Logical | Comparison | InList | IsNull | Not) else text

    def in_list(self, node: InList, *, negated: bool) -> str:
        values = [self.phrase(item) for item in node.items]
        if node.negated != negated:
            if len(values) == 1:
                words = f"is not {values[0]}"
            elif len(values) == 2:
                words = f"is neither {values[0]} nor {values[1]}"
            else:
                words = f"is none of {', '.join(values)}"
        else:
            words = f"is {_alternatives(values, 'or')}"
        return f"{self.comparison_side(node.operand)} {words}"

    def is_null(self, node: IsNull, *, negated: bool) -> str:
        known = node.negated != negated
        return f"{self.comparison_side(node.operand)} is {'known' if known else 'missing'}"

    def call(self, node: Call, *, negated: bool) -> str:
        bound = self.rule.calls[node]
        phrases = {name: f"({self.phrase(argument)})" if isinstance(argument, Arithmetic) else self.phrase(argument)
                   for name, argument in bound.arguments.items() if name not in bound.literals}
        if negated and bound.function.returns != "bool":
            return f"not ({bound.function.explain(CallExplain(bound, phrases))})"
        return bound.function.explain(CallExplain(bound, phrases, negated))

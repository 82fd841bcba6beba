"""The rule language: reads rule text and a catalogue, writes checked rules that compile to Ibis and explain.

A small, safe expression language for labels, screens, segments, triggers and offers, built as a
compiler (nothing is ever ``eval``-ed): ``tokens``/``parse`` (text -> tree with positions) ->
``check`` (against the ``RuleCatalog``; every problem at once) -> ``compile`` (to an Ibis expression)
-> ``explain`` (to words). Functions are listed in the ``FUNCTIONS`` registry (``functions``).

    rule = check_rule('orders_90d >= 1 and asked("new_product", days=90)', catalog)
    segment = tables.features.filter(rule.compile(tables))
    rule.explain()  # "paid orders in the last 90 days is at least 1 and asked about 'new_product' ..."
"""

from tgportrait.rules.check import CheckedRule, Expectation, check_rule, check_rules
from tgportrait.rules.context import RuleCatalog, RuleOrigin, RuleTables
from tgportrait.rules.functions import (
    FUNCTIONS,
    BoundCall,
    CallCheck,
    CallCompile,
    CallExplain,
    Parameter,
    RuleFunction,
    register_function,
)
from tgportrait.rules.parse import MAX_DEPTH, MAX_RULE_LENGTH, parse_rule
from tgportrait.rules.problems import PROBLEM_KINDS, RuleCheckError, RuleProblem

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_RULE_LENGTH",
    "PROBLEM_KINDS",
    "BoundCall",
    "CallCheck",
    "CallCompile",
    "CallExplain",
    "CheckedRule",
    "Expectation",
    "Parameter",
    "RuleCatalog",
    "RuleCheckError",
    "RuleFunction",
    "RuleOrigin",
    "RuleProblem",
    "RuleTables",
    "check_rule",
    "check_rules",
    "parse_rule",
    "register_function",
]

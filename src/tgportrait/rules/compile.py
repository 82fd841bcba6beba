"""The rule compiler: reads a ``CheckedRule`` and ``RuleTables``, writes an Ibis expression (nothing runs).

The expression is a column over the rows of ``tables.features``: a ``BooleanValue`` for conditions, a
``NumericValue`` for scores. Only portable Ibis operations are used (comparisons, ``isin`` on literal
lists and on subquery columns, ``fill_null``, ``nullif``, ``cases``, ``least``/``greatest``/``coalesce``), so the
same rule runs on DuckDB and on Spark.

Missing values: every comparison, ``in`` test and boolean feature or call is false when a value it
needs is missing, so conditions are never null and ``not`` is an exact complement (``not x > 3`` holds
for a person whose ``x`` is missing). Division by zero gives a missing value, not an error.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from tgportrait.rules.context import RuleTables
from tgportrait.rules.functions import CallCompile
from tgportrait.rules.problems import MISSING_COLUMN, MISSING_TABLE, ProblemList
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
    walk,
)

if TYPE_CHECKING:
    from tgportrait.rules.check import CheckedRule

_COMPARE: dict[str, Callable[[ir.Value, ir.Value], ir.Value]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_DTYPE_CHECKS: dict[str, Callable[[dt.DataType], bool]] = {
    "int": lambda dtype: dtype.is_integer(), "float": lambda dtype: dtype.is_numeric(),
    "str": lambda dtype: dtype.is_string(), "bool": lambda dtype: dtype.is_boolean()}


def compile_rule(rule: CheckedRule, tables: RuleTables) -> ir.Value:
    """The Ibis expression of a checked rule; raises ``RuleError`` if ``tables`` lack what it uses."""
    _check_tables(rule, tables)
    compiler = _Compiler(rule, tables)
    if rule.expect == "bool":
        return compiler.condition(rule.tree)
    return compiler.value(rule.tree)


def _check_tables(rule: CheckedRule, tables: RuleTables) -> None:
    problems = ProblemList(rule.text, rule.origin)
    schema = tables.features.schema()
    reported: set[str] = set()
    for node in walk(rule.tree):
        if isinstance(node, FeatureRef) and node.name not in reported:
            reported.add(node.name)
            expected = rule.feature_specs[node.name].type
            if node.name not in schema:
                problems.add(MISSING_COLUMN, f"the features table has no column '{node.name}'", node.span)
            elif not _DTYPE_CHECKS[expected](schema[node.name]):
                problems.add(MISSING_COLUMN, f"features column '{node.name}' is {schema[node.name]}, but the "
                             f"catalogue says {expected}", node.span)
        elif isinstance(node, Call):
            function = rule.calls[node].function
            given = {"labels": tables.labels, "events": tables.events}
            for needed in sorted(function.needs):
                if given[needed] is None:
                    problems.add(MISSING_TABLE, f"{node.name}() needs the {needed} table, but RuleTables has none",
                                 node.span)
            if function.needs and "person_id" not in schema:
                problems.add(MISSING_COLUMN, f"{node.name}() needs a 'person_id' column in the features table",
                             node.span)
    problems.raise_if_any()


def _balanced(values: list[ir.BooleanValue], combine: Callable[[ir.BooleanValue, ir.BooleanValue],
                                                                 ir.BooleanValue]) -> ir.BooleanValue:
    """Combine pairwise so a chain of n operands nests log2(n) deep, not n (deep SQL breaks engines)."""
    while len(values) > 1:
        paired = [combine(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)]
        if len(values) % 2:
            paired.append(values[-1])
        values = paired
    return values[0]


class _Compiler:
    def __init__(self, rule: CheckedRule, tables: RuleTables) -> None:
        self.rule = rule
        self.tables = tables

    def condition(self, node: Node) -> ir.BooleanValue:
        """``node`` as a boolean that is never null (a missing value makes it false)."""
        value = cast(ir.BooleanValue, self.value(node))
        if isinstance(node, FeatureRef):
            return value.fill_null(False)
        return value

    def number(self, node: Node) -> ir.NumericValue:
        return cast(ir.NumericValue, self.value(node))

    def value(self, node: Node) -> ir.Value:
        if isinstance(node, NumberLiteral):
            return ibis.literal(node.value, type="int64" if isinstance(node.value, int) else "float64")
        if isinstance(node, StringLiteral):
            return ibis.literal(node.value, type="string")
        if isinstance(node, BoolLiteral):
            return ibis.literal(node.value, type="boolean")
        if isinstance(node, FeatureRef):
            return self.tables.features[node.name]
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Not):
            return ~self.condition(node.operand)
        if isinstance(node, Negate):
            return -self.number(node.operand)
        if isinstance(node, Logical):
            operands = [self.condition(operand) for operand in node.operands]
            return _balanced(operands, operator.and_ if node.operator == "and" else operator.or_)
        if isinstance(node, Comparison):
            compared = _COMPARE[node.operator](self.value(node.left), self.value(node.right))
            return cast(ir.BooleanValue, compared).fill_null(False)
        if isinstance(node, Arithmetic):
            return self.arithmetic(node)
        if isinstance(node, InList):
            items = [self.value(item) for item in node.items]
            operand = self.value(node.operand)
            tested = operand.notin(items) if node.negated else operand.isin(items)
            return tested.fill_null(False)
        return self.is_null(node)

    def is_null(self, node: IsNull) -> ir.BooleanValue:
        operand = self.value(node.operand)
        return operand.notnull() if node.negated else operand.isnull()

    def arithmetic(self, node: Arithmetic) -> ir.NumericValue:
        left, right = self.number(node.left), self.number(node.right)
        if node.operator == "+":
            return left + right
        if node.operator == "-":
            return left - right
        if node.operator == "*":
            return left * right
        return left / right.nullif(0)

    def call(self, node: Call) -> ir.Value:
        bound = self.rule.calls[node]
        values = {name: self.value(argument) for name, argument in bound.arguments.items()
                  if name not in bound.literals}
        return bound.function.compile(CallCompile(bound, self.tables, values))

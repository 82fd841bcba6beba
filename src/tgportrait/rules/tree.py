"""The rule syntax tree: reads nothing, writes nothing; ``parse`` builds it, the later stages walk it.

Every node is a frozen dataclass that knows its place in the rule text (``span``: character offsets,
end exclusive), so the checker can point a caret at the exact words a problem is about. Nodes never
hold Python objects from the outside world: only names, literal values and child nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ComparisonOperator = Literal["==", "!=", "<", "<=", ">", ">="]
ArithmeticOperator = Literal["+", "-", "*", "/"]
LogicalOperator = Literal["and", "or"]


@dataclass(frozen=True)
class Span:
    """Characters ``start`` (inclusive) to ``end`` (exclusive) of the rule text."""

    start: int
    end: int

    def cover(self, other: Span) -> Span:
        return Span(min(self.start, other.start), max(self.end, other.end))


@dataclass(frozen=True)
class NumberLiteral:
    value: int | float
    text: str  # as written, without digit separators: "1000", "2.5"
    span: Span

    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True)
class StringLiteral:
    value: str
    span: Span

    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True)
class BoolLiteral:
    value: bool
    span: Span

    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True)
class FeatureRef:
    """A bare name: a column of the features table."""

    name: str
    span: Span

    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True)
class KeywordArgument:
    name: str
    value: Node
    span: Span  # the keyword itself, for "unknown argument" carets


@dataclass(frozen=True)
class Call:
    """``name(positional..., keyword=value...)``: a function from the registry."""

    name: str
    name_span: Span
    arguments: tuple[Node, ...]
    keywords: tuple[KeywordArgument, ...]
    span: Span

    def children(self) -> tuple[Node, ...]:
        return self.arguments + tuple(keyword.value for keyword in self.keywords)


@dataclass(frozen=True)
class Not:
    operand: Node
    span: Span

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Negate:
    """Unary minus on an expression (a minus sign before a number literal is folded into the literal)."""

    operand: Node
    span: Span

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Logical:
    """``a and b and c`` (or ``or``): one node for a whole chain of the same operator."""

    operator: LogicalOperator
    operands: tuple[Node, ...]
    span: Span

    def children(self) -> tuple[Node, ...]:
        return self.operands


@dataclass(frozen=True)
class Comparison:
    operator: ComparisonOperator
    left: Node
    right: Node
    operator_span: Span
    span: Span

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Arithmetic:
    operator: ArithmeticOperator
    left: Node
    right: Node
    operator_span: Span
    span: Span

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class InList:
    """``operand in (items...)`` or ``operand not in (items...)``."""

    operand: Node
    items: tuple[Node, ...]
    negated: bool
    span: Span

    def children(self) -> tuple[Node, ...]:
        return (self.operand, *self.items)


@dataclass(frozen=True)
class IsNull:
    """``operand is null`` or ``operand is not null``."""

    operand: Node
    negated: bool
    span: Span

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


Node = (NumberLiteral | StringLiteral | BoolLiteral | FeatureRef | Call | Not | Negate | Logical | Comparison
        | Arithmetic | InList | IsNull)
LiteralNode = NumberLiteral | StringLiteral | BoolLiteral
LITERAL_NODES = (NumberLiteral, StringLiteral, BoolLiteral)


def walk(root: Node) -> list[Node]:
    """Every node in source order (pre-order, left to right), without recursion."""
    ordered: list[Node] = []
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        ordered.append(node)
        stack.extend(reversed(node.children()))
    return ordered


def depth(root: Node) -> int:
    """How many levels the tree has (a lone literal is 1), computed without recursion."""
    deepest = 0
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in node.children())
    return deepest

"""The rule parser: reads rule text, writes a syntax tree (``tree.Node``) with a position on every node.

A hand-written Pratt parser over the tokens of ``tokens.tokenize`` (hand-written for precise carets
and hints). Keywords are case-insensitive; nothing is evaluated. The grammar, loosest first::

    rule       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := sum [("==" | "!=" | "<" | "<=" | ">" | ">=") sum
                       | ["not"] "in" "(" or_expr ("," or_expr)* [","] ")"
                       | "is" ["not"] "null"]                   # not chainable
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | primary
    primary    := NUMBER | STRING | "true" | "false" | "(" or_expr ")"
                | NAME | NAME "(" [arguments] ")"
    arguments  := or_expr ("," or_expr)* ("," NAME "=" or_expr)* [","] | NAME "=" or_expr ("," NAME "=" or_expr)* [","]
Rules longer than ``MAX_RULE_LENGTH`` characters or nested deeper than ``MAX_DEPTH`` levels are
refused before Python's own recursion limit could be reached. The first syntax error stops parsing;
lexical problems (bad characters, unterminated strings) are all reported together.
"""

from __future__ import annotations

from tgportrait.rules.context import RuleOrigin
from tgportrait.rules.problems import EMPTY, SYNTAX, TOO_DEEP, TOO_LONG, ProblemList
from tgportrait.rules.tokens import Token, tokenize
from tgportrait.rules.tree import (
    Arithmetic,
    ArithmeticOperator,
    BoolLiteral,
    Call,
    Comparison,
    ComparisonOperator,
    FeatureRef,
    InList,
    IsNull,
    KeywordArgument,
    Logical,
    LogicalOperator,
    Negate,
    Node,
    Not,
    NumberLiteral,
    Span,
    StringLiteral,
    depth,
)

MAX_RULE_LENGTH = 10_000
MAX_DEPTH = 48

_OR, _AND, _NOT_OPERAND, _COMPARISON, _SUM, _PRODUCT, _NEGATE_OPERAND = 10, 20, 30, 40, 50, 60, 70
_COMPARISON_OPERATORS: dict[str, ComparisonOperator] = {
    "==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_ARITHMETIC_OPERATORS: dict[str, ArithmeticOperator] = {"+": "+", "-": "-", "*": "*", "/": "/"}
_LOGICAL_OPERATORS: dict[str, LogicalOperator] = {"and": "and", "or": "or"}


class _SyntaxProblem(Exception):
    """Internal: the first syntax error, turned into a RuleProblem by ``parse_into``."""

    def __init__(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.span = span
        self.hint = hint


def parse_rule(text: str, origin: RuleOrigin | None = None) -> Node:
    """The syntax tree of ``text``; raises ``RuleError`` (a ``RuleCheckError``) when it does not parse."""
    problems = ProblemList(text, origin or RuleOrigin())
    tree = parse_into(text, problems)
    problems.raise_if_any()
    assert tree is not None
    return tree


def parse_into(text: str, problems: ProblemList) -> Node | None:
    """The syntax tree of ``text``, or None after adding the reasons to ``problems``."""
    if len(text) > MAX_RULE_LENGTH:
        problems.add(TOO_LONG, f"rule is {len(text):,} characters long; the limit is {MAX_RULE_LENGTH:,}",
                     Span(0, 0))
        return None
    tokens = tokenize(text, problems)
    if problems:
        return None
    if tokens[0].kind == "end":
        problems.add(EMPTY, "rule is empty", Span(0, len(text)))
        return None
    try:
        tree = _Parser(tokens).parse()
    except _SyntaxProblem as problem:
        problems.add(problem.code, problem.message, problem.span, hint=problem.hint)
        return None
    if depth(tree) > MAX_DEPTH:
        problems.add(TOO_DEEP, f"expression is nested more than {MAX_DEPTH} levels deep", tree.span)
        return None
    return tree


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.nesting = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def is_keyword(self, token: Token, *words: str) -> bool:
        return token.kind == "keyword" and token.value in words

    def parse(self) -> Node:
        tree = self.expression(0)
        token = self.peek()
        if token.kind != "end":
            raise _unexpected(token, "after a complete expression")
        return tree

    # Pratt loop ------------------------------------------------------------------------------------

    def expression(self, min_power: int) -> Node:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise _SyntaxProblem(TOO_DEEP, f"expression is nested more than {MAX_DEPTH} levels deep",
                                 self.peek().span)
        try:
            left = self.prefix()
            while True:
                power = self.infix_power()
                if power is None or power <= min_power:
                    return left
                left = self.infix(left, power)
        finally:
            self.nesting -= 1

    def infix_power(self) -> int | None:
        token = self.peek()
        if token.kind == "keyword":
            if token.value == "or":
                return _OR
            if token.value == "and":
                return _AND
            if token.value in ("in", "is") or (token.value == "not" and self.is_keyword(self.peek(1), "in")):
                return _COMPARISON
            return None
        if token.kind == "operator":
            if token.text in _COMPARISON_OPERATORS:
                return _COMPARISON
            return _SUM if token.text in "+-" else _PRODUCT
        return None

    def infix(self, left: Node, power: int) -> Node:
        token = self.peek()
        if power in (_OR, _AND):
            operator = _LOGICAL_OPERATORS[str(token.value)]
            operands = [left]
            while self.is_keyword(self.peek(), operator):
                self.advance()
                operands.append(self.expression(power))
            return Logical(operator, tuple(operands), left.span.cover(operands[-1].span))
        if power == _COMPARISON:
            node = self.comparison(left)
            following = self.peek()
            if self.infix_power() == _COMPARISON:
                raise _SyntaxProblem(SYNTAX, f"comparisons cannot be chained: unexpected {following.describe()}",
                                     following.span, hint="Join comparisons with 'and', e.g. 'a > 1 and a < 5'.")
            return node
        self.advance()
        right = self.expression(power)
        return Arithmetic(_ARITHMETIC_OPERATORS[token.text], left, right, token.span, left.span.cover(right.span))

    def comparison(self, left: Node) -> Node:
        token = self.advance()
        if token.kind == "operator":
            right = self.expression(_COMPARISON)
            return Comparison(_COMPARISON_OPERATORS[token.text], left, right, token.span, left.span.cover(right.span))
        if token.value == "is":
            negated = self.is_keyword(self.peek(), "not")
            if negated:
                self.advance()
            null = self.peek()
            if not self.is_keyword(null, "null"):
                raise _SyntaxProblem(SYNTAX, f"expected 'null' after 'is{' not' if negated else ''}', found "
                                     f"{null.describe()}", null.span,
                                     hint="Write 'x is null' or 'x is not null'; compare values with '=='.")
            self.advance()
            return IsNull(left, negated, left.span.cover(null.span))
        negated = token.value == "not"
        if negated:
            self.advance()  # the 'in' after 'not'
        return self.in_list(left, negated)

    def in_list(self, left: Node, negated: bool) -> Node:
        opening = self.peek()
        if opening.kind != "(":
            raise _SyntaxProblem(SYNTAX, f"expected '(' after 'in', found {opening.describe()}", opening.span,
                                 hint="Write the values in parentheses, e.g. region in (\"ID\", \"MY\").")
        self.advance()
        items: list[Node] = []
        while self.peek().kind != ")":
            items.append(self.expression(0))
            if not self.separator(opening, "the 'in' list"):
                break
        closing = self.advance()
        if not items:
            raise _SyntaxProblem(SYNTAX, "'in' needs at least one value", opening.span.cover(closing.span),
                                 hint="List the values, e.g. region in (\"ID\", \"MY\").")
        return InList(left, tuple(items), negated, left.span.cover(closing.span))

    def separator(self, opening: Token, inside: str) -> bool:
        """After an item in parentheses: True if a comma follows (more may come), False at ')'."""
        token = self.peek()
        if token.kind == ",":
            self.advance()
            return True
        if token.kind == ")":
            return False
        if token.kind == "end":
            raise _SyntaxProblem(SYNTAX, "'(' is never closed", opening.span,
                                 hint=f"Add ')' to close {inside}.")
        raise _unexpected(token, f"in {inside} (expected ',' or ')')")

    # prefix positions ------------------------------------------------------------------------------

    def prefix(self) -> Node:
        token = self.advance()
        if token.kind == "number":
            assert isinstance(token.value, int | float)
            return NumberLiteral(token.value, token.text, token.span)
        if token.kind == "string":
            return StringLiteral(str(token.value), token.span)
        if token.kind == "name":
            if self.peek().kind == "(":
                return self.call(token)
            return FeatureRef(token.text, token.span)
        if token.kind == "(":
            inner = self.expression(0)
            closing = self.peek()
            if closing.kind == "end":
                raise _SyntaxProblem(SYNTAX, "'(' is never closed", token.span, hint="Add the missing ')'.")
            if closing.kind != ")":
                raise _unexpected(closing, "(expected ')')")
            self.advance()
            return inner
        if token.kind == "keyword":
            if token.value in ("true", "false"):
                return BoolLiteral(token.value == "true", token.span)
            if token.value == "not":
                operand = self.expression(_NOT_OPERAND)
                return Not(operand, token.span.cover(operand.span))
            if token.value == "null":
                raise _SyntaxProblem(SYNTAX, "'null' can only be used in 'is null' or 'is not null'", token.span,
                                     hint="Test for a missing value with 'x is null'.")
        if token.kind == "operator" and token.text == "-":
            operand = self.expression(_NEGATE_OPERAND)
            span = token.span.cover(operand.span)
            if isinstance(operand, NumberLiteral) and not operand.text.startswith("-"):
                return NumberLiteral(-operand.value, "-" + operand.text, span)
            return Negate(operand, span)
        raise _unexpected(token, "where a value was expected")

    def call(self, name: Token) -> Call:
        opening = self.advance()
        arguments: list[Node] = []
        keywords: list[KeywordArgument] = []
        while self.peek().kind != ")":
            token = self.peek()
            if token.kind == "name" and self.peek(1).kind == "=":
                self.advance()
                self.advance()
                keywords.append(KeywordArgument(token.text, self.expression(0), token.span))
            else:
                argument = self.expression(0)
                if keywords:
                    raise _SyntaxProblem(SYNTAX, "positional argument after a keyword argument", argument.span,
                                         hint=f"Put positional arguments first, e.g. {name.text}(\"x\", days=30).")
                arguments.append(argument)
            if not self.separator(opening, f"the call to {name.text}()"):
                break
        closing = self.advance()
        return Call(name.text, name.span, tuple(arguments), tuple(keywords), name.span.cover(closing.span))


def _unexpected(token: Token, where: str) -> _SyntaxProblem:
    hint = None
    if token.kind == "=":
        hint = "Use '==' to compare; '=' only names a function argument, e.g. days=30."
    elif token.kind in ("name", "number", "string", "(") and "complete" in where:
        hint = "Join conditions with 'and' or 'or'."
    elif token.kind == ")":
        hint = "This ')' closes nothing; remove it or add the missing '('."
    elif token.kind == "end":
        hint = "The rule stops in the middle of an expression; finish it, e.g. 'orders_90d >= 1'."
    elif token.kind == "keyword" and token.value in ("and", "or"):
        hint = f"Put a condition on both sides of '{token.text}'."
    elif token.kind == "keyword" and token.value == "not":
        hint = "Put 'not' before a condition ('not x > 1') or use 'not in'."
    return _SyntaxProblem(SYNTAX, f"unexpected {token.describe()} {where}", token.span, hint=hint)

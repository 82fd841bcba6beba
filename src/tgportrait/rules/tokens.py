"""The rule lexer: reads rule text, writes a list of tokens (with positions) and lexical problems.

Only ASCII names, numbers (``1``, ``2.5``, ``1_000``), quoted strings with escapes, ``# comments``,
parentheses, commas, ``=`` and the operators ``== != < <= > >= + - * /`` exist. Anything else, such
as ``.``, ``;``, backticks or ``f"..."``, is reported with a hint instead of being guessed at.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from tgportrait.rules.problems import BAD_TOKEN, ProblemList
from tgportrait.rules.tree import Span

TokenKind = Literal["name", "keyword", "number", "string", "operator", "(", ")", ",", "=", "end"]

KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false"})
OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/")
MAX_LEXICAL_PROBLEMS = 20
_LARGEST_INTEGER = 2**63 - 1

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9]+(?:_[0-9]+)*(?:\.[0-9]+(?:_[0-9]+)*)?")
_NUMBER_TAIL = re.compile(r"[A-Za-z0-9_.]+")
_PUNCTUATION: dict[str, TokenKind] = {"(": "(", ")": ")", ",": ",", "=": "="}
_WHITESPACE = " \t\r\n"
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}
_WRONG_OPERATORS = {
    "=>": "Write '>=' for 'at least'.",
    "=<": "Write '<=' for 'at most'.",
    "<>": "Write '!=' for 'is not equal to'.",
}
_CHARACTER_HINTS = {
    "&": "Use 'and' to join conditions.",
    "|": "Use 'or' to join conditions.",
    "!": "Use 'not' to negate a condition ('!=' means 'is not equal to').",
    ".": "Rules have no attributes or methods; write decimals with a leading digit, e.g. 0.5.",
    "`": "Quote text with '...' or \"...\".",
    ";": "A rule is a single expression; join conditions with 'and' or 'or'.",
    "[": "Write lists in parentheses, e.g. region in (\"ID\", \"MY\").",
    "]": "Write lists in parentheses, e.g. region in (\"ID\", \"MY\").",
    "{": "Write lists in parentheses, e.g. region in (\"ID\", \"MY\").",
    "}": "Write lists in parentheses, e.g. region in (\"ID\", \"MY\").",
}


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str  # the source characters ("AND", "1_000", "'a\\n'")
    span: Span
    value: int | float | str | None = None  # numbers, unescaped strings, lower-cased keywords

    def describe(self) -> str:
        """How an error message names this token: "'='", "end of rule", "name 'foo'"."""
        if self.kind == "end":
            return "end of rule"
        if self.kind == "name":
            return f"name '{self.text}'"
        if self.kind == "number":
            return f"number {self.text}"
        if self.kind == "string":
            return f"string {self.text}"
        return f"'{self.text}'"


def tokenize(text: str, problems: ProblemList) -> list[Token]:
    """All tokens of ``text`` ending with an ``end`` token; bad characters are added to ``problems``."""
    tokens: list[Token] = []
    position = 0
    length = len(text)
    while position < length and len(problems.problems) < MAX_LEXICAL_PROBLEMS:
        char = text[position]
        if char in _WHITESPACE:
            position += 1
        elif char == "#":
            newline = text.find("\n", position)
            position = length if newline == -1 else newline
        elif char in "\"'":
            position = _read_string(text, position, tokens, problems)
        elif (match := _NAME.match(text, position)) is not None:
            word = match.group()
            span = Span(position, match.end())
            if word.lower() in KEYWORDS:
                tokens.append(Token("keyword", word, span, word.lower()))
            else:
                tokens.append(Token("name", word, span))
            if word.lower() not in KEYWORDS and match.end() < length and text[match.end()] in "\"'":
                problems.add(BAD_TOKEN, f"string prefixes like {word}\"...\" are not supported",
                             Span(position, match.end() + 1),
                             hint="Rules have no f-strings or raw strings; write plain text in quotes.")
            position = match.end()
        elif (match := _NUMBER.match(text, position)) is not None:
            position = _read_number(text, match, tokens, problems)
        elif (wrong := text[position:position + 2]) in _WRONG_OPERATORS:
            problems.add(BAD_TOKEN, f"'{wrong}' is not an operator", Span(position, position + 2),
                         hint=_WRONG_OPERATORS[wrong])
            position += 2
        elif (operator := _operator_at(text, position)) is not None:
            tokens.append(Token("operator", operator, Span(position, position + len(operator))))
            position += len(operator)
        elif char in _PUNCTUATION:
            tokens.append(Token(_PUNCTUATION[char], char, Span(position, position + 1)))
            position += 1
        else:
            run_end = position + 1
            if char in "&|":
                while run_end < length and text[run_end] == char:
                    run_end += 1
            problems.add(BAD_TOKEN, f"unexpected character {_show_character(text[position:run_end])}",
                         Span(position, run_end), hint=_CHARACTER_HINTS.get(char))
            position = run_end
    tokens.append(Token("end", "", Span(length, length)))
    return tokens


def _operator_at(text: str, position: int) -> str | None:
    for operator in OPERATORS:
        if text.startswith(operator, position):
            return operator
    return None


def _show_character(chars: str) -> str:
    if chars.isascii() and chars.isprintable():
        return f"'{chars}'"
    return f"{chars!r} (U+{ord(chars[0]):04X})"


def _read_number(text: str, match: re.Match[str], tokens: list[Token], problems: ProblemList) -> int:
    start, end = match.span()
    tail = _NUMBER_TAIL.match(text, end)
    if tail is not None:
        bad_end = tail.end()
        problems.add(BAD_TOKEN, f"invalid number '{text[start:bad_end]}'", Span(start, bad_end),
                     hint="Numbers are digits with an optional decimal part and '_' between digit groups "
                          "(1_000, 2.5); names start with a letter.")
        return bad_end
    written = match.group().replace("_", "")
    value: int | float = float(written) if "." in written else int(written)
    if (isinstance(value, int) and value > _LARGEST_INTEGER) or (isinstance(value, float) and not math.isfinite(value)):
        problems.add(BAD_TOKEN, f"number {match.group()} is too large", Span(start, end),
                     hint=f"Use a number below {_LARGEST_INTEGER:_}.")
    tokens.append(Token("number", written, Span(start, end), value))
    return end


def _read_string(text: str, start: int, tokens: list[Token], problems: ProblemList) -> int:
    quote = text[start]
    chars: list[str] = []
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == quote:
            tokens.append(Token("string", text[start:position + 1], Span(start, position + 1), "".join(chars)))
            return position + 1
        if char == "\n":
            break
        if char == "\\":
            escape = text[position + 1:position + 2]
            if escape in _ESCAPES:
                chars.append(_ESCAPES[escape])
                position += 2
                continue
            if escape == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", text[position + 2:position + 6]):
                chars.append(chr(int(text[position + 2:position + 6], 16)))
                position += 6
                continue
            problems.add(BAD_TOKEN, f"unknown escape '\\{escape}' in a string", Span(position, position + 2),
                         hint="Known escapes: \\\\ \\' \\\" \\n \\t \\r \\uXXXX.")
            position += 2
            continue
        chars.append(char)
        position += 1
    problems.add(BAD_TOKEN, "unterminated string", Span(start, position),
                 hint=f"Close the string with {quote} on the same line.")
    return position

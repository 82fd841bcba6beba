"""Rule problems and how they are shown: reads problems found by parse/check/compile, writes a RuleError.

Each kind of problem has a stable code (the table ``PROBLEM_KINDS``; docs list it). One
``RuleCheckError`` carries every problem found, each rendered as ``file:line:col: message``, the
source line with a caret under the words concerned, and a "did you mean" suggestion when there is one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NoReturn

from tgportrait.errors import RuleError
from tgportrait.rules.context import RuleOrigin
from tgportrait.rules.tree import Span


@dataclass(frozen=True)
class ProblemKind:
    code: str
    title: str
    hint: str


_KINDS = (
    ProblemKind("TGP-R001", "syntax error",
                "Check the rule's syntax: conditions joined by 'and'/'or', comparisons like 'orders_90d >= 1', "
                "calls like asked(\"price\", days=30)."),
    ProblemKind("TGP-R002", "invalid character or literal",
                "Only names, numbers, quoted strings, parentheses, commas and the operators "
                "== != < <= > >= + - * / are allowed."),
    ProblemKind("TGP-R003", "rule too long", "Split the rule into smaller rules or labels and refer to them."),
    ProblemKind("TGP-R004", "nesting too deep", "Flatten the expression: remove redundant parentheses or 'not's."),
    ProblemKind("TGP-R005", "empty rule", "Write a condition, e.g. 'orders_90d >= 1'."),
    ProblemKind("TGP-R012", "unknown feature", "Use a feature name from the catalogue (docs/features.md lists them)."),
    ProblemKind("TGP-R013", "unknown function",
                "Use a rule function: has_label, asked, clicked, joined, min, max, abs or coalesce."),
    ProblemKind("TGP-R014", "unknown label", "Use a label id or alias defined in the taxonomy."),
    ProblemKind("TGP-R015", "unknown intent", "Use an intent the classifier knows (the lexicon lists them)."),
    ProblemKind("TGP-R016", "unknown argument", "Use only the parameters the function takes."),
    ProblemKind("TGP-R017", "wrong number of arguments",
                "Give each parameter once, positional arguments first, then name=value."),
    ProblemKind("TGP-R018", "argument must be a literal",
                "Write this argument out as a value, e.g. days=30 or \"new_product\"."),
    ProblemKind("TGP-R019", "invalid argument value", "Give a value in the allowed range."),
    ProblemKind("TGP-R020", "type mismatch",
                "Compare numbers with numbers, text with quoted text and true/false values with true or false."),
    ProblemKind("TGP-R021", "wrong result type",
                "A condition must be true/false (e.g. 'orders_90d >= 1'); a score must be a number."),
    ProblemKind("TGP-R022", "invalid 'in' list",
                "List written-out values of the feature's type, e.g. region in (\"ID\", \"MY\")."),
    ProblemKind("TGP-R030", "table missing at compile time",
                "Pass the labels/events table in RuleTables, or build that table before this rule runs."),
    ProblemKind("TGP-R031", "feature column missing at compile time",
                "Compute the features table with the same catalogue the rule was checked against."),
)
PROBLEM_KINDS: dict[str, ProblemKind] = {kind.code: kind for kind in _KINDS}

SYNTAX = "TGP-R001"
BAD_TOKEN = "TGP-R002"
TOO_LONG = "TGP-R003"
TOO_DEEP = "TGP-R004"
EMPTY = "TGP-R005"
UNKNOWN_FEATURE = "TGP-R012"
UNKNOWN_FUNCTION = "TGP-R013"
UNKNOWN_LABEL = "TGP-R014"
UNKNOWN_INTENT = "TGP-R015"
UNKNOWN_ARGUMENT = "TGP-R016"
ARGUMENT_COUNT = "TGP-R017"
ARGUMENT_NOT_LITERAL = "TGP-R018"
ARGUMENT_VALUE = "TGP-R019"
TYPE_MISMATCH = "TGP-R020"
RESULT_TYPE = "TGP-R021"
IN_LIST = "TGP-R022"
MISSING_TABLE = "TGP-R030"
MISSING_COLUMN = "TGP-R031"

_EXCERPT_WIDTH = 100
MAX_RENDERED_PROBLEMS = 50  # all are kept in RuleCheckError.problems; the message shows this many


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """``did you mean 'x'?`` for the closest candidate, or None when nothing is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


@dataclass(frozen=True)
class RuleProblem:
    """One problem in one rule: what, where (offsets into ``text``) and what to do."""

    code: str
    message: str
    text: str
    origin: RuleOrigin
    start: int
    end: int
    suggestion: str | None = None
    hint: str | None = None

    @property
    def location(self) -> str:
        return self.origin.where(self.text, self.start)

    @property
    def line(self) -> int:
        return self.origin.position(self.text, self.start)[0]

    @property
    def column(self) -> int:
        return self.origin.position(self.text, self.start)[1]

    @property
    def what_to_do(self) -> str:
        return self.hint or PROBLEM_KINDS[self.code].hint

    def source_excerpt(self) -> tuple[str, str]:
        """The source line holding the problem (cut to a window when long) and the caret line under it."""
        start = max(0, min(self.start, len(self.text)))
        line_start = self.text.rfind("\n", 0, start) + 1
        line_end = self.text.find("\n", start)
        if line_end == -1:
            line_end = len(self.text)
        source = self.text[line_start:line_end]
        caret_at = start - line_start
        width = max(1, min(self.end, line_end) - start)
        prefix = ""
        if len(source) > _EXCERPT_WIDTH:
            window_start = max(0, caret_at - _EXCERPT_WIDTH // 2)
            cut = source[window_start:window_start + _EXCERPT_WIDTH]
            prefix = "..." if window_start > 0 else ""
            suffix = "..." if window_start + _EXCERPT_WIDTH < len(source) else ""
            source = prefix + cut + suffix
            caret_at = caret_at - window_start
            width = min(width, _EXCERPT_WIDTH - caret_at)
        source = source.replace("\t", " ")
        return source, " " * (len(prefix) + caret_at) + "^" * max(1, width)

    def render(self, *, with_code: bool = False) -> str:
        head = f"{self.location}: {self.message}"
        if with_code:
            head += f" [{self.code}]"
        source, carets = self.source_excerpt()
        lines = [head, f"    {source}", f"    {carets}"]
        if self.suggestion:
            lines.append(f"  {self.suggestion}")
        return "\n".join(lines)


class RuleCheckError(RuleError):
    """One or more rules have problems; ``problems`` lists every one, in source order."""

    def __init__(self, problems: Sequence[RuleProblem]) -> None:
        if not problems:
            raise ValueError("RuleCheckError needs at least one problem")
        self.problems = tuple(problems)
        if len(self.problems) == 1:
            message = self.problems[0].render()
        else:
            blocks = [problem.render(with_code=True) for problem in self.problems[:MAX_RENDERED_PROBLEMS]]
            if len(self.problems) > MAX_RENDERED_PROBLEMS:
                blocks.append(f"... and {len(self.problems) - MAX_RENDERED_PROBLEMS} more problems")
            files = {problem.origin.file for problem in self.problems}
            where = f" in {next(iter(files))}" if len(files) == 1 and None not in files else ""
            message = f"{len(self.problems)} problems{where}:\n" + "\n".join(blocks)
        hints = list(dict.fromkeys(problem.what_to_do for problem in self.problems))
        super().__init__(message, hint="\n      ".join(hints), code=self.problems[0].code)


class ProblemList:
    """Collects the problems of one rule's text as the stages find them."""

    def __init__(self, text: str, origin: RuleOrigin) -> None:
        self.text = text
        self.origin = origin
        self.problems: list[RuleProblem] = []

    def add(self, code: str, message: str, span: Span, *, suggestion: str | None = None,
            hint: str | None = None) -> None:
        self.problems.append(RuleProblem(code, message, self.text, self.origin, span.start, span.end,
                                         suggestion, hint))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise_problems(self.problems)


def raise_problems(problems: Sequence[RuleProblem]) -> NoReturn:
    raise RuleCheckError(problems)

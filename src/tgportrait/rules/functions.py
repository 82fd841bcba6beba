"""The rule function registry: reads nothing, writes ``FUNCTIONS`` (name -> ``RuleFunction``).

Each function declares its parameters (type, default, whether the value must be written out as a
literal), its result type, and three parts: an optional checker (validates and resolves literal
arguments against the catalogue, e.g. a label alias to its id), a compiler (to an Ibis expression
over the features table's rows) and an explainer (to words). The built-ins register themselves
through ``register_function`` exactly as a plugin would.

Event functions count rows of the events table inside a window ``now - days .. now`` and use only
``isin`` on ``person_id`` (an IN-subquery semi-join), so they compile on DuckDB and Spark alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final, Literal

import ibis
import ibis.expr.types as ir

from tgportrait.rules.context import RuleCatalog, RuleTables
from tgportrait.rules.problems import ARGUMENT_VALUE, UNKNOWN_INTENT, UNKNOWN_LABEL, ProblemList, did_you_mean
from tgportrait.rules.tree import Call, Node

ValueType = Literal["number", "str", "bool"]
ConstantValue = str | int | float | bool | None
TableName = Literal["labels", "events"]
MAX_DAYS = 3650


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()


@dataclass(frozen=True)
class Parameter:
    """One parameter: ``literal`` parameters must be written out (ids, intents, windows), not computed."""

    name: str
    type: ValueType
    default: ConstantValue | _Required = REQUIRED
    literal: bool = False
    description: str = ""

    @property
    def required(self) -> bool:
        return isinstance(self.default, _Required)

    @property
    def default_value(self) -> ConstantValue:
        if isinstance(self.default, _Required):
            raise ValueError(f"parameter {self.name!r} has no default")
        return self.default


@dataclass(frozen=True)
class BoundCall:
    """A checked call: its arguments by parameter name and the (resolved) literal values."""

    function: RuleFunction
    node: Call
    arguments: Mapping[str, Node]
    literals: Mapping[str, ConstantValue]


@dataclass
class CallCheck:
    """What a function's checker sees; it may rewrite ``literals`` (e.g. alias -> label id)."""

    function: RuleFunction
    node: Call
    catalog: RuleCatalog
    arguments: dict[str, Node]
    literals: dict[str, ConstantValue]
    problems: ProblemList

    def report(self, code: str, message: str, parameter: str | None = None, *, suggestion: str | None = None,
               hint: str | None = None) -> None:
        """Add a problem pointing at ``parameter``'s argument (or at the whole call)."""
        argument = self.arguments.get(parameter or "")
        span = argument.span if argument is not None else self.node.span
        self.problems.add(code, message, span, suggestion=suggestion, hint=hint)


@dataclass(frozen=True)
class CallCompile:
    """What a function's compiler sees: compiled expression arguments and the tables."""

    call: BoundCall
    tables: RuleTables
    values: Mapping[str, ir.Value]

    def literal(self, name: str) -> ConstantValue:
        return self.call.literals[name]

    def person_in(self, rows: ir.Table) -> ir.BooleanValue:
        """True for the feature rows whose person appears in ``rows`` (a semi-join via IN-subquery)."""
        return self.tables.features.person_id.isin(rows.person_id)

    def recent_events(self, types: tuple[str, ...]) -> ir.Table:
        """Events of ``types`` in the last ``days`` days up to ``now`` (``campaign`` matched when given)."""
        events = self.tables.events
        assert events is not None, "compile.py checks RuleFunction.needs first"
        days = self.literal("days")
        assert isinstance(days, int)
        since = self.tables.now - timedelta(days=days)
        rows = events.filter(events.type.isin(list(types)), events.occurred_at >= ibis.literal(since),
                             events.occurred_at <= ibis.literal(self.tables.now))
        campaign = self.call.literals.get("campaign")
        if campaign is not None:
            rows = rows.filter(rows.campaign == ibis.literal(str(campaign)))
        return rows


@dataclass(frozen=True)
class CallExplain:
    """What a function's explainer sees: words for each expression argument, and whether 'not' applies."""

    call: BoundCall
    phrases: Mapping[str, str]
    negated: bool = False

    def literal(self, name: str) -> ConstantValue:
        return self.call.literals[name]


@dataclass(frozen=True)
class RuleFunction:
    """A function rules can call.

    A boolean function's compiler must return a value that is never null (``CallCompile.person_in``
    is not), and its explainer must honour ``CallExplain.negated`` ("did not ask ...").
    """

    name: str
    parameters: tuple[Parameter, ...]
    returns: ValueType
    description: str
    compile: Callable[[CallCompile], ir.Value]
    explain: Callable[[CallExplain], str]
    check: Callable[[CallCheck], None] | None = None
    needs: frozenset[TableName] = field(default_factory=frozenset)

    def parameter(self, name: str) -> Parameter | None:
        return next((parameter for parameter in self.parameters if parameter.name == name), None)

    def signature(self) -> str:
        parts = [p.name if p.required else f"{p.name}={p.default!r}" for p in self.parameters]
        return f"{self.name}({', '.join(parts)})".replace("'", '"')


FUNCTIONS: dict[str, RuleFunction] = {}


def register_function(function: RuleFunction, *, replace: bool = False) -> RuleFunction:
    """Add ``function`` to ``FUNCTIONS`` (the same table the built-ins use)."""
    if not function.name.isidentifier() or not function.name.isascii():
        raise ValueError(f"rule function name {function.name!r} is not a plain ASCII name")
    if function.name in FUNCTIONS and not replace:
        raise ValueError(f"rule function {function.name!r} is already registered (pass replace=True)")
    FUNCTIONS[function.name] = function
    return function


# shared pieces -------------------------------------------------------------------------------------

def in_the_last(days: ConstantValue) -> str:
    return "in the last day" if days == 1 else f"in the last {days} days"


def check_days(call: CallCheck) -> None:
    days = call.literals.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        call.report(ARGUMENT_VALUE, f"days must be a whole number from 1 to {MAX_DAYS}, not {days}", "days",
                    hint="Give the window in whole days, e.g. days=30.")


def _days_parameter(default: int) -> Parameter:
    return Parameter("days", "number", default, literal=True, description="window in days, counted back from now")


_CAMPAIGN = Parameter("campaign", "str", None, literal=True, description="only this campaign (any when omitted)")


# has_label -----------------------------------------------------------------------------------------

def _check_has_label(call: CallCheck) -> None:
    written = str(call.literals["label"])
    label_id = call.catalog.resolve_label(written)
    if label_id is None:
        known = [*call.catalog.labels, *call.catalog.label_aliases]
        hint = None if known else "No labels are defined: check rules against a catalogue built from the taxonomy."
        call.report(UNKNOWN_LABEL, f"unknown label '{written}'", "label",
                    suggestion=did_you_mean(written, known), hint=hint)
        return
    call.literals["label"] = label_id
    call.literals["label_name"] = call.catalog.labels.get(label_id) or label_id


def _compile_has_label(call: CallCompile) -> ir.Value:
    labels = call.tables.labels
    assert labels is not None, "compile.py checks RuleFunction.needs first"
    return call.person_in(labels.filter(labels.label_id == ibis.literal(str(call.literal("label")))))


def _explain_has_label(call: CallExplain) -> str:
    name = call.call.literals.get("label_name") or call.literal("label")
    return f"{'does not have' if call.negated else 'has'} the label '{name}'"


# asked / clicked / joined ------------------------------------------------------------------------

def _check_asked(call: CallCheck) -> None:
    check_days(call)
    intent = str(call.literals["intent"])
    intents = call.catalog.intents
    if intents and intent not in intents:
        call.report(UNKNOWN_INTENT, f"unknown intent '{intent}'", "intent",
                    suggestion=did_you_mean(intent, sorted(intents)))


def _compile_asked(call: CallCompile) -> ir.Value:
    rows = call.recent_events(("message",))
    return call.person_in(rows.filter(rows.intent == ibis.literal(str(call.literal("intent")))))


def _explain_asked(call: CallExplain) -> str:
    verb = "did not ask" if call.negated else "asked"
    return f"{verb} about '{call.literal('intent')}' {in_the_last(call.literal('days'))}"


def _compile_clicked(call: CallCompile) -> ir.Value:
    return call.person_in(call.recent_events(("link_click", "button_click")))


def _explain_clicked(call: CallExplain) -> str:
    verb = "did not click" if call.negated else "clicked"
    campaign = call.literal("campaign")
    of_campaign = f" of campaign '{campaign}'" if campaign is not None else ""
    return f"{verb} a tracked link or button{of_campaign} {in_the_last(call.literal('days'))}"


def _compile_joined(call: CallCompile) -> ir.Value:
    return call.person_in(call.recent_events(("join",)))


def _explain_joined(call: CallExplain) -> str:
    verb = "did not join" if call.negated else "joined"
    campaign = call.literal("campaign")
    through = f" through campaign '{campaign}'" if campaign is not None else ""
    return f"{verb} a chat{through} {in_the_last(call.literal('days'))}"


# numeric -------------------------------------------------------------------------------------------

def _number(name: str, description: str = "") -> Parameter:
    return Parameter(name, "number", description=description)


def _numeric(value: ir.Value) -> ir.NumericValue:
    assert isinstance(value, ir.NumericValue)
    return value


def _when_both_known(call: CallCompile, value: ir.Value) -> ir.Value:
    """``value``, or missing when ``a`` or ``b`` is: engines differ on LEAST/GREATEST with nulls, we don't."""
    a, b = call.values["a"], call.values["b"]
    return ibis.cases((a.isnull() | b.isnull(), ibis.null(value.type())), else_=value)


register_function(RuleFunction(
    "has_label", (Parameter("label", "str", literal=True, description="label id or alias"),), "bool",
    "The person has this label (by id or alias).",
    _compile_has_label, _explain_has_label, _check_has_label, frozenset({"labels"})))
register_function(RuleFunction(
    "asked", (Parameter("intent", "str", literal=True, description="message intent"), _days_parameter(90)), "bool",
    "The person wrote a message with this intent in the window.",
    _compile_asked, _explain_asked, _check_asked, frozenset({"events"})))
register_function(RuleFunction(
    "clicked", (_CAMPAIGN, _days_parameter(90)), "bool",
    "The person clicked a tracked link or inline button in the window (of the campaign, when given).",
    _compile_clicked, _explain_clicked, check_days, frozenset({"events"})))
register_function(RuleFunction(
    "joined", (_CAMPAIGN, _days_parameter(30)), "bool",
    "The person joined a chat in the window (through the campaign, when given).",
    _compile_joined, _explain_joined, check_days, frozenset({"events"})))
register_function(RuleFunction(
    "min", (_number("a"), _number("b")), "number", "The smaller of two numbers (missing if either is).",
    lambda call: _when_both_known(call, ibis.least(call.values["a"], call.values["b"])),
    lambda call: f"the smaller of {call.phrases['a']} and {call.phrases['b']}"))
register_function(RuleFunction(
    "max", (_number("a"), _number("b")), "number", "The larger of two numbers (missing if either is).",
    lambda call: _when_both_known(call, ibis.greatest(call.values["a"], call.values["b"])),
    lambda call: f"the larger of {call.phrases['a']} and {call.phrases['b']}"))
register_function(RuleFunction(
    "abs", (_number("x"),), "number", "The absolute value of a number.",
    lambda call: _numeric(call.values["x"]).abs(),
    lambda call: f"the absolute value of {call.phrases['x']}"))
register_function(RuleFunction(
    "coalesce", (_number("x"), _number("default", "used when x is missing")), "number",
    "x, or the default when x is missing.",
    lambda call: ibis.coalesce(call.values["x"], call.values["default"]),
    lambda call: f"{call.phrases['x']} (or {call.phrases['default']} when missing)"))

"""What a rule is checked against and compiled over: reads nothing, writes nothing.

``RuleOrigin`` says where a rule's text starts (a rule embedded in a YAML file starts at that file's
line and column), ``RuleCatalog`` lists the names a rule may use (features, labels, intents) and
``RuleTables`` holds the Ibis tables a checked rule compiles over.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import ibis.expr.types as ir

from tgportrait.label.catalogue import FeatureSpec


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class RuleOrigin:
    """Where the rule text starts: ``file`` (None for text typed in), 1-based ``line`` and ``column``."""

    file: str | None = None
    line: int = 1
    column: int = 1

    def position(self, text: str, offset: int) -> tuple[int, int]:
        """The (line, column) in the origin's file of character ``offset`` of ``text``.

        Only the rule's first line is shifted by ``column``: later lines of a multi-line rule start at
        column 1 of their own line (YAML block scalars strip the indentation before we see the text).
        """
        offset = max(0, min(offset, len(text)))
        line_in_rule = text.count("\n", 0, offset)
        line_start = text.rfind("\n", 0, offset) + 1
        column_in_line = offset - line_start + 1
        if line_in_rule == 0:
            return self.line, self.column + column_in_line - 1
        return self.line + line_in_rule, column_in_line

    def where(self, text: str, offset: int) -> str:
        """``file:line:col`` of ``offset`` (``<rule>`` stands in for a missing file name)."""
        line, column = self.position(text, offset)
        return f"{self.file or '<rule>'}:{line}:{column}"


@dataclass(frozen=True)
class RuleCatalog:
    """The names a rule may refer to.

    ``features``: feature name -> spec (the columns of the features table). ``labels``: label id ->
    display name. ``label_aliases``: alias or synonym -> label id. ``intents``: known message intents
    (``asked(...)`` accepts any intent when this is empty).
    """

    features: Mapping[str, FeatureSpec]
    labels: Mapping[str, str] = field(default_factory=dict)
    label_aliases: Mapping[str, str] = field(default_factory=dict)
    intents: frozenset[str] = frozenset()

    @classmethod
    def from_specs(cls, specs: Iterable[FeatureSpec], *, labels: Mapping[str, str] | None = None,
                   label_aliases: Mapping[str, str] | None = None,
                   intents: Iterable[str] = ()) -> RuleCatalog:
        """A catalogue from a list of feature specs (e.g. ``CORE_FEATURES + demand_features(...)``)."""
        return cls(features={spec.name: spec for spec in specs}, labels=dict(labels or {}),
                   label_aliases=dict(label_aliases or {}), intents=frozenset(intents))

    def resolve_label(self, name: str) -> str | None:
        """The label id that ``name`` (an id or an alias) stands for, or None."""
        if name in self.labels:
            return name
        return self.label_aliases.get(name)


@dataclass(frozen=True)
class RuleTables:
    """The tables a checked rule compiles over.

    ``features``: one row per person, ``person_id`` plus one column per feature; the compiled
    expression is a column over these rows. ``labels``: (person_id, label_id), needed by
    ``has_label``. ``events``: (person_id, type, intent, occurred_at, campaign, url), needed by
    ``asked``, ``clicked`` and ``joined``. ``now``: naive UTC time that "in the last N days" counts back
    from (pass it explicitly for reproducible runs).
    """

    features: ir.Table
    labels: ir.Table | None = None
    events: ir.Table | None = None
    now: datetime = field(default_factory=_utc_now)

"""The taxonomy's data model: reads nothing, writes nothing; it is what ``load_taxonomy`` returns.

A ``Taxonomy`` holds five ``Dimension``s of ``Group``s of ``Leaf``s (each leaf a label with checked
rules), the ``ConflictRule``s, the ``SynonymMerge``s made at load, and the order in which leaves that
call ``has_label()`` are evaluated (``layers``). ``TaxonomyCheckError`` carries every problem found in
a taxonomy file, each with its ``file:line:col``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tgportrait.errors import TaxonomyError
from tgportrait.label.catalogue import FeatureSpec
from tgportrait.rules import CheckedRule, RuleCatalog

DIMENSIONS: dict[str, str] = {
    "attributes": "User attributes",
    "behaviour": "Behaviour characteristics",
    "demand": "Demand preferences",
    "consumption": "Consumption capacity",
    "conversion": "Conversion potential",
}
PURPOSES: tuple[str, ...] = ("profiling", "marketing", "sensitive")
Pick = Literal["first", "highest_score"]


@dataclass(frozen=True)
class LeafRule:
    """One rule of a leaf (a merged leaf has several, OR'ed) and its optional score."""

    rule: CheckedRule
    score: CheckedRule | None
    source_id: str


@dataclass(frozen=True)
class Leaf:
    id: str
    name: str
    dimension_id: str
    dimension_name: str
    group_id: str
    group_name: str
    weight: float
    purpose: str
    sensitive: bool
    description: str
    synonyms: tuple[str, ...]
    aliases: tuple[str, ...]
    rules: tuple[LeafRule, ...]
    order: int
    line: int

    @property
    def rule_text(self) -> str:
        """The rule as evidence shows it (a merged leaf's rules joined with 'or')."""
        texts = [" ".join(part.rule.text.split()) for part in self.rules]
        return texts[0] if len(texts) == 1 else " or ".join(f"({text})" for text in texts)

    @property
    def labels_used(self) -> tuple[str, ...]:
        found: list[str] = []
        for part in self.rules:
            found += part.rule.labels_used
            found += part.score.labels_used if part.score else ()
        return tuple(dict.fromkeys(found))

    @property
    def features_used(self) -> tuple[str, ...]:
        found: list[str] = []
        for part in self.rules:
            found += part.rule.features_used
            found += part.score.features_used if part.score else ()
        return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    dimension_id: str
    exclusive: bool
    pick: Pick
    leaf_ids: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class Dimension:
    id: str
    name: str
    groups: tuple[Group, ...]
    description: str = ""


@dataclass(frozen=True)
class ConflictRule:
    """Persons holding every ``when_all`` label lose ``drop`` and have ``replace`` keys turned into values.

    ``drop`` holds the ``when_all`` labels not listed in ``keep`` (when ``keep`` is given) plus any
    labels listed under ``drop`` in the file.
    """

    id: str
    when_all: tuple[str, ...]
    keep: tuple[str, ...]
    drop: tuple[str, ...]
    replace: Mapping[str, str]
    reason: str
    line: int


@dataclass(frozen=True)
class SynonymMerge:
    """``merged`` (a leaf id and name in the file) became part of label ``into``, because of ``via``."""

    into: str
    merged: str
    merged_name: str
    via: str

    def describe(self) -> str:
        return f"'{self.merged}' ({self.merged_name}) merged into '{self.into}' (synonym '{self.via}')"


@dataclass(frozen=True)
class Taxonomy:
    path: str
    version: str
    name: str
    industry: str
    dimensions: tuple[Dimension, ...]
    leaves: tuple[Leaf, ...]
    conflicts: tuple[ConflictRule, ...]
    merges: tuple[SynonymMerge, ...]
    layers: tuple[tuple[str, ...], ...]
    features: Mapping[str, FeatureSpec]
    intents: tuple[str, ...]
    digest: str
    _by_id: Mapping[str, Leaf] = field(default_factory=dict, repr=False, compare=False)
    _aliases: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def leaf(self, id_or_alias: str) -> Leaf:
        """The leaf with this id, merged id or synonym."""
        leaf_id = id_or_alias if id_or_alias in self._by_id else self._aliases.get(id_or_alias)
        if leaf_id is None:
            raise KeyError(id_or_alias)
        return self._by_id[leaf_id]

    @property
    def groups(self) -> tuple[Group, ...]:
        return tuple(group for dimension in self.dimensions for group in dimension.groups)

    @property
    def label_aliases(self) -> Mapping[str, str]:
        return dict(self._aliases)

    def rule_catalog(self) -> RuleCatalog:
        """What rules over this taxonomy may name: features, label ids and aliases, intents."""
        return RuleCatalog(features=dict(self.features), labels={leaf.id: leaf.name for leaf in self.leaves},
                           label_aliases=dict(self._aliases), intents=frozenset(self.intents))

    def summary(self) -> str:
        return (f"{len(self.leaves)} leaves in {len(self.dimensions)} dimensions, {len(self.conflicts)} conflict "
                f"rules, {len(self.merges)} synonyms merged")

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready description: the tree, the conflict rules and the merges."""
        return {
            "path": self.path, "version": self.version, "name": self.name, "industry": self.industry,
            "digest": self.digest, "leaves": len(self.leaves),
            "dimensions": [{
                "id": dimension.id, "name": dimension.name,
                "groups": [{
                    "id": group.id, "name": group.name, "exclusive": group.exclusive, "pick": group.pick,
                    "leaves": [_leaf_dict(self._by_id[leaf_id]) for leaf_id in group.leaf_ids],
                } for group in dimension.groups],
            } for dimension in self.dimensions],
            "conflicts": [{"id": rule.id, "when_all": list(rule.when_all), "keep": list(rule.keep),
                           "drop": list(rule.drop), "replace": dict(rule.replace), "reason": rule.reason}
                          for rule in self.conflicts],
            "merges": [{"into": merge.into, "merged": merge.merged, "name": merge.merged_name, "via": merge.via}
                       for merge in self.merges],
        }


def _leaf_dict(leaf: Leaf) -> dict[str, Any]:
    return {"id": leaf.id, "name": leaf.name, "rule": leaf.rule_text,
            "score": [part.score.text for part in leaf.rules if part.score] or None,
            "weight": leaf.weight, "purpose": leaf.purpose, "sensitive": leaf.sensitive,
            "synonyms": list(leaf.synonyms), "aliases": list(leaf.aliases), "description": leaf.description}


@dataclass(frozen=True)
class TaxonomyProblem:
    file: str
    line: int
    column: int
    code: str
    message: str
    detail: str = ""  # caret excerpt and suggestion (rule problems)

    def render(self, *, with_code: bool = False) -> str:
        head = f"{self.file}:{self.line}:{self.column}: {self.message}"
        if with_code:
            head += f" [{self.code}]"
        return head + (f"\n{self.detail}" if self.detail else "")


class TaxonomyCheckError(TaxonomyError):
    """A taxonomy file has problems; ``problems`` lists every one, in file order."""

    def __init__(self, problems: Sequence[TaxonomyProblem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: (p.file, p.line, p.column)))
        if len(self.problems) == 1:
            message = self.problems[0].render()
        else:
            files = {problem.file for problem in self.problems}
            where = f" in {next(iter(files))}" if len(files) == 1 else ""
            message = f"{len(self.problems)} problems{where}:\n" + "\n".join(
                problem.render(with_code=True) for problem in self.problems)
        super().__init__(message, code=self.problems[0].code,
                         hint="Fix each place named above, then run 'tgportrait labels check' again.")

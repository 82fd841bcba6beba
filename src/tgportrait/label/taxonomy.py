"""The label taxonomy: reads a taxonomy YAML file and the feature catalogue, writes a checked ``Taxonomy``.

Five level-1 dimensions (user attributes, behaviour characteristics, demand preferences, consumption
capacity, conversion potential) hold level-2 groups, which hold level-3 leaves. A leaf is a label:
``id`` (``group/leaf``, unique), ``name``, ``rule`` (the rule language), optional ``score`` (a number
in 0..1), ``weight``, ``synonyms``, ``purpose`` (profiling, marketing or sensitive), ``sensitive`` and
``description``. Groups may be ``exclusive`` (one leaf per person). ``conflicts`` resolve
contradictions between labels declaratively (``label.governance`` applies them).

Everything is checked when the file is loaded, and every problem is reported at once with its
``file:line:col``: YAML structure, duplicate ids, weights, dimensions, conflict references,
``has_label`` cycles, and every rule and score against the catalogue of the workspace's industry.
Leaves that name each other as synonyms are merged into one label (rules OR'ed, aliases recorded).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from tgportrait.errors import TaxonomyError, WorkspaceNotFound
from tgportrait.label.catalogue import FeatureSpec, catalogue_for
from tgportrait.label.lexicon import GENERAL_INDUSTRY, load_lexicon
from tgportrait.label.taxonomy_model import (
    DIMENSIONS,
    PURPOSES,
    ConflictRule,
    Dimension,
    Group,
    Leaf,
    LeafRule,
    SynonymMerge,
    Taxonomy,
    TaxonomyCheckError,
    TaxonomyProblem,
)
from tgportrait.rules import CheckedRule, RuleCatalog, RuleCheckError, RuleOrigin, check_rules
from tgportrait.rules.problems import did_you_mean

__all__ = [
    "DIMENSIONS", "PURPOSES", "ConflictRule", "Dimension", "Group", "Leaf", "LeafRule", "SynonymMerge", "Taxonomy",
    "TaxonomyCheckError", "TaxonomyProblem", "default_taxonomy_path", "feature_catalog", "load_taxonomy",
    "load_workspace_taxonomy", "parse_taxonomy",
]

_ID = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_STRUCTURE_CODE = "TGP-T001"
_CYCLE_CODE = "TGP-T002"

_TOP_KEYS = ("version", "name", "industry", "description", "dimensions", "conflicts")
_DIMENSION_KEYS = ("id", "name", "description", "groups")
_GROUP_KEYS = ("id", "name", "description", "exclusive", "pick", "leaves")
_LEAF_KEYS = ("id", "name", "rule", "score", "weight", "synonyms", "purpose", "sensitive", "description")
_CONFLICT_KEYS = ("id", "when_all", "keep", "drop", "replace", "reason")


class _Problems:
    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[TaxonomyProblem] = []

    def add(self, where: tuple[int, int], message: str, code: str = _STRUCTURE_CODE) -> None:
        self.items.append(TaxonomyProblem(self.file, where[0], where[1], code, message))

    def add_rule_problems(self, error: RuleCheckError) -> None:
        for problem in error.problems:
            source, carets = problem.source_excerpt()
            detail = f"    {source}\n    {carets}" + (f"\n  {problem.suggestion}" if problem.suggestion else "")
            self.items.append(TaxonomyProblem(problem.origin.file or self.file, problem.line, problem.column,
                                              problem.code, problem.message, detail))


# ---------------------------------------------------------------------------------------------------
# YAML with positions: mappings and lists remember where each value was written.

class _Map(dict[str, Any]):
    def __init__(self, start: tuple[int, int]) -> None:
        super().__init__()
        self.start = start
        self.nodes: dict[str, yaml.Node] = {}
        self.key_nodes: dict[str, yaml.Node] = {}

    def key_where(self, key: str) -> tuple[int, int]:
        node = self.key_nodes.get(key)
        return _mark(node) if node is not None else self.start

    def where(self, key: str) -> tuple[int, int]:
        node = self.nodes.get(key)
        return _mark(node) if node is not None else self.start

    def raw(self, key: str) -> str | None:
        """A scalar exactly as written (``25_34`` stays text, where YAML would read the number 2534)."""
        node = self.nodes.get(key)
        return node.value if isinstance(node, yaml.ScalarNode) and self.get(key) is not None else None


class _List(list[Any]):
    def __init__(self, start: tuple[int, int]) -> None:
        super().__init__()
        self.start = start
        self.nodes: list[yaml.Node] = []

    def where(self, index: int) -> tuple[int, int]:
        return _mark(self.nodes[index]) if index < len(self.nodes) else self.start


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _read_yaml(text: str, problems: _Problems) -> Any:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.add(where, f"not valid YAML: {exc.problem or exc}")
        return None
    finally:
        loader.dispose()
    if root is None:
        return None
    return _convert(root, yaml.SafeLoader(""), problems)


def _convert(node: yaml.Node, loader: yaml.SafeLoader, problems: _Problems) -> Any:
    if isinstance(node, yaml.MappingNode):
        mapping = _Map(_mark(node))
        for key_node, value_node in node.value:
            key = str(loader.construct_object(key_node, deep=True))
            if key in mapping:
                problems.add(_mark(key_node), f"'{key}' is given twice (first at line {mapping.where(key)[0]})")
                continue
            mapping[key] = _convert(value_node, loader, problems)
            mapping.nodes[key] = value_node
            mapping.key_nodes[key] = key_node
        return mapping
    if isinstance(node, yaml.SequenceNode):
        items = _List(_mark(node))
        for item in node.value:
            items.append(_convert(item, loader, problems))
            items.nodes.append(item)
        return items
    return loader.construct_object(node, deep=True)


def _rule_source(file: str, node: yaml.Node | None, value: str) -> tuple[str, RuleOrigin]:
    """A rule's text and where its first character sits in the file.

    Plain and block scalars spread over several lines are taken from the file as written (line breaks
    and indentation kept; the rule language ignores whitespace), so a problem on a later line is
    reported at its true line and column. Quoted scalars start one column after the quote.
    """
    if not isinstance(node, yaml.ScalarNode):
        return value, RuleOrigin(file)
    line, column = _mark(node)
    start, end = node.start_mark, node.end_mark
    buffer = start.buffer or ""
    if node.style in ("'", '"'):
        return value, RuleOrigin(file, line, column + 1)
    if node.style in ("|", ">"):
        content = buffer.find("\n", start.pointer) + 1
        while content and content < end.pointer and not buffer[content:buffer.find("\n", content)].strip():
            content = buffer.find("\n", content) + 1
        indent = len(buffer[content:end.pointer]) - len(buffer[content:end.pointer].lstrip(" "))
        raw = buffer[content + indent:end.pointer].rstrip()
        first_line = buffer.count("\n", 0, content) + 1
        return (raw or value), RuleOrigin(file, first_line, indent + 1)
    if end.line > start.line:
        return buffer[start.pointer:end.pointer].rstrip(), RuleOrigin(file, line, column)
    return value, RuleOrigin(file, line, column)


# ---------------------------------------------------------------------------------------------------
# Loading.

def default_taxonomy_path(industry: str = GENERAL_INDUSTRY) -> Path:
    """The packaged default taxonomy of ``industry`` (the e-commerce one when there is no specific file)."""
    folder = resources.files("tgportrait.defaults").joinpath("taxonomy")
    specific = folder.joinpath(f"{industry}.yaml")
    return Path(str(specific if specific.is_file() else folder.joinpath(f"{GENERAL_INDUSTRY}.yaml")))


def feature_catalog(industry: str) -> dict[str, FeatureSpec]:
    """The features rules may use in ``industry``: the core features plus its demand topics and intents."""
    return {spec.name: spec for spec in catalogue_for(industry)}


def load_workspace_taxonomy(workspace_dir: str | None, path: Path | None = None) -> Taxonomy:
    """The taxonomy a command works on: ``path``, else the workspace's, else the default e-commerce one.

    Rules are checked against the workspace's industry; without a workspace, against the industry the
    file declares (``industry:``), else e-commerce.
    """
    from tgportrait.workspace import Workspace

    try:
        workspace: Workspace | None = Workspace.open(workspace_dir)
    except WorkspaceNotFound:
        if workspace_dir is not None and path is None:
            raise
        workspace = None
    industry = workspace.settings.industry if workspace is not None else None
    if path is None:
        path = workspace.taxonomy_path if workspace is not None else default_taxonomy_path()
    return load_taxonomy(path, industry)


def load_taxonomy(path: str | Path, industry: str | None = None) -> Taxonomy:
    """Read and check the taxonomy at ``path``; raises ``TaxonomyError`` listing every problem.

    ``industry`` picks the demand features rules may use (default: the file's ``industry:``, else
    e-commerce, which knows the topics of every industry).
    """
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TaxonomyError(f"cannot read the taxonomy {file}: {exc.strerror or exc}",
                            hint="Check the path, or create the workspace's taxonomy with 'tgportrait init'.") from exc
    return parse_taxonomy(text, file, industry)


def parse_taxonomy(text: str, file: str = "<taxonomy>", industry: str | None = None) -> Taxonomy:
    """Check taxonomy YAML ``text`` (``file`` names it in messages)."""
    problems = _Problems(file)
    document = _read_yaml(text, problems)
    if not isinstance(document, _Map):
        if not problems.items:
            problems.add((1, 1), "a taxonomy must be a mapping with 'version' and 'dimensions'")
        raise TaxonomyCheckError(problems.items)
    builder = _Builder(document, file, problems)
    declared = document.get("industry")
    chosen = industry or (str(declared) if declared else GENERAL_INDUSTRY)
    features = feature_catalog(chosen)
    intents = load_lexicon(chosen).intent_ids
    taxonomy = builder.build(chosen, features, intents, hashlib.sha256(text.encode("utf-8")).hexdigest())
    if problems.items or taxonomy is None:
        raise TaxonomyCheckError(problems.items)
    return taxonomy


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-/]+", " ", name.casefold()).strip()


@dataclass
class _RawLeaf:
    id: str
    short_id: str
    name: str
    group: Group
    dimension_name: str
    rule: str
    rule_origin: RuleOrigin
    score: str | None
    score_origin: RuleOrigin | None
    weight: float
    purpose: str
    sensitive: bool
    description: str
    synonyms: tuple[str, ...]
    line: int
    column: int


class _Builder:
    """Turns the positioned YAML into a ``Taxonomy``, adding every problem it finds."""

    def __init__(self, document: _Map, file: str, problems: _Problems) -> None:
        self.document = document
        self.file = file
        self.problems = problems
        self.leaves: list[_RawLeaf] = []
        self.group_ids: dict[str, int] = {}

    def build(self, industry: str, features: Mapping[str, FeatureSpec], intents: tuple[str, ...],
              digest: str) -> Taxonomy | None:
        document = self.document
        self.unknown_keys(document, _TOP_KEYS, "the taxonomy")
        if "version" not in document:
            self.problems.add(document.start, "the taxonomy needs a 'version' (bump it whenever the file changes)")
        raw_dimensions = self.dimensions(document)
        merged, merges, aliases = self.merge_synonyms()
        canonical = {leaf.id for leaf in merged}
        conflicts = self.conflicts(document, canonical, aliases)
        catalog = RuleCatalog(features=dict(features), labels={leaf.id: leaf.name for leaf in merged},
                              label_aliases=aliases, intents=frozenset(intents))
        leaves = self.check_rules(merged, catalog, aliases)
        if leaves is None:
            return None
        layers = self.layers(leaves, {leaf.id: leaf for leaf in merged})
        by_id = {leaf.id: leaf for leaf in leaves}
        dimensions = tuple(Dimension(d.id, d.name, tuple(
            Group(g.id, g.name, g.dimension_id, g.exclusive, g.pick,
                  tuple(leaf_id for leaf_id in g.leaf_ids if leaf_id in by_id), g.description)
            for g in d.groups), d.description) for d in raw_dimensions)
        return Taxonomy(self.file, str(document.get("version", "")), str(document.get("name") or ""), industry,
                        dimensions, tuple(leaves), conflicts, tuple(merges), layers, features, intents, digest,
                        by_id, aliases)

    # structure -------------------------------------------------------------------------------------

    def unknown_keys(self, mapping: _Map, allowed: Sequence[str], what: str) -> None:
        for key in mapping:
            if key not in allowed:
                suggestion = did_you_mean(key, allowed)
                self.problems.add(mapping.key_where(key), f"unknown key '{key}' in {what}"
                                  + (f"; {suggestion}" if suggestion else f" (allowed: {', '.join(allowed)})"))

    def text(self, mapping: _Map, key: str, what: str, *, required: bool = True) -> str:
        value = mapping.raw(key) if key == "id" else mapping.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problems.add(mapping.start, f"{what} needs '{key}'")
            return ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.problems.add(mapping.where(key), f"'{key}' of {what} must be text")
            return ""
        return str(value)

    def items(self, mapping: _Map, key: str, what: str, *, required: bool = True) -> list[_Map]:
        value = mapping.get(key)
        if value is None:
            if required:
                self.problems.add(mapping.start, f"{what} needs '{key}' (a list)")
            return []
        if not isinstance(value, _List):
            self.problems.add(mapping.where(key), f"'{key}' of {what} must be a list")
            return []
        found: list[_Map] = []
        for index, item in enumerate(value):
            if not isinstance(item, _Map):
                self.problems.add(value.where(index), f"each entry of '{key}' must be a mapping")
                continue
            found.append(item)
        return found

    def identifier(self, mapping: _Map, what: str) -> str:
        value = self.text(mapping, "id", what)
        if value and not _ID.match(value):
            self.problems.add(mapping.where("id"), f"id '{value}' of {what} must be lower-case letters, digits "
                              "and underscores")
        return value

    def dimensions(self, document: _Map) -> list[Dimension]:
        found: list[Dimension] = []
        seen: dict[str, int] = {}
        for mapping in self.items(document, "dimensions", "the taxonomy"):
            dimension_id = self.text(mapping, "id", "a dimension")
            self.unknown_keys(mapping, _DIMENSION_KEYS, f"dimension '{dimension_id}'")
            if dimension_id and dimension_id not in DIMENSIONS:
                suggestion = did_you_mean(dimension_id, DIMENSIONS)
                self.problems.add(mapping.where("id"), f"unknown dimension '{dimension_id}'"
                                  + (f"; {suggestion}" if suggestion else f" (use: {', '.join(DIMENSIONS)})"))
            if dimension_id in seen:
                self.problems.add(mapping.where("id"), f"dimension '{dimension_id}' is defined twice "
                                  f"(first at line {seen[dimension_id]})")
            seen.setdefault(dimension_id, mapping.where("id")[0])
            name = self.text(mapping, "name", f"dimension '{dimension_id}'", required=False) or \
                DIMENSIONS.get(dimension_id, dimension_id)
            groups = [self.group(group, dimension_id, name)
                      for group in self.items(mapping, "groups", f"dimension '{dimension_id}'")]
            found.append(Dimension(dimension_id, name, tuple(groups),
                                   self.text(mapping, "description", "a dimension", required=False)))
        if "dimensions" in document:
            missing = [name for name in DIMENSIONS if name not in seen]
            if missing:
                self.problems.add(document.key_where("dimensions"), "missing dimensions: " + ", ".join(
                    f"{key} ({DIMENSIONS[key]})" for key in missing))
        return found

    def group(self, mapping: _Map, dimension_id: str, dimension_name: str) -> Group:
        group_id = self.identifier(mapping, "a group")
        what = f"group '{group_id}'"
        self.unknown_keys(mapping, _GROUP_KEYS, what)
        if group_id in self.group_ids:
            self.problems.add(mapping.where("id"), f"group id '{group_id}' is used twice (first at line "
                              f"{self.group_ids[group_id]})")
        self.group_ids.setdefault(group_id, mapping.where("id")[0])
        exclusive = mapping.get("exclusive", False)
        if not isinstance(exclusive, bool):
            self.problems.add(mapping.where("exclusive"), f"'exclusive' of {what} must be true or false")
            exclusive = False
        pick = mapping.get("pick", "first")
        if pick not in ("first", "highest_score"):
            self.problems.add(mapping.where("pick"), f"'pick' of {what} must be 'first' (file order) or "
                              f"'highest_score', not '{pick}'")
            pick = "first"
        name = self.text(mapping, "name", what)
        group = Group(group_id, name, dimension_id, exclusive, pick, (),
                      self.text(mapping, "description", what, required=False))
        leaf_ids = [self.leaf(leaf, group, dimension_name) for leaf in self.items(mapping, "leaves", what)]
        return Group(group_id, name, dimension_id, exclusive, pick, tuple(i for i in leaf_ids if i),
                     group.description)

    def leaf(self, mapping: _Map, group: Group, dimension_name: str) -> str:
        written = self.text(mapping, "id", f"a leaf of group '{group.id}'")
        short_id = written.split("/", 1)[1] if "/" in written else written
        if "/" in written and written.split("/", 1)[0] != group.id:
            self.problems.add(mapping.where("id"), f"leaf id '{written}' must start with its group: "
                              f"'{group.id}/{short_id}'")
        if short_id and not _ID.match(short_id):
            self.problems.add(mapping.where("id"), f"leaf id '{written}' must be lower-case letters, digits and "
                              "underscores")
        leaf_id = f"{group.id}/{short_id}"
        what = f"leaf '{leaf_id}'"
        self.unknown_keys(mapping, _LEAF_KEYS, what)
        for other in self.leaves:
            if other.id == leaf_id:
                self.problems.add(mapping.where("id"), f"duplicate leaf id '{leaf_id}' (first at line {other.line})")
        weight = mapping.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
            self.problems.add(mapping.where("weight"), f"weight of {what} must be a number from 0 to 1, not "
                              f"{weight!r}")
            weight = 1.0
        purpose = mapping.get("purpose", "profiling")
        if purpose not in PURPOSES:
            self.problems.add(mapping.where("purpose"), f"purpose of {what} must be one of {', '.join(PURPOSES)}, "
                              f"not '{purpose}'")
            purpose = "profiling"
        sensitive = mapping.get("sensitive", purpose == "sensitive")
        if not isinstance(sensitive, bool):
            self.problems.add(mapping.where("sensitive"), f"'sensitive' of {what} must be true or false")
            sensitive = True
        if purpose == "sensitive" and not sensitive:
            self.problems.add(mapping.where("sensitive"), f"{what} has purpose 'sensitive' but sensitive: false")
        synonyms = mapping.get("synonyms") or []
        if not isinstance(synonyms, list) or not all(isinstance(s, str) and s.strip() for s in synonyms):
            self.problems.add(mapping.where("synonyms"), f"synonyms of {what} must be a list of names")
            synonyms = []
        rule, rule_origin = _rule_source(self.file, mapping.nodes.get("rule"), self.text(mapping, "rule", what))
        score = mapping.get("score")
        if score is not None and (isinstance(score, bool) or not isinstance(score, str | int | float)):
            self.problems.add(mapping.where("score"), f"score of {what} must be a numeric rule expression")
            score = None
        score_text, score_origin = _rule_source(self.file, mapping.nodes.get("score"), str(score))
        line, column = mapping.where("id")
        self.leaves.append(_RawLeaf(
            leaf_id, short_id, self.text(mapping, "name", what), group, dimension_name, rule, rule_origin,
            None if score is None else score_text, None if score is None else score_origin,
            float(weight), str(purpose), sensitive, self.text(mapping, "description", what, required=False),
            tuple(s.strip() for s in synonyms), line, column))
        return leaf_id

    # synonyms --------------------------------------------------------------------------------------

    def merge_synonyms(self) -> tuple[list[_RawLeaf], list[SynonymMerge], dict[str, str]]:
        """Union leaves whose name or id another leaf lists as a synonym; the first in the file is kept."""
        leaves = self.leaves
        parent = list(range(len(leaves)))

        def find(index: int) -> int:
            while parent[index] != index:
                parent[index] = parent[parent[index]]
                index = parent[index]
            return index

        vias: dict[int, str] = {}
        for a, first in enumerate(leaves):
            wanted = {_normalise(s): s for s in first.synonyms}
            for b, second in enumerate(leaves):
                if a == b:
                    continue
                hit = next((wanted[key] for key in (_normalise(second.name), _normalise(second.id),
                                                    _normalise(second.short_id)) if key in wanted), None)
                if hit is not None and find(a) != find(b):
                    low, high = sorted((find(a), find(b)))
                    parent[high] = low
                    vias[max(a, b)] = hit
        canonical: list[_RawLeaf] = []
        merges: list[SynonymMerge] = []
        members: dict[int, list[int]] = {}
        for index in range(len(leaves)):
            members.setdefault(find(index), []).append(index)
        aliases: dict[str, str] = {}
        owner: dict[str, str] = {}
        self.parts: dict[str, list[_RawLeaf]] = {}
        for root, indexes in members.items():
            head = leaves[root]
            canonical.append(head)
            self.parts[head.id] = [leaves[i] for i in indexes]
            for index in indexes:
                leaf = leaves[index]
                if index != root:
                    merges.append(SynonymMerge(head.id, leaf.id, leaf.name, vias.get(index, leaf.name)))
                    aliases[leaf.id] = head.id
                    aliases[leaf.name] = head.id
                for synonym in leaf.synonyms:
                    previous = owner.get(_normalise(synonym))
                    if previous is not None and previous != head.id:
                        self.problems.add((leaf.line, leaf.column), f"synonym '{synonym}' of '{leaf.id}' is also a "
                                          f"synonym of '{previous}'; a synonym must name one label")
                    owner[_normalise(synonym)] = head.id
                    aliases[synonym] = head.id
        for alias in [alias for alias in aliases if alias in {leaf.id for leaf in canonical}]:
            del aliases[alias]
        canonical.sort(key=lambda leaf: self.leaves.index(leaf))
        return canonical, merges, aliases

    # conflicts -------------------------------------------------------------------------------------

    def conflicts(self, document: _Map, canonical: set[str], aliases: Mapping[str, str]) -> tuple[ConflictRule, ...]:
        found: list[ConflictRule] = []
        seen: set[str] = set()
        for mapping in self.items(document, "conflicts", "the taxonomy", required=False):
            rule_id = self.identifier(mapping, "a conflict rule")
            what = f"conflict rule '{rule_id}'"
            self.unknown_keys(mapping, _CONFLICT_KEYS, what)
            if rule_id in seen:
                self.problems.add(mapping.where("id"), f"conflict rule id '{rule_id}' is used twice")
            seen.add(rule_id)
            when_all = self.label_list(mapping, "when_all", what, canonical, aliases, required=True)
            keep = self.label_list(mapping, "keep", what, canonical, aliases)
            extra_drop = self.label_list(mapping, "drop", what, canonical, aliases)
            replace: dict[str, str] = {}
            raw_replace = mapping.get("replace", _Map(mapping.start))
            if not isinstance(raw_replace, _Map):
                self.problems.add(mapping.where("replace"), f"'replace' of {what} must map a label to its "
                                  "replacement")
                raw_replace = _Map(mapping.start)
            for source, target in raw_replace.items():
                resolved = [self.resolve(str(label), raw_replace.where(source), what, canonical, aliases)
                            for label in (source, target)]
                if resolved[0] and resolved[1]:
                    replace[resolved[0]] = resolved[1]
            for label in keep:
                if label not in when_all:
                    self.problems.add(mapping.where("keep"), f"{what} keeps '{label}', which is not in when_all")
            drop = tuple(dict.fromkeys([*(label for label in when_all if keep and label not in keep), *extra_drop]))
            for label in drop:
                if label in replace:
                    self.problems.add(mapping.where("replace"), f"{what} both drops and replaces '{label}'")
            reason = self.text(mapping, "reason", what)
            found.append(ConflictRule(rule_id, tuple(when_all), tuple(keep), drop, replace, reason,
                                      mapping.where("id")[0]))
        return tuple(found)

    def label_list(self, mapping: _Map, key: str, what: str, canonical: set[str], aliases: Mapping[str, str],
                   *, required: bool = False) -> list[str]:
        value = mapping.get(key)
        if value is None:
            if required:
                self.problems.add(mapping.start, f"{what} needs '{key}' (a list of label ids)")
            return []
        if not isinstance(value, _List) or not value:
            self.problems.add(mapping.where(key), f"'{key}' of {what} must be a list of label ids")
            return []
        labels = [self.resolve(str(item), value.where(index), what, canonical, aliases)
                  for index, item in enumerate(value)]
        return list(dict.fromkeys(label for label in labels if label))

    def resolve(self, label: str, where: tuple[int, int], what: str, canonical: set[str],
                aliases: Mapping[str, str]) -> str:
        if label in canonical:
            return label
        if label in aliases:
            return aliases[label]
        suggestion = did_you_mean(label, canonical)
        self.problems.add(where, f"{what} names unknown label '{label}'" + (f"; {suggestion}" if suggestion else ""))
        return ""

    # rules -----------------------------------------------------------------------------------------

    def check_rules(self, merged: list[_RawLeaf], catalog: RuleCatalog,
                    aliases: Mapping[str, str]) -> list[Leaf] | None:
        """Check every rule and every score with the rule checker; None when any problem was found."""
        parts = [part for leaf in merged for part in self.parts[leaf.id] if part.rule]
        scored = [part for part in parts if part.score is not None]
        rules: dict[str, CheckedRule] = {}
        scores: dict[str, CheckedRule] = {}
        try:
            rules = dict(zip([p.id for p in parts], check_rules([(p.rule, p.rule_origin) for p in parts], catalog),
                             strict=True))
        except RuleCheckError as error:
            self.problems.add_rule_problems(error)
        try:
            scores = dict(zip([p.id for p in scored], check_rules(
                [(str(p.score), p.score_origin or RuleOrigin(self.file)) for p in scored], catalog,
                expect="number"), strict=True))
        except RuleCheckError as error:
            self.problems.add_rule_problems(error)
        if self.problems.items:
            return None
        leaves = []
        for order, head in enumerate(merged):
            members = self.parts[head.id]
            leaves.append(Leaf(
                head.id, head.name, head.group.dimension_id, head.dimension_name, head.group.id, head.group.name,
                head.weight, head.purpose, any(m.sensitive for m in members), head.description,
                tuple(dict.fromkeys(s for m in members for s in m.synonyms)),
                tuple(alias for alias, target in aliases.items() if target == head.id),
                tuple(LeafRule(rules[m.id], scores.get(m.id), m.id) for m in members), order, head.line))
        return leaves

    def layers(self, leaves: list[Leaf], raw: Mapping[str, _RawLeaf]) -> tuple[tuple[str, ...], ...]:
        """Leaves grouped so each one's has_label() references are in earlier groups; a cycle is a problem."""
        depends = {leaf.id: set(leaf.labels_used) for leaf in leaves}
        layers: list[tuple[str, ...]] = []
        done: set[str] = set()
        while len(done) < len(leaves):
            ready = tuple(leaf.id for leaf in leaves if leaf.id not in done and depends[leaf.id] <= done)
            if not ready:
                cycle = _find_cycle({key: value - done for key, value in depends.items() if key not in done})
                first = raw[cycle[0]]
                self.problems.add((first.line, first.column), "has_label() references form a cycle: "
                                  + " -> ".join([*cycle, cycle[0]]), _CYCLE_CODE)
                raise TaxonomyCheckError(self.problems.items)
            layers.append(ready)
            done.update(ready)
        return tuple(layers)


def _find_cycle(depends: Mapping[str, Iterable[str]]) -> list[str]:
    """One cycle in a graph where every node has an unfinished dependency."""
    path: list[str] = []
    node = next(iter(depends))
    while node not in path:
        path.append(node)
        node = sorted(depends[node])[0]
    return path[path.index(node):]

"""Deterministic identity resolution: reads identifier tuples of events, writes the identity map.

Telegram user id, CRM customer id, phone (E.164), e-mail and username are nodes of a graph;
every record links the identifiers it carries. A union-find joins them with guardrails learned
from other CDPs' failures: blocked junk values and patterns, values shared by too many people,
a cap on how many values of one type a person may have, and **two different Telegram ids never
merge**. Person ids are derived from the component's strongest identifier, so they are stable
across runs. Every identifier records the rule that joined it.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tgportrait.clean.regions import region_of_phone
from tgportrait.config import IdentitySettings
from tgportrait.store.tables import IDENTIFIER_TYPES

# strongest first: the person id comes from the first type present in a component
PRIORITY: dict[str, int] = {name: rank for rank, name in enumerate(IDENTIFIER_TYPES)}
UNIQUE_TYPES = frozenset({"tg_user_id"})   # two different values of these never merge
MAX_ORIGINS = 20                           # source records kept per identifier in the map (for export)


@dataclass(frozen=True)
class Identifier:
    type: str
    value: str

    @property
    def key(self) -> str:
        return f"{self.type}:{self.value}"


@dataclass
class IdentityResult:
    """The identity map plus what the guardrails did (for the quality report)."""

    identifiers: pa.Table                      # id_type, id_value, person_id, rule, probability, sources
    persons: int
    records: int
    blocked: dict[str, int] = field(default_factory=dict)       # reason -> identifier values not linked
    refused_merges: list[dict[str, str]] = field(default_factory=list)


class _UnionFind:
    def __init__(self, unique_types: frozenset[str] = UNIQUE_TYPES) -> None:
        self.parent: dict[str, str] = {}
        self.unique_types = unique_types
        self.tg_ids: dict[str, str | None] = {}
        self.type_values: dict[str, dict[str, set[str]]] = {}
        self.apart: dict[str, set[str]] = defaultdict(set)        # manual unmerge: keys never together
        self.constrained: dict[str, set[str]] = {}                 # root -> its members named in ``apart``

    def keep_apart(self, left: str, right: str) -> None:
        self.apart[left].add(right)
        self.apart[right].add(left)

    def add(self, node: Identifier) -> None:
        key = node.key
        if key in self.parent:
            return
        self.parent[key] = key
        self.tg_ids[key] = node.key if node.type in self.unique_types else None
        self.type_values[key] = {node.type: {node.value}}
        if key in self.apart:
            self.constrained[key] = {key}

    def find(self, key: str) -> str:
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def conflict(self, left: str, right: str, types: list[str]) -> str | None:
        """Why a fuzzy link may not join these components: both hold values of a type and share none."""
        values_a, values_b = self.type_values[self.find(left)], self.type_values[self.find(right)]
        for id_type in types:
            if values_a.get(id_type) and values_b.get(id_type) and not values_a[id_type] & values_b[id_type]:
                return f"conflicting {id_type}"
        return None

    def union(self, left: str, right: str, caps: dict[str, int]) -> str | None:
        """Join two components; return the reason when a guardrail refuses."""
        a, b = self.find(left), self.find(right)
        if a == b:
            return None
        tg_a, tg_b = self.tg_ids[a], self.tg_ids[b]
        if tg_a is not None and tg_b is not None and tg_a != tg_b:
            return "two different Telegram ids" if tg_a.startswith("tg_user_id:") else "two different unique ids"
        constrained_a, constrained_b = self.constrained.get(a, set()), self.constrained.get(b, set())
        if any(self.apart[key] & constrained_b for key in constrained_a):
            return "manual unmerge"
        values_a, values_b = self.type_values[a], self.type_values[b]
        for id_type, limit in caps.items():
            if len(values_a.get(id_type, set()) | values_b.get(id_type, set())) > limit:
                return f"more than {limit} values of {id_type}"
        if len(values_a) < len(values_b):
            a, b, values_a, values_b = b, a, values_b, values_a
        self.parent[b] = a
        self.tg_ids[a] = tg_a or tg_b
        for id_type, values in values_b.items():
            values_a.setdefault(id_type, set()).update(values)
        del self.type_values[b]
        if constrained_a or constrained_b:
            self.constrained[a] = constrained_a | constrained_b
            self.constrained.pop(b, None)
        return None


def person_id_for(anchor: Identifier) -> str:
    return "p_" + hashlib.sha1(anchor.key.encode()).hexdigest()[:14]


class Guardrails:
    """Which identifier values may link records."""

    def __init__(self, settings: IdentitySettings) -> None:
        self.blocked_values = {value.strip().lower() for value in settings.blocked_values}
        self.patterns = [re.compile(pattern, re.IGNORECASE) for pattern in settings.blocked_patterns]
        self.caps = dict(settings.max_values_per_person)
        self.shared_limit = settings.shared_value_limit

    def blocked_reason(self, identifier: Identifier) -> str | None:
        value = identifier.value.strip().lower()
        if identifier.type == "tg_user_id":
            return None
        if value in self.blocked_values:
            return "blocked value"
        bare = value.lstrip("+")
        if any(pattern.search(value) or pattern.search(bare) for pattern in self.patterns):
            return "blocked pattern"
        return None


def _record_rows(records: pa.Table) -> Iterator[dict[str, object]]:
    """The records as dicts, a batch at a time (a list of a few million dicts would hold gigabytes)."""
    for batch in records.to_batches(max_chunksize=65_536):
        yield from batch.to_pylist()


def _record_identifiers(row: dict[str, object]) -> list[Identifier]:
    found = []
    for id_type in IDENTIFIER_TYPES:
        value = row.get(id_type)
        if value is None or value == "":
            continue
        found.append(Identifier(id_type, str(value)))
    return found


def resolve_identities(records: pa.Table, settings: IdentitySettings,
                       overrides: list[tuple[str, str, str]] | None = None,
                       fuzzy_links: list[tuple[str, str, str, float, str]] | None = None) -> IdentityResult:
    """Resolve distinct identifier tuples (columns of IDENTIFIER_TYPES plus ``source``) to persons.

    ``overrides`` is a list of (action, left_key, right_key) manual decisions ("merge" joins two
    identifiers; "split" keeps them apart); they are applied before and after the automatic links.
    ``fuzzy_links`` are (rule, left_key, right_key, probability, comparison) edges from Splink; they
    are applied after the deterministic ones, most probable first, under the same guardrails.
    """
    guardrails = Guardrails(settings)
    priority = _priority(settings)
    blocked: dict[str, int] = defaultdict(int)
    reason_of: dict[str, str | None] = {}               # key -> why it may not link (each value checked once)
    sources: dict[str, set[str]] = defaultdict(set)
    origins: dict[str, set[str]] = defaultdict(set)     # key -> "source|record id" (the CRM or Telegram id)
    tg_users_of_value: dict[str, set[str]] = defaultdict(set)
    record_nodes: list[list[Identifier]] = []
    for row in _record_rows(records):
        identifiers = _record_identifiers(row)
        tg = next((i.value for i in identifiers if i.type == "tg_user_id"), None)
        crm = next((i.value for i in identifiers if i.type == "crm_customer_id"), None)
        owner = f"tg:{tg}" if tg else (f"crm:{crm}" if crm else None)
        source = str(row.get("source") or "")
        usable = []
        for identifier in identifiers:
            key = identifier.key
            sources[key].add(source)
            if (crm or tg) and len(origins[key]) < MAX_ORIGINS:
                origins[key].add(f"{source}|{crm or tg}")
            if key not in reason_of:
                reason_of[key] = guardrails.blocked_reason(identifier)
                if reason_of[key]:
                    blocked[str(reason_of[key])] += 1
            if reason_of[key]:
                continue
            if owner and identifier.type not in ("tg_user_id", "crm_customer_id"):
                tg_users_of_value[identifier.key].add(owner)
            usable.append(identifier)
        record_nodes.append(usable)
    shared = {key for key, owners in tg_users_of_value.items() if len(owners) > guardrails.shared_limit}
    if shared:
        blocked[f"shared by more than {guardrails.shared_limit} people"] += len(shared)

    forest = _UnionFind(frozenset(settings.unique_types))
    for action, left, right in overrides or []:
        if action == "split":
            forest.keep_apart(left, right)
    rule_of: dict[str, str] = {}
    edges: list[tuple[int, str, str, str]] = []
    for identifiers in record_nodes:
        identifiers = [i for i in identifiers if i.key not in shared]
        for identifier in identifiers:
            forest.add(identifier)
        if len(identifiers) < 2:
            continue
        ordered = sorted(identifiers, key=lambda i: priority[i.type])
        anchor = ordered[0]
        for other in ordered[1:]:
            edges.append((priority[other.type], anchor.key, other.key, f"same record as {anchor.type}"))
    refused: list[dict[str, str]] = []
    for action, left, right in overrides or []:
        if action == "merge" and left in forest.parent and right in forest.parent \
                and forest.union(left, right, {}) is None:
            rule_of.setdefault(right, f"manual merge with {left}")
    for _, left, right, rule in sorted(edges):
        reason = forest.union(left, right, guardrails.caps)
        if reason:
            refused.append({"left": left, "right": right, "reason": reason})
        else:
            rule_of.setdefault(right, rule)
    probability_of: dict[str, float] = {}
    for rule, left, right, probability, comparison in sorted(fuzzy_links or [], key=lambda link: -link[3]):
        if left not in forest.parent or right not in forest.parent or left in shared or right in shared:
            continue
        if forest.find(left) == forest.find(right):
            continue
        reason = forest.conflict(left, right, settings.fuzzy_conflict_types) or forest.union(
            left, right, guardrails.caps)
        if reason:
            refused.append({"left": left, "right": right, "reason": reason})
        else:
            # the rule is told on the weaker side (the one that joins the stronger identifier's person)
            if priority[left.split(":", 1)[0]] > priority[right.split(":", 1)[0]]:
                left, right = right, left
            if right not in rule_of:
                rule_of[right] = f"{rule} on {comparison} with {left}"
                probability_of[right] = probability
    # a manual merge asked for after the automatic links (kept apart by a guardrail) is refused visibly
    for action, left, right in overrides or []:
        if action == "merge" and left in forest.parent and right in forest.parent \
                and forest.find(left) != forest.find(right):
            refused.append({"left": left, "right": right, "reason": "manual merge blocked by a guardrail"})

    members: dict[str, list[str]] = defaultdict(list)
    for key in forest.parent:
        members[forest.find(key)].append(key)
    id_types: list[str] = []
    id_values: list[str] = []
    person_ids: list[str] = []
    rules: list[str] = []
    source_lists: list[str] = []
    origin_lists: list[str] = []
    for keys in members.values():
        anchor_key = min(keys, key=lambda k: (priority[k.split(":", 1)[0]], k))
        anchor_type, anchor_value = anchor_key.split(":", 1)
        person_id = person_id_for(Identifier(anchor_type, anchor_value))
        for key in sorted(keys):
            id_type, value = key.split(":", 1)
            id_types.append(id_type)
            id_values.append(value)
            person_ids.append(person_id)
            rules.append("anchor" if key == anchor_key else rule_of.get(key, "same record"))
            source_lists.append(",".join(sorted(s for s in sources[key] if s)))
            origin_lists.append(",".join(sorted(origins[key])))
    table = pa.table({
        "id_type": pa.array(id_types, pa.string()),
        "id_value": pa.array(id_values, pa.string()),
        "person_id": pa.array(person_ids, pa.string()),
        "rule": pa.array(rules, pa.string()),
        "probability": pa.array([probability_of.get(f"{t}:{v}", 1.0) for t, v in zip(id_types, id_values, strict=True)],
                                pa.float64()),
        "sources": pa.array(source_lists, pa.string()),
        "origins": pa.array(origin_lists, pa.string()),
    })
    return IdentityResult(table, len(members), records.num_rows, dict(blocked), refused)


def explain_person(identities: pa.Table, person_id: str) -> dict[str, Any]:
    """Every identifier of a person: how it joined (rule), with what probability, from which sources."""
    rows = identities.filter(pc.equal(identities.column("person_id"), person_id)).to_pylist()
    ordered = sorted(rows, key=lambda row: (row["rule"] != "anchor", PRIORITY.get(row["id_type"], 99), row["id_value"]))
    return {"person_id": person_id, "identifiers": [
        {"type": row["id_type"], "value": row["id_value"], "rule": row["rule"], "probability": row["probability"],
         "sources": [s for s in (row.get("sources") or "").split(",") if s]} for row in ordered]}


def export_rows(identities: pa.Table) -> list[dict[str, Any]]:
    """One row per identifier and source record: type, value, source, source_record_id, person_id, probability."""
    exported = []
    for row in identities.to_pylist():
        pairs = [item.split("|", 1) for item in (row.get("origins") or "").split(",") if item]
        if not pairs:
            pairs = [[source, ""] for source in (row.get("sources") or "").split(",")]
        for source, record in pairs:
            exported.append({"type": row["id_type"], "value": row["id_value"], "source": source,
                             "source_record_id": record or None, "person_id": row["person_id"],
                             "probability": row["probability"], "rule": row["rule"]})
    return exported


def _priority(settings: IdentitySettings) -> dict[str, int]:
    ranked = [name for name in settings.priority if name in PRIORITY]
    ranked += [name for name in IDENTIFIER_TYPES if name not in ranked]
    return {name: rank for rank, name in enumerate(ranked)}


def persons_table(identity: IdentityResult) -> pa.Table:
    """One row per person with identity facts used by features (phone region, which ids exist)."""
    rows: dict[str, dict[str, Any]] = {}
    for row in identity.identifiers.to_pylist():
        person = rows.setdefault(row["person_id"], {
            "person_id": row["person_id"], "has_phone": False, "has_email": False, "is_customer": False,
            "is_telegram_member": False, "phone_region": None})
        if row["id_type"] == "phone":
            person["has_phone"] = True
            person["phone_region"] = person["phone_region"] or region_of_phone(row["id_value"])
        elif row["id_type"] == "email":
            person["has_email"] = True
        elif row["id_type"] == "crm_customer_id":
            person["is_customer"] = True
        elif row["id_type"] == "tg_user_id":
            person["is_telegram_member"] = True
    ordered = sorted(rows.values(), key=lambda item: item["person_id"])
    return pa.Table.from_pylist(ordered, schema=pa.schema([
        ("person_id", pa.string()), ("has_phone", pa.bool_()), ("has_email", pa.bool_()),
        ("is_customer", pa.bool_()), ("is_telegram_member", pa.bool_()), ("phone_region", pa.string())]))

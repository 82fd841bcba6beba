"""Label assignment: reads the features (and events, labels) tables and a taxonomy, writes the LABELS table.

``assign_labels`` builds, for every leaf, the rows of the persons its rule holds for, with the score
(clipped to 0..1), the weight (leaf weight x score) and the evidence: a JSON object with the rule and
the values of the features it used, built with Ibis string operations so it is computed in the engine,
e.g. ``{"rule": "avg_order_usd >= 500", "values": {"avg_order_usd": 612.40}}`` (floats with two
decimals, missing values as null). Leaves whose rules call ``has_label()`` are evaluated after the
leaves they name (the taxonomy's layers), over the resolved labels of the earlier layers. The result
is resolved by ``governance.resolve_labels`` (exclusivity, conflict rules).

``allowed`` is the consent seam: a table (person_id, profiling, marketing, sensitive) of booleans.
When given, a label is kept only for persons listed there who allow its purpose, and, for sensitive
leaves, sensitive labels; a person missing from the table gets no labels (unknown means strictest).
Nothing is executed here: the result is an Ibis expression for the store to run.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import reduce

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from tgportrait.label.governance import resolve_labels
from tgportrait.label.taxonomy import Leaf, Taxonomy
from tgportrait.rules import RuleTables
from tgportrait.store.tables import LABELS

EXAMPLES_PER_LABEL = 3
_FLOAT_LIMIT = 1e30  # beyond this a float is written as the engine prints it, not as DECIMAL(38, 2)


def assign_labels(taxonomy: Taxonomy, tables: RuleTables, computed_at: datetime,
                  allowed: ir.Table | None = None) -> ir.Table:
    """Every person's labels in the LABELS schema, resolved and filtered by consent (an Ibis expression)."""
    stamp = _naive_utc(computed_at)
    if not taxonomy.leaves:
        return ibis.memtable(LABELS.empty_table())
    assigned: list[ir.Table] = []
    for depth, layer in enumerate(taxonomy.layers):
        layer_tables = tables
        if depth > 0:
            earlier = resolve_labels(_union(assigned), taxonomy)
            layer_tables = RuleTables(features=tables.features, labels=earlier.select("person_id", "label_id"),
                                      events=tables.events, now=tables.now)
        rows = _union([leaf_label_rows(taxonomy.leaf(leaf_id), layer_tables, stamp) for leaf_id in layer])
        assigned.append(rows if allowed is None else filter_allowed(rows, allowed))
    resolved = resolve_labels(_union(assigned), taxonomy)
    # A conflict rule may turn a label into one with another purpose: check consent again.
    return resolved if allowed is None else filter_allowed(resolved, allowed)


def leaf_label_rows(leaf: Leaf, tables: RuleTables, computed_at: datetime) -> ir.Table:
    """The LABELS rows of one leaf: the persons its rule (any of a merged leaf's rules) holds for."""
    features = tables.features
    conditions = [part.rule.compile(tables) for part in leaf.rules]
    matched = reduce(lambda left, right: left | right, conditions)
    scores = [_clip(part.score.compile(tables)) if part.score else ibis.literal(1.0) for part in leaf.rules]
    if len(scores) == 1:
        score = scores[0]
    else:  # a merged leaf: the best score among the rules that hold
        score = ibis.greatest(*[ibis.ifelse(condition, value, 0.0) for condition, value in zip(conditions, scores,
                                                                                              strict=True)])
    rows = features.mutate(_matched=matched, _score=score.cast("float64"),
                           _evidence=evidence_expression(leaf, features))
    rows = rows.filter(rows._matched)
    return rows.select(
        person_id=rows.person_id.cast("string"),
        label_id=ibis.literal(leaf.id, type="string"),
        level1=ibis.literal(leaf.dimension_name, type="string"),
        level2=ibis.literal(leaf.group_name, type="string"),
        level3=ibis.literal(leaf.name, type="string"),
        weight=(ibis.literal(leaf.weight, type="float64") * rows._score).cast("float64"),
        score=rows._score,
        evidence=rows._evidence,
        consent_purpose=ibis.literal(leaf.purpose, type="string"),
        sensitive=ibis.literal(leaf.sensitive, type="boolean"),
        computed_at=ibis.literal(_naive_utc(computed_at), type="timestamp"),
    )


def evidence_expression(leaf: Leaf, features: ir.Table) -> ir.StringValue:
    """``{"rule": ..., "values": {feature: value, ...}}`` (plus ``"labels"`` when the rule names labels)."""
    parts: list[ir.StringValue] = [ibis.literal('{"rule": ' + json.dumps(leaf.rule_text, ensure_ascii=False)
                                                + ', "values": {')]
    for index, name in enumerate(leaf.features_used):
        separator = ", " if index else ""
        parts += [ibis.literal(f"{separator}{json.dumps(name)}: "), json_value(features[name])]
    closing = "}"
    if leaf.labels_used:
        closing += ', "labels": ' + json.dumps(list(leaf.labels_used))
    parts.append(ibis.literal(closing + "}"))
    return reduce(lambda left, right: left.concat(right), parts)


def json_value(column: ir.Value) -> ir.StringValue:
    """A column's value as JSON text (floats with two decimals, text escaped, missing as null); never null."""
    dtype = column.type()
    text: ir.StringValue
    if dtype.is_boolean():
        text = ibis.ifelse(column, "true", "false")
    elif dtype.is_floating():
        number = column.cast("float64")
        finite = ~(number.isnan() | number.isinf())
        two_decimals = number.cast("decimal(38, 2)").cast("string")
        text = ibis.ifelse(finite & (number.abs() < _FLOAT_LIMIT), two_decimals,
                           ibis.ifelse(finite, number.cast("string"), ibis.null("string")))
    elif dtype.is_decimal():
        text = column.cast("decimal(38, 2)").cast("string")
    elif dtype.is_numeric():
        text = column.cast("string")
    else:
        raw = column.cast("string")
        # Control characters (newlines, tabs) become spaces: evidence is for reading, not for round trips.
        escaped = raw.replace("\\", "\\\\").replace('"', '\\"').re_replace(r"[\x00-\x1f]", " ")
        text = ibis.literal('"').concat(escaped, ibis.literal('"'))
    return ibis.coalesce(text, ibis.literal("null"))


def with_message_examples(labels: ir.Table, examples: ir.Table, taxonomy: Taxonomy,
                          limit: int = EXAMPLES_PER_LABEL) -> ir.Table:
    """Add ``"examples": [up to ``limit`` message texts]`` to the evidence of labels whose rule reads
    ``interest_<topic>``, ``suitability_<topic>`` or ``asked_<intent>_90d``: the messages that produced them.

    ``examples`` is ``label.features.message_examples`` (person_id, key, text, priority, occurred_at);
    suitability questions come first, then the most recent. Labels without such messages keep their evidence.
    """
    pairs = [(leaf.id, key) for leaf in taxonomy.leaves for key in _example_keys(leaf.features_used)]
    if not pairs:
        return labels
    keys = ibis.memtable({"label_id": [pair[0] for pair in pairs], "key": [pair[1] for pair in pairs]},
                         schema={"label_id": "string", "key": "string"})
    wanted = labels.select("person_id", "label_id").join(keys, "label_id")
    found = wanted.join(examples, ["person_id", "key"])
    messages = found.group_by(["person_id", "label_id", "text"]).aggregate(
        priority=found.priority.min(), at=found.occurred_at.max())
    ranked = messages.mutate(_rank=ibis.row_number().over(
        group_by=[messages.person_id, messages.label_id],
        order_by=[messages.priority, messages.at.desc(), messages.text]))
    chosen = ranked.filter(ranked._rank < limit)
    # one column per rank, joined in rank order: the same text on every engine (GROUP_CONCAT's order is not)
    quoted = json_value(chosen.text)
    listed = chosen.group_by(["person_id", "label_id"]).aggregate(
        **{f"_e{rank}": quoted.max(where=chosen._rank == rank) for rank in range(limit)})
    texts: list[ir.StringValue] = [listed._e0]
    texts += [ibis.coalesce(ibis.literal(", ").concat(listed[f"_e{rank}"]), "") for rank in range(1, limit)]
    listed = listed.select("person_id", "label_id", _examples=reduce(lambda left, right: left.concat(right), texts))
    joined = labels.left_join(listed, ["person_id", "label_id"])
    evidence = ibis.ifelse(joined._examples.isnull(), joined.evidence,
                           joined.evidence.substr(0, joined.evidence.length() - 1).concat(
                               ibis.literal(', "examples": ['), joined._examples, ibis.literal("]}")))
    return joined.select(*[evidence.name("evidence") if name == "evidence" else joined[name]
                           for name in labels.columns])


def _example_keys(features_used: tuple[str, ...]) -> list[str]:
    keys: list[str] = []
    for name in features_used:
        if name.startswith(("interest_", "suitability_")):
            keys.append(name.split("_", 1)[1])
        elif name.startswith("asked_") and name.endswith("_90d"):
            keys.append("intent:" + name[len("asked_"):-len("_90d")])
    return sorted(set(keys))


def filter_allowed(labels: ir.Table, allowed: ir.Table) -> ir.Table:
    """Keep the labels whose person allows the label's purpose (and sensitive labels, for sensitive leaves)."""
    purpose_allowed = ibis.cases(
        (labels.consent_purpose == "profiling", allowed.profiling),
        (labels.consent_purpose == "marketing", allowed.marketing),
        (labels.consent_purpose == "sensitive", allowed.sensitive),
        else_=False,
    ).fill_null(False)
    sensitive_allowed = ~labels.sensitive | allowed.sensitive.fill_null(False)
    return labels.semi_join(allowed, [labels.person_id == allowed.person_id.cast("string"),
                                      purpose_allowed & sensitive_allowed])


def person_ranges(person_ids: pa.ChunkedArray | pa.Array, size: int) -> list[tuple[str | None, str | None]]:
    """Ranges ``[low, high)`` of person ids holding ``size`` persons each (None: open end), in id order;
    one open range when there are at most ``size`` persons."""
    ordered = pc.unique(person_ids).sort()
    bounds = [ordered[start].as_py() for start in range(size, len(ordered), size)]
    lows: list[str | None] = [None, *bounds]
    highs: list[str | None] = [*bounds, None]
    return list(zip(lows, highs, strict=True))


def in_person_range(table: ir.Table, low: str | None, high: str | None) -> ir.Table:
    """The rows of ``table`` whose ``person_id`` is in ``[low, high)``."""
    if low is not None:
        table = table.filter(table.person_id.cast("string") >= low)
    if high is not None:
        table = table.filter(table.person_id.cast("string") < high)
    return table


def _clip(score: ir.Value) -> ir.NumericValue:
    """The score within 0..1; a missing score counts as 1 (like a leaf without a score).

    LEAST/GREATEST over a COALESCE mention the score once (``clip`` would repeat it four times in SQL).
    """
    assert isinstance(score, ir.NumericValue)
    bounded = ibis.greatest(ibis.least(ibis.coalesce(score.cast("float64"), 1.0), 1.0), 0.0)
    assert isinstance(bounded, ir.NumericValue)
    return bounded


def _union(tables: list[ir.Table]) -> ir.Table:
    """UNION ALL as a balanced tree: nesting depth log2(n) instead of n keeps the SQL small and fast to compile."""
    if len(tables) == 1:
        return tables[0]
    middle = len(tables) // 2
    return ibis.union(_union(tables[:middle]), _union(tables[middle:]), distinct=False)


def _naive_utc(moment: datetime) -> datetime:
    """Naive UTC (the timestamp convention of every table)."""
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment

"""Label governance: reads assigned labels (the LABELS schema) and the taxonomy, writes the resolved labels.

Two steps, both pure Ibis (window functions and CASE expressions only) so they run on DuckDB and Spark:

1. Exclusivity: in an ``exclusive`` group a person keeps one leaf, the first matching in file order
   (``pick: highest_score``: the highest score, then file order).
2. Conflict rules, in file order: for persons holding every ``when_all`` label, the labels the rule
   drops are removed and each ``replace`` key becomes its value (level names, weight, purpose and
   sensitivity follow the new leaf; the score stays). A label a person would then hold twice is
   kept once, preferring the one assigned by its own rule.

The evidence JSON of every label a conflict rule touched gets a ``conflicts`` list naming the rule
and what it did: ``{"rule": "big_spender_discount_clicker", "action": "replaced", "from": "price/price_sensitive"}``
or ``{"rule": ..., "action": "kept"}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from tgportrait.label.taxonomy import ConflictRule, Taxonomy

LABEL_COLUMNS: tuple[str, ...] = ("person_id", "label_id", "level1", "level2", "level3", "weight", "score",
                                  "evidence", "consent_purpose", "sensitive", "computed_at")
_NOTES = "_conflict_notes"
_REPLACED = "_replaced"


def resolve_labels(assigned: ir.Table, taxonomy: Taxonomy) -> ir.Table:
    """Apply exclusivity and the conflict rules to ``assigned`` (one row per person and label)."""
    table = assigned.mutate(**{_NOTES: ibis.literal("", type="string"), _REPLACED: ibis.literal(False)})
    table = apply_exclusivity(table, taxonomy)
    for rule in taxonomy.conflicts:
        table = apply_conflict(table, rule, taxonomy)
    return _write_notes(table)


def apply_exclusivity(table: ir.Table, taxonomy: Taxonomy) -> ir.Table:
    """Keep one leaf per person in each exclusive group."""
    groups = [group for group in taxonomy.groups if group.exclusive and len(group.leaf_ids) > 1]
    if not groups:
        return table
    group_of = {leaf_id: group.id for group in groups for leaf_id in group.leaf_ids}
    by_score = [leaf_id for group in groups if group.pick == "highest_score" for leaf_id in group.leaf_ids]
    order = {leaf.id: leaf.order for leaf in taxonomy.leaves if leaf.id in group_of}
    in_group = table.label_id.isin(list(group_of))
    # Rows outside exclusive groups are their own partition (a person holds a label once), so keep rank 0.
    partition = ibis.ifelse(in_group, table.label_id.substitute(group_of, else_=table.label_id), table.label_id)
    score_key = ibis.ifelse(table.label_id.isin(by_score), table.score, 0.0) if by_score else ibis.literal(0.0)
    rank = ibis.row_number().over(
        group_by=[table.person_id, partition],
        order_by=[ibis.desc(score_key.fill_null(0.0)), table.label_id.substitute(order, else_=len(taxonomy.leaves)),
                  table.label_id])
    ranked = table.mutate(_rank=rank)
    return ranked.filter(ranked._rank == 0).drop("_rank")


def apply_conflict(table: ir.Table, rule: ConflictRule, taxonomy: Taxonomy) -> ir.Table:
    """Apply one conflict rule (see the module docstring)."""
    held = table.label_id.isin(list(rule.when_all)).cast("int64").sum().over(group_by=table.person_id)
    table = table.mutate(_fires=held == len(rule.when_all))
    if rule.drop:
        table = table.filter(~(table._fires & table.label_id.isin(list(rule.drop))))
    kept = table._fires & table.label_id.isin([label for label in rule.when_all if label not in rule.replace])
    table = table.mutate(**{_NOTES: _append_note(table, kept, _note(rule.id, "kept"))})
    if rule.replace:
        table = _replace(table, rule, taxonomy)
    return table.drop("_fires")


def _replace(table: ir.Table, rule: ConflictRule, taxonomy: Taxonomy) -> ir.Table:
    replaced = table._fires & table.label_id.isin(list(rule.replace))
    target = table.label_id.substitute(dict(rule.replace), else_=table.label_id)
    leaves = {target_id: taxonomy.leaf(target_id) for target_id in rule.replace.values()}

    def leaf_value(values: Mapping[str, object], current: ir.Value) -> ir.Value:
        return ibis.ifelse(replaced, target.substitute(dict(values), else_=current), current)

    note = (ibis.literal(json.dumps({"rule": rule.id, "action": "replaced"})[:-1] + ', "from": "')
            .concat(table.label_id, ibis.literal('"}')))
    weights = {key: leaf.weight for key, leaf in leaves.items()}
    table = table.mutate(
        label_id=ibis.ifelse(replaced, target, table.label_id),
        level1=leaf_value({key: leaf.dimension_name for key, leaf in leaves.items()}, table.level1),
        level2=leaf_value({key: leaf.group_name for key, leaf in leaves.items()}, table.level2),
        level3=leaf_value({key: leaf.name for key, leaf in leaves.items()}, table.level3),
        weight=ibis.ifelse(replaced, target.substitute(weights, else_=1.0) * table.score, table.weight),
        consent_purpose=leaf_value({key: leaf.purpose for key, leaf in leaves.items()}, table.consent_purpose),
        sensitive=leaf_value({key: leaf.sensitive for key, leaf in leaves.items()}, table.sensitive),
        **{_NOTES: _append_note(table, replaced, note), _REPLACED: table[_REPLACED] | replaced},
    )
    # A person who already held the target keeps one row: the one its own rule assigned.
    rank = ibis.row_number().over(group_by=[table.person_id, table.label_id],
                                  order_by=[table[_REPLACED].cast("int8"), ibis.desc(table.weight)])
    ranked = table.mutate(_rank=rank)
    return ranked.filter(ranked._rank == 0).drop("_rank")


def _note(rule_id: str, action: str) -> ir.StringValue:
    return ibis.literal(json.dumps({"rule": rule_id, "action": action}))


def _append_note(table: ir.Table, condition: ir.BooleanValue, note: ir.StringValue) -> ir.StringValue:
    """Notes are kept as ', {...}, {...}' (each preceded by ', ') so appending mentions the column once."""
    addition = ibis.ifelse(condition, ibis.literal(", ").concat(note), ibis.literal(""))
    return table[_NOTES].concat(addition)


def _write_notes(table: ir.Table) -> ir.Table:
    """Move the conflict notes into the evidence JSON and return the LABELS columns."""
    notes = table[_NOTES]
    evidence = ibis.coalesce(table.evidence, ibis.literal("{}"))
    body = evidence.substr(0, evidence.length() - 1)
    separator = ibis.ifelse(evidence == "{}", "", ", ")
    listed = notes.substr(2, notes.length() - 2)  # without the leading ', '
    with_notes = body.concat(separator, ibis.literal('"conflicts": ['), listed, ibis.literal("]}"))
    table = table.mutate(evidence=ibis.ifelse(notes == "", table.evidence, with_notes))
    return table.select(*LABEL_COLUMNS)

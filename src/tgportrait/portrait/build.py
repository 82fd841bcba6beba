"""Assemble portraits: reads ``features``, ``labels`` and the identity map, writes ``portraits``.

One row per person: identifiers, attributes, labels by weight with their evidence, key facts,
the one-sentence summary, and when it stops being fresh. Runs on the driver over Arrow tables
(one pass, dictionary look-ups), which is fast for millions of persons.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tgportrait.portrait.summary import summarise

ATTRIBUTE_COLUMNS = ("region", "region_source", "language", "age_band", "gender", "device", "timezone")
FACT_COLUMNS = (
    "orders_90d", "orders_total", "spend_365d_usd", "spend_total_usd", "avg_order_usd", "last_order_days",
    "repurchase_interval_days", "refund_rate", "top_category", "top_product_90d", "top_product_90d_orders",
    "messages_90d", "reactions_90d", "link_clicks_90d", "active_days_90d", "last_seen_days",
    "preferred_hour_start", "preferred_hour_end",
)
PORTRAITS = pa.schema([
    ("person_id", pa.string()),
    ("summary", pa.string()),
    ("identifiers", pa.string()),
    ("attributes", pa.string()),
    ("labels", pa.string()),
    ("facts", pa.string()),
    ("label_count", pa.int64()),
    ("computed_at", pa.timestamp("us")),
    ("fresh_until", pa.timestamp("us")),
])


def _rounded(value: Any) -> Any:
    return round(value, 2) if isinstance(value, float) else value


PERSONS_PER_BATCH = 50_000   # persons assembled at a time: the driver holds one batch's labels, not all


def write_portraits(path: Path, features: pa.Table, labels: pa.Table, identifiers: pa.Table, computed_at: datetime,
                    fresh_days: int, level1_ids: dict[str, str] | None = None) -> int:
    """Write the portraits into one Parquet file, a row group per batch, never all in memory; returns the rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with pq.ParquetWriter(path, PORTRAITS, compression="zstd") as writer:
        for batch in portrait_batches(features, labels, identifiers, computed_at, fresh_days, level1_ids):
            writer.write_table(batch)
            rows += batch.num_rows
    return rows


def portrait_batches(features: pa.Table, labels: pa.Table, identifiers: pa.Table, computed_at: datetime,
                     fresh_days: int, level1_ids: dict[str, str] | None = None) -> Iterator[pa.Table]:
    """The portraits of ``PERSONS_PER_BATCH`` persons at a time (a range of person ids each), in id order.

    Memory stays flat however many persons and labels a run has; a label's evidence is copied as the JSON
    text the engine wrote, not parsed and written again.
    """
    features = features.sort_by("person_id")
    person_ids = features.column("person_id")
    for start in range(0, features.num_rows, PERSONS_PER_BATCH):
        batch = features.slice(start, PERSONS_PER_BATCH)
        low = person_ids[start].as_py()
        high = person_ids[start + batch.num_rows].as_py() if start + batch.num_rows < features.num_rows else None
        yield _portrait_batch(batch, _person_range(labels, low, high), _person_range(identifiers, low, high),
                              computed_at, fresh_days, level1_ids or {})


def _person_range(table: pa.Table, low: str, high: str | None) -> pa.Table:
    """The rows of ``table`` whose person id is in [low, high) (high None: no upper end)."""
    mask = pc.greater_equal(table.column("person_id"), low)
    if high is not None:
        mask = pc.and_(mask, pc.less(table.column("person_id"), high))
    return table.filter(mask)


def _portrait_batch(features: pa.Table, labels: pa.Table, identifiers: pa.Table, computed_at: datetime,
                    fresh_days: int, level1_ids: dict[str, str]) -> pa.Table:
    labels_by_person: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in labels.to_pylist():
        labels_by_person[row["person_id"]].append({
            "id": row["label_id"], "name": row["level3"], "path": [row["level1"], row["level2"], row["level3"]],
            "level1_id": level1_ids.get(row["level1"], row["level1"]), "weight": round(row["weight"], 4),
            "evidence": row["evidence"] or "null",
        })
    identifiers_by_person: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in identifiers.to_pylist():
        identifiers_by_person[row["person_id"]].append(
            {"type": row["id_type"], "value": row["id_value"], "rule": row["rule"],
             "probability": row["probability"], "sources": row["sources"]})
    fresh_until = computed_at + timedelta(days=fresh_days)
    columns: dict[str, list[Any]] = {name: [] for name in PORTRAITS.names}
    for row in features.to_pylist():
        person_id = row["person_id"]
        person_labels = sorted(labels_by_person.get(person_id, []), key=lambda item: (-item["weight"], item["id"]))
        attributes = {name: row.get(name) for name in ATTRIBUTE_COLUMNS if row.get(name) is not None}
        facts = {name: _rounded(row.get(name)) for name in FACT_COLUMNS if row.get(name) is not None}
        columns["person_id"].append(person_id)
        columns["summary"].append(summarise(row, person_labels))
        columns["identifiers"].append(json.dumps(identifiers_by_person.get(person_id, []), ensure_ascii=False))
        columns["attributes"].append(json.dumps(attributes, ensure_ascii=False))
        columns["labels"].append(_labels_json(person_labels))
        columns["facts"].append(json.dumps(facts, ensure_ascii=False))
        columns["label_count"].append(len(person_labels))
        columns["computed_at"].append(computed_at)
        columns["fresh_until"].append(fresh_until)
    return pa.Table.from_pydict(columns, schema=PORTRAITS)


def _labels_json(labels: list[dict[str, Any]]) -> str:
    """The labels as a JSON array; each label's evidence is already JSON text and goes in as it is."""
    items = [f'{{"id": {json.dumps(item["id"], ensure_ascii=False)}, '
             f'"path": {json.dumps(item["path"], ensure_ascii=False)}, '
             f'"weight": {json.dumps(item["weight"])}, "evidence": {item["evidence"]}}}' for item in labels]
    return "[" + ", ".join(items) + "]"


def portrait_document(row: dict[str, Any]) -> dict[str, Any]:
    """The JSON shape of ``tgportrait portrait PERSON --json``."""
    return {
        "person_id": row["person_id"],
        "identifiers": json.loads(row["identifiers"]),
        "attributes": json.loads(row["attributes"]),
        "labels": json.loads(row["labels"]),
        "facts": json.loads(row["facts"]),
        "summary": row["summary"],
        "computed_at": row["computed_at"].isoformat() if row.get("computed_at") else None,
        "fresh_until": row["fresh_until"].isoformat() if row.get("fresh_until") else None,
    }

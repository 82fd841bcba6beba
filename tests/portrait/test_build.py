"""Portrait assembly: one row per person, labels by weight with their evidence, the same in any batch size."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tgportrait.portrait import build as portrait_build
from tgportrait.portrait.build import portrait_document, write_portraits

NOW = datetime(2026, 12, 1, 12, 0)


def _features(person_ids: list[str]) -> pa.Table:
    return pa.table({"person_id": person_ids, "region": ["ID"] * len(person_ids),
                     "orders_90d": list(range(len(person_ids))), "messages_90d": [3] * len(person_ids)})


def _labels(rows: list[tuple[str, str, float, str | None]]) -> pa.Table:
    return pa.table({
        "person_id": [row[0] for row in rows], "label_id": [row[1] for row in rows],
        "level1": ["Demand"] * len(rows), "level2": ["Skin"] * len(rows), "level3": [row[1] for row in rows],
        "weight": [row[2] for row in rows], "evidence": [row[3] for row in rows]})


def _identifiers(person_ids: list[str]) -> pa.Table:
    return pa.table({"id_type": ["tg_user_id"] * len(person_ids), "id_value": [p[2:] for p in person_ids],
                     "person_id": person_ids, "rule": ["anchor"] * len(person_ids),
                     "probability": [1.0] * len(person_ids), "sources": ["telegram"] * len(person_ids)})


def build_portraits(folder: Path, features: pa.Table, labels: pa.Table, identifiers: pa.Table,
                    level1_ids: dict[str, str] | None = None) -> pa.Table:
    """Portraits as the build writes them (``write_portraits``), read back."""
    path = folder / f"portraits-{len(list(folder.glob('*.parquet')))}.parquet"
    rows = write_portraits(path, features, labels, identifiers, NOW, 30, level1_ids)
    table = pq.read_table(path)
    assert table.num_rows == rows
    return table


def test_labels_sorted_by_weight_with_evidence_kept_as_written(tmp_path: Path) -> None:
    evidence = '{"rule": "orders_90d >= 1", "values": {"orders_90d": 2}, "examples": ["ça me va ?"]}'
    table = build_portraits(tmp_path, _features(["p_b", "p_a"]),
                            _labels([("p_a", "dry", 0.4, None), ("p_a", "oily", 0.9, evidence)]),
                            _identifiers(["p_a", "p_b"]), {"Demand": "demand"})
    rows = table.to_pylist()
    assert [row["person_id"] for row in rows] == ["p_a", "p_b"]
    document = portrait_document(rows[0])
    assert [label["id"] for label in document["labels"]] == ["oily", "dry"]
    assert document["labels"][0]["evidence"] == json.loads(evidence)
    assert document["labels"][1]["evidence"] is None
    assert document["labels"][0]["path"] == ["Demand", "Skin", "oily"]
    assert rows[0]["label_count"] == 2 and rows[1]["label_count"] == 0
    assert document["identifiers"] == [{"type": "tg_user_id", "value": "a", "rule": "anchor", "probability": 1.0,
                                        "sources": "telegram"}]
    assert rows[0]["fresh_until"] == datetime(2026, 12, 31, 12, 0)


@pytest.mark.parametrize("batch", [1, 2, 3, 50_000])
def test_batches_give_the_same_portraits(monkeypatch: pytest.MonkeyPatch, batch: int, tmp_path: Path) -> None:
    persons = [f"p_{index:03d}" for index in range(7)]
    labels = _labels([(person, f"l{index % 3}", index / 10, '{"rule": "x"}')
                      for index, person in enumerate(persons * 2)])
    expected = build_portraits(tmp_path, _features(persons), labels, _identifiers(persons))
    monkeypatch.setattr(portrait_build, "PERSONS_PER_BATCH", batch)
    shuffled = _features(persons).take([3, 6, 0, 5, 1, 4, 2])
    got = build_portraits(tmp_path, shuffled, labels, _identifiers(persons))
    assert got.num_rows == 7
    assert got.to_pylist() == expected.to_pylist()
    # labels and identifiers in any order, with persons who have no features (before, between and after theirs)
    others = _labels([(person, "l0", 0.5, "{}") for person in ("p_", "p_0025", "q")])
    mixed = pa.concat_tables([labels, others]).take([13, 15, 0, 7, 16, 2, 9, 1, 14, 3, 12, 4, 11, 5, 10, 6, 8])
    identifiers = _identifiers([*persons, "p_", "q"])
    got = build_portraits(tmp_path, shuffled, mixed, identifiers.take(list(range(identifiers.num_rows))[::-1]))
    assert got.to_pylist() == expected.to_pylist()


def test_no_persons_gives_an_empty_table(tmp_path: Path) -> None:
    table = build_portraits(tmp_path, _features([]), _labels([]), _identifiers([]))
    assert table.num_rows == 0 and table.schema == portrait_build.PORTRAITS

"""Score identity resolution against the generator's truth: reads ``truth.json`` and the identity map.

Residual duplication = true persons split over more than one resolved person (extra pieces per
true person present); false merges = resolved persons that hold identifiers of two or more true
persons. Junk identifiers (blocked by the guardrails) are ignored on both sides.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa

TRUTH_TYPES = {"tg_user_id": "telegram_user_id", "crm_customer_id": "customer_id", "phone": "phone",
               "email": "email", "tg_username": "username"}


def evaluate_identity(identifiers: pa.Table, truth_path: Path) -> dict[str, Any]:
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    truth_ids: dict[str, dict[str, str]] = truth["identifiers"]
    true_persons_of: dict[str, set[str]] = defaultdict(set)     # resolved person -> true persons
    resolved_of: dict[str, set[str]] = defaultdict(set)         # true person -> resolved persons
    for row in identifiers.select(["id_type", "id_value", "person_id"]).to_pylist():
        table = truth_ids.get(TRUTH_TYPES.get(row["id_type"], ""), {})
        true_person = table.get(row["id_value"])
        if true_person is None:
            continue
        true_persons_of[row["person_id"]].add(true_person)
        resolved_of[true_person].add(row["person_id"])
    resolved = len(true_persons_of)
    true_present = len(resolved_of)
    extra_pieces = sum(len(pieces) - 1 for pieces in resolved_of.values())
    false_merges = sum(1 for persons in true_persons_of.values() if len(persons) > 1)
    return {
        "true_persons": true_present,
        "resolved_persons": resolved,
        "residual_duplicates": extra_pieces,
        "residual_duplication_rate": round(extra_pieces / (true_present + extra_pieces), 6) if true_present else 0.0,
        "false_merges": false_merges,
        "false_merge_rate": round(false_merges / resolved, 6) if resolved else 0.0,
    }

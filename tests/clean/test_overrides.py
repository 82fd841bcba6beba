"""Manual merge/unmerge decisions: the state table, planning from an identity map, and their effect on resolution."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import create_engine

from tgportrait.clean.identity import resolve_identities
from tgportrait.clean.overrides import (
    Override,
    active_overrides,
    override_log,
    plan_merge,
    plan_unmerge,
    record_override,
)
from tgportrait.config import IdentitySettings
from tgportrait.errors import NotFound
from tgportrait.store.tables import IDENTIFIER_TYPES


def records(*rows: dict[str, str]) -> pa.Table:
    return pa.table({"source": [row.get("source", "crm_customers") for row in rows],
                     **{name: [row.get(name) for row in rows] for name in IDENTIFIER_TYPES}})


def person_of(table: pa.Table) -> dict[str, str]:
    return {f"{row['id_type']}:{row['id_value']}": row["person_id"] for row in table.to_pylist()}


ROWS = [{"source": "telegram_export", "tg_user_id": "7", "phone": "+6591234567"},
        {"crm_customer_id": "C1", "phone": "+6591234567", "email": "ann@shop.id"},
        {"crm_customer_id": "C2", "email": "ann@shop.id"}]


def test_decisions_are_logged_and_an_opposite_one_deactivates_the_earlier(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    record_override(engine, Override("split", "crm_customer_id:C1", "tg_user_id:7"), "p_x", "wrong person")
    record_override(engine, Override("merge", "tg_user_id:7", "crm_customer_id:C1"), "p_x")
    assert active_overrides(engine) == [("merge", "tg_user_id:7", "crm_customer_id:C1")]
    log = override_log(engine)
    assert [(row["action"], row["active"], row["note"]) for row in log] == [
        ("split", False, "wrong person"), ("merge", True, None)]


def test_unmerge_keeps_an_identifier_and_its_record_apart_from_the_person() -> None:
    first = resolve_identities(records(*ROWS), IdentitySettings())
    people = person_of(first.identifiers)
    assert len({people[key] for key in ("tg_user_id:7", "crm_customer_id:C1", "crm_customer_id:C2")}) == 1
    split = plan_unmerge(first.identifiers, people["tg_user_id:7"], "crm_customer_id:C2")
    assert split == Override("split", "crm_customer_id:C2", "tg_user_id:7")
    second = resolve_identities(records(*ROWS), IdentitySettings(), overrides=[(split.action, split.left_key,
                                                                                 split.right_key)])
    after = person_of(second.identifiers)
    assert after["crm_customer_id:C2"] != after["tg_user_id:7"]
    assert after["crm_customer_id:C1"] == after["tg_user_id:7"]
    assert {"left": "crm_customer_id:C2", "right": "email:ann@shop.id",
            "reason": "manual unmerge"} in second.refused_merges


def test_merge_joins_two_persons_but_never_two_telegram_ids() -> None:
    rows = [{"crm_customer_id": "C1", "email": "a@x.org"}, {"crm_customer_id": "C9", "email": "b@y.org"},
            {"source": "telegram_export", "tg_user_id": "1"}, {"source": "telegram_export", "tg_user_id": "2"}]
    first = resolve_identities(records(*rows), IdentitySettings())
    merge, kept = plan_merge(first.identifiers, person_of(first.identifiers)["crm_customer_id:C1"], "email:b@y.org")
    assert merge == Override("merge", "crm_customer_id:C1", "email:b@y.org")
    overrides = [("merge", merge.left_key, merge.right_key), ("merge", "tg_user_id:1", "tg_user_id:2")]
    second = resolve_identities(records(*rows), IdentitySettings(), overrides=overrides)
    after = person_of(second.identifiers)
    assert after["crm_customer_id:C1"] == after["crm_customer_id:C9"] == kept
    assert after["tg_user_id:1"] != after["tg_user_id:2"]
    assert {"left": "tg_user_id:1", "right": "tg_user_id:2",
            "reason": "manual merge blocked by a guardrail"} in second.refused_merges
    rules = {f"{row['id_type']}:{row['id_value']}": row["rule"] for row in second.identifiers.to_pylist()}
    assert rules["email:b@y.org"] == "manual merge with crm_customer_id:C1"


def test_bad_identifiers_and_unknown_persons_are_errors() -> None:
    identities = resolve_identities(records(*ROWS), IdentitySettings()).identifiers
    with pytest.raises(NotFound, match="'fax:123' is not an identifier of the form TYPE:VALUE"):
        plan_merge(identities, "fax:123", "tg_user_id:7")
    with pytest.raises(NotFound, match="no person 'p_missing' in the current run"):
        plan_merge(identities, "p_missing", "tg_user_id:7")
    with pytest.raises(NotFound, match="is not part of person"):
        plan_unmerge(identities, "p_other", "tg_user_id:7")

"""Deterministic identity resolution: links, guardrails and stable person ids."""

from __future__ import annotations

import pyarrow as pa

from tgportrait.clean.identity import Identifier, person_id_for, resolve_identities
from tgportrait.config import IdentitySettings
from tgportrait.store.tables import IDENTIFIER_TYPES


def records(*rows: dict[str, str]) -> pa.Table:
    columns = ["source", *IDENTIFIER_TYPES]
    return pa.table({name: pa.array([row.get(name) for row in rows], pa.string()) for name in columns})


def person_of(result_table: pa.Table) -> dict[str, str]:
    return {f"{r['id_type']}:{r['id_value']}": r["person_id"] for r in result_table.to_pylist()}


def test_crm_customer_links_to_telegram_user_through_a_shared_phone() -> None:
    result = resolve_identities(records(
        {"source": "questionnaire", "tg_user_id": "101", "phone": "+6281234567890"},
        {"source": "crm_customers", "crm_customer_id": "C1", "phone": "+6281234567890", "email": "a@shop.id"},
        {"source": "crm_orders", "crm_customer_id": "C1"},
    ), IdentitySettings())
    people = person_of(result.identifiers)
    assert people["tg_user_id:101"] == people["crm_customer_id:C1"] == people["email:a@shop.id"]
    assert people["tg_user_id:101"] == person_id_for(Identifier("tg_user_id", "101"))
    assert result.persons == 1


def test_two_telegram_ids_never_merge_even_through_a_shared_email() -> None:
    result = resolve_identities(records(
        {"source": "questionnaire", "tg_user_id": "1", "email": "family@mail.com"},
        {"source": "questionnaire", "tg_user_id": "2", "email": "family@mail.com"},
    ), IdentitySettings())
    people = person_of(result.identifiers)
    assert people["tg_user_id:1"] != people["tg_user_id:2"]
    assert result.refused_merges and result.refused_merges[0]["reason"] == "two different Telegram ids"


def test_blocked_values_and_patterns_never_link() -> None:
    result = resolve_identities(records(
        {"source": "crm_customers", "crm_customer_id": "C1", "phone": "0000000"},
        {"source": "crm_customers", "crm_customer_id": "C2", "phone": "0000000"},
        {"source": "crm_customers", "crm_customer_id": "C3", "email": "test@test.com"},
        {"source": "crm_customers", "crm_customer_id": "C4", "email": "test@test.com"},
        {"source": "crm_customers", "crm_customer_id": "C5", "email": "qa@example.com"},
        {"source": "crm_customers", "crm_customer_id": "C6", "email": "qa@example.com"},
    ), IdentitySettings())
    assert result.persons == 6
    assert result.blocked == {"blocked value": 2, "blocked pattern": 1}


def test_a_value_shared_by_many_people_is_not_a_link() -> None:
    rows = [{"source": "questionnaire", "tg_user_id": str(i), "phone": "+442079460000"} for i in range(7)]
    rows.append({"source": "crm_customers", "crm_customer_id": "C9", "phone": "+442079460000"})
    result = resolve_identities(records(*rows), IdentitySettings(shared_value_limit=5))
    people = person_of(result.identifiers)
    assert "phone:+442079460000" not in people
    assert result.persons == 8


def test_cap_on_values_per_person_refuses_the_merge_that_exceeds_it() -> None:
    rows = [{"source": "crm_customers", "crm_customer_id": "C1", "phone": f"+6281234567{n:03d}"} for n in range(3)]
    rows.append({"source": "crm_customers", "crm_customer_id": "C1", "phone": "+6281234567999"})
    result = resolve_identities(records(*rows), IdentitySettings(max_values_per_person={"phone": 3}))
    people = person_of(result.identifiers)
    assert people["phone:+6281234567999"] != people["crm_customer_id:C1"]
    assert any(r["reason"] == "more than 3 values of phone" for r in result.refused_merges)


def test_person_ids_are_stable_when_records_arrive_in_another_order() -> None:
    rows = [
        {"source": "crm_customers", "crm_customer_id": "C1", "email": "x@y.com"},
        {"source": "questionnaire", "tg_user_id": "7", "email": "x@y.com"},
        {"source": "crm_customers", "crm_customer_id": "C2", "phone": "+79161234567"},
    ]
    first = person_of(resolve_identities(records(*rows), IdentitySettings()).identifiers)
    second = person_of(resolve_identities(records(*reversed(rows)), IdentitySettings()).identifiers)
    assert first == second


def test_manual_unmerge_keeps_two_identifiers_apart() -> None:
    rows = [{"source": "crm_customers", "crm_customer_id": "C1", "email": "x@y.com"}]
    result = resolve_identities(records(*rows), IdentitySettings(),
                                overrides=[("split", "crm_customer_id:C1", "email:x@y.com")])
    people = person_of(result.identifiers)
    assert people["crm_customer_id:C1"] != people["email:x@y.com"]

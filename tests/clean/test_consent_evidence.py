"""Consent evidence gathered in the engine: the latest of each kind per person, on DuckDB and Spark."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.store.conftest import ENGINE_PARAMS, open_test_engine
from tgportrait.clean.compliance import decide
from tgportrait.clean.consent_evidence import evidence_table, gather_evidence
from tgportrait.store.engine import Engine
from tgportrait.store.tables import EVENTS

AT = datetime(2026, 6, 1)
T0 = datetime(2026, 1, 1)


@pytest.fixture(scope="module", params=ENGINE_PARAMS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    opened = open_test_engine(request.param, Path(tmp_path_factory.mktemp(f"evidence-{request.param}")))
    yield opened
    opened.close()


def _events(rows: list[dict[str, Any]]) -> pa.Table:
    filled = [{name: row.get(name) for name in EVENTS.names} | {"event_id": f"e{index:03d}"}
              for index, row in enumerate(rows)]
    table = pa.Table.from_pylist(filled, schema=EVENTS)
    return table.append_column("person_id", pa.array([row["person_id"] for row in rows], pa.string()))


def _answer(person: str, key: str, value: str, day: int) -> dict[str, Any]:
    return {"person_id": person, "type": "questionnaire_answer", "answer_key": key, "answer_value": value,
            "occurred_at": T0 + timedelta(days=day)}


def _gather(engine: Engine, rows: list[dict[str, Any]], persons: list[str],
            ledger: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    events = engine.from_arrow(_events(rows), "evidence_events")
    table = engine.execute(evidence_table(events), "evidence")
    assert table.num_rows == len({row["person_id"] for row in rows})   # one row per person
    identifiers = pa.table({"person_id": persons, "id_type": ["tg_user_id"] * len(persons),
                            "id_value": [str(index) for index in range(len(persons))]})
    return gather_evidence(table, identifiers, ledger or [], AT)


def test_the_latest_answer_of_each_kind_wins(engine: Engine) -> None:
    rows = [_answer("p1", "region", "Brazil", 1), _answer("p1", "region", "Indonesia", 5),
            _answer("p1", "region", "  ", 9),                      # blank: not evidence
            _answer("p1", "age", "34", 1), _answer("p1", "age", "-3", 6), _answer("p1", "age", "150", 7),
            _answer("p1", "consent_profiling", "YES", 2), _answer("p1", "consent_profiling", "no", 3),
            _answer("p1", "consent_profiling", "maybe", 8)]
    person = _gather(engine, rows, ["p1"])["p1"]
    assert (person.q_region, person.age, person.age_source) == ("ID", 34, "questionnaire")
    assert person.decisions == [{"purpose": "profiling", "granted": False, "source": "questionnaire",
                                 "at": T0 + timedelta(days=3)}]


def test_age_prefers_the_answer_then_the_band_then_the_crm_birth_date(engine: Engine) -> None:
    profile = {"type": "customer_profile", "birth_date": date(2000, 6, 2), "country": "Malaysia",
               "occurred_at": T0}
    rows = [_answer("p1", "age_band", "25-34", 1), _answer("p1", "age", "41", 0), {"person_id": "p1", **profile},
            _answer("p2", "age_band", "55+", 1), _answer("p2", "age_band", "under 18", 2),
            {"person_id": "p2", **profile},
            {"person_id": "p3", **profile}]
    found = _gather(engine, rows, ["p1", "p2", "p3"])
    assert [(found[p].age, found[p].age_source) for p in ("p1", "p2", "p3")] == [
        (41, "questionnaire"), (55, "questionnaire"), (25, "crm")]     # 2000-06-02 is one day short of 26
    assert found["p3"].crm_country == "MY"


def test_a_stop_refuses_marketing_unless_a_later_answer_grants_it(engine: Engine) -> None:
    stop = {"type": "stop", "occurred_at": T0 + timedelta(days=4)}
    rows = [_answer("p1", "consent_marketing", "yes", 1), {"person_id": "p1", **stop},
            {"person_id": "p2", **stop}, _answer("p2", "consent_marketing", "yes", 9)]
    found = _gather(engine, rows, ["p1", "p2"])
    assert [(d["granted"], d["source"]) for d in found["p1"].decisions] == [(False, "stop")]
    assert [(d["granted"], d["source"]) for d in found["p2"].decisions] == [(True, "questionnaire")]


def test_language_code_is_a_hint_and_the_phone_counts_only_without_a_region(engine: Engine) -> None:
    rows = [{"person_id": "p1", "type": "message", "occurred_at": T0 + timedelta(days=day), "language_code": code}
            for day, code in ((1, "en"), (2, "id-ID"))]
    rows.append(_answer("p2", "region", "VN", 1))
    events = engine.from_arrow(_events(rows), "hint_events")
    table = engine.execute(evidence_table(events), "hint_evidence")
    identifiers = pa.table({"person_id": ["p1", "p2", "p3"], "id_type": ["phone", "phone", "tg_user_id"],
                            "id_value": ["+5511987654321", "+5511987654322", "7"]})
    found = gather_evidence(table, identifiers, [], AT)
    assert (found["p1"].language_hint, found["p1"].phone_region) == ("ID", "BR")
    assert (found["p2"].q_region, found["p2"].phone_region) == ("VN", None)
    assert found["p3"].q_region is None and found["p3"].decisions == []      # no events: still decided
    assert decide(found["p1"]).reasons[0].startswith("region BR (phone) -> rules compliance/BR.yaml")


def test_ledger_decisions_join_the_answers_through_any_identifier(engine: Engine) -> None:
    ledger = [{"person_key": "tg_user_id:1", "purpose": "sensitive", "granted": True, "source": "bot",
               "at": T0 + timedelta(days=2)}]
    rows = [_answer("p1", "consent_sensitive", "no", 1), _answer("p2", "region", "ID", 1)]
    found = _gather(engine, rows, ["p1", "p2"], ledger)
    assert [(d["granted"], d["source"]) for d in found["p1"].decisions] == [(False, "questionnaire")]
    assert [(d["granted"], d["source"]) for d in found["p2"].decisions] == [(True, "ledger:bot")]

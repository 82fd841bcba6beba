"""quality: invalid identifiers (CRM, questionnaire, Telegram), junk values and consent-blocked events (DuckDB)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from tgportrait.build import build
from tgportrait.clean.consent import record_consent
from tgportrait.cli import cli
from tgportrait.collect import import_file
from tgportrait.collect.ingest import count_invalid_identifiers, invalid_identifier_reason
from tgportrait.store.state import State, connect_state
from tgportrait.workspace import Workspace

AS_OF = datetime(2026, 11, 30)
BAD_EMAIL = "email: not an e-mail address (expected local@domain.tld)"
BAD_PHONE = "phone: not a valid phone number"
BAD_USERNAME = "telegram_username: not a Telegram username (5-32 characters of a-z, 0-9 and _)"
NULL_PHONE = "phone: placeholder is not a value"
NULL_EMAIL = "email: placeholder is not a value"
BLOCKED_PATTERN_EMAIL = "email: matches a blocked pattern"
INVALID = {BAD_EMAIL: 1, BAD_PHONE: 1, BAD_USERNAME: 1, NULL_PHONE: 1, NULL_EMAIL: 1}
CUSTOMERS = ("customer_id,full_name,phone,email,birth_date,country,telegram_username\n"
             "C1,Anna Berg,+44 7400 123456,anna@example.com,1990-01-02,GB,anna_berg\n"
             "C2,Bob Crane,12345,bob@,1985-03-04,GB,\n"            # bad phone, e-mail without a domain
             "C3,Cara Dunn,null,null,1979-05-06,GB,ab\n"           # 'null' placeholders are junk; username too short
             "C4,Dan Eve,+44 7400 654321,dan@example.com,1992-07-08,GB,\n")


def test_invalid_identifier_reason_drops_the_value_and_region() -> None:
    assert invalid_identifier_reason("phone", "'12345' is not a valid phone number for GB") == BAD_PHONE
    assert invalid_identifier_reason("phone", "phone '5551234' has no country code and the row has no country") == \
        "phone: phone has no country code and the row has no country"
    assert invalid_identifier_reason("email", "'bob@' is not an e-mail address (expected local@domain.tld)") == \
        BAD_EMAIL


def test_count_invalid_identifiers_reads_raw_json() -> None:
    raw = pa.array(['{"a": 1}', None, '{"a": 2, "invalid_identifiers": {"phone": {"value": "1", "reason": '
                    '"\'1\' is not a valid phone number for GB"}, "email": {"value": "x", "reason": "\'x\' is not '
                    'an e-mail address (expected local@domain.tld)"}}}',
                    '{"invalid_identifiers": {"phone": {"value": "2", "reason": '
                    '"\'2\' is not a valid phone number"}}}'])
    assert count_invalid_identifiers(raw) == {BAD_EMAIL: 1, BAD_PHONE: 2}


def test_quality_counts_invalid_identifiers_and_consent_blocked(tmp_path: Path) -> None:
    csv = tmp_path / "customers.csv"
    csv.write_text(CUSTOMERS)
    Workspace.init(tmp_path / "ws", "beauty").close()
    with (tmp_path / "ws" / "tgportrait.toml").open("a") as handle:   # four customers: too few pairs for Splink
        handle.write("\n[identity]\nfuzzy_linkage = false\n")
    workspace = Workspace.open(tmp_path / "ws")
    import_file(workspace, "crm-customers", csv)
    import_file(workspace, "crm-customers", csv)                       # re-import: no new invalid identifiers
    assert [entry["invalid_identifiers"] for entry in workspace.state.imports()] == [INVALID, {}]

    first = build(workspace, as_of=AS_OF)
    customers = first.quality["by_source"]["crm_customers"]
    assert customers["invalid_identifiers"] == 5
    assert customers["invalid_identifiers_by_reason"] == INVALID
    assert first.quality["before"]["invalid_identifiers"] == 5
    assert first.quality["before"]["invalid_identifiers_by_reason"] == INVALID
    # the two @example.com e-mails pass import, but the guardrails block them: kept, never linking
    assert customers["blocked_identifiers_by_reason"] == {BLOCKED_PATTERN_EMAIL: 2}
    assert first.quality["before"]["blocked_identifiers"] == 2
    assert customers["invalid"] == 0 and customers["kept"] == 4           # a bad identifier never rejects the row
    assert (customers["consent_blocked"], customers["consent_blocked_share"]) == (0, 0.0)   # UK: opt-out basis
    assert first.counts["excluded_by_consent"] == 0

    record_consent(workspace.state, "crm_customer_id:C4", "profiling", granted=False, source="test",
                   at=datetime(2026, 1, 1))
    second = build(workspace, as_of=AS_OF)
    customers = second.quality["by_source"]["crm_customers"]
    assert (customers["consent_blocked"], customers["consent_blocked_share"]) == (1, 0.25)
    assert (second.quality["after"]["consent_blocked"], second.quality["after"]["consent_blocked_share"]) == (1, 0.25)
    assert second.counts["excluded_by_consent"] == 1
    workspace.close()

    result = CliRunner().invoke(cli, ["quality", "-w", str(tmp_path / "ws")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert " ".join(result.output.split()).count(
        "Consent: 1 cleaned events (25.0%) belong to persons excluded from profiling; redundant share 0.0%; "
        "invalid identifiers dropped at import: 5") == 1


def test_an_old_state_database_gets_the_invalid_identifiers_column(tmp_path: Path) -> None:
    old = create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    with old.begin() as connection:
        connection.execute(text("CREATE TABLE imports (id INTEGER PRIMARY KEY, source VARCHAR(40) NOT NULL, "
                                "file TEXT NOT NULL, imported INTEGER NOT NULL, duplicates INTEGER NOT NULL, "
                                "quarantined INTEGER NOT NULL, by_type JSON NOT NULL, imported_at DATETIME NOT NULL)"))
    old.dispose()
    state = State(connect_state("sqlite:///state.db", tmp_path))
    state.record_import("crm_customers", "a.csv", 1, 0, 0, {"customer_profile": 1}, {BAD_PHONE: 1})
    assert [entry["invalid_identifiers"] for entry in state.imports()] == [{BAD_PHONE: 1}]
    state.engine.dispose()


QUESTIONNAIRE = ("telegram_user_id,phone,email,username,region,skin_type\n"
                 "101,12345,q@,ab,GB,dry\n"                            # bad phone, e-mail without a domain, short name
                 "102,null,test@test.com,okuser_1,GB,oily\n"           # placeholder phone, a blocked junk e-mail
                 "103,+44 7400 111222,cara@example.com,cara_user,GB,\n")  # e-mail matching a blocked pattern
TELEGRAM_UPDATES = [
    {"update_id": 1, "message": {"message_id": 1, "date": 1764000000, "chat": {"id": -100, "type": "supergroup"},
                                 "from": {"id": 201, "is_bot": False, "first_name": "Ed", "username": "abc"},
                                 "text": "hello"}},
    {"update_id": 2, "message": {"message_id": 2, "date": 1764000060, "chat": {"id": 202, "type": "private"},
                                 "from": {"id": 202, "is_bot": False, "first_name": "Fay", "username": "abc"},
                                 "contact": {"phone_number": "12", "first_name": "Fay", "user_id": 202}}},
    {"update_id": 3, "message": {"message_id": 3, "date": 1764000120, "chat": {"id": 202, "type": "private"},
                                 "from": {"id": 202, "is_bot": False, "first_name": "Fay", "username": "fay_user"},
                                 "text": "thanks"}},
]
SHORT_PHONE = "phone: not a phone number"
QUESTIONNAIRE_INVALID = {BAD_EMAIL: 1, BAD_PHONE: 1, BAD_USERNAME: 1, NULL_PHONE: 1}
QUESTIONNAIRE_BLOCKED = {"email: blocked junk value": 1, BLOCKED_PATTERN_EMAIL: 1}
TELEGRAM_INVALID = {BAD_USERNAME: 2, SHORT_PHONE: 1}


def test_questionnaire_and_telegram_identifiers_are_counted_with_reasons(tmp_path: Path) -> None:
    from tgportrait.collect.inbox import store_update

    questionnaire = tmp_path / "questionnaire.csv"
    questionnaire.write_text(QUESTIONNAIRE)
    Workspace.init(tmp_path / "ws", "beauty").close()
    with (tmp_path / "ws" / "tgportrait.toml").open("a") as handle:
        handle.write("\n[identity]\nfuzzy_linkage = false\n")
    workspace = Workspace.open(tmp_path / "ws")
    import_file(workspace, "questionnaire", questionnaire)
    import_file(workspace, "questionnaire", questionnaire)             # re-import: nothing new counted
    # one invalid set per row, however many answer events the row gives; junk values are counted at build
    assert [entry["invalid_identifiers"] for entry in workspace.state.imports()] == [QUESTIONNAIRE_INVALID, {}]
    for update in TELEGRAM_UPDATES:
        store_update(workspace.state, update)

    report = build(workspace, as_of=AS_OF)
    by_source = report.quality["by_source"]
    assert by_source["questionnaire"]["invalid_identifiers_by_reason"] == QUESTIONNAIRE_INVALID
    assert by_source["questionnaire"]["invalid_identifiers"] == 4
    assert by_source["questionnaire"]["blocked_identifiers_by_reason"] == QUESTIONNAIRE_BLOCKED
    assert by_source["telegram_bot"]["invalid_identifiers_by_reason"] == TELEGRAM_INVALID
    assert by_source["telegram_bot"]["invalid_identifiers"] == 3
    assert by_source["telegram_bot"]["blocked_identifiers_by_reason"] == {}
    assert report.quality["before"]["invalid_identifiers"] == 7
    assert report.quality["before"]["invalid_identifiers_by_reason"] == {
        BAD_EMAIL: 1, BAD_PHONE: 1, BAD_USERNAME: 3, NULL_PHONE: 1, SHORT_PHONE: 1}
    assert report.quality["before"]["blocked_identifiers"] == 2
    workspace.close()

    shown = json.loads(CliRunner().invoke(cli, ["quality", "--json", "-w", str(tmp_path / "ws")]).output)
    assert shown["by_source"]["questionnaire"]["invalid_identifiers_by_reason"] == QUESTIONNAIRE_INVALID
    assert shown["by_source"]["questionnaire"]["blocked_identifiers_by_reason"] == QUESTIONNAIRE_BLOCKED
    assert shown["by_source"]["telegram_bot"]["invalid_identifiers_by_reason"] == TELEGRAM_INVALID

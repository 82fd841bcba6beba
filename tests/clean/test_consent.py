"""The consent ledger: append-only decisions, latest per purpose wins, erasure of a person's keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tgportrait.clean.consent import consent_ledger, consents_of, forget_consents, latest_decisions, record_consent
from tgportrait.errors import InputError
from tgportrait.workspace import Workspace

T0 = datetime(2026, 5, 1, 12, 0)


def test_latest_decision_per_purpose_wins_across_keys(workspace: Workspace) -> None:
    state = workspace.state
    record_consent(state, "tg_user_id:1", "marketing", True, "bot:button", T0)
    record_consent(state, "phone:+6281200000001", "marketing", False, "bot:stop", T0 + timedelta(days=1))
    record_consent(state, "tg_user_id:1", "profiling", True, "bot:button", T0)
    record_consent(state, "tg_user_id:2", "profiling", False, "bot:button", T0 + timedelta(days=9))
    decisions = consents_of(state, ["tg_user_id:1", "phone:+6281200000001"])
    assert {purpose: d.granted for purpose, d in decisions.items()} == {"marketing": False, "profiling": True}
    assert decisions["marketing"].source == "bot:stop"
    assert consents_of(state, "tg_user_id:2")["profiling"].as_dict() == {
        "purpose": "profiling", "granted": False, "source": "bot:button", "at": "2026-05-10T12:00:00"}


def test_aware_times_are_stored_as_utc(workspace: Workspace) -> None:
    jakarta = timezone(timedelta(hours=7))
    at = datetime(2026, 5, 1, 19, 0, tzinfo=jakarta)
    record_consent(workspace.state, "tg_user_id:5", "sensitive", True, "bot", at)
    assert consent_ledger(workspace.state)[0]["at"] == datetime(2026, 5, 1, 12, 0)
    assert at.astimezone(UTC).replace(tzinfo=None) == datetime(2026, 5, 1, 12, 0)


def test_bad_key_and_purpose_are_refused(workspace: Workspace) -> None:
    with pytest.raises(InputError, match="consent person key '123' is not 'type:value'"):
        record_consent(workspace.state, "123", "profiling", True, "bot", T0)
    with pytest.raises(InputError, match="consent purpose 'ads' is unknown"):
        record_consent(workspace.state, "tg_user_id:1", "ads", True, "bot", T0)
    assert consent_ledger(workspace.state) == []


def test_forget_consents_deletes_only_those_keys(workspace: Workspace) -> None:
    record_consent(workspace.state, "tg_user_id:1", "profiling", True, "bot", T0)
    record_consent(workspace.state, "tg_user_id:2", "profiling", True, "bot", T0)
    assert forget_consents(workspace.state, ["tg_user_id:1"]) == 1
    assert [row["person_key"] for row in consent_ledger(workspace.state)] == ["tg_user_id:2"]


def test_latest_decisions_orders_by_time_not_by_input_order() -> None:
    rows = [{"purpose": "profiling", "granted": False, "source": "b", "at": T0 + timedelta(hours=1)},
            {"purpose": "profiling", "granted": True, "source": "a", "at": T0}]
    assert latest_decisions(rows)["profiling"].source == "b"

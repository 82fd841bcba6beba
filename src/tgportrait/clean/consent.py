"""The consent ledger: reads and writes the ``consent_ledger`` state table (one row per decision).

Public API (stable; the bot records button answers through it)::

    record_consent(state, "tg_user_id:123", "profiling", granted=True, source="bot:button", at=datetime)
    consents_of(state, ["tg_user_id:123", "phone:+6281..."])  -> {"profiling": Decision, ...}
    consent_ledger(state) -> list[dict]   (every row, oldest first)

``person_key`` is ``"<identifier type>:<value>"`` with a normalised identifier (``tg_user_id``,
``phone`` in E.164, ``email``, ``tg_username``, ``crm_customer_id``). ``purpose`` is one of
``profiling``, ``marketing``, ``sensitive``. The latest decision (by ``at``, then insertion order)
wins per purpose. Withdrawal of marketing after ``/stop`` or a blocked bot is
``record_consent(state, key, "marketing", False, "bot:stop", at)``. Questionnaire answers
(``consent_*`` events) are merged with the ledger at build time by ``tgportrait.clean.compliance``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Boolean, Column, DateTime, Integer, String, Table, Text, delete, insert, select

from tgportrait.errors import InputError
from tgportrait.store.state import METADATA, State

Purpose = Literal["profiling", "marketing", "sensitive"]
PURPOSES: tuple[Purpose, ...] = ("profiling", "marketing", "sensitive")

CONSENT_LEDGER = Table(
    "consent_ledger", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_key", Text, nullable=False, index=True),  # "email:" + up to 254 characters; PostgreSQL checks
    Column("purpose", String(20), nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("source", String(80), nullable=False),
    Column("decided_at", DateTime, nullable=False),
)


@dataclass(frozen=True)
class Decision:
    """One consent decision: granted or not, where it came from, and when."""

    purpose: str
    granted: bool
    source: str
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"purpose": self.purpose, "granted": self.granted, "source": self.source, "at": self.at.isoformat()}


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _check(person_key: str, purpose: str) -> None:
    kind, _, value = person_key.partition(":")
    if not kind or not value:
        raise InputError(f"consent person key {person_key!r} is not 'type:value'",
                         hint="use e.g. 'tg_user_id:123' or 'phone:+6281234567890'")
    if purpose not in PURPOSES:
        raise InputError(f"consent purpose {purpose!r} is unknown", hint=f"use one of {', '.join(PURPOSES)}")


def record_consent(state: State, person_key: str, purpose: str, granted: bool, source: str, at: datetime) -> None:
    """Append one decision to the ledger (never updates: the ledger is the history)."""
    _check(person_key, purpose)
    CONSENT_LEDGER.create(state.engine, checkfirst=True)
    with state.engine.begin() as connection:
        connection.execute(insert(CONSENT_LEDGER).values(
            person_key=person_key, purpose=purpose, granted=bool(granted), source=source[:80],
            decided_at=_naive_utc(at)))


def consent_ledger(state: State, person_keys: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Every ledger row (optionally only for ``person_keys``), oldest decision first."""
    CONSENT_LEDGER.create(state.engine, checkfirst=True)
    query = select(CONSENT_LEDGER).order_by(CONSENT_LEDGER.c.decided_at, CONSENT_LEDGER.c.id)
    if person_keys is not None:
        query = query.where(CONSENT_LEDGER.c.person_key.in_(sorted(set(person_keys))))
    with state.engine.connect() as connection:
        return [{"person_key": r.person_key, "purpose": r.purpose, "granted": r.granted, "source": r.source,
                 "at": r.decided_at} for r in connection.execute(query)]


def latest_decisions(rows: Iterable[dict[str, Any]]) -> dict[str, Decision]:
    """Fold decision rows (``purpose``, ``granted``, ``source``, ``at``) into the latest per purpose."""
    latest: dict[str, Decision] = {}
    for row in sorted(rows, key=lambda r: r["at"]):
        latest[row["purpose"]] = Decision(row["purpose"], bool(row["granted"]), row["source"], row["at"])
    return latest


def consents_of(state: State, person_keys: str | Iterable[str]) -> dict[str, Decision]:
    """The latest ledger decision per purpose over all of a person's keys (one key or several)."""
    keys = [person_keys] if isinstance(person_keys, str) else list(person_keys)
    return latest_decisions(consent_ledger(state, keys))


def forget_consents(state: State, person_keys: Iterable[str]) -> int:
    """Delete every ledger row of these keys (erasure); returns how many were deleted."""
    CONSENT_LEDGER.create(state.engine, checkfirst=True)
    with state.engine.begin() as connection:
        result = connection.execute(delete(CONSENT_LEDGER).where(
            CONSENT_LEDGER.c.person_key.in_(sorted(set(person_keys)))))
    return int(result.rowcount or 0)

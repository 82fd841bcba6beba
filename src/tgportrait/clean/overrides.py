"""Manual identity decisions: reads and writes the ``identity_overrides`` state table (the merge log).

``tgportrait identity merge A B`` stores a *merge* of two identifiers; ``identity unmerge PERSON
IDENTIFIER`` stores a *split*: the identifier is kept apart from the person's anchor identifier.
Every decision is a row with who-asked-when and the person it was taken on; rows are never
deleted, only deactivated by a later opposite decision, so the table is the log. Each build reads
the active decisions (:func:`active_overrides`) and hands them to
:func:`tgportrait.clean.identity.resolve_identities`, so they survive rebuilds and the next build
re-attributes events and labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Boolean, Column, DateTime, Engine, Integer, String, Table, Text, insert, select, update

from tgportrait.errors import NotFound
from tgportrait.store.state import METADATA
from tgportrait.store.tables import IDENTIFIER_TYPES

IDENTITY_OVERRIDES = Table(
    "identity_overrides", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("action", String(8), nullable=False),          # merge | split
    Column("left_key", Text, nullable=False),             # type:value
    Column("right_key", Text, nullable=False),
    Column("person_id", String(40)),                      # the person the decision was taken on
    Column("note", Text),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
)


@dataclass(frozen=True)
class Override:
    action: str
    left_key: str
    right_key: str


def _ensure(engine: Engine) -> None:
    IDENTITY_OVERRIDES.create(engine, checkfirst=True)


def active_overrides(engine: Engine) -> list[tuple[str, str, str]]:
    """(action, left_key, right_key) of every active decision, oldest first (the build's input)."""
    _ensure(engine)
    with engine.connect() as connection:
        rows = connection.execute(select(IDENTITY_OVERRIDES).where(IDENTITY_OVERRIDES.c.active)
                                  .order_by(IDENTITY_OVERRIDES.c.id)).mappings().all()
    return [(row["action"], row["left_key"], row["right_key"]) for row in rows]


def override_log(engine: Engine) -> list[dict[str, Any]]:
    """Every decision ever taken, newest last, including deactivated ones."""
    _ensure(engine)
    with engine.connect() as connection:
        rows = connection.execute(select(IDENTITY_OVERRIDES).order_by(IDENTITY_OVERRIDES.c.id)).mappings().all()
    return [{**dict(row), "created_at": row["created_at"].isoformat()} for row in rows]


def record_override(engine: Engine, override: Override, person_id: str | None, note: str | None = None) -> int:
    """Store a decision; the opposite active decision on the same pair is deactivated. Returns the row id."""
    _ensure(engine)
    opposite = "split" if override.action == "merge" else "merge"
    pair = {override.left_key, override.right_key}
    with engine.begin() as connection:
        for row in connection.execute(select(IDENTITY_OVERRIDES).where(
                IDENTITY_OVERRIDES.c.active & (IDENTITY_OVERRIDES.c.action == opposite))).mappings().all():
            if {row["left_key"], row["right_key"]} == pair:
                connection.execute(update(IDENTITY_OVERRIDES).where(IDENTITY_OVERRIDES.c.id == row["id"])
                                   .values(active=False))
        result = connection.execute(insert(IDENTITY_OVERRIDES).values(
            action=override.action, left_key=override.left_key, right_key=override.right_key, person_id=person_id,
            note=note, active=True, created_at=datetime.now(UTC).replace(tzinfo=None)))
    return int(result.inserted_primary_key[0]) if result.inserted_primary_key else 0


def parse_identifier(text: str) -> str:
    """``type:value`` → the identifier key; the type must be one of IDENTIFIER_TYPES."""
    id_type, sep, value = text.partition(":")
    if not sep or id_type not in IDENTIFIER_TYPES or not value.strip():
        raise NotFound(f"'{text}' is not an identifier of the form TYPE:VALUE",
                       hint=f"Use one of {', '.join(IDENTIFIER_TYPES)}, e.g. 'email:ann@example.org' or "
                            "'tg_user_id:123'.")
    return f"{id_type}:{value.strip()}"


def anchor_key(identities: pa.Table, person_id: str) -> str:
    """The identifier a person id was derived from (its ``anchor`` row) in a run's identity map."""
    rows = identities.filter(pc.equal(identities.column("person_id"), person_id)).to_pylist()
    if not rows:
        raise NotFound(f"no person '{person_id}' in the current run",
                       hint="Use a person id from 'tgportrait persons' or 'tgportrait identity export'.")
    anchor = next((row for row in rows if row["rule"] == "anchor"), rows[0])
    return f"{anchor['id_type']}:{anchor['id_value']}"


def plan_merge(identities: pa.Table, left: str, right: str) -> tuple[Override, str]:
    """A merge of two persons (``p_...``) or identifiers (``type:value``); returns it and the kept person id."""
    keys = [anchor_key(identities, item) if item.startswith("p_") else parse_identifier(item) for item in (left, right)]
    person = _person_of(identities, keys[0])
    return Override("merge", keys[0], keys[1]), person or keys[0]


def plan_unmerge(identities: pa.Table, person_id: str, identifier: str) -> Override:
    """Keep ``identifier`` apart from the person it is in now (from the person's anchor identifier)."""
    key = parse_identifier(identifier)
    if _person_of(identities, key) != person_id:
        raise NotFound(f"identifier '{key}' is not part of person '{person_id}' in the current run",
                       hint=f"See 'tgportrait identity explain {person_id}' for its identifiers.")
    anchor = anchor_key(identities, person_id)
    if anchor == key:
        others = identities.filter(pc.equal(identities.column("person_id"), person_id)).to_pylist()
        rest = sorted(f"{row['id_type']}:{row['id_value']}" for row in others if row["rule"] != "anchor")
        if not rest:
            raise NotFound(f"person '{person_id}' has only the identifier '{key}'", hint="Nothing to unmerge.")
        anchor = rest[0]
    return Override("split", key, anchor)


def _person_of(identities: pa.Table, key: str) -> str | None:
    id_type, _, value = key.partition(":")
    mask = pc.and_(pc.equal(identities.column("id_type"), id_type), pc.equal(identities.column("id_value"), value))
    found = identities.filter(mask).column("person_id").to_pylist()
    return str(found[0]) if found else None

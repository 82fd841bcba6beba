"""The state store (SQLAlchemy; SQLite in WAL mode by default, PostgreSQL for servers).

Reads and writes the operational tables: ``quarantine`` (rejected input with its reason),
``imports`` (one row per imported file), ``runs`` (the registry of builds). Later stages add
their own tables to the same ``METADATA``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url

METADATA = MetaData()

QUARANTINE = Table(
    "quarantine", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(40), nullable=False),
    Column("file", Text, nullable=False),
    Column("row", Integer),
    Column("reason", Text, nullable=False),
    Column("raw", Text),
    Column("quarantined_at", DateTime, nullable=False),
)

IMPORTS = Table(
    "imports", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(40), nullable=False),
    Column("file", Text, nullable=False),
    Column("imported", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("by_type", JSON, nullable=False),
    Column("imported_at", DateTime, nullable=False),
    Column("invalid_identifiers", JSON),  # {reason: n} rejected identifiers on the imported events
)

RUNS = Table(
    "runs", METADATA,
    Column("run_id", String(64), primary_key=True),
    Column("engine", Text, nullable=False),       # a Spark master URL can be long; PostgreSQL enforces lengths
    Column("status", String(16), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("counts", JSON),
    Column("timings", JSON),
    Column("error", Text),
)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def connect_state(url: str, workspace_root: Path) -> Engine:
    """Open (and create) the state database; relative SQLite paths live in the workspace."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        database = Path(parsed.database)
        if not database.is_absolute():
            database = workspace_root / database
        parsed = parsed.set(database=str(database))
    engine = create_engine(parsed)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    METADATA.create_all(engine)
    _add_invalid_identifiers_column(engine)
    return engine


def _add_invalid_identifiers_column(engine: Engine) -> None:
    """Add ``imports.invalid_identifiers`` to a state database created before the column existed."""
    if "invalid_identifiers" not in {column["name"] for column in inspect(engine).get_columns("imports")}:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE imports ADD COLUMN invalid_identifiers JSON"))


class State:
    """Small typed accessors over the state tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_quarantine(self, source: str, rows: list[dict[str, Any]]) -> int:
        """Add rejected rows; a row already quarantined with the same (file, row, reason) is skipped.

        Re-importing a file therefore does not duplicate its quarantine entries. Returns how many were added.
        """
        if not rows:
            return 0
        now = utcnow()
        with self.engine.begin() as connection:
            files = sorted({r["file"] for r in rows})
            query = select(QUARANTINE.c.file, QUARANTINE.c.row, QUARANTINE.c.reason).where(QUARANTINE.c.file.in_(files))
            seen = {(r.file, r.row, r.reason) for r in connection.execute(query)}
            payload: list[dict[str, Any]] = []
            for r in rows:
                key = (r["file"], r.get("row"), r["reason"])
                if key in seen:
                    continue
                seen.add(key)
                payload.append({"source": source, "file": r["file"], "row": r.get("row"), "reason": r["reason"],
                                "raw": r.get("raw"), "quarantined_at": now})
            if payload:
                connection.execute(insert(QUARANTINE), payload)
        return len(payload)

    def quarantine(self, limit: int | None = None) -> list[dict[str, Any]]:
        query = select(QUARANTINE).order_by(QUARANTINE.c.id)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            return [
                {"source": r.source, "file": r.file, "row": r.row, "reason": r.reason, "raw": r.raw,
                 "quarantined_at": r.quarantined_at.isoformat()}
                for r in connection.execute(query)
            ]

    def record_import(self, source: str, file: str, imported: int, duplicates: int, quarantined: int,
                      by_type: dict[str, int], invalid_identifiers: dict[str, int] | None = None) -> None:
        with self.engine.begin() as connection:
            connection.execute(insert(IMPORTS).values(
                source=source, file=file, imported=imported, duplicates=duplicates, quarantined=quarantined,
                by_type=by_type, imported_at=utcnow(), invalid_identifiers=invalid_identifiers or {}))

    def imports(self) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            return [dict(r._mapping) for r in connection.execute(select(IMPORTS).order_by(IMPORTS.c.id))]

    def start_run(self, run_id: str, engine_url: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(insert(RUNS).values(run_id=run_id, engine=engine_url, status="running",
                                                   started_at=utcnow()))

    def finish_run(self, run_id: str, status: str, counts: dict[str, Any] | None = None,
                   timings: dict[str, float] | None = None, error: str | None = None) -> None:
        with self.engine.begin() as connection:
            connection.execute(RUNS.update().where(RUNS.c.run_id == run_id).values(
                status=status, finished_at=utcnow(), counts=json.loads(json.dumps(counts or {}, default=str)),
                timings=timings or {}, error=error))

    def runs(self) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            return [dict(r._mapping) for r in connection.execute(select(RUNS).order_by(RUNS.c.started_at))]

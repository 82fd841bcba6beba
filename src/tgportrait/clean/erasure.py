"""Erasure and access: reads every store of a workspace; rewrites the lake's event parts, every published run,
the registered exports and the state store without a person, and writes tombstones and the request log.

``forget`` removes rows holding the person (by person id or identifier) and redacts their identifiers and
names wherever else they appear as text, then vacuums the SQLite state so deleted rows leave no bytes.
A tombstone is HMAC-SHA256(``.secret/tombstone.key``, ``"type:value"``) of each identifier; ingest drops
events carrying a tombstoned identifier (``drop_tombstoned``), so a re-import cannot bring the person back.
``export_person`` gathers what an access request needs. Both log the request with its legal deadline.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    cast,
    delete,
    insert,
    or_,
    select,
    text,
)

from tgportrait.clean.compliance import jurisdiction_of, logged_decision
from tgportrait.clean.consent import consent_ledger, forget_consents
from tgportrait.errors import NotFound
from tgportrait.store.state import METADATA, State, utcnow

if TYPE_CHECKING:
    from tgportrait.workspace import Workspace

KEY_FILE = Path(".secret") / "tombstone.key"
IDENTIFIER_COLUMNS = ("tg_user_id", "tg_username", "phone", "email", "crm_customer_id")
NAME_COLUMNS = ("display_name", "full_name")
REDACTED = "[erased]"
EXPORTS_REGISTRY = Path(".exports")
TOMBSTONES = Table(
    "tombstones", METADATA,
    Column("digest", String(64), primary_key=True),
    Column("created_at", DateTime, nullable=False),
)
REQUESTS = Table(
    "privacy_requests", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),           # access | erasure
    Column("subject", String(64), nullable=False),        # tombstone digest of the first identifier
    Column("jurisdiction", String(16), nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("due_at", DateTime, nullable=False),
    Column("completed_at", DateTime),
)
TOMBSTONE_DROPS = Table(
    "tombstone_drops", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file", String(500), nullable=False),
    Column("dropped", Integer, nullable=False),
    Column("dropped_at", DateTime, nullable=False),
)
OWN_TABLES = {"tombstones", "privacy_requests", "tombstone_drops", "runs", "imports"}


def ensure_tombstone_key(root: Path) -> Path:
    """Create the workspace's secret tombstone key once (32 random bytes, hex, mode 0600); never logged."""
    path = root / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="ascii")
        os.chmod(path, 0o600)
    return path


def register_export(root: Path, path: Path) -> None:
    """Remember a file written by ``segment --export`` so that ``forget`` can scrub it."""
    registry = root / EXPORTS_REGISTRY
    known = set(registry.read_text(encoding="utf-8").splitlines()) if registry.exists() else set()
    if str(path.resolve()) not in known:
        with registry.open("a", encoding="utf-8") as handle:
            handle.write(f"{path.resolve()}\n")


def exported_files(workspace: Workspace) -> list[Path]:
    """The registered exports that still exist."""
    registry = workspace.root / EXPORTS_REGISTRY
    lines = registry.read_text(encoding="utf-8").splitlines() if registry.exists() else []
    return [Path(line) for line in lines if line and Path(line).is_file()]


def tombstone_digest(key: bytes, id_type: str, value: str) -> str:
    return hmac.new(key, f"{id_type}:{value}".encode(), hashlib.sha256).hexdigest()


def _key(workspace: Workspace) -> bytes:
    return ensure_tombstone_key(workspace.root).read_text(encoding="ascii").strip().encode()


def _tables(state: State) -> None:
    for table in (TOMBSTONES, REQUESTS, TOMBSTONE_DROPS):
        table.create(state.engine, checkfirst=True)


def drop_tombstoned(workspace: Workspace, events: pa.Table, file: str) -> pa.Table:
    """Drop events carrying a tombstoned identifier; the count is logged in ``tombstone_drops``."""
    state = workspace.state
    _tables(state)
    with state.engine.connect() as connection:
        stones = {row.digest for row in connection.execute(select(TOMBSTONES.c.digest))}
    if not stones or events.num_rows == 0:
        return events
    key = _key(workspace)
    keep = [True] * events.num_rows
    for column in IDENTIFIER_COLUMNS:
        if column in events.column_names:
            for index, value in enumerate(events.column(column).to_pylist()):
                if value is not None and tombstone_digest(key, column, str(value)) in stones:
                    keep[index] = False
    dropped = keep.count(False)
    if dropped:
        with state.engine.begin() as connection:
            connection.execute(insert(TOMBSTONE_DROPS).values(file=file, dropped=dropped, dropped_at=utcnow()))
    return events.filter(pa.array(keep))


def person_identifiers(workspace: Workspace, person: str) -> tuple[set[str], set[tuple[str, str]], set[str]]:
    """(person ids in every run, identifiers (type, value), names) of the person the argument names.

    ``person`` is a person id, an identifier value, or a typed key ``"tg_user_id:123"``; a typed key also works
    before any build (or for someone no run knows yet, e.g. a bot user): the lake rows carrying it decide.
    """
    from tgportrait.portrait.query import resolve_person_id

    lake = workspace.lake
    id_type, _, id_value = person.partition(":")
    typed = id_type in IDENTIFIER_COLUMNS and bool(id_value)
    try:
        person_id = resolve_person_id(workspace, id_value if typed else person)
    except NotFound:
        if not typed:
            raise
        person_ids: set[str] = set()
        identifiers = {(id_type, id_value)}
    else:
        current = lake.read_run_table("identities")
        mine = current.filter(pc.equal(current.column("person_id"), person_id))
        identifiers = {(row["id_type"], str(row["id_value"])) for row in mine.to_pylist()}
        person_ids = {person_id}
    values = pa.array(sorted({value for _type, value in identifiers}))
    for run_id in lake.published_runs():
        table = lake.read_run_table("identities", run_id)
        person_ids |= set(table.filter(pc.is_in(table.column("id_value"), value_set=values))
                          .column("person_id").to_pylist())
    events = lake.read_events(list(IDENTIFIER_COLUMNS) + list(NAME_COLUMNS))
    held = events.filter(_holds(events, identifiers)).to_pylist()
    names = {str(name) for row in held for name in (row[c] for c in NAME_COLUMNS) if name and len(str(name)) >= 4}
    # identifiers the identity step did not keep (e.g. a placeholder e-mail) still sit on the person's rows
    identifiers |= {(column, str(row[column])) for row in held for column in IDENTIFIER_COLUMNS
                    if row[column] is not None}
    return person_ids, identifiers, names


def _holds(table: pa.Table, identifiers: set[tuple[str, str]], person_ids: set[str] | None = None) -> pa.Array:
    mask = pa.array([False] * table.num_rows, pa.bool_())   # typed: an empty lake gives a bool, not a null, array
    for column in IDENTIFIER_COLUMNS:
        values = [value for id_type, value in identifiers if id_type == column]
        if column in table.column_names and values:
            found = pc.is_in(pc.cast(table.column(column), pa.string()), value_set=pa.array(values))
            mask = pc.or_(mask, pc.fill_null(found, False))
    if person_ids and "person_id" in table.column_names:
        found = pc.is_in(table.column("person_id"), value_set=pa.array(sorted(person_ids)))
        mask = pc.or_(mask, pc.fill_null(found, False))
    return mask


def erasure_needles(identifiers: set[tuple[str, str]], names: set[str]) -> list[str]:
    """The strings redacted wherever they occur as whole words: identifiers of 4+ characters and full names.

    A name is searched only when it has at least two words ("Siti Rahmawati"): a single display name
    ("Rina", "Beauty", "Admin") is too often a common word or part of other people's names, and the
    rows that carry it as the person's own name are deleted whole anyway.
    """
    full_names = {name for name in names if len(name.split()) >= 2}
    return sorted({value for _type, value in identifiers if len(value) >= 4} | full_names, key=len, reverse=True)


def needle_pattern(needles: list[str]) -> re.Pattern[str] | None:
    """One regex matching any needle as a whole word: "Rina" in "Marina" or "4242" in "142420" is left alone."""
    if not needles:
        return None
    alternatives = "|".join(re.escape(needle) for needle in sorted(needles, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def _redact(table: pa.Table, needles: list[str]) -> pa.Table:
    pattern = needle_pattern(needles)
    if pattern is None:
        return table
    for index, column in enumerate(table.schema):
        if pa.types.is_string(column.type):
            found = [pc.any(pc.match_substring(table.column(index), needle)).as_py() for needle in needles]
            if not any(found):      # a cheap substring test first; the whole-word regex only where it may match
                continue
            values = table.column(index).to_pylist()
            changed = False
            for row, value in enumerate(values):
                if value:
                    scrubbed = pattern.sub(REDACTED, value)
                    if scrubbed != value:
                        values[row], changed = scrubbed, True
            if changed:
                table = table.set_column(index, column, pa.array(values, pa.string()))
    return table


def _scrub_parquet(path: Path, person_ids: set[str], identifiers: set[tuple[str, str]], needles: list[str]) -> int:
    table = pq.read_table(path)
    holding = _holds(table, identifiers, person_ids)
    removed = int(pc.sum(holding).as_py() or 0)
    kept = _redact(table.filter(pc.invert(holding)), needles)
    if removed or not kept.equals(table):
        temporary = path.with_name(f".{path.name}.tmp")
        pq.write_table(kept, temporary, compression="zstd")
        os.replace(temporary, path)
    return removed


def _scrub_text_file(path: Path, needles: list[str]) -> bool:
    content = path.read_text(encoding="utf-8", errors="surrogateescape")
    pattern = needle_pattern(needles)
    if pattern is None or not any(needle in content for needle in needles):
        return False
    scrubbed = pattern.sub(REDACTED, content)
    if scrubbed != content:
        path.write_text(scrubbed, encoding="utf-8", errors="surrogateescape")
    return scrubbed != content


def _scrub_state(state: State, needles: list[str], person_ids: set[str], identifiers: set[tuple[str, str]]) -> int:
    keys = [f"{id_type}:{value}" for id_type, value in identifiers]
    removed = forget_consents(state, keys)
    metadata = MetaData()
    metadata.reflect(state.engine)
    with state.engine.begin() as connection:
        for name, table in metadata.tables.items():
            if name in OWN_TABLES:
                continue
            textual = [c for c in table.columns if isinstance(c.type, (String,)) or "TEXT" in str(c.type).upper()
                       or "JSON" in str(c.type).upper()]
            conditions = [cast(column, Text).contains(needle) for column in textual
                          for needle in needles + sorted(person_ids)]
            conditions += [cast(column, Text).in_(sorted(v for t, v in identifiers if t == column.name))
                           for column in table.columns if column.name in IDENTIFIER_COLUMNS]   # e.g. BigInteger ids
            if conditions:
                removed += connection.execute(delete(table).where(or_(*conditions))).rowcount or 0
    if state.engine.dialect.name == "sqlite":
        with state.engine.connect() as connection:
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            connection.exec_driver_sql("VACUUM")
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    return removed


def _log_request(workspace: Workspace, kind: str, subject: str, jurisdiction: str) -> dict[str, Any]:
    rules = jurisdiction_of(jurisdiction)
    days = rules.erasure_days if kind == "erasure" else rules.access_days
    received = utcnow()
    row = {"kind": kind, "subject": subject, "jurisdiction": rules.region, "received_at": received,
           "due_at": received + timedelta(days=days), "completed_at": received}
    _tables(workspace.state)
    with workspace.state.engine.begin() as connection:
        connection.execute(insert(REQUESTS).values(**row))
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in row.items()}


def _jurisdiction(workspace: Workspace, person_id: str) -> str:
    run_id = workspace.lake.current_run_id()
    decision = logged_decision(workspace.lake, run_id, person_id) if run_id else None
    return str(decision["jurisdiction"]) if decision else "default"


def _erase_bot_records(state: State, identifiers: set[tuple[str, str]]) -> tuple[int, int]:
    """Delete the person's stored bot updates (every update they appear in) and tracked-link rows, by Telegram id.

    The generic state scrub below only finds rows by text; an update that mentions the person under
    another field (a reaction on their message, a reply to them) is found by the inbox's own search.
    """
    from tgportrait.collect.inbox import erase_user_updates
    from tgportrait.collect.links import erase_user_links

    updates = links = 0
    for value in sorted(value for id_type, value in identifiers if id_type == "tg_user_id"):
        if value.lstrip("-").isdigit():
            updates += erase_user_updates(state, int(value))
            links += erase_user_links(state, int(value))
    return updates, links


def forget(workspace: Workspace, person: str) -> dict[str, Any]:
    """Erase a person everywhere in the workspace and tombstone their identifiers; returns what was done."""
    person_ids, identifiers, names = person_identifiers(workspace, person)
    jurisdiction = _jurisdiction(workspace, sorted(person_ids)[0]) if person_ids else "default"
    key = _key(workspace)
    digests = sorted(tombstone_digest(key, id_type, value) for id_type, value in identifiers)
    needles = erasure_needles(identifiers, names)
    lake = workspace.lake
    counts = {"event_rows": 0, "run_rows": 0, "export_rows": 0, "files_redacted": 0}
    for part in lake.event_parts():
        counts["event_rows"] += _scrub_parquet(part, person_ids, identifiers, needles)
    for run_id in lake.published_runs():   # every run table, the compliance decision log included
        for part in sorted(lake.run_dir(run_id).rglob("*.parquet")):
            counts["run_rows"] += _scrub_parquet(part, person_ids, identifiers, needles)
    for export in exported_files(workspace):
        if export.suffix == ".parquet":
            counts["export_rows"] += _scrub_parquet(export, person_ids, identifiers, needles)
        else:
            counts["export_rows"] += _scrub_csv(export, person_ids, needles)
    for path in sorted(workspace.root.rglob("*")):
        if path.is_file() and path.suffix in (".html", ".json", ".csv", ".txt") and ".secret" not in path.parts:
            counts["files_redacted"] += _scrub_text_file(path, needles + sorted(person_ids))
    _tables(workspace.state)
    with workspace.state.engine.begin() as connection:
        known = {row.digest for row in connection.execute(select(TOMBSTONES.c.digest))}
        fresh = [{"digest": digest, "created_at": utcnow()} for digest in digests if digest not in known]
        if fresh:
            connection.execute(insert(TOMBSTONES), fresh)
    counts["inbox_updates"], counts["link_rows"] = _erase_bot_records(workspace.state, identifiers)
    counts["state_rows"] = _scrub_state(workspace.state, needles, person_ids, identifiers)
    request = _log_request(workspace, "erasure", digests[0] if digests else "unknown", jurisdiction)
    return {"person_ids": sorted(person_ids), "identifiers": len(identifiers), "tombstones": len(digests),
            "removed": counts, "request": request}


def _scrub_csv(path: Path, person_ids: set[str], needles: list[str]) -> int:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not any(person_id in line for person_id in person_ids)]
    path.write_text("".join(kept), encoding="utf-8")
    _scrub_text_file(path, needles)
    return len(lines) - len(kept)


def export_person(workspace: Workspace, person: str) -> dict[str, Any]:
    """Everything held about a person: identifiers, events, consents, decision, labels with evidence, portrait."""
    lake = workspace.lake
    person_ids, identifiers, _names = person_identifiers(workspace, person)
    run_id = lake.require_current_run()
    events = lake.read_events()
    held = events.filter(_holds(events, identifiers)).sort_by("occurred_at")
    result: dict[str, Any] = {
        "person_ids": sorted(person_ids), "run_id": run_id,
        "identifiers": [{"type": t, "value": v} for t, v in sorted(identifiers)],
        "events": json.loads(json.dumps(held.to_pylist(), default=str)),
        "consents": json.loads(json.dumps(consent_ledger(workspace.state, [f"{t}:{v}" for t, v in identifiers]),
                                          default=str)),
    }
    for name in ("labels", "portraits"):
        table = lake.read_run_table(name, run_id)
        rows = table.filter(pc.is_in(table.column("person_id"), value_set=pa.array(sorted(person_ids))))
        result[name] = json.loads(json.dumps(rows.to_pylist(), default=str))
    decision = next((d for p in sorted(person_ids) if (d := logged_decision(lake, run_id, p))), None)
    result["compliance"] = decision
    # the subject is the same keyed digest an erasure logs (never the person id, which forget removes everywhere)
    key = _key(workspace)
    subject = min((tombstone_digest(key, id_type, value) for id_type, value in identifiers), default="unknown")
    result["request"] = _log_request(workspace, "access", subject, decision["jurisdiction"] if decision else "default")
    return result


def forget_person(workspace: Workspace, person: str) -> dict[str, Any]:
    """The bot's ``/forget``: ``forget`` with a typed key such as ``"tg_user_id:123"`` (works before any build)."""
    return forget(workspace, person)

"""The update inbox: writes every Bot API update once into the state table ``inbox``; reads it back for the build.

``store_update`` / ``store_updates`` insert with ``ON CONFLICT (update_id) DO NOTHING`` (SQLite or
PostgreSQL dialect), so a redelivered update is stored once even when two requests race.
``InboxWriter`` is the group commit the webhook uses: a single writer thread commits whatever
arrived meanwhile in one transaction and only then resolves each caller's future, so "200 only
after commit" holds at thousands of updates per second. ``flush_inbox`` turns unprocessed rows
(and tracked-link clicks) into canonical events in a new lake part and marks them processed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import weakref
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Engine, String, Table, Text, case, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects import postgresql, sqlite

from tgportrait.errors import InputError
from tgportrait.store.state import METADATA, State, utcnow

if TYPE_CHECKING:
    from tgportrait.collect.ingest import ImportReport
    from tgportrait.workspace import Workspace

log = logging.getLogger("tgportrait.inbox")

INBOX = Table(
    "inbox", METADATA,
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(64), nullable=False),
    Column("payload", Text, nullable=False),        # the whole update as JSON, exactly as received
    Column("received_at", DateTime, nullable=False),
    Column("processed", Boolean, nullable=False, default=False, index=True),
    Column("processed_run", String(64)),
)

FLUSH_BATCH = 5000       # ids per UPDATE statement
FLUSH_CHUNK = 50_000     # inbox rows mapped and written per lake part (bounded memory)
INSERT_CHUNK = 150      # rows per INSERT (6 bound parameters each; SQLite allows 32766 per statement)


def update_kind(update: Mapping[str, Any]) -> str:
    """The payload field of an update (``message``, ``callback_query``, ...); ``unknown`` when there is none."""
    kinds = [key for key in update if key != "update_id"]
    return kinds[0] if kinds else "unknown"


def validate_update(update: object) -> dict[str, Any]:
    """The update as a dict, or ``InputError`` saying what is wrong (no internals)."""
    if not isinstance(update, dict):
        raise InputError("an update must be a JSON object", hint="Send one Bot API Update per request.")
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id < 2**63:
        raise InputError("update_id must be a non-negative integer", hint="Send one Bot API Update per request.")
    payload_fields = [key for key in update if key != "update_id"]
    if len(payload_fields) > 1:
        raise InputError(f"an update has at most one payload field, got {sorted(payload_fields)}",
                         hint="Send one Bot API Update per request.")
    if payload_fields and not isinstance(update[payload_fields[0]], dict):
        raise InputError(f"field '{payload_fields[0]}' must be an object", hint="Send one Bot API Update per request.")
    return update


_READY: weakref.WeakSet[Engine] = weakref.WeakSet()


def ensure_inbox(engine: Engine) -> None:
    """Create the inbox table on first use (checked once per engine)."""
    if engine not in _READY:
        INBOX.create(engine, checkfirst=True)
        _READY.add(engine)


def _insert(engine: Engine) -> Any:
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(INBOX).on_conflict_do_nothing(index_elements=["update_id"])


def _row(update: Mapping[str, Any]) -> dict[str, Any]:
    return {"update_id": update["update_id"], "kind": update_kind(update)[:64],  # PostgreSQL enforces String(64)
            "payload": json.dumps(update, ensure_ascii=False, separators=(",", ":")),
            "received_at": utcnow(), "processed": False}


SQLITE_INSERT = ("INSERT INTO inbox (update_id, kind, payload, received_at, processed) VALUES (?, ?, ?, ?, 0) "
                 "ON CONFLICT (update_id) DO NOTHING")


def _insert_sqlite(driver_connection: Any, rows: list[dict[str, Any]]) -> set[int]:
    """The ids of ``rows`` that were new: one prepared statement per row inside the caller's transaction.

    About ten times less CPU than a compiled multi-row SQLAlchemy INSERT (this is the webhook's hot path);
    ``rowcount`` says exactly which rows the ``ON CONFLICT DO NOTHING`` skipped. ``received_at`` is written
    in the text format SQLAlchemy's SQLite ``DateTime`` reads back.
    """
    cursor = driver_connection.cursor()
    inserted = set()
    for row in rows:
        cursor.execute(SQLITE_INSERT, (row["update_id"], row["kind"], row["payload"],
                                       row["received_at"].strftime("%Y-%m-%d %H:%M:%S.%f")))
        if cursor.rowcount == 1:
            inserted.add(row["update_id"])
    cursor.close()
    return inserted


def store_updates(state: State, updates: Iterable[Mapping[str, Any]]) -> list[bool]:
    """Store updates in one transaction; for each, True when it was new, False when already stored.

    A second copy of an update inside the same batch counts as already stored.
    """
    batch = list(updates)
    if not batch:
        return []
    ensure_inbox(state.engine)
    first: dict[int, int] = {}
    for index, update in enumerate(batch):
        first.setdefault(update["update_id"], index)
    # ascending update_id: concurrent PostgreSQL writers then wait on each other's rows in one order and never deadlock
    rows = [_row(batch[first[update_id]]) for update_id in sorted(first)]
    inserted: set[int] = set()
    with state.engine.begin() as connection:
        if state.engine.dialect.name == "sqlite":
            inserted = _insert_sqlite(connection.connection.driver_connection, rows)
        else:
            for start in range(0, len(rows), INSERT_CHUNK):
                statement = _insert(state.engine).values(rows[start:start + INSERT_CHUNK]).returning(INBOX.c.update_id)
                inserted.update(connection.execute(statement).scalars())
    return [first[update["update_id"]] == index and update["update_id"] in inserted
            for index, update in enumerate(batch)]


def store_update(state: State, update: dict[str, Any]) -> bool:
    """Store one update exactly once (by ``update_id``); True when it was new."""
    return store_updates(state, [validate_update(update)])[0]


Waiter = Future[bool] | asyncio.Future[bool]


class InboxWriter:
    """Group commit: one thread writes every update queued meanwhile in one transaction, then resolves them.

    Requests from an event loop are handed over once per loop iteration (``submit_async``), so the
    writer thread is woken once per batch rather than once per request; it answers each loop once per
    batch too. With SQLite in WAL mode and ``synchronous=NORMAL`` a commit survives the process being
    killed (the WAL is written before the commit returns); it is fsynced at checkpoints, so a power loss
    can lose the last commits (``synchronous=FULL`` would fsync every commit; PostgreSQL fsyncs each).
    """

    def __init__(self, state: State, max_batch: int = 500) -> None:
        self.state = state
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[list[tuple[dict[str, Any], Waiter]] | None] = queue.SimpleQueue()
        self._pending: dict[asyncio.AbstractEventLoop, list[tuple[dict[str, Any], Waiter]]] = {}
        self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
        ensure_inbox(state.engine)
        self._thread.start()

    def submit(self, update: dict[str, Any]) -> Future[bool]:
        """Queue ``update``; the future says whether it was new once it is committed (from any thread)."""
        future: Future[bool] = Future()
        self._queue.put([(update, future)])
        return future

    async def submit_async(self, update: dict[str, Any]) -> bool:
        """Queue ``update`` and wait (without blocking the event loop) until it is committed; True when new."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            loop.call_soon(self._hand_over, loop)
        pending.append((update, future))
        return await future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        self._queue.put(self._pending.pop(loop))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        closing = False
        while not closing:
            item = self._queue.get()
            if item is None:
                return
            batch = list(item)
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    closing = True
                    break
                batch.extend(more)
            self._commit(batch)

    def _commit(self, batch: list[tuple[dict[str, Any], Waiter]]) -> None:
        try:
            results: list[bool] | BaseException = store_updates(self.state, [update for update, _ in batch])
        except BaseException as exc:  # noqa: BLE001 - re-raised below; each waiting request learns it was not stored
            results = exc
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[bool], bool | BaseException]]] = {}
        for index, (_, waiter) in enumerate(batch):
            outcome = results if isinstance(results, BaseException) else results[index]
            if isinstance(waiter, Future):
                _settle(waiter, outcome)
            else:
                by_loop.setdefault(waiter.get_loop(), []).append((waiter, outcome))
        for loop, settled in by_loop.items():   # one wake-up of each event loop per batch, not one per request
            try:
                loop.call_soon_threadsafe(_settle_all, settled)
            except RuntimeError:     # that loop is closed: nobody is waiting any more
                log.warning("an event loop closed before %d updates were acknowledged", len(settled))
        if isinstance(results, BaseException) and not isinstance(results, Exception):
            raise results


def _settle(future: asyncio.Future[bool] | Future[bool], outcome: bool | BaseException) -> None:
    if future.done():     # a request that was cancelled meanwhile (client gone); its update is committed anyway
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def _settle_all(settled: list[tuple[asyncio.Future[bool], bool | BaseException]]) -> None:
    for future, outcome in settled:
        _settle(future, outcome)


def inbox_stats(state: State) -> dict[str, Any]:
    """``{"updates": N, "by_kind": {...}, "unprocessed": U}``."""
    ensure_inbox(state.engine)
    query = select(INBOX.c.kind, func.count(), func.sum(case((INBOX.c.processed.is_(False), 1), else_=0))).group_by(
        INBOX.c.kind)
    with state.engine.connect() as connection:
        rows = connection.execute(query).all()
    return {"updates": sum(n for _, n, _ in rows), "by_kind": {kind: n for kind, n, _ in sorted(rows)},
            "unprocessed": sum(int(u or 0) for _, _, u in rows)}


def stored_updates(state: State, *, unprocessed_only: bool = False) -> list[dict[str, Any]]:
    """The stored updates (decoded), oldest update_id first."""
    ensure_inbox(state.engine)
    query = select(INBOX.c.payload, INBOX.c.received_at).order_by(INBOX.c.update_id)
    if unprocessed_only:
        query = query.where(INBOX.c.processed.is_(False))
    with state.engine.connect() as connection:
        return [json.loads(payload) for payload, _ in connection.execute(query)]


@dataclass(frozen=True)
class FlushReport:
    updates: int
    clicks: int
    events: ImportReport | None

    def as_dict(self) -> dict[str, Any]:
        return {"updates": self.updates, "clicks": self.clicks,
                "events": self.events.as_dict() if self.events else None}


def flush_inbox(workspace: Workspace, run_id: str | None = None) -> FlushReport:
    """Turn unprocessed updates and link clicks into events (a new lake part per chunk); mark them processed.

    A crash between writing the events and marking the rows only means the next flush maps them again:
    event ids are deterministic and the lake skips ids it already holds.
    """
    from tgportrait.collect.ingest import ImportReport, ParsedInput, ingest
    from tgportrait.collect.links import mark_clicks_processed, pending_clicks
    from tgportrait.collect.telegram_updates import map_updates
    from tgportrait.store.tables import event_rows_to_table

    state = workspace.state
    ensure_inbox(state.engine)
    query = (select(INBOX.c.update_id, INBOX.c.payload, INBOX.c.received_at)
             .where(INBOX.c.processed.is_(False)).order_by(INBOX.c.update_id).limit(FLUSH_CHUNK))
    clicks = pending_clicks(state)
    updates, clicked, reports = 0, len(clicks), []
    while True:
        with state.engine.connect() as connection:
            rows = connection.execute(query).all()
        if not rows and not clicks:
            break
        events = map_updates([(json.loads(payload), received_at) for _, payload, received_at in rows],
                             workspace.settings.timezone)
        events.extend(click.as_event() for click in clicks)
        reports.append(ingest(workspace, ParsedInput("telegram_bot", "inbox", event_rows_to_table(events))))
        with state.engine.begin() as connection:
            ids = [update_id for update_id, _, _ in rows]
            for start in range(0, len(ids), FLUSH_BATCH):
                connection.execute(sql_update(INBOX).where(INBOX.c.update_id.in_(ids[start:start + FLUSH_BATCH]))
                                   .values(processed=True, processed_run=run_id or "flush"))
        mark_clicks_processed(state, [click.click_id for click in clicks])
        updates, clicks = updates + len(rows), []
    if not reports:
        return FlushReport(0, 0, None)
    by_type: dict[str, int] = {}
    for report in reports:
        for kind, count in report.by_type.items():
            by_type[kind] = by_type.get(kind, 0) + count
    total = ImportReport(sum(r.imported for r in reports), sum(r.duplicates for r in reports),
                         sum(r.quarantined for r in reports), by_type)
    return FlushReport(updates, clicked, total)


def _mentions_user(value: Any, tg_user_id: int) -> bool:
    """True when a ``User`` (an object with ``id`` and ``is_bot``) or a private chat with this id occurs anywhere."""
    if isinstance(value, dict):
        if value.get("id") == tg_user_id and ("is_bot" in value or value.get("type") == "private"):
            return True
        return any(_mentions_user(item, tg_user_id) for item in value.values())
    if isinstance(value, list):
        return any(_mentions_user(item, tg_user_id) for item in value)
    return False


def erase_user_updates(state: State, tg_user_id: int) -> int:
    """Erasure: delete every stored update in which this Telegram user appears; returns how many were deleted.

    Updates that only mention the person (a reply to them, a reaction on their message) go too: the inbox
    keeps whole updates, so it cannot keep the rest of such an update without them.
    """
    from sqlalchemy import delete

    ensure_inbox(state.engine)
    candidates = select(INBOX.c.update_id, INBOX.c.payload).where(INBOX.c.payload.contains(str(tg_user_id)))
    with state.engine.begin() as connection:
        doomed = [update_id for update_id, payload in connection.execute(candidates)
                  if _mentions_user(json.loads(payload), tg_user_id)]
        for start in range(0, len(doomed), FLUSH_BATCH):
            connection.execute(delete(INBOX).where(INBOX.c.update_id.in_(doomed[start:start + FLUSH_BATCH])))
    return len(doomed)

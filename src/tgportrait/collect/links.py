"""Tracked links: writes the state tables ``tracked_links``, ``link_recipients`` and ``link_clicks``.

``create_link`` makes a short code for a URL and a campaign. ``personal_link`` gives one person a
URL ``/l/CODE?r=RECIPIENT.SIGNATURE``: the recipient id is random and the signature is an HMAC
with the workspace's own key (``.secrets/link_key``, created on first use), so the URL carries no
personal data and cannot be forged to credit someone else. ``record_click`` verifies the signature
in constant time and stores the click; ``flush_inbox`` turns clicks into ``link_click`` events.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Integer, String, Table, Text, insert, select, update

from tgportrait.collect.ingest import make_event_id
from tgportrait.errors import InputError, NotFound
from tgportrait.store.state import METADATA, State, utcnow

TRACKED_LINKS = Table(
    "tracked_links", METADATA,
    Column("code", String(16), primary_key=True),
    Column("url", Text, nullable=False),
    Column("campaign", String(120), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

LINK_RECIPIENTS = Table(
    "link_recipients", METADATA,
    Column("recipient", String(24), primary_key=True),
    Column("code", String(16), nullable=False),
    Column("tg_user_id", BigInteger, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

LINK_CLICKS = Table(
    "link_clicks", METADATA,
    Column("click_id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(16), nullable=False),
    Column("tg_user_id", BigInteger),
    Column("clicked_at", DateTime, nullable=False),
    Column("processed", Boolean, nullable=False, default=False),
)

KEY_FILE = Path(".secrets") / "link_key"


def _ensure(state: State) -> None:
    for table in (TRACKED_LINKS, LINK_RECIPIENTS, LINK_CLICKS):
        table.create(state.engine, checkfirst=True)


def link_key(workspace_root: Path) -> bytes:
    """The workspace's HMAC key for link signatures (32 random bytes, created once, owner-only)."""
    path = workspace_root / KEY_FILE
    if not path.exists():
        path.parent.mkdir(mode=0o700, exist_ok=True)
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


def _signature(key: bytes, code: str, recipient: str) -> str:
    return hmac.new(key, f"{code}/{recipient}".encode(), hashlib.sha256).hexdigest()[:20]


@dataclass(frozen=True)
class TrackedLink:
    code: str
    url: str
    campaign: str

    def short_url(self, public_base_url: str) -> str:
        return f"{public_base_url.rstrip('/')}/l/{self.code}"


def create_link(state: State, url: str, campaign: str) -> TrackedLink:
    """A new short code for ``url`` attributed to ``campaign``."""
    if not url.startswith(("https://", "http://")):
        raise InputError(f"link target '{url}' is not an http(s) URL", hint="Give a full URL such as https://shop.example/sale.")
    if not campaign.strip():
        raise InputError("the campaign name is empty", hint="Pass --campaign NAME.")
    if len(campaign.strip()) > 120:  # the column is String(120), which PostgreSQL enforces
        raise InputError(f"the campaign name is {len(campaign.strip())} characters long", hint="Use at most 120.")
    _ensure(state)
    link = TrackedLink(secrets.token_urlsafe(6), url, campaign.strip())
    with state.engine.begin() as connection:
        connection.execute(insert(TRACKED_LINKS).values(code=link.code, url=link.url, campaign=link.campaign,
                                                        created_at=utcnow()))
    return link


def find_link(state: State, code: str) -> TrackedLink:
    _ensure(state)
    with state.engine.connect() as connection:
        row = connection.execute(select(TRACKED_LINKS).where(TRACKED_LINKS.c.code == code)).first()
    if row is None:
        raise NotFound(f"no tracked link '{code}'",
                       hint="Create one with 'tgportrait links create URL --campaign NAME'.")
    return TrackedLink(row.code, row.url, row.campaign)


def personal_link(state: State, key: bytes, link: TrackedLink, tg_user_id: int, public_base_url: str) -> str:
    """The URL to send to one person: opaque recipient id + HMAC signature, no identifier in clear."""
    _ensure(state)
    recipient = secrets.token_urlsafe(9)
    with state.engine.begin() as connection:
        connection.execute(insert(LINK_RECIPIENTS).values(recipient=recipient, code=link.code, tg_user_id=tg_user_id,
                                                          created_at=utcnow()))
    return f"{link.short_url(public_base_url)}?r={recipient}.{_signature(key, link.code, recipient)}"


def record_click(state: State, key: bytes, code: str, token: str | None) -> TrackedLink:
    """Store a click on ``code`` (credited to the person when ``token`` verifies) and return the link."""
    link = find_link(state, code)
    tg_user_id: int | None = None
    if token and "." in token:
        recipient, signature = token.split(".", 1)
        if hmac.compare_digest(signature.encode(), _signature(key, code, recipient).encode()):
            with state.engine.connect() as connection:
                tg_user_id = connection.execute(select(LINK_RECIPIENTS.c.tg_user_id).where(
                    (LINK_RECIPIENTS.c.recipient == recipient) & (LINK_RECIPIENTS.c.code == code))).scalar()
    with state.engine.begin() as connection:
        connection.execute(insert(LINK_CLICKS).values(code=code, tg_user_id=tg_user_id, clicked_at=utcnow(),
                                                      processed=False))
    return link


@dataclass(frozen=True)
class Click:
    click_id: int
    code: str
    url: str
    campaign: str
    tg_user_id: int | None
    clicked_at: datetime

    def as_event(self) -> dict[str, Any]:
        return {"event_id": make_event_id("telegram_bot", "link_click", self.click_id, self.code),
                "source": "telegram_bot", "source_file": "inbox", "source_row": self.click_id, "type": "link_click",
                "occurred_at": self.clicked_at, "received_at": self.clicked_at, "tg_user_id": self.tg_user_id,
                "url": self.url, "campaign": self.campaign}


def pending_clicks(state: State) -> list[Click]:
    _ensure(state)
    query = (select(LINK_CLICKS, TRACKED_LINKS.c.url, TRACKED_LINKS.c.campaign)
             .join(TRACKED_LINKS, TRACKED_LINKS.c.code == LINK_CLICKS.c.code)
             .where(LINK_CLICKS.c.processed.is_(False)).order_by(LINK_CLICKS.c.click_id))
    with state.engine.connect() as connection:
        return [Click(r.click_id, r.code, r.url, r.campaign, r.tg_user_id, r.clicked_at)
                for r in connection.execute(query)]


def mark_clicks_processed(state: State, click_ids: list[int]) -> None:
    if click_ids:
        with state.engine.begin() as connection:
            connection.execute(update(LINK_CLICKS).where(LINK_CLICKS.c.click_id.in_(click_ids)).values(processed=True))


def erase_user_links(state: State, tg_user_id: int) -> int:
    """Erasure: delete this person's link recipients and clicks; returns how many rows were deleted."""
    from sqlalchemy import delete

    _ensure(state)
    with state.engine.begin() as connection:
        clicks = connection.execute(delete(LINK_CLICKS).where(LINK_CLICKS.c.tg_user_id == tg_user_id)).rowcount
        recipients = connection.execute(
            delete(LINK_RECIPIENTS).where(LINK_RECIPIENTS.c.tg_user_id == tg_user_id)).rowcount
    return int(clicks or 0) + int(recipients or 0)

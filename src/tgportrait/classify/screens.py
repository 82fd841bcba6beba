"""Screens: saved screening rules; reads and writes the ``screens`` state table, runs them over the current run.

A screen is a named rule of the rule language ("ordered in the past 3 months and asked about new
products" = ``orders_90d >= 1 and asked("new_product", days=90)``). The rule is checked against the
workspace's catalogue (its taxonomy's features and labels) when it is saved, so a saved screen always
compiles; running one is a segment (``portrait.segments.run_segment``) over the current run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, String, Table, Text, delete, insert, select

from tgportrait.errors import InputError, NotFound
from tgportrait.label.taxonomy import load_taxonomy
from tgportrait.portrait.segments import SegmentResult, run_segment
from tgportrait.rules import RuleOrigin, check_rule
from tgportrait.store.state import METADATA
from tgportrait.workspace import Workspace

SCREENS = Table(
    "screens", METADATA,
    Column("name", String(80), primary_key=True),
    Column("rule", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


@dataclass(frozen=True)
class Screen:
    name: str
    rule: str
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rule": self.rule, "created_at": self.created_at.isoformat()}


def _origin(name: str) -> RuleOrigin:
    return RuleOrigin(file=f"screen '{name}'")


def _engine(workspace: Workspace) -> Any:
    engine = workspace.state.engine
    SCREENS.create(engine, checkfirst=True)
    return engine


def add_screen(workspace: Workspace, name: str, rule: str, *, replace: bool = False) -> Screen:
    """Check ``rule`` against the workspace's catalogue (every error at once) and save it as ``name``."""
    if not NAME_PATTERN.match(name):
        raise InputError(f"invalid screen name '{name}'",
                         hint="Use letters, digits, '_', '.' or '-' (at most 80, starting with a letter or digit).")
    taxonomy = load_taxonomy(workspace.taxonomy_path, workspace.settings.industry)
    check_rule(rule, taxonomy.rule_catalog(), _origin(name))
    engine = _engine(workspace)
    screen = Screen(name, rule, datetime.now(UTC).replace(tzinfo=None, microsecond=0))
    with engine.begin() as connection:
        exists = connection.execute(select(SCREENS.c.name).where(SCREENS.c.name == name)).first() is not None
        if exists and not replace:
            raise InputError(f"screen '{name}' already exists",
                             hint=f"Remove it first (tgportrait screen remove {name}) or use --replace.")
        connection.execute(delete(SCREENS).where(SCREENS.c.name == name))
        connection.execute(insert(SCREENS).values(name=name, rule=rule, created_at=screen.created_at))
    return screen


def list_screens(workspace: Workspace) -> list[Screen]:
    with _engine(workspace).connect() as connection:
        rows = connection.execute(select(SCREENS).order_by(SCREENS.c.name)).all()
    return [Screen(row.name, row.rule, row.created_at) for row in rows]


def get_screen(workspace: Workspace, name: str) -> Screen:
    with _engine(workspace).connect() as connection:
        row = connection.execute(select(SCREENS).where(SCREENS.c.name == name)).first()
    if row is None:
        known = ", ".join(screen.name for screen in list_screens(workspace)) or "none yet"
        raise NotFound(f"no screen named '{name}' (saved screens: {known})",
                       hint="Save one with: tgportrait screen add NAME \"RULE\"")
    return Screen(row.name, row.rule, row.created_at)


def remove_screen(workspace: Workspace, name: str) -> Screen:
    screen = get_screen(workspace, name)
    with _engine(workspace).begin() as connection:
        connection.execute(delete(SCREENS).where(SCREENS.c.name == name))
    return screen


def run_screen(workspace: Workspace, name: str) -> SegmentResult:
    """The persons of the current run that match the saved screen (rechecked: the taxonomy may have changed)."""
    screen = get_screen(workspace, name)
    return run_segment(workspace, screen.rule, _origin(name))

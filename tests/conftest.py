"""Shared fixtures: the real data folder, fresh workspaces, engine backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures for every test folder)
from tests.telegram_stub import BotApiStub
from tgportrait.workspace import Workspace

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real public data); tests that need it skip with a reason when it is absent."""
    if not SHARED_DATA.exists():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A fresh, initialised workspace on the default engine (DuckDB)."""
    ws = Workspace.init(tmp_path / "ws", "beauty")
    yield ws
    ws.close()


@pytest.fixture
def stub() -> Iterator[BotApiStub]:
    """A Bot API stub on 127.0.0.1 that answers as Telegram does (tests/bot and tests/web; test_llm has its own)."""
    server = BotApiStub().start()
    yield server
    server.stop()

"""Fixtures: a workspace wired to the local Bot API stub, and the app under FastAPI's TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.telegram_stub import BotApiStub
from tgportrait.web.app import create_app
from tgportrait.workspace import Workspace

SECRET = "test-secret_123"


@pytest.fixture
def live_workspace(tmp_path: Path, stub: BotApiStub, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv("TGPORTRAIT_TELEGRAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TGPORTRAIT_TELEGRAM_BOT_TOKEN", stub.token)
    monkeypatch.setenv("TGPORTRAIT_TELEGRAM_API_BASE_URL", stub.base_url)
    monkeypatch.setenv("TGPORTRAIT_TELEGRAM_BOT_USERNAME", "portrait_test_bot")
    ws = Workspace.init(tmp_path / "ws", "beauty")
    yield ws
    ws.close()


@pytest.fixture
def api(live_workspace: Workspace) -> Iterator[TestClient]:
    with TestClient(create_app(live_workspace), raise_server_exceptions=False) as test_client:
        yield test_client

"""Fixtures: a running Bot API stub on 127.0.0.1 and a client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.telegram_stub import BotApiStub
from tgportrait.activate.telegram import TelegramClient


@pytest.fixture
def client(stub: BotApiStub) -> Iterator[TelegramClient]:
    sleeps: list[float] = []
    telegram = TelegramClient(stub.base_url, stub.token, sleep=sleeps.append)
    telegram.sleeps = sleeps  # type: ignore[attr-defined]
    yield telegram
    telegram.close()

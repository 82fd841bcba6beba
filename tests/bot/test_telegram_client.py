"""The Bot API client against the local stub: results, 429 retry_after, 403 blocked, placeholder tokens."""

from __future__ import annotations

import pytest

from tests.telegram_stub import BotApiStub
from tgportrait.activate.telegram import ALLOWED_UPDATES, BotApiUnreachable, BotBlocked, TelegramClient, TelegramError
from tgportrait.errors import ConfigError


def test_get_me_and_send_message(stub: BotApiStub, client: TelegramClient) -> None:
    assert client.get_me()["username"] == "portrait_test_bot"
    sent = client.send_message(42, "hello", {"inline_keyboard": [[{"text": "Yes", "callback_data": "c:profiling:y"}]]})
    assert (sent["message_id"], sent["text"]) == (1, "hello")
    assert stub.calls[-1] == ("sendMessage", {"chat_id": 42, "text": "hello", "reply_markup": {
        "inline_keyboard": [[{"text": "Yes", "callback_data": "c:profiling:y"}]]}})


def test_429_is_retried_after_retry_after(stub: BotApiStub, client: TelegramClient) -> None:
    stub.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    assert client.send_message(42, "hi")["text"] == "hi"
    assert client.sleeps == [7.0]  # type: ignore[attr-defined]
    assert stub.methods() == ["sendMessage", "sendMessage"]


def test_429_beyond_the_retries_is_a_transient_error(stub: BotApiStub, client: TelegramClient) -> None:
    for _ in range(4):
        stub.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    with pytest.raises(TelegramError) as error:
        client.send_message(42, "hi")
    assert (error.value.transient, error.value.retry_after, error.value.status) == (True, 1.0, 429)


def test_403_blocked_is_a_terminal_typed_error(stub: BotApiStub, client: TelegramClient) -> None:
    stub.blocked_chats.add(42)
    with pytest.raises(BotBlocked) as error:
        client.send_message(42, "hi")
    assert (error.value.transient, error.value.description, error.value.code) == (
        False, "Forbidden: bot was blocked by the user", "TGP-B002")
    assert stub.token not in error.value.render()


def test_webhook_and_polling_methods_send_allowed_updates_explicitly(stub: BotApiStub, client: TelegramClient) -> None:
    assert client.set_webhook("https://example.org/telegram/webhook", "s3cret") is True
    assert client.delete_webhook() is True
    stub.pending_updates = [{"update_id": 5, "message": {}}, {"update_id": 6, "message": {}}]
    assert [u["update_id"] for u in client.get_updates(None, timeout=0)] == [5, 6]
    assert [u["update_id"] for u in client.get_updates(6, timeout=0)] == [6]
    webhook_params = stub.calls[0][1]
    assert webhook_params["allowed_updates"] == list(ALLOWED_UPDATES) and webhook_params["secret_token"] == "s3cret"
    assert {"chat_member", "message_reaction"} <= set(stub.calls[-1][1]["allowed_updates"])


@pytest.mark.parametrize("token", [None, "", "changeme", "no-colon-here"])
def test_placeholder_tokens_refuse_to_send(stub: BotApiStub, token: str | None) -> None:
    client = TelegramClient(stub.base_url, token)
    with pytest.raises(ConfigError, match="token is missing or a placeholder"):
        client.send_message(42, "hi")
    assert stub.calls == []


def test_unreachable_api_is_transient() -> None:
    client = TelegramClient("http://127.0.0.1:9", "1:abc", timeout=2)
    with pytest.raises(BotApiUnreachable) as error:
        client.get_me()
    assert error.value.transient is True and "1:abc" not in error.value.render()

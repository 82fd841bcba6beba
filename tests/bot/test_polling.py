"""Long polling against the stub: updates stored before handling, offsets confirm only what is committed."""

from __future__ import annotations

from tests.telegram_stub import BotApiStub
from tgportrait.activate.telegram import TelegramClient
from tgportrait.bot.dispatch import BotContext
from tgportrait.bot.polling import poll
from tgportrait.collect.inbox import inbox_stats
from tgportrait.workspace import Workspace

USER = {"id": 42, "is_bot": False, "first_name": "Ana", "language_code": "es"}


def test_poll_stores_handles_and_advances_the_offset(stub: BotApiStub, client: TelegramClient,
                                                     workspace: Workspace) -> None:
    stub.pending_updates = [
        {"update_id": 70, "message": {"message_id": 1, "date": 1767225600, "from": USER,
                                      "chat": {"id": 42, "type": "private"}, "text": "/start"}},
        {"update_id": 71, "message": {"message_id": 2, "date": 1767225601, "from": USER,
                                      "chat": {"id": 42, "type": "private"}, "text": "/start"}},
        {"update_id": 70, "message": {"message_id": 1, "date": 1767225600, "from": USER,
                                      "chat": {"id": 42, "type": "private"}, "text": "/start"}},
    ]
    report = poll(BotContext(workspace, client.base_url, stub.token), timeout=0, max_polls=2)
    assert (report.polls, report.received, report.stored, report.offset) == (2, 3, 2, 72)
    assert inbox_stats(workspace.state)["updates"] == 2
    offsets = [params.get("offset") for method, params in stub.calls if method == "getUpdates"]
    assert offsets == [None, 72]
    assert stub.methods()[0] == "deleteWebhook"
    assert stub.sent_texts(42)[1] == "¿Podemos usar tus datos para crear tu perfil de intereses?"
    assert len(stub.sent_texts(42)) == 4      # notice + first consent question, once per new /start


def test_a_blocked_user_does_not_stop_the_poller(stub: BotApiStub, client: TelegramClient,
                                                 workspace: Workspace) -> None:
    stub.blocked_chats.add(42)
    stub.pending_updates = [{"update_id": 80, "message": {"message_id": 1, "date": 1767225600, "from": USER,
                                                          "chat": {"id": 42, "type": "private"}, "text": "/stop"}}]
    report = poll(BotContext(workspace, client.base_url, stub.token), timeout=0, max_polls=1)
    assert (report.stored, inbox_stats(workspace.state)["by_kind"]) == (1, {"message": 1})


def test_no_profiling_consent_means_no_questionnaire_and_late_callbacks_still_count(
        stub: BotApiStub, client: TelegramClient, workspace: Workspace) -> None:
    stub.fail_next("answerCallbackQuery", 400,
                   "Bad Request: query is too old and response timeout expired or query ID is invalid")

    def press(update_id: int, data: str) -> dict[str, object]:
        return {"update_id": update_id, "callback_query": {"id": str(update_id), "from": USER, "chat_instance": "1",
                                                           "data": data}}

    stub.pending_updates = [press(90, "c:profiling:n"), press(91, "c:marketing:y"), press(92, "c:sensitive:n")]
    poll(BotContext(workspace, client.base_url, stub.token), timeout=0, max_polls=1)
    assert stub.sent_texts(42) == ["¿Podemos usar tus datos para enviarte ofertas y novedades?",
                                   "¿Podemos usar tus datos para intereses que pueden ser sensibles (por ejemplo, "
                                   "afecciones de la piel)?", "¡Listo, gracias!"]


def test_blocking_the_bot_withdraws_marketing(stub: BotApiStub, client: TelegramClient, workspace: Workspace) -> None:
    from tgportrait.clean.consent import consents_of

    bot = {"id": 777000111, "is_bot": True, "first_name": "Portrait"}
    stub.pending_updates = [{"update_id": 95, "my_chat_member": {
        "chat": {"id": 42, "type": "private", "first_name": "Ana"}, "from": USER, "date": 1767225600,
        "old_chat_member": {"user": bot, "status": "member"},
        "new_chat_member": {"user": bot, "status": "kicked", "until_date": 0}}}]
    poll(BotContext(workspace, client.base_url, stub.token), timeout=0, max_polls=1)
    decision = consents_of(workspace.state, "tg_user_id:42")["marketing"]
    assert (decision.granted, decision.source) == (False, "bot:blocked")
    assert stub.sent_texts(42) == []

"""A person's journey through the webhook: start → consent → questionnaire → tracked link → build → portrait.

The Bot API is the local stub; the build is the real pipeline on DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.telegram_stub import BotApiStub
from tests.web.conftest import SECRET
from tgportrait.build import build
from tgportrait.clean.consent import consents_of
from tgportrait.collect.inbox import flush_inbox, inbox_stats
from tgportrait.collect.links import create_link, link_key, personal_link
from tgportrait.portrait.query import portrait
from tgportrait.workspace import Workspace

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
ANA = {"id": 4242, "is_bot": False, "first_name": "Ana", "username": "ana_glow", "language_code": "id"}
DATE = 1767225600   # 2026-01-01


class Person:
    def __init__(self, api: TestClient) -> None:
        self.api = api
        self.update_id = 100

    def _post(self, kind: str, payload: dict[str, Any]) -> None:
        self.update_id += 1
        response = self.api.post("/telegram/webhook", json={"update_id": self.update_id, kind: payload},
                                 headers=HEADERS)
        assert response.json() == {"ok": True, "stored": True}

    def says(self, text: str) -> None:
        self._post("message", {"message_id": self.update_id, "date": DATE, "text": text, "from": ANA,
                               "chat": {"id": ANA["id"], "type": "private"}})

    def presses(self, data: str) -> None:
        self._post("callback_query", {"id": f"cb{self.update_id}", "from": ANA, "chat_instance": "1", "data": data,
                                      "message": {"message_id": 1, "date": DATE,
                                                  "chat": {"id": ANA["id"], "type": "private"}}})


@pytest.fixture
def person(api: TestClient) -> Iterator[Person]:
    yield Person(api)


def test_person_journey_is_reflected_in_the_portrait(person: Person, stub: BotApiStub,
                                                     live_workspace: Workspace) -> None:
    person.says("/start c-spring__src-tiktok")
    assert stub.sent_texts(ANA["id"])[0].startswith("Halo! Kami menggunakan")
    assert stub.sent_texts(ANA["id"])[1] == "Bolehkah kami menggunakan data Anda untuk membangun profil minat Anda?"
    for data in ("c:profiling:y", "c:marketing:y", "c:sensitive:n", "q:region:ID", "q:age_band:25-34",
                 "q:language:id", "q:interests:skincare", "q:interests:makeup", "q:interests:done"):
        person.presses(data)
    texts = stub.sent_texts(ANA["id"])
    assert texts[-2:] == ["Apa minat Anda? Pilih sebanyak yang Anda mau, lalu tekan Selesai.", "Selesai, terima kasih!"]
    assert stub.methods().count("answerCallbackQuery") == 9
    decisions = consents_of(live_workspace.state, f"tg_user_id:{ANA['id']}")
    assert {p: d.granted for p, d in decisions.items()} == {"profiling": True, "marketing": True, "sensitive": False}

    link = create_link(live_workspace.state, "https://shop.example/spring", "spring")
    url = personal_link(live_workspace.state, link_key(live_workspace.root), link, ANA["id"], "http://testserver")
    assert str(ANA["id"]) not in url
    parts = urlsplit(url)
    response = person.api.get(f"{parts.path}?{parts.query}", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (302, "https://shop.example/spring")
    forged = person.api.get(f"{parts.path}?r=AAAA.0000", follow_redirects=False)
    assert forged.status_code == 302      # still redirects, but credits nobody

    assert build(live_workspace).counts["portraits"] == 1
    document = portrait(live_workspace, str(ANA["id"]))
    assert {"type": "tg_username", "value": "ana_glow"} in [
        {"type": i["type"], "value": i["value"]} for i in document["identifiers"]]
    events = live_workspace.lake.read_events(["type", "campaign", "tg_user_id", "answer_key", "answer_value"])
    mine = [e for e in events.to_pylist() if e["tg_user_id"] == ANA["id"]]
    assert sorted((e["type"], e["campaign"]) for e in mine if e["type"] in ("start", "link_click")) == [
        ("link_click", "spring"), ("start", "spring")]
    answers = sorted((e["answer_key"], e["answer_value"]) for e in mine if e["type"] == "questionnaire_answer")
    assert answers == [("age_band", "25-34"), ("consent_marketing", "yes"), ("consent_profiling", "yes"),
                       ("consent_sensitive", "no"), ("interest", "makeup"), ("interest", "skincare"),
                       ("language", "id"), ("region", "ID")]
    anonymous = [e for e in events.to_pylist() if e["type"] == "link_click" and e["tg_user_id"] is None]
    assert len(anonymous) == 1
    assert {key: document["attributes"][key] for key in ("region", "region_source", "age_band", "language")} == {
        "region": "ID", "region_source": "questionnaire", "age_band": "25-34", "language": "id"}
    assert document["facts"]["link_clicks_90d"] == 1
    assert {"age/25_34", "profile/questionnaire_completed"} <= {label["id"] for label in document["labels"]}


def test_stop_withdraws_marketing_and_mydata_reports_it(person: Person, stub: BotApiStub,
                                                        live_workspace: Workspace) -> None:
    person.presses("c:marketing:y")
    person.says("/stop")
    assert stub.sent_texts(ANA["id"])[-1] == ("Anda tidak akan menerima pesan pemasaran lagi. Kirim /start untuk "
                                              "mengubah pilihan Anda.")
    assert consents_of(live_workspace.state, f"tg_user_id:{ANA['id']}")["marketing"].granted is False
    person.says("/mydata")
    summary = stub.sent_texts(ANA["id"])[-1].splitlines()
    assert summary[0] == "Data yang kami simpan tentang Anda:"
    assert summary[1].startswith("• marketing: no (")
    assert summary[-1] == "Belum ada yang dibangun dari data Anda."


def test_forget_asks_for_confirmation_then_erases(person: Person, stub: BotApiStub,
                                                  live_workspace: Workspace) -> None:
    person.presses("c:profiling:y")
    person.says("/forget")
    assert stub.sent_texts(ANA["id"])[-1] == "Hapus semua data Anda? Ini tidak dapat dibatalkan."
    assert stub.calls[-1][1]["reply_markup"] == {"inline_keyboard": [[
        {"text": "Ya", "callback_data": "f:yes"}, {"text": "Tidak", "callback_data": "f:no"}]]}
    person.presses("f:no")
    assert stub.sent_texts(ANA["id"])[-1] == "Tidak ada yang dihapus."
    flush_inbox(live_workspace)           # the person's events are in the lake before the erasure
    person.presses("f:yes")
    assert stub.sent_texts(ANA["id"])[-1] == "Semua data Anda telah dihapus."
    assert consents_of(live_workspace.state, f"tg_user_id:{ANA['id']}") == {}
    assert inbox_stats(live_workspace.state)["updates"] == 0


def test_a_failing_erasure_tells_the_person_the_request_is_recorded(person: Person, stub: BotApiStub,
                                                                    live_workspace: Workspace,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import tgportrait.clean.erasure as erasure

    def broken(_workspace: Workspace, _person: str) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(erasure, "forget_person", broken)
    person.presses("f:yes")
    assert stub.sent_texts(ANA["id"])[-1] == "Permintaan penghapusan Anda telah dicatat."
    assert inbox_stats(live_workspace.state)["updates"] == 1     # the request itself is kept

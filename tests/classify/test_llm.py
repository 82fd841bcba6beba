"""The LLM classifier against a stub OpenAI-compatible chat-completions server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tgportrait.classify.intents import IntentPrediction, load_vocabulary
from tgportrait.classify.llm import ClassifierError, LlmClassifier
from tgportrait.config import IntentSettings
from tgportrait.errors import ConfigError

ANSWERS = {"where is my order?": '{"intent": "logistics", "confidence": 0.93}',
           "tell me a joke": '{"intent": "joke", "confidence": 0.9}',
           "garbage please": "Sure! The intent is logistics.",
           "fenced": '```json\n{"intent": "price", "confidence": 1.7}\n```'}


class StubServer:
    """Answers POST /v1/chat/completions like OpenAI; 'fail 503' and 'fail 401' answer those statuses."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                text = body["messages"][-1]["content"]
                status = int(text.split()[1]) if text.startswith("fail ") else 200
                payload = {"choices": [{"message": {"role": "assistant", "content": ANSWERS.get(text, "{}")}}]}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *args: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer() as server:
        yield server


def test_classifies_within_the_vocabulary(stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_LLM_KEY", "sk-test-123")
    settings = IntentSettings(llm_base_url=stub.url, llm_model="local-model", llm_api_key_env="SHOP_LLM_KEY")
    classifier = LlmClassifier.from_settings(settings, load_vocabulary())
    predictions = classifier.classify(["where is my order?", "tell me a joke", "garbage please", "fenced", "😀"])
    assert predictions == [
        IntentPrediction("logistics", 0.93, False),
        IntentPrediction("other", 0.0, True, "the LLM answered 'joke', outside the vocabulary"),
        IntentPrediction("other", 0.0, True, "the LLM answer is not the JSON object asked for"),
        IntentPrediction("price", 1.0, False),
        IntentPrediction("other", 0.0, True, "no letters (emoji, digits or punctuation only)"),
    ]
    first = stub.requests[0]
    assert (first["path"], first["auth"], first["body"]["model"]) == ("/v1/chat/completions", "Bearer sk-test-123",
                                                                      "local-model")
    assert "- human: Wants a human." in first["body"]["messages"][0]["content"]
    assert len(stub.requests) == 4  # the emoji-only message never left the machine
    classifier.close()


def test_http_errors_are_translated(stub: StubServer) -> None:
    classifier = LlmClassifier(stub.url, "m", None, load_vocabulary())
    with pytest.raises(ClassifierError, match="answered HTTP 503") as unavailable:
        classifier.classify(["fail 503"])
    assert unavailable.value.transient
    with pytest.raises(ClassifierError, match="answered HTTP 401") as refused:
        classifier.classify(["fail 401"])
    assert not refused.value.transient
    classifier.close()


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="no LLM endpoint configured"):
        LlmClassifier.from_settings(IntentSettings(), load_vocabulary())
    with pytest.raises(ConfigError, match="placeholder"):
        LlmClassifier("http://127.0.0.1:9/v1", "m", "changeme", load_vocabulary())
    closed = LlmClassifier("http://127.0.0.1:9/v1", "m", None, load_vocabulary(), timeout=2)
    with pytest.raises(ClassifierError, match="unreachable") as error:
        closed.classify(["hello"])
    assert error.value.transient

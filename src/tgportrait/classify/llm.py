"""The LLM intent classifier: reads texts, writes intents by asking an OpenAI-compatible chat-completions endpoint.

The operator configures the endpoint in settings (``intents.llm_base_url``, ``intents.llm_model``) and the
API key in the environment variable named by ``intents.llm_api_key_env`` (never in a file). The prompt
lists the vocabulary and asks for one JSON object ``{"intent": ..., "confidence": ...}``; an answer
outside the vocabulary, unparsable or refused becomes an abstention with the reason. HTTP errors are
translated to ``ClassifierError`` (transient for 429/5xx and timeouts). ``transport`` is injectable so
tests run against a stub server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tgportrait.classify.intents import IntentPrediction, IntentVocabulary, abstention, screen_text
from tgportrait.errors import ConfigError, TgPortraitError

if TYPE_CHECKING:
    import httpx

PLACEHOLDER_KEYS = frozenset({"", "changeme", "your-api-key", "sk-...", "xxx"})


class ClassifierError(TgPortraitError):
    """A remote classifier failed (the endpoint is down, refused the key, or answered garbage)."""

    code = "TGP-X001"


def build_prompt(vocabulary: IntentVocabulary) -> str:
    lines = [f"- {intent}: {vocabulary.names[intent]}. {vocabulary.descriptions[intent]}" for intent in vocabulary.ids]
    return ("You classify one customer message of an online shop (any language) into exactly one intent.\n"
            "Intents:\n" + "\n".join(lines) + "\n"
            'Answer with one JSON object only: {"intent": "<one id from the list>", "confidence": <0..1>}.')


class LlmClassifier:
    """One chat-completions request per text (texts are short; batching prompts costs accuracy)."""

    name = "llm"

    def __init__(self, base_url: str, model: str, api_key: str | None, vocabulary: IntentVocabulary, *,
                 timeout: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        import httpx

        if api_key is not None and api_key.strip().lower() in PLACEHOLDER_KEYS:
            raise ConfigError("the LLM API key is a placeholder; refusing to send it",
                              hint="Set the real key in the environment variable named by intents.llm_api_key_env.")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=base_url.rstrip("/") + "/", headers=headers, timeout=timeout,
                                    transport=transport)
        self.model, self.vocabulary = model, vocabulary
        self._prompt = build_prompt(vocabulary)

    @classmethod
    def from_settings(cls, settings: Any, vocabulary: IntentVocabulary,
                      transport: httpx.BaseTransport | None = None) -> LlmClassifier:
        """From ``Settings.intents``; the key is read from the environment now, not at import."""
        if not settings.llm_base_url:
            raise ConfigError("no LLM endpoint configured (intents.llm_base_url is empty)",
                              hint="Set intents.llm_base_url in tgportrait.toml or TGPORTRAIT_INTENTS_LLM_BASE_URL.")
        return cls(settings.llm_base_url, settings.llm_model, os.environ.get(settings.llm_api_key_env), vocabulary,
                   timeout=settings.llm_timeout_seconds, transport=transport)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.vocabulary.ids

    def classify(self, texts: Sequence[str | None]) -> list[IntentPrediction]:
        predictions = []
        for text in texts:
            cleaned, reason = screen_text(text)
            predictions.append(self._ask(cleaned) if cleaned is not None else abstention(reason or "empty message"))
        return predictions

    def _ask(self, text: str) -> IntentPrediction:
        import httpx

        body = {"model": self.model, "temperature": 0, "response_format": {"type": "json_object"},
                "messages": [{"role": "system", "content": self._prompt}, {"role": "user", "content": text}]}
        try:
            response = self._client.post("chat/completions", json=body)
        except httpx.HTTPError as exc:
            error = ClassifierError(f"LLM endpoint {self._client.base_url} unreachable: {exc}",
                                    hint="Check intents.llm_base_url and that the server runs.")
            error.transient = True
            raise error from exc
        if response.status_code != 200:
            error = ClassifierError(f"LLM endpoint {self._client.base_url} answered HTTP {response.status_code}",
                                    hint="401/403: check the API key; 429/5xx: retry later.")
            error.transient = response.status_code == 429 or response.status_code >= 500
            raise error
        return self._parse(response)

    def _parse(self, response: httpx.Response) -> IntentPrediction:
        try:
            content = response.json()["choices"][0]["message"]["content"]
            answer = json.loads(content.strip().removeprefix("```json").removesuffix("```"))
            intent = str(answer["intent"]).strip()
            confidence = float(answer.get("confidence", 0.5))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return abstention("the LLM answer is not the JSON object asked for")
        if intent not in self.vocabulary.ids:
            return abstention(f"the LLM answered '{intent[:40]}', outside the vocabulary")
        confidence = min(1.0, max(0.0, confidence))
        return IntentPrediction(intent, confidence, False)

    def close(self) -> None:
        self._client.close()

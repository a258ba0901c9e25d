"""The OpenAI-compatible backend: streaming chat completions from a server many students share (vLLM,
SGLang, Ollama, Xinference serving GLM-4). BookQA never starts a server; it connects to the one configured.

Each failure gives one BackendError naming the server's URL and what to check: a refused or unreachable
connection, a timeout, an HTTP error status, or an error object sent in the stream.
"""

from __future__ import annotations

import logging
from typing import Any, Iterator, Sequence

import openai

from bookqa.answering.backends.base import ChatBackend, Generation, Reply
from bookqa.config import BackendName, Settings
from bookqa.errors import BackendError, SettingsError
from bookqa.text import estimate_tokens
from bookqa.types import Message

log = logging.getLogger(__name__)

NO_KEY = "EMPTY"
"""The API key sent when none is configured (local servers ignore it; the client requires one)."""


class OpenAIBackend(ChatBackend):
    """Chat completions from an OpenAI-compatible server.

    ``base_url``: the server's API root (``http://HOST:PORT/v1``). ``model``: the model name it serves.
    ``api_key``: sent as a bearer token when not empty. ``timeout``: seconds to wait for the connection and
    for each piece of the stream. ``generation``: default generation settings. ``prompt_tokens``: the prompt
    budget. The server's window is taken to hold ``prompt_tokens`` plus the reply; tokens are estimated
    (:func:`bookqa.text.estimate_tokens`) since the server's tokenizer is not at hand.
    """

    name = BackendName.OPENAI

    def __init__(
        self, base_url: str, model: str, *, api_key: str = "", timeout: float, generation: Generation, prompt_tokens: int
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise SettingsError(
                f"BOOKQA_OPENAI_BASE_URL={base_url!r} is not an http(s) URL.",
                "Set it to the server's API root, e.g. http://127.0.0.1:8000/v1.",
            )
        if not model:
            raise SettingsError("BOOKQA_OPENAI_MODEL is empty.", "Set it to the model name the server serves.")
        if timeout <= 0 or prompt_tokens < 1:
            raise ValueError(f"timeout must be above 0 and prompt_tokens at least 1; got {timeout}, {prompt_tokens}.")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self.generation = generation
        self.prompt_tokens = prompt_tokens
        self.context_tokens = prompt_tokens + generation.max_new_tokens
        self._client = openai.OpenAI(base_url=self.base_url, api_key=api_key or NO_KEY, timeout=timeout, max_retries=0)

    @classmethod
    def from_settings(cls, settings: Settings) -> "OpenAIBackend":
        """The backend for ``settings.openai_base_url``, ``openai_model``, ``openai_api_key``, ``openai_timeout``."""
        return cls(
            settings.openai_base_url,
            settings.openai_model,
            api_key=settings.openai_api_key,
            timeout=settings.openai_timeout,
            generation=Generation.from_settings(settings),
            prompt_tokens=settings.context_tokens,
        )

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def stream(self, messages: Sequence[Message], **overrides: float) -> Reply:
        generation = self.generation.override(**overrides)
        usage: dict[str, int] = {}
        return Reply(self._pieces(list(messages), generation, usage), usage)

    def _pieces(self, messages: list[Message], generation: Generation, usage: dict[str, int]) -> Iterator[str]:
        stream = None
        try:
            stream = self._client.chat.completions.create(
                model=self.model,
                messages=[{"role": m.role, "content": m.content} for m in messages],  # type: ignore[misc]
                stream=True,
                stream_options={"include_usage": True},
                max_tokens=self.reply_tokens(generation),
                temperature=generation.temperature,
                top_p=generation.top_p,
                extra_body={"repetition_penalty": generation.repetition_penalty},
            )
            written: list[str] = []
            for chunk in stream:
                if chunk.usage is not None:
                    usage.update(prompt_tokens=chunk.usage.prompt_tokens, completion_tokens=chunk.usage.completion_tokens)
                for choice in chunk.choices:
                    if choice.delta is not None and choice.delta.content:
                        written.append(choice.delta.content)
                        yield choice.delta.content
            if not usage:  # a server that sends no usage: counted the way the prompt budget is
                usage.update(
                    prompt_tokens=sum(estimate_tokens(m.content) for m in messages),
                    completion_tokens=estimate_tokens("".join(written)),
                    estimated=True,
                )
        except openai.APIError as error:
            raise self._explain(error) from error
        finally:
            if stream is not None:
                stream.close()

    def _explain(self, error: openai.APIError) -> BackendError:
        """One clear message for a failure talking to the server."""
        where = f"the answer server at {self.base_url}"
        if isinstance(error, openai.APITimeoutError):
            return BackendError(
                f"No answer from {where} within {self.timeout:g} s.",
                "Check that the server is running and not overloaded, or raise BOOKQA_OPENAI_TIMEOUT.",
            )
        if isinstance(error, openai.APIConnectionError):
            return BackendError(
                f"Cannot connect to {where} (connection refused or host unreachable).",
                "Start the OpenAI-compatible server (vLLM, SGLang, Ollama, Xinference) or fix BOOKQA_OPENAI_BASE_URL.",
            )
        detail = _detail(error)
        if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            return BackendError(f"{where} refused the API key: {detail}", "Set BOOKQA_OPENAI_API_KEY to a key it accepts.")
        if isinstance(error, openai.NotFoundError):
            return BackendError(
                f"{where} does not serve model {self.model!r} or this path: {detail}",
                "Check BOOKQA_OPENAI_MODEL (the served model name) and that BOOKQA_OPENAI_BASE_URL ends with /v1.",
            )
        if isinstance(error, openai.APIStatusError) and error.status_code >= 500:
            return BackendError(
                f"{where} failed with HTTP {error.status_code}: {detail}",
                "Check the server's log; it may be out of memory or still loading the model.",
            )
        if isinstance(error, openai.APIStatusError):
            return BackendError(
                f"{where} rejected the request with HTTP {error.status_code}: {detail}",
                "Check BOOKQA_OPENAI_MODEL, and that BOOKQA_CONTEXT_TOKENS plus BOOKQA_MAX_NEW_TOKENS fit the server's "
                "context length.",
            )
        return BackendError(f"{where} reported an error: {detail}", "Check the server's log and BOOKQA_OPENAI_MODEL.")


def _detail(error: openai.APIError) -> str:
    """The server's own error message where it sent one, else the client's."""
    body: Any = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        if message:
            return str(message)
    return error.message

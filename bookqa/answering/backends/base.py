"""The backend interface: answer a question from retrieved hits, streaming the reply.

``Backend.answer`` is what callers use, whatever the backend. ``ChatBackend`` is the base of the backends
with a language model (transformers, OpenAI-compatible server): it builds the grounded prompt within the
model's budget and streams the model's reply to it through ``stream(messages)``; the extractive backend
answers from the hits directly.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Iterator, Sequence

from bookqa.answering.prompts import build_prompt
from bookqa.config import BackendName, Settings
from bookqa.index.embedders import Embedder
from bookqa.index.query import Query
from bookqa.types import Hit, Message, Pages


@dataclass(frozen=True)
class Generation:
    """How a reply is generated: at most ``max_new_tokens`` tokens, sampled at ``temperature`` (0: greedy
    decoding) from the ``top_p`` nucleus, with ``repetition_penalty`` (1: none)."""

    max_new_tokens: int
    temperature: float
    top_p: float
    repetition_penalty: float

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}.")
        if self.temperature < 0:
            raise ValueError(f"temperature must be 0 (greedy) or more, got {self.temperature}.")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}.")
        if self.repetition_penalty <= 0:
            raise ValueError(f"repetition_penalty must be above 0, got {self.repetition_penalty}.")

    @classmethod
    def from_settings(cls, settings: Settings) -> "Generation":
        """The generation settings of ``settings`` (max_new_tokens, temperature, top_p, repetition_penalty)."""
        return cls(settings.max_new_tokens, settings.temperature, settings.top_p, settings.repetition_penalty)

    def override(self, **overrides: float) -> "Generation":
        """A copy with ``overrides`` applied; an unknown name raises TypeError listing the valid ones."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"Unknown generation setting(s) {sorted(unknown)}; use: {', '.join(sorted(known))}.")
        return dataclasses.replace(self, **overrides)  # type: ignore[arg-type]


class Reply:
    """The text pieces of one reply, in order; iterate it once.

    ``usage`` holds ``prompt_tokens`` and ``completion_tokens`` once known (at the latest when the reply is
    exhausted); a backend without a model leaves it empty. ``close()`` (or leaving a ``with`` block) stops
    generation early and frees the model for the next caller.
    """

    def __init__(self, pieces: Iterator[str], usage: dict[str, int] | None = None) -> None:
        """``pieces``: a generator of text pieces; ``usage``: the dict the generator fills with token counts."""
        self._pieces = pieces
        self.usage: dict[str, int] = {} if usage is None else usage

    def __iter__(self) -> "Reply":
        return self

    def __next__(self) -> str:
        return next(self._pieces)

    def close(self) -> None:
        """Stop the reply; the rest of it is never generated."""
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> "Reply":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def text(self) -> str:
        """The rest of the reply, joined (consumes it)."""
        return "".join(self)


class Backend(ABC):
    """An answer backend.

    ``name``: who writes the answers (transformers, openai, extractive, or a test double's own name).
    ``model``: the model that writes them, as shown to users. ``generative``: True when a language model writes
    the text (it can then also rewrite follow-up questions).
    """

    name: BackendName | str
    model: str
    generative: bool

    @abstractmethod
    def answer(
        self,
        question: Query,
        hits: Sequence[Hit],
        history: Sequence[Message] = (),
        pages: Pages | None = None,
        standalone: Query | None = None,
        embedder: Embedder | None = None,
        **overrides: float,
    ) -> Reply:
        """Stream an answer to ``question`` grounded in ``hits``, citing pages as ``[p.LABEL]``.

        ``hits``: the retrieved passages, best first. ``history``: earlier turns of the conversation, oldest
        first. ``pages``: the book's pages, for printed labels (a page it lacks is cited by its number).
        ``standalone``: the question rewritten to stand alone, when it was a follow-up. ``embedder``: the book's,
        for a backend that weighs sentences by meaning (the extractive one). ``overrides``: generation settings
        for this reply (see :class:`Generation`).
        """


class ChatBackend(Backend):
    """A backend with a chat language model: the grounded prompt is built here and streamed by ``stream``.

    Subclasses set ``name``, ``model``, ``generation`` (the default :class:`Generation`), ``prompt_tokens`` (the
    prompt budget from settings) and ``context_tokens`` (the model's window, prompt and reply together).
    """

    generative = True
    generation: Generation
    prompt_tokens: int
    context_tokens: int

    @abstractmethod
    def stream(self, messages: Sequence[Message], **overrides: float) -> Reply:
        """Stream the model's reply to ``messages`` (oldest first); ``overrides`` as in :meth:`Backend.answer`."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` takes in this model's prompt."""

    def reply_tokens(self, generation: Generation) -> int:
        """The reply budget: ``generation.max_new_tokens``, capped at half the model's window."""
        return min(generation.max_new_tokens, self.context_tokens // 2)

    def prompt_budget(self, generation: Generation) -> int:
        """Tokens the prompt may take: the ``prompt_tokens`` setting, within the window left by the reply."""
        return min(self.prompt_tokens, self.context_tokens - self.reply_tokens(generation))

    def answer(
        self,
        question: Query,
        hits: Sequence[Hit],
        history: Sequence[Message] = (),
        pages: Pages | None = None,
        standalone: Query | None = None,
        embedder: Embedder | None = None,
        **overrides: float,
    ) -> Reply:
        generation = self.generation.override(**overrides)
        prompt = build_prompt(
            question,
            hits,
            history,
            pages=pages,
            standalone=standalone,
            budget=self.prompt_budget(generation),
            count_tokens=self.count_tokens,
        )
        return self.stream(prompt.messages, **overrides)

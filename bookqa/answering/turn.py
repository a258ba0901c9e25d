"""One conversation turn: rewrite a follow-up, retrieve, judge whether the book supports an answer, stream the
answer, check its citations. This is what the chat page and ``python -m bookqa ask`` call.

    turn = ask(question, retriever=book.retriever, backend=backend, settings=settings,
               history=history, pages=book.pages)
    turn.query                       # the question as read: normalised, its language and terms
    show_sources(turn.hits)          # known before the first token
    for piece in turn: show(piece)   # the reply as it is written
    answer = turn.result()           # checked citations, timings, token counts
"""

from __future__ import annotations

import logging
import time
from typing import Iterator, Protocol, Sequence

from bookqa.answering.backends.base import Backend, Reply
from bookqa.answering.calibration import Calibration
from bookqa.answering.citations import check_citations
from bookqa.answering.confidence import Confidence, assess
from bookqa.answering.prompts import LOW_CONFIDENCE
from bookqa.answering.rewrite import rewrite_query
from bookqa.config import Settings
from bookqa.index.embedders import Embedder
from bookqa.index.query import Query
from bookqa.index.retriever import Scope
from bookqa.types import Answer, Hit, Message, Page, Pages

log = logging.getLogger(__name__)

DEFAULT_SHIFT = 0.06
"""How much lower the cut is for a question in the other language when a threshold is set outright for a book
without a calibration to measure it."""


class Searcher(Protocol):
    """Anything that retrieves passages and knows how often the book uses a word, like :class:`bookqa.retrieval.Retriever`."""

    def search(self, query: str, k: int | None = None, mode: str | None = None, scope: Scope = Scope()) -> list[Hit]: ...

    def mentions(self, word: str) -> int: ...

    def phrase_use(self, phrase: str) -> tuple[int, int]: ...

    @property
    def embedder(self) -> Embedder: ...


class Turn:
    """A question being answered; made by :func:`ask`.

    Known at once: ``query`` (the question as read), ``question`` (its normalised text), ``rewritten_query`` (the
    standalone query searched for a follow-up, else None), ``hits``, ``confidence`` and ``low_confidence``. Iterate the turn for the reply's
    text pieces (once); :meth:`result` gives the :class:`Answer` when the reply is complete. ``close()``
    stops the reply early (the answer then holds the text so far).
    """

    def __init__(
        self,
        query: Query,
        rewritten_query: str | None,
        hits: list[Hit],
        confidence: Confidence,
        reply: Reply,
        backend: Backend,
        pages: Pages,
        timings: dict[str, float],
        started: float,
    ) -> None:
        self.query = query
        self.question = query.text
        self.rewritten_query = rewritten_query
        self.hits = hits
        self.confidence = confidence
        self.low_confidence = confidence.low
        self._reply = reply
        self._backend = backend
        self._pages = pages
        self._timings = timings
        self._started = started
        self._answer: Answer | None = None
        self._error: Exception | None = None
        self._pieces = self._stream()

    def __iter__(self) -> Iterator[str]:
        return self._pieces

    def close(self) -> None:
        """Stop the reply; :meth:`result` then returns the answer written so far."""
        self._pieces.close()
        self._reply.close()

    def result(self) -> Answer:
        """The finished answer; reads whatever of the reply has not been read yet. Raises the backend's
        error (BackendError) again when the reply failed."""
        for _ in self._pieces:
            pass
        if self._error is not None:
            raise self._error
        if self._answer is None:  # closed before the reply began
            self._finish([])
        assert self._answer is not None
        return self._answer

    def _stream(self) -> Iterator[str]:
        parts: list[str] = []
        try:
            with self._reply:
                for piece in self._reply:
                    if not parts:
                        self._timings["first_token"] = time.perf_counter() - self._started
                    parts.append(piece)
                    yield piece
        except GeneratorExit:
            self._finish(parts)
            raise
        except Exception as error:
            self._error = error
            raise
        self._finish(parts)

    def _finish(self, parts: list[str]) -> None:
        checked = check_citations("".join(parts), self.hits, self._pages)
        if checked.unverified:
            log.info("The reply cites pages that were not retrieved: %s", ", ".join(checked.unverified))
        self._timings["total"] = time.perf_counter() - self._started
        self._answer = Answer(
            text=checked.text,
            hits=tuple(self.hits),
            citations=checked.pages,
            rewritten_query=self.rewritten_query,
            unverified=checked.unverified,
            low_confidence=self.low_confidence,
            backend=str(self._backend.name),
            model=self._backend.model,
            timings=dict(self._timings),
            usage=dict(self._reply.usage),
        )


def ask(
    question: str,
    *,
    retriever: Searcher,
    backend: Backend,
    settings: Settings,
    history: Sequence[Message] = (),
    scope: Scope = Scope(),
    pages: Pages | Sequence[Page] = (),
    calibration: Calibration | None = None,
) -> Turn:
    """Answer ``question`` from the book behind ``retriever`` with ``backend``; returns a streaming :class:`Turn`.

    ``history``: earlier user/assistant turns, oldest first; the last ``settings.history_turns`` are used.
    ``scope``: which part of the book to search. ``pages``: the book's pages, for printed page labels and
    for placing quoted sentences on their page. ``calibration``: the book's low-confidence cuts (None: not
    calibrated). ``settings``: top_k, retrieval_mode, history_turns and low_confidence_threshold (which overrides
    the calibrated cut). A follow-up is rewritten into a standalone query before searching; when nothing retrieved
    supports an answer, the reply says so instead of answering.
    """
    started = time.perf_counter()
    query = retriever.read(question)
    if not query.text:
        raise ValueError("The question is empty.")
    kept = [m for m in history if m.role in ("user", "assistant")]
    kept = kept[-settings.history_turns :] if settings.history_turns > 0 else []
    timings: dict[str, float] = {}

    rewritten = rewrite_query(query, kept, retriever, backend)
    timings["rewrite"] = time.perf_counter() - started
    standalone = retriever.read(rewritten) if rewritten else None
    searched_for = standalone or query
    if rewritten:
        log.info("Follow-up rewritten for retrieval: %r -> %r", query.text, rewritten)

    searched = time.perf_counter()
    hits = retriever.search(searched_for, k=settings.top_k, mode=settings.retrieval_mode, scope=scope)
    timings["retrieval"] = time.perf_counter() - searched

    confidence = judge(searched_for, hits, retriever, calibration, settings)
    log.info("Confidence for %r: %s (%s).", searched_for.text, "low" if confidence.low else "ok", confidence.reason)
    book_pages = Pages.of(pages)
    if confidence.low:
        reply = Reply(iter([LOW_CONFIDENCE[query.language]]))
    else:
        reply = backend.answer(query, hits, kept, pages=book_pages, standalone=standalone, embedder=retriever.embedder)
    return Turn(query, rewritten, hits, confidence, reply, backend, book_pages, timings, started)


def judge(
    query: Query, hits: Sequence[Hit], retriever: Searcher, calibration: Calibration | None, settings: Settings
) -> Confidence:
    """Whether ``hits`` support an answer to ``query``: the low-confidence rule with the book's cuts (:func:`cuts`)."""
    return assess(query, hits, cuts(calibration, settings), retriever.mentions)


def cuts(calibration: Calibration | None, settings: Settings) -> Calibration | None:
    """The low-confidence cuts a turn uses: the book's calibration, or ``settings.low_confidence_threshold`` when
    set (across languages lowered by the book's shift, or by :data:`DEFAULT_SHIFT` without a calibration)."""
    threshold = settings.low_confidence_threshold
    if threshold is None:
        return calibration
    return calibration.overridden(threshold) if calibration is not None else Calibration.fixed(threshold, DEFAULT_SHIFT)

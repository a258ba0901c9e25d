"""Hybrid retrieval: dense and keyword candidates, score fusion, scope filters, neighbour merging.

Each signal returns ``settings.candidates`` chunks (filters are applied inside both searches). Hybrid mode fuses
them, weighted or by reciprocal rank (``settings.fusion``; :mod:`bookqa.index.fusion` has the formulas), the
keyword signal counting as much as the share of the question's words the book holds. A query in English about a
Chinese book is searched together with the Chinese terms the book itself gives for its English words
(:mod:`bookqa.index.glossary`). A whole-book search reaches the book's front and back matter (unnumbered sections
before its first numbered one or after its last: a preface, acknowledgments, a contributor list) only where one of
their titles is the question's best-matching title in the book (:mod:`bookqa.index.title_index`): they speak about
the book, not its subject. Every hit keeps the score and 1-based rank of each signal that found it. Consecutive
chunks of one section that both made the candidate list are merged into one passage (up to MERGE_LIMIT chunks),
so the top ``k`` shows ``k`` distinct passages.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Mapping, Sequence

import numpy as np

from bookqa.config import Settings
from bookqa.errors import IndexMismatchError
from bookqa.index.embedders import PASSAGE, QUERY, Embedder, Progress
from bookqa.index.fusion import Fusion, Ranked, merge_scores, score_breakdown
from bookqa.index.glossary import Glossary
from bookqa.index.keyword_index import KeywordIndex
from bookqa.index.query import Query
from bookqa.index.title_index import TitleIndex
from bookqa.index.tokenizer import BOOK_WORDS, Tokenizer, title_terms
from bookqa.index.vector_index import VectorIndex
from bookqa.text import HAN, normalize_text
from bookqa.types import Chunk, Hit, RetrievalMode, Scores, Signal, passage_id

log = logging.getLogger(__name__)

MERGE_LIMIT = 3
"""Most chunks merged into one passage, so a section where every chunk matches still yields short passages."""
BEST_TITLE = 1.0 - 1e-6
"""A title score (scaled to the book's best-matching title) that marks the question's best-matching title: front and
back matter are searched only then, so a question that says "the book" in passing does not open "About this book"."""
MIN_OVERLAP = 10
"""Shortest suffix/prefix match treated as the overlap of two neighbouring chunks when joining them."""
_WORD = re.compile(r"[a-z0-9]+")
_SPACES = re.compile(r"[^\w\u3000-\u303f\uff00-\uffef]+")
_SPACE_BY_HAN = re.compile(f"(?<=[{HAN}]) | (?=[{HAN}])")


def index_text(chunk: Chunk) -> str:
    """What is embedded and keyword-indexed for ``chunk``: its section path ("7 现代卷积神经网络 > 7.7 稠密连接网络
    （DenseNet） > 7.7.4 DenseNet模型"), a line break, its text; the text alone when it has no section.

    The path lets every chunk of a section carry its topic, also deep inside it (what that buys is measured in the
    README's benchmark figures).
    """
    return f"{' > '.join(chunk.section_path)}\n{chunk.text}" if chunk.section_path else chunk.text


def build_indexes(
    chunks: Sequence[Chunk], embedder: Embedder, progress: Progress | None = None
) -> tuple[VectorIndex, KeywordIndex]:
    """Embed and keyword-index ``chunks`` (in order) with :func:`index_text`.

    ``embedder``: embeds the passages (it batches them). ``progress``: called with (done, total) as passages
    are embedded. Section-title terms become the keyword index's extra words. Returns both indexes.
    """
    if not chunks:
        raise ValueError("build_indexes needs at least one chunk.")
    started = time.perf_counter()
    vectors = embedder.embed([index_text(chunk) for chunk in chunks], kind=PASSAGE, progress=progress)
    keyword_index = build_keyword_index(chunks)
    log.info("Indexed %d chunks in %.1f s", len(chunks), time.perf_counter() - started)
    return VectorIndex.build(vectors), keyword_index


def build_keyword_index(chunks: Sequence[Chunk]) -> KeywordIndex:
    """The keyword index of ``chunks`` (in order) over :func:`index_text`; section-title terms become its extra words."""
    if not chunks:
        raise ValueError("build_keyword_index needs at least one chunk.")
    titles = dict.fromkeys(title for chunk in chunks for title in chunk.section_path)
    return KeywordIndex.build([index_text(chunk) for chunk in chunks], extra_words=[term for title in titles for term in title_terms(title)])


@dataclass(frozen=True)
class Scope:
    """Which chunks a search may return.

    ``section``: a section number ("7.7"); it includes its subsections, as ``Chunk.in_section`` does.
    ``pages``: ``(first, last)`` 1-based physical pages, inclusive; a chunk that overlaps them is in scope.
    None means no limit; both given means both must hold.
    """

    section: str | None = None
    pages: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.section is not None and not self.section.strip():
            raise ValueError("Scope.section must be a section number such as '7.7', or None for the whole book.")
        if self.pages is not None and not (len(self.pages) == 2 and 1 <= self.pages[0] <= self.pages[1]):
            raise ValueError(f"Scope.pages must be (first, last) with 1 <= first <= last, got {self.pages}.")

    @property
    def whole_book(self) -> bool:
        """True when the scope sets no limit."""
        return self.section is None and self.pages is None


def merge_chunks(chunks: Sequence[Chunk]) -> Chunk:
    """One chunk made of consecutive ``chunks`` of a section: the text joined without repeating their overlap,
    the page span of all, and the passage's id (:func:`bookqa.types.passage_id`: "book:00012+00013")."""
    first = chunks[0]
    text = first.text
    for chunk in chunks[1:]:
        text = _join(text, chunk.text)
    return dataclasses.replace(
        first,
        id=passage_id([chunk.id for chunk in chunks]),
        text=text,
        page_start=min(chunk.page_start for chunk in chunks),
        page_end=max(chunk.page_end for chunk in chunks),
    )


def _join(left: str, right: str) -> str:
    """``left + right`` without repeating the longest suffix of ``left`` (at least MIN_OVERLAP long) that starts ``right``."""
    head = right[:MIN_OVERLAP]
    start = left.find(head) if len(head) == MIN_OVERLAP else -1
    while start != -1:
        if right.startswith(left[start:]):
            return left + right[len(left) - start :]
        start = left.find(head, start + 1)
    return f"{left}\n{right}"


class Retriever:
    """Searches one book's chunks by meaning (dense), by words (keyword) or both (hybrid).

    A book whose vectors are not built yet has no vector index: every search is a keyword search then
    (:attr:`dense` is False, :meth:`mode_for` says which mode a search runs in), so callers can say so.
    """

    def __init__(
        self,
        chunks: Sequence[Chunk],
        vector_index: VectorIndex | None,
        keyword_index: KeywordIndex,
        embedder: Embedder | None,
        settings: Settings,
    ) -> None:
        """``chunks`` in index order; ``vector_index`` and ``keyword_index`` built from them (:func:`build_indexes`),
        ``vector_index`` None while the vectors are missing; ``embedder`` the model that made the vectors (None
        without them); ``settings`` gives top_k, candidates, retrieval_mode and the fusion
        (:meth:`Fusion.from_settings`)."""
        sizes = {"chunks": len(chunks), "keyword index": len(keyword_index)}
        if vector_index is not None:
            sizes["vector index"] = len(vector_index)
        if len(set(sizes.values())) != 1:
            raise IndexMismatchError(
                f"The book's indexes do not match its chunks ({', '.join(f'{k}: {v}' for k, v in sizes.items())}).",
                "Rebuild the book's index.",
            )
        if (vector_index is None) != (embedder is None):
            raise ValueError("A Retriever needs both a vector index and its embedder, or neither.")
        if embedder is not None and vector_index is not None and embedder.dim != vector_index.dim:
            raise IndexMismatchError(
                f"The embedder {embedder.name!r} makes {embedder.dim}-d vectors but the index holds {vector_index.dim}-d ones.",
                "Use the embedding model the book was indexed with, or rebuild the book's index.",
            )
        self.chunks = tuple(chunks)
        self._vector_index = vector_index
        self._keyword_index = keyword_index
        self._titles = TitleIndex(self.chunks, keyword_index.tokenizer)
        self.glossary = Glossary.from_chunks(self.chunks, keyword_index.tokenizer.words)
        self._embedder = embedder
        self._settings = settings
        self._fusion = Fusion.from_settings(settings)
        self._page_start = np.array([chunk.page_start for chunk in self.chunks])
        self._page_end = np.array([chunk.page_end for chunk in self.chunks])
        self._sections = np.array([chunk.section_number or "" for chunk in self.chunks], dtype=np.str_)
        self._matter = _matter(self._sections)
        self._continues = [  # _continues[i]: chunk i + 1 follows chunk i in the same section
            a.book_id == b.book_id and a.section_path == b.section_path for a, b in zip(self.chunks, self.chunks[1:])
        ]

    def expand(self, query: str) -> str:
        """``query`` with the book's Chinese terms for the English names in it appended (see :mod:`bookqa.index.glossary`);
        ``query`` itself when it names none."""
        terms = self.glossary.terms_for(query)
        return f"{query} {' '.join(terms)}" if terms else query

    def best_similarities(self, texts: Sequence[str]) -> np.ndarray:
        """For each text (read as a query, normalised), its best dense similarity to the book's passages; one batch."""
        if not texts:
            return np.empty(0, np.float32)
        vectors = self._embedder.embed([normalize_text(text) for text in texts], kind=QUERY)
        scores, _ = self._vector_index.search(vectors, 1)
        return scores[:, 0]

    def phrase_use(self, phrase: str) -> tuple[int, int]:
        """How often the book prints ``phrase`` as whole words (case, punctuation, spaces next to Chinese text and an
        English plural ending ignored): times per passage, and the number of its section titles that hold it."""
        key = flat_phrase(phrase)
        if not key:
            return 0.0, 0
        plural = "(?:e?s)?" if key[-1].isascii() and key[-1].isalpha() else ""
        whole = re.compile(rf"(?<![a-z0-9]){re.escape(key)}{plural}(?![a-z0-9])")
        return len(whole.findall(self._flat_text)), len(whole.findall(self._flat_titles))

    @cached_property
    def _flat_text(self) -> str:
        return "\n".join(flat_phrase(chunk.text) for chunk in self.chunks)

    @cached_property
    def _flat_titles(self) -> str:
        return "\n".join(flat_phrase(title) for title in dict.fromkeys(t for chunk in self.chunks for t in chunk.section_path))

    def mentions(self, word: str) -> int:
        """How many chunks hold the Latin-letter or digit ``word`` (lower case, whole) in their text or section path."""
        return self._words[word.lower()]

    @cached_property
    def _words(self) -> Counter[str]:
        """Per Latin-letter or digit word, the number of chunks that hold it (counted when first asked for)."""
        return Counter(
            word for chunk in self.chunks for word in set(_WORD.findall(f"{' '.join(chunk.section_path)} {chunk.text}".lower()))
        )

    @property
    def tokenizer(self) -> Tokenizer:
        """The book's tokenizer (what keyword search calls a word)."""
        return self._keyword_index.tokenizer

    def read(self, text: str) -> Query:
        """``text`` read as a query of this book (:meth:`Query.read` with its tokenizer)."""
        return Query.read(text, self.tokenizer)

    @property
    def fusion(self) -> Fusion:
        """How hybrid mode fuses the signals."""
        return self._fusion

    @property
    def embedder(self) -> Embedder | None:
        """The model that embeds queries (the one that made the book's vectors); None without vectors."""
        return self._embedder

    @property
    def dense(self) -> bool:
        """Whether the book's vectors are there (else every search is a keyword search)."""
        return self._vector_index is not None

    def mode_for(self, mode: RetrievalMode | str | None = None) -> RetrievalMode:
        """The mode a search asked for ``mode`` (default ``settings.retrieval_mode``) runs in: keyword without vectors."""
        mode = RetrievalMode.parse(self._settings.retrieval_mode if mode is None else mode, "mode")
        return mode if self.dense else RetrievalMode.KEYWORD

    def search(
        self, query: str | Query, k: int | None = None, mode: RetrievalMode | str | None = None, scope: Scope = Scope()
    ) -> list[Hit]:
        """The best ``k`` passages for ``query``, best first.

        ``query``: text (normalised here) or an already read :class:`Query`. ``k``: passages wanted (default
        ``settings.top_k``). ``mode``: hybrid, dense or keyword (default ``settings.retrieval_mode``). ``scope``:
        which chunks may be returned; without vectors the search runs in keyword mode (:meth:`mode_for`).
        Returns up to ``k`` hits with 1-based ranks; ``score`` is the fused score in hybrid mode, else the signal's
        score; ``scores`` holds every signal's score and rank. An empty query, an empty scope or a query no signal
        matches returns [].
        """
        k = self._settings.top_k if k is None else k
        mode = self.mode_for(mode)
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}.")
        text = query.text if isinstance(query, Query) else normalize_text(query)
        allowed = self._allowed(scope)
        if not text or (allowed is not None and not allowed.any()):
            return []
        if allowed is None and self._matter.any():  # front and back matter only where the question asks for its title
            allowed = ~self._matter | (self._matter_titles(text) >= BEST_TITLE)
        expanded = self.expand(text)
        signals = self._signals(expanded, mode, max(self._settings.candidates, k), allowed)
        primary = Signal.FUSED if mode == RetrievalMode.HYBRID else Signal(mode.value)
        fusion = self._fusion if primary == Signal.FUSED else None
        coverage = self._keyword_index.coverage(expanded) if primary == Signal.FUSED else 1.0
        breakdown = score_breakdown(signals, fusion, coverage)
        order = sorted(breakdown, key=lambda position: (-_value(breakdown[position], primary), position))
        passages = self._passages(order, breakdown)
        passages.sort(key=lambda passage: (-_value(passage[1], primary), passage[0][0]))
        hits = []
        for rank, (group, scores) in enumerate(passages[:k], start=1):
            members = tuple(self.chunks[p] for p in group)
            hits.append(Hit(merge_chunks(members), rank, _value(scores, primary), scores, members if len(members) > 1 else ()))
        return hits

    def _matter_titles(self, text: str) -> np.ndarray:
        """Per chunk, how well ``text`` matches its titles (:meth:`TitleIndex.scores`), read past the words that point
        at the book itself (:data:`BOOK_WORDS`) unless nothing else in it matches a title ("who wrote this book?")."""
        scores = self._titles.scores(text, ignore=BOOK_WORDS)
        return scores if scores.any() else self._titles.scores(text)

    def _allowed(self, scope: Scope) -> np.ndarray | None:
        """Boolean mask of the chunks in ``scope`` (vectorised ``Chunk.in_section`` and ``overlaps_pages``), or None."""
        if scope.whole_book:
            return None
        allowed = np.ones(len(self.chunks), dtype=bool)
        if scope.section is not None:
            number = scope.section.strip()
            allowed &= (self._sections == number) | np.strings.startswith(self._sections, number + ".")
        if scope.pages is not None:
            first, last = scope.pages
            allowed &= (self._page_start <= last) & (self._page_end >= first)
        return allowed

    def _signals(self, query: str, mode: RetrievalMode, candidates: int, allowed: np.ndarray | None) -> dict[Signal, Ranked]:
        """The ranked candidates of each signal that ``mode`` uses."""
        signals = {}
        if mode != RetrievalMode.KEYWORD:
            assert self._vector_index is not None and self._embedder is not None
            scores, ids = self._vector_index.search(self._embedder.embed([query], kind=QUERY), candidates, allowed)
            signals[Signal.DENSE] = (scores[0], ids[0])
        if mode != RetrievalMode.DENSE:
            signals[Signal.KEYWORD] = self._keyword_index.search(query, candidates, allowed)
        return signals

    def _passages(self, order: list[int], breakdown: dict[int, Scores]) -> list[tuple[list[int], Scores]]:
        """Group the ranked candidates into passages: each, best first, with its unused candidate neighbours.

        Returns ``(positions in reading order, merged scores)`` per passage.
        """
        place = {position: i for i, position in enumerate(order)}
        passages = []
        for position in order:
            if position in place:  # else already part of a better-ranked passage
                group = self._neighbours(position, place)
                for member in group:
                    del place[member]
                parts = [breakdown[member] for member in group]
                passages.append((group, parts[0] if len(group) == 1 else merge_scores(parts)))
        return passages

    def _neighbours(self, position: int, place: Mapping[int, int]) -> list[int]:
        """``position`` grown, towards its better-ranked unused candidate neighbour first, to at most MERGE_LIMIT
        consecutive chunks of its section; returns positions in reading order."""
        first = last = position
        while last - first + 1 < MERGE_LIMIT:
            options = []
            if first > 0 and self._continues[first - 1] and first - 1 in place:
                options.append(first - 1)
            if last + 1 < len(self.chunks) and self._continues[last] and last + 1 in place:
                options.append(last + 1)
            if not options:
                break
            best = min(options, key=place.__getitem__)
            first, last = min(first, best), max(last, best)
        return list(range(first, last + 1))


def _matter(sections: np.ndarray) -> np.ndarray:
    """Which chunks are front or back matter: those of unnumbered sections before the book's first numbered chunk
    or after its last (a preface, its acknowledgments, a contributor list); none in a book that numbers nothing."""
    numbered = np.flatnonzero(sections != "")
    matter = np.zeros(len(sections), dtype=bool)
    if len(numbered):
        matter[: numbered[0]] = True
        matter[numbered[-1] + 1 :] = True
    return matter & (sections == "")


def flat_phrase(text: str) -> str:
    """``text`` as phrases are compared: lower case, punctuation and runs of spaces as one space, none next to a Han
    character."""
    return _SPACE_BY_HAN.sub("", _SPACES.sub(" ", text.lower())).strip()


def _value(scores: Scores, primary: Signal) -> float:
    """The score that ranks a passage: ``primary``'s (every candidate has the signal that found it)."""
    value = scores.value(primary)
    assert value is not None
    return value

"""Hybrid retrieval: dense and keyword candidates, score fusion, scope filters, neighbour merging.

Each signal returns ``settings.candidates`` chunks (filters are applied inside both searches). Hybrid mode fuses
them in one of two ways (``settings.fusion``, see :class:`Fusion`):
- ``weighted`` (the default): each signal's score is scaled to [0, 1] over its candidates (``dense_norm``,
  ``keyword_norm``) and ``fused = w * dense_norm + (1 - w) * keyword_norm + TITLE_WEIGHT * title``;
- ``rrf``: reciprocal rank fusion, ``fused = sum(1 / (rrf_k + rank)) * (1 + TITLE_BOOST * title)``.
``title`` is how well the chunk's section titles match the query (:mod:`bookqa.title_index`). A query in English
about a Chinese book is searched together with the Chinese terms the book itself gives for its English words
(:mod:`bookqa.glossary`). Every hit keeps the score and 1-based rank of each signal that found it. Consecutive
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

from bookqa.config import FUSIONS, RETRIEVAL_MODES, Settings
from bookqa.embedding import PASSAGE, QUERY, Embedder, Progress
from bookqa.errors import IndexMismatchError
from bookqa.glossary import Glossary
from bookqa.keyword_index import KeywordIndex, title_terms
from bookqa.text import normalize_text
from bookqa.title_index import TitleIndex
from bookqa.types import Chunk, Hit, passage_id
from bookqa.vector_index import VectorIndex

log = logging.getLogger(__name__)

DENSE, KEYWORD, TITLE, FUSED, RANK, NORM = "dense", "keyword", "title", "fused", "_rank", "_norm"
WEIGHTED, RRF = FUSIONS
TITLE_WEIGHT = 0.3
"""Weighted fusion: what a perfect title match adds to the fused score (whose signals add up to at most 1).
On d2l-zh with 164 questions (the 20 dev questions and our 144 in bench/questions/, bench_core), weighted fusion
against reciprocal rank fusion: MRR@10 0.85 -> 0.91, hit@5 level at 0.97, evidence@5 0.95 -> 0.92 (the answering
passage is ranked higher, but a little less often among the five). Title weights from 0.2 to 0.4 and dense weights
from 0.4 to 0.6 all scored within 0.03 of that."""
TITLE_BOOST = 0.5
"""Reciprocal rank fusion: how much a perfect title match raises a chunk's fused score (x1.5)."""
MERGE_LIMIT = 3
"""Most chunks merged into one passage, so a section where every chunk matches still yields short passages."""
MIN_OVERLAP = 10
"""Shortest suffix/prefix match treated as the overlap of two neighbouring chunks when joining them."""
_WORD = re.compile(r"[a-z0-9]+")


def normalize_query(text: str) -> str:
    """The query normalised as stored texts are (:func:`bookqa.text.normalize_text`: NFKC, radicals, joined lines)."""
    return normalize_text(text)


def index_text(chunk: Chunk) -> str:
    """What is embedded and keyword-indexed for ``chunk``: its section path ("7 现代卷积神经网络 > 7.7 稠密连接网络
    （DenseNet） > 7.7.4 DenseNet模型"), a line break, its text; the text alone when it has no section.

    The path lets every chunk of a section carry its topic, also deep inside it. On d2l-zh with 164 questions
    (bench/questions and the dev files), the own section's title alone against the whole path: MRR@10 0.88 -> 0.91,
    section precision@5 0.61 -> 0.68; with no title at all, dense MRR@10 on the dev questions was 0.62 (0.75 with it).
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
    texts = [index_text(chunk) for chunk in chunks]
    titles = dict.fromkeys(title for chunk in chunks for title in chunk.section_path)
    started = time.perf_counter()
    vectors = embedder.embed(texts, kind=PASSAGE, progress=progress)
    keyword_index = KeywordIndex.build(texts, extra_words=[term for title in titles for term in title_terms(title)])
    log.info("Indexed %d chunks in %.1f s", len(chunks), time.perf_counter() - started)
    return VectorIndex.build(vectors), keyword_index


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


@dataclass(frozen=True)
class Fusion:
    """How hybrid mode combines the signals into one ``fused`` score (see the module docstring).

    ``method``: ``"weighted"`` or ``"rrf"``. ``dense_weight``: the dense signal's share in weighted fusion (the
    keyword signal has the rest). ``rrf_k``: the constant of reciprocal rank fusion.
    """

    method: str = WEIGHTED
    dense_weight: float = 0.5
    rrf_k: int = 60

    def __post_init__(self) -> None:
        if self.method not in FUSIONS:
            raise ValueError(f"Unknown fusion {self.method!r}; use one of: {'|'.join(FUSIONS)}.")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ValueError(f"dense_weight must lie in [0, 1], got {self.dense_weight}.")

    @classmethod
    def from_settings(cls, settings: Settings) -> "Fusion":
        """The fusion ``settings`` ask for (``fusion``, ``dense_weight``, ``rrf_k``)."""
        return cls(settings.fusion, settings.dense_weight, settings.rrf_k)

    def describe(self) -> str:
        """The fused score's formula in words, for people reading the scores."""
        if self.method == RRF:
            return f"Reciprocal rank fusion: sum of 1/({self.rrf_k} + rank) over the signals, x(1 + {TITLE_BOOST} x title match)"
        return (
            f"Weighted fusion: {self.dense_weight:g} x dense + {1 - self.dense_weight:g} x keyword, each scaled to 0-1 "
            f"over its candidates, + {TITLE_WEIGHT:g} x title match"
        )

    def fuse(self, entry: Mapping[str, float]) -> float:
        """The fused score of one score breakdown (as :func:`score_breakdown` makes them)."""
        title = entry.get(TITLE, 0.0)
        if self.method == RRF:
            rrf = sum(1.0 / (self.rrf_k + rank) for key, rank in entry.items() if key.endswith(RANK))
            return rrf * (1.0 + TITLE_BOOST * title)
        signals = self.dense_weight * entry.get(DENSE + NORM, 0.0) + (1.0 - self.dense_weight) * entry.get(KEYWORD + NORM, 0.0)
        return signals + TITLE_WEIGHT * title


def score_breakdown(
    signals: Mapping[str, tuple[np.ndarray, np.ndarray]], fusion: Fusion | None = None, titles: np.ndarray | None = None
) -> dict[int, dict[str, float]]:
    """Per candidate position, each signal's score and 1-based rank, and the fused score.

    ``signals``: name -> ``(scores, ids)`` ranked best first. ``fusion``: when given, adds each signal's score
    scaled to [0, 1] over its candidates as ``name_norm`` (dense: min to max; keyword: 0 to max, since BM25
    starts at 0) and ``fused`` (:meth:`Fusion.fuse`). ``titles``: per chunk position, the title match in [0, 1]
    (:meth:`TitleIndex.scores`); a candidate with a match > 0 gets it as ``title``.
    Returns ``{position: {name: score, name_rank: rank, name_norm: scaled, "title": match, "fused": score}}``.
    """
    breakdown: dict[int, dict[str, float]] = {}
    for name, (scores, ids) in signals.items():
        scaled = _scaled(name, scores) if fusion is not None else None
        for rank, (score, position) in enumerate(zip(scores.tolist(), ids.tolist()), start=1):
            entry = breakdown.setdefault(position, {})
            entry.update({name: score, f"{name}{RANK}": rank})
            if scaled is not None:
                entry[name + NORM] = float(scaled[rank - 1])
    if titles is not None:
        for position, entry in breakdown.items():
            if titles[position] > 0:
                entry[TITLE] = float(titles[position])
    if fusion is not None:
        for entry in breakdown.values():
            entry[FUSED] = fusion.fuse(entry)
    return breakdown


def _scaled(name: str, scores: np.ndarray) -> np.ndarray:
    """``scores`` (best first) mapped onto [0, 1]: the best is 1; the floor is the lowest candidate for dense
    similarities and 0 for keyword scores; a list whose scores are all equal maps to 1."""
    if not len(scores):
        return scores
    high = float(scores[0])
    low = 0.0 if name == KEYWORD else float(scores[-1])
    if high <= low:
        return np.ones(len(scores), dtype=np.float64)
    return (scores.astype(np.float64) - low) / (high - low)


def merge_scores(entries: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The scores of a passage made of several chunks (``entries``: their score breakdowns): each signal's best
    score, best scaled score and best rank, and the best ``fused`` score among them. A passage ranks as its best
    chunk does, so joining a weaker neighbour never lifts it."""
    merged: dict[str, float] = {}
    for entry in entries:
        for key, value in entry.items():
            better = min if key.endswith(RANK) else max
            merged[key] = better(merged.get(key, value), value)
    return merged


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
    """Searches one book's chunks by meaning (dense), by words (keyword) or both (hybrid)."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        vector_index: VectorIndex,
        keyword_index: KeywordIndex,
        embedder: Embedder,
        settings: Settings,
    ) -> None:
        """``chunks`` in index order; ``vector_index`` and ``keyword_index`` built from them (:func:`build_indexes`);
        ``embedder`` the model that made the vectors; ``settings`` gives top_k, candidates, retrieval_mode and the
        fusion (:meth:`Fusion.from_settings`)."""
        sizes = {"chunks": len(chunks), "vector index": len(vector_index), "keyword index": len(keyword_index)}
        if len(set(sizes.values())) != 1:
            raise IndexMismatchError(
                f"The book's indexes do not match its chunks ({', '.join(f'{k}: {v}' for k, v in sizes.items())}).",
                "Rebuild the book's index.",
            )
        if embedder.dim != vector_index.dim:
            raise IndexMismatchError(
                f"The embedder {embedder.name!r} makes {embedder.dim}-d vectors but the index holds {vector_index.dim}-d ones.",
                "Use the embedding model the book was indexed with, or rebuild the book's index.",
            )
        self.chunks = tuple(chunks)
        self._vector_index = vector_index
        self._keyword_index = keyword_index
        self._titles = TitleIndex(self.chunks, keyword_index.tokenize)
        self.glossary = Glossary.from_chunks(self.chunks, keyword_index.words)
        self._embedder = embedder
        self._settings = settings
        self._fusion = Fusion.from_settings(settings)
        self._page_start = np.array([chunk.page_start for chunk in self.chunks])
        self._page_end = np.array([chunk.page_end for chunk in self.chunks])
        self._sections = np.array([chunk.section_number or "" for chunk in self.chunks], dtype=np.str_)
        self._continues = [  # _continues[i]: chunk i + 1 follows chunk i in the same section
            a.book_id == b.book_id and a.section_path == b.section_path for a, b in zip(self.chunks, self.chunks[1:])
        ]

    def expand(self, query: str) -> str:
        """``query`` with the book's Chinese terms for the English names in it appended (see :mod:`bookqa.glossary`);
        ``query`` itself when it names none."""
        terms = self.glossary.terms_for(query)
        return f"{query} {' '.join(terms)}" if terms else query

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
    def fusion(self) -> Fusion:
        """How hybrid mode fuses the signals."""
        return self._fusion

    @property
    def embedder(self) -> Embedder:
        """The model that embeds queries (the one that made the book's vectors)."""
        return self._embedder

    def search(self, query: str, k: int | None = None, mode: str | None = None, scope: Scope = Scope()) -> list[Hit]:
        """The best ``k`` passages for ``query``, best first.

        ``k``: passages wanted (default ``settings.top_k``). ``mode``: ``"hybrid"``, ``"dense"`` or
        ``"keyword"`` (default ``settings.retrieval_mode``). ``scope``: which chunks may be returned.
        Returns up to ``k`` hits with 1-based ranks; ``score`` is the fused score in hybrid mode, else the
        signal's score; ``scores`` holds every signal's score and rank. An empty query, an empty scope or a
        query no signal matches returns [].
        """
        k = self._settings.top_k if k is None else k
        mode = self._settings.retrieval_mode if mode is None else mode
        if mode not in RETRIEVAL_MODES:
            raise ValueError(f"Unknown retrieval mode {mode!r}; use one of: {'|'.join(RETRIEVAL_MODES)}.")
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}.")
        query = normalize_query(query)
        allowed = self._allowed(scope)
        if not query or (allowed is not None and not allowed.any()):
            return []
        signals = self._signals(self.expand(query), mode, max(self._settings.candidates, k), allowed)
        primary = FUSED if mode == "hybrid" else mode
        fusion = self._fusion if primary == FUSED else None
        titles = self._titles.scores(query) if primary == FUSED else None
        breakdown = score_breakdown(signals, fusion, titles)
        order = sorted(breakdown, key=lambda position: (-breakdown[position][primary], position))
        passages = self._passages(order, breakdown)
        passages.sort(key=lambda passage: (-passage[1][primary], passage[0][0]))
        return [
            Hit(chunk=merge_chunks([self.chunks[p] for p in group]), rank=rank, score=scores[primary], scores=scores)
            for rank, (group, scores) in enumerate(passages[:k], start=1)
        ]

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

    def _signals(
        self, query: str, mode: str, candidates: int, allowed: np.ndarray | None
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The ranked ``(scores, ids)`` of each signal that ``mode`` uses."""
        signals = {}
        if mode != KEYWORD:
            scores, ids = self._vector_index.search(self._embedder.embed([query], kind=QUERY), candidates, allowed)
            signals[DENSE] = (scores[0], ids[0])
        if mode != DENSE:
            signals[KEYWORD] = self._keyword_index.search(query, candidates, allowed)
        return signals

    def _passages(
        self, order: list[int], breakdown: dict[int, dict[str, float]]
    ) -> list[tuple[list[int], dict[str, float]]]:
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
                entries = [breakdown[member] for member in group]
                passages.append((group, entries[0] if len(group) == 1 else merge_scores(entries)))
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

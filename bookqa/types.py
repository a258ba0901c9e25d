"""The records that flow through BookQA: small, frozen, and carrying their provenance; the named choices they use.

Page numbers are always 1-based *physical* pages (PyMuPDF's index + 1, what a page image shows); printed page
labels are kept beside them for display, and :class:`Pages` maps between the two. Records that the command line
and the app show as JSON say how (``to_json``) next to their fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Iterator, Sequence, overload


class Choice(str, Enum):
    """A named choice (a mode, a signal, a backend): compares and prints as its value, parsed by :meth:`parse`."""

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(member.value for member in cls)

    @classmethod
    def parse(cls, value: object, what: str) -> "Choice":
        """The member whose value is ``value`` (case and surrounding spaces ignored); ``what`` names the setting or
        argument in the ValueError that lists the valid values."""
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise ValueError(f"{what}={value!r} is not a known value; use one of: {', '.join(cls.values())}.") from None


class RetrievalMode(Choice):
    """Which signals a search uses: both fused, the embeddings alone, or BM25 alone."""

    HYBRID = "hybrid"
    DENSE = "dense"
    KEYWORD = "keyword"


class FusionMethod(Choice):
    """How hybrid mode fuses the signals: scaled scores weighted, or reciprocal rank fusion."""

    WEIGHTED = "weighted"
    RRF = "rrf"


@dataclass(frozen=True)
class Page:
    """One page of a book.

    ``number``: 1-based physical page. ``label``: the printed page label ("iv", "251"), or the number
    as text where the PDF has no labels. ``text``: the page's text, NFKC-normalised.
    """

    number: int
    label: str
    text: str


class Pages(Sequence[Page]):
    """A book's pages in book order, with printed labels looked up both ways.

    A page the collection does not hold is shown by its physical number. Labels are compared without case or
    surrounding spaces ("IV" is "iv").
    """

    def __init__(self, pages: Iterable[Page]) -> None:
        self._pages = tuple(pages)
        self._by_number = {page.number: page for page in self._pages}

    @classmethod
    def of(cls, pages: "Pages | Iterable[Page]") -> "Pages":
        """``pages`` as a :class:`Pages` (itself when it is one already)."""
        return pages if isinstance(pages, Pages) else cls(pages)

    @overload
    def __getitem__(self, index: int) -> Page: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Page]: ...
    def __getitem__(self, index: int | slice) -> Page | Sequence[Page]:
        return self._pages[index]

    def __len__(self) -> int:
        return len(self._pages)

    def __iter__(self) -> Iterator[Page]:
        return iter(self._pages)

    def __eq__(self, other: object) -> bool:
        """Equal to other pages, or to a list or tuple of pages, that hold the same pages in the same order."""
        if isinstance(other, Pages):
            return self._pages == other._pages
        return isinstance(other, (list, tuple)) and list(self._pages) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def get(self, number: int) -> Page | None:
        """The page with 1-based physical ``number``, or None when there is none."""
        return self._by_number.get(number)

    def page(self, number: int) -> Page:
        """The page with 1-based physical ``number``; IndexError when there is none."""
        page = self._by_number.get(number)
        if page is None:
            raise IndexError(f"page {number} is outside the book's {len(self._pages)} pages")
        return page

    def label(self, number: int) -> str:
        """The printed label of physical page ``number`` (the number itself for a page not held)."""
        page = self._by_number.get(number)
        return page.label if page is not None else str(number)

    def numbers(self, label: str, among: Iterable[int]) -> list[int]:
        """The physical pages ``among`` those given that are printed with ``label`` (a label can repeat, as in two
        numbered parts), in the order given."""
        key = label.strip().lower()
        return [number for number in among if self.label(number).strip().lower() == key]


@dataclass(frozen=True)
class Section:
    """One entry of the book's outline.

    ``number``: the printed section number ("7.7", "7"), or None for unnumbered entries (前言, 参考文献).
    ``level``: 1 for chapters, 2 for sections, and so on. ``start_page``/``end_page``: 1-based physical
    pages, inclusive; a section that ends where the next begins shares that page with it.
    """

    number: str | None
    title: str
    level: int
    start_page: int
    end_page: int

    @property
    def display_title(self) -> str:
        """The title as printed: "7.7 稠密连接网络（DenseNet）", or the bare title when unnumbered."""
        return f"{self.number} {self.title}" if self.number else self.title


class ChunkKind(Choice):
    """What a chunk holds: running text, lines of a code listing, or display formulas (kept whole, never quoted
    as an answer)."""

    PROSE = "prose"
    CODE = "code"
    FORMULA = "formula"


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage of a book.

    ``id``: stable across rebuilds of the same book with the same settings.
    ``page_start``/``page_end``: 1-based physical pages the text spans (inclusive).
    ``section_path``: display titles from the chapter down to the chunk's own section.
    ``section_number``: number of the deepest numbered section on the path ("7.7.2"), or None.
    ``kind``: prose, code or formula.
    """

    id: str
    book_id: str
    text: str
    page_start: int
    page_end: int
    section_path: tuple[str, ...]
    section_number: str | None = None
    kind: ChunkKind = ChunkKind.PROSE

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ChunkKind):
            object.__setattr__(self, "kind", ChunkKind.parse(self.kind, "Chunk.kind"))

    def in_section(self, number: str) -> bool:
        """True when the chunk lies in section ``number`` or one of its subsections."""
        own = self.section_number
        return own is not None and (own == number or own.startswith(number + "."))

    def overlaps_pages(self, first: int, last: int) -> bool:
        """True when the chunk shares at least one page with the inclusive range ``first..last``."""
        return self.page_start <= last and self.page_end >= first


def passage_id(chunk_ids: Sequence[str]) -> str:
    """The id of a passage made of consecutive chunks: the first id with the others' numbers appended
    (["book:00012", "book:00013"] -> "book:00012+00013"); one chunk's passage has the chunk's id."""
    first, *rest = chunk_ids
    return first + "".join("+" + chunk_id.rpartition(":")[2] for chunk_id in rest)


def passage_chunk_ids(passage: str) -> list[str]:
    """The chunk ids of a passage id (:func:`passage_id` read back); [] for an id that names no chunk."""
    head, *rest = passage.split("+")
    prefix = head.rpartition(":")[0]
    return [head, *(f"{prefix}:{number}" for number in rest)] if prefix else []


class Signal(Choice):
    """A score a hit can carry: one per search signal, and the fused score."""

    DENSE = "dense"
    KEYWORD = "keyword"
    FUSED = "fused"


@dataclass(frozen=True)
class SignalScore:
    """What one search signal made of a passage: its raw ``score`` (cosine similarity or BM25), its 1-based
    ``rank`` among that signal's candidates, and ``scaled``, the score mapped onto [0, 1] over those candidates
    (set by weighted fusion only)."""

    score: float
    rank: int
    scaled: float | None = None


@dataclass(frozen=True)
class Scores:
    """Every score a hit carries, as it is: ``dense`` and ``keyword`` (None where that signal did not find it)
    and ``fused`` (the hybrid score; None outside hybrid mode)."""

    dense: SignalScore | None = None
    keyword: SignalScore | None = None
    fused: float | None = None

    def signal(self, name: Signal) -> SignalScore | None:
        """The search signal ``name`` (dense or keyword), or None."""
        if name not in (Signal.DENSE, Signal.KEYWORD):
            raise ValueError(f"{name} is not a search signal; use {Signal.DENSE} or {Signal.KEYWORD}.")
        return self.dense if name == Signal.DENSE else self.keyword

    def value(self, name: Signal) -> float | None:
        """The score of ``name`` (a signal's raw score or the fused score), None when absent."""
        if name in (Signal.DENSE, Signal.KEYWORD):
            found = self.signal(name)
            return None if found is None else found.score
        return self.fused

    def to_json(self) -> dict[str, float | int]:
        """The flat form the command line prints: ``dense``, ``dense_rank``, ``dense_norm``, the same for
        ``keyword``, then ``fused``; absent scores are left out."""
        out: dict[str, float | int] = {}
        for name in (Signal.DENSE, Signal.KEYWORD):
            found = self.signal(name)
            if found is not None:
                out[f"{name}"] = round(float(found.score), 6)
                out[f"{name}_rank"] = int(found.rank)
                if found.scaled is not None:
                    out[f"{name}_norm"] = round(float(found.scaled), 6)
        if self.fused is not None:
            out[f"{Signal.FUSED}"] = round(float(self.fused), 6)
        return out


@dataclass(frozen=True)
class Hit:
    """A passage found by a search.

    ``rank``: 1-based position in the result list. ``score``: the score that ranked it (the fused score in hybrid
    mode, else the signal's own). ``scores``: every score that took part (:class:`Scores`). ``parts``: the chunks a
    passage joins, in reading order, where it joins several (a listing between two paragraphs keeps its kind there).
    """

    chunk: Chunk
    rank: int
    score: float
    scores: Scores = Scores()
    parts: tuple[Chunk, ...] = ()

    @property
    def pieces(self) -> tuple[Chunk, ...]:
        """The chunks the passage is made of: ``parts``, or the chunk itself."""
        return self.parts or (self.chunk,)

    def to_json(self, pages: Pages) -> dict[str, Any]:
        """The hit as ``search --json`` prints it (pages are 1-based physical; ``page_label`` is the printed one)."""
        chunk = self.chunk
        return {
            "rank": self.rank,
            "chunk_id": chunk.id,
            "page_start": chunk.page_start,
            "page_end": chunk.page_end,
            "page_label": pages.label(chunk.page_start),
            "section": list(chunk.section_path),
            "section_number": chunk.section_number,
            "kind": str(chunk.kind),
            "score": round(float(self.score), 6),
            "scores": self.scores.to_json(),
            "text": chunk.text,
        }


class Language(Choice):
    """The languages BookQA answers in."""

    ZH = "zh"
    EN = "en"


@dataclass(frozen=True)
class Message:
    """One turn of a conversation: ``role`` is ``"user"``, ``"assistant"`` or ``"system"``."""

    role: str
    content: str


@dataclass(frozen=True)
class Answer:
    """A finished answer.

    ``text``: the reply as shown (citations in the form ``[p.291]``, using page labels; one to a page that was not
    retrieved marked ``[p.999?]``). ``hits``: the retrieved chunks the answer was grounded in. ``citations``:
    physical page numbers the reply cites that were among the retrieved pages. ``unverified``: page labels the
    reply cites that were not retrieved (never shown as sources). ``rewritten_query``: the standalone query used for
    retrieval when a follow-up was rewritten, else None. ``low_confidence``: retrieval found nothing that
    supports an answer. ``backend``/``model``: who wrote it. ``timings``: seconds per stage. ``usage``: token counts.
    """

    text: str
    hits: tuple[Hit, ...]
    citations: tuple[int, ...]
    rewritten_query: str | None = None
    unverified: tuple[str, ...] = ()
    low_confidence: bool = False
    backend: str = ""
    model: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)

    def to_json(self, pages: Pages) -> dict[str, Any]:
        """The answer as ``ask --json`` prints it; ``citations`` are the physical pages the answer cites."""
        return {
            "answer": self.text,
            "rewritten_query": self.rewritten_query,
            "citations": list(self.citations),
            "unverified_citations": list(self.unverified),
            "hits": [hit.to_json(pages) for hit in self.hits],
            "low_confidence": self.low_confidence,
            "backend": self.backend,
            "model": self.model,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "usage": dict(self.usage),
        }

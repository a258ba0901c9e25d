"""The records that flow through BookQA: small, frozen, and carrying their provenance.

Page numbers are always 1-based *physical* pages (PyMuPDF's index + 1, what a page image shows);
printed page labels are kept beside them for display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

PROSE = "prose"
CODE = "code"
CHUNK_KINDS = (PROSE, CODE)


@dataclass(frozen=True)
class Page:
    """One page of a book.

    ``number``: 1-based physical page. ``label``: the printed page label ("iv", "251"), or the number
    as text where the PDF has no labels. ``text``: the page's text, NFKC-normalised.
    """

    number: int
    label: str
    text: str


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


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage of a book.

    ``id``: stable across rebuilds of the same book with the same settings.
    ``page_start``/``page_end``: 1-based physical pages the text spans (inclusive).
    ``section_path``: display titles from the chapter down to the chunk's own section.
    ``section_number``: number of the deepest numbered section on the path ("7.7.2"), or None.
    ``kind``: ``"prose"`` or ``"code"``.
    """

    id: str
    book_id: str
    text: str
    page_start: int
    page_end: int
    section_path: tuple[str, ...]
    section_number: str | None = None
    kind: str = PROSE

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


@dataclass(frozen=True)
class Hit:
    """A chunk found by a search.

    ``rank``: 1-based position in the result list. ``score``: the score that ranked it (the fused score
    in hybrid mode). ``scores``: every signal that took part, as it is: ``dense``, ``dense_rank``,
    ``keyword``, ``keyword_rank``, ``fused`` (and later ``rerank``); a signal that did not find the
    chunk is absent.
    """

    chunk: Chunk
    rank: int
    score: float
    scores: Mapping[str, float] = field(default_factory=dict)


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
    supports an answer. ``timings``: seconds per stage. ``usage``: token counts.
    """

    text: str
    hits: tuple[Hit, ...]
    citations: tuple[int, ...]
    rewritten_query: str | None = None
    unverified: tuple[str, ...] = ()
    low_confidence: bool = False
    backend: str = ""
    model: str = ""
    timings: Mapping[str, float] = field(default_factory=dict)
    usage: Mapping[str, int] = field(default_factory=dict)

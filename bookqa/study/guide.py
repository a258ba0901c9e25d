"""A book opened for study: what the CLI and the Study page call.

    guide = StudyGuide(book)                  # a searchable book: hints and central key points need its retriever
    section = guide.find("7.7")
    sheet = guide.sheet(section)              # key points, terms, exercises with hints, figures
    items = guide.quiz(section, n=10, seed=1) # self-test items, answer keys checked on their pages
    guide.grade(items[0], "稠密块")            # Grade(correct=..., how="exact", ...)
    guide.cards(section)                      # flash cards of its key terms

Each section's material and terms are read once and kept (a guide is shared, read-only, by the app's sessions).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable, Iterable, TypeVar

from bookqa.errors import BookQAError
from bookqa.library.book import Book
from bookqa.study import open_questions
from bookqa.study.cards import Card, missed_card, term_card
from bookqa.study.emphasis import BoldRun, bold_runs
from bookqa.study.grading import OTHERS, Grade, grade
from bookqa.study.keys import fold
from bookqa.study.material import Material, Part, outline_paths, read_material
from bookqa.study.progress import section_key
from bookqa.study.quiz import Item, ItemType, make_items
from bookqa.study.quiz import Part as QuizPart
from bookqa.study.sheet import StudySheet, central_points, exercises, figures, hints_for, summary_points
from bookqa.study.terms import Term, Vocabulary, find_terms
from bookqa.text import language_of
from bookqa.types import Language, Section

if TYPE_CHECKING:
    from bookqa.answering.backends.base import Backend
    from bookqa.index.embedders import Embedder
    from bookqa.index.retriever import Scope

T = TypeVar("T")
OPEN_SHARE = 3
"""With a language model, up to one item in this many is an open question (more when the terms run out)."""


class StudyGuide:
    """Study sheets, self-tests and cards for the sections of ``book``.

    ``book``: opened searchable for exercise hints, central key points and open questions (an unsearchable book
    gives sheets without hints and without central key points). ``embedder``: for central key points and open
    answers; default the book retriever's.
    """

    def __init__(self, book: Book, embedder: Embedder | None = None) -> None:
        self.book = book
        self.embedder = embedder or (book.retriever.embedder if book.retriever is not None else None)
        self._paths = outline_paths(book.outline)
        self._by_path = {path: section for section, path in self._paths.items()}
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, Section], object] = {}
        self._bold: dict[int, list[BoldRun]] = {}
        self._segment: Callable[[str], Iterable[str]] | None = None
        self._book_words: Vocabulary | None = None

    # ------------------------------------------------------------------------------------------- the outline
    def find(self, ref: str) -> Section:
        """The section numbered ``ref`` ("7.7", "7"), or titled so; BookQAError when the book has none."""
        ref = ref.strip()
        for section in self.book.outline:
            if section.number == ref:
                return section
        for section in self.book.outline:
            if fold(section.title) == fold(ref) or fold(section.display_title) == fold(ref):
                return section
        raise BookQAError(
            f"{self.book.manifest.title} has no section {ref!r}.",
            f"python -m bookqa outline {self.book.book_id} lists its sections and their numbers.",
        )

    def chapter(self, section: Section) -> Section:
        """The chapter (level-1 entry) that holds ``section``."""
        return self._by_path.get(self._paths[section][:1], section)

    def children(self, section: Section) -> list[Section]:
        """The sections one level below ``section``, in book order."""
        path = self._paths[section]
        return [s for s, p in self._paths.items() if len(p) == len(path) + 1 and p[: len(path)] == path]

    def members(self, section: Section) -> frozenset[Section]:
        """``section`` and every section inside it."""
        path = self._paths[section]
        return frozenset(s for s, p in self._paths.items() if p[: len(path)] == path)

    def language(self, section: Section) -> Language:
        """The language the section is written in."""
        return language_of(" ".join(s.text for s in self.material(section).sentences[:40]))

    # ------------------------------------------------------------------------------------------- reading
    def material(self, section: Section) -> Material:
        """The section's lines and sentences (:func:`bookqa.study.material.read_material`)."""
        return self._cached("material", section, lambda: read_material(self.book, section))

    def terms(self, section: Section) -> list[Term]:
        """The terms the section defines (:func:`bookqa.study.terms.find_terms`)."""
        return self._cached("terms", section, lambda: find_terms(self.material(section), self._words(), self._bold_runs(section), self._vocabulary()))

    def sheet(self, section: Section) -> StudySheet:
        """The study sheet of ``section`` (see :mod:`bookqa.study.sheet`)."""
        return self._cached("sheet", section, lambda: self._sheet(section))

    def _sheet(self, section: Section) -> StudySheet:
        material = self.material(section)
        points = summary_points(material)
        if not points and self.embedder is not None:
            points = central_points(material, self.embedder)
        found = exercises(material)
        retriever = self.book.retriever
        if retriever is not None and found:
            lines = [line.text for line in material.lines if line.part == Part.EXERCISES]
            scope = self._scope(self.chapter(section))
            found = [hints_for(e, retriever.search(e.text.split("\n")[0][:200], k=6, scope=scope), lines) for e in found]
        return StudySheet(section, tuple(points), tuple(self.terms(section)), tuple(found), tuple(figures(material)))

    # ------------------------------------------------------------------------------------------- self-tests
    def quiz(self, section: Section, n: int = 10, seed: int | None = None, backend: Backend | None = None) -> list[Item]:
        """Up to ``n`` self-test items on ``section`` (:func:`bookqa.study.quiz.make_items`; the distractors are
        terms of its chapter that the book uses more than once); with a generative
        ``backend``, also open questions (:mod:`bookqa.study.open_questions`), up to a third of ``n`` or what the
        terms leave."""
        model = backend if backend is not None and backend.generative else None
        material = self.material(section)
        parts = [
            QuizPart(child, members, fold(" ".join(line.text for line in material.lines if line.section in members)))
            for child in self.children(section)
            for members in [self.members(child)]
        ]
        words = self._vocabulary()  # distractors are terms the book uses again; one it names once is an aside
        pool = [term for term in self.terms(self.chapter(section)) if words.count(term.term) > 1]
        wanted = n - (max(1, n // OPEN_SHARE) if model is not None else 0)
        items = make_items(self.book.book_id, section, material, self.terms(section), pool, parts, self.book.pages, max(1, wanted), seed,
                           segment=self._words())
        if model is not None and self.book.retriever is not None and self.embedder is not None:
            hits = self.book.retriever.search(section.title, k=4, scope=self._scope(section))
            items += open_questions.open_items(
                self.book.book_id, section, hits, self.book.pages, model, self.embedder, self.language(section),  # type: ignore[arg-type]
                n - len(items), taken=items,
            )
        return items[:n]

    def grade(self, item: Item, response: str, backend: Backend | None = None) -> Grade:
        """Grade ``response`` to ``item`` (:func:`bookqa.study.grading.grade`): an open answer against OTHERS sentences
        spread over the chapter it came from, and by the model when ``backend`` is generative."""
        model = backend if backend is not None and backend.generative else None
        others: list[str] = []
        if item.type == ItemType.OPEN:
            holder = next((s for s in self.book.outline if s.number and s.number == item.section_number), None)
            if holder is not None:
                body = [s.text for s in self.material(self.chapter(holder)).sentences if s.part == Part.BODY and s.text != item.evidence]
                step = max(1, len(body) // OTHERS)
                others = body[::step][:OTHERS]
        language = Language.ZH if language_of(item.question) == Language.ZH else Language.EN
        return grade(item, response, others, self.embedder, model, language)  # type: ignore[arg-type]

    # ------------------------------------------------------------------------------------------- cards
    def cards(self, section: Section) -> list[Card]:
        """Flash cards of the key terms of ``section`` (tagged with it, for progress)."""
        key = section_key(section)
        return [term_card(self.book.book_id, term, key, self.book.pages) for term in self.terms(section)]

    def missed(self, section: Section, item: Item) -> Card:
        """The card of ``item``, answered wrong in a self-test on ``section``."""
        return missed_card(self.book.book_id, item, section_key(section), self.book.pages)

    # ------------------------------------------------------------------------------------------- internals
    def _cached(self, what: str, section: Section, make: Callable[[], T]) -> T:
        key = (what, section)
        with self._lock:
            if key in self._cache:
                return self._cache[key]  # type: ignore[return-value]
        value = make()
        with self._lock:
            return self._cache.setdefault(key, value)  # type: ignore[return-value]

    def _bold_runs(self, section: Section) -> dict[int, list[BoldRun]]:
        pages = range(section.start_page, section.end_page + 1)
        with self._lock:
            missing = [page for page in pages if page not in self._bold]
        if missing:
            found = bold_runs(self.book.pdf_path, missing)
            with self._lock:
                for page in missing:
                    self._bold[page] = found.get(page, [])
        with self._lock:
            return {page: self._bold[page] for page in pages}

    def _vocabulary(self) -> Vocabulary:
        with self._lock:
            if self._book_words is None:
                titles = self.book.retriever.tokenizer.extra_words if self.book.retriever is not None else ()
                self._book_words = Vocabulary("".join(page.text for page in self.book.pages), titles)
            return self._book_words

    def _words(self) -> Callable[[str], Iterable[str]]:
        if self._segment is None:
            if self.book.retriever is not None:
                self._segment = self.book.retriever.tokenizer.words
            else:
                from bookqa.index.tokenizer import Tokenizer

                self._segment = Tokenizer().words
        return self._segment

    @staticmethod
    def _scope(section: Section) -> Scope:
        from bookqa.index.retriever import Scope

        return Scope(section=section.number) if section.number else Scope(pages=(section.start_page, section.end_page))

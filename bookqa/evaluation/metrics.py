"""Retrieval quality of a question set: hit@1, hit@5, MRR@10, precision@5 and evidence@5.

A question file is JSON lines. Each row has ``id`` and ``query``, optionally ``history`` (earlier turns,
a follow-up), and its gold answer in one or both forms:
- ``gold``: a list of ``{"section", "title", "pages": [first, last]}`` (a hit is relevant when its chunk lies in
  one of these sections, or, judged by pages, when it shares a page with one of the ranges);
- ``evidence``: strings of which one must appear in a hit's text, compared after NFKC with all whitespace
  removed; such rows also name their ``section`` and ``pages``, which count as gold sections.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from bookqa.errors import BookQAError
from bookqa.types import Hit, Message

if TYPE_CHECKING:
    from bookqa.answering.rewrite import Book

SECTION = "section"
PAGES = "pages"
JUDGES = (SECTION, PAGES)


@dataclass(frozen=True)
class GoldSection:
    """A section that answers a question: its number and its inclusive physical page range."""

    number: str
    first_page: int
    last_page: int


@dataclass(frozen=True)
class Question:
    """One evaluation question with its gold sections and evidence strings."""

    id: str
    query: str
    history: tuple[Message, ...] = ()
    gold: tuple[GoldSection, ...] = ()
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuestionResult:
    """How one question fared: the 1-based rank of the first relevant hit (None when none in the list)."""

    question: Question
    first_relevant: int | None
    relevant_in_top: int
    evidence_found: bool | None
    hits: tuple[Hit, ...]


@dataclass
class Report:
    """Aggregate figures over a question set (``evidence_at_5`` is None when no row carries evidence)."""

    judge: str
    k: int
    results: list[QuestionResult] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.results)

    def hit_at(self, n: int) -> float:
        """Share of questions with a relevant hit in the top ``n``."""
        return _mean([r.first_relevant is not None and r.first_relevant <= n for r in self.results])

    @property
    def mrr_at_10(self) -> float:
        return _mean([1.0 / r.first_relevant if r.first_relevant and r.first_relevant <= 10 else 0.0 for r in self.results])

    @property
    def precision_at_k(self) -> float:
        """Mean share of the top ``k`` hits that are relevant."""
        return _mean([r.relevant_in_top / self.k for r in self.results])

    @property
    def evidence_at_k(self) -> float | None:
        judged = [r.evidence_found for r in self.results if r.evidence_found is not None]
        return _mean(judged) if judged else None

    @property
    def misses(self) -> list[QuestionResult]:
        """Questions with no relevant hit (or, for evidence rows, no evidence) in the top ``k``."""
        return [
            r for r in self.results
            if r.first_relevant is None or r.first_relevant > self.k or r.evidence_found is False
        ]

    def figures(self) -> dict[str, float | int | None]:
        """The headline figures as a dict (for JSON output and benchmarks)."""
        return {
            "questions": self.count,
            "hit@1": round(self.hit_at(1), 4),
            f"hit@{self.k}": round(self.hit_at(self.k), 4),
            "mrr@10": round(self.mrr_at_10, 4),
            f"precision@{self.k}": round(self.precision_at_k, 4),
            f"evidence@{self.k}": None if self.evidence_at_k is None else round(self.evidence_at_k, 4),
        }


def load_questions(path: str | Path) -> list[Question]:
    """Read a question file (JSON lines); raises BookQAError naming the line when a row is malformed."""
    questions = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BookQAError(f"Cannot read the question file {str(path)!r}: {exc.strerror}.", "Check the path.") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            questions.append(_question_from_row(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            raise BookQAError(
                f"Line {number} of {path} is not a valid question row ({exc}).",
                'Each line must be a JSON object with at least "id" and "query".',
            ) from None
    return questions


def _question_from_row(row: dict) -> Question:
    gold = [GoldSection(str(g["section"]), int(g["pages"][0]), int(g["pages"][-1])) for g in row.get("gold", [])]
    if "section" in row and "pages" in row:
        gold.append(GoldSection(str(row["section"]), int(min(row["pages"])), int(max(row["pages"]))))
    history = tuple(Message(str(m["role"]), str(m["content"])) for m in row.get("history", []))
    return Question(
        id=str(row["id"]),
        query=str(row["query"]),
        history=history,
        gold=tuple(gold),
        evidence=tuple(str(e) for e in row.get("evidence", [])),
    )


def retrieval_query(question: Question, book: Book) -> str:
    """What is searched for ``question``: a follow-up (a row with a history) rewritten into a standalone query
    by the rule (:func:`bookqa.answering.rewrite.rewrite_query` without a model, reading with the ``book``'s
    retriever), else the query as it is."""
    if not question.history:
        return question.query
    from bookqa.answering.rewrite import rewrite_query
    from bookqa.index.query import Query

    return rewrite_query(Query.read(question.query, book.tokenizer), question.history, book) or question.query


def squash(text: str) -> str:
    """NFKC with all whitespace removed: the form evidence strings are compared in."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def is_relevant(hit: Hit, question: Question, judge: str = SECTION) -> bool:
    """Whether ``hit`` lies in one of the question's gold sections (``judge="section"``) or shares a page
    with one of their page ranges (``judge="pages"``, for pipelines whose chunks know no sections)."""
    if judge == SECTION:
        return any(hit.chunk.in_section(g.number) for g in question.gold)
    return any(hit.chunk.overlaps_pages(g.first_page, g.last_page) for g in question.gold)


def has_evidence(hit: Hit, question: Question) -> bool:
    """Whether the hit's text contains one of the question's evidence strings."""
    text = squash(hit.chunk.text)
    return any(squash(e) in text for e in question.evidence)


def evaluate(
    questions: Sequence[Question],
    search: Callable[[Question], Sequence[Hit]],
    k: int = 5,
    judge: str = SECTION,
) -> Report:
    """Run ``search`` for every question and score the ranked hits it returns.

    ``search`` should return at least 10 hits (MRR is computed at 10, the other figures at ``k``).
    ``judge``: ``"section"`` or ``"pages"`` (see :func:`is_relevant`).
    """
    if judge not in JUDGES:
        raise ValueError(f"judge must be one of {JUDGES}, got {judge!r}")
    report = Report(judge=judge, k=k)
    for question in questions:
        hits = tuple(search(question))
        relevant = [is_relevant(h, question, judge) for h in hits]
        first = next((i + 1 for i, r in enumerate(relevant) if r), None)
        evidence = any(has_evidence(h, question) for h in hits[:k]) if question.evidence else None
        report.results.append(QuestionResult(question, first, sum(relevant[:k]), evidence, hits))
    return report


def _mean(values: Sequence[float]) -> float:
    return float(sum(values)) / len(values) if values else 0.0

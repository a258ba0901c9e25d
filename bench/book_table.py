"""The per-book table of ``bench_core --books``: the same measures on every book of ``../shared/books/``, d2l-zh
beside the others, so a mechanism tuned on one book shows up as a gap on another.

Per book: section hit@5 and MRR@10 (section questions), evidence@5 (evidence questions), hits outside the numbered
chapters (front or back matter) in any top 5, in-book questions flagged low-confidence, off-topic questions flagged
in the book's language and in the other, follow-up questions rewritten / retrieved (a gold section in the top 5)
/ refused, and the share of evidence questions whose extractive answer quotes the
evidence, with the seconds the answer's sentence scoring adds (median per answer, with the embedder against terms
only). The books are built into ``--data-dir`` with the current code on first use (minutes each) and reused after.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from bench.bench_answers import quotes_evidence
from bookqa.answering.backends.extractive import ExtractiveBackend
from bookqa.answering.turn import judge
from bookqa.config import Settings
from bookqa.evaluation.metrics import Question, evaluate, load_questions, retrieval_query
from bookqa.library.book import Book
from bookqa.library.store import Library
from bookqa.text import language_of
from bookqa.types import Language

SHARED = Path(__file__).resolve().parents[2] / "shared"
OWN = Path(__file__).resolve().parent / "questions"


@dataclass(frozen=True)
class BookSet:
    """A book and its question files: ``sections`` (gold sections), ``evidence`` (gold sections and evidence)."""

    name: str
    pdf: Path
    sections: tuple[Path, ...]
    evidence: tuple[Path, ...]


BOOKS = (
    BookSet(
        "d2l-zh",
        SHARED / "books" / "d2l-zh.pdf",
        (SHARED / "eval" / "dev_questions.jsonl", OWN / "extra_sections.jsonl", OWN / "broad_sections.jsonl"),
        (SHARED / "eval" / "dev_evidence.jsonl", OWN / "extra_evidence.jsonl"),
    ),
    BookSet(
        "d2l-en-sample",
        SHARED / "books" / "d2l-en-sample.pdf",
        (OWN / "d2len_sections.jsonl",),
        (OWN / "d2len_evidence.jsonl",),
    ),
    BookSet(
        "thinkpython2",
        SHARED / "books" / "thinkpython2.pdf",
        (SHARED / "eval" / "thinkpython_dev_questions.jsonl", OWN / "thinkpython_sections.jsonl"),
        (SHARED / "eval" / "thinkpython_dev_evidence.jsonl", OWN / "thinkpython_evidence.jsonl"),
    ),
)
OFF_TOPIC = OWN / "off_topic.jsonl"
COLUMNS = ("hit@5", "mrr@10", "evidence@5", "matter_in_top5", "in_book_flagged", "off_same_flagged",
           "off_cross_flagged", "follow_ups", "quotes_evidence", "quote_ms_terms", "quote_ms_meaning")


def book_row(book: Book, books: BookSet, settings: Settings) -> dict[str, Any]:
    """The table's measures for one opened book."""
    retriever = book.retriever
    sections = [q for path in books.sections for q in load_questions(path)]
    evidence = [q for path in books.evidence for q in load_questions(path)]
    hits_of = {q.id: retriever.search(retrieval_query(q, retriever), k=10) for q in sections + evidence}
    section_figures = evaluate(sections, lambda q: hits_of[q.id], k=5).figures()
    evidence_figures = evaluate(evidence, lambda q: hits_of[q.id], k=5).figures()
    matter = sum(h.chunk.section_number is None for hits in hits_of.values() for h in hits[:5])

    def flagged(text: str, hits) -> bool:  # the turn would answer "the book does not seem to cover this"
        return judge(retriever.read(text), hits, retriever, book.calibration, settings).low

    in_book = sum(flagged(retrieval_query(q, retriever), hits_of[q.id][:settings.top_k]) for q in sections + evidence)
    language = book.calibration.language if book.calibration is not None else Language.EN
    off = load_questions(OFF_TOPIC)
    off_flagged = {q.id: flagged(q.query, retriever.search(q.query, k=settings.top_k)) for q in off}
    same = [q for q in off if language_of(q.query) == language]
    cross = [q for q in off if language_of(q.query) != language]

    follow_ups = [q for q in sections + evidence if q.history]
    follow_report = evaluate(follow_ups, lambda q: hits_of[q.id], k=5)
    retrieved = sum(r.first_relevant is not None and r.first_relevant <= 5 for r in follow_report.results)
    rewritten = sum(retrieval_query(q, retriever) != q.query for q in follow_ups)
    refused = sum(flagged(retrieval_query(q, retriever), hits_of[q.id][:settings.top_k]) for q in follow_ups)
    quoted, by_terms_s, by_meaning_s = _quotes(book, evidence, hits_of, settings.top_k)
    return {
        "hit@5": section_figures["hit@5"],
        "mrr@10": section_figures["mrr@10"],
        "evidence@5": evidence_figures["evidence@5"],
        "matter_in_top5": matter,
        "in_book_flagged": f"{in_book}/{len(sections) + len(evidence)}",
        "off_same_flagged": f"{sum(off_flagged[q.id] for q in same)}/{len(same)}",
        "off_cross_flagged": f"{sum(off_flagged[q.id] for q in cross)}/{len(cross)}",
        "follow_ups": f"{rewritten}/{retrieved}/{refused} of {len(follow_ups)}",
        "quotes_evidence": f"{quoted}/{len(evidence)}",
        "quote_ms_terms": round(1000 * statistics.median(by_terms_s), 1),
        "quote_ms_meaning": round(1000 * statistics.median(by_meaning_s), 1),
        "calibration": book.manifest.calibration,
    }


def _quotes(book: Book, evidence: Sequence[Question], hits_of: dict, k: int) -> tuple[int, list[float], list[float]]:
    """Evidence questions whose extractive answer (as the chat shows it: the embedder weighing sentences) quotes the
    evidence, and the seconds per answer without and with the embedder."""
    backend, retriever = ExtractiveBackend(), book.retriever
    quoted, by_terms, by_meaning = 0, [], []
    for q in evidence:
        query, hits = retriever.read(retrieval_query(q, retriever)), hits_of[q.id][:k]
        started = time.perf_counter()
        backend.select(query, hits, book.pages)
        by_terms.append(time.perf_counter() - started)
        started = time.perf_counter()
        text = backend.answer(query, hits, pages=book.pages, embedder=retriever.embedder).text()
        by_meaning.append(time.perf_counter() - started)
        quoted += bool(quotes_evidence(text, q))
    return quoted, by_terms, by_meaning


def book_table(data_dir: Path, names: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """Build (or reuse) every book in ``data_dir`` and measure it; prints the table as it goes."""
    settings = Settings.from_env(data_dir=data_dir)
    library = Library(settings)
    rows = {}
    print("book".ljust(16) + "".join(c.rjust(18) for c in COLUMNS), flush=True)
    for books in BOOKS:
        if names and books.name not in names:
            continue
        if not books.pdf.is_file():
            print(f"{books.name}: no {books.pdf}, left out", flush=True)
            continue
        manifest, _ = library.add(books.pdf)
        rows[books.name] = book_row(library.open(manifest.book_id), books, settings)
        print(books.name.ljust(16) + "".join(str(rows[books.name][c]).rjust(18) for c in COLUMNS), flush=True)
    return rows

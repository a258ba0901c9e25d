"""What the app's pages show, computed from a book and hits: plain data, no Streamlit.

Scopes from the outline, the section a page belongs to, chunks per chapter, the rows of the retrieval
table and its score chart, and the spans of a text that match a query's terms.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any, Sequence

from bookqa.library.book import Book, Manifest
from bookqa.types import Chunk, Hit, Section, Signal, passage_chunk_ids

if TYPE_CHECKING:  # retrieval (jieba, bm25s, FAISS) loads with the first search, not with the overview
    from bookqa.answering.confidence import Confidence
    from bookqa.config import Settings
    from bookqa.index.retriever import Scope
    from bookqa.index.tokenizer import Tokenizer

SIGNALS = (Signal.FUSED, Signal.DENSE, Signal.KEYWORD)
PREVIEW_CHARS = 120


def scope_choices(outline: Sequence[Section]) -> list[Section | None]:
    """What a search can be limited to: the whole book (None), then each chapter and section (levels 1-2)."""
    return [None, *(s for s in outline if s.level <= 2)]


def scope_label(section: Section | None) -> str:
    """How a scope choice is shown: "Whole book", "Chapter 7 稠密…", "  7.7 稠密…"."""
    if section is None:
        return "Whole book"
    return section.display_title if section.level == 1 else f"\u2003{section.display_title}"


def scope_of(section: Section | None) -> Scope:
    """The retrieval scope of a choice: a numbered section by number (with its subsections), an unnumbered
    one by its pages, None the whole book."""
    from bookqa.index.retriever import Scope

    if section is None:
        return Scope()
    if section.number:
        return Scope(section=section.number)
    return Scope(pages=(section.start_page, section.end_page))


def section_at(outline: Sequence[Section], page: int) -> Section | None:
    """The section (level 2 at most) in effect at the top of ``page``: of the deepest sections that include the
    page, the last one that began before it, else the first one that begins on it."""
    found = [s for s in outline if s.level <= 2 and s.start_page <= page <= s.end_page]
    if not found:
        return None
    deepest = [s for s in found if s.level == max(s.level for s in found)]
    earlier = [s for s in deepest if s.start_page < page]
    return earlier[-1] if earlier else deepest[0]


def passage_chunks(book: Book, passage: str, page: int | None = None) -> list[Chunk]:
    """The chunks of ``passage`` as hits name it ("book:00012", or "book:00012+00013" for neighbours merged into
    one passage), in order; with ``page``, only those printed on it. [] when ``book`` has no such chunk."""
    by_id = {chunk.id: chunk for chunk in book.chunks}
    found = [by_id[chunk_id] for chunk_id in passage_chunk_ids(passage) if chunk_id in by_id]
    return [c for c in found if page is None or c.page_start <= page <= c.page_end]


def section_to_ask(outline: Sequence[Section], page: int, passage: Sequence[Chunk] = ()) -> Section | None:
    """The chapter or section "ask about" offers on ``page``: that of the passage shown there (a followed
    source), else the one in effect at the top of the page (:func:`section_at`)."""
    own = scope_section(outline, passage[0].section_number) if passage else None
    return own or section_at(outline, page)


def scope_section(outline: Sequence[Section], number: str | None) -> Section | None:
    """The chapter or section (level 1-2, a :func:`scope_choices` entry) that holds section ``number``
    ("7.7.4" -> 7.7); None when no numbered section of the outline holds it."""
    if not number:
        return None
    holders = [s for s in outline if s.level <= 2 and s.number and (number == s.number or number.startswith(s.number + "."))]
    return max(holders, key=lambda s: s.level, default=None)


def outline_tree(outline: Sequence[Section]) -> list[tuple[Section, list[Section]]]:
    """The chapters (level 1) in book order, each with its sections (level 2)."""
    tree: list[tuple[Section, list[Section]]] = []
    for section in outline:
        if section.level == 1:
            tree.append((section, []))
        elif section.level == 2 and tree:
            tree[-1][1].append(section)
    return tree


def chapter_counts(book: Book) -> list[dict[str, Any]]:
    """Per chapter (level-1 section) in book order: ``chapter`` title, ``chunks`` and ``pages``."""
    per_title = Counter(c.section_path[0] for c in book.chunks if c.section_path)
    return [
        {"chapter": s.display_title, "chunks": per_title.get(s.display_title, 0), "pages": s.end_page - s.start_page + 1}
        for s in book.outline
        if s.level == 1
    ]


def ocr_lines(book: Book, number: int, floor: float) -> tuple[tuple[tuple[str, tuple[float, ...]], ...] | None, list[tuple[str, float]]]:
    """For a page read by OCR: its lines at or above the confidence ``floor`` as ``(text, corners)`` (what its
    passages were made of, to highlight them on), and the ``(text, confidence)`` of those below it. ``(None, [])``
    for a page with a text layer."""
    page = book.ocr_pages.get(number)
    if page is None:
        return None, []
    kept = tuple((line.text, line.quad) for line in page.lines if line.confidence >= floor)
    return kept, [(line.text, line.confidence) for line in page.lines if line.confidence < floor]


def left_out_summary(manifest: Manifest) -> dict[str, int]:
    """How many pages were left out of the index, per reason ("contents": 12, ...)."""
    return dict(Counter(manifest.left_out.values()))


def left_out_caption(manifest: Manifest) -> str:
    """What was left out of the index, in words: whole pages per reason, then pages left out in part
    ("Left out of the index: 12 index pages, 9 contents pages; part of page 57 (bibliography)."); "" for nothing."""
    whole = [f"{n} {reason} page{'s' * (n > 1)}" for reason, n in left_out_summary(manifest).items()]
    parts = manifest.left_out_parts
    if parts:
        numbers = ", ".join(f"{page} ({reason})" for page, reason in sorted(parts.items()))
        whole.append(f"part of page{'s' * (len(parts) > 1)} {numbers}")
    return f"Left out of the index: {', '.join(whole)}." if whole else ""


def hit_rows(hits: Sequence[Hit], book: Book) -> list[dict[str, Any]]:
    """One flat row per hit for the retrieval table: rank, each signal's score and rank (None where that
    signal missed the passage), page label, its own section's title, kind and a short text preview."""
    rows = []
    for hit in hits:
        data = hit.to_json(book.pages)
        scores = data["scores"]
        rows.append({
            "rank": data["rank"],
            **{str(name): scores.get(str(name)) for name in SIGNALS},
            "dense_rank": scores.get("dense_rank"),
            "keyword_rank": scores.get("keyword_rank"),
            "page": data["page_label"],
            "section": data["section"][-1] if data["section"] else "",
            "kind": data["kind"],
            "preview": " ".join(data["text"].split())[:PREVIEW_CHARS],
        })
    return rows


def score_rows(hits: Sequence[Hit]) -> list[dict[str, Any]]:
    """The scores in long form for a chart: one row per (hit rank, signal) with the signal's score."""
    return [
        {"rank": hit.rank, "signal": str(name), "score": float(value)}
        for hit in hits
        for name in SIGNALS
        if (value := hit.scores.value(name)) is not None
    ]


def rank_pairs(first: Sequence[Hit], second: Sequence[Hit]) -> list[dict[str, Any]]:
    """Each passage found by either of two searches, with its ``ranks`` in both (None where a search did not
    return it), its first ``page`` and own ``section`` title; best first by the first search, then the second.
    Passages are matched by their first chunk (neighbours may merge differently in the two searches)."""
    found: dict[str, dict[str, Any]] = {}
    for which, hits in enumerate((first, second)):
        for hit in hits:
            entry = found.setdefault(passage_chunk_ids(hit.chunk.id)[0], {
                "ranks": [None, None], "page": hit.chunk.page_start,
                "section": hit.chunk.section_path[-1] if hit.chunk.section_path else "",
            })
            entry["ranks"][which] = hit.rank
    return list(found.values())


def term_spans(text: str, query: str, tokenizer: Tokenizer) -> list[tuple[str, bool]]:
    """``text`` cut into ``(piece, matched)`` spans, where matched pieces are runs of the query's content terms as the
    book's ``tokenizer`` finds them (case-insensitive, longest term first). Joined, the pieces give ``text`` back."""
    found = sorted(tokenizer.terms(query), key=len, reverse=True)
    if not found:
        return [(text, False)] if text else []
    pattern = re.compile("|".join(map(re.escape, found)), re.IGNORECASE)
    spans: list[tuple[str, bool]] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() > position:
            spans.append((text[position : match.start()], False))
        if spans and spans[-1][1] and match.start() == position:  # adjacent terms ("稠密" "连接") read as one
            spans[-1] = (spans[-1][0] + match.group(), True)
        else:
            spans.append((match.group(), True))
        position = match.end()
    if position < len(text):
        spans.append((text[position:], False))
    return spans


def study_choices(outline: Sequence[Section]) -> list[Section]:
    """What the Study page can be opened on: each chapter and section (levels 1-2), in book order."""
    return [s for s in outline if s.level <= 2]


def passage_with(book: Book, text: str, page: int) -> Chunk | None:
    """The chunk printed on ``page`` that holds ``text`` (a self-test's evidence), for marking it on its page."""
    key = " ".join(text.split())
    return next((c for c in book.chunks if c.page_start <= page <= c.page_end and key in " ".join(c.text.split())), None)


def progress_rows(progress: Sequence[Any], chapter: Section, outline: Sequence[Section]) -> list[dict[str, Any]]:
    """The rows of the progress chart of ``chapter``: the chapter itself, then each of its sections, with the shares
    (0-100) of pages viewed, best self-test and cards learned, and the counts behind them."""
    rows = []
    for p in _chapter_progress(progress, chapter, outline):
        rows.append({
            "section": p.section.number or p.section.title,
            "title": p.section.display_title,
            "pages": round(100 * p.pages_viewed / max(p.pages, 1)),
            "test": None if p.best is None else round(100 * p.best),
            "cards": round(100 * p.learned / p.cards) if p.cards else None,
            "counts": _counts(p.pages_viewed, p.pages, p.tests, p.learned, p.cards, p.due, p.questions),
        })
    return rows


def chapter_progress_counts(progress: Sequence[Any], chapter: Section, outline: Sequence[Section]) -> str:
    """The profile's counts in ``chapter`` and its sections together (pages once: the chapter's range holds them)."""
    found = _chapter_progress(progress, chapter, outline)
    if not found:
        return ""
    whole = found[0] if found[0].section == chapter else None
    pages_viewed, pages = (whole.pages_viewed, whole.pages) if whole else (0, 0)
    return _counts(pages_viewed, pages, *(sum(getattr(p, name) for p in found) for name in ("tests", "learned", "cards", "due", "questions")))


def _chapter_progress(progress: Sequence[Any], chapter: Section, outline: Sequence[Section]) -> list[Any]:
    members = [chapter, *next((sections for top, sections in outline_tree(outline) if top == chapter), [])]
    by_section = {p.section: p for p in progress}
    return [by_section[section] for section in members if section in by_section]


def _counts(pages_viewed: int, pages: int, tests: int, learned: int, cards: int, due: int, questions: int) -> str:
    return f"{pages_viewed}/{pages} pages · {tests} self-tests · {learned}/{cards} cards learned · {due} due · {questions} questions"


def verdict(book: Book, query: str, hits: Sequence[Hit], settings: Settings) -> Confidence:
    """What the chat's low-confidence rule makes of ``hits`` for ``query`` on ``book`` (its calibrated cuts, or the
    setting that overrides them)."""
    from bookqa.answering.turn import judge

    assert book.retriever is not None
    return judge(book.retriever.read(query), hits, book.retriever, book.calibration, settings)

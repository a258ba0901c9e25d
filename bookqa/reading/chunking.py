"""Section-aware, sentence-aware chunks that keep their pages and their section path.

Within each section, prose, code and display formulas are packed separately: prose sentence by sentence
(a word hyphenated at a line end rejoined unless the book prints it hyphenated inside a line), code line by
line, each formula whole, up to ``settings.chunk_size`` characters with ``settings.chunk_overlap`` characters of overlap;
a section's prose footnotes are packed on their own, where they are printed, so none splits a sentence that runs
across a page.
A chunk never crosses a section boundary and never exceeds twice the chunk size.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass
from itertools import groupby
from typing import Collection, Iterable, Sequence

from bookqa.config import Settings
from bookqa.reading.cleaning import BodyRow, CleanBook
from bookqa.reading.outline import Anchor, Outline
from bookqa.text import hyphenated_words, join_lines, repair_urls, sentence_spans
from bookqa.types import Chunk, ChunkKind, Section

_CLAUSE_END = re.compile(r"[，、,：:；;）)]\s*|\s+")
_PARAGRAPH_END = re.compile(r"[。！？.!?:：][”’\"')）]*$")
_LIST_ITEM = re.compile(r"^(?:[•·▪◦\-–*]|\d{1,2}[.)]|\(\w\))\s")
_ORDER = {ChunkKind.PROSE: 0, ChunkKind.CODE: 1, ChunkKind.FORMULA: 2}
"""How chunks that begin at the same row are ordered."""
_TINY_FRACTION = 5
"""A piece shorter than ``chunk_size // _TINY_FRACTION`` is merged into its neighbour."""


@dataclass(frozen=True)
class _Unit:
    """A sentence of prose or a line of code, with what joins it to the unit before it."""

    text: str
    separator: str
    page_start: int
    page_end: int
    position: Anchor


def chunk_book(book: CleanBook, outline: Outline, book_id: str, settings: Settings) -> list[Chunk]:
    """Cut the body text of ``book`` into chunks with stable ids ``f"{book_id}:{n:05d}"`` in book order."""
    paths = section_paths(outline.sections)
    right_edge = _right_edge(book)
    hyphenated = hyphenated_words("\n".join(body_row.row.text for page in book.body for body_row in page if not body_row.code))
    margins = {page[0].page: _text_margin(page) for page in book.body if page}
    pieces: list[tuple[Anchor, int, list[_Unit], int | None]] = []
    rows = (row for page in book.body for row in page)
    for section, grouped in groupby(rows, key=lambda body_row: body_row.section):
        section_rows = list(grouped)
        notes = [row for row in section_rows if row.note]  # footnotes: chunks of their own, where they are printed
        if notes:
            units = _prose_units(notes, right_edge, hyphenated, outline.heading_rows)
            pieces.extend((chunk[0].position, _ORDER[ChunkKind.PROSE], chunk, section) for chunk in _pack(units, settings))
        runs = [(kind, list(run)) for kind, run in groupby((row for row in section_rows if not row.note), key=_kind)]
        prose = [run for kind, run in runs if kind == ChunkKind.PROSE]
        if prose and not _only_headings([row for run in prose for row in run], book):
            units = [unit for run in prose for unit in _prose_units(run, right_edge, hyphenated, outline.heading_rows)]
            pieces.extend((chunk[0].position, _ORDER[ChunkKind.PROSE], chunk, section) for chunk in _pack(units, settings))
        code = [unit for kind, run in runs if kind == ChunkKind.CODE for unit in _code_units(run, margins)]
        pieces.extend((chunk[0].position, _ORDER[ChunkKind.CODE], chunk, section) for chunk in _pack(code, settings))
        formulas = [_formula_unit(run) for kind, run in runs if kind == ChunkKind.FORMULA]
        pieces.extend((chunk[0].position, _ORDER[ChunkKind.FORMULA], chunk, section) for chunk in _pack(formulas, settings))
    pieces.sort(key=lambda piece: (piece[0], piece[1]))
    kinds = {order: kind for kind, order in _ORDER.items()}
    chunks = []
    for index, (_, kind, units, section) in enumerate(pieces):
        path, number = paths[section] if section is not None else ((), None)
        chunks.append(
            Chunk(
                id=f"{book_id}:{index:05d}",
                book_id=book_id,
                text=_text(units),
                page_start=min(unit.page_start for unit in units),
                page_end=max(unit.page_end for unit in units),
                section_path=path,
                section_number=number,
                kind=kinds[kind],
            )
        )
    return chunks


def section_paths(sections: Sequence[Section]) -> list[tuple[tuple[str, ...], str | None]]:
    """For each section: the display titles from its chapter down to it, and its deepest number."""
    paths = []
    stack: list[Section] = []
    for section in sections:
        while stack and stack[-1].level >= section.level:
            stack.pop()
        stack.append(section)
        number = next((s.number for s in reversed(stack) if s.number), None)
        paths.append((tuple(s.display_title for s in stack), number))
    return paths


# --- units


def _kind(body_row: BodyRow) -> ChunkKind:
    return ChunkKind.CODE if body_row.code else ChunkKind.FORMULA if body_row.formula else ChunkKind.PROSE


def _prose_units(rows: list[BodyRow], right_edge: float, hyphenated: Collection[str], headings: Collection[Anchor]) -> list[_Unit]:
    """The sentences of a run of prose rows (uninterrupted by code or a formula)."""
    units: list[_Unit] = []
    for paragraph in _paragraphs(rows, right_edge, headings):
        text, starts = join_lines([row.row.text for row in paragraph], hyphenated)
        text = repair_urls(text)
        pages = [page for page, _ in (_position(row) for row in paragraph)]
        previous_end = None
        for start, end in sentence_spans(text):
            first = max(0, bisect.bisect_right(starts, start) - 1)
            last = max(0, bisect.bisect_right(starts, end - 1) - 1)
            separator = "\n" if previous_end is None else " " if start > previous_end else ""
            units.append(_Unit(text[start:end], separator, pages[first], pages[last], _position(paragraph[first])))
            previous_end = end
    return units


def _paragraphs(rows: list[BodyRow], right_edge: float, headings: Collection[Anchor] = ()) -> list[list[BodyRow]]:
    """Rows grouped into paragraphs: a new one after a short line, a wider gap, a change of font, at a list
    item, and before and after a printed heading (``headings``: the positions of its rows)."""
    paragraphs: list[list[BodyRow]] = []
    previous: BodyRow | None = None
    for body_row in rows:
        heading_edge = previous is not None and ((_position(previous) in headings) != (_position(body_row) in headings))
        if previous is None or heading_edge or _breaks(previous, body_row, right_edge):
            paragraphs.append([body_row])
        else:
            paragraphs[-1].append(body_row)
        previous = body_row
    return paragraphs


def _breaks(previous: BodyRow, current: BodyRow, right_edge: float) -> bool:
    before, row = previous.row, current.row
    ends_short = before.x1 < right_edge - 2 * before.size and _PARAGRAPH_END.search(before.text)
    if ends_short or _LIST_ITEM.match(row.text):
        return True
    if abs(before.size - row.size) > 0.1 * row.size or before.bold != row.bold:
        return True
    return previous.page == current.page and row.y0 - before.y1 > 0.6 * row.height


def _code_units(rows: list[BodyRow], margins: dict[int, float]) -> list[_Unit]:
    """One unit per printed line of a listing (a run of code rows), its indentation rebuilt from its
    distance to the page's text margin; a blank line before the listing and where a gap shows one."""
    widths = sorted((r.row.x1 - r.row.x0) / len(r.row.text) for r in rows if len(r.row.text) >= 4)
    char_width = widths[len(widths) // 2] if widths else 0.5 * rows[0].row.size
    indents = [max(0, round((r.row.x0 - margins[r.page]) / char_width)) for r in rows]
    base = min(indents)
    steps = sorted(b.row.y0 - a.row.y0 for a, b in zip(rows, rows[1:]) if a.page == b.page and b.row.y0 > a.row.y0)
    pitch = steps[len(steps) // 2] if steps else None
    units = []
    for i, (body_row, indent) in enumerate(zip(rows, indents)):
        separator = "\n\n" if i == 0 or _gap_before(rows[i - 1], body_row, pitch) else "\n"
        text = " " * (indent - base) + body_row.row.text
        units.append(_Unit(text, separator, body_row.page, body_row.page, _position(body_row)))
    return units


def _formula_unit(rows: list[BodyRow]) -> _Unit:
    """A display formula as one unit: its rows (pieces of one formula, its equation number) on one line."""
    text = " ".join(" ".join(body_row.row.text.split()) for body_row in rows)
    return _Unit(text, "\n", rows[0].page, rows[-1].page, _position(rows[0]))


def _gap_before(previous: BodyRow, current: BodyRow, pitch: float | None) -> bool:
    """A blank line between two rows of a listing on one page: a step half again the listing's usual line
    pitch (or, without one, a gap wider than a row)."""
    if previous.page != current.page:
        return False
    if pitch is not None:
        return current.row.y0 - previous.row.y0 > 1.5 * pitch
    return current.row.y0 - previous.row.y1 > 1.2 * current.row.height


# --- packing


def _pack(units: list[_Unit], settings: Settings) -> list[list[_Unit]]:
    """Greedy packing up to the chunk size, sentence-aligned overlap, a tiny tail merged back."""
    size, overlap = settings.chunk_size, settings.chunk_overlap
    cap = 2 * size
    chunks: list[list[_Unit]] = []
    current: list[_Unit] = []
    length = fresh = 0
    for unit in _split_long(units, size):
        if fresh and length + len(unit.separator) + len(unit.text) > size:
            chunks.append(current)
            current = _overlap_tail(current, overlap)
            length, fresh = len(_text(current)), 0
        length += len(unit.text) + (len(unit.separator) if current else 0)
        current.append(unit)
        fresh += 1
    if fresh:
        if chunks and len(_text(current[-fresh:])) < size // _TINY_FRACTION:
            merged = chunks[-1] + current[-fresh:]
            if len(_text(merged)) <= cap:
                chunks[-1] = merged
                return chunks
        chunks.append(current)
    return chunks


def _split_long(units: list[_Unit], size: int) -> Iterable[_Unit]:
    """Units longer than ``size`` cut at clause ends, or hard where a clause is still too long."""
    for unit in units:
        if len(unit.text) <= size:
            yield unit
            continue
        separator = unit.separator
        for piece in _cut(unit.text, size):
            yield _Unit(piece, separator, unit.page_start, unit.page_end, unit.position)
            separator = ""


def _cut(text: str, size: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for clause in _clauses(text):
        while len(clause) > size:
            head, clause = clause[:size], clause[size:]
            if current:
                pieces.append(current)
                current = ""
            pieces.append(head)
        if len(current) + len(clause) > size:
            pieces.append(current)
            current = ""
        current += clause
    if current:
        pieces.append(current)
    return pieces


def _clauses(text: str) -> list[str]:
    ends = [match.end() for match in _CLAUSE_END.finditer(text)]
    bounds = [0, *(end for end in ends if 0 < end < len(text)), len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


def _overlap_tail(units: list[_Unit], overlap: int) -> list[_Unit]:
    """The whole units at the end of a chunk that fit in ``overlap`` characters, or else the last
    clauses of its last unit that do."""
    tail: list[_Unit] = []
    length = 0
    for unit in reversed(units):
        length += len(unit.text) + (len(unit.separator) if tail else 0)
        if length > overlap:
            break
        tail.insert(0, unit)
    if tail or not overlap or not units:
        return tail
    last = units[-1]
    clauses = _clauses(last.text)
    kept = ""
    for clause in reversed(clauses[1:]):
        if len(kept) + len(clause) > overlap:
            break
        kept = clause + kept
    kept = kept.lstrip()
    return [_Unit(kept, "", last.page_end, last.page_end, last.position)] if kept else []


def _text(units: Sequence[_Unit]) -> str:
    if not units:
        return ""
    return units[0].text + "".join(unit.separator + unit.text for unit in units[1:])


# --- layout helpers


def _position(body_row: BodyRow) -> Anchor:
    return body_row.page, body_row.index


def _right_edge(book: CleanBook) -> float:
    """Where full prose lines end: the most common right edge of body rows."""
    edges = Counter(round(body_row.row.x1) for page in book.body for body_row in page if not body_row.code)
    if not edges:
        return 0.0
    common = edges.most_common(1)[0][0]
    return float(max(edge for edge in edges if abs(edge - common) <= 10))


def _text_margin(rows: Sequence[BodyRow]) -> float:
    """Where the lines of a page begin: the most common left edge of its rows."""
    edges = Counter(round(body_row.row.x0) for body_row in rows)
    return float(edges.most_common(1)[0][0])


def _only_headings(rows: list[BodyRow], book: CleanBook) -> bool:
    """True when a section's prose is nothing but its heading (larger or bold rows)."""
    body_size = book.body_size
    return all(body_row.row.bold or body_row.row.size > 1.05 * body_size for body_row in rows)

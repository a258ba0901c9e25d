"""A section's text as a student reads it: its lines in book order, each with its page, its own (deepest) section and
the part of the section it belongs to (body, summary, exercises, glossary, a caption, a heading); and its sentences,
each placed on the page it is printed on.

The text is the book's prose chunks (cleaned: no running heads, page numbers or footnotes), their overlaps removed.
Parts are found by the conventional headings of textbooks, on a line of their own or as a section's title: 小结 /
Summary, 练习 / Exercises, 术语 / Glossary. A line's and a sentence's page is found by locating its text in the page
texts of the section (whitespace and hyphens ignored), so a sentence that continues onto the next page is placed
where it begins and a term inside it where the term is printed.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cached_property
from itertools import groupby
from typing import Sequence

from bookqa.library.book import Book
from bookqa.reading.chunking import section_paths
from bookqa.study.keys import squeeze
from bookqa.text import split_sentences
from bookqa.types import Chunk, ChunkKind, Choice, Page, Section


class Part(Choice):
    """What a line of a section is: running text, a heading, a summary, exercises, a glossary, or a caption."""

    BODY = "body"
    HEADING = "heading"
    SUMMARY = "summary"
    EXERCISES = "exercises"
    GLOSSARY = "glossary"
    CAPTION = "caption"


_PART_HEADINGS = {
    Part.SUMMARY: re.compile(r"(?:本章|本节)?(?:小结|总结|要点)|(?:chapter |section )?summary|key (?:points|ideas|takeaways)|recap"),
    Part.EXERCISES: re.compile(r"(?:本章|本节)?(?:练习|习题|思考题)|(?:chapter |section )?(?:exercises?|problems)"),
    Part.GLOSSARY: re.compile(r"术语表?|词汇表|glossary|key terms|vocabulary"),
}
"""The headings textbooks give these parts, matched against a whole line (its number and a colon left out)."""
_HEADING_NUMBER = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[A-Z](?:\.\d+)+\.?)\s*")
CAPTION = re.compile(r"^(?P<kind>图|表|figure|fig\.|table)\s*(?P<number>\d+(?:[.\-]\d+)*)\s*[:：.]\s*\S", re.IGNORECASE)
"""A figure or table caption: "图7.7.1: …", "Figure 2.1: …", "Table 3.2. …"."""
_LOOSE = re.compile(r"[\s\-\u2010\u2011]+")
"""What locating text on a page ignores: whitespace, and hyphens (a word broken at a line end)."""
PREFIX = 24
"""Characters of a line or sentence (whitespace and hyphens left out) searched for on the pages to place it."""
LIST_MARK = re.compile(r"^(?:[•·▪◦‣\-–—*]|\d{1,2}[.)、．]|[(（]\d{1,2}[)）])\s*")
"""The mark of a list item: a bullet, "1.", "(3)"."""
_EQUATION_NUMBER = re.compile(r"^\(\d+(?:\.\d+)*\)\s*")
"""An equation's number that the text layer puts before the sentence after the equation: "(3.1.14)根据…"."""
SLACK = 240
"""How far past a sentence's start a term inside it may be found (the furniture of a page break lies between)."""


def heading_part(line: str) -> Part | None:
    """The part a heading line opens ("小结", "3.4 Exercises:", "Glossary"), or None for any other line."""
    text = _HEADING_NUMBER.sub("", line.strip()).rstrip(":：").strip().lower()
    if len(text) > 24:
        return None
    return next((part for part, pattern in _PART_HEADINGS.items() if pattern.fullmatch(text)), None)


@dataclass(frozen=True)
class Line:
    """A line of a section (a paragraph, a list item, a heading, a caption): its ``text``, the physical ``page`` it
    begins on, its own deepest ``section``, the ``part`` of the section it is in, and ``offset``, where it begins in
    the section's located text (:class:`PageText`; -1 where it was not found there)."""

    text: str
    page: int
    section: Section
    part: Part
    offset: int = -1


@dataclass(frozen=True)
class Sentence:
    """A sentence of a line (a glossary entry or a list item is one sentence): ``text``, the physical ``page`` it
    begins on, its ``section`` and ``part``, the index of its ``line`` in the material, and its ``offset`` in the
    located text (-1 when not found)."""

    text: str
    page: int
    section: Section
    part: Part
    line: int
    offset: int = -1


class PageText:
    """The text of a run of pages for locating lines on them: whitespace and hyphens left out, with the page of
    each character."""

    def __init__(self, pages: Sequence[Page]) -> None:
        self.pages = tuple(pages)
        parts = [_LOOSE.sub("", page.text) for page in self.pages]
        self.text = "".join(parts)
        self.starts = []
        position = 0
        for part in parts:
            self.starts.append(position)
            position += len(part)

    def page_at(self, offset: int) -> int:
        """The physical page of the character at ``offset``."""
        return self.pages[max(0, bisect.bisect_right(self.starts, offset) - 1)].number

    def find(self, text: str, start: int = 0, limit: int | None = None) -> int:
        """Where the beginning of ``text`` (:data:`PREFIX` characters of it) is first found at or after ``start``
        (and before ``limit``); else anywhere; -1 when nowhere."""
        key = _LOOSE.sub("", text)[:PREFIX]
        if not key:
            return -1
        found = self.text.find(key, max(0, start), limit)
        if found == -1 and limit is None and start > 0:
            found = self.text.find(key)
        return found


@dataclass(frozen=True)
class Material:
    """What a section holds, read for study: ``section``, its ``lines`` in book order and ``text`` (its pages,
    for locating)."""

    section: Section
    lines: tuple[Line, ...]
    text: PageText

    @cached_property
    def sentences(self) -> tuple[Sentence, ...]:
        """The sentences of the lines that are not headings or captions (a list item's mark, and an equation number
        before one, left out); a glossary entry and a summary's list item are one sentence each."""
        found = []
        for index, line in enumerate(self.lines):
            if line.part in (Part.HEADING, Part.CAPTION):
                continue
            pieces = [line.text] if line.part in (Part.GLOSSARY, Part.SUMMARY) else split_sentences(line.text)
            pieces = [LIST_MARK.sub("", pieces[0]), *pieces[1:]] if pieces else pieces
            pieces = [stripped for piece in pieces if (stripped := _EQUATION_NUMBER.sub("", piece))]
            cursor = line.offset
            for piece in pieces:
                offset = self.text.find(piece, cursor, cursor + len(line.text) + SLACK) if cursor >= 0 else -1
                page = self.text.page_at(offset) if offset >= 0 else line.page
                found.append(Sentence(piece, page, line.section, line.part, index, offset))
                cursor = offset + 1 if offset >= 0 else cursor
        return tuple(found)

    def page_of(self, text: str, sentence: Sentence) -> int:
        """The physical page where ``text`` (a term) is printed inside ``sentence``: found after the sentence's start
        within its length (and a page break's furniture); the sentence's own page otherwise."""
        if sentence.offset < 0:
            return sentence.page
        found = self.text.find(text, sentence.offset, sentence.offset + len(sentence.text) + SLACK)
        return self.text.page_at(found) if found >= 0 else sentence.page


def section_chunks(book: Book, section: Section) -> list[Chunk]:
    """The chunks of ``section`` and its subsections, in book order."""
    path = outline_paths(book.outline)[section]
    return [chunk for chunk in book.chunks if chunk.section_path[: len(path)] == path]


def outline_paths(outline: Sequence[Section]) -> dict[Section, tuple[str, ...]]:
    """Each section of ``outline`` with its path of display titles (what chunks carry as ``section_path``)."""
    return {section: path for section, (path, _) in zip(outline, section_paths(outline))}


def read_material(book: Book, section: Section) -> Material:
    """The material of ``section`` of ``book``: its prose lines with their pages, sections and parts."""
    from bookqa.index.retriever import merge_chunks  # FAISS and numpy load with the first sheet, not the overview

    by_path = {path: entry for entry, path in outline_paths(book.outline).items()}
    pages = [page for number in range(section.start_page, section.end_page + 1) if (page := book.pages.get(number))]
    located = PageText(pages)
    prose = [chunk for chunk in section_chunks(book, section) if chunk.kind == ChunkKind.PROSE]
    lines: list[Line] = []
    cursor = 0
    for path, group in groupby(prose, key=lambda chunk: chunk.section_path):
        own = by_path.get(path, section)
        part = heading_part(own.title) or Part.BODY
        merged = merge_chunks(list(group))
        for text in merged.text.split("\n"):
            text = text.strip()
            if not text:
                continue
            offset = located.find(text, cursor)
            page = located.page_at(offset) if offset >= 0 else merged.page_start
            cursor = offset + 1 if offset >= 0 else cursor
            kind, part = _line_part(text, own, part)
            lines.append(Line(text, page, own, kind, offset))
    return Material(section, tuple(lines), located)


def _line_part(text: str, section: Section, current: Part) -> tuple[Part, Part]:
    """The part of line ``text`` of ``section``, and the part the lines after it are in."""
    if squeeze(text).lower() in (squeeze(section.display_title).lower(), squeeze(section.title).lower()):
        return Part.HEADING, current
    opened = heading_part(text)
    if opened is not None:
        return Part.HEADING, opened
    if CAPTION.match(text):
        return Part.CAPTION, current
    return current, current

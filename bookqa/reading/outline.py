"""The book's sections: from the PDF outline, or from numbered headings where a PDF has none.

Outline titles often carry no section numbers; the printed headings do. Each outline entry is matched
with its printed heading on its start page, which gives the number ("7.7"), the heading's position
(the anchor: sections begin mid-page) and whether it opens its page (then the previous section ends on
the page before; otherwise both share the page).
"""

from __future__ import annotations

import bisect
import difflib
import logging
import re
from dataclasses import dataclass
from typing import Collection, Sequence

import pymupdf

from bookqa.reading.layout import PageLayout, body_font_size
from bookqa.text import join_lines, normalize_chars
from bookqa.types import Section

log = logging.getLogger(__name__)

Anchor = tuple[int, int]
"""A position in the book: (physical page number, row index on that page)."""

_NUMBER = re.compile(
    r"^(?:(?:chapter|appendix|part)\s+|第\s*)?(\d+(?:\.\d+)*|[A-Z](?:\.\d+)*)(?:\.|\s*[章节])?(?:\s*[|｜:：—–]\s*|\s+|$)", re.IGNORECASE
)
_BARE_NUMBER = re.compile(r"^(?:(?:chapter|appendix)\s+)?(\d+|[A-Z])$", re.IGNORECASE)
_SEPARATOR = re.compile(r"^[|｜:：.\-–—•·]*$")
_KEY_DROP = re.compile(r"[\W_]+")
_FUZZY_RATIO = 0.85
_MAX_HEADING_ROWS = 3


@dataclass(frozen=True)
class Outline:
    """The sections in book order and where each one's printed heading begins.

    ``anchors[i]`` is the position of the first row of section ``i``'s printed heading, or of the top
    of its start page when the heading was not found. Anchors never decrease in book order.
    """

    sections: tuple[Section, ...]
    anchors: tuple[Anchor, ...]

    def section_at(self, anchor: Anchor) -> int | None:
        """Index of the innermost section that the row at ``anchor`` belongs to, or None before the first."""
        position = bisect.bisect_right(self.anchors, anchor) - 1
        return position if position >= 0 else None


def locate_outline(
    doc: pymupdf.Document,
    layouts: Sequence[PageLayout],
    noise: Sequence[Collection[int]],
    skip_pages: Collection[int] = (),
) -> Outline:
    """The outline of ``doc`` matched with its printed headings; detected headings when it has none.

    ``noise``: per page, rows that are running heads or page numbers (never taken for headings).
    ``skip_pages``: page numbers never searched for detected headings (contents pages).
    """
    entries = [(level, normalize_chars(title).strip(), page) for level, title, page in doc.get_toc(simple=True)]
    entries = [entry for entry in entries if 1 <= entry[2] <= len(layouts) and entry[1]]
    if entries:
        return _match_outline(entries, layouts, noise)
    return _detect_headings(layouts, noise, set(skip_pages))


# --- outline entries matched with printed headings


@dataclass(frozen=True)
class _Match:
    anchor: Anchor
    last_row: int
    """The last row of the printed heading (a chapter number and its title take several)."""
    number: str | None
    printed_title: str | None


def _match_outline(
    entries: list[tuple[int, str, int]], layouts: Sequence[PageLayout], noise: Sequence[Collection[int]]
) -> Outline:
    pages: dict[int, _PageRows] = {}
    matches: list[_Match | None] = []
    numbers: list[str | None] = []
    stack: list[int] = []
    previous: Anchor = (1, 0)
    for index, (level, title, page) in enumerate(entries):
        while stack and entries[stack[-1]][0] >= level:
            stack.pop()
        parent = stack[-1] if stack else None
        stack.append(index)
        match = None
        for number in (page, page + 1):
            if number > len(layouts):
                break
            if number not in pages:
                pages[number] = _PageRows([row.text for row in layouts[number - 1].rows])
            start = previous[1] + 1 if previous[0] == number else 0
            match = _find_heading(title, level, pages[number], noise[number - 1], (number, start))
            if match:
                break
        parent_number = numbers[parent] if parent is not None else None
        matches.append(match)
        numbers.append(match.number if match and _fits_parent(match.number, parent_number) else None)
        if match:
            previous = (match.anchor[0], match.last_row)
    unmatched = sum(match is None for match in matches)
    if unmatched:
        log.info("%d of %d outline entries have no printed heading on their start page", unmatched, len(entries))
    return _build(entries, matches, numbers, len(layouts), noise)


@dataclass(frozen=True)
class _RowKey:
    """A row's text and comparison key, whole and without a leading section number (``rest``)."""

    text: str
    key: str
    number: str | None = None
    rest: str = ""
    rest_key: str = ""

    @classmethod
    def of(cls, text: str) -> "_RowKey":
        match = _NUMBER.match(text)
        if not match:
            return cls(text, _key(text))
        rest = text[match.end() :]
        return cls(text, _key(text), match.group(1), rest, _key(rest))


class _PageRows:
    """The rows of one page, each one's keys computed when first needed."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self._keys: dict[int, _RowKey] = {}

    def __getitem__(self, index: int) -> _RowKey:
        if index not in self._keys:
            self._keys[index] = _RowKey.of(self.texts[index])
        return self._keys[index]


def _find_heading(title: str, level: int, rows: _PageRows, noise: Collection[int], start: Anchor) -> _Match | None:
    """The heading ``title`` among the rows of one page from ``start`` on (exact, then fuzzy match),
    possibly printed over a few rows."""
    title_key = _key(title)
    if not title_key:
        return None
    page, first_row = start
    texts = rows.texts
    candidates = [i for i in range(first_row, len(texts)) if i not in noise and not _SEPARATOR.match(texts[i])]
    for fuzzy in (False, True):
        for position, row in enumerate(candidates):
            window = candidates[position : position + _MAX_HEADING_ROWS]
            following = ""
            for width in range(1, len(window) + 1):
                if width > 1:
                    following += rows[window[width - 1]].key
                numbered = rows[row].number is not None and _same(rows[row].rest_key + following, title_key, fuzzy)
                if numbered or _same(rows[row].key + following, title_key, fuzzy):
                    return _matched(rows, noise, window[:width], level, page, numbered)
                if len(rows[row].key + following) > 2 * len(title_key) + 8:
                    break
    return None


def _same(key: str, title_key: str, fuzzy: bool) -> bool:
    if key == title_key:
        return True
    if not fuzzy or not key or abs(len(key) - len(title_key)) > max(2, len(title_key) // 5):
        return False
    return difflib.SequenceMatcher(None, key, title_key).ratio() >= _FUZZY_RATIO


def _matched(rows: _PageRows, noise: Collection[int], window: list[int], level: int, page: int, numbered: bool) -> _Match:
    """The match of a heading printed on the rows ``window``, with its number and printed title."""
    first = window[0]
    number = rows[first].number if numbered else None
    printed = join_lines([rows[first].rest if numbered else rows[first].text, *(rows[i].text for i in window[1:])])[0]
    if number is None and level == 1:
        number, first = _number_above(rows, noise, first)
    return _Match((page, first), window[-1], number, printed.strip())


def _number_above(rows: _PageRows, noise: Collection[int], row: int) -> tuple[str | None, int]:
    """A chapter number printed on its own line above the title ("3", "|", "Linear Neural ..."), and
    the row where the heading then begins."""
    for j in range(row - 1, max(-1, row - 3), -1):
        if j in noise or _SEPARATOR.match(rows[j].text):
            continue
        bare = _BARE_NUMBER.match(rows[j].text)
        return (bare.group(1), j) if bare else (None, row)
    return None, row


def _fits_parent(number: str | None, parent_number: str | None) -> bool:
    return number is None or parent_number is None or number.startswith(parent_number + ".")


def _build(
    entries: list[tuple[int, str, int]],
    matches: list[_Match | None],
    numbers: list[str | None],
    page_count: int,
    noise: Sequence[Collection[int]],
) -> Outline:
    anchors: list[Anchor] = []
    for (_, _, page), match in zip(entries, matches):
        anchor = match.anchor if match else (page, 0)
        anchors.append(max(anchor, anchors[-1]) if anchors else anchor)
    opens = [_opens_page(noise[page - 1], row) for page, row in anchors]
    sections = tuple(
        Section(
            numbers[index],
            match.printed_title if match and match.printed_title else title,
            level,
            anchors[index][0],
            _end_page(entries, anchors, opens, index, page_count),
        )
        for index, ((level, title, _), match) in enumerate(zip(entries, matches))
    )
    return Outline(sections, tuple(anchors))


def _end_page(
    entries: Sequence[tuple[int, str, int]], anchors: Sequence[Anchor], opens: Sequence[bool], index: int, page_count: int
) -> int:
    """The page where the next entry at the same or a higher level begins, or the one before it when
    that entry opens its page; the last page of the book for the last entries."""
    level = entries[index][0]
    start = anchors[index][0]
    for later in range(index + 1, len(entries)):
        if entries[later][0] <= level:
            next_start = anchors[later][0]
            return max(start, next_start - 1) if opens[later] else next_start
    return page_count


def _opens_page(noise: Collection[int], row: int) -> bool:
    """True when every row above ``row`` is noise (a running head, a page number)."""
    return all(i in noise for i in range(row))


def _key(text: str) -> str:
    """Letters and digits only, lower case: how (normalised) titles are compared."""
    return _KEY_DROP.sub("", text).lower()


# --- headings detected in the text (PDFs without an outline)


_HEADING = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){0,3})\.?\s+(\S.{0,80})$")
_CHAPTER = re.compile(r"^(?:chapter\s+(\d{1,3})|第\s*(\d{1,3})\s*章)[.:：]?\s*(.{0,80})$", re.IGNORECASE)
_NOT_TITLE_END = re.compile(r"[。，,;；:：]$|(?:\.\s*){3,}|\s\d{1,4}$")
_UNNUMBERED = {"前言", "序言", "致谢", "参考文献", "参考书目", "索引", "preface", "foreword", "acknowledgments",
               "acknowledgements", "bibliography", "references", "index"}
_MAX_JUMP = 3


def _detect_headings(layouts: Sequence[PageLayout], noise: Sequence[Collection[int]], skip_pages: set[int]) -> Outline:
    """Numbered headings ("3.2 标题", "Chapter 3", "3 Linear Neural Networks") set larger or bolder
    than the body text, in increasing order, plus front and back matter titles (前言, References)."""
    body = body_font_size(layouts)
    found: list[tuple[int, str | None, str, Anchor]] = []
    open_numbers: list[tuple[int, ...]] = []
    for layout in layouts:
        if layout.number in skip_pages:
            continue
        rows = layout.rows
        for i, row in enumerate(rows):
            if i in noise[layout.number - 1] or row.mono or not (row.bold or row.size >= 1.1 * body):
                continue
            following = rows[i + 1] if i + 1 < len(rows) else None
            title_below = following.text if following and (following.bold or following.size >= 1.1 * body) else ""
            heading = _read_heading(row.text, title_below)
            if heading is None:
                continue
            number, title = heading
            if number is None:
                found.append((1, None, title, (layout.number, i)))
                continue
            parts = tuple(int(part) for part in number.split("."))
            if not _follows(parts, open_numbers):
                continue
            open_numbers = [*(n for n in open_numbers if len(n) < len(parts)), parts]
            found.append((len(parts), number, title, (layout.number, i)))
    entries = [(level, title, anchor[0]) for level, _, title, anchor in found]
    anchors = [anchor for *_, anchor in found]
    opens = [_opens_page(noise[p - 1], r) for p, r in anchors]
    sections = tuple(
        Section(number, title, level, anchor[0], _end_page(entries, anchors, opens, index, len(layouts)))
        for index, (level, number, title, anchor) in enumerate(found)
    )
    log.info("the PDF has no outline; %d headings detected in its text", len(sections))
    return Outline(sections, tuple(anchors))


def _read_heading(text: str, title_below: str) -> tuple[str | None, str] | None:
    """``(number, title)`` when ``text`` reads like a heading. A chapter number alone ("Chapter 3",
    "3") takes ``title_below``, the heading-sized row under it, as its title."""
    if _key(text) in _UNNUMBERED:
        return None, text.strip()
    chapter = _CHAPTER.match(text)
    if chapter:
        title = chapter.group(3).strip() or title_below.strip()
        return (chapter.group(1) or chapter.group(2), title) if title else None
    if text.strip().isdigit() and len(text.strip()) <= 3:
        return (text.strip(), title_below.strip()) if title_below.strip() else None
    match = _HEADING.match(text)
    if not match or _NOT_TITLE_END.search(text) or not any(ch.isalpha() for ch in match.group(2)):
        return None
    return match.group(1), match.group(2).strip()


def _follows(parts: tuple[int, ...], open_numbers: list[tuple[int, ...]]) -> bool:
    """True when ``parts`` continues the numbering: the next chapter, or a next child of an open heading."""
    parent = parts[:-1]
    if parent and parent not in open_numbers:
        return False
    siblings = [n for n in open_numbers if len(n) == len(parts) and n[:-1] == parent]
    last = siblings[-1][-1] if siblings else 0
    return last < parts[-1] <= last + _MAX_JUMP

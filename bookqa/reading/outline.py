"""The book's sections: from the PDF outline, or from numbered headings where a PDF has none.

Outline titles often carry no section numbers; the printed headings do, often in a span of their own
("1.1" + "引言", "第1 章" + "绪论", "Chapter 3" over the title). Each outline entry is matched with its printed
heading on its start page (or the page after or before: bookmarks can be a page off), which gives the number
(:mod:`bookqa.reading.numbering`), the title as printed, the heading's position (the anchor: sections begin
mid-page) and whether it opens its page (then the previous section ends on the page before; otherwise both
share the page). The printed heading wins over the bookmark: its number and its title are kept. Where the
printed heading has no number, one the outline title carries ("1.1 概述", "第十二章：…") is used, and where no
entry of the book has any, sections are numbered by outline order (front and back matter left unnumbered).

Bookmarks can be wrong or missing: duplicated entries are dropped, an outline whose only top entry is the
book itself is unwrapped, an entry whose title matches no printed line takes the heading set in its level's
style where its number fits, and numbered headings the outline lacks (an appendix's "A.1.1") are added from
the printed lines where their number fits the sections around them. A running head that repeats a title
(smaller than a heading, in the page's top or bottom margin) is never taken for a heading.
"""

from __future__ import annotations

import bisect
import difflib
import logging
import re
from collections import Counter
from dataclasses import dataclass
from typing import Collection, Sequence

import pymupdf

from bookqa.reading.layout import MARGIN_ZONE, PageLayout, Row, body_font_size, left_edges
from bookqa.reading.numbering import depth, fits, follows, split_number
from bookqa.reading.titles import BIBLIOGRAPHY, INDEX, is_unnumbered_matter, title_key, title_kind
from bookqa.text import join_lines, normalize_chars
from bookqa.types import Section

log = logging.getLogger(__name__)

Anchor = tuple[int, int]
"""A position in the book: (physical page number, row index on that page)."""

_SEPARATOR = re.compile(r"^[|｜:：.\-–—•·]*$")
_FUZZY_RATIO = 0.85
_MAX_HEADING_ROWS = 3
_HEADING_SIZE = 1.05
"""A row set this much larger than the body text is heading-sized."""
_TITLE_MAX = 80
_BACK_MATTER = (INDEX, BIBLIOGRAPHY)
_NOT_TITLE_END = re.compile(r"[。，,;；:：]$|(?:\.\s*){3,}|\s\d{1,4}$")
_SENTENCE_END = re.compile(r"[.!?。！？]$")


@dataclass(frozen=True)
class Outline:
    """The sections in book order and where each one's printed heading begins.

    ``anchors[i]`` is the position of the first row of section ``i``'s printed heading, or of the top
    of its start page when the heading was not found. Anchors never decrease in book order.
    ``heading_rows``: the positions of every row of the printed headings found (number rows included).
    """

    sections: tuple[Section, ...]
    anchors: tuple[Anchor, ...]
    heading_rows: frozenset[Anchor] = frozenset()

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
    ``skip_pages``: page numbers never searched for headings the outline lacks (contents pages).
    """
    entries = outline_entries(doc.get_toc(simple=True), len(layouts))
    book = _BookRows(layouts, noise, set(skip_pages))
    if entries:
        return _match_outline(entries, book)
    return _detect_headings(book)


@dataclass(frozen=True)
class Entry:
    """One bookmark: its level, its title (normalised) and the physical page it points to."""

    level: int
    title: str
    page: int


def outline_entries(toc: Sequence[Sequence], page_count: int) -> list[Entry]:
    """The usable bookmarks of a ``get_toc(simple=True)`` list: titled, inside the book, duplicates dropped
    (the same title at the same level a page apart at most), and a single top entry that holds all others
    (the book itself) unwrapped, its children becoming the chapters."""
    entries: list[Entry] = []
    for level, title, page, *_ in toc:
        entry = Entry(int(level), " ".join(normalize_chars(title).split()), int(page))
        if not entry.title or not 1 <= entry.page <= page_count:
            continue
        if entries and _duplicate(entries[-1], entry):
            continue
        entries.append(entry)
    if not entries:
        return entries
    top = min(entry.level for entry in entries)
    if sum(entry.level == top for entry in entries) == 1 and entries[0].level == top and len(entries) > 2:
        entries = entries[1:]
        top = min(entry.level for entry in entries)
    return [Entry(entry.level - top + 1, entry.title, entry.page) for entry in entries]


def _duplicate(before: Entry, entry: Entry) -> bool:
    return before.level == entry.level and abs(before.page - entry.page) <= 1 and title_key(before.title) == title_key(entry.title)


# --- the book's rows, as heading candidates


class _BookRows:
    """The rows of every page with what heading search asks of them: comparison keys (computed when first
    needed), noise, the body font size, the margins."""

    def __init__(self, layouts: Sequence[PageLayout], noise: Sequence[Collection[int]], skip_pages: set[int]) -> None:
        self.layouts = layouts
        self.noise = noise
        self.skip_pages = skip_pages
        self.body = body_font_size(layouts)
        self._keys: dict[Anchor, _RowKey] = {}
        self.lefts = left_edges(layouts, self.body)

    @property
    def page_count(self) -> int:
        return len(self.layouts)

    def rows(self, page: int) -> tuple[Row, ...]:
        return self.layouts[page - 1].rows

    def key(self, page: int, index: int) -> "_RowKey":
        anchor = (page, index)
        if anchor not in self._keys:
            self._keys[anchor] = _RowKey.of(self.rows(page)[index].text)
        return self._keys[anchor]

    def candidates(self, page: int, first_row: int = 0) -> list[int]:
        """Rows of ``page`` from ``first_row`` on that may be part of a heading (not noise, not a separator)."""
        texts = self.rows(page)
        noise = self.noise[page - 1]
        return [i for i in range(first_row, len(texts)) if i not in noise and not _SEPARATOR.match(texts[i].text)]

    def in_margin(self, page: int, index: int) -> bool:
        """A row in the top or bottom margin zone set no larger than the body text: where running heads sit."""
        layout = self.layouts[page - 1]
        row = layout.rows[index]
        in_zone = row.y1 <= MARGIN_ZONE * layout.height or row.y0 >= (1 - MARGIN_ZONE) * layout.height
        return in_zone and row.size <= _HEADING_SIZE * self.body

    def at_left_edge(self, row: Row) -> bool:
        return any(abs(row.x0 - edge) <= 2 * self.body for edge in self.lefts)

    def heading_styled(self, row: Row) -> bool:
        """Set larger than the body text, or bold."""
        return row.size >= _HEADING_SIZE * self.body or row.bold

    def opens_page(self, anchor: Anchor) -> bool:
        """True when every row above the anchor is noise (a running head, a page number)."""
        page, row = anchor
        return all(i in self.noise[page - 1] for i in range(row))


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
        number, rest = split_number(text)
        if number is None:
            return cls(text, title_key(text))
        return cls(text, title_key(text), number, rest, title_key(rest))


# --- outline entries matched with printed headings


@dataclass(frozen=True)
class _Match:
    anchor: Anchor
    rows: tuple[int, ...]
    """The rows of the printed heading (a chapter number and its title take several)."""
    number: str | None
    printed_title: str
    style: tuple[float, bool]
    """Size and boldness of the heading's title row."""


@dataclass
class _Found:
    """A section as found: its level, number, title, the anchor of its heading and the rows the heading takes."""

    level: int
    number: str | None
    title: str
    anchor: Anchor
    rows: tuple[Anchor, ...] = ()


def _match_outline(entries: list[Entry], book: _BookRows) -> Outline:
    parents = _parents(entries)
    titled = [split_number(entry.title) for entry in entries]
    matches: list[_Match | None] = []
    previous: Anchor = (1, -1)
    for entry, (_, rest) in zip(entries, titled):
        match = None
        for page in (entry.page, entry.page + 1, entry.page - 1):
            if not previous[0] <= page <= book.page_count:
                continue
            start = previous[1] + 1 if previous[0] == page else 0
            match = _find_heading(entry.title, rest, entry.level, book, (page, start))
            if match:
                break
        matches.append(match)
        if match:
            previous = (match.anchor[0], max(match.rows))
    _match_by_style(entries, matches, book)
    numbers = _numbers(entries, parents, titled, matches)
    unmatched = sum(match is None for match in matches)
    if unmatched:
        log.info("%d of %d outline entries have no printed heading near their page", unmatched, len(entries))
    found: list[_Found] = []
    for entry, match, number, (_, rest) in zip(entries, matches, numbers, titled):
        if match is None:
            title = rest if number is not None and rest else entry.title
            found.append(_Found(entry.level, number, title, (entry.page, 0)))
        else:
            page = match.anchor[0]
            found.append(_Found(entry.level, number, match.printed_title or entry.title, match.anchor, tuple((page, i) for i in match.rows)))
    found = _with_missing_headings(found, book, _level_styles(entries, matches, book))
    if not any(item.number for item in found):
        _number_by_order(found)
    return _build(found, book)


def _parents(entries: Sequence[Entry]) -> list[int | None]:
    """For each entry, the index of the entry it belongs under, or None for a top entry."""
    parents: list[int | None] = []
    stack: list[int] = []
    for index, entry in enumerate(entries):
        while stack and entries[stack[-1]].level >= entry.level:
            stack.pop()
        parents.append(stack[-1] if stack else None)
        stack.append(index)
    return parents


def _find_heading(title: str, rest: str, level: int, book: _BookRows, start: Anchor) -> _Match | None:
    """The heading ``title`` (or ``rest``, the title without its own number) among the rows of one page from
    ``start`` on (exact, then fuzzy match), possibly printed over a few rows; a row where running heads sit
    only when nothing else on the page matches."""
    title_keys = list(dict.fromkeys(k for k in (title_key(title), title_key(rest)) if k))
    if not title_keys:
        return None
    page, first_row = start
    candidates = book.candidates(page, first_row)
    for fuzzy in (False, True):
        margin_match = None
        for position, row in enumerate(candidates):
            window = candidates[position : position + _MAX_HEADING_ROWS]
            found = _match_at(window, title_keys, level, book, page, fuzzy)
            if found is None:
                continue
            if not book.in_margin(page, row):
                return found
            margin_match = margin_match or found
        if margin_match:
            return margin_match
    return None


def _match_at(window: list[int], title_keys: list[str], level: int, book: _BookRows, page: int, fuzzy: bool) -> _Match | None:
    row = window[0]
    first = book.key(page, row)
    longest = max(len(k) for k in title_keys)
    following = ""
    for width in range(1, len(window) + 1):
        if width > 1:
            following += book.key(page, window[width - 1]).key
        for numbered in (True, False):  # "第 9 章" over "聚类" is chapter 9's heading, for "第9章 聚类" too
            key = first.rest_key if numbered else first.key
            if (not numbered or first.number is not None) and any(_same(key + following, k, fuzzy) for k in title_keys):
                return _matched(book, window[:width], level, page, numbered)
        if len(first.key + following) > 2 * longest + 8:
            break
    return None


def _same(key: str, title_key_: str, fuzzy: bool) -> bool:
    if key == title_key_:
        return True
    if not fuzzy or not key or abs(len(key) - len(title_key_)) > max(2, len(title_key_) // 5):
        return False
    return difflib.SequenceMatcher(None, key, title_key_).ratio() >= _FUZZY_RATIO


def _matched(book: _BookRows, window: list[int], level: int, page: int, numbered: bool) -> _Match:
    """The match of a heading printed on the rows ``window``, with its number and printed title."""
    first = window[0]
    key = book.key(page, first)
    number = key.number if numbered else None
    lines = [key.rest if numbered else key.text, *(book.key(page, i).text for i in window[1:])]
    printed = join_lines([line for line in lines if line])[0].strip()
    rows = list(window)
    if number is None:
        number, start = _number_before(book, page, first, level)
        rows = list(range(start, first)) + rows if start < first else rows
    if number is None:
        number, beside = _number_drawn_after(book, page, first, window[-1])
        rows += [beside] if beside is not None else []
    title_row = book.rows(page)[window[-1] if numbered and not key.rest and len(window) > 1 else first]
    return _Match((page, rows[0]), tuple(rows), number, printed, (title_row.size, title_row.bold))


def _number_before(book: _BookRows, page: int, row: int, level: int) -> tuple[str | None, int]:
    """A number printed in a row of its own before the title ("3" or "Chapter 3" over a chapter's title, "1.1"
    beside its title with a wide gap), and the row where the heading then begins. A chapter's number may
    stand well above its title; a section's sits on the title's line or right above it."""
    rows = book.rows(page)
    candidates = [j for j in book.candidates(page, max(0, row - 3)) if j < row]
    for j in reversed(candidates):
        number, rest = split_number(rows[j].text)
        if number is None or rest:
            return None, row
        near = rows[row].y0 - rows[j].y1 < 1.5 * rows[row].size or abs(rows[row].y1 - rows[j].y1) < 0.3 * rows[row].size
        return (number, j) if level == 1 or near else (None, row)
    return None, row


def _number_drawn_after(book: _BookRows, page: int, title: int, last: int) -> tuple[str | None, int | None]:
    """A number set left of its title on the title's line but drawn after it (it comes next in reading order),
    and its row."""
    following = book.candidates(page, last + 1)[:1]
    if not following:
        return None, None
    rows = book.rows(page)
    row, heading = rows[following[0]], rows[title]
    number, rest = split_number(row.text)
    if number is None or rest or row.x1 > heading.x0 or abs(row.y1 - heading.y1) >= 0.3 * heading.size:
        return None, None
    return number, following[0]


def _match_by_style(entries: Sequence[Entry], matches: list[_Match | None], book: _BookRows) -> None:
    """Entries whose title matches no printed line (the bookmark was named differently) take the first unused
    row on their page in the style their level's headings are printed in, when that style stands out from
    the body text."""
    styles: dict[int, Counter[tuple[float, bool]]] = {}
    for entry, match in zip(entries, matches):
        if match:
            styles.setdefault(entry.level, Counter())[match.style] += 1
    used = {(match.anchor[0], row) for match in matches if match for row in match.rows}
    for index, (entry, match) in enumerate(zip(entries, matches)):
        if match is not None or entry.level not in styles:
            continue
        size, bold = styles[entry.level].most_common(1)[0][0]
        if size < _HEADING_SIZE * book.body and not bold:
            continue
        after = max(((m.anchor[0], max(m.rows)) for m in matches[:index] if m), default=(1, -1))
        before = min((m.anchor for m in matches[index + 1 :] if m), default=(book.page_count + 1, 0))
        for page in (entry.page, entry.page + 1, entry.page - 1):
            if not after[0] <= page <= min(before[0], book.page_count):
                continue
            rows = book.rows(page)
            for i in book.candidates(page, after[1] + 1 if after[0] == page else 0):
                if (page, i) >= before:
                    break
                row = rows[i]
                if (page, i) in used or abs(row.size - size) > 0.3 or row.bold != bold or book.in_margin(page, i):
                    continue
                key = book.key(page, i)
                matches[index] = _Match((page, i), (i,), key.number, key.rest if key.number else key.text, (row.size, row.bold))
                used.add((page, i))
                break
            if matches[index]:
                break


def _numbers(
    entries: Sequence[Entry], parents: Sequence[int | None], titled: Sequence[tuple[str | None, str]], matches: Sequence[_Match | None]
) -> list[str | None]:
    """Each entry's number: the printed one, else the one its outline title carries, where it fits under its
    parent's number (and, for one from the title, is as deep as the entry)."""
    numbers: list[str | None] = []
    for index, (entry, match, (from_title, _)) in enumerate(zip(entries, matches, titled)):
        parent = parents[index]
        parent_number = numbers[parent] if parent is not None else None
        printed = match.number if match else None
        if printed is not None and fits(printed, parent_number):
            numbers.append(printed)
        elif from_title is not None and fits(from_title, parent_number) and (parent_number is not None or depth(from_title) == 1):
            numbers.append(from_title)
        else:
            numbers.append(None)
    return numbers


def _number_by_order(found: list[_Found]) -> None:
    """Numbers by outline order for a book that prints none: chapters 1, 2, ..., their sections 1.1, ...;
    front and back matter (前言, References) and what lies under them stay unnumbered."""
    counters: dict[str | None, int] = {}
    stack: list[_Found] = []
    for item in found:
        while stack and stack[-1].level >= item.level:
            stack.pop()
        parent = stack[-1] if stack else None
        stack.append(item)
        if is_unnumbered_matter(item.title) or (parent is not None and parent.number is None):
            continue
        prefix = parent.number if parent is not None else None
        counters[prefix] = counters.get(prefix, 0) + 1
        item.number = f"{prefix}.{counters[prefix]}" if prefix else str(counters[prefix])


def _level_styles(entries: Sequence[Entry], matches: Sequence[_Match | None], book: _BookRows) -> dict[tuple[float, bool], int]:
    """The style (size, bold) each level's printed headings share, where it is set larger than the body text and
    no other level's: style -> level."""
    styles: dict[int, Counter[tuple[float, bool]]] = {}
    for entry, match in zip(entries, matches):
        if match:
            styles.setdefault(entry.level, Counter())[match.style] += 1
    common = {level: counts.most_common(1)[0][0] for level, counts in styles.items()}
    shared = Counter(common.values())
    return {style: level for level, style in common.items() if shared[style] == 1 and style[0] >= _HEADING_SIZE * book.body}


def _with_missing_headings(found: list[_Found], book: _BookRows, styles: dict[tuple[float, bool], int]) -> list[_Found]:
    """``found`` with the headings the outline lacks, found among the printed lines: a heading-like row whose
    number is a next child or a next sibling of the sections around it, or an unnumbered row set in the style
    of one level's headings (``styles``) that is back matter (the index) or a part of a section the outline
    lists no parts of (a preface's)."""
    numbers = {item.number for item in found if item.number}
    taken = {anchor for item in found for anchor in item.rows}
    anchors = [item.anchor for item in found]
    added: list[tuple[int, _Found]] = []
    for layout in book.layouts:
        listing = layout.number in book.skip_pages  # a contents page, or an index page that reads like one
        for i in book.candidates(layout.number):
            key = book.key(layout.number, i)
            if (layout.number, i) in taken or (layout.number, i) < anchors[0]:
                continue
            position = bisect.bisect_right(anchors, (layout.number, i))
            if key.number is None:
                level = _styled_level(book, layout, i, styles)
                back_matter = title_kind(key.text) in _BACK_MATTER
                if level is not None and (back_matter or (not listing and _childless_parent(found, position, level))):
                    added.append((position, _Found(level, None, key.text.strip(), (layout.number, i), ((layout.number, i),))))
                continue
            if listing or key.number in numbers or depth(key.number) < 2 or not _reads_like_heading(book, layout, i, key):
                continue
            level = _place(found, position, key.number, added)
            if level is None:
                continue
            added.append((position, _Found(level, key.number, key.rest, (layout.number, i), ((layout.number, i),))))
            numbers.add(key.number)
    if added:
        log.info("%d numbered headings found in the text that the outline lacks", len(added))
    merged: list[_Found] = []
    extra = sorted(added, key=lambda pair: pair[1].anchor)
    j = 0
    for position, item in enumerate(found):
        while j < len(extra) and extra[j][0] <= position:
            merged.append(extra[j][1])
            j += 1
        merged.append(item)
    merged.extend(item for _, item in extra[j:])
    return merged


def _styled_level(book: _BookRows, layout: PageLayout, index: int, styles: dict[tuple[float, bool], int]) -> int | None:
    """The level whose headings' style an unnumbered row is set in, when it reads like a title: a short line of
    its own at the text's left edge, not code, not in the margin, no sentence end."""
    row = layout.rows[index]
    level = next((lvl for (size, bold), lvl in styles.items() if abs(row.size - size) <= 0.3 and row.bold == bold), None)
    text = row.text.strip()
    if level is None or row.mono or book.in_margin(layout.number, index) or not book.at_left_edge(row):
        return None
    if len(text) > _TITLE_MAX or not any(c.isalpha() for c in text) or _NOT_TITLE_END.search(text):
        return None
    return level


def _childless_parent(found: Sequence[_Found], position: int, level: int) -> bool:
    """Whether the section open before ``found[position]`` is one level above ``level`` and has no subsections
    in the outline (a preface whose parts the outline leaves out; not a chapter whose outline lists its sections
    but not its unnumbered 小结 and 练习)."""
    if position == 0:
        return False
    parent = found[position - 1]
    later = found[position] if position < len(found) else None
    return parent.level == level - 1 and (later is None or later.level <= parent.level)


def _reads_like_heading(book: _BookRows, layout: PageLayout, index: int, key: _RowKey) -> bool:
    """A numbered row that is a heading, not a line of prose or a list item: a short title, at the text's left
    edge, heading-sized or bold, or set in the body size with extra space above it and no sentence end."""
    row = layout.rows[index]
    rest = key.rest
    if row.mono or not rest or len(rest) > _TITLE_MAX or not any(c.isalpha() for c in rest) or _NOT_TITLE_END.search(rest):
        return False
    if not book.at_left_edge(row):
        return False
    if book.heading_styled(row):
        return True
    above = [layout.rows[j] for j in range(index) if j not in book.noise[layout.number - 1]]
    gap = row.y0 - above[-1].y1 if above else 0.0
    return not _SENTENCE_END.search(rest) and gap > 1.2 * row.size


def _place(found: Sequence[_Found], position: int, number: str, added: Sequence[tuple[int, _Found]]) -> int | None:
    """The level a heading numbered ``number`` takes when it stands before ``found[position]``: one below the
    nearest enclosing section it is a next child of, or beside a preceding sibling it follows; None when it
    fits nowhere."""
    earlier = [item for _, item in added if item.anchor < (found[position].anchor if position < len(found) else (10**9, 0))]
    before = sorted([*found[:position], *earlier], key=lambda item: item.anchor)
    open_sections: list[_Found] = []
    for item in before:
        while open_sections and open_sections[-1].level >= item.level:
            open_sections.pop()
        open_sections.append(item)
    for section in reversed(open_sections):
        if section.number is None:
            continue
        if fits(number, section.number):
            children = [item.number for item in before if item.number and fits(item.number, section.number) and item.anchor > section.anchor]
            return section.level + 1 if follows(number, children[-1] if children else None) else None
        parent = section.number.rpartition(".")[0]
        if parent and fits(number, parent):
            return section.level if follows(number, section.number) else None
    return None


def _build(found: Sequence[_Found], book: _BookRows) -> Outline:
    anchors: list[Anchor] = []
    for item in found:
        anchors.append(max(item.anchor, anchors[-1]) if anchors else item.anchor)
    opens = [book.opens_page(anchor) for anchor in anchors]
    levels = [item.level for item in found]
    listings = sorted(book.skip_pages)
    sections = []
    for index, item in enumerate(found):
        start = anchors[index][0]
        end = _end_page(levels, anchors, opens, index, book.page_count)
        # contents printed after a preface end it (an index, which reads like contents, ends nothing of its own)
        cut = next((page for page in listings if start < page <= end), None) if start not in book.skip_pages else None
        sections.append(Section(item.number, item.title, item.level, start, cut - 1 if cut else end))
    heading_rows = frozenset(anchor for item in found for anchor in item.rows)
    return Outline(tuple(sections), tuple(anchors), heading_rows)


def _end_page(levels: Sequence[int], anchors: Sequence[Anchor], opens: Sequence[bool], index: int, page_count: int) -> int:
    """The page where the next entry at the same or a higher level begins, or the one before it when
    that entry opens its page; the last page of the book for the last entries."""
    level = levels[index]
    start = anchors[index][0]
    for later in range(index + 1, len(levels)):
        if levels[later] <= level:
            next_start = anchors[later][0]
            return max(start, next_start - 1) if opens[later] else next_start
    return page_count


# --- headings detected in the text (PDFs without an outline)


def _detect_headings(book: _BookRows) -> Outline:
    """Numbered headings ("3.2 标题", "第3章", "Chapter 3", "3" over "Linear Neural Networks") set larger or
    bolder than the body text (or, numbered, set apart from it), in increasing order, plus front and back
    matter titles (前言, References)."""
    found: list[_Found] = []
    open_numbers: list[str] = []
    for layout in book.layouts:
        if layout.number in book.skip_pages:
            continue
        rows = layout.rows
        for i in book.candidates(layout.number):
            row = rows[i]
            if row.mono or book.in_margin(layout.number, i):
                continue
            key = book.key(layout.number, i)
            styled = book.heading_styled(row)
            if key.number is None:
                if styled and is_unnumbered_matter(row.text):
                    found.append(_Found(1, None, row.text.strip(), (layout.number, i), ((layout.number, i),)))
                continue
            title, title_rows = key.rest, ((layout.number, i),)
            if not title:  # a number alone ("3", "Chapter 3", "第3章") over its title
                below = i + 1
                if not styled or below >= len(rows) or below in book.noise[layout.number - 1]:
                    continue
                if not book.heading_styled(rows[below]) or split_number(rows[below].text)[0] is not None:
                    continue
                title, title_rows = rows[below].text.strip(), (*title_rows, (layout.number, below))
            elif not (styled or _reads_like_heading(book, layout, i, key)):
                continue
            if len(title) > _TITLE_MAX or _NOT_TITLE_END.search(title) or not any(c.isalpha() for c in title):
                continue
            if not _continues_numbering(key.number, open_numbers):
                continue
            open_numbers = [*(n for n in open_numbers if depth(n) < depth(key.number)), key.number]
            found.append(_Found(depth(key.number), key.number, title, (layout.number, i), title_rows))
    log.info("the PDF has no outline; %d headings detected in its text", len(found))
    return _build(found, book)


def _continues_numbering(number: str, open_numbers: list[str]) -> bool:
    """True when ``number`` continues the numbering: the next chapter, or a next child of an open heading."""
    parent = number.rpartition(".")[0] or None
    if parent is not None and parent not in open_numbers:
        return False
    siblings = [n for n in open_numbers if depth(n) == depth(number) and (n.rpartition(".")[0] or None) == parent]
    return follows(number, siblings[-1] if siblings else None)

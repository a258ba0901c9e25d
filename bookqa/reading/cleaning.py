"""What is not body text: running headers and footers, page numbers, footnotes, contents pages,
front matter, the bibliography.

Running heads, page numbers and footnotes are found by position, size and repetition across pages.
Whole pages are left out with a reason ("contents", "front matter", "bibliography", "index", "blank",
"no text layer"); the text of sections titled like a bibliography or an index never reaches the index.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Mapping, Sequence

from bookqa.reading.layout import PageLayout, Row, body_font_size
from bookqa.reading.outline import Outline
from bookqa.text import has_han

MARGIN_ZONE = 0.12
"""Share of the page height at the top and at the bottom where running heads and page numbers sit."""

CONTENTS = "contents"
FRONT_MATTER = "front matter"
BIBLIOGRAPHY = "bibliography"
INDEX = "index"
BLANK = "blank"
NO_TEXT_LAYER = "no text layer"

_PAGE_NUMBER = re.compile(
    r"^(?:page\s*|第\s*)?[-–—]?\s*(?:\d{1,4}|[ivxlcdm]{1,7})\s*[-–—]?(?:\s*页|\s*/\s*\d{1,4})?$", re.IGNORECASE
)
_DOT_LEADER = re.compile(r"(?:\.\s*){4,}|…{2,}|(?:·\s*){4,}|_{5,}")
_CONTENTS_NUMBER = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[ivxlcdm]+|[A-Z](?:\.\d+)*)$", re.IGNORECASE)
_ENDS_WITH_PAGE_NUMBER = re.compile(r"\S\s+(?:\d{1,4}|[ivxlcdm]{1,7})$", re.IGNORECASE)
_TOKEN = re.compile(r"(?<![\w.])\w+(?![\w.])")
_FOOTNOTE_START = re.compile(r"^(?:\d{1,3}|[*†‡§])\s*\S")
_OCR_FOOTNOTE_START = re.compile(r"^(?:\d{1,3}|[*†‡§])\s+\S")
"""On a page read by OCR the mark stands apart ("7 https://…"): OCR sees no superscript, and its size estimate
cannot tell a small footnote from a code line ("32.0") as the text layer can."""

_TITLES = {
    CONTENTS: {"目录", "目次", "contents", "tableofcontents", "briefcontents"},
    FRONT_MATTER: {"封面", "扉页", "版权", "版权页", "版权信息", "献词", "cover", "titlepage", "copyright", "dedication"},
    BIBLIOGRAPHY: {"参考文献", "参考书目", "文献", "bibliography", "references", "workscited"},
    INDEX: {"索引", "index"},
}
_SYMBOLS = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class BodyRow:
    """A row of body text: its page, its index on the page, the row, whether it is code, its section
    (an index into the outline; None when the book has no outline)."""

    page: int
    index: int
    row: Row
    code: bool
    section: int | None


@dataclass(frozen=True)
class CleanBook:
    """The body text of a book, page by page, and the pages left out.

    ``body[i]``: the body rows of physical page ``i + 1`` in reading order (empty for a left-out page).
    ``left_out``: page number -> reason for every page without body text. ``body_size``: the font size
    of the body text.
    """

    body: tuple[tuple[BodyRow, ...], ...]
    left_out: Mapping[int, str]
    body_size: float


def clean_book(layouts: Sequence[PageLayout], noise: Sequence[frozenset[int]], outline: Outline) -> CleanBook:
    """Keep the body text: drop ``noise`` rows, code rows marked, pages and sections that are not
    body text (contents, front matter, bibliography, index) left out with a reason."""
    excluded = _excluded_sections(outline)
    code = code_rows(layouts)
    body: list[tuple[BodyRow, ...]] = []
    left_out: dict[int, str] = {}
    in_contents = False
    for layout, page_noise, page_code in zip(layouts, noise, code):
        rows = [
            BodyRow(layout.number, i, row, i in page_code, outline.section_at((layout.number, i)) if outline.sections else None)
            for i, row in enumerate(layout.rows)
            if i not in page_noise
        ]
        reason = _page_reason(layout, rows, page_noise, outline, excluded, in_contents)
        in_contents = reason == CONTENTS
        if reason:
            left_out[layout.number] = reason
            rows = []
        kept = tuple(row for row in rows if not (outline.sections and (row.section is None or row.section in excluded)))
        body.append(kept)
    return CleanBook(tuple(body), left_out, body_font_size(layouts))


def title_kind(title: str) -> str | None:
    """``"contents"``, ``"front matter"``, ``"bibliography"`` or ``"index"`` for such a heading, else None."""
    key = _SYMBOLS.sub("", title).lower()
    return next((kind for kind, titles in _TITLES.items() if key in titles), None)


def _page_reason(
    layout: PageLayout,
    rows: list[BodyRow],
    noise: frozenset[int],
    outline: Outline,
    excluded: dict[int, str],
    after_contents: bool,
) -> str | None:
    """Why a page has no body text, or None when it has some."""
    if not layout.rows:
        return NO_TEXT_LAYER if layout.has_images else BLANK
    if not rows:
        return BLANK
    before_outline = bool(outline.sections) and all(row.section is None for row in rows)
    if is_contents_page(layout, noise) and (before_outline or after_contents or title_kind(rows[0].row.text) == CONTENTS):
        return CONTENTS
    if before_outline:
        return FRONT_MATTER
    reasons = {excluded.get(row.section) for row in rows} if outline.sections else {None}
    return reasons.pop() if len(reasons) == 1 else None


# --- rows that are not body text


def find_noise(layouts: Sequence[PageLayout]) -> list[frozenset[int]]:
    """Per page, the rows that are running headers/footers, page numbers or footnotes."""
    repeated = _repeated_margin_keys(layouts)
    body_size = body_font_size(layouts)
    return [frozenset(_margin_rows(layout, repeated) | _footnote_rows(layout, body_size)) for layout in layouts]


def _margin_rows(layout: PageLayout, repeated: set[str]) -> set[int]:
    """Rows peeled off the top and the bottom of the page while they look like running heads."""
    bands = _bands(layout)
    noise: set[int] = set()
    for ordered, in_zone in (
        (bands, lambda band: _band_bottom(layout, band) <= MARGIN_ZONE * layout.height),
        (bands[::-1], lambda band: _band_top(layout, band) >= (1 - MARGIN_ZONE) * layout.height),
    ):
        for band in ordered:
            if not in_zone(band) or not any(_is_running_head(layout.rows[i], layout, repeated) for i in band):
                break
            noise.update(band)
    return noise


def _is_running_head(row: Row, layout: PageLayout, repeated: set[str]) -> bool:
    return bool(_PAGE_NUMBER.match(row.text)) or _margin_key(row, layout) in repeated


def _repeated_margin_keys(layouts: Sequence[PageLayout]) -> set[str]:
    """Texts (each page's own number left out) printed in the margin zones of many pages: a book
    title, a chapter title with the page number."""
    counts: Counter[str] = Counter()
    for layout in layouts:
        keys = {
            _margin_key(row, layout)
            for row in layout.rows
            if row.y1 <= MARGIN_ZONE * layout.height or row.y0 >= (1 - MARGIN_ZONE) * layout.height
        }
        counts.update(keys - {""})
    needed = max(3, len(layouts) // 10)
    return {key for key, count in counts.items() if count >= needed}


def _margin_key(row: Row, layout: PageLayout) -> str:
    """The row's text without the page's own number or label: what a running head repeats."""
    own = {layout.label.lower(), str(layout.number)}
    text = _TOKEN.sub(lambda token: "" if token.group().lower() in own else token.group(), row.text)
    return "".join(text.split()).lower()


def _bands(layout: PageLayout) -> list[list[int]]:
    """Row indices grouped into horizontal bands (rows sharing a baseline), top to bottom."""
    order = sorted(range(len(layout.rows)), key=lambda i: layout.rows[i].y0)
    bands: list[list[int]] = []
    bottom = -1.0
    for i in order:
        row = layout.rows[i]
        if bands and row.y0 < bottom - 0.5 * row.height:
            bands[-1].append(i)
            bottom = max(bottom, row.y1)
        else:
            bands.append([i])
            bottom = row.y1
    return bands


def _band_top(layout: PageLayout, band: list[int]) -> float:
    return min(layout.rows[i].y0 for i in band)


def _band_bottom(layout: PageLayout, band: list[int]) -> float:
    return max(layout.rows[i].y1 for i in band)


def _footnote_rows(layout: PageLayout, body_size: float) -> set[int]:
    """Small-print rows in the lower part of the page that start with a footnote number, and what follows, when
    nothing but small print and the page's foot comes after them (not a small code listing followed by text)."""
    rows = layout.rows
    ordered = sorted(range(len(rows)), key=lambda i: rows[i].y0)
    foot = (1 - MARGIN_ZONE) * layout.height
    for position, i in enumerate(ordered):
        row = rows[i]
        start = _OCR_FOOTNOTE_START if layout.ocr else _FOOTNOTE_START
        if row.y0 > 0.5 * layout.height and row.size <= 0.9 * body_size and start.match(row.text):
            below = ordered[position:]
            if all(rows[j].size <= 0.9 * body_size or rows[j].y0 >= foot for j in below):
                return {j for j in below if rows[j].size <= 0.9 * body_size}
    return set()


# --- code listings


def code_rows(layouts: Sequence[PageLayout]) -> list[frozenset[int]]:
    """Per page, the rows of code listings: set in a monospace font (with the rows next to them that
    begin in it, like a comment in Chinese), or, for books that use no monospace font and for pages read by
    OCR where none was seen, rows that look like Python."""
    monospace = any(row.mono for layout in layouts for row in layout.rows)
    return [
        _monospace_rows(layout.rows)
        if monospace and (not layout.ocr or any(row.mono for row in layout.rows))
        else frozenset(i for i, row in enumerate(layout.rows) if looks_like_code(row.text))
        for layout in layouts
    ]


def _monospace_rows(rows: Sequence[Row]) -> frozenset[int]:
    code = {i for i, row in enumerate(rows) if row.mono}
    for order in (range(len(rows)), range(len(rows) - 1, -1, -1)):
        for i in order:
            if i not in code and rows[i].mono_start and any(_continues_listing(rows[i], rows[j]) for j in {i - 1, i + 1} & code):
                code.add(i)
    return frozenset(code)


def _continues_listing(row: Row, code_row: Row) -> bool:
    """A row that begins in monospace next to a code row, set in its size: a comment or a string
    in another script, not prose that begins with inline code."""
    return abs(row.size - code_row.size) < 0.5


_CODE_START = re.compile(
    r"^(?:def |class |import |from \S+ import |return\b|for .+ in .+:$|if .+:$|elif |else:|while .+:$|with .+:$|"
    r"print\(|@\w+|#\s|%\w+)"
)
_CODE_STATEMENT = re.compile(r"^[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*(?:[-+*/]?=|\()[^=]")
_SENTENCE_END = re.compile(r"[.!?]$")


def looks_like_code(text: str) -> bool:
    """A guess for books without a monospace font: Python statements, not sentences."""
    if has_han(text) or _SENTENCE_END.search(text):
        return False
    return bool(_CODE_START.match(text) or _CODE_STATEMENT.match(text))


# --- pages and sections left out


def is_contents_page(layout: PageLayout, noise: frozenset[int] = frozenset()) -> bool:
    """A table-of-contents page: most rows are dot leaders, section or page numbers, or end in one."""
    rows = [row for i, row in enumerate(layout.rows) if i not in noise and not row.mono]
    if not rows:
        return False
    entries = sum(
        1
        for row in rows
        if _DOT_LEADER.search(row.text) or _CONTENTS_NUMBER.match(row.text) or _ENDS_WITH_PAGE_NUMBER.search(row.text)
    )
    titled = title_kind(rows[0].text) == CONTENTS
    return (len(rows) >= 6 and entries >= 0.5 * len(rows)) or (titled and entries >= 0.3 * len(rows))


def _excluded_sections(outline: Outline) -> dict[int, str]:
    """Sections titled like contents, front matter, bibliography or index (and their subsections),
    each with the reason its text stays out."""
    excluded: dict[int, str] = {}
    open_level: int | None = None
    for index, section in enumerate(outline.sections):
        if open_level is not None and section.level > open_level:
            excluded[index] = excluded[index - 1]
            continue
        kind = title_kind(section.title)
        open_level = section.level if kind else None
        if kind:
            excluded[index] = kind
    return excluded

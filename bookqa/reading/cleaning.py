"""What is not body text: running headers and footers, page numbers, footnotes, contents pages,
front matter, the bibliography and reference lists, the back-of-book index; and, within the body, what is
code and what is a display formula.

Running heads, page numbers and footnotes are found by position, size and repetition across pages: a line
printed on most pages is furniture wherever it sits, and a margin line that repeats a section's title is a
running head. A footnote that is prose (an aside, a caveat: letters enough besides its links) is body text after
all, kept apart from the flow of the page (``BodyRow.note``) so that it splits no sentence running across the
page; a link or a citation is left out. Whole pages are left out with a reason ("contents", "front matter",
"bibliography", "index", "blank", "no text layer"); the text of sections titled like a bibliography or an index never reaches the
index, nor does a reference list printed under its own heading at a chapter's end (``参考文献``,
``References``) up to the next section; pages only partly left out are reported too.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

from bookqa.reading.layout import MARGIN_ZONE, PageLayout, Row, body_font_size, font_size_of, left_edges
from bookqa.reading.outline import Outline
from bookqa.reading.numbering import split_number
from bookqa.reading.titles import BIBLIOGRAPHY, CONTENTS, FRONT_MATTER, INDEX, title_key, title_kind
from bookqa.text import HAN, has_han

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
_PAGE_REF = r"(?:\d{1,4}(?:\s*[-–]\s*\d{1,4})?|[ivxlc]{1,6})"
_INDEX_ENTRY = re.compile(rf"^\S.{{0,80}}?(?:[,，]\s*|\s+){_PAGE_REF}(?:\s*[,，]\s*{_PAGE_REF})*[,，]?$", re.IGNORECASE)
_PAGE_LIST = re.compile(rf"^{_PAGE_REF}(?:\s*[,，]\s*{_PAGE_REF})*[,，]?$", re.IGNORECASE)
_MOST_PAGES = 0.5
"""A line printed on at least this share of the pages with text is furniture wherever it sits."""
_INDEX_SHARE = 0.5
"""A page in the back half of a book where this share of lines are entries with page numbers is an index page
(after an index page, or under an index title, 0.3 will do)."""
_FOOTNOTE_MARK = re.compile(r"^(?:\d{1,3}|[*†‡§])\s*")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_NOTE_LETTER = re.compile(rf"[A-Za-z{HAN}]")
PROSE_NOTE_LETTERS = 20
"""A footnote with at least this many letters or Han characters besides its links is prose; a shorter one is a
link ("96 https://discuss.d2l.ai/t/1755") or a citation."""
_OCR_FOOTNOTE_START = re.compile(r"^(?:\d{1,3}|[*†‡§])\s+\S")
"""On a page read by OCR the mark stands apart ("7 https://…"): OCR sees no superscript, and its size estimate
cannot tell a small footnote from a code line ("32.0") as the text layer can."""


@dataclass(frozen=True)
class BodyRow:
    """A row of body text: its page, its index on the page, the row, whether it is code, its section
    (an index into the outline; None when the book has no outline), whether it is part of a display formula,
    whether it is part of a footnote (prose kept apart from the page's flow; its mark removed)."""

    page: int
    index: int
    row: Row
    code: bool
    section: int | None
    formula: bool = False
    note: bool = False


@dataclass(frozen=True)
class CleanBook:
    """The body text of a book, page by page, and the pages left out.

    ``body[i]``: the body rows of physical page ``i + 1`` in reading order (empty for a left-out page).
    ``left_out``: page number -> reason for every page without body text. ``left_out_parts``: page number ->
    reason for pages where some body text was left out (a reference list that ends a chapter mid-page).
    ``body_size``: the font size of the body text.
    """

    body: tuple[tuple[BodyRow, ...], ...]
    left_out: Mapping[int, str]
    body_size: float
    left_out_parts: Mapping[int, str] = field(default_factory=dict)


def clean_book(layouts: Sequence[PageLayout], noise: Sequence[frozenset[int]], outline: Outline) -> CleanBook:
    """Keep the body text: drop ``noise`` rows, code and formula rows marked, pages and sections that are not
    body text (contents, front matter, bibliography and reference lists, index) left out with a reason."""
    excluded = _excluded_sections(outline)
    if uses_monospace(layouts):
        code = code_rows(layouts)
        formulas = formula_rows(layouts, noise, code)
    else:  # no code font: display formulas first, or their "L(w, b) =" reads like a Python statement
        formulas = formula_rows(layouts, noise, [frozenset()] * len(layouts))
        code = code_rows(layouts, formulas)
    body_size = font_size_of(
        row for layout, page_noise in zip(layouts, noise) for i, row in enumerate(layout.rows) if i not in page_noise
    )
    print_size = body_font_size(layouts)
    starts = set(outline.anchors)
    body: list[tuple[BodyRow, ...]] = []
    left_out: dict[int, str] = {}
    parts: dict[int, str] = {}
    in_contents = in_index = in_references = False
    for layout, page_noise, page_code, page_formulas in zip(layouts, noise, code, formulas):
        notes = _prose_footnotes(layout, print_size, page_code) & page_noise
        rows = [
            BodyRow(
                layout.number, i, _unmarked(layout, row) if i in notes else row, i in page_code,
                outline.section_at((layout.number, i)) if outline.sections else None, i in page_formulas, i in notes,
            )
            for i, row in enumerate(layout.rows)
            if i not in page_noise or i in notes
        ]
        reason = _page_reason(layout, rows, page_noise, outline, excluded, in_contents)
        if reason is None and 2 * layout.number > len(layouts) and _is_index_page(rows, in_index):
            reason = INDEX
        in_contents, in_index = reason == CONTENTS, reason == INDEX
        if reason:
            left_out[layout.number] = reason
            rows = []
        kept = []
        dropped: set[str] = set()
        for body_row in rows:
            if (body_row.page, body_row.index) in starts:
                in_references = False
            if not in_references and not body_row.code and _opens_references(body_row.row, body_size):
                in_references = True
            why = BIBLIOGRAPHY if in_references else excluded.get(body_row.section) if outline.sections else None
            if outline.sections and body_row.section is None:
                why = FRONT_MATTER
            if why:
                dropped.add(why)
            else:
                kept.append(body_row)
        if rows and not kept:
            left_out[layout.number] = dropped.pop() if len(dropped) == 1 else BIBLIOGRAPHY
        elif dropped:
            parts[layout.number] = ", ".join(sorted(dropped))
        body.append(tuple(kept))
    return CleanBook(tuple(body), left_out, body_size, parts)


def _prose_footnotes(layout: PageLayout, body_size: float, code: frozenset[int]) -> frozenset[int]:
    """The rows of the page's footnotes (:func:`_footnote_rows`) that are prose: each footnote runs from a row that
    starts with a mark to the next such row, and is prose with ``PROSE_NOTE_LETTERS`` letters besides its links and
    none of its rows in ``code`` (the page's code rows: the end of a listing in small print is no footnote)."""
    rows = layout.rows
    start = _footnote_start(layout)
    foot = (1 - MARGIN_ZONE) * layout.height  # the page's foot (a page number) is no part of a footnote
    notes: list[list[int]] = []
    for i in sorted((i for i in _footnote_rows(layout, body_size) if rows[i].y0 < foot), key=lambda i: rows[i].y0):
        if not notes or start.match(rows[i].text):
            notes.append([])
        notes[-1].append(i)
    letters = [len(_NOTE_LETTER.findall(_URL.sub("", " ".join(rows[i].text for i in note)))) for note in notes]
    return frozenset(
        i for note, count in zip(notes, letters) if count >= PROSE_NOTE_LETTERS and not code.intersection(note) for i in note
    )


def _unmarked(layout: PageLayout, row: Row) -> Row:
    """``row`` of a footnote without the footnote's mark, where it starts with one ("1popen is deprecated" -> "popen …")."""
    return replace(row, text=_FOOTNOTE_MARK.sub("", row.text, count=1)) if _footnote_start(layout).match(row.text) else row


def _footnote_start(layout: PageLayout) -> re.Pattern[str]:
    """How a footnote's first line begins on ``layout``: its mark, glued to its text or (read by OCR) apart."""
    return _OCR_FOOTNOTE_START if layout.ocr else _FOOTNOTE_START


def _opens_references(row: Row, body_size: float) -> bool:
    """A heading that opens a reference list ("参考文献", "References"): its own line, set larger or bold."""
    return title_kind(row.text) == BIBLIOGRAPHY and (row.bold or row.size >= 1.05 * body_size)


def _is_index_page(rows: Sequence[BodyRow], after_index: bool) -> bool:
    """A page of a back-of-book index: most lines are terms with page numbers ("Ackermann function, 61, 113")
    or page numbers carried over ("185, 193")."""
    if len(rows) < 6:
        return False
    entries = sum(bool(_INDEX_ENTRY.match(r.row.text) or _PAGE_LIST.match(r.row.text)) for r in rows)
    titled = title_kind(rows[0].row.text) == INDEX
    return entries >= _INDEX_SHARE * len(rows) or ((titled or after_index) and entries >= 0.3 * len(rows))


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
    """Per page, the rows that are running headers/footers, page numbers, footnotes or lines printed on most
    pages (a promotional line, a URL), wherever on the page they sit."""
    repeated = _repeated_margin_keys(layouts)
    everywhere = _repeated_keys(layouts)
    body_size = body_font_size(layouts)
    return [
        frozenset(
            _margin_rows(layout, repeated)
            | _footnote_rows(layout, body_size)
            | {i for i, row in enumerate(layout.rows) if (_margin_key(row, layout), round(row.size)) in everywhere}
        )
        for layout in layouts
    ]


def running_title_rows(layouts: Sequence[PageLayout], outline: Outline, noise: Sequence[frozenset[int]]) -> list[frozenset[int]]:
    """Per page, the rows in the top or bottom margin, no larger than the body text, that repeat a section's
    title ("7.6. Algorithms", "Chapter 0. Preface"): running heads, even on a page where nothing else marks
    them (no page number beside them). The printed headings themselves are never among them."""
    titles = {title_key(section.title) for section in outline.sections} - {""}
    body_size = body_font_size(layouts)
    found = []
    for layout, page_noise in zip(layouts, noise):
        rows = set()
        for i, row in enumerate(layout.rows):
            in_zone = row.y1 <= MARGIN_ZONE * layout.height or row.y0 >= (1 - MARGIN_ZONE) * layout.height
            if i in page_noise or not in_zone or row.size > 1.05 * body_size or (layout.number, i) in outline.heading_rows:
                continue
            text = _TOKEN.sub(lambda token: "" if token.group().lower() in _own_labels(layout) else token.group(), row.text)
            if title_key(text) in titles or title_key(split_number(text)[1]) in titles:
                rows.add(i)
        found.append(frozenset(rows))
    return found


def _repeated_keys(layouts: Sequence[PageLayout]) -> set[tuple[str, int]]:
    """Texts (each page's own number left out) printed in one size on most of the pages that have text (the
    book's title on its title page, set larger than where it repeats, is not one of them)."""
    counts: Counter[tuple[str, int]] = Counter()
    pages = 0
    for layout in layouts:
        if layout.rows:
            pages += 1
            counts.update({(_margin_key(row, layout), round(row.size)) for row in layout.rows} - {("", 0)})
    needed = max(3, _MOST_PAGES * pages)
    return {key for key, count in counts.items() if count >= needed}


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
    own = _own_labels(layout)
    text = _TOKEN.sub(lambda token: "" if token.group().lower() in own else token.group(), row.text)
    return "".join(text.split()).lower()


def _own_labels(layout: PageLayout) -> set[str]:
    return {layout.label.lower(), str(layout.number)}


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
    nothing but small print and the page's foot comes after them (not a small code listing followed by text, nor
    one that ends the page: a line of code in a monospace font, "1, 4)", starts no footnote)."""
    rows = layout.rows
    ordered = sorted(range(len(rows)), key=lambda i: rows[i].y0)
    foot = (1 - MARGIN_ZONE) * layout.height
    start = _footnote_start(layout)
    for position, i in enumerate(ordered):
        row = rows[i]
        if row.y0 > 0.5 * layout.height and row.size <= 0.9 * body_size and not row.mono and start.match(row.text):
            below = ordered[position:]
            if all(rows[j].size <= 0.9 * body_size or rows[j].y0 >= foot for j in below):
                return {j for j in below if rows[j].size <= 0.9 * body_size}
    return set()


# --- code listings


def code_rows(layouts: Sequence[PageLayout], formulas: Sequence[frozenset[int]] | None = None) -> list[frozenset[int]]:
    """Per page, the rows of code listings: set in a monospace font (with the rows next to them that
    begin in it, like a comment in Chinese), or, for books that use no monospace font and for pages read by
    OCR where none was seen, rows that look like Python (``formulas``, per page, rows of display formulas, which a
    guess never takes)."""
    monospace = uses_monospace(layouts)
    formulas = formulas or [frozenset()] * len(layouts)
    return [
        _monospace_rows(layout.rows)
        if monospace and (not layout.ocr or any(row.mono for row in layout.rows))
        else frozenset(i for i, row in enumerate(layout.rows) if i not in page_formulas and looks_like_code(row.text))
        for layout, page_formulas in zip(layouts, formulas)
    ]


def uses_monospace(layouts: Sequence[PageLayout]) -> bool:
    """Whether the book sets anything in a monospace font (then its code is what is set in one)."""
    return any(row.mono for layout in layouts for row in layout.rows)


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


# --- display formulas


_MATH_SYMBOL = re.compile(r"[=+×÷·∑∏∫√∂∇∈∉⊂⊆∪∩≤≥≈≠≡←→↦⇒⊤⊥∞^|<>±∓∗∼∝−]|[\u0370-\u03ff]")
_EQUATION_NUMBER = re.compile(r"^\(\d{1,3}(?:\.\d{1,3}){0,3}[a-z]?\)$")
_WORD = re.compile(r"[^\W\d_]{3,}")
_FRAGMENT = 24
"""A piece of a formula set on a line of its own (a numerator, a sum's limits, "L(w, b).") has no word and at
most this many characters."""


def formula_rows(layouts: Sequence[PageLayout], noise: Sequence[frozenset[int]], code: Sequence[frozenset[int]]) -> list[frozenset[int]]:
    """Per page, the rows of display formulas: runs of rows set apart from the text's left edge that are
    symbols rather than words (a formula split into one short line per symbol group, its equation number),
    with at least one row that holds a mathematical symbol or is an equation number."""
    body_size = body_font_size(layouts)
    lefts = left_edges(layouts, body_size)
    found = []
    for layout, page_noise, page_code in zip(layouts, noise, code):
        rows = [(i, row) for i, row in enumerate(layout.rows) if i not in page_noise and i not in page_code]
        marked: set[int] = set()
        run: list[int] = []
        strong = False
        for i, row in rows + [(-1, None)]:
            strength = 0 if row is None else _math_strength(row.text)
            displayed = row is not None and all(row.x0 > edge + 2 * row.size for edge in lefts if edge <= row.x0 + 2 * row.size)
            if strength and (displayed or _EQUATION_NUMBER.match(row.text.strip())):
                run.append(i)
                strong = strong or strength == 2
                continue
            if run and strong:
                marked.update(run)
            run, strong = [], False
        found.append(frozenset(marked))
    return found


def _math_strength(text: str) -> int:
    """2 for a line of mathematics (a symbol, an equation number, few words), 1 for a short fragment without
    words that may belong to a formula, 0 for words."""
    text = text.strip()
    if has_han(text):
        return 0
    if _EQUATION_NUMBER.match(text):
        return 2
    chars = len("".join(text.split()))
    in_words = sum(len(word) for word in _WORD.findall(text))
    if 2 * in_words > chars:
        return 0
    if _MATH_SYMBOL.search(text):
        return 2
    return 1 if not in_words and chars <= _FRAGMENT else 0


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

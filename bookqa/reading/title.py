"""The book's own name: its metadata title when that is a real title, else the largest text on its title page.

PDF metadata often holds no title, or one a program left there: a file name ("thinkpython2", "手册.doc"), a
producer's prefix ("Microsoft Word - 手册.doc"), a placeholder ("Untitled"). Those are not titles.
"""

from __future__ import annotations

import re
from typing import Sequence

from bookqa.reading.layout import PageLayout
from bookqa.reading.titles import is_unnumbered_matter, title_key
from bookqa.text import normalize_chars

TITLE_PAGES = 5
"""The title is looked for on this many first pages (only those before the first section)."""

_PRODUCER_PREFIX = re.compile(r"^(?:microsoft\s+\w+|wps\s*\w*|untitled)\s*[-–—:]\s*", re.IGNORECASE)
_FILE_NAME = re.compile(r"\.(?:docx?|pdf|tex|dvi|ps|indd|rtf|odt|pages|txt|html?|md|pptx?|xlsx?)$|[\\/]", re.IGNORECASE)
_PLACEHOLDERS = {"untitled", "unknown", "document", "title", "notitle", "无标题", "未命名", "文档", "新建文档"}
_SLUG = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*$")
_MAX_TITLE = 120


def book_title(metadata_title: str, layouts: Sequence[PageLayout], file_name: str, first_section_page: int | None = None) -> str:
    """The book's name: ``metadata_title`` when it is a real title, else the largest text on the first pages
    before the first section (rows of one size that follow each other make one title), else ``file_name``'s stem
    (a book whose first section starts on its first page has no title page: its largest text is a heading).

    ``file_name``: the PDF's name (an upload's own name), which a real title is not.
    """
    title = " ".join(normalize_chars(metadata_title or "").split())
    if is_real_title(title, file_name):
        return title
    before = TITLE_PAGES if first_section_page is None else min(TITLE_PAGES, first_section_page - 1)
    printed = title_page_text(layouts[:before])
    return printed or _stem(file_name)


def is_real_title(title: str, file_name: str = "") -> bool:
    """Whether a metadata title names the book, rather than its file or nothing."""
    if not title or _PRODUCER_PREFIX.match(title) or _FILE_NAME.search(title):
        return False
    key = title_key(title)
    if not key or key in _PLACEHOLDERS or key == title_key(_stem(file_name)):
        return False
    return not (_SLUG.match(title) and " " not in title and any(c.isdigit() or c in "-_." for c in title))


def title_page_text(layouts: Sequence[PageLayout]) -> str:
    """The largest text on ``layouts`` (the earliest where several pages share the size): its row and the rows
    of the same size right below it; front-matter headings ("Contents", "前言") and rows without letters left
    out."""
    best: tuple[float, int, int] | None = None
    for page_index, layout in enumerate(layouts):
        for i, row in enumerate(layout.rows):
            if not _names_something(row.text):
                continue
            if best is None or row.size > best[0] + 0.5:
                best = (row.size, page_index, i)
    if best is None:
        return ""
    size, page_index, first = best
    rows = layouts[page_index].rows
    lines = [rows[first].text]
    for row, before in zip(rows[first + 1 :], rows[first:]):
        if abs(row.size - size) > 0.5 or row.y0 - before.y1 > 1.5 * size or not _names_something(row.text):
            break
        lines.append(row.text)
    return " ".join(" ".join(lines).split())[:_MAX_TITLE]


def _names_something(text: str) -> bool:
    return any(c.isalpha() for c in text) and not is_unnumbered_matter(text)


def _stem(file_name: str) -> str:
    name = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    return name[: -len(".pdf")] if name.lower().endswith(".pdf") else name

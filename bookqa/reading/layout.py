"""The printed lines of each page, with position and font: what cleaning and chunking reason about.

A ``Row`` is one printed line: PyMuPDF lines that sit side by side on one baseline (a word and its
superscript, a formula and its number) are merged, and footnote marks glued to a word are dropped; a line
that is nothing but one such marked word is the label of a link printed as a footnote ("Discussions96") and
is dropped whole.
Row order is PyMuPDF's reading order, which suits single-column books. Pages without a text layer get their rows
from OCR (:mod:`bookqa.reading.ocr_layout`): the same records, with a recognition confidence and sizes estimated
from the printed lines' height.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import pymupdf

from bookqa.text import is_cjk, normalize_chars

Progress = Callable[[int, int], None]

_TEXT_FLAGS = pymupdf.TEXTFLAGS_DICT & ~pymupdf.TEXT_PRESERVE_IMAGES
_MONOSPACE_FONT = re.compile(r"mono|cour|consol|inconsolata|menlo|typewriter|code|^cmtt|^lmtt|fixed", re.IGNORECASE)
_LINK_LABEL = re.compile(r"[A-Za-z]+")
_MONOSPACED = 8
_BOLD = 16


@dataclass(frozen=True)
class Row:
    """One printed line of a page.

    ``text``: characters normalised (``normalize_chars``), spacing inside the line kept, no newline.
    ``x0, y0, x1, y1``: its box in points, y growing downwards. ``size``: the font size of most of its
    characters. ``bold``/``mono``: most of its characters are bold / in a monospace font.
    ``mono_start``: its first characters are in a monospace font (a code comment in Chinese).
    ``confidence``: for a line read by OCR, how sure the recogniser is of its text (0-1); None for the text layer.
    """

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    size: float
    bold: bool = False
    mono: bool = False
    mono_start: bool = False
    confidence: float | None = None

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass(frozen=True)
class PageLayout:
    """The rows of one page. ``number`` is 1-based and physical; ``label`` the printed page label.
    ``ocr``: the rows were recognised from the page's image (it has no usable text layer)."""

    number: int
    label: str
    width: float
    height: float
    rows: tuple[Row, ...]
    has_images: bool = False
    ocr: bool = False


def read_layouts(doc: pymupdf.Document, progress: Progress | None = None) -> list[PageLayout]:
    """Read every page of ``doc``; ``progress(done, total)`` is called after each page."""
    total = doc.page_count
    layouts = []
    for index in range(total):
        page = doc.load_page(index)
        layouts.append(read_layout(page))
        if progress is not None:
            progress(index + 1, total)
    return layouts


def read_layout(page: pymupdf.Page) -> PageLayout:
    """The rows of one PyMuPDF page."""
    lines = [line for block in page.get_text("dict", flags=_TEXT_FLAGS)["blocks"] for line in block.get("lines", ())]
    rows = tuple(row for row in (_make_row(group) for group in _group_rows(lines)) if row.text)
    rect = page.rect
    return PageLayout(
        number=page.number + 1,
        label=page.get_label() or str(page.number + 1),
        width=rect.width,
        height=rect.height,
        rows=rows,
        has_images=bool(page.get_images()),
    )


def body_font_size(layouts: Iterable[PageLayout]) -> float:
    """The font size most characters of the book are set in."""
    sizes: Counter[float] = Counter()
    for layout in layouts:
        for row in layout.rows:
            sizes[round(row.size, 1)] += len(row.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _group_rows(lines: Sequence[dict]) -> list[list[dict]]:
    """Group PyMuPDF lines that continue each other on one baseline, keeping reading order."""
    groups: list[list[dict]] = []
    for line in lines:
        if not line["spans"]:
            continue
        if groups and _continues(groups[-1][-1], line):
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def _continues(previous: dict, line: dict) -> bool:
    _, py0, px1, py1 = previous["bbox"]
    x0, y0, _, y1 = line["bbox"]
    overlap = min(py1, y1) - max(py0, y0)
    size = max(span["size"] for span in previous["spans"])
    return overlap >= 0.5 * min(py1 - py0, y1 - y0) and 0 <= x0 - px1 + 1 < 2 * size


def _make_row(lines: list[dict]) -> Row:
    spans = lines[0]["spans"] if len(lines) == 1 else [span for line in lines for span in line["spans"]]
    main_size = max(span["size"] for span in spans)
    pieces: list[str] = []
    sizes: dict[float, float] = {}
    bold = mono = total = 0.0
    mono_start = marked = False
    previous_end = None
    for span in spans:
        piece = span["text"]
        x0, _, x1, _ = span["bbox"]
        size = span["size"]
        if piece.isdigit() and pieces and _is_footnote_mark(size, main_size, pieces[-1]):
            previous_end = x1
            marked = True
            continue
        if piece.isspace() and pieces and is_cjk(pieces[-1][-1:]):
            continue  # a space after Chinese text (often left behind by a footnote mark)
        if previous_end is not None and x0 - previous_end > 0.25 * size and _needs_space(pieces[-1], piece):
            pieces.append(" ")
        pieces.append(piece)
        previous_end = x1
        if piece.isspace():
            continue
        weight = x1 - x0
        total += weight
        sizes[size] = sizes.get(size, 0.0) + weight
        is_bold, is_mono = _font_style(span["font"], span["flags"])
        if is_bold:
            bold += weight
        if is_mono:
            mono += weight
        if total == weight:
            mono_start = is_mono
    x0s, y0s, x1s, y1s = zip(*(line["bbox"] for line in lines))
    text = normalize_chars("".join(pieces)).replace("\n", " ").strip()
    if marked and _LINK_LABEL.fullmatch(text):
        text = ""
    return Row(
        text=text,
        x0=min(x0s),
        y0=min(y0s),
        x1=max(x1s),
        y1=max(y1s),
        size=round(max(sizes, key=sizes.__getitem__) if sizes else main_size, 1),
        bold=2 * bold > total,
        mono=2 * mono > total,
        mono_start=mono_start,
    )


def _needs_space(before: str, after: str) -> bool:
    """Whether a gap between two spans is a word space (never inside Chinese text)."""
    return bool(before) and bool(after) and not before[-1].isspace() and not after[0].isspace() and not (
        is_cjk(before[-1]) or is_cjk(after[0])
    )


@functools.lru_cache(maxsize=512)
def _font_style(font: str, flags: int) -> tuple[bool, bool]:
    """(bold, monospace) for a span's font name and PyMuPDF flags."""
    bold = bool(flags & _BOLD) or "bold" in font.lower()
    mono = bool(flags & _MONOSPACED) or bool(_MONOSPACE_FONT.search(font))
    return bold, mono


def _is_footnote_mark(size: float, main_size: float, before: str) -> bool:
    """A small number glued to a word ("Discussions96"), not an exponent ("x2", "L2" after Chinese)."""
    if size > 0.85 * main_size or len(before) < 2:
        return False
    last, second = before[-1], before[-2]
    return last.isalpha() and second.isalpha() and last.isascii() == second.isascii()

"""A small typesetter for PDFs that BookQA writes itself: the sample book, and the tests' fixture books.

Text is set with PyMuPDF's built-in fonts: Chinese in ``china-s``, Latin in Helvetica (bold ``hebo``), code in
Courier. A line of mixed text is printed run by run, each run in the font for its script, as real books are; a
writer can also print everything in one font. Lines wrap between Chinese characters and at spaces, never before
closing punctuation. :func:`scanned_copy` makes a book's pages into what a scanner gives (image-only pages), for
the OCR tests and benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pymupdf

from bookqa.text import is_cjk

CJK, LATIN, BOLD, MONO = "china-s", "helv", "hebo", "cour"
MIXED = None
"""As a font: each run of the text in the font of its script (Chinese or Latin)."""

_NO_LINE_START = set("，。、；：！？）」』》")


def runs(text: str, font: str | None = MIXED) -> list[tuple[str, str]]:
    """``text`` cut into ``(font, run)`` pieces: wide characters in ``china-s``, the rest in Helvetica; one piece in
    ``font`` when a font is given."""
    if font is not MIXED:
        return [(font, text)] if text else []
    pieces: list[tuple[str, str]] = []
    for char in text:
        chosen = CJK if is_cjk(char) else LATIN
        if pieces and pieces[-1][0] == chosen:
            pieces[-1] = (chosen, pieces[-1][1] + char)
        else:
            pieces.append((chosen, char))
    return pieces


def text_width(text: str, size: float, font: str | None = MIXED) -> float:
    """How wide ``text`` prints at ``size`` points."""
    return sum(pymupdf.get_text_length(run, fontname=name, fontsize=size) for name, run in runs(text, font))


def print_text(
    page: pymupdf.Page, x: float, y: float, text: str, size: float, font: str | None = MIXED, color: tuple = (0, 0, 0)
) -> float:
    """Print ``text`` with its baseline at ``(x, y)``; returns the x where it ends."""
    for name, run in runs(text, font):
        page.insert_text((x, y), run, fontsize=size, fontname=name, color=color)
        x += pymupdf.get_text_length(run, fontname=name, fontsize=size)
    return x


def wrap(text: str, size: float, width: float, font: str | None = MIXED) -> list[str]:
    """Greedy line breaking of ``text`` into lines at most ``width`` wide: between any two Chinese characters, at
    spaces in Latin text, never before closing Chinese punctuation."""
    tokens: list[str] = []
    for char in text:  # each wide character alone, Latin words with their following space
        if tokens and not is_cjk(char) and not is_cjk(tokens[-1][-1]) and not tokens[-1].endswith(" "):
            tokens[-1] += char
        else:
            tokens.append(char)
    lines, current = [], ""
    for token in tokens:
        if current and text_width(current + token, size, font) > width and token not in _NO_LINE_START:
            lines.append(current.rstrip())
            current = token.lstrip()
        else:
            current += token
    return lines + [current.rstrip()] if current.strip() else lines


@dataclass
class PageWriter:
    """Writes lines down one page from ``y``, between ``left`` and ``right``, in ``font`` (None: mixed scripts),
    ``leading`` points apart; ``y`` follows what was written."""

    page: pymupdf.Page
    y: float
    left: float
    right: float
    font: str | None = MIXED
    body_size: float = 10
    leading: float = 16

    def line(self, text: str, size: float | None = None, font: str | None = None, x: float | None = None) -> None:
        """One line at the cursor, which then moves down by the leading (``font``: the writer's when None)."""
        print_text(self.page, self.left if x is None else x, self.y, text, size or self.body_size, font or self.font)
        self.y += self.leading

    def heading(self, text: str, size: float = 14, font: str | None = None) -> None:
        """A heading line set at ``size``, with space above and below (``font``: the writer's when None)."""
        self.y += size * 0.6
        print_text(self.page, self.left, self.y, text, size, font or self.font)
        self.y += size + 8

    def paragraph(self, text: str, size: float | None = None) -> None:
        """``text`` wrapped to the line width, then a small gap."""
        size = size or self.body_size
        for line in wrap(text, size, self.right - self.left, self.font):
            self.line(line, size=size)
        self.y += 6

    def lines(self, lines: Sequence[str], size: float | None = None) -> None:
        """Lines broken by the caller (to control where a word is hyphenated), then a small gap."""
        for line in lines:
            self.line(line, size=size)
        self.y += 6

    def code(self, lines: Sequence[str], size: float = 9, step: float = 13, spaces: bool = True) -> None:
        """A listing in Courier. ``spaces``: indentation printed as spaces; otherwise as an x offset only, with no
        leading spaces in the text layer (as some typesetters do)."""
        char = pymupdf.get_text_length("x", fontname=MONO, fontsize=size)
        for line in lines:
            if line:
                indent = len(line) - len(line.lstrip(" "))
                text = line if spaces else line.lstrip(" ")
                x = self.left if spaces else self.left + indent * char
                self.page.insert_text((x, self.y), text, fontname=MONO, fontsize=size)
            self.y += step
        self.y += 8


def scanned_copy(
    source: pymupdf.Document,
    target: pymupdf.Document,
    dpi: int = 150,
    pages: Sequence[int] | None = None,
    rotate: float = 0.0,
    quality: int = 75,
) -> None:
    """Append to ``target`` what a scanner makes of pages of ``source``: each page (0-based ``pages``, default all)
    rendered in grey at ``dpi``, turned by ``rotate`` degrees, JPEG-compressed at ``quality`` and placed as the only
    content of a page of the same size (no text layer)."""
    for index in range(source.page_count) if pages is None else pages:
        page = source.load_page(index)
        pixmap = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
        if rotate:
            pixmap = _turned(pixmap, rotate)
        scan = target.new_page(width=page.rect.width, height=page.rect.height)
        scan.insert_image(scan.rect, stream=pixmap.tobytes("jpeg", jpg_quality=quality))


def _turned(pixmap: pymupdf.Pixmap, degrees: float) -> pymupdf.Pixmap:
    """``pixmap`` turned about its centre by ``degrees`` (counter-clockwise), the corners filled white."""
    import cv2
    import numpy as np

    image = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.stride)[:, : pixmap.width]
    matrix = cv2.getRotationMatrix2D((pixmap.width / 2, pixmap.height / 2), degrees, 1.0)
    turned = cv2.warpAffine(image, matrix, (pixmap.width, pixmap.height), flags=cv2.INTER_LINEAR, borderValue=255)
    return pymupdf.Pixmap(pymupdf.csGRAY, pixmap.width, pixmap.height, np.ascontiguousarray(turned).tobytes(), False)

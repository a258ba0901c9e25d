"""A page of the book as an image, with the passages a reader follows highlighted where they are printed."""

from __future__ import annotations

from os import PathLike
from typing import Sequence

import pymupdf

from bookqa.errors import BookQAError
from bookqa.reading.pdf import open_pdf
from bookqa.text import normalize_chars, sentence_spans


def render_page_png(
    pdf_path: str | PathLike[str],
    number: int,
    zoom: float = 1.5,
    highlight: Sequence[str] = (),
) -> bytes:
    """The physical page ``number`` (1-based) of the PDF as PNG, ``zoom`` times its size in points.

    Each passage in ``highlight`` is marked where its sentences are found on the page; matching ignores
    whitespace, hyphens, case and normalisation differences. A passage not found is skipped silently.
    """
    with open_pdf(pdf_path) as doc:
        if not 1 <= number <= doc.page_count:
            raise BookQAError(f"Page {number} does not exist in {pdf_path}.", f"Choose a page from 1 to {doc.page_count}.")
        page = doc.load_page(number - 1)
        rects = _passage_rects(page, highlight) if highlight else []
        if rects:
            page.add_highlight_annot(rects)
        return page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom)).tobytes("png")


_MIN_MATCH = 4


def _passage_rects(page: pymupdf.Page, passages: Sequence[str]) -> list[pymupdf.Rect]:
    """Line-wise rectangles covering the sentences of ``passages`` that occur on ``page``."""
    keys, boxes = _page_characters(page)
    haystack = "".join(keys)
    rects: list[pymupdf.Rect] = []
    for passage in passages:
        cursor = 0  # a passage's sentences are looked for in order, so a repeated line is marked where it follows
        passage = passage or ""
        for sentence in (passage[start:end] for start, end in sentence_spans(passage)):
            needle = _match_key(sentence)
            if len(needle) < _MIN_MATCH:
                continue
            start = haystack.find(needle, cursor)
            if start < 0:
                start = haystack.find(needle)
            if start < 0:
                continue
            rects.extend(_line_rects(boxes[start : start + len(needle)]))
            cursor = start + len(needle)
    return rects


def _page_characters(page: pymupdf.Page) -> tuple[list[str], list[tuple[float, float, float, float, int]]]:
    """Match keys of the page's characters (one key character each) and their boxes with a line id."""
    keys: list[str] = []
    boxes: list[tuple[float, float, float, float, int]] = []
    line_id = 0
    for block in page.get_text("rawdict", flags=pymupdf.TEXTFLAGS_RAWDICT & ~pymupdf.TEXT_PRESERVE_IMAGES)["blocks"]:
        for line in block.get("lines", ()):
            line_id += 1
            for span in line["spans"]:
                for char in span["chars"]:
                    for key in _match_key(char["c"]):
                        keys.append(key)
                        boxes.append((*char["bbox"], line_id))
    return keys, boxes


def _match_key(s: str) -> str:
    """What text matching compares: normalised characters, lower case, no whitespace or hyphens."""
    return "".join(normalize_chars(s).lower().split()).replace("-", "")


def _line_rects(boxes: Sequence[tuple[float, float, float, float, int]]) -> list[pymupdf.Rect]:
    rects: dict[int, pymupdf.Rect] = {}
    for x0, y0, x1, y1, line_id in boxes:
        box = pymupdf.Rect(x0, y0, x1, y1)
        rects[line_id] = rects[line_id] | box if line_id in rects else box
    return list(rects.values())

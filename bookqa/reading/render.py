"""A page of the book as an image, with the passages a reader follows highlighted where they are printed."""

from __future__ import annotations

from os import PathLike
from typing import Sequence

import pymupdf

from bookqa.errors import BookQAError
from bookqa.reading.pdf import open_pdf
from bookqa.text import is_cjk, normalize_chars, sentence_spans

OcrText = tuple[str, tuple[float, ...]]
"""A line read by OCR as the renderer needs it: its text and its corners ``(x0, y0, ..., x3, y3)`` in points,
clockwise from the top left."""


def render_page_png(
    pdf_path: str | PathLike[str],
    number: int,
    zoom: float = 1.5,
    highlight: Sequence[str] = (),
    lines: Sequence[OcrText] | None = None,
) -> bytes:
    """The physical page ``number`` (1-based) of the PDF as PNG, ``zoom`` times its size in points.

    Each passage in ``highlight`` is marked where its sentences are found on the page: in its text layer, or, for
    a page read by OCR, on its recognised ``lines`` (the lines its passages were made of). Matching ignores
    whitespace, hyphens, case and normalisation differences. A passage not found is skipped silently.
    """
    with open_pdf(pdf_path) as doc:
        if not 1 <= number <= doc.page_count:
            raise BookQAError(f"Page {number} does not exist in {pdf_path}.", f"Choose a page from 1 to {doc.page_count}.")
        page = doc.load_page(number - 1)
        if highlight and lines is not None:
            quads = [quad * page.derotation_matrix for quad in ocr_highlight(lines, highlight)]
            if quads:
                page.add_highlight_annot(quads=quads)
        elif highlight:
            rects = _passage_rects(page, highlight)
            if rects:
                page.add_highlight_annot(rects)
        return page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom)).tobytes("png")


_MIN_MATCH = 4
_NARROW = 0.55
"""Width of a Latin character relative to a Chinese one, to place a match inside a recognised line."""


def _passage_rects(page: pymupdf.Page, passages: Sequence[str]) -> list[pymupdf.Rect]:
    """Line-wise rectangles covering the sentences of ``passages`` that occur on ``page``."""
    keys, boxes = _page_characters(page)
    rects: list[pymupdf.Rect] = []
    for start, end in _find(passages, "".join(keys)):
        rects.extend(_line_rects(boxes[start:end]))
    return rects


def ocr_highlight(lines: Sequence[OcrText], passages: Sequence[str]) -> list[pymupdf.Quad]:
    """Line-wise quadrilaterals covering the sentences of ``passages`` on recognised ``lines``: each match spans
    the share of its line that its characters take (a Chinese character about twice a Latin one)."""
    keys: list[str] = []
    places: list[tuple[int, float, float]] = []
    for index, (text, _) in enumerate(lines):
        text = normalize_chars(text)
        weights = [1.0 if is_cjk(char) else _NARROW for char in text]
        total, position = sum(weights) or 1.0, 0.0
        for char, weight in zip(text, weights):
            for key in _match_key(char):
                keys.append(key)
                places.append((index, position / total, (position + weight) / total))
            position += weight
    spans: dict[tuple[int, int], list[float]] = {}
    for start, end in _find(passages, "".join(keys)):
        for index, first, last in places[start:end]:
            span = spans.setdefault((start, index), [first, last])
            span[0], span[1] = min(span[0], first), max(span[1], last)
    return [_part(lines[index][1], first, last) for (_, index), (first, last) in spans.items()]


def _part(corners: tuple[float, ...], first: float, last: float) -> pymupdf.Quad:
    """The piece of a line's quadrilateral from ``first`` to ``last`` (shares of its length)."""
    x0, y0, x1, y1, x2, y2, x3, y3 = corners

    def along(ax: float, ay: float, bx: float, by: float, share: float) -> pymupdf.Point:
        return pymupdf.Point(ax + (bx - ax) * share, ay + (by - ay) * share)

    return pymupdf.Quad(
        along(x0, y0, x1, y1, first), along(x0, y0, x1, y1, last), along(x3, y3, x2, y2, first), along(x3, y3, x2, y2, last)
    )


def _find(passages: Sequence[str], haystack: str) -> list[tuple[int, int]]:
    """Where the sentences of ``passages`` occur in ``haystack`` (match keys), as ``(start, end)`` offsets; a
    passage's sentences are looked for in order, so a repeated line is marked where it follows."""
    found: list[tuple[int, int]] = []
    for passage in passages:
        cursor = 0
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
            found.append((start, start + len(needle)))
            cursor = start + len(needle)
    return found


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

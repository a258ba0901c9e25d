"""Open and validate a PDF, read its pages and outline, render a page with highlighted passages."""

from __future__ import annotations

import logging
import re
from os import PathLike
from pathlib import Path
from typing import Sequence

import pymupdf

from bookqa.cleaning import find_noise, is_contents_page
from bookqa.errors import BookQAError, InvalidPDFError
from bookqa.layout import PageLayout, read_layouts
from bookqa.outline import Outline, locate_outline
from bookqa.text import normalize_chars
from bookqa.types import Page, Section

log = logging.getLogger(__name__)

_HEADER_WINDOW = 1024
_TAIL_WINDOW = 2048
_REPAIR_HINT = "Download the file again, or repair it (e.g. `qpdf in.pdf repaired.pdf` or `mutool clean in.pdf repaired.pdf`)."


def open_pdf(path: str | PathLike[str], shown: str | None = None) -> pymupdf.Document:
    """Open ``path`` as a PDF, or raise :class:`InvalidPDFError` saying what is wrong with it.

    Refused: a missing file, an empty file, a file that is not a PDF, a truncated or damaged PDF, a PDF
    that needs a password, a PDF without pages. A scanned PDF opens; ``ingest_pdf`` refuses it.
    ``shown``: how the messages name the file (an upload's own name); default its path.
    """
    path = Path(path)
    name = shown or str(path)
    if not path.is_file():
        what = "is a folder, not a PDF file" if path.is_dir() else "does not exist"
        raise InvalidPDFError(f"{name} {what}.", "Check the path and pass a .pdf file.")
    size = path.stat().st_size
    if size == 0:
        raise InvalidPDFError(f"{name} is empty (0 bytes).", "Download or copy the PDF again.")
    with path.open("rb") as file:
        head = file.read(_HEADER_WINDOW)
        file.seek(max(0, size - _TAIL_WINDOW))
        tail = file.read()
    if b"%PDF-" not in head:
        raise InvalidPDFError(
            f"{name} is not a PDF (it starts with {head[:16]!r}).",
            "Pass a PDF file; convert other formats to PDF first.",
        )
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except Exception as error:  # PyMuPDF raises several types for unreadable files
        raise InvalidPDFError(f"{name} is damaged and cannot be read ({error}).", _REPAIR_HINT) from None
    if doc.is_repaired and b"%%EOF" not in tail:
        doc.close()
        raise InvalidPDFError(f"{name} is truncated: the end of the file is missing.", _REPAIR_HINT)
    if doc.needs_pass:
        doc.close()
        raise InvalidPDFError(
            f"{name} is encrypted and needs a password.",
            "Save an unprotected copy, e.g. `qpdf --decrypt --password=PASSWORD in.pdf out.pdf`.",
        )
    if doc.page_count == 0:
        doc.close()
        raise InvalidPDFError(f"{name} has no pages.", "Pass a PDF that has pages.")
    if doc.is_repaired:
        log.warning("%s has a damaged cross-reference table; PyMuPDF repaired it on opening", path)
    return doc


def read_pages(doc: pymupdf.Document) -> list[Page]:
    """Every page of ``doc`` with its printed label and its normalised text, one printed line per line."""
    return pages_from_layouts(read_layouts(doc))


def pages_from_layouts(layouts: Sequence[PageLayout]) -> list[Page]:
    """The ``Page`` records of already read layouts (line ``i`` of the text is row ``i`` of the layout)."""
    return [Page(layout.number, layout.label, "\n".join(row.text for row in layout.rows)) for layout in layouts]


def read_outline(doc: pymupdf.Document, layouts: Sequence[PageLayout] | None = None) -> list[Section]:
    """The sections of ``doc``, numbered from their printed headings; ``layouts`` from ``read_layouts``
    (read here when not given)."""
    return list(read_structure(doc, layouts or read_layouts(doc))[1].sections)


def read_structure(doc: pymupdf.Document, layouts: Sequence[PageLayout]) -> tuple[list[frozenset[int]], Outline]:
    """The margin noise of each page (running heads, page numbers, footnotes) and the located outline."""
    noise = find_noise(layouts)
    contents = {layout.number for layout, rows in zip(layouts, noise) if is_contents_page(layout, rows)}
    return noise, locate_outline(doc, layouts, noise, skip_pages=contents)


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


_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=\.)\s|\n")
_MIN_MATCH = 4


def _passage_rects(page: pymupdf.Page, passages: Sequence[str]) -> list[pymupdf.Rect]:
    """Line-wise rectangles covering the sentences of ``passages`` that occur on ``page``."""
    keys, boxes = _page_characters(page)
    haystack = "".join(keys)
    rects: list[pymupdf.Rect] = []
    for passage in passages:
        cursor = 0  # a passage's sentences are looked for in order, so a repeated line is marked where it follows
        for sentence in _SENTENCE_END.split(passage or ""):
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

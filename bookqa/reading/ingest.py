"""From a PDF file to clean, page-accurate, section-aware chunks."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Sequence

import pymupdf

from bookqa.config import Settings
from bookqa.errors import InvalidPDFError
from bookqa.reading.chunking import chunk_book
from bookqa.reading.cleaning import clean_book, find_noise, is_contents_page, printed_page_labels, running_title_rows
from bookqa.reading.layout import PageLayout, Progress, read_layouts
from bookqa.reading.outline import Outline, locate_outline
from bookqa.reading.pdf import open_pdf
from bookqa.reading.title import book_title
from bookqa.types import Chunk, Page, Section

log = logging.getLogger(__name__)

SCANNED_SHARE = 0.5
"""A PDF where at least this share of the pages are images without text is refused as scanned."""


@dataclass(frozen=True)
class Ingested:
    """A book read from its PDF.

    ``title``: the book's own name (:func:`bookqa.reading.title.book_title`: the metadata title when it is a
    real one, else the title page's largest text, else the file name). ``pages``: every page, text normalised,
    one printed line per line (for display). ``outline``: the sections. ``chunks``: what gets indexed.
    ``left_out``: page number -> why the page has no chunks ("contents", "front matter",
    "bibliography", "index", "blank", "no text layer"). ``timings``: seconds for parse, clean, chunk.
    ``left_out_parts``: page number -> what was left out of a page that still has chunks (a reference list
    that ends a chapter mid-page).
    """

    title: str
    pages: tuple[Page, ...]
    outline: tuple[Section, ...]
    chunks: tuple[Chunk, ...]
    left_out: dict[int, str]
    timings: dict[str, float]
    left_out_parts: dict[int, str] = field(default_factory=dict)


def ingest_pdf(
    path: str | PathLike[str], book_id: str, settings: Settings, progress: Progress | None = None, shown: str | None = None
) -> Ingested:
    """Read, clean and chunk the PDF at ``path``; chunk ids are ``f"{book_id}:{n:05d}"``.

    ``progress(done, total)`` is called after each page is parsed. Raises :class:`InvalidPDFError`
    for a file that is not a readable PDF and for a scanned PDF (no text layer); ``shown`` is how those
    messages name the file (default: its path).
    """
    path = Path(path)
    shown = shown or str(path)
    started = time.perf_counter()
    with open_pdf(path, shown) as doc:
        layouts = read_layouts(doc, progress)
        _refuse_scanned(shown, layouts)
        if not doc.get_page_labels():  # no label table: the numbers printed on the pages, where they run in order
            layouts = printed_page_labels(layouts, find_noise(layouts))
        noise, outline = read_structure(doc, layouts)
        first_page = outline.sections[0].start_page if outline.sections else None
        title = book_title((doc.metadata or {}).get("title", ""), layouts, shown, first_page)
    parsed = time.perf_counter()
    book = clean_book(layouts, noise, outline)
    cleaned = time.perf_counter()
    chunks = chunk_book(book, outline, book_id, settings)
    chunked = time.perf_counter()
    log.info(
        "%s: %d pages, %d sections, %d chunks, %d pages left out, %.1f s",
        path.name, len(layouts), len(outline.sections), len(chunks), len(book.left_out), chunked - started,
    )
    return Ingested(
        title=title,
        pages=tuple(pages_from_layouts(layouts)),
        outline=outline.sections,
        chunks=tuple(chunks),
        left_out=dict(book.left_out),
        timings={"parse": parsed - started, "clean": cleaned - parsed, "chunk": chunked - cleaned},
        left_out_parts=dict(book.left_out_parts),
    )


def pages_from_layouts(layouts: Sequence[PageLayout]) -> list[Page]:
    """The ``Page`` records of read layouts (line ``i`` of a page's text is row ``i`` of its layout)."""
    return [Page(layout.number, layout.label, "\n".join(row.text for row in layout.rows)) for layout in layouts]


def read_structure(doc: pymupdf.Document, layouts: Sequence[PageLayout]) -> tuple[list[frozenset[int]], Outline]:
    """The noise of each page (running heads, page numbers, footnotes, lines on most pages, margin lines that
    repeat a section title) and the located outline."""
    noise = find_noise(layouts)
    contents = {layout.number for layout, rows in zip(layouts, noise) if is_contents_page(layout, rows)}
    outline = locate_outline(doc, layouts, noise, skip_pages=contents)
    titles = running_title_rows(layouts, outline, noise)
    return [rows | more for rows, more in zip(noise, titles)], outline


def _refuse_scanned(shown: str, layouts: Sequence[PageLayout]) -> None:
    image_only = [layout.number for layout in layouts if not layout.rows and layout.has_images]
    if not any(layout.rows for layout in layouts) and not image_only:
        raise InvalidPDFError(f"{shown} contains no text at all.", "Pass the PDF of a book with text in it.")
    if len(image_only) >= SCANNED_SHARE * len(layouts):
        name = Path(shown).name
        raise InvalidPDFError(
            f"{shown} has no text layer on {len(image_only)} of its {len(layouts)} pages: it looks scanned.",
            f"Run OCR first, e.g. ocrmypdf {name} {Path(name).stem}-ocr.pdf, and add the result.",
        )

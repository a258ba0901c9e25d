"""From a PDF file to clean, page-accurate, section-aware chunks."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Mapping, Sequence

import pymupdf

from bookqa.config import OcrMode, Settings
from bookqa.errors import InvalidPDFError
from bookqa.reading.chunking import chunk_book
from bookqa.reading.cleaning import BLANK, NO_TEXT_LAYER, clean_book, find_noise, is_contents_page
from bookqa.reading.layout import PageLayout, Progress, read_layouts
from bookqa.reading.ocr import OcrPage, Recogniser, plan_ocr, recognise_pages
from bookqa.reading.ocr_layout import in_reading_order, with_ocr
from bookqa.reading.outline import Outline, locate_outline
from bookqa.reading.pdf import open_pdf
from bookqa.types import Chunk, Page, Section

log = logging.getLogger(__name__)

SCANNED_SHARE = 0.5
"""With ``BOOKQA_OCR=off``, a PDF where at least this share of the pages are images without text is refused as
scanned."""
UNREADABLE = "unreadable by OCR"
"""Why a page read by OCR is left out when every line on it was recognised below the confidence floor."""


@dataclass(frozen=True)
class Ingested:
    """A book read from its PDF.

    ``title``: from the PDF metadata ("" when it has none). ``pages``: every page, text normalised, one
    printed line per line (for display). ``outline``: the sections. ``chunks``: what gets indexed.
    ``left_out``: page number -> why the page has no chunks ("contents", "front matter",
    "bibliography", "index", "blank", "no text layer", or what OCR found: "blank scan", "no text found by OCR",
    "unreadable by OCR", "damaged image"). ``timings``: seconds for parse, (ocr,) clean, chunk.
    ``ocr``: page number -> what OCR read there (every line, below the floor too, in reading order), for each page
    read by OCR.
    """

    title: str
    pages: tuple[Page, ...]
    outline: tuple[Section, ...]
    chunks: tuple[Chunk, ...]
    left_out: dict[int, str]
    timings: dict[str, float]
    ocr: Mapping[int, OcrPage] = field(default_factory=dict)


def ingest_pdf(
    path: str | PathLike[str],
    book_id: str,
    settings: Settings,
    progress: Progress | None = None,
    shown: str | None = None,
    ocr_progress: Progress | None = None,
    recogniser: Recogniser | None = None,
) -> Ingested:
    """Read, clean and chunk the PDF at ``path``; chunk ids are ``f"{book_id}:{n:05d}"``.

    Pages without a usable text layer are read by OCR (``settings.ocr``; :mod:`bookqa.reading.ocr`) with
    ``recogniser`` (default: rapidocr in worker processes). ``progress(done, total)`` is called after each page is
    parsed, ``ocr_progress(done, total)`` after each page OCR has read. Raises :class:`InvalidPDFError` for a file
    that is not a readable PDF, for a scanned PDF with ``BOOKQA_OCR=off`` and for one where OCR finds no text;
    ``shown`` is how those messages name the file (default: its path).
    """
    path = Path(path)
    shown = shown or str(path)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    ocr_pages: dict[int, OcrPage] = {}
    with open_pdf(path, shown) as doc:
        layouts = read_layouts(doc, progress)
        if settings.ocr == OcrMode.OFF:
            _refuse_scanned(shown, layouts)
        else:
            plan = plan_ocr(doc, layouts, settings, recogniser.signature if recogniser else None)
            if plan.keys:
                timings["parse"] = time.perf_counter() - started
                ocr_pages = {n: in_reading_order(p) for n, p in recognise_pages(path, plan, settings, recogniser, ocr_progress).items()}
                timings["ocr"] = time.perf_counter() - started - timings["parse"]
                _report_damage(shown, ocr_pages)
                layouts = with_ocr(layouts, ocr_pages, settings.ocr_min_confidence, bool(doc.get_page_labels()))
            _refuse_unreadable(shown, layouts, ocr_pages)
        noise, outline = read_structure(doc, layouts)
        title = (doc.metadata or {}).get("title", "").strip()
    parsed = time.perf_counter()
    timings.setdefault("parse", parsed - started - timings.get("ocr", 0.0))
    book = clean_book(layouts, noise, outline)
    cleaned = time.perf_counter()
    chunks = chunk_book(book, outline, book_id, settings)
    chunked = time.perf_counter()
    left_out = dict(book.left_out)
    for number, page in ocr_pages.items():
        if left_out.get(number) in (BLANK, NO_TEXT_LAYER):
            left_out[number] = page.problem or UNREADABLE
    log.info(
        "%s: %d pages (%d read by OCR), %d sections, %d chunks, %d pages left out, %.1f s",
        path.name, len(layouts), len(ocr_pages), len(outline.sections), len(chunks), len(left_out), chunked - started,
    )
    return Ingested(
        title=title,
        pages=tuple(pages_from_layouts(layouts)),
        outline=outline.sections,
        chunks=tuple(chunks),
        left_out=left_out,
        timings=dict(timings, clean=cleaned - parsed, chunk=chunked - cleaned),
        ocr=ocr_pages,
    )


def pages_from_layouts(layouts: Sequence[PageLayout]) -> list[Page]:
    """The ``Page`` records of read layouts (line ``i`` of a page's text is row ``i`` of its layout)."""
    return [Page(layout.number, layout.label, "\n".join(row.text for row in layout.rows)) for layout in layouts]


def read_structure(doc: pymupdf.Document, layouts: Sequence[PageLayout]) -> tuple[list[frozenset[int]], Outline]:
    """The margin noise of each page (running heads, page numbers, footnotes) and the located outline."""
    noise = find_noise(layouts)
    contents = {layout.number for layout, rows in zip(layouts, noise) if is_contents_page(layout, rows)}
    return noise, locate_outline(doc, layouts, noise, skip_pages=contents)


def _report_damage(shown: str, pages: Mapping[int, OcrPage]) -> None:
    """One warning per page whose image the PDF library could not decode whole."""
    for number, page in pages.items():
        if page.detail:
            kept = "it is left out" if not page.lines else "what could be read on it is kept"
            log.warning("%s, page %d: its image is damaged (%s); %s.", shown, number, page.detail, kept)


def _refuse_unreadable(shown: str, layouts: Sequence[PageLayout], pages: Mapping[int, OcrPage]) -> None:
    """Refuse a PDF without text in its text layer or found by OCR."""
    if any(layout.rows for layout in layouts):
        return
    if not pages:
        raise InvalidPDFError(f"{shown} contains no text at all.", "Pass the PDF of a book with text in it.")
    problems = ", ".join(sorted({page.problem or UNREADABLE for page in pages.values()}))
    raise InvalidPDFError(
        f"{shown} has no text layer on {len(pages)} of its {len(layouts)} pages, and OCR found no readable text on "
        f"them ({problems}).",
        "Check that the scan shows printed text; for small print try a higher resolution, e.g. BOOKQA_OCR_DPI=300.",
    )


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

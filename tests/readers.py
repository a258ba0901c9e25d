"""Reading helpers for tests: a PDF's pages and outline as BookQA reads them, without the rest of ingestion."""

from __future__ import annotations

from typing import Sequence

import pymupdf

from bookqa.reading.ingest import pages_from_layouts, read_structure
from bookqa.reading.layout import PageLayout, read_layouts
from bookqa.types import Page, Section


def read_pages(doc: pymupdf.Document) -> list[Page]:
    """Every page of ``doc`` with its printed label and its normalised text, one printed line per line."""
    return pages_from_layouts(read_layouts(doc))


def read_outline(doc: pymupdf.Document, layouts: Sequence[PageLayout] | None = None) -> list[Section]:
    """The sections of ``doc``, numbered from their printed headings (``layouts`` read here when not given)."""
    return list(read_structure(doc, layouts or read_layouts(doc))[1].sections)

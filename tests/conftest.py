"""Shared fixtures. Tiny PDFs are built once per session under pytest's temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from bookqa.config import Settings
from bookqa.ingest import Ingested, ingest_pdf
from pdf_factory import build_bad_pdfs, build_english_book, build_tiny_book


@pytest.fixture(scope="session")
def tiny_book_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An 8-page Chinese book with an outline; what it contains is ``pdf_factory.TINY_BOOK``."""
    return build_tiny_book(tmp_path_factory.mktemp("books") / "tiny-book.pdf")


@pytest.fixture(scope="session")
def tiny_book(tiny_book_pdf: Path) -> Ingested:
    """The tiny book ingested with default settings as book id ``"tiny"``."""
    return ingest_pdf(tiny_book_pdf, "tiny", Settings())


@pytest.fixture(scope="session")
def english_book_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-page English book without an outline; its sections are ``pdf_factory.ENGLISH_SECTIONS``."""
    return build_english_book(tmp_path_factory.mktemp("books") / "english-book.pdf")


@pytest.fixture(scope="session")
def bad_pdfs(tmp_path_factory: pytest.TempPathFactory, tiny_book_pdf: Path) -> dict[str, Path]:
    """Unusable files by name: ``missing``, ``empty``, ``not_pdf``, ``truncated``, ``encrypted``
    (``open_pdf`` raises InvalidPDFError) and ``scanned`` (``ingest_pdf`` raises it)."""
    return build_bad_pdfs(tmp_path_factory.mktemp("bad"), tiny_book_pdf)

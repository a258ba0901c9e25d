"""A book folder's contents: its manifest (how it was built) and the opened book (its records and a retriever).

A book folder holds ``manifest.json`` (format version, PDF sha256, page count, embedding model, backend and
dimension, chunker settings, counts, timings, how far its vectors are), ``source.pdf`` (a copy of the book, for
page images), ``pages.jsonl``, ``ocr.jsonl`` (what OCR read on each page without a text layer:
lines with boxes and confidences, for highlights and the page view), ``outline.json``, ``chunks.jsonl``, ``keyword/`` (bm25s) and, once the second build
step has finished, ``vectors/`` (FAISS); nothing is ever pickled. :mod:`bookqa.library.store` writes and finds the
folders.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from bookqa import __version__
from bookqa.config import Settings
from bookqa.files import read_jsonl
from bookqa.types import Chunk, ChunkKind, Page, Pages, Section

if TYPE_CHECKING:  # numpy and the model code load with the first search, PyMuPDF with the first page read by OCR
    from bookqa.answering.calibration import Calibration
    from bookqa.index.retriever import Retriever
    from bookqa.reading.ocr import OcrPage

FORMAT_VERSION = 7
"""Version of the folder's contents: 2 embeds and indexes each chunk with its whole section path (see
bookqa.index.retriever.index_text); 3 reads unseen layouts (section numbers however printed, headings the
outline lacks, index pages and reference lists left out, formula chunks, code from fonts monospaced by their
advances) and records pages partly left out; 4 adds the book's low-confidence calibration to the manifest; 5 indexes English words by their stems; 6 keeps prose footnotes as chunks of their own; 7 keeps a listing that ends a page in small print. A folder of
another version is rebuilt or refused."""
MANIFEST = "manifest.json"
SOURCE_PDF = "source.pdf"
PAGES = "pages.jsonl"
OCR_PAGES = "ocr.jsonl"
OUTLINE = "outline.json"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors"
KEYWORD = "keyword"


@dataclass(frozen=True)
class Manifest:
    """What a book folder holds and how it was built (``manifest.json``)."""

    book_id: str
    title: str
    source_name: str
    sha256: str
    page_count: int
    embedding_model: str
    embedding_dim: int
    chunk_size: int
    chunk_overlap: int
    sections: int
    chunks: int
    code_chunks: int
    left_out: dict[int, str]
    timings: dict[str, float]
    index_bytes: int = 0
    calibration: dict[str, Any] | None = None
    """The book's low-confidence cuts (bookqa.answering.calibration.Calibration.to_json)."""
    built_at: str = ""
    format_version: int = FORMAT_VERSION
    bookqa_version: str = __version__
    left_out_parts: dict[int, str] = dataclasses.field(default_factory=dict)
    """Page number -> what was left out of a page that still has passages (a reference list ending a chapter)."""
    vectors_ready: bool = True
    """False between the two build steps: the book has pages, outline, chunks and its keyword index, not yet its
    vectors (a manifest from before the steps existed had both)."""
    vectors_done: int = 0
    """Passages whose vectors are done (cached), while ``vectors_ready`` is False."""
    embedding_backend: str = "torch"
    """What encoded the passages (``torch``, ``onnx``, ``onnx-int8``; "" until the vectors are done)."""
    encoded: dict[str, int] = dataclasses.field(default_factory=dict)
    """What the vector step did: ``cached`` passages found in the vector cache, ``encoded`` ones and their ``tokens``."""

    def to_json(self) -> dict[str, Any]:
        """The manifest as a JSON-ready dict (page numbers as string keys)."""
        data = dataclasses.asdict(self)
        data["left_out"] = {str(k): v for k, v in sorted(self.left_out.items())}
        data["left_out_parts"] = {str(k): v for k, v in sorted(self.left_out_parts.items())}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Manifest":
        """Parse ``manifest.json`` content; unknown keys are ignored so newer fields do not break old readers."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["left_out"] = {int(k): v for k, v in data.get("left_out", {}).items()}
        values["left_out_parts"] = {int(k): v for k, v in data.get("left_out_parts", {}).items()}
        return cls(**values)

    @property
    def vector_share(self) -> float:
        """How much of the book has vectors: 1.0 when they are ready."""
        return 1.0 if self.vectors_ready else min(self.vectors_done / max(self.chunks, 1), 0.99)

    def vector_state(self) -> str:
        """The book's search state in words: "ready", or "keyword search only, vectors 42%"."""
        return "ready" if self.vectors_ready else f"keyword search only, vectors {self.vector_share:.0%}"

    def mismatch(self, settings: Settings) -> str | None:
        """Why this folder cannot be used with ``settings`` (a sentence), or None when it can."""
        if self.format_version != FORMAT_VERSION:
            return f"it was built by an older BookQA (index format {self.format_version}, now {FORMAT_VERSION})"
        if self.embedding_model != settings.embedding_model:
            return f"it was built with embedding model {self.embedding_model!r}, the setting is {settings.embedding_model!r}"
        if (self.chunk_size, self.chunk_overlap) != (settings.chunk_size, settings.chunk_overlap):
            return (
                f"it was built with chunk size {self.chunk_size}/overlap {self.chunk_overlap}, "
                f"the settings are {settings.chunk_size}/{settings.chunk_overlap}"
            )
        return None


class Book:
    """An opened book: its records and a ready retriever. Read-only once loaded.

    ``folder``: the book folder. ``pages``: every page in order; None reads them from the folder's
    ``pages.jsonl`` on first use, so showing a book's outline and counts does not read every page's text.
    ``retriever``: None for a book opened with ``searchable=False``.
    """

    def __init__(
        self,
        folder: Path,
        manifest: Manifest,
        pages: Pages | Sequence[Page] | None,
        outline: list[Section],
        chunks: list[Chunk],
        retriever: Retriever | None = None,
    ) -> None:
        self.folder = folder
        self.manifest = manifest
        self.outline = outline
        self.chunks = chunks
        self.retriever = retriever
        if pages is not None:
            self.pages = Pages.of(pages)

    def __repr__(self) -> str:
        return f"Book({self.book_id!r}, {self.manifest.page_count} pages, {len(self.chunks)} chunks)"

    @cached_property
    def pages(self) -> Pages:
        """Every page of the book, in order, with their printed labels (read from ``pages.jsonl`` when first asked for)."""
        return Pages(Page(**row) for row in read_jsonl(self.folder / PAGES))

    @property
    def calibration(self) -> Calibration | None:
        """The book's low-confidence cuts, as measured when it was built."""
        from bookqa.answering.calibration import Calibration

        data = self.manifest.calibration
        return Calibration.from_json(data) if data else None

    @property
    def book_id(self) -> str:
        return self.manifest.book_id

    @property
    def pdf_path(self) -> Path:
        """The stored copy of the PDF (for rendering pages)."""
        return self.folder / SOURCE_PDF

    @cached_property
    def ocr_pages(self) -> dict[int, OcrPage]:
        """Physical page number -> what OCR read there, for the pages read by OCR (none in a folder built before
        OCR existed)."""
        from bookqa.reading.ocr import OcrPage

        path = self.folder / OCR_PAGES
        return {page.number: page for page in map(OcrPage.from_json, read_jsonl(path))} if path.is_file() else {}

    def page(self, number: int) -> Page:
        """The page with 1-based physical ``number``; raises IndexError outside the book."""
        return self.pages.page(number)

    def label(self, number: int) -> str:
        """The printed label of physical page ``number`` (the number itself when out of range)."""
        return self.pages.label(number)


def chunk_row(chunk: Chunk) -> dict[str, Any]:
    """``chunk`` as a line of ``chunks.jsonl``."""
    row = dataclasses.asdict(chunk)
    row["section_path"] = list(chunk.section_path)
    row["kind"] = str(chunk.kind)
    return row


def chunk_from_row(row: dict[str, Any]) -> Chunk:
    return Chunk(**{**row, "section_path": tuple(row["section_path"]), "kind": ChunkKind(row["kind"])})

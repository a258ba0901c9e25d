"""The library: one folder per book under ``settings.books_dir`` (see :mod:`bookqa.library.book`).

A book is written to a temporary folder and renamed into place. A folder whose manifest does not match the current
settings is rebuilt (``Library.add``) or refused with a clear message (``Library.open``), never silently used.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from bookqa.config import Settings
from bookqa.errors import BookNotFoundError, IndexMismatchError, InvalidPDFError
from bookqa.files import read_jsonl, sha256_of, swap_folder, temporary_folder, write_json, write_jsonl
from bookqa.library.book import CHUNKS, MANIFEST, OUTLINE, PAGES, SOURCE_PDF, Book, Manifest, chunk_from_row, chunk_row
from bookqa.types import ChunkKind, Section

if TYPE_CHECKING:  # numpy and the model code load with the first build or search, not with the overview
    from bookqa.index.embedders import Embedder, Progress

logger = logging.getLogger(__name__)

StageProgress = Callable[[str, int, int], None]
"""Progress of a book build: called with (stage, done, total); stages are "parse" and "embed"."""


def make_book_id(name: str, sha256: str) -> str:
    """A folder-safe id: an ASCII slug of ``name`` (a file stem or title) plus the first 8 hex digits of the hash."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
    return f"{slug}-{sha256[:8]}" if slug else f"book-{sha256[:12]}"


class Library:
    """The books in ``settings.books_dir``.

    ``settings``: where the library lives and how books are built (embedding model, chunker settings).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.books_dir

    # ----------------------------------------------------------------- reading
    def manifests(self) -> list[Manifest]:
        """Every book in the library, by title; folders without a readable manifest are skipped."""
        found = [m for m in (self._read_manifest(p) for p in self._folders()) if m is not None]
        return sorted(found, key=lambda m: (m.title.lower(), m.book_id))

    def find(self, ref: str | Path) -> Manifest | None:
        """The book named by ``ref``: a book id, a unique id prefix, or a PDF path (matched by sha256)."""
        path = Path(ref)
        if path.suffix.lower() == ".pdf" or path.is_file():
            if not path.is_file():
                raise InvalidPDFError(f"There is no file {str(path)!r}.", "Check the path.")
            sha = sha256_of(path)
            return next((m for m in self.manifests() if m.sha256 == sha), None)
        books = self.manifests()
        exact = [m for m in books if m.book_id == str(ref)]
        if exact:
            return exact[0]
        prefixed = [m for m in books if m.book_id.startswith(str(ref))]
        return prefixed[0] if len(prefixed) == 1 else None

    def open(self, ref: str | Path, embedder: Embedder | None = None, searchable: bool = True) -> Book:
        """Load a built book with a retriever over it.

        ``ref``: a book id (or unique prefix) or the path of an indexed PDF. ``embedder``: the query embedder;
        loaded from the settings when None. ``searchable=False`` loads only the outline and chunks
        (``retriever`` is None; no indexes, no embedding model), for showing a book quickly. Either way the
        pages are read when first used. Raises BookNotFoundError when no such book exists and
        IndexMismatchError when it was built with other settings.
        """
        manifest = self.find(ref)
        if manifest is None:
            raise BookNotFoundError(
                f"No book {str(ref)!r} in the library at {self.root}.",
                "Index it first: python -m bookqa index BOOK.pdf (python -m bookqa list shows the books).",
            )
        why = manifest.mismatch(self.settings)
        if why:
            raise IndexMismatchError(
                f"The book {manifest.book_id} cannot be used as it is: {why}.",
                f"Rebuild it: python -m bookqa index {manifest.book_id} --rebuild",
            )
        return self._load(self.root / manifest.book_id, manifest, embedder, searchable)

    # ----------------------------------------------------------------- writing
    def add(
        self,
        pdf_path: str | Path,
        embedder: Embedder | None = None,
        progress: StageProgress | None = None,
        rebuild: bool = False,
        name: str | None = None,
    ) -> tuple[Manifest, bool]:
        """Index a PDF into the library unless the same file with the same settings is there already.

        ``name``: the display name for the id slug (an upload's original file name); defaults to the file stem.
        ``rebuild``: build again even when a matching book exists. Returns (manifest, built) where ``built``
        says whether a build happened. Books already in the library are untouched when the PDF is bad.
        """
        path = Path(pdf_path)
        if not path.is_file():
            raise InvalidPDFError(f"There is no file {str(path)!r}.", "Check the path of the PDF.")
        sha = sha256_of(path)
        existing = next((m for m in self.manifests() if m.sha256 == sha), None)
        if existing and not rebuild and existing.mismatch(self.settings) is None:
            return existing, False
        if existing:
            logger.info("rebuilding %s: %s", existing.book_id, existing.mismatch(self.settings) or "asked to")
        book_id = existing.book_id if existing else make_book_id(Path(name).stem if name else path.stem, sha)
        manifest = self._build(path, sha, book_id, name or path.name, embedder, progress, shown=name or str(path))
        return manifest, True

    def rebuild(self, book_id: str, embedder: Embedder | None = None, progress: StageProgress | None = None) -> Manifest:
        """Build a book again from its stored PDF with the current settings."""
        folder = self.root / book_id
        manifest = self._read_manifest(folder)
        if manifest is None:
            raise BookNotFoundError(f"No book {book_id!r} in the library at {self.root}.", "python -m bookqa list shows the books.")
        stored = folder / SOURCE_PDF
        return self._build(stored, manifest.sha256, book_id, manifest.source_name, embedder, progress)

    def remove(self, book_id: str) -> None:
        """Delete a book folder (only folders inside the library, named by an existing id)."""
        folder = self.root / book_id
        if self._read_manifest(folder) is None or folder.parent != self.root:
            raise BookNotFoundError(f"No book {book_id!r} in the library at {self.root}.", "python -m bookqa list shows the books.")
        trash = self.root / f".trash-{book_id}-{os.getpid()}-{time.time_ns()}"
        os.replace(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)

    # ----------------------------------------------------------------- internals
    def _folders(self) -> Iterator[Path]:
        if not self.root.is_dir():
            return iter(())
        return (p for p in sorted(self.root.iterdir()) if p.is_dir() and not p.name.startswith("."))

    @staticmethod
    def _read_manifest(folder: Path) -> Manifest | None:
        try:
            return Manifest.from_json(json.loads((folder / MANIFEST).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            if (folder / MANIFEST).exists():
                logger.warning("ignoring %s: unreadable manifest (%s)", folder, exc)
            return None

    def _build(
        self,
        path: Path,
        sha: str,
        book_id: str,
        source_name: str,
        embedder: Embedder | None,
        progress: StageProgress | None,
        shown: str | None = None,
    ) -> Manifest:
        from bookqa.answering.calibration import calibrate
        from bookqa.index.embedders import load_embedder
        from bookqa.index.retriever import Retriever, build_indexes
        from bookqa.reading.ingest import ingest_pdf

        embedder = embedder or load_embedder(self.settings)  # first: a wrong model name fails before the book is read
        started = time.perf_counter()
        ingested = ingest_pdf(path, book_id, self.settings, progress=_stage(progress, "parse"), shown=shown)
        if not ingested.chunks:
            raise InvalidPDFError(
                f"{source_name} has no body text to index (every page was left out as contents, front matter or blank).",
                "Check that this is the book you meant; a scanned book needs OCR first (e.g. ocrmypdf).",
            )
        t0 = time.perf_counter()
        vectors, keywords = build_indexes(ingested.chunks, embedder, progress=_stage(progress, "embed"))
        timings = dict(ingested.timings, index=time.perf_counter() - t0)
        t0 = time.perf_counter()
        calibration = calibrate(Retriever(ingested.chunks, vectors, keywords, embedder, self.settings))
        timings["calibrate"] = time.perf_counter() - t0

        tmp = temporary_folder(self.root, f"build-{book_id}")
        try:
            shutil.copyfile(path, tmp / SOURCE_PDF)
            write_jsonl(tmp / PAGES, (dataclasses.asdict(p) for p in ingested.pages))
            write_json(tmp / OUTLINE, [dataclasses.asdict(s) for s in ingested.outline])
            write_jsonl(tmp / CHUNKS, (chunk_row(c) for c in ingested.chunks))
            vectors.save(tmp / "vectors")
            keywords.save(tmp / "keyword")
            timings["total"] = time.perf_counter() - started
            manifest = Manifest(
                book_id=book_id,
                title=ingested.title or Path(source_name).stem,
                source_name=source_name,
                sha256=sha,
                page_count=len(ingested.pages),
                embedding_model=self.settings.embedding_model,
                embedding_dim=int(embedder.dim),
                chunk_size=self.settings.chunk_size,
                chunk_overlap=self.settings.chunk_overlap,
                sections=len(ingested.outline),
                chunks=len(ingested.chunks),
                code_chunks=sum(c.kind == ChunkKind.CODE for c in ingested.chunks),
                left_out=dict(ingested.left_out),
                timings={k: round(v, 3) for k, v in timings.items()},
                index_bytes=_folder_bytes(tmp, exclude=SOURCE_PDF),
                calibration=calibration.to_json(),
                built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            )
            write_json(tmp / MANIFEST, manifest.to_json())
            swap_folder(tmp, self.root / book_id)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        logger.info("built %s: %d chunks in %.1f s", book_id, manifest.chunks, timings["total"])
        return manifest

    def _load(self, folder: Path, manifest: Manifest, embedder: Embedder | None, searchable: bool = True) -> Book:
        outline = [Section(**row) for row in json.loads((folder / OUTLINE).read_text(encoding="utf-8"))]
        chunks = [chunk_from_row(row) for row in read_jsonl(folder / CHUNKS)]
        if len(chunks) != manifest.chunks:
            raise IndexMismatchError(
                f"The book folder {folder} is damaged ({len(chunks)} chunks, the manifest says {manifest.chunks}).",
                f"Rebuild it: python -m bookqa index {manifest.book_id} --rebuild",
            )
        if not searchable:
            return Book(folder=folder, manifest=manifest, pages=None, outline=outline, chunks=chunks)
        from bookqa.index.embedders import load_embedder
        from bookqa.index.keyword_index import KeywordIndex
        from bookqa.index.retriever import Retriever
        from bookqa.index.vector_index import VectorIndex

        vectors = VectorIndex.load(folder / "vectors")
        keywords = KeywordIndex.load(folder / "keyword")
        embedder = embedder or load_embedder(self.settings)
        if embedder.dim != manifest.embedding_dim:
            raise IndexMismatchError(
                f"The book {manifest.book_id} has {manifest.embedding_dim}-dimensional vectors, "
                f"the embedding model gives {embedder.dim}.",
                f"Rebuild it: python -m bookqa index {manifest.book_id} --rebuild",
            )
        retriever = Retriever(chunks, vectors, keywords, embedder, self.settings)
        return Book(folder=folder, manifest=manifest, pages=None, outline=outline, chunks=chunks, retriever=retriever)


def _stage(progress: StageProgress | None, stage: str) -> Progress | None:
    if progress is None:
        return None
    return lambda done, total: progress(stage, done, total)


def _folder_bytes(folder: Path, exclude: str) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p.name != exclude)

"""Books on disk: one folder per book under ``settings.books_dir``, plain files plus ``manifest.json``.

A book folder holds ``manifest.json`` (format version, PDF sha256, page count, embedding model and
dimension, chunker settings, counts, timings), ``source.pdf`` (a copy of the book, for page images),
``pages.jsonl``, ``outline.json``, ``chunks.jsonl``, ``vectors/`` (FAISS) and ``keyword/`` (bm25s).
It is written to a temporary folder and renamed into place; nothing is ever pickled. A folder whose
manifest does not match the current settings is rebuilt (``Library.add``) or refused with a clear
message (``Library.open``), never silently used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from bookqa import __version__
from bookqa.config import Settings
from bookqa.errors import BookNotFoundError, IndexMismatchError, InvalidPDFError
from bookqa.types import Chunk, Page, Section

if TYPE_CHECKING:  # numpy and the model code load with the first build or search, not with the overview
    from bookqa.embedding import Embedder, Progress

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
"""Version of the folder's contents: 2 embeds and indexes each chunk with its whole section path (see
bookqa.retrieval.index_text); a folder of another version is rebuilt or refused."""
MANIFEST = "manifest.json"
SOURCE_PDF = "source.pdf"
PAGES = "pages.jsonl"

StageProgress = Callable[[str, int, int], None]
"""Progress of a book build: called with (stage, done, total); stages are "parse" and "embed"."""


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
    built_at: str = ""
    format_version: int = FORMAT_VERSION
    bookqa_version: str = __version__

    def to_json(self) -> dict[str, Any]:
        """The manifest as a JSON-ready dict (page numbers as string keys)."""
        data = dataclasses.asdict(self)
        data["left_out"] = {str(k): v for k, v in sorted(self.left_out.items())}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Manifest":
        """Parse ``manifest.json`` content; unknown keys are ignored so newer fields do not break old readers."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["left_out"] = {int(k): v for k, v in data.get("left_out", {}).items()}
        return cls(**values)

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
        pages: list[Page] | None,
        outline: list[Section],
        chunks: list[Chunk],
        retriever: Any = None,
    ) -> None:
        self.folder = folder
        self.manifest = manifest
        self.outline = outline
        self.chunks = chunks
        self.retriever = retriever
        if pages is not None:
            self.pages = pages

    def __repr__(self) -> str:
        return f"Book({self.book_id!r}, {self.manifest.page_count} pages, {len(self.chunks)} chunks)"

    @cached_property
    def pages(self) -> list[Page]:
        """Every page of the book, in order (read from ``pages.jsonl`` when first asked for)."""
        return [Page(**row) for row in _read_jsonl(self.folder / PAGES)]

    @property
    def book_id(self) -> str:
        return self.manifest.book_id

    @property
    def pdf_path(self) -> Path:
        """The stored copy of the PDF (for rendering pages)."""
        return self.folder / SOURCE_PDF

    def page(self, number: int) -> Page:
        """The page with 1-based physical ``number``; raises IndexError outside the book."""
        if not 1 <= number <= len(self.pages):
            raise IndexError(f"page {number} is outside 1..{len(self.pages)}")
        return self.pages[number - 1]

    def label(self, number: int) -> str:
        """The printed label of physical page ``number`` (the number itself when out of range)."""
        return self.pages[number - 1].label if 1 <= number <= len(self.pages) else str(number)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
        from bookqa.embedding import load_embedder
        from bookqa.ingest import ingest_pdf
        from bookqa.retrieval import build_indexes

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

        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".build-{book_id}-", dir=self.root))
        try:
            shutil.copyfile(path, tmp / SOURCE_PDF)
            _write_jsonl(tmp / PAGES, (dataclasses.asdict(p) for p in ingested.pages))
            _write_json(tmp / "outline.json", [dataclasses.asdict(s) for s in ingested.outline])
            _write_jsonl(tmp / "chunks.jsonl", (_chunk_row(c) for c in ingested.chunks))
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
                code_chunks=sum(c.kind == "code" for c in ingested.chunks),
                left_out=dict(ingested.left_out),
                timings={k: round(v, 3) for k, v in timings.items()},
                index_bytes=_folder_bytes(tmp, exclude=SOURCE_PDF),
                built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            )
            _write_json(tmp / MANIFEST, manifest.to_json())
            _swap_into_place(tmp, self.root / book_id)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        logger.info("built %s: %d chunks in %.1f s", book_id, manifest.chunks, timings["total"])
        return manifest

    def _load(self, folder: Path, manifest: Manifest, embedder: Embedder | None, searchable: bool = True) -> Book:
        outline = [Section(**row) for row in json.loads((folder / "outline.json").read_text(encoding="utf-8"))]
        chunks = [_chunk_from_row(row) for row in _read_jsonl(folder / "chunks.jsonl")]
        if len(chunks) != manifest.chunks:
            raise IndexMismatchError(
                f"The book folder {folder} is damaged ({len(chunks)} chunks, the manifest says {manifest.chunks}).",
                f"Rebuild it: python -m bookqa index {manifest.book_id} --rebuild",
            )
        if not searchable:
            return Book(folder=folder, manifest=manifest, pages=None, outline=outline, chunks=chunks)
        from bookqa.embedding import load_embedder
        from bookqa.keyword_index import KeywordIndex
        from bookqa.retrieval import Retriever
        from bookqa.vector_index import VectorIndex

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


def _swap_into_place(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``; an existing ``target`` is moved aside first and deleted after."""
    old = None
    if target.exists():
        old = target.with_name(f".old-{target.name}-{os.getpid()}-{time.time_ns()}")
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _chunk_row(chunk: Chunk) -> dict[str, Any]:
    row = dataclasses.asdict(chunk)
    row["section_path"] = list(chunk.section_path)
    return row


def _chunk_from_row(row: dict[str, Any]) -> Chunk:
    return Chunk(**{**row, "section_path": tuple(row["section_path"])})


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _write_jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _folder_bytes(folder: Path, exclude: str) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p.name != exclude)

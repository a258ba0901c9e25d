"""The library: one folder per book under ``settings.books_dir`` (see :mod:`bookqa.library.book`).

A book is built in two steps, each atomic: first its pages, outline, chunks and keyword index, written to a
temporary folder and renamed into place (the book can be browsed and keyword-searched within seconds); then its
vectors, from the vector cache where it has them, renamed into the folder before the manifest says they are ready.
One build per book at a time, across processes: a lock file per PDF in ``<data_dir>/locks/``. A folder whose manifest does
not match the current settings is rebuilt (``Library.add``) or refused with a clear message (``Library.open``),
never silently used.
"""

from __future__ import annotations

import contextlib
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
from bookqa.errors import BookNotFoundError, BookQAError, BuildRunningError, IndexMismatchError, InvalidPDFError
from bookqa.files import FileLock, read_jsonl, sha256_of, swap_folder, temporary_folder, write_json, write_jsonl
from bookqa.library.book import (
    CHUNKS,
    KEYWORD,
    MANIFEST,
    OCR_PAGES,
    OUTLINE,
    PAGES,
    SOURCE_PDF,
    VECTORS,
    Book,
    Manifest,
    chunk_from_row,
    chunk_row,
)
from bookqa.types import ChunkKind, Section

if TYPE_CHECKING:  # numpy and the model code load with the first build or search, not with the overview
    from bookqa.index.embedders import Embedder, Progress

logger = logging.getLogger(__name__)

StageProgress = Callable[[str, int, int], None]
"""Progress of a book build: called with (stage, done, total); stages are "parse", "ocr" (pages without a text
layer), "embed" (passages with vectors,
cached ones included) and "wait" (another process is building the book: its passages with vectors)."""
WAIT = "wait"
LOCKS = "locks"
"""Folder beside the books (in ``settings.data_dir``) holding one lock file per PDF (by hash): its build's."""


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
        loaded from the settings when None (not loaded for a book whose vectors are not ready: its retriever
        searches by keywords only until they are). ``searchable=False`` loads only the outline and chunks
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
        vectors: bool = True,
    ) -> tuple[Manifest, bool]:
        """Index a PDF into the library unless the same file with the same settings is there already.

        ``name``: the display name for the id slug (an upload's original file name); defaults to the file stem.
        ``rebuild``: build again even when a matching book exists. ``vectors=False`` stops after the first step
        (pages, outline, chunks, keyword index: the book can be browsed and keyword-searched) and leaves the vectors
        to :meth:`add_vectors`; a book whose vectors are unfinished gets them (resumed) when ``vectors`` is True.
        Waits while another process builds the same file (``progress("wait", done, total)`` with its vectors).
        Returns (manifest, built) where ``built`` says whether this call built anything. Books already in the
        library are untouched when the PDF is bad.
        """
        path = Path(pdf_path)
        if not path.is_file():
            raise InvalidPDFError(f"There is no file {str(path)!r}.", "Check the path of the PDF.")
        sha = sha256_of(path)
        if embedder is None:  # a wrong model name fails before the book is read; the model loads after step 1
            _check_model(self.settings)
        with self._build_lock(sha, progress):
            existing = self._by_sha(sha)
            if existing and not rebuild and existing.mismatch(self.settings) is None:
                if existing.vectors_ready or not vectors:
                    return existing, False
                return self._add_vectors(existing, embedder or _passage_embedder(self.settings), progress), True
            if existing:
                logger.info("rebuilding %s: %s", existing.book_id, existing.mismatch(self.settings) or "asked to")
            book_id = existing.book_id if existing else make_book_id(Path(name).stem if name else path.stem, sha)
            manifest = self._write_book(path, sha, book_id, name or path.name, progress, shown=name or str(path))
            if vectors:
                manifest = self._add_vectors(manifest, embedder or _passage_embedder(self.settings), progress)
        return manifest, True

    def add_vectors(self, book_id: str, embedder: Embedder | None = None, progress: StageProgress | None = None) -> Manifest:
        """The second build step of a book: its vectors, from the vector cache where it has them (so an interrupted
        step resumes). Returns the manifest at once for a book whose vectors are ready; waits while another process
        builds the book."""
        manifest = self._require(book_id)
        if manifest.vectors_ready:
            return manifest
        embedder = embedder or _passage_embedder(self.settings)
        with self._build_lock(manifest.sha256, progress):
            manifest = self._require(book_id)
            if manifest.vectors_ready:
                return manifest
            return self._add_vectors(manifest, embedder, progress)

    def rebuild(
        self, book_id: str, embedder: Embedder | None = None, progress: StageProgress | None = None, vectors: bool = True
    ) -> Manifest:
        """Build a book again from its stored PDF with the current settings (``vectors``: as in :meth:`add`)."""
        manifest = self._require(book_id)
        if embedder is None:
            _check_model(self.settings)
        with self._build_lock(manifest.sha256, progress):
            stored = self.root / book_id / SOURCE_PDF
            manifest = self._write_book(stored, manifest.sha256, book_id, manifest.source_name, progress)
            return self._add_vectors(manifest, embedder or _passage_embedder(self.settings), progress) if vectors else manifest

    def building(self, manifest: Manifest) -> bool:
        """Whether a build of ``manifest``'s book is running now (in this process or another)."""
        return self._lock_of(manifest.sha256).held_elsewhere()

    def state(self, manifest: Manifest) -> str:
        """The book's search state for a listing: "ready", "keyword search only, vectors 42% (building)", or
        "keyword search only, vectors 42% (interrupted: python -m bookqa index ID finishes them)"."""
        if manifest.vectors_ready:
            return manifest.vector_state()
        how = "building" if self.building(manifest) else f"interrupted: python -m bookqa index {manifest.book_id} finishes them"
        return f"{manifest.vector_state()} ({how})"

    def rename(self, book_id: str, title: str) -> Manifest:
        """Give a book another display name (its id, folder and index stay as they are); returns the new manifest.
        Raises BookNotFoundError for an unknown id, BookQAError for an empty title, BuildRunningError while the
        book is being built (the build's own manifest would overwrite the name)."""
        title = " ".join(title.split())
        if not title:
            raise BookQAError("A book's name cannot be empty.", "Give the name the library should show.")
        with self._idle_book(book_id, "Rename") as (folder, manifest):
            renamed = dataclasses.replace(manifest, title=title)
            tmp = folder / f".{MANIFEST}.{os.getpid()}.tmp"
            write_json(tmp, renamed.to_json())
            os.replace(tmp, folder / MANIFEST)
        return renamed

    def remove(self, book_id: str) -> None:
        """Delete a book folder (only folders inside the library, named by an existing id); refused while the book
        is being built."""
        with self._idle_book(book_id, "Remove") as (folder, _):
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

    @contextlib.contextmanager
    def _idle_book(self, book_id: str, action: str) -> Iterator[tuple[Path, Manifest]]:
        """A book's folder and manifest, held against builds while the caller changes them (only folders inside
        the library, named by an existing id); BuildRunningError while one runs."""
        folder = self.root / book_id
        manifest = self._read_manifest(folder)
        if manifest is None or folder.parent != self.root:
            raise BookNotFoundError(f"No book {book_id!r} in the library at {self.root}.", "python -m bookqa list shows the books.")
        lock = self._lock_of(manifest.sha256)
        if not lock.acquire(blocking=False):
            raise BuildRunningError(
                f"{manifest.title} is being indexed ({manifest.vector_state()}).", f"{action} it when its build has finished."
            )
        try:
            yield folder, manifest
        finally:
            lock.release()

    def _require(self, book_id: str) -> Manifest:
        manifest = self._read_manifest(self.root / book_id)
        if manifest is None:
            raise BookNotFoundError(f"No book {book_id!r} in the library at {self.root}.", "python -m bookqa list shows the books.")
        return manifest

    def _by_sha(self, sha: str) -> Manifest | None:
        return next((m for m in self.manifests() if m.sha256 == sha), None)

    def _lock_of(self, sha: str) -> FileLock:
        return FileLock(Path(self.settings.data_dir) / LOCKS / f"{sha[:16]}.lock")

    @contextlib.contextmanager
    def _build_lock(self, sha: str, progress: StageProgress | None) -> Iterator[None]:
        """Hold the build lock of the PDF with hash ``sha``; while another process holds it, report its progress
        as the "wait" stage."""

        def waiting() -> None:
            other = self._by_sha(sha)
            if progress and other is not None:
                progress(WAIT, other.vectors_done if not other.vectors_ready else other.chunks, other.chunks)

        lock = self._lock_of(sha)
        lock.acquire(waiting=waiting)
        try:
            yield
        finally:
            lock.release()

    def _write_book(
        self, path: Path, sha: str, book_id: str, source_name: str, progress: StageProgress | None, shown: str | None = None
    ) -> Manifest:
        """The first build step (the build lock held): pages, outline, chunks and the keyword index, swapped into
        place as a book folder whose manifest says its vectors are not ready."""
        from bookqa.index.retriever import build_keyword_index
        from bookqa.reading.ingest import ingest_pdf

        started = time.perf_counter()
        _remove_leftovers(self.root, book_id)
        ingested = ingest_pdf(
            path, book_id, self.settings, progress=_stage(progress, "parse"), shown=shown, ocr_progress=_stage(progress, "ocr")
        )
        if not ingested.chunks:
            raise InvalidPDFError(
                f"{source_name} has no body text to index (every page was left out as contents, front matter or blank).",
                "Check that this is the book you meant; a scanned book needs OCR first (e.g. ocrmypdf).",
            )
        t0 = time.perf_counter()
        keywords = build_keyword_index(ingested.chunks)
        timings = dict(ingested.timings, keyword=time.perf_counter() - t0)

        tmp = temporary_folder(self.root, f"build-{book_id}")
        try:
            shutil.copyfile(path, tmp / SOURCE_PDF)
            write_jsonl(tmp / PAGES, (dataclasses.asdict(p) for p in ingested.pages))
            write_jsonl(tmp / OCR_PAGES, (page.to_json() for page in ingested.ocr.values()))
            write_json(tmp / OUTLINE, [dataclasses.asdict(s) for s in ingested.outline])
            write_jsonl(tmp / CHUNKS, (chunk_row(c) for c in ingested.chunks))
            keywords.save(tmp / KEYWORD)
            timings["ready"] = time.perf_counter() - started
            manifest = Manifest(
                book_id=book_id,
                title=ingested.title or Path(source_name).stem,
                source_name=source_name,
                sha256=sha,
                page_count=len(ingested.pages),
                embedding_model=self.settings.embedding_model,
                embedding_dim=0,
                chunk_size=self.settings.chunk_size,
                chunk_overlap=self.settings.chunk_overlap,
                sections=len(ingested.outline),
                chunks=len(ingested.chunks),
                code_chunks=sum(c.kind == ChunkKind.CODE for c in ingested.chunks),
                left_out=dict(ingested.left_out),
                left_out_parts=dict(ingested.left_out_parts),
                timings={k: round(v, 3) for k, v in timings.items()},
                index_bytes=_folder_bytes(tmp, exclude=SOURCE_PDF),
                built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                vectors_ready=False,
                embedding_backend="",
            )
            write_json(tmp / MANIFEST, manifest.to_json())
            swap_folder(tmp, self.root / book_id)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        logger.info("%s can be browsed and keyword-searched: %d chunks in %.1f s", book_id, manifest.chunks, timings["ready"])
        return manifest

    def _add_vectors(self, manifest: Manifest, embedder: Embedder, progress: StageProgress | None) -> Manifest:
        """The second build step (the build lock held): the passages' vectors, encoded where the vector cache lacks
        them (a shard per group, the manifest's ``vectors_done`` following), then ``vectors/`` renamed into the book
        folder and the manifest marked ready."""
        from bookqa.answering.calibration import calibrate
        from bookqa.index.embedders import passage_token_counts
        from bookqa.index.keyword_index import KeywordIndex
        from bookqa.index.retriever import Retriever, index_text
        from bookqa.index.vector_cache import GROUP_BATCHES, VectorCache, encode_cached
        from bookqa.index.vector_index import VectorIndex

        started = time.perf_counter()
        folder = self.root / manifest.book_id
        chunks = [chunk_from_row(row) for row in read_jsonl(folder / CHUNKS)]
        texts = [index_text(chunk) for chunk in chunks]
        group = self.settings.embedding_batch_size * GROUP_BATCHES
        written = [0]

        def advance(done: int, total: int) -> None:
            if progress:
                progress("embed", done, total)
            if done - written[0] >= group or (done == total and done != written[0]):
                written[0] = done
                write_json(folder / MANIFEST, dataclasses.replace(manifest, vectors_done=done).to_json())

        vectors, encoded = encode_cached(
            texts,
            embedder,
            VectorCache.of(self.settings.vector_cache_dir, embedder),
            group=group,
            progress=advance,
            token_counts=lambda batch: passage_token_counts(embedder, batch),
        )
        tmp = temporary_folder(folder, VECTORS)
        try:
            index = VectorIndex.build(vectors)
            index.save(tmp)
            shutil.rmtree(folder / VECTORS, ignore_errors=True)
            os.replace(tmp, folder / VECTORS)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        t0 = time.perf_counter()  # the book's own low-confidence cuts, before the manifest says the vectors are ready
        calibration = calibrate(Retriever(chunks, index, KeywordIndex.load(folder / KEYWORD), embedder, self.settings))
        calibrate_s = time.perf_counter() - t0
        vector_s = time.perf_counter() - started
        timings = dict(manifest.timings, embed=round(encoded.seconds, 3), vectors=round(vector_s - calibrate_s, 3))
        timings["calibrate"] = round(calibrate_s, 3)
        timings["total"] = round(timings.get("ready", 0.0) + vector_s, 3)
        manifest = dataclasses.replace(
            manifest,
            vectors_ready=True,
            vectors_done=len(texts),
            embedding_dim=int(embedder.dim),
            embedding_backend=str(getattr(embedder, "backend", "custom")),
            encoded={"cached": encoded.cached, "encoded": encoded.encoded, "tokens": encoded.tokens},
            timings=timings,
            calibration=calibration.to_json(),
            index_bytes=_folder_bytes(folder, exclude=SOURCE_PDF),
        )
        write_json(folder / MANIFEST, manifest.to_json())
        logger.info(
            "vectors of %s: %d encoded, %d from the cache, in %.1f s", manifest.book_id, encoded.encoded, encoded.cached, vector_s
        )
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
        from bookqa.index.keyword_index import KeywordIndex
        from bookqa.index.retriever import Retriever

        keywords = KeywordIndex.load(folder / KEYWORD)
        if not manifest.vectors_ready:  # keyword search until the vectors land; no model to load
            retriever = Retriever(chunks, None, keywords, None, self.settings)
            return Book(folder=folder, manifest=manifest, pages=None, outline=outline, chunks=chunks, retriever=retriever)
        from bookqa.index.embedders import QUERY, load_embedder
        from bookqa.index.vector_index import VectorIndex

        vectors = VectorIndex.load(folder / VECTORS)
        embedder = embedder or load_embedder(self.settings, QUERY)
        if embedder.dim != manifest.embedding_dim:
            raise IndexMismatchError(
                f"The book {manifest.book_id} has {manifest.embedding_dim}-dimensional vectors, "
                f"the embedding model gives {embedder.dim}.",
                f"Rebuild it: python -m bookqa index {manifest.book_id} --rebuild",
            )
        retriever = Retriever(chunks, vectors, keywords, embedder, self.settings)
        return Book(folder=folder, manifest=manifest, pages=None, outline=outline, chunks=chunks, retriever=retriever)


def _passage_embedder(settings: Settings) -> Embedder:
    from bookqa.index.embedders import load_embedder

    return load_embedder(settings)


def _check_model(settings: Settings) -> None:
    """Raise ModelError for an embedding model setting that names nothing, without loading the model."""
    from bookqa.index.embedders import check_model

    check_model(settings)


def _remove_leftovers(root: Path, book_id: str) -> None:
    """Delete the temporary folders of earlier builds of ``book_id`` that were killed (the build lock is held)."""
    for path in root.glob(f".build-{book_id}-*"):
        shutil.rmtree(path, ignore_errors=True)


def _stage(progress: StageProgress | None, stage: str) -> Progress | None:
    if progress is None:
        return None
    return lambda done, total: progress(stage, done, total)


def _folder_bytes(folder: Path, exclude: str) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p.name != exclude)

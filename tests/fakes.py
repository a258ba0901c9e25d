"""Test doubles: a deterministic embedder that needs no model, and the factory that hands it to the app and the CLI
(``BOOKQA_EMBEDDING_FACTORY=fakes:fake_embedder``); a recogniser that reads scanned fixture pages from their text
layer (for the OCR plumbing; the real OCR runs in the slow tier)."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from bookqa.config import Settings
from bookqa.index.embedders import PASSAGE, Progress

FACTORY = "fakes:fake_embedder"
"""The ``BOOKQA_EMBEDDING_FACTORY`` value that makes the app and the CLI embed with :class:`FakeEmbedder`."""

FAKE_ENVIRONMENT = {"BOOKQA_EMBEDDING_FACTORY": FACTORY, "BOOKQA_EMBEDDING_MODEL": "fake-256"}
"""What makes the app and the command line embed with the fast fake (tests that need the real model say so). The
fake knows no meaning, so a book's calibration cannot separate its questions from off-topic ones: nothing is
flagged by similarity."""


class FakeEmbedder:
    """Deterministic bag-of-character-n-grams embedder for unit tests (no model, no network).

    Texts sharing characters and bigrams get similar vectors, so retrieval tests behave sensibly. ``calls`` counts
    the texts embedded, per kind.
    """

    backend = "fake"

    def __init__(self, dim: int = 256) -> None:
        if dim < 8:
            raise ValueError(f"FakeEmbedder dim must be at least 8, got {dim}.")
        self.dim = dim
        self.name = f"fake-{dim}"
        self.calls = {"query": 0, "passage": 0}

    def embed(self, texts: Sequence[str], kind: str = PASSAGE, progress: Progress | None = None) -> np.ndarray:
        """Hash each text's lower-cased characters and bigrams into ``dim`` buckets; unit-normalise."""
        self.calls[kind] += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            chars = [c for c in text.lower() if not c.isspace()]
            grams = chars + [a + b for a, b in zip(chars, chars[1:])]
            for gram in grams:
                digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dim] += 1.0 if digest[4] & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
            if progress:
                progress(row + 1, len(texts))
        return out


def fake_embedder(settings: Settings) -> FakeEmbedder:
    """The embedder factory for ``BOOKQA_EMBEDDING_FACTORY``: a 256-dimensional :class:`FakeEmbedder`."""
    return FakeEmbedder()


class SlowFakeEmbedder(FakeEmbedder):
    """A :class:`FakeEmbedder` that takes ``seconds`` per passage, so a test can stop a build half-way."""

    def __init__(self, dim: int = 256, seconds: float = 0.3) -> None:
        super().__init__(dim)
        self.seconds = seconds

    def embed(self, texts: Sequence[str], kind: str = PASSAGE, progress: Progress | None = None) -> np.ndarray:
        if kind == PASSAGE:
            time.sleep(self.seconds * len(texts))
        return super().embed(texts, kind, progress)


def slow_fake_embedder(settings: Settings) -> SlowFakeEmbedder:
    """The factory for ``BOOKQA_EMBEDDING_FACTORY=fakes:slow_fake_embedder`` (same vectors as :func:`fake_embedder`)."""
    return SlowFakeEmbedder()


GATE = threading.Event()
"""Opened by a test to let :class:`GatedFakeEmbedder` encode passages (set it again before the next use)."""


class GatedFakeEmbedder(FakeEmbedder):
    """A :class:`FakeEmbedder` that encodes passages only once :data:`GATE` is set, so a test can look at a build
    in progress for as long as it needs."""

    def embed(self, texts: Sequence[str], kind: str = PASSAGE, progress: Progress | None = None) -> np.ndarray:
        if kind == PASSAGE:
            GATE.wait(120)
        return super().embed(texts, kind, progress)


def gated_fake_embedder(settings: Settings) -> GatedFakeEmbedder:
    """The factory for ``BOOKQA_EMBEDDING_FACTORY=fakes:gated_fake_embedder``."""
    return GatedFakeEmbedder()


class FileGatedFakeEmbedder(FakeEmbedder):
    """A :class:`FakeEmbedder` that encodes passages only once the file ``gate`` exists (a gate for child processes)."""

    def __init__(self, gate: Path) -> None:
        super().__init__()
        self.gate = gate

    def embed(self, texts: Sequence[str], kind: str = PASSAGE, progress: Progress | None = None) -> np.ndarray:
        while kind == PASSAGE and not self.gate.exists():
            time.sleep(0.05)
        return super().embed(texts, kind, progress)


def file_gated_fake_embedder(settings: Settings) -> FileGatedFakeEmbedder:
    """The factory for ``BOOKQA_EMBEDDING_FACTORY=fakes:file_gated_fake_embedder``: the gate is ``<data_dir>/open``."""
    return FileGatedFakeEmbedder(Path(settings.data_dir) / "open")


class FakeRecogniser:
    """A recogniser that "reads" page images it was told about: ``pages`` maps the sha256 of a grey page image (as
    :func:`bookqa.reading.ocr.render_for_ocr` renders it) to its lines ``(corners, text, confidence)`` in pixels;
    any other image reads as empty. It counts the images it is shown (in this process), and pickles for workers."""

    signature = "fake recogniser"

    def __init__(self, pages: dict[str, list[tuple[list[tuple[float, float]], str, float]]]) -> None:
        self.pages = pages
        self.calls = 0

    def __call__(self, image: np.ndarray) -> list[tuple[list[tuple[float, float]], str, float]]:
        self.calls += 1
        return self.pages.get(image_digest(image), [])


def image_digest(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()


def recogniser_for(text_pdf: Path, scan_pdf: Path, dpi: int, confidence: float = 0.99,
                   pages: Sequence[int] | None = None) -> FakeRecogniser:
    """A :class:`FakeRecogniser` that reads each page of ``scan_pdf`` (a scanned copy of ``text_pdf``, page for page)
    as the text layer of the same page of ``text_pdf`` says: its rows as lines, boxes turned into pixels at
    ``dpi``. ``pages`` (0-based) limits which scanned pages it knows."""
    import pymupdf

    from bookqa.reading.layout import read_layout
    from bookqa.reading.ocr import render_for_ocr

    known = {}
    scale = dpi / 72
    with pymupdf.open(text_pdf) as text, pymupdf.open(scan_pdf) as scan:
        for index in range(scan.page_count) if pages is None else pages:
            rows = read_layout(text.load_page(index)).rows
            lines = [([(r.x0 * scale, r.y0 * scale), (r.x1 * scale, r.y0 * scale), (r.x1 * scale, r.y1 * scale),
                       (r.x0 * scale, r.y1 * scale)], r.text, confidence) for r in rows]
            known[image_digest(render_for_ocr(scan.load_page(index), dpi)[0])] = lines
    return FakeRecogniser(known)

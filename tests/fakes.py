"""Test doubles: a deterministic embedder that needs no model, and the factory that hands it to the app and the CLI
(``BOOKQA_EMBEDDING_FACTORY=fakes:fake_embedder``)."""

from __future__ import annotations

import hashlib
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

    Texts sharing characters and bigrams get similar vectors, so retrieval tests behave sensibly.
    """

    def __init__(self, dim: int = 256) -> None:
        if dim < 8:
            raise ValueError(f"FakeEmbedder dim must be at least 8, got {dim}.")
        self.dim = dim
        self.name = f"fake-{dim}"

    def embed(self, texts: Sequence[str], kind: str = PASSAGE, progress: Progress | None = None) -> np.ndarray:
        """Hash each text's lower-cased characters and bigrams into ``dim`` buckets; unit-normalise."""
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

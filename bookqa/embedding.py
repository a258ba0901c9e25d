"""Embedders: turn texts into L2-normalised float32 vectors.

One method per backend (``embed``), loaded on first use. ``FakeEmbedder`` is a deterministic stand-in
for fast unit tests; the real default is the embedded multilingual-e5-small (see ``load_embedder``).
"""

from __future__ import annotations

import hashlib
from typing import Callable, Protocol, Sequence

import numpy as np

QUERY = "query"
PASSAGE = "passage"

Progress = Callable[[int, int], None]
"""A progress callback: called with (done, total) as work advances."""


class Embedder(Protocol):
    """Anything that embeds texts.

    ``name``: the model name recorded in a book's manifest. ``dim``: vector dimension.
    ``embed(texts, kind)`` returns an ``(len(texts), dim)`` float32 array of unit vectors; ``kind`` is
    ``"query"`` or ``"passage"`` (models with asymmetric prompts use it, others ignore it).
    """

    name: str
    dim: int

    def embed(self, texts: Sequence[str], kind: str = PASSAGE, progress: Progress | None = None) -> np.ndarray: ...


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

"""Dense index: exact inner-product search over unit vectors with FAISS, filters applied inside the search.

Inner product over L2-normalised vectors is cosine similarity; a flat (exact) index is the right tool for
the few thousand chunks of a book. Saved as one plain FAISS file, never pickled.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

FILE_NAME = "vectors.faiss"


class VectorIndex:
    """Exact cosine-similarity search over the chunk vectors of one book (row ``i`` is chunk position ``i``)."""

    def __init__(self, index: faiss.Index) -> None:
        """Wrap a FAISS inner-product ``index``; use :meth:`build` or :meth:`load` rather than this."""
        if index.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise ValueError("VectorIndex needs a FAISS index with the inner-product metric (faiss.IndexFlatIP).")
        self._index = index

    @classmethod
    def build(cls, vectors: np.ndarray) -> "VectorIndex":
        """Index ``vectors``, an ``(n, dim)`` array of unit vectors (one row per chunk, in chunk order)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or 0 in vectors.shape:
            raise ValueError(f"vectors must be a non-empty 2-D (n, dim) array, got shape {vectors.shape}.")
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(np.ascontiguousarray(vectors))
        return cls(index)

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return self._index.d

    def __len__(self) -> int:
        return self._index.ntotal

    def search(
        self, query_vectors: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` rows most similar to each query, best first.

        ``query_vectors``: ``(q, dim)`` unit vectors. ``k``: hits wanted per query (at least 1).
        ``allowed``: optional boolean mask over rows; only rows where it is True are searched (FAISS
        ``IDSelectorBitmap``), so ``k`` hits come back whenever ``k`` rows are allowed.
        Returns ``(scores, ids)``, two ``(q, m)`` arrays (float32 similarities, int64 row positions) where
        ``m = min(k, number of searchable rows)``: every entry is a real hit, there is no -1 padding.
        """
        queries = np.ascontiguousarray(query_vectors, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"query_vectors must have shape (q, {self.dim}), got {queries.shape}.")
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}.")
        params = None
        available = len(self)
        if allowed is not None:
            allowed = np.asarray(allowed)
            if allowed.dtype != np.bool_ or allowed.shape != (len(self),):
                raise ValueError(f"allowed must be a boolean array of shape ({len(self)},), got {allowed.dtype} {allowed.shape}.")
            available = int(allowed.sum())
            bitmap = np.packbits(allowed, bitorder="little")  # bit i % 8 of byte i // 8 selects row i
            params = faiss.SearchParameters(sel=faiss.IDSelectorBitmap(bitmap))
        m = min(k, available)
        if m == 0:
            return np.empty((len(queries), 0), np.float32), np.empty((len(queries), 0), np.int64)
        return self._index.search(queries, m, params=params)

    def save(self, folder: str | Path) -> Path:
        """Write the index into ``folder`` (created if missing); returns the file written."""
        path = Path(folder) / FILE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self._index, str(path))
        return path

    @classmethod
    def load(cls, folder: str | Path) -> "VectorIndex":
        """Read an index written by :meth:`save` from ``folder``."""
        path = Path(folder) / FILE_NAME
        if not path.is_file():
            raise FileNotFoundError(f"No vector index at {path}.")
        return cls(faiss.read_index(str(path)))

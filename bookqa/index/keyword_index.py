"""Keyword index: BM25 with bm25s over the book's tokens (:mod:`bookqa.index.tokenizer`), filters applied inside
the search. Saved as bm25s's plain files (``allow_pickle=False``) plus the tokenizer's extra words in a JSON file.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Iterable, Sequence

import bm25s
import numpy as np

from bookqa.index.tokenizer import Tokenizer

WORDS_FILE = "extra_words.json"

logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets its logger to DEBUG: every index build would print


class KeywordIndex:
    """BM25 over the chunk texts of one book (document ``i`` is chunk position ``i``)."""

    def __init__(self, bm25: bm25s.BM25, tokenizer: Tokenizer) -> None:
        """Wrap an indexed ``bm25`` built with ``tokenizer``; use :meth:`build` or :meth:`load` rather than this."""
        if not getattr(bm25, "vocab_dict", None):
            raise ValueError("KeywordIndex needs an indexed bm25s.BM25 (call its index() first).")
        self._bm25 = bm25
        self._tokenizer = tokenizer

    @classmethod
    def build(cls, texts: Sequence[str], extra_words: Iterable[str] = ()) -> "KeywordIndex":
        """Index ``texts`` (one per chunk, in chunk order); ``extra_words`` are added to jieba's dictionary."""
        if not texts:
            raise ValueError("KeywordIndex.build needs at least one text.")
        tokenizer = Tokenizer(extra_words)
        bm25 = bm25s.BM25()
        bm25.index([tokenizer(text) for text in texts], show_progress=False)
        return cls(bm25, tokenizer)

    def __len__(self) -> int:
        return int(self._bm25.scores["num_docs"])

    @property
    def extra_words(self) -> tuple[str, ...]:
        """The words added to jieba's dictionary (lower case)."""
        return self._tokenizer.extra_words

    @property
    def tokenizer(self) -> Tokenizer:
        """The tokenizer ``text`` is indexed and searched with (the book's own dictionary)."""
        return self._tokenizer

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` documents that score best for ``query``, best first.

        ``k``: hits wanted (at least 1). ``allowed``: optional boolean mask over documents; the others are
        weighted 0 inside the search (bm25s ``weight_mask``), so ``k`` hits come back whenever ``k`` allowed
        documents share a token with the query.
        Returns ``(scores, ids)``: 1-D float32 BM25 scores (all above 0) and int64 document positions; both are
        empty when no query token is in the index.
        """
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}.")
        weights = None
        if allowed is not None:
            allowed = np.asarray(allowed)
            if allowed.dtype != np.bool_ or allowed.shape != (len(self),):
                raise ValueError(f"allowed must be a boolean array of shape ({len(self)},), got {allowed.dtype} {allowed.shape}.")
            weights = allowed.astype(np.float32)
        vocab = self._bm25.vocab_dict
        tokens = [token for token in self._tokenizer(query) if token in vocab]
        if not tokens:
            return np.empty(0, np.float32), np.empty(0, np.int64)
        ids, scores = self._bm25.retrieve([tokens], k=min(k, len(self)), weight_mask=weights, show_progress=False)
        found = scores[0] > 0
        return scores[0][found].astype(np.float32), ids[0][found].astype(np.int64)

    def coverage(self, query: str) -> float:
        """The share of ``query``'s distinct tokens that occur in the indexed texts at all (0 for a query without
        tokens): how much of the question keyword search can read."""
        tokens = set(self._tokenizer(query))
        return sum(token in self._bm25.vocab_dict for token in tokens) / len(tokens) if tokens else 0.0

    def save(self, folder: str | Path) -> Path:
        """Write the index into ``folder`` (created if missing); returns the folder."""
        folder = Path(folder)
        self._bm25.save(folder, allow_pickle=False, show_progress=False)
        (folder / WORDS_FILE).write_text(json.dumps(list(self.extra_words), ensure_ascii=False), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "KeywordIndex":
        """Read an index written by :meth:`save` from ``folder``; it tokenises queries as the built one did."""
        folder = Path(folder)
        words = folder / WORDS_FILE
        if not words.is_file():
            raise FileNotFoundError(f"No keyword index at {folder} ({WORDS_FILE} is missing).")
        bm25 = bm25s.BM25.load(folder, allow_pickle=False, show_progress=False)
        return cls(bm25, Tokenizer(json.loads(words.read_text(encoding="utf-8"))))

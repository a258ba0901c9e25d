"""How well a question matches the section titles over each chunk: BM25 over the book's titles, read back per chunk.

The retriever reaches a book's front and back matter (a preface, "About this book") only where a question matches
their titles. A chunk's title score is the best score among the titles on its section path, so every chunk of 7.7
carries the match of "稠密连接网络（DenseNet）".
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

import bm25s
import numpy as np

from bookqa.types import Chunk

_NUMBER = re.compile(r"^\s*\d+(\.\d+)*\s+")


class TitleIndex:
    """BM25 over the distinct section titles of ``chunks``; ``tokenize`` is the keyword index's tokeniser."""

    def __init__(self, chunks: Sequence[Chunk], tokenize: Callable[[str], list[str]]) -> None:
        titles = list(dict.fromkeys(title for chunk in chunks for title in chunk.section_path))
        self._tokenize = tokenize
        self._bm25: bm25s.BM25 | None = None
        tokens = [tokenize(_NUMBER.sub("", title)) for title in titles]
        if any(tokens):
            self._bm25 = bm25s.BM25()
            self._bm25.index([t or ["\u0000"] for t in tokens], show_progress=False)
        ids = {title: i for i, title in enumerate(titles)}
        depth = max((len(chunk.section_path) for chunk in chunks), default=0)
        self._paths = np.full((len(chunks), max(depth, 1)), len(titles), dtype=np.int64)  # len(titles): "no title"
        for row, chunk in enumerate(chunks):
            self._paths[row, : len(chunk.section_path)] = [ids[title] for title in chunk.section_path]

    def scores(self, query: str, ignore: frozenset[str] = frozenset()) -> np.ndarray:
        """Per chunk, the best BM25 score of ``query`` against the titles on its section path, divided by the
        best title score in the book (so 1.0 marks the chunks under the best-matching title); all 0 without a match.
        Tokens in ``ignore`` are left out of the query."""
        result = np.zeros(len(self._paths), dtype=np.float32)
        if self._bm25 is None:
            return result
        tokens = [t for t in self._tokenize(query) if t in self._bm25.vocab_dict and t not in ignore]
        if not tokens:
            return result
        per_title = np.append(self._bm25.get_scores(tokens), 0.0).astype(np.float32)
        best = float(per_title.max())
        if best <= 0:
            return result
        return per_title[self._paths].max(axis=1) / best

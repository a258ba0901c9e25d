"""The naive pipeline BookQA replaces, kept as a yardstick for evaluation.

As the old notebook did: raw page text with the contents pages included, fixed 250-character windows,
dense retrieval only, top k. It uses the same embedding model as the real pipeline so the comparison
isolates ingestion and retrieval.
"""

from __future__ import annotations

from pathlib import Path

from bookqa.index.embedders import PASSAGE, QUERY, Embedder, Progress
from bookqa.index.vector_index import VectorIndex
from bookqa.reading.pdf import open_pdf
from bookqa.types import Chunk, Hit, Scores, SignalScore

WINDOW = 250


class NaiveBaseline:
    """Dense search over fixed windows of raw page text.

    ``pdf_path``: the book. ``embedder``: the embedding model (the same as the real pipeline's).
    ``window``: characters per window (no overlap, windows never span pages).
    """

    def __init__(self, pdf_path: str | Path, embedder: Embedder, window: int = WINDOW, progress: Progress | None = None) -> None:
        if window < 1:
            raise ValueError(f"window must be positive, got {window}")
        self.embedder = embedder
        self.chunks = _windows(Path(pdf_path), window)
        vectors = embedder.embed([c.text for c in self.chunks], kind=PASSAGE, progress=progress)
        self.index = VectorIndex.build(vectors)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` windows most similar to ``query``, best first."""
        scores, ids = self.index.search(self.embedder.embed([query], kind=QUERY), k)
        return [
            Hit(chunk=self.chunks[i], rank=rank, score=float(s), scores=Scores(dense=SignalScore(float(s), rank)))
            for rank, (s, i) in enumerate(zip(scores[0], ids[0]), start=1)
            if i >= 0
        ]


def _windows(pdf_path: Path, window: int) -> list[Chunk]:
    """Raw text of every page, cut into ``window``-character pieces."""
    chunks: list[Chunk] = []
    with open_pdf(pdf_path) as doc:
        for index, page in enumerate(doc):
            text = page.get_text()
            for start in range(0, len(text), window):
                piece = text[start:start + window]
                if piece.strip():
                    chunks.append(Chunk(f"naive:{len(chunks):06d}", "naive", piece, index + 1, index + 1, ()))
    return chunks

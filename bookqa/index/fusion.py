"""How hybrid mode fuses the dense and keyword signals into one score, and how a passage made of several chunks
scores.

Two methods (``settings.fusion``):
- ``weighted`` (the default): each signal's score is scaled to [0, 1] over its candidates and
  ``fused = (w * dense_scaled + (1 - w) * c * keyword_scaled) / (w + (1 - w) * c)``;
- ``rrf``: reciprocal rank fusion, ``fused = 1 / (rrf_k + dense_rank) + c / (rrf_k + keyword_rank)``.
Section titles are no signal of their own: every chunk is embedded and keyword-indexed with its section path
(:func:`bookqa.index.retriever.index_text`), so both signals already read them; a separate title match counted them
twice and pulled questions towards any section whose title shares a word (README, benchmark figures). ``c``, the
keyword signal's coverage, is the share of the question's words that the book's keyword index holds at all
(:meth:`KeywordIndex.coverage`): 1 for a question in the book's language, low for one in another language, whose
few matches (a code name, a stray English word) say little about the topic, so they cannot outvote the multilingual
dense signal. The measured trade-off between the two methods is in the README's benchmark figures.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np

from bookqa.config import Settings
from bookqa.types import FusionMethod, Scores, Signal, SignalScore

Ranked = tuple[np.ndarray, np.ndarray]
"""One signal's candidates, best first: ``(scores, chunk positions)``."""


@dataclass(frozen=True)
class Fusion:
    """How hybrid mode combines the signals into one ``fused`` score (see the module docstring).

    ``method``: weighted or reciprocal rank fusion. ``dense_weight``: the dense signal's share in weighted fusion
    (the keyword signal has the rest). ``rrf_k``: the constant of reciprocal rank fusion.
    """

    method: FusionMethod = FusionMethod.WEIGHTED
    dense_weight: float = 0.5
    rrf_k: int = 60

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", FusionMethod.parse(self.method, "fusion"))
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ValueError(f"dense_weight must lie in [0, 1], got {self.dense_weight}.")

    @classmethod
    def from_settings(cls, settings: Settings) -> "Fusion":
        """The fusion ``settings`` ask for (``fusion``, ``dense_weight``, ``rrf_k``)."""
        return cls(settings.fusion, settings.dense_weight, settings.rrf_k)

    def describe(self) -> str:
        """The fused score's formula in words, for people reading the scores."""
        if self.method == FusionMethod.RRF:
            return (
                f"Reciprocal rank fusion: sum of 1/({self.rrf_k} + rank) over the signals (the keyword one times the share "
                f"of the question's words the book has)"
            )
        return (
            f"Weighted fusion: {self.dense_weight:g} x dense + {1 - self.dense_weight:g} x keyword, each scaled to 0-1 "
            f"over its candidates (the keyword weight times the share of the question's words the book has, the sum "
            f"rescaled to 0-1)"
        )

    def fuse(self, scores: Scores, coverage: float = 1.0) -> float:
        """The fused score of one passage's scores; ``coverage``: the keyword signal's (see the module docstring)."""
        if self.method == FusionMethod.RRF:
            ranks = sum(1.0 / (self.rrf_k + s.rank) for s in (scores.dense,) if s is not None)
            ranks += coverage / (self.rrf_k + scores.keyword.rank) if scores.keyword is not None else 0.0
            return ranks
        dense = (scores.dense.scaled or 0.0) if scores.dense else 0.0
        keyword = (scores.keyword.scaled or 0.0) if scores.keyword else 0.0
        keyword_weight = (1.0 - self.dense_weight) * coverage
        total = self.dense_weight + keyword_weight
        return (self.dense_weight * dense + keyword_weight * keyword) / total if total > 0 else 0.0


def score_breakdown(
    signals: Mapping[Signal, Ranked], fusion: Fusion | None = None, coverage: float = 1.0
) -> dict[int, Scores]:
    """Per candidate position, each signal's score and 1-based rank, and the fused score.

    ``signals``: dense and/or keyword candidates, ranked best first. ``fusion``: when given, each signal's score is
    also scaled to [0, 1] over its candidates (dense: min to max; keyword: 0 to max, since BM25 starts at 0) and
    the fused score is set (:meth:`Fusion.fuse`). ``coverage``: the keyword signal's, in [0, 1] (:meth:`Fusion.fuse`).
    """
    found: dict[int, dict[Signal, SignalScore]] = {}
    for name, (scores, ids) in signals.items():
        scaled = _scaled(name, scores) if fusion is not None else None
        for rank, (score, position) in enumerate(zip(scores.tolist(), ids.tolist()), start=1):
            found.setdefault(position, {})[name] = SignalScore(score, rank, None if scaled is None else float(scaled[rank - 1]))
    breakdown = {}
    for position, by_signal in found.items():
        scores = Scores(dense=by_signal.get(Signal.DENSE), keyword=by_signal.get(Signal.KEYWORD))
        breakdown[position] = replace(scores, fused=fusion.fuse(scores, coverage)) if fusion is not None else scores
    return breakdown


def _scaled(name: Signal, scores: np.ndarray) -> np.ndarray:
    """``scores`` (best first) mapped onto [0, 1]: the best is 1; the floor is the lowest candidate for dense
    similarities and 0 for keyword scores; a list whose scores are all equal maps to 1."""
    if not len(scores):
        return scores
    high = float(scores[0])
    low = 0.0 if name == Signal.KEYWORD else float(scores[-1])
    if high <= low:
        return np.ones(len(scores), dtype=np.float64)
    return (scores.astype(np.float64) - low) / (high - low)


def merge_scores(parts: Sequence[Scores]) -> Scores:
    """The scores of a passage made of several chunks: each signal's best score, best scaled score and best rank,
    and the best fused score among them. A passage ranks as its best chunk does, so joining a
    weaker neighbour never lifts it."""

    def best_signal(found: list[SignalScore]) -> SignalScore | None:
        if not found:
            return None
        scaled = [s.scaled for s in found if s.scaled is not None]
        return SignalScore(max(s.score for s in found), min(s.rank for s in found), max(scaled) if scaled else None)

    def best(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return max(present) if present else None

    return Scores(
        dense=best_signal([p.dense for p in parts if p.dense is not None]),
        keyword=best_signal([p.keyword for p in parts if p.keyword is not None]),
        fused=best([p.fused for p in parts]),
    )

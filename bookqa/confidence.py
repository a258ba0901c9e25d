"""Does retrieval support an answer? A rule on the hits' scores, so a question the book does not cover is
flagged (and answered with a plain "not covered") instead of being answered from loosely related passages.

Support comes from either signal:
- dense: the best dense similarity reaches the threshold (``settings.low_confidence_threshold``);
- keyword: one of the first ``SUPPORT_DEPTH`` hits was found by keyword search and contains (in its text
  or section path) every name of the question (a key term in Latin letters: DenseNet, XGBoost) and enough
  of all its key terms: ``NAMED_COVERAGE`` when the question has a name (the names found are strong
  evidence), else ``KEYWORD_COVERAGE``; so common words (模型, 训练) alone do not count as support.
Hits that carry neither signal cannot be judged and are taken as support.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from bookqa.lang import key_terms
from bookqa.types import Hit

KEYWORD_COVERAGE = 0.75
"""Share of the question's key terms one keyword-matched hit must contain to count as keyword support."""
NAMED_COVERAGE = 0.5
"""The same share for a question with names, once the hit holds every name."""

SUPPORT_DEPTH = 3
"""How many of the best hits are looked at for keyword support."""

_LATIN = re.compile(r"[a-z]")


@dataclass(frozen=True)
class Confidence:
    """The verdict on one retrieval.

    ``low``: nothing supports an answer. ``top_dense``: the best dense similarity (None without a dense
    signal). ``coverage``: the best share of key terms found in a keyword-matched hit that holds all the
    question's names (0 when none does; None without keyword hits or key terms). ``reason``: one line
    saying why, for logs and the inspector.
    """

    low: bool
    top_dense: float | None
    coverage: float | None
    reason: str


def assess(question: str, hits: Sequence[Hit], threshold: float) -> Confidence:
    """Judge whether ``hits`` (best first) support an answer to ``question`` (the query they were retrieved
    for); ``threshold`` is the dense similarity that counts as support on its own."""
    if not hits:
        return Confidence(True, None, None, "nothing was retrieved")
    dense = [hit.scores["dense"] for hit in hits if "dense" in hit.scores]
    top_dense = max(dense) if dense else None
    coverage = _coverage(question, hits[:SUPPORT_DEPTH])
    if top_dense is not None and top_dense >= threshold:
        return Confidence(False, top_dense, coverage, f"dense similarity {top_dense:.3f} >= {threshold:.3f}")
    named = any(_LATIN.search(term) for term in key_terms(question))
    if coverage is not None and coverage >= (NAMED_COVERAGE if named else KEYWORD_COVERAGE):
        return Confidence(False, top_dense, coverage, f"a keyword hit holds {coverage:.0%} of the key terms")
    if top_dense is None and not any("keyword" in hit.scores for hit in hits):
        return Confidence(False, None, None, "the hits carry no dense or keyword score to judge by")
    dense_text = "no dense score" if top_dense is None else f"dense similarity {top_dense:.3f} < {threshold:.3f}"
    keyword_text = "no keyword support" if coverage is None else f"keyword coverage {coverage:.0%}"
    return Confidence(True, top_dense, coverage, f"{dense_text}, {keyword_text}")


def _coverage(question: str, hits: Sequence[Hit]) -> float | None:
    """The best share of the question's key terms in one keyword-matched hit holding all its names."""
    wanted = [term.lower() for term in key_terms(question)]
    candidates = [hit for hit in hits if "keyword" in hit.scores]
    if not wanted or not candidates:
        return None
    names = [term for term in wanted if _LATIN.search(term)]
    best = 0.0
    for hit in candidates:
        text = (" ".join(hit.chunk.section_path) + "\n" + hit.chunk.text).lower()
        if all(name in text for name in names):
            best = max(best, sum(term in text for term in wanted) / len(wanted))
    return best

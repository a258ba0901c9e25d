"""Does retrieval support an answer? A rule on the hits, so a question the book does not cover is flagged
(and answered with a plain "not covered") instead of being answered from loosely related passages.

In order:
1. nothing retrieved: low;
2. names: a question's names (in a Chinese question its Latin-letter key terms, in an English one those spelt
   like names, with capitals inside or digits: XGBoost, LoRA, PPO, DenseNet, word2vec, or capitalised where no
   sentence starts: Dijkstra, Kalman) name its topic; when
   none of the first ``SUPPORT_DEPTH`` hits mentions one of them (in its text or section path), and the book
   mentions it in fewer than ``RARE_NAME_CHUNKS`` passages (``mentions``; a name the book uses everywhere, like
   PyTorch, is not a topic it lacks), the book does not treat that topic: low; when one of the names is in the
   section path of one of those hits ("9.1 门控循环单元（GRU）" for "GRU是什么"), the book has a section on it:
   supported, however short the question and low its similarity;
3. dense: with a dense signal, the best dense similarity must reach the book's calibrated cut
   (:mod:`bookqa.answering.calibration`) for a question in the language of the first hits' prose, or the lower
   cut for one in the other language, unless one of the first keyword-matched hits holds every one of the
   question's key terms (at least ``FULL_MATCH_TERMS`` of them); a book whose calibration could not separate its
   questions from off-topic ones has no cut, and similarity flags nothing;
4. keyword only (keyword retrieval mode): one of the first hits found by keyword search must hold
   ``KEYWORD_COVERAGE`` of the question's key terms;
5. hits with neither signal cannot be judged and are taken as support.

What the rules catch on each book is measured by ``bench/bench_answers.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from bookqa.answering.calibration import Calibration
from bookqa.index.query import Query
from bookqa.text import language_of
from bookqa.types import ChunkKind, Hit, Language

SUPPORT_DEPTH = 3
"""How many of the best hits are looked at for names and keyword coverage."""

RARE_NAME_CHUNKS = 3
"""A name the book mentions in fewer passages than this, and not in the first hits, is a topic it does not treat."""

KEYWORD_COVERAGE = 0.75
"""Share of the question's key terms a keyword-matched hit must hold when there is no dense signal."""

FULL_MATCH_TERMS = 3
"""A question with at least this many key terms, every one held by one of the first keyword-matched hits, is
supported even under the dense cut: that passage names everything the question asks about."""

_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
_NAME_SPELLING = re.compile(r"^.+[A-Z]|[A-Za-z].*\d|\d.*[A-Za-z]")
"""A word spelt like a name in English text: a capital after its first letter (LoRA, XGBoost, SVM) or letters and
digits mixed (word2vec, GPT4)."""
_PROPER = re.compile(r"(?<![.!?:;]\s)(?<!^)(?<=\s)([A-Z][a-z]+)\b")
"""A capitalised word inside a sentence (not its first word): in English, a proper name."""


@dataclass(frozen=True)
class Confidence:
    """The verdict on one retrieval.

    ``low``: nothing supports an answer. ``top_dense``: the best dense similarity (None without a dense
    signal). ``coverage``: the best share of the question's key terms held by one of the first keyword-matched
    hits (None without such hits or without key terms). ``reason``: one line saying why, for logs and the
    inspector.
    """

    low: bool
    top_dense: float | None
    coverage: float | None
    reason: str


def assess(
    question: Query, hits: Sequence[Hit], cuts: Calibration | None, mentions: Callable[[str], int] | None = None
) -> Confidence:
    """Judge whether ``hits`` (best first) support an answer to ``question`` (the query they were retrieved
    for); ``cuts`` are the book's dense-similarity cuts (None: not calibrated, similarity flags nothing);
    ``mentions`` counts the book's passages that mention a lower-case name (without it, a name the first hits do
    not mention counts as missing). See the module docstring for the rules."""
    if not hits:
        return Confidence(True, None, None, "nothing was retrieved")
    first = hits[:SUPPORT_DEPTH]
    wanted = [term.lower() for term in question.key_terms]
    dense = [hit.scores.dense.score for hit in hits if hit.scores.dense is not None]
    top_dense = max(dense) if dense else None
    coverage = _coverage(wanted, first)
    names = _names_of(question)
    if names:
        texts = [_text(hit) for hit in first]
        rare = [t for t in names if mentions is None or mentions(t) < RARE_NAME_CHUNKS]
        missing = [t for t in rare if not any(t in text for text in texts)]
        if missing:
            return Confidence(True, top_dense, coverage, f"the passages never mention {', '.join(missing)}")
        titled = [t for t in names if any(_names(t, " ".join(hit.chunk.section_path)) for hit in first)]
        if titled:
            return Confidence(False, top_dense, coverage, f"the book has a section on {', '.join(titled)}")
    if top_dense is not None:
        passages = _language_of_passages(first)
        book = cuts.reference(passages) if cuts is not None else passages
        kind = "cross-lingual dense similarity" if question.language != book else "dense similarity"
        limit = cuts.cut(question.language, passages) if cuts is not None else None
        if limit is None:
            why = cuts.note if cuts is not None else "the book has no calibrated cut"
            return Confidence(False, top_dense, coverage, f"{kind} {top_dense:.3f}, not judged ({why})")
        verdict = ">=" if top_dense >= limit else "<"
        if top_dense < limit and coverage == 1.0 and len(wanted) >= FULL_MATCH_TERMS:
            return Confidence(False, top_dense, coverage, f"{kind} {top_dense:.3f} < {limit:.3f}, but a passage holds every term")
        return Confidence(top_dense < limit, top_dense, coverage, f"{kind} {top_dense:.3f} {verdict} {limit:.3f}")
    if coverage is None:
        return Confidence(False, None, None, "the hits carry no dense or keyword score to judge by")
    verdict = ">=" if coverage >= KEYWORD_COVERAGE else "<"
    return Confidence(coverage < KEYWORD_COVERAGE, None, coverage, f"keyword coverage {coverage:.0%} {verdict} {KEYWORD_COVERAGE:.0%}")


def _names_of(question: Query) -> list[str]:
    """The question's names, lower case: Latin-letter key terms in a Chinese question; in another, those spelt like
    names, and those written with a capital where a sentence does not start (Dijkstra, Kalman: proper names)."""
    if question.language == Language.ZH:
        return [t.lower() for t in question.key_terms if _LATIN.search(t)]
    capitalised = {m.group(1).lower() for m in _PROPER.finditer(question.text)}
    return [t.lower() for t in question.key_terms if _NAME_SPELLING.search(t) or t.lower() in capitalised]


def _names(name: str, text: str) -> bool:
    """Whether ``text`` holds the lower-case ``name`` as a whole word ("gru" in "门控循环单元（GRU）", not in "grub")."""
    return re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", text.lower()) is not None


def _language_of_passages(hits: Sequence[Hit]) -> Language:
    """The language of the hits' prose (code and formula passages, mostly Latin letters, say nothing about it)."""
    prose = [hit.chunk.text for hit in hits if hit.chunk.kind == ChunkKind.PROSE] or [hit.chunk.text for hit in hits]
    return language_of("\n".join(prose))


def _text(hit: Hit) -> str:
    return (" ".join(hit.chunk.section_path) + "\n" + hit.chunk.text).lower()


def _coverage(wanted: Sequence[str], hits: Sequence[Hit]) -> float | None:
    """The best share of ``wanted`` terms held by one keyword-matched hit."""
    matched = [hit for hit in hits if hit.scores.keyword is not None]
    if not wanted or not matched:
        return None
    return max(sum(term in _text(hit) for term in wanted) / len(wanted) for hit in matched)

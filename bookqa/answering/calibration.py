"""The book's own low-confidence cut, calibrated when the book is built, for this book, this embedding model and
each question language.

Questions the book answers are stood in for by questions made from its own section titles ("什么是{title}？",
"What is {title}?"); questions no textbook covers by a small set shipped with BookQA (``data/off_topic.json``: the
same everyday questions in Chinese and in English). Each is scored by its best dense similarity to the book's
passages. The cut for questions in the book's language lies midway between the 5th percentile of the in-book
scores and the 90th percentile of the off-topic ones, when the first lies above the second. Questions in the
other language score lower against the same passages; how much lower is read off the off-topic pairs (the median
difference between a question and its translation), and their cut is lowered by as much. Where the two
distributions overlap, the book cannot be calibrated: nothing is flagged by similarity, and the calibration says so.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from bookqa.text import language_of
from bookqa.types import Chunk, ChunkKind, Language

OFF_TOPIC = Path(__file__).with_name("data") / "off_topic.json"
TEMPLATES = {
    Language.ZH: ("什么是{}？", "{}是做什么的？", "请解释一下{}。"),
    Language.EN: ("What is {}?", "How does {} work?", "Can you explain {}?"),
}
"""How a section title becomes a question a student might ask, per book language."""
MAX_TITLES = 120
"""Most section titles turned into questions (spread evenly over the book)."""
IN_BOOK_QUANTILE = 0.05
OFF_TOPIC_QUANTILE = 0.90
"""The cut lies between these two: most in-book questions above it, most off-topic ones below."""
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
"""What a calibration keeps of each distribution (for the inspector's chart)."""

_NUMBER = re.compile(r"^\s*(?:[A-Z]|\d+)(?:\.\d+)*\.?\s+")
"""A section path's number ("7.7 ", "A.1 ", and an appendix's bare letter "A ", which split_number leaves)."""


class Scorer(Protocol):
    """What calibration needs of a retriever: the chunks, and the best dense similarity of texts to them."""

    chunks: Sequence[Chunk]

    def best_similarities(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Calibration:
    """A book's low-confidence cuts and what they were read from.

    ``language``: the book's. ``same``/``cross``: the cut for questions in the book's language / in the other one
    (None: cannot be calibrated, nothing is flagged by similarity). ``shift``: how much lower the other language
    scores. ``in_book``/``off_topic``/``off_topic_cross``: the quantiles :data:`QUANTILES` of each distribution.
    ``questions``: how many title questions and off-topic pairs were scored. ``note``: one line on the outcome.
    """

    language: Language | None
    same: float | None
    cross: float | None
    shift: float
    in_book: tuple[float, ...]
    off_topic: tuple[float, ...]
    off_topic_cross: tuple[float, ...]
    questions: tuple[int, int]
    note: str

    def reference(self, passages: Language) -> Language:
        """The language a question is judged against: the book's, as calibrated; for cuts set outright, that of the
        passages retrieved, ``passages``."""
        return self.language or passages

    def cut(self, question: Language, passages: Language) -> float | None:
        """The cut for a question in ``question``'s language: the same-language one when that is :meth:`reference`."""
        return self.same if question == self.reference(passages) else self.cross

    def overridden(self, threshold: float) -> "Calibration":
        """These cuts with the same-language one set to ``threshold`` (a setting), the other lowered by ``shift``."""
        return replace(self, same=threshold, cross=threshold - self.shift, note=f"set to {threshold:g} by BOOKQA_LOW_CONFIDENCE_THRESHOLD")

    def to_json(self) -> dict[str, Any]:
        """The calibration as JSON-ready values (what the manifest stores)."""
        return {name: list(value) if isinstance(value, tuple) else str(value) if name == "language" and value else value
                for name, value in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Calibration":
        values = dict(data)
        values["language"] = Language(values["language"]) if values["language"] else None
        for name in ("in_book", "off_topic", "off_topic_cross", "questions"):
            values[name] = tuple(values[name])
        return cls(**values)

    @classmethod
    def fixed(cls, threshold: float, shift: float) -> "Calibration":
        """Cuts given outright (a setting, for a retriever without a book): ``threshold`` and ``threshold - shift``."""
        return cls(None, threshold, threshold - shift, shift, (), (), (), (0, 0), f"set to {threshold:g}")


def title_questions(chunks: Sequence[Chunk], language: Language, limit: int = MAX_TITLES) -> list[str]:
    """Questions made from the book's own section titles (numbers removed; a title several sections share, such as
    "Exercises" or "小结", is no topic of its own), at most ``limit``, spread evenly over the book."""
    sections: dict[str, set[tuple[str, ...]]] = {}  # title -> the sections that bear it, in book order
    for chunk in chunks:
        if chunk.section_path:
            sections.setdefault(_NUMBER.sub("", chunk.section_path[-1]).strip(), set()).add(chunk.section_path)
    distinct = [title for title, paths in sections.items() if title and len(paths) == 1]
    step = max(1.0, len(distinct) / limit)
    chosen = [distinct[int(i * step)] for i in range(min(limit, len(distinct)))]
    templates = TEMPLATES[language]
    return [templates[i % len(templates)].format(title) for i, title in enumerate(chosen)]


def off_topic_pairs() -> list[dict[str, str]]:
    """The shipped off-topic questions, each ``{"zh": …, "en": …}``."""
    return json.loads(OFF_TOPIC.read_text(encoding="utf-8"))["pairs"]


def book_language(chunks: Sequence[Chunk]) -> Language:
    """The language most of the book's prose is written in."""
    votes = Counter(language_of(chunk.text) for chunk in chunks if chunk.kind == ChunkKind.PROSE)
    return votes.most_common(1)[0][0] if votes else Language.EN


def calibrate(scorer: Scorer) -> Calibration:
    """The cuts of the book behind ``scorer`` (see the module docstring)."""
    language = book_language(scorer.chunks)
    other = Language.EN if language == Language.ZH else Language.ZH
    asked = title_questions(scorer.chunks, language)
    pairs = off_topic_pairs()
    scores = scorer.best_similarities([*asked, *(p[language] for p in pairs), *(p[other] for p in pairs)])
    in_book = scores[: len(asked)]
    off_same = scores[len(asked) : len(asked) + len(pairs)]
    off_cross = scores[len(asked) + len(pairs) :]
    shift = max(0.0, float(np.median(off_same - off_cross)))  # a translation never brings a question closer
    summary = {
        "language": language,
        "shift": round(shift, 4),
        "in_book": _quantiles(in_book),
        "off_topic": _quantiles(off_same),
        "off_topic_cross": _quantiles(off_cross),
        "questions": (len(asked), len(pairs)),
    }
    if not len(in_book):
        return Calibration(same=None, cross=None, note="no section titles to calibrate on: nothing is flagged by similarity", **summary)
    low_in = float(np.quantile(in_book, IN_BOOK_QUANTILE))
    high_off = float(np.quantile(off_same, OFF_TOPIC_QUANTILE))
    if low_in <= high_off:
        return Calibration(
            same=None,
            cross=None,
            note=f"in-book questions ({low_in:.3f}) and off-topic ones ({high_off:.3f}) overlap: nothing is flagged by similarity",
            **summary,
        )
    same = round((low_in + high_off) / 2, 4)
    high_cross = float(np.quantile(off_cross, OFF_TOPIC_QUANTILE))
    cross = round(same - shift, 4) if low_in - shift > high_cross else None
    note = f"midway between in-book questions ({low_in:.3f}) and off-topic ones ({high_off:.3f})"
    if cross is None:
        note += f"; in the other language they overlap ({low_in - shift:.3f}, {high_cross:.3f}): nothing flagged by similarity"
    return Calibration(same=same, cross=cross, note=note, **summary)


def _quantiles(values: np.ndarray) -> tuple[float, ...]:
    return tuple(round(float(q), 4) for q in np.quantile(values, QUANTILES)) if len(values) else ()

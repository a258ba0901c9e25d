"""A study sheet for a chapter or section: key points, key terms, exercises with hints, figures and tables.

- Key points: the book's own summary (the list items under 小结 / Summary) where the section has one; otherwise its
  most central sentences: those closest, by the embedder, to the mean of all its sentences, near-repeats skipped,
  shown in reading order.
- Key terms: :mod:`bookqa.study.terms`.
- Exercises: the items under 练习 / Exercises ("1.", "Exercise 1.1."; a numbered list that restarts inside an item is
  its sub-questions), each with hints: the passages of the section's chapter that retrieval finds for it, the
  exercises themselves left out.
- Figures and tables: their captions.
Every entry carries its physical page; ``to_json`` adds the printed label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from bookqa.index.embedders import SINGLE_THREAD_CALL
from bookqa.study.keys import squeeze
from bookqa.study.material import CAPTION, Material, Part, Sentence
from bookqa.study.terms import Term
from bookqa.text import has_han
from bookqa.types import Hit, Pages, Section

if TYPE_CHECKING:
    from bookqa.index.embedders import Embedder

MAX_KEY_POINTS = 5
MAX_CANDIDATES = 24
"""A long section's central sentences are chosen among this many of its sentences, spread evenly over it (each is
embedded: the cost of a sheet stays bounded). They are embedded a few at a time, so that each call runs on one thread
(:data:`bookqa.index.embedders.SINGLE_THREAD_CALL`): on a busy machine, 24 sentences in one call took 5 s and in
calls of four 1.7 s (bench/bench_study.py)."""
SENTENCES_PER_POINT = 4
"""A section without a summary gets one key point per this many candidate sentences (at least one, at most
MAX_KEY_POINTS)."""
NEAR_REPEAT = 0.95
"""Two central sentences at least this similar (cosine) are near-repeats: the second is skipped."""
MIN_POINT_CHARS = {True: 12, False: 40}
"""Shortest sentence that can be a key point, Chinese (True) or not: shorter ones are fragments or lead-ins."""
HINTS = 2
"""Passages shown as hints per exercise."""

_EXERCISE_MARK = re.compile(r"^(?:exercise|problem|练习|习题)\s*\d+(?:\.\d+)*\s*[.:：]?\s", re.IGNORECASE)
_NUMBERED = re.compile(r"^(?:(\d{1,2})[.)、．]|[(（](\d{1,2})[)）])\s*")
_CONTENT = re.compile(r"\w")  # a letter, digit or Han character


@dataclass(frozen=True)
class KeyPoint:
    """A point of the section worth remembering: its ``text``, physical ``page``, and whether it is from the
    book's own ``summary`` (else a central sentence)."""

    text: str
    page: int
    summary: bool


@dataclass(frozen=True)
class Hint:
    """A passage that helps with an exercise: an ``excerpt`` of it, its first physical ``page``, its ``section``
    title and the ``passage`` id (a hit's chunk id, for marking it on its page)."""

    excerpt: str
    page: int
    section: str
    passage: str


@dataclass(frozen=True)
class Exercise:
    """One of the section's exercises: its ``text`` (sub-questions on lines of their own), physical ``page`` and
    ``hints``."""

    text: str
    page: int
    hints: tuple[Hint, ...] = ()


@dataclass(frozen=True)
class Figure:
    """A figure or table of the section: its ``caption`` as printed, physical ``page``, and ``table`` when it is
    a table."""

    caption: str
    page: int
    table: bool


@dataclass(frozen=True)
class StudySheet:
    """What to study in ``section``: ``key_points``, ``terms``, ``exercises`` and ``figures``, in reading order."""

    section: Section
    key_points: tuple[KeyPoint, ...]
    terms: tuple[Term, ...]
    exercises: tuple[Exercise, ...]
    figures: tuple[Figure, ...]

    def to_json(self, pages: Pages) -> dict[str, Any]:
        """The sheet as ``study --json`` prints it; pages are physical and 1-based, ``page_label`` the printed one."""

        def at(page: int) -> dict[str, Any]:
            return {"page": page, "page_label": pages.label(page)}

        return {
            "section": self.section.display_title,
            "section_number": self.section.number,
            "key_points": [{"text": p.text, "from_summary": p.summary, **at(p.page)} for p in self.key_points],
            "terms": [
                {"term": t.term, "english": t.english or None, "sentence": t.sentence.text, "source": str(t.source), **at(t.page)}
                for t in self.terms
            ],
            "exercises": [
                {"text": e.text, **at(e.page), "hints": [{"excerpt": h.excerpt, "section": h.section, **at(h.page)} for h in e.hints]}
                for e in self.exercises
            ],
            "figures": [{"caption": f.caption, "kind": "table" if f.table else "figure", **at(f.page)} for f in self.figures],
        }


def summary_points(material: Material) -> list[KeyPoint]:
    """The list items (or sentences) of the section's own summaries."""
    return [KeyPoint(s.text, s.page, True) for s in material.sentences if s.part == Part.SUMMARY]


def central_points(material: Material, embedder: Embedder) -> list[KeyPoint]:
    """The section's most central body sentences (see the module docstring), in reading order."""
    candidates = [s for s in material.sentences if s.part == Part.BODY and _can_be_point(s)]
    if not candidates:
        return []
    step = max(1, round(len(candidates) / MAX_CANDIDATES))
    candidates = candidates[::step]
    texts = [s.text for s in candidates]
    vectors = np.vstack([embedder.embed(texts[i : i + SINGLE_THREAD_CALL]) for i in range(0, len(texts), SINGLE_THREAD_CALL)])
    centre = vectors.mean(axis=0)
    order = np.argsort(-(vectors @ centre), kind="stable")
    wanted = max(1, min(MAX_KEY_POINTS, len(candidates) // SENTENCES_PER_POINT))
    chosen: list[int] = []
    for index in order:
        if all(float(vectors[index] @ vectors[other]) < NEAR_REPEAT for other in chosen):
            chosen.append(int(index))
        if len(chosen) == wanted:
            break
    return [KeyPoint(candidates[i].text, candidates[i].page, False) for i in sorted(chosen)]


def _can_be_point(sentence: Sentence) -> bool:
    """A sentence that reads as a statement: long enough, mostly words (not a formula), not a lead-in to a list,
    formula or listing (ending with a colon)."""
    text = sentence.text
    chinese = has_han(text)
    if len(text) < MIN_POINT_CHARS[chinese] or text.rstrip().endswith((":", "：")):
        return False
    return len(_CONTENT.findall(text)) >= 0.6 * len(text.replace(" ", ""))


def exercises(material: Material) -> list[Exercise]:
    """The exercises of the section (hints not yet found). A numbered line opens an exercise when its number
    follows the last exercise's; a list that starts again at 1 inside an exercise, and lines without a number,
    belong to the exercise before."""
    found: list[list[str]] = []
    pages: list[int] = []
    top = sub = 0
    marked = False  # exercises opened by "Exercise 1.1.": numbered lines are their sub-questions
    previous = -2
    for index, line in enumerate(material.lines):
        if line.part != Part.EXERCISES:
            continue
        block_starts = index != previous + 1
        if block_starts:
            top, sub, marked = 0, 0, False
        previous = index
        numbered = _NUMBERED.match(line.text)
        number = int(numbered.group(1) or numbered.group(2)) if numbered else None
        opens = _EXERCISE_MARK.match(line.text) is not None
        marked = marked or opens
        if number is not None and not marked:
            if sub and number == sub + 1:
                sub = number
            elif number == top + 1:
                top, sub, opens = number, 0, True
            elif number == 1:
                sub = 1
        if opens or block_starts:
            found.append([line.text])
            pages.append(line.page)
        else:
            found[-1].append(line.text)
    return [Exercise("\n".join(parts), page) for parts, page in zip(found, pages)]


def figures(material: Material) -> list[Figure]:
    """The captions of the section's figures and tables."""
    found = []
    for line in material.lines:
        match = CAPTION.match(line.text) if line.part == Part.CAPTION else None
        if match:
            found.append(Figure(line.text, line.page, match.group("kind").lower() in ("表", "table")))
    return found


def hints_for(exercise: Exercise, hits: Sequence[Hit], exercise_lines: Sequence[str]) -> Exercise:
    """``exercise`` with up to HINTS of ``hits`` as hints: those that do not hold any of ``exercise_lines`` (the
    section's exercises)."""
    keys = [squeeze(line)[:24] for line in exercise_lines]
    hints = []
    for hit in hits:
        text = squeeze(hit.chunk.text)
        if any(key and key in text for key in keys):
            continue
        path = hit.chunk.section_path
        body = [line for line in hit.chunk.text.split("\n") if line.strip() not in path]  # its heading left out
        excerpt = " ".join(" ".join(body).split())
        section = path[-1] if path else ""
        hints.append(Hint(excerpt[:200] + ("…" if len(excerpt) > 200 else ""), hit.chunk.page_start, section, hit.chunk.id))
        if len(hints) == HINTS:
            break
    return Exercise(exercise.text, exercise.page, tuple(hints))

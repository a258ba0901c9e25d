"""Grading a student's answer to a self-test item.

Cloze, choice and where items are graded exactly: the answer and the response folded (NFKC, so full and half width
agree; case folded; spaces collapsed; surrounding punctuation dropped) must be equal, or equal to an accepted
alternative (a Chinese term's English name, a section's number). An open answer is graded by meaning: it is right
when its evidence is among the RANK closest to it, by the embedder, of the evidence and OTHERS other sentences of its
chapter (a rank, so no threshold on one model's similarity scale; with fewer sentences, as in a short chapter, the
allowance shrinks in proportion, down to the evidence closest); with a language model, the model's verdict on the
answer against the key decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from bookqa.study.keys import fold
from bookqa.study.quiz import Item, ItemType
from bookqa.types import Language, Message

if TYPE_CHECKING:
    from bookqa.answering.backends.base import ChatBackend
    from bookqa.index.embedders import Embedder

RANK = 3
"""An open answer is right when its evidence is among this many of OTHERS + 1 sentences closest to it."""
OTHERS = 15
"""How many other sentences of the chapter an open answer is compared with."""
_VERDICT = {
    Language.ZH: "题目：{question}\n参考答案：{answer}\n依据：{evidence}\n学生的回答：{response}\n"
    "学生的回答与参考答案的意思一致吗？只回答“对”或“错”。",
    Language.EN: "Question: {question}\nAnswer key: {answer}\nEvidence: {evidence}\nStudent's answer: {response}\n"
    "Does the student's answer mean the same as the answer key? Reply with one word: right or wrong.",
}
_RIGHT = re.compile(r"^\W*(?:对|正确|是|right|correct|yes)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Grade:
    """How an answer was graded: ``correct``; ``how`` ("exact", "meaning" or "model"); ``expected``, the key shown
    with the evidence after answering."""

    correct: bool
    how: str
    expected: str


def grade_exact(item: Item, response: str) -> Grade:
    """Exact grading (see the module docstring)."""
    wanted = {fold(item.answer), *(fold(alternative) for alternative in item.accepted)} - {""}
    return Grade(fold(response) in wanted, "exact", item.answer)


def grade_meaning(item: Item, response: str, others: Sequence[str], embedder: Embedder) -> Grade:
    """An open answer graded by the embedder: is the item's evidence among the RANK of ``[evidence, *others]``
    closest to ``response``?"""
    if len(fold(response)) < 2:
        return Grade(False, "meaning", item.answer)
    candidates = [item.evidence, *[text for text in others if text != item.evidence][:OTHERS]]
    vectors = embedder.embed([response, *candidates])
    scores = vectors[1:] @ vectors[0]
    rank = int(np.sum(scores > scores[0]))
    allowed = max(1, round(RANK * len(candidates) / (OTHERS + 1)))
    return Grade(rank < allowed, "meaning", item.answer)


def grade_by_model(item: Item, response: str, backend: ChatBackend, language: Language) -> Grade:
    """An open answer judged by the language model against the key and its evidence."""
    prompt = _VERDICT[language].format(question=item.question, answer=item.answer, evidence=item.evidence, response=response)
    verdict = backend.stream([Message("user", prompt)], max_new_tokens=8, temperature=0.0).text()
    return Grade(bool(_RIGHT.match(verdict.strip())), "model", item.answer)


def grade(
    item: Item,
    response: str,
    others: Sequence[str] = (),
    embedder: Embedder | None = None,
    backend: ChatBackend | None = None,
    language: Language = Language.EN,
) -> Grade:
    """Grade ``response`` to ``item``. Open items need ``embedder`` (with ``others``, sentences of the item's
    section) or ``backend`` (a language model, whose verdict then decides); ``language`` is the book's."""
    if item.type != ItemType.OPEN:
        return grade_exact(item, response)
    if backend is not None and fold(response):
        return grade_by_model(item, response, backend, language)
    if embedder is None:
        raise ValueError("Grading an open answer needs the embedder or a language model.")
    return grade_meaning(item, response, others, embedder)
